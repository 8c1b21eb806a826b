"""The session engine writes a session row once per change, and never skips a change.

These tests commit for real (transaction=True): the engine only skips a save
whose twin has committed, which never happens inside a test's rolled-back
transaction.
"""

import pytest
from django.contrib.sessions.backends.base import UpdateError
from django.db import IntegrityError, connection, transaction
from django.test.utils import CaptureQueriesContext

from accounts.session_engine import SessionStore
from tests.conftest import DEFAULT_PASSWORD

pytestmark = pytest.mark.django_db(transaction=True)


def session_writes(queries: CaptureQueriesContext) -> list[str]:
    return [
        q["sql"].split(None, 1)[0].upper()
        for q in queries.captured_queries
        if "user_sessions" in q["sql"] and not q["sql"].lstrip().upper().startswith("SELECT")
    ]


def stored_data(key: str) -> dict:
    return dict(SessionStore(session_key=key).load())


def test_sign_in_writes_its_session_row_once(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip()
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == 302
    # The INSERT of the sign-in's transaction; SessionMiddleware's save of the same data is skipped.
    assert session_writes(queries) == ["INSERT"]
    assert client.get("/").context["current_user"]().username == "alice"


def test_saving_unchanged_data_again_writes_nothing():
    session = SessionStore()
    session["colour"] = "blue"
    session.save()
    with CaptureQueriesContext(connection) as queries:
        session.save()
    assert queries.captured_queries == []


def test_a_change_after_a_save_is_written():
    session = SessionStore()
    session["colour"] = "blue"
    session.save()
    session["colour"] = "green"
    session.save()
    assert stored_data(session.session_key) == {"colour": "green"}


def test_a_nested_value_changed_in_place_is_written():
    session = SessionStore()
    session["basket"] = ["apple"]
    session.save()
    session["basket"].append("pear")
    session.save()
    assert stored_data(session.session_key) == {"basket": ["apple", "pear"]}


def test_a_save_that_was_rolled_back_is_not_taken_for_written():
    session = SessionStore()
    session["colour"] = "blue"
    with pytest.raises(RuntimeError), transaction.atomic():
        session.save()
        raise RuntimeError("the transaction of the first save fails")
    # The next save goes to the database (which has no such row), rather than being skipped.
    with pytest.raises(UpdateError):
        session.save()


def test_a_deleted_session_is_not_taken_for_written():
    session = SessionStore()
    session["colour"] = "blue"
    session.save()
    key = session.session_key
    session.delete()
    session._session_key = key  # noqa: SLF001 - the same object saving its deleted key again
    with pytest.raises(UpdateError):
        session.save()


def test_a_taken_key_fails_the_transaction_that_creates_a_session(monkeypatch):
    # Inside a sign-in's transaction the INSERT runs without a savepoint, so a
    # key collision (not a practical event) fails the sign-in instead of being retried.
    taken = SessionStore()
    taken["colour"] = "blue"
    taken.save()
    monkeypatch.setattr(SessionStore, "_get_new_session_key", lambda self: taken.session_key)
    session = SessionStore()
    session["colour"] = "green"
    with pytest.raises(IntegrityError), transaction.atomic():
        session.save()
    assert stored_data(taken.session_key) == {"colour": "blue"}


@pytest.mark.parametrize("stored", [True, "1", 1.0])
def test_only_a_real_integer_names_a_user_in_the_row_and_for_sign_in(make_user, stored, monkeypatch):
    """bool is an int subclass: a session holding True names neither user 1 nor anybody."""
    from accounts import sessions
    from accounts.sessions import (
        SESSION_AUTH_HASH,
        SESSION_USER_ID,
        session_auth_hash,
        user_of_session,
    )

    user = make_user("alice")
    # Whatever id is looked up finds alice: only the type check can refuse.
    monkeypatch.setattr(sessions.store, "user_by_id", lambda *, user_id: user)
    session = SessionStore()
    session[SESSION_USER_ID] = stored
    session[SESSION_AUTH_HASH] = session_auth_hash(user)
    session.save()
    assert user_of_session(session) is None
    assert session.model.objects.get(session_key=session.session_key).user_id is None
