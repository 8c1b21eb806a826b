"""SECURITY-CASES 55: no password, session key, CSRF token or cookie ever reaches storage or logs."""

import io
import json
import logging

import pytest
from django.core.management import call_command
from django.views.debug import ExceptionReporter

from tests.conftest import rows

CANARY = "CANARY-pw-1"


def every_stored_value() -> str:
    dump = []
    for table in ("users", "login_logs", "failed_logins", "user_sessions"):
        dump.extend(repr(row) for row in rows(f"SELECT * FROM {table}"))
    from accounts.session_engine import SessionStore

    for (key,) in rows("SELECT session_key FROM user_sessions"):
        dump.append(repr(dict(SessionStore(session_key=key).load())))
    return "\n".join(dump)


@pytest.mark.django_db(transaction=True)
def test_canary_secrets_are_nowhere(make_user, client_from_ip, caplog):
    make_user("alice", password=CANARY)
    client = client_from_ip()
    with caplog.at_level(logging.DEBUG):
        client.post("/login/", {"username": "alice", "password": CANARY + "x"})
        client.post("/login/", {"username": CANARY, "password": "whatever"})
        client.post("/login/", {"username": CANARY.lower(), "password": CANARY})
        client.post("/login/", {"username": "alice", "password": CANARY})
        session_cookie = client.cookies["sessionid"].value
        csrf_cookie = client.cookies["csrftoken"].value
        client.get("/")
        client.post("/logout/")
    outputs = []
    for fmt in ("table", "csv", "json"):
        out = io.StringIO()
        call_command("authlog", format=fmt, stdout=out)
        outputs.append(out.getvalue())
    haystack = "\n".join(
        [every_stored_value(), caplog.text, *outputs, *(r.getMessage() for r in caplog.records)]
    )
    assert rows("SELECT COUNT(*) FROM failed_logins") == [(3,)]
    for secret in (CANARY, CANARY.lower(), session_cookie, csrf_cookie):
        assert secret not in haystack
    # The event stream carried the events, and only JSON.
    lines = [r.getMessage() for r in caplog.records if r.name == "authlog.events"]
    assert len(lines) == 5
    assert all(json.loads(line) for line in lines)


def test_error_reports_mask_the_password(make_user, client_from_ip, monkeypatch, caplog):
    """An unexpected error during sign-in produces a report without the password."""
    make_user("alice", password=CANARY)

    def explode(request, **kwargs):
        raise RuntimeError("boom")

    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": CANARY})
    session_key = client.cookies["sessionid"].value
    csrf_cookie = client.cookies["csrftoken"].value
    monkeypatch.setattr("accounts.views.sign_in", explode)
    client.raise_request_exception = False
    with caplog.at_level(logging.ERROR, logger="django.request"):
        response = client.post(
            "/login/", {"username": "alice", "password": CANARY},
            HTTP_AUTHORIZATION="Bearer " + CANARY + "-token",
        )
    assert response.status_code == 500
    assert CANARY not in response.content.decode()
    [record] = [r for r in caplog.records if r.name == "django.request"]
    report = ExceptionReporter(record.request, *record.exc_info).get_traceback_text()
    assert "alice" in report, "the report is about this request"
    for secret in (CANARY, session_key, csrf_cookie):
        assert secret not in report


def test_user_repr_never_shows_the_hash(make_user):
    alice = make_user("alice", password=CANARY)
    assert "password_hash" not in repr(alice)
    assert alice.password_hash not in repr(alice)
