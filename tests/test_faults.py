"""What happens when the trail cannot be written (SECURITY-CASES 52-53).

A sign-in that cannot be recorded does not happen: 503, no session, no half
state. A sign-out still ends the session, and says so on the event stream.
Faults are injected in the database itself (a trigger that refuses the
INSERT), so the real code path meets a real driver error.
"""

import contextlib
import json
import logging
import threading
from http import HTTPStatus

import pytest
from django.db import OperationalError, connection

from accounts import store
from tests.conftest import DEFAULT_PASSWORD, rows


@contextlib.contextmanager
def inserts_refused(table: str, when: str = "1 = 1"):
    """Make every INSERT into `table` matching `when` fail inside the database."""
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            cursor.execute(
                "CREATE FUNCTION refuse_insert() RETURNS trigger AS $$"
                " BEGIN RAISE EXCEPTION 'injected: disk full'; END $$ LANGUAGE plpgsql"
            )
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} FOR EACH ROW"
                f" WHEN ({when.replace('NEW.', 'NEW.')}) EXECUTE FUNCTION refuse_insert()"
            )
        else:
            cursor.execute(
                f"CREATE TRIGGER refuse BEFORE INSERT ON {table} WHEN {when}"
                " BEGIN SELECT RAISE(ABORT, 'injected: disk full'); END"
            )
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":
                cursor.execute(f"DROP TRIGGER refuse ON {table}")
                cursor.execute("DROP FUNCTION refuse_insert()")
            else:
                cursor.execute("DROP TRIGGER refuse")


def test_sign_in_that_cannot_be_recorded_is_a_503_with_no_session(
    make_user, client_from_ip, django_capture_on_commit_callbacks, caplog
):
    alice = make_user("alice")
    client = client_from_ip()
    with inserts_refused("login_logs"), caplog.at_level(logging.INFO, logger="authlog.events"):
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert b"temporarily unavailable" in response.content
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]
    assert rows("SELECT COUNT(*) FROM login_logs") == [(0,)]
    assert store.user_by_id(user_id=alice.id).last_login_at is None
    assert not client.cookies.get("sessionid") or not client.cookies["sessionid"].value
    assert client.get("/").context["current_user"]() is None
    assert [r for r in caplog.records if r.name == "authlog.events"] == []


def test_failed_sign_in_that_cannot_be_recorded_is_a_503(make_user, client_from_ip):
    make_user("alice")
    with inserts_refused("failed_logins"):
        response = client_from_ip().post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


def test_sign_in_over_a_session_that_cannot_be_recorded_keeps_the_old_session(
    make_user, client_from_ip
):
    alice = make_user("alice")
    make_user("bob")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    key = client.cookies["sessionid"].value
    with inserts_refused("login_logs"):
        response = client.post("/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert client.cookies["sessionid"].value == key
    assert client.get("/").context["current_user"]().id == alice.id
    assert rows("SELECT event_type FROM login_logs") == [("login",)]


def test_sign_out_that_cannot_be_recorded_still_ends_the_session(
    make_user, client_from_ip, caplog
):
    alice = make_user("alice")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    key = client.cookies["sessionid"].value
    with inserts_refused("login_logs", "NEW.event_type = 'logout'"):
        with caplog.at_level(logging.INFO, logger="authlog.events"):
            response = client.post("/logout/")
    assert response.status_code == HTTPStatus.FOUND
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE session_key = %s", [key]) == [(0,)]
    assert client.get("/").context["current_user"]() is None
    [line] = [r for r in caplog.records if r.name == "authlog.events"]
    assert line.levelno == logging.ERROR
    record = json.loads(line.getMessage())
    assert (record["event_type"], record["user_id"], record["persisted"]) == ("logout", alice.id, False)


def test_database_down_during_sign_in_is_a_503(make_user, client_from_ip, monkeypatch):
    make_user("alice")

    def down(**kwargs):
        raise OperationalError("could not connect to server")

    monkeypatch.setattr(store, "user_by_normalised_username", down)
    response = client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Retry-After"] == "30"


def test_database_down_on_any_page_is_a_503_not_a_500(make_user, client_from_ip, monkeypatch):
    make_user("alice")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})

    def down(**kwargs):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(store, "user_by_id", down)
    monkeypatch.setattr("accounts.sessions.store.user_by_id", down)
    response = client.get("/")
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE


@pytest.mark.django_db(transaction=True)
def test_sign_in_waits_for_another_writer_instead_of_failing(make_user, client_from_ip):
    """SECURITY-CASES 52: a writer holding the lock delays a sign-in; it does not break it."""
    make_user("alice")
    settings_dict = connection.settings_dict
    if connection.vendor == "sqlite":
        import sqlite3

        holder = sqlite3.connect(settings_dict["NAME"], isolation_level=None, check_same_thread=False)
        holder.execute("BEGIN IMMEDIATE")
    else:
        import psycopg

        holder = psycopg.connect(
            dbname=settings_dict["NAME"], host=settings_dict["HOST"], port=settings_dict["PORT"],
            user=settings_dict["USER"], password=settings_dict["PASSWORD"], autocommit=False,
        )
        holder.execute("LOCK TABLE login_logs IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(1.0, holder.commit if connection.vendor != "sqlite" else lambda: holder.execute("COMMIT"))
    release.start()
    try:
        response = client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    finally:
        release.join()
        holder.close()
    assert response.status_code == HTTPStatus.FOUND
    assert rows("SELECT event_type FROM login_logs") == [("login",)]


class _Deadlock(Exception):
    sqlstate = "40P01"


def test_sign_in_aborted_by_a_deadlock_is_retried_not_refused(make_user, client_from_ip, monkeypatch):
    """Keycloak #48272: the loser of a deadlock between two good sign-ins still gets in."""
    from accounts import signin

    make_user("alice")
    real = signin._start_session_once
    calls = []

    def deadlock_once(*args, **kwargs):
        calls.append(1)
        if len(calls) == 1:
            error = OperationalError("deadlock detected")
            error.__cause__ = _Deadlock()
            raise error
        return real(*args, **kwargs)

    monkeypatch.setattr(signin, "_start_session_once", deadlock_once)
    response = client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    assert len(calls) == 2
    assert rows("SELECT event_type FROM login_logs") == [("login",)]


def test_a_permanent_error_is_not_retried(make_user, client_from_ip, monkeypatch):
    from accounts import signin

    make_user("alice")
    calls = []

    def broken(*args, **kwargs):
        calls.append(1)
        raise OperationalError("disk I/O error")

    monkeypatch.setattr(signin, "_start_session_once", broken)
    response = client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert len(calls) == 1


def test_an_event_that_cannot_be_written_fails_its_callers_whole_transaction(make_user):
    # log_auth_event has no savepoint of its own: the session change it goes with cannot commit.
    from django.db import DatabaseError, transaction

    from authlog import events

    alice = make_user("alice")
    with inserts_refused("login_logs"):
        with pytest.raises(DatabaseError), transaction.atomic():
            store.record_last_login(user_id=alice.id)
            try:
                events.log_auth_event(alice.id, events.LOGIN, "192.0.2.1")
            except DatabaseError:
                assert connection.needs_rollback  # nothing more may run in it
                raise
    assert rows("SELECT last_login_at FROM users WHERE id = %s", [alice.id]) == [(None,)]
