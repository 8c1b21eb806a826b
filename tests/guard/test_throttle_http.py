"""Throttling through HTTP, as an attacker or a user meets it: every limit on both sides of its boundary.

Defaults (guard/conf.py): 5 failures per name and network per 15 minutes,
20 per name per hour, 50 per network per hour, 100 consecutive per account.
"""

import re
from http import HTTPStatus

import pytest

from tests.conftest import DEFAULT_PASSWORD, rows
from tests.guard.conftest import post_login, sign_in_ok

TOO_MANY = HTTPStatus.TOO_MANY_REQUESTS
pytestmark = pytest.mark.django_db


def reasons() -> list[str]:
    return [reason for (reason,) in rows("SELECT reason FROM failed_logins ORDER BY id")]


def fail_times(client, username, times, **extra):
    statuses = [post_login(client, username, **extra).status_code for _ in range(times)]
    assert statuses == [HTTPStatus.OK] * times, statuses


# --- per name and network (5 / 15 min) -------------------------------------------


def test_pair_limit_allows_five_failures_then_answers_429(make_user, client_from_ip, clock):
    make_user("alice")
    client = client_from_ip("198.51.100.7")
    fail_times(client, "alice", 5)
    response = post_login(client, "alice")
    assert response.status_code == TOO_MANY
    assert response["Retry-After"] == "900"
    assert b"Too many sign-in attempts" in response.content
    assert b"15 minutes" in response.content
    assert reasons() == ["bad_password"] * 5 + ["throttled"]


def test_pair_limit_is_per_name_and_per_network(make_user, client_from_ip, clock):
    make_user("alice")
    make_user("bob")
    fail_times(client_from_ip("198.51.100.7"), "alice", 5)
    assert post_login(client_from_ip("198.51.100.7"), "alice").status_code == TOO_MANY
    # Another name from that network, the same name from another network: untouched.
    assert post_login(client_from_ip("198.51.100.7"), "bob").status_code == HTTPStatus.OK
    assert post_login(client_from_ip("198.51.100.8"), "alice").status_code == HTTPStatus.OK


@pytest.mark.parametrize("variants", [["alice", "ALICE", " alice", "ａｌｉｃｅ", "Alice\t", "alice "]])
def test_case_width_and_space_variants_share_one_counter(variants, make_user, client_from_ip, clock):
    """SECURITY-CASES 10-12; django-defender PR #90, #248; allauth 0.44.0."""
    make_user("alice")
    client = client_from_ip()
    for typed in variants[:5]:
        assert post_login(client, typed).status_code == HTTPStatus.OK
    assert post_login(client, variants[5]).status_code == TOO_MANY


def test_unicode_folding_variants_share_one_counter(client_from_ip, clock):
    """straße / STRASSE and KELVIN SIGN / k are one name (case 11, 12)."""
    client = client_from_ip()
    for typed in ["straße", "STRASSE", "Strasse", "strasse", "ＳＴＲＡＳＳＥ"]:
        assert post_login(client, typed).status_code == HTTPStatus.OK
    assert post_login(client, "STRAẞE").status_code == TOO_MANY
    # U+212A KELVIN SIGN folds to k: its failures count on kate's pair.
    for typed in ["kate", "\u212aate", "\u212aATE", "KATE", "Kate"]:
        assert post_login(client, typed).status_code == HTTPStatus.OK
    assert post_login(client, "\u212aate").status_code == TOO_MANY


# --- per name over all networks (20 / hour) ----------------------------------------


def test_username_limit_allows_twenty_failures_from_twenty_networks(make_user, client_from_ip, clock):
    make_user("alice")
    for n in range(20):
        assert post_login(client_from_ip(f"203.0.113.{n + 1}"), "alice").status_code == HTTPStatus.OK
    response = post_login(client_from_ip("203.0.113.200"), "alice")
    assert response.status_code == TOO_MANY
    assert response["Retry-After"] == "3600"


# --- per network over all names (50 / hour) ----------------------------------------


def test_ip_limit_allows_fifty_failures_over_fifty_names(client_from_ip, clock):
    client = client_from_ip("192.0.2.66")
    for n in range(50):
        assert post_login(client, f"user{n}").status_code == HTTPStatus.OK
    response = post_login(client, "user-fifty-one")
    assert response.status_code == TOO_MANY
    assert response["Retry-After"] == "3600"


def test_ipv6_addresses_of_one_64_are_one_network(client_from_ip, clock):
    """SECURITY-CASES 21: rotating through a /64 is one client."""
    for n in range(50):
        client = client_from_ip(f"2001:db8:1:2::{n + 1:x}")
        assert post_login(client, f"user{n}").status_code == HTTPStatus.OK
    assert post_login(client_from_ip("2001:db8:1:2:ffff::9"), "another").status_code == TOO_MANY
    assert post_login(client_from_ip("2001:db8:1:3::1"), "another").status_code == HTTPStatus.OK


def test_rotating_x_forwarded_for_from_an_untrusted_client_changes_nothing(make_user, client_from_ip, clock):
    """SECURITY-CASES 16: 1,000 forged hops would be 1,000 buckets if they were believed."""
    make_user("alice")
    client = client_from_ip("198.51.100.50")
    for n in range(5):
        response = post_login(client, "alice", HTTP_X_FORWARDED_FOR=f"10.9.{n}.{n + 1}, 127.0.0.1")
        assert response.status_code == HTTPStatus.OK
    for n in range(5, 25):
        response = post_login(client, "alice", HTTP_X_FORWARDED_FOR=f"10.9.{n}.{n + 1}")
        assert response.status_code == TOO_MANY
    assert {ip for (ip,) in rows("SELECT ip_address FROM failed_logins")} == {"198.51.100.50"}


# --- consecutive failures on one account (NIST SP 800-63B: at most 100) -------------


def test_no_more_than_100_consecutive_failures_on_one_account(
    make_user, client_from_ip, clock, guard_settings, counting_hasher
):
    guard_settings(USERNAME_RATE="1000/1h")  # so that only the consecutive cap is in play
    make_user("alice")
    counting_hasher.runs = 0
    for n in range(100):
        client = client_from_ip(f"10.{n // 250}.{n % 250}.1")
        assert post_login(client, "alice").status_code == HTTPStatus.OK
    response = post_login(client_from_ip("10.200.0.1"), "alice", DEFAULT_PASSWORD)
    assert response.status_code == TOO_MANY
    assert counting_hasher.runs == 100
    # A lockout that waits for a known browser or an admin: far longer than a day.
    assert int(response["Retry-After"]) == 90 * 86400


# --- what a lockout means -----------------------------------------------------------------


def test_right_password_during_lockout_is_refused_and_recorded_as_throttled(
    make_user, client_from_ip, clock, counting_hasher
):
    """SECURITY-CASES 38: denied, recorded as throttled, counter not reset; the hasher never runs."""
    make_user("alice")
    client = client_from_ip()
    fail_times(client, "alice", 5)
    counting_hasher.runs = 0
    response = post_login(client, "alice", DEFAULT_PASSWORD)
    assert response.status_code == TOO_MANY
    assert counting_hasher.runs == 0
    assert rows("SELECT COUNT(*) FROM login_logs") == [(0,)]
    assert not client.cookies.get("sessionid") or not client.cookies["sessionid"].value
    assert reasons()[-1] == "throttled"
    clock.advance(60)
    assert post_login(client, "alice", DEFAULT_PASSWORD).status_code == TOO_MANY


def test_retry_after_is_the_time_remaining_not_the_whole_lockout(make_user, client_from_ip, clock):
    make_user("alice")
    client = client_from_ip()
    fail_times(client, "alice", 5)
    assert post_login(client, "alice")["Retry-After"] == "900"
    clock.advance(600)
    response = post_login(client, "alice")
    assert response["Retry-After"] == "300"
    assert b"5 minutes" in response.content


def test_lockouts_back_off_exponentially_and_are_forgotten_after_a_quiet_day(
    make_user, client_from_ip, clock
):
    make_user("alice")
    client = client_from_ip()
    seen = []
    for _ in range(4):
        fail_times(client, "alice", 5)
        response = post_login(client, "alice")
        assert response.status_code == TOO_MANY
        seen.append(int(response["Retry-After"]))
        clock.advance(seen[-1])
    assert seen == [900, 1800, 3600, 7200]
    clock.advance(24 * 3600)
    fail_times(client, "alice", 5)
    assert post_login(client, "alice")["Retry-After"] == "900"


def test_refused_attempts_count_nowhere(make_user, client_from_ip, clock):
    """A flood on a locked pair neither extends its lockout nor locks the network's other users (case 36)."""
    make_user("alice")
    make_user("bob")
    nat = client_from_ip("192.0.2.1")
    fail_times(nat, "alice", 5)
    for _ in range(60):
        assert post_login(nat, "alice").status_code == TOO_MANY
    # Same NAT address, another person: signs in; the network's counter holds 5, not 65
    # (over the network limit of 50 had the refused attempts been counted).
    assert sign_in_ok(client_from_ip("192.0.2.1"), "bob").status_code == HTTPStatus.FOUND
    clock.advance(900)
    assert post_login(nat, "alice").status_code == HTTPStatus.OK


def test_a_blank_name_only_locks_itself(make_user, client_from_ip, clock):
    """SECURITY-CASES 9: an empty-name bucket never locks out others."""
    make_user("alice")
    for n in range(25):
        post_login(client_from_ip(f"198.51.100.{n + 1}"), "   ")
    assert sign_in_ok(client_from_ip("198.51.100.1"), "alice").status_code == HTTPStatus.FOUND


# --- successes -------------------------------------------------------------------------------


def test_success_clears_the_pair_counter(make_user, client_from_ip, clock):
    make_user("alice")
    fail_times(client_from_ip(), "alice", 4)
    assert sign_in_ok(client_from_ip(), "alice").status_code == HTTPStatus.FOUND
    # A fresh browser on the same network (no device cookie): five more tries.
    browser = client_from_ip()
    fail_times(browser, "alice", 5)
    assert post_login(browser, "alice").status_code == TOO_MANY


def test_an_attackers_own_success_does_not_clear_the_network_counter(make_user, client_from_ip, clock):
    """SECURITY-CASES 37; allauth 65.8.1, django-defender #188."""
    make_user("mallory")
    attacker = "192.0.2.99"
    for n in range(9):
        fail_times(client_from_ip(attacker), f"victim{n}", 5)
    assert sign_in_ok(client_from_ip(attacker), "mallory").status_code == HTTPStatus.FOUND
    fail_times(client_from_ip(attacker), "victim-9", 5)  # failures 46-50
    assert post_login(client_from_ip(attacker), "victim-10").status_code == TOO_MANY


def test_successes_are_never_throttled_by_their_own_count(make_user, client_from_ip, clock):
    make_user("alice")
    for _ in range(25):  # more than the pair (5) and name (20) limits
        client = client_from_ip("198.51.100.9")
        assert sign_in_ok(client, "alice").status_code == HTTPStatus.FOUND


# --- enumeration (cases 31, 33) ----------------------------------------------------------------


def _shape(response):
    body = re.sub(rb'name="csrfmiddlewaretoken" value="[^"]+"', b"", response.content)
    headers = {k: v for k, v in response.headers.items() if k.lower() not in {"date", "expires"}}
    return response.status_code, body, headers, sorted(response.cookies.keys())


@pytest.mark.parametrize("existing_state", ["active", "inactive"])
def test_429_is_identical_for_existing_and_unknown_accounts(
    existing_state, make_user, client_from_ip, clock
):
    make_user("target", is_active=existing_state == "active")
    answers = {}
    for name, ip in (("target", "198.51.100.1"), ("nobody", "198.51.100.2")):
        client = client_from_ip(ip)
        fail_times(client, name, 5)
        answers[name] = _shape(post_login(client, name))
    assert answers["target"][0] == TOO_MANY
    assert answers["target"] == answers["nobody"]


def test_unknown_names_are_throttled_exactly_like_real_ones(make_user, client_from_ip, clock):
    make_user("real")
    for name in ("real", "ghost"):
        statuses = []
        for n in range(22):
            statuses.append(post_login(client_from_ip(f"203.0.{n}.{len(name)}"), name).status_code)
        assert statuses == [HTTPStatus.OK] * 20 + [TOO_MANY] * 2, name


def test_one_name_from_many_networks_and_one_network_over_many_names(
    make_user, client_from_ip, clock, counting_hasher, django_capture_on_commit_callbacks
):
    """SECURITY-CASES 34 (at 60 rather than 500: the limits are 20 and 50): both fire, both alert."""
    make_user("alice")
    counting_hasher.runs = 0
    with django_capture_on_commit_callbacks(execute=True):
        statuses = [post_login(client_from_ip(f"203.0.{n}.1"), "alice").status_code for n in range(60)]
        assert statuses == [HTTPStatus.OK] * 20 + [TOO_MANY] * 40
        assert counting_hasher.runs == 20
        sprayer = client_from_ip("192.0.2.250")
        statuses = [post_login(sprayer, f"name{n}").status_code for n in range(60)]
        assert statuses == [HTTPStatus.OK] * 50 + [TOO_MANY] * 10
        assert counting_hasher.runs == 70
    raised = {rule for (rule,) in rows("SELECT rule FROM guard_alerts")}
    assert {"account_brute_force", "account_many_networks", "network_many_usernames"} <= raised


def test_consecutive_failures_are_forgotten_after_a_quiet_day(
    make_user, client_from_ip, clock, guard_settings
):
    guard_settings(USERNAME_RATE="1000/1h")
    make_user("alice")
    for n in range(60):
        post_login(client_from_ip(f"10.3.0.{n + 1}"), "alice")
    clock.advance(86400 + 1)
    statuses = [post_login(client_from_ip(f"10.4.0.{n + 1}"), "alice").status_code for n in range(60)]
    assert statuses == [HTTPStatus.OK] * 60, "60 + 60 > 100, but a day passed in between"
