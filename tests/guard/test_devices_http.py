"""The real user is not locked out by an attacker: device cookies (OWASP), through HTTP (SECURITY-CASES 35)."""

from http import HTTPStatus

import pytest
from django.core import mail
from django.core.signing import dumps

from accounts import store
from guard.devices import cookie_name
from tests.conftest import DEFAULT_PASSWORD, rows
from tests.guard.conftest import post_login, sign_in_ok

TOO_MANY = HTTPStatus.TOO_MANY_REQUESTS


def known_browser(client_from_ip, username: str, ip: str = "198.51.100.20"):
    """Return a browser that has signed in to `username` once, and signed out."""
    browser = client_from_ip(ip)
    assert sign_in_ok(browser, username).status_code == HTTPStatus.FOUND
    browser.post("/logout/")
    return browser


def lock_username_from_elsewhere(client_from_ip, username: str) -> None:
    """An attacker fails 20 times from 20 networks, then is refused."""
    for n in range(20):
        post_login(client_from_ip(f"203.0.113.{n + 1}"), username)
    assert post_login(client_from_ip("203.0.113.250"), username).status_code == TOO_MANY


def test_the_device_cookie_is_signed_http_only_and_sent_only_to_login(make_user, client_from_ip, clock):
    alice = make_user("alice")
    response = sign_in_ok(client_from_ip(), "alice")
    cookie = response.cookies[cookie_name(alice.id)]
    assert cookie["httponly"] and cookie["path"] == "/login/" and cookie["samesite"] == "Lax"
    assert int(cookie["max-age"]) == 365 * 86400
    assert "alice" not in cookie.key and "alice" not in cookie.value


def test_a_known_browser_signs_in_while_an_attacker_has_locked_the_name(
    make_user, client_from_ip, clock
):
    make_user("alice")
    browser = known_browser(client_from_ip, "alice")
    lock_username_from_elsewhere(client_from_ip, "alice")
    # A new browser, even with the right password, is refused...
    assert sign_in_ok(client_from_ip("198.51.100.21"), "alice").status_code == TOO_MANY
    # ...her own browser is not, from wherever she is today.
    browser.defaults["REMOTE_ADDR"] = "192.0.2.77"
    assert sign_in_ok(browser, "alice").status_code == HTTPStatus.FOUND
    assert rows("SELECT COUNT(*) FROM login_logs WHERE event_type = 'login'") == [(2,)]


def test_a_known_browser_signs_in_after_100_consecutive_failures(
    make_user, client_from_ip, clock, guard_settings
):
    guard_settings(USERNAME_RATE="1000/1h")
    make_user("alice")
    browser = known_browser(client_from_ip, "alice")
    for n in range(101):
        post_login(client_from_ip(f"10.1.{n // 200}.{n % 200 + 1}"), "alice")
    assert sign_in_ok(client_from_ip("10.2.0.1"), "alice").status_code == TOO_MANY
    assert sign_in_ok(browser, "alice").status_code == HTTPStatus.FOUND
    # That success ends the run of consecutive failures for everyone.
    assert sign_in_ok(client_from_ip("10.2.0.1"), "alice").status_code == HTTPStatus.FOUND


def test_a_known_browser_has_a_small_limit_of_its_own(make_user, client_from_ip, clock):
    """A stolen device cookie stays slow: five tries per 15 minutes, with backoff."""
    make_user("alice")
    browser = known_browser(client_from_ip, "alice")
    for _ in range(5):
        assert post_login(browser, "alice").status_code == HTTPStatus.OK
    assert post_login(browser, "alice").status_code == TOO_MANY
    # Other browsers are counted apart (the name's own counter saw none of these).
    assert sign_in_ok(client_from_ip("198.51.100.99"), "alice").status_code == HTTPStatus.FOUND


def test_a_device_cookie_is_per_account(make_user, client_from_ip, clock):
    make_user("alice")
    make_user("bob")
    browser = known_browser(client_from_ip, "alice")
    lock_username_from_elsewhere(client_from_ip, "bob")
    assert sign_in_ok(browser, "bob").status_code == TOO_MANY


@pytest.mark.parametrize("tamper", ["forged", "other_user", "garbage", "huge"])
def test_a_forged_or_foreign_device_cookie_is_ignored(tamper, make_user, client_from_ip, clock):
    alice = make_user("alice")
    bob = make_user("bob")
    lock_username_from_elsewhere(client_from_ip, "alice")
    browser = client_from_ip()
    value = {
        "forged": dumps({"u": alice.id, "d": "x", "p": "0" * 16}, salt="guard.device-cookie"),
        "other_user": sign_in_ok(client_from_ip(), "bob").cookies[cookie_name(bob.id)].value,
        "garbage": "not-a-signed-value",
        "huge": "x" * 4000,
    }[tamper]
    browser.cookies[cookie_name(alice.id)] = value
    assert sign_in_ok(browser, "alice").status_code == TOO_MANY


def test_a_password_change_revokes_device_cookies(make_user, client_from_ip, clock):
    from django.contrib.auth.hashers import make_password

    alice = make_user("alice")
    browser = known_browser(client_from_ip, "alice")
    store.update_password_hash(user_id=alice.id, password_hash=make_password(DEFAULT_PASSWORD))
    lock_username_from_elsewhere(client_from_ip, "alice")
    assert sign_in_ok(browser, "alice").status_code == TOO_MANY


def test_alice_is_told_and_an_admin_unlock_lets_every_browser_in(
    make_user, client_from_ip, clock, inline_delivery, django_capture_on_commit_callbacks
):
    make_user("alice", email="alice@example.org")
    make_user("root", "an admin passphrase here", is_admin=True)
    mail.outbox.clear()
    with django_capture_on_commit_callbacks(execute=True):
        lock_username_from_elsewhere(client_from_ip, "alice")
    told = [m for m in mail.outbox if m.to == ["alice@example.org"]]
    assert len(told) == 1 and "trying to sign in to your account alice" in told[0].body
    admin = client_from_ip("192.0.2.1")
    post_login(admin, "root", "an admin passphrase here")
    [(alert_id,)] = rows("SELECT id FROM guard_alerts WHERE rule = 'account_brute_force'")
    assert admin.post(f"/dashboard/alerts/{alert_id}/unlock/").status_code == HTTPStatus.FOUND
    assert sign_in_ok(client_from_ip("198.51.100.30"), "alice").status_code == HTTPStatus.FOUND


def test_the_device_cookie_is_renewed_at_most_once_a_day(make_user, client_from_ip, clock):
    alice = make_user("alice")
    browser = client_from_ip()
    name = cookie_name(alice.id)
    assert name in sign_in_ok(browser, "alice").cookies
    assert name not in sign_in_ok(browser, "alice").cookies, "the same day: nothing to sign or send"
    clock.advance(86400)
    renewed = sign_in_ok(browser, "alice").cookies[name]
    assert int(renewed["max-age"]) == 365 * 86400
