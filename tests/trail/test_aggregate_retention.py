"""The dashboard's counts and guard's memory keep no address or name longer than the trail does."""

import ipaddress
from datetime import timedelta

import pytest
from django.utils import timezone

from authlog import events, retention
from authlog.history import search_events
from authlog.store import EventFilter
from guard import store as guard_store
from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, rows
from tests.trail.conftest import verify


def fail(username: str, ip: str, *, user_id: int | None = None) -> None:
    events.record_failed_login(
        attempted_username=username, user_id=user_id, reason=events.BAD_PASSWORD,
        ip_address=ip, user_agent=DESKTOP_UA,
    )


def sign_in(user_id: int, ip: str) -> None:
    events.log_auth_event(user_id, events.LOGIN, ip, user_agent=DESKTOP_UA, session_key=f"s-{ip}")


def failure_counts() -> list[tuple[str, int]]:
    return sorted((ip, n) for ip, n in rows("SELECT ip_address, n FROM failure_ip_days"))


def address_keys() -> set[str]:
    return {ip for (ip,) in rows("SELECT ip_address FROM ip_keys")}


def later(days: float):
    at = timezone.now() + timedelta(days=days)
    return lambda: at


@pytest.fixture
def alice(make_user):
    return make_user("alice")


def test_anonymising_cuts_the_failure_counts_and_merges_those_that_meet(alice, settings):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    for ip in ("198.51.100.7", "198.51.100.9", "198.51.100.9", "2001:db8:1:2::7"):
        fail("alice", ip, user_id=alice.id)
    assert failure_counts() == [("198.51.100.7", 1), ("198.51.100.9", 2), ("2001:db8:1:2::7", 1)]
    report = retention.anonymise_addresses(for_real=True, now=later(31), pause=0)
    assert report.failure_counts == 3
    assert failure_counts() == [("198.51.100.0", 3), ("2001:db8:1::", 1)]
    assert address_keys() == {"198.51.100.0", "2001:db8:1::"}
    assert verify().ok


def test_counts_younger_than_the_anonymisation_age_keep_their_address(alice, settings):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    fail("alice", "198.51.100.7", user_id=alice.id)
    retention.anonymise_addresses(for_real=True, now=later(10), pause=0)
    assert failure_counts() == [("198.51.100.7", 1)]
    assert address_keys() == {"198.51.100.7"}


def test_the_cidr_filter_still_finds_anonymised_events(alice, settings):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    fail("alice", "198.51.100.7", user_id=alice.id)
    retention.anonymise_addresses(for_real=True, now=later(31), pause=0)
    found = search_events(
        event_filter=EventFilter(ip_network=ipaddress.ip_network("198.51.100.0/24")), limit=10
    )
    assert [e.ip_address for e in found] == ["198.51.100.0"]


def test_an_address_key_stays_while_a_younger_event_holds_its_address(alice, settings, old_event):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    old_event(days_ago=40, kind=events.LOGIN_FAILED, ip="198.51.100.7")
    sign_in(alice.id, "198.51.100.7")  # the same address again, today
    assert retention.anonymise_addresses(for_real=True, pause=0).addresses == 1
    assert "198.51.100.7" in address_keys()
    assert verify().ok


def test_pruning_deletes_failure_counts_and_keys_of_addresses_no_event_holds(alice):
    fail("alice", "203.0.113.5", user_id=alice.id)
    sign_in(alice.id, "203.0.113.8")
    report = retention.prune_trail(for_real=True, now=later(92), pause=0)
    assert failure_counts() == []
    # The sign-in is kept a year: its address key with it.
    assert address_keys() == {"203.0.113.8"}
    assert (report.failure_counts_deleted, report.address_keys_forgotten) == (1, 1)
    assert verify().ok


def test_a_dry_run_prune_keeps_the_counts(alice):
    fail("alice", "203.0.113.5", user_id=alice.id)
    retention.prune_trail(for_real=False, now=later(92), pause=0)
    assert failure_counts() == [("203.0.113.5", 1)]


def test_erasing_a_user_takes_their_failures_off_the_counts_and_their_addresses_out(alice, make_user):
    bob = make_user("bob")
    fail("alice", "203.0.113.5", user_id=alice.id)
    fail("alice", "203.0.113.9", user_id=alice.id)
    fail("bob", "203.0.113.9", user_id=bob.id)
    sign_in(alice.id, "203.0.113.77")
    retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    assert failure_counts() == [("203.0.113.9", 1)]
    assert address_keys() == {"203.0.113.9"}
    assert verify().ok


def test_erasing_a_user_whose_counts_are_anonymised_already(alice, settings):
    settings.AUTHLOG = {"ANONYMISE_IPS_AFTER_DAYS": 30}
    fail("alice", "203.0.113.5", user_id=alice.id)
    # Counts go by whole days: today's is cut, the failure (younger than the age) is not.
    retention.anonymise_addresses(for_real=True, now=later(30 - 1 / 24), pause=0)
    assert failure_counts() == [("203.0.113.0", 1)]
    retention.delete_user(user_id=alice.id, erase=True, for_real=True)
    assert failure_counts() == []
    assert verify().ok


@pytest.fixture
def signed_in_alice(alice, client_from_ip):
    """Alice has failed once and signed in once over HTTP: guard knows her network and device."""
    client = client_from_ip("198.51.100.20")
    client.post("/login/", {"username": "alice", "password": "wrong password"})
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    client.post("/login/", {"username": "alice", "password": "wrong again"})
    assert rows("SELECT COUNT(*) FROM guard_known_sources WHERE user_id = %s", [alice.id]) == [(2,)]
    return alice


@pytest.mark.parametrize("erase", [False, True])
def test_deleting_a_user_forgets_their_sources_and_counters(signed_in_alice, erase):
    assert any("alice" in label for (label,) in rows("SELECT label FROM guard_counters"))
    retention.delete_user(user_id=signed_in_alice.id, erase=erase, for_real=True)
    assert rows("SELECT COUNT(*) FROM guard_known_sources") == [(0,)]
    assert not any("alice" in label for (label,) in rows("SELECT label FROM guard_counters"))
    assert verify().ok


def test_known_sources_are_forgotten_with_the_sign_ins_that_showed_them(signed_in_alice):
    retention.prune_trail(for_real=True, now=later(300), pause=0)
    assert rows("SELECT COUNT(*) FROM guard_known_sources") == [(2,)]
    retention.prune_trail(for_real=True, now=later(366), pause=0)
    assert rows("SELECT COUNT(*) FROM guard_known_sources") == [(0,)]
    assert guard_store.known_source_count(user_id=signed_in_alice.id, kind="network", at_most=5) == 0
    assert verify().ok


def test_a_prune_deletes_expired_throttle_counters(signed_in_alice, monkeypatch):
    from guard import throttle

    assert rows("SELECT COUNT(*) FROM guard_counters") != [(0,)]
    far = throttle.clock() + 400 * 86400
    monkeypatch.setattr(throttle, "clock", lambda: far)
    retention.prune_trail(for_real=True, pause=0)
    assert rows("SELECT COUNT(*) FROM guard_counters") == [(0,)]
