"""Faults and secrets: counters that cannot be written fail closed; a typed password reaches no guard output."""

import io
import logging
from http import HTTPStatus

import pytest
from django.core import mail
from django.core.management import call_command
from django.db import OperationalError
from django.test import Client

from guard import store
from guard.counters.redis import RedisCounters
from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, at_once, rows
from tests.guard.conftest import post_login, sign_in_ok

CANARY = "CANARY-pw-1"


@pytest.mark.django_db
def test_counters_that_cannot_be_written_fail_closed_with_a_503(make_user, client_from_ip, clock, monkeypatch):
    """SECURITY-CASES 53: no check of the password without its reservation, and no half state."""
    make_user("alice")

    def down(**kwargs):
        raise OperationalError("disk full")

    monkeypatch.setattr(store, "hit_counters", down)
    client = client_from_ip()
    response = sign_in_ok(client, "alice")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert rows("SELECT COUNT(*) FROM login_logs") == [(0,)]
    assert not client.cookies.get("sessionid") or not client.cookies["sessionid"].value


@pytest.mark.django_db
def test_redis_and_the_database_both_down_is_a_503_not_a_500(
    redis_counters, make_user, client_from_ip, clock, monkeypatch
):
    import redis

    make_user("alice")
    monkeypatch.setattr(RedisCounters, "_client", lambda self: (_ for _ in ()).throw(redis.ConnectionError()))
    monkeypatch.setattr(store, "hit_counters", lambda **kw: (_ for _ in ()).throw(OperationalError("down")))
    assert sign_in_ok(client_from_ip(), "alice").status_code == HTTPStatus.SERVICE_UNAVAILABLE


@pytest.mark.django_db
def test_bookkeeping_that_fails_after_a_sign_in_is_logged_and_the_user_is_in(
    make_user, client_from_ip, clock, monkeypatch, caplog
):
    make_user("alice")

    def broken(**kwargs):
        raise OperationalError("read-only")

    monkeypatch.setattr(store, "remember_sources", broken)
    client = client_from_ip()
    with caplog.at_level(logging.ERROR, logger="guard"):
        assert sign_in_ok(client, "alice").status_code == HTTPStatus.FOUND
    assert client.get("/").context["current_user"]().username == "alice"
    assert "bookkeeping of a sign-in failed: OperationalError" in caplog.text


@pytest.mark.django_db(transaction=True)
def test_parallel_valid_sign_ins_are_not_refused(make_user):
    """Keycloak #48272: concurrent good sign-ins of one account (up to the pair limit per network) all pass."""
    make_user("alice")

    def sign_in(index: int) -> int:
        # Five from one network (its limit), three from others.
        client = Client(REMOTE_ADDR="198.51.100.1" if index < 5 else f"198.51.100.{index + 10}",
                        HTTP_USER_AGENT=DESKTOP_UA)
        return client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD}).status_code

    assert at_once(8, sign_in) == [HTTPStatus.FOUND] * 8


@pytest.mark.django_db
def test_a_password_typed_as_a_name_reaches_no_guard_output(
    settings, make_user, client_from_ip, clock, guard_settings, django_capture_on_commit_callbacks, caplog
):
    """SECURITY-CASES 55, for counters, alerts, actions, mails, the webhook body and both commands."""
    settings.ADMINS = [("", "security@example.org")]
    guard_settings(DELIVERY="inline")
    make_user("alice", email="alice@example.org")
    mail.outbox.clear()
    # The admins' mail carries the webhook's JSON payload: one haystack for both.
    with caplog.at_level(logging.DEBUG), django_capture_on_commit_callbacks(execute=True):
        sprayer = client_from_ip("198.51.100.66")
        post_login(sprayer, CANARY, "x")
        post_login(sprayer, CANARY.upper(), "x")
        for n in range(12):
            post_login(sprayer, f"victim{n}", CANARY)
        for n in range(6):
            post_login(client_from_ip(f"203.0.113.{n + 1}"), "alice", CANARY)
    assert rows("SELECT COUNT(*) FROM guard_alerts") != [(0,)]
    outputs = []
    for command, args in (("throttles", ["--limit", "1000"]), ("throttles", ["--format", "json"]),
                          ("alerts", ["--status", "all"]), ("alerts", ["--format", "json"])):
        out = io.StringIO()
        call_command(command, *args, stdout=out)
        outputs.append(out.getvalue())
    stored = [repr(rows(f"SELECT * FROM {table}"))
              for table in ("guard_counters", "guard_alerts", "guard_actions", "guard_known_sources")]
    mails = [m.subject + m.body for m in mail.outbox]
    haystack = "\n".join([*stored, *outputs, *mails, caplog.text])
    assert CANARY not in haystack and CANARY.lower() not in haystack and CANARY.upper() not in haystack
