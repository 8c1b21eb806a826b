"""Alert rules through HTTP: each on both sides of its threshold, each alert raised once, not per request."""

import json
from http import HTTPStatus

import pytest
from django.core import mail

from authlog.events import unknown_name_pseudonym
from tests.conftest import DEFAULT_PASSWORD, rows
from tests.guard.conftest import post_login, sign_in_ok

pytestmark = pytest.mark.django_db
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"


def alerts() -> list[tuple]:
    return rows("SELECT rule, severity, subject_type, subject_label, status FROM guard_alerts ORDER BY id")


def evidence(rule: str) -> dict:
    [(text,)] = rows("SELECT evidence FROM guard_alerts WHERE rule = %s", [rule])
    return json.loads(text)


@pytest.fixture(autouse=True)
def _commit_each_request(django_capture_on_commit_callbacks, inline_delivery, monkeypatch):
    """Deliveries wait for the commit: run them at the end of each request, as autocommit would."""
    from django.test import Client

    real_request = Client.request

    def request(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return real_request(self, **kwargs)

    monkeypatch.setattr(Client, "request", request)


def fail_from(client_from_ip, username: str, ips: list[str], per_ip: int = 1) -> None:
    for ip in ips:
        for _ in range(per_ip):
            assert post_login(client_from_ip(ip), username).status_code == HTTPStatus.OK


# --- brute force on one account (10 failures within the name's window) ------------------


def test_nine_failures_on_an_account_raise_nothing(make_user, client_from_ip, clock):
    make_user("alice")
    fail_from(client_from_ip, "alice", ["192.0.2.1", "192.0.2.2"], per_ip=4)
    fail_from(client_from_ip, "alice", ["192.0.2.3"])
    assert alerts() == []


def test_the_tenth_failure_raises_one_brute_force_alert_and_the_next_ones_none(
    make_user, client_from_ip, clock
):
    make_user("alice")
    fail_from(client_from_ip, "alice", ["192.0.2.1", "192.0.2.2"], per_ip=5)
    assert alerts() == [("account_brute_force", "high", "user", "alice", "open")]
    found = evidence("account_brute_force")
    assert found["failures"] == 10 and found["window_seconds"] == 3600 and found["threshold"] == 10
    assert sorted(found["sample_ips"]) == ["192.0.2.1", "192.0.2.2"]
    # Ten more failures and the lockout they cause: still one alert (SECURITY-CASES 41).
    fail_from(client_from_ip, "alice", ["192.0.2.3", "192.0.2.4"], per_ip=5)
    assert post_login(client_from_ip("192.0.2.5"), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert [a[0] for a in alerts()] == ["account_brute_force"]


def test_a_name_of_no_account_raises_no_account_alert(client_from_ip, clock):
    fail_from(client_from_ip, "ghost", ["192.0.2.1", "192.0.2.2"], per_ip=5)
    assert alerts() == []


# --- many networks on one account (10 distinct networks) -------------------------------


@pytest.mark.parametrize(("networks", "raised"), [(9, False), (10, True)])
def test_many_networks_on_one_account(networks, raised, make_user, client_from_ip, clock, guard_settings):
    guard_settings(ALERT_ACCOUNT_FAILURES=1000)
    make_user("alice")
    fail_from(client_from_ip, "alice", [f"203.0.113.{n + 1}" for n in range(networks)])
    assert alerts() == ([("account_many_networks", "high", "user", "alice", "open")] if raised else [])
    if raised:
        assert evidence("account_many_networks")["networks"] == 10


def test_one_network_failing_often_on_one_account_is_one_network(make_user, client_from_ip, clock, guard_settings):
    guard_settings(ALERT_ACCOUNT_FAILURES=1000)
    make_user("alice")
    fail_from(client_from_ip, "alice", ["203.0.113.1"], per_ip=5)
    fail_from(client_from_ip, "alice", [f"203.0.113.{n + 2}" for n in range(8)])
    assert alerts() == []


# --- one network over many names (10 distinct names) ------------------------------------


@pytest.mark.parametrize(("names", "raised"), [(9, False), (10, True)])
def test_one_network_trying_many_usernames(names, raised, client_from_ip, clock):
    client = client_from_ip("198.51.100.66")
    for n in range(names):
        assert post_login(client, f"victim{n}").status_code == HTTPStatus.OK
    expected = [("network_many_usernames", "high", "ip", "198.51.100.66", "open")] if raised else []
    assert alerts() == expected
    if raised:
        found = evidence("network_many_usernames")
        assert found["usernames"] == 10 and found["sample_ips"] == ["198.51.100.66"]
        # Names of no account appear as their trail pseudonyms: a typed password never reaches an alert.
        assert unknown_name_pseudonym("victim9") in found["sample_usernames"]
        assert not any("victim" in name for name in found["sample_usernames"])


def test_spraying_alerts_once_however_long_it_goes_on(client_from_ip, clock):
    client = client_from_ip("198.51.100.66")
    for n in range(60):
        post_login(client, f"victim{n}")
    assert [a[0] for a in alerts()] == ["network_many_usernames"]


def test_an_ipv6_sprayer_is_one_network(client_from_ip, clock):
    for n in range(10):
        post_login(client_from_ip(f"2001:db8:5:6::{n + 1:x}"), f"victim{n}")
    assert alerts() == [("network_many_usernames", "high", "ip", "2001:db8:5:6::/64", "open")]


# --- a success right after failures (5 failures within the name's window) -------------------


@pytest.mark.parametrize(("failures", "raised"), [(4, False), (5, True)])
def test_success_after_failures(failures, raised, make_user, client_from_ip, clock):
    make_user("alice", email="alice@example.org")
    fail_from(client_from_ip, "alice", ["192.0.2.10"], per_ip=failures)
    mail.outbox.clear()
    assert sign_in_ok(client_from_ip("192.0.2.10"), "alice").status_code == (
        HTTPStatus.FOUND if failures < 5 else HTTPStatus.TOO_MANY_REQUESTS
    )
    # After five, that network is locked for alice: the success comes from elsewhere.
    if raised:
        assert sign_in_ok(client_from_ip("198.51.100.10"), "alice").status_code == HTTPStatus.FOUND
    got = [a for a in alerts() if a[0] == "success_after_failures"]
    assert got == ([("success_after_failures", "high", "user", "alice", "open")] if raised else [])
    if raised:
        assert evidence("success_after_failures")["failures_before"] == 5
        assert [m.to for m in mail.outbox if "right after several failed" in m.body] == [["alice@example.org"]]


def test_success_from_a_known_browser_after_a_lockout_is_a_medium_alert(make_user, client_from_ip, clock):
    make_user("alice")
    browser = client_from_ip("198.51.100.20")
    sign_in_ok(browser, "alice")
    browser.post("/logout/")
    fail_from(client_from_ip, "alice", [f"203.0.113.{n + 1}" for n in range(21)][:20])
    assert post_login(client_from_ip("203.0.113.99"), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert sign_in_ok(browser, "alice").status_code == HTTPStatus.FOUND
    found = [a for a in alerts() if a[0] == "success_after_failures"]
    assert found == [("success_after_failures", "medium", "user", "alice", "open")]
    assert evidence("success_after_failures")["known_device"] is True


# --- a sign-in from a new device or network -------------------------------------------------


def test_new_network_and_new_device_alerts(make_user, client_from_ip, clock):
    make_user("alice", email="alice@example.org")
    mail.outbox.clear()
    sign_in_ok(client_from_ip("198.51.100.10"), "alice")  # the first sign-in: new by definition
    sign_in_ok(client_from_ip("198.51.100.11"), "alice")  # same /24, same browser family
    assert alerts() == []
    sign_in_ok(client_from_ip("203.0.113.5"), "alice")
    assert alerts() == [("new_sign_in_source", "low", "user", "alice", "open")]
    assert evidence("new_sign_in_source")["new_network"] == "203.0.113.0/24"
    assert mail.outbox == [], "a new network alone does not mail the user"
    sign_in_ok(client_from_ip("198.51.100.10", user_agent=FIREFOX_UA), "alice")
    assert alerts()[-1] == ("new_sign_in_source", "medium", "user", "alice", "open")
    assert evidence_of_last()["new_device"] == "Firefox / Windows / desktop"
    [notice] = mail.outbox
    assert notice.to == ["alice@example.org"] and "device it had not used before" in notice.body
    # Known now: the same again raises nothing.
    sign_in_ok(client_from_ip("198.51.100.12", user_agent=FIREFOX_UA), "alice")
    sign_in_ok(client_from_ip("203.0.113.6"), "alice")
    assert len(alerts()) == 2


def evidence_of_last() -> dict:
    [(text,)] = rows("SELECT evidence FROM guard_alerts ORDER BY id DESC LIMIT 1")
    return json.loads(text)


def test_a_known_browser_with_a_new_user_agent_is_not_a_new_device(make_user, client_from_ip, clock):
    make_user("alice")
    browser = client_from_ip("198.51.100.10")
    sign_in_ok(browser, "alice")
    browser.defaults["HTTP_USER_AGENT"] = FIREFOX_UA  # e.g. the browser reported itself differently
    sign_in_ok(browser, "alice")
    assert alerts() == []


# --- once per open alert; again after it is acknowledged ---------------------------------------


def test_an_acknowledged_alert_makes_room_for_a_new_one(client_from_ip, clock):
    from guard import operations

    client = client_from_ip("198.51.100.66")
    for n in range(12):
        post_login(client, f"victim{n}")
    [(alert_id,)] = rows("SELECT id FROM guard_alerts")
    operations.acknowledge(alert_ids=[alert_id], actor=operations.Actor(user_id=None, label="test"))
    post_login(client, "victim-next")
    assert [a[4] for a in alerts()] == ["acknowledged", "open"]


def test_admins_get_one_mail_per_alert(settings, client_from_ip, clock):
    settings.ADMINS = [("Security", "security@example.org")]
    mail.outbox.clear()
    client = client_from_ip("198.51.100.66")
    for n in range(30):
        post_login(client, f"victim{n}")
    to_admins = [m for m in mail.outbox if m.to == ["security@example.org"]]
    assert len(to_admins) == 1
    assert "One network trying many usernames" in to_admins[0].subject
    assert DEFAULT_PASSWORD not in to_admins[0].body and "wrong password" not in to_admins[0].body
