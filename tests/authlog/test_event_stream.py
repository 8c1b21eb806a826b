"""The `authlog.events` stream: one JSON line per committed event (SECURITY-CASES 42, 43, 55)."""

import io
import json
import logging

import pytest
from django.db import transaction

from authlog import events
from tests.conftest import DEFAULT_PASSWORD

FORGED = "bob\r\n2025-01-01T00:00:00Z INFO login success user=admin"
HOSTILE_UA = "Mozilla/5.0\x1b[2J\x1b]0;owned\x07 \u2028\u2029\x85\x1c\x1d\x1e\u202e\x00 end"
CANARY = "CANARY-pw-1"
RECORD_KEYS = {
    "id",
    "event_type",
    "user_id",
    "username",
    "ip_address",
    "user_agent",
    "browser",
    "os",
    "device",
    "timestamp",
    "reason",
    "session_ref",
    "persisted",
}


@pytest.fixture
def stream():
    """Return the event stream's text as the production formatter writes it."""
    buffer = io.StringIO()
    handler = logging.StreamHandler(buffer)
    handler.setFormatter(logging.Formatter("%(message)s"))
    logger = logging.getLogger("authlog.events")
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    yield buffer
    logger.removeHandler(handler)
    logger.setLevel(level)


@pytest.fixture
def commit(django_capture_on_commit_callbacks):
    """Return a context manager that runs the on-commit callbacks of the block at its end."""
    return lambda: django_capture_on_commit_callbacks(execute=True)


def lines_of(stream: io.StringIO) -> list[str]:
    return stream.getvalue().splitlines()


def only_record(stream: io.StringIO) -> dict:
    (line,) = lines_of(stream)
    return json.loads(line)


def test_a_sign_in_writes_one_line(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert len(lines_of(stream)) == 1


def test_the_line_describes_the_event(make_user, client_from_ip, stream, commit):
    alice = make_user("alice")
    with commit():
        client_from_ip("198.51.100.7").post(
            "/login/", {"username": "ALICE", "password": DEFAULT_PASSWORD}
        )
    record = only_record(stream)
    assert (record["event_type"], record["user_id"], record["username"], record["ip_address"]) == (
        "login",
        alice.id,
        "alice",
        "198.51.100.7",
    )


def test_the_line_has_the_record_keys(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert set(only_record(stream)) == RECORD_KEYS


def test_the_line_timestamp_is_utc_ending_in_z(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert only_record(stream)["timestamp"].endswith("Z")


def test_sign_in_and_sign_out_write_a_line_each(make_user, client_from_ip, stream, commit):
    make_user("alice")
    client = client_from_ip()
    with commit():
        client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
        client.post("/logout/")
        client.post("/login/", {"username": "alice", "password": "wrong password"})
    types = [json.loads(line)["event_type"] for line in lines_of(stream)]
    assert types == ["login", "logout", "login_failed"]


def test_a_failed_sign_in_line_carries_its_reason(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip().post("/login/", {"username": "alice", "password": "wrong password"})
    assert only_record(stream)["reason"] == "bad_password"


def test_a_forged_username_gives_one_line(client_from_ip, db, stream, commit):
    with commit():
        client_from_ip().post("/login/", {"username": FORGED, "password": "whatever"})
    assert len(lines_of(stream)) == 1


def test_a_hostile_user_agent_gives_one_line(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip(user_agent=HOSTILE_UA).post(
            "/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
        )
    assert len(lines_of(stream)) == 1


def test_a_hostile_user_agent_line_is_printable_ascii(make_user, client_from_ip, stream, commit):
    make_user("alice")
    with commit():
        client_from_ip(user_agent=HOSTILE_UA).post(
            "/login/", {"username": "alice", "password": "wrong password"}
        )
    (line,) = lines_of(stream)
    assert line.isascii() and line.isprintable()


def test_a_hostile_user_agent_is_recorded_without_control_characters(
    make_user, client_from_ip, stream, commit
):
    make_user("alice")
    with commit():
        client_from_ip(user_agent=HOSTILE_UA).post(
            "/login/", {"username": "alice", "password": DEFAULT_PASSWORD}
        )
    assert only_record(stream)["user_agent"] == "Mozilla/5.0[2J]0;owned  end"


HOSTILE_NAMES = [
    FORGED,
    "a\x1b[2Jb",
    "a\u2028b",
    "a\u2029b",
    "a\x85b",
    "a\x1cb\x1dc\x1ed",
    "a\x0bb\x0cc",
]


@pytest.mark.parametrize("username", HOSTILE_NAMES)
def test_a_hostile_name_given_to_log_auth_event_is_one_printable_line(
    make_user, stream, commit, username
):
    # The stream never trusts its callers: the line is escaped whatever it carries.
    alice = make_user("alice")
    with commit():
        events.log_auth_event(alice.id, events.LOGIN, "198.51.100.7", username=username)
    (line,) = lines_of(stream)
    assert line.isascii() and line.isprintable()


@pytest.mark.parametrize("username", HOSTILE_NAMES)
def test_a_hostile_name_given_to_log_auth_event_round_trips(make_user, stream, commit, username):
    alice = make_user("alice")
    with commit():
        events.log_auth_event(alice.id, events.LOGIN, "198.51.100.7", username=username)
    assert only_record(stream)["username"] == username


def test_an_event_of_a_rolled_back_transaction_writes_no_line(make_user, stream, commit):
    alice = make_user("alice")
    with commit():
        with pytest.raises(RuntimeError), transaction.atomic():
            events.log_auth_event(alice.id, events.LOGIN, "198.51.100.7", username="alice")
            raise RuntimeError("the session could not be saved")
    assert lines_of(stream) == []


def test_a_failure_of_a_rolled_back_transaction_writes_no_line(db, stream, commit):
    with commit():
        with pytest.raises(RuntimeError), transaction.atomic():
            events.record_failed_login(
                attempted_username="alice",
                user_id=None,
                reason=events.UNKNOWN_USER,
                ip_address="198.51.100.7",
                user_agent=None,
            )
            raise RuntimeError("rolled back")
    assert lines_of(stream) == []


@pytest.mark.django_db(transaction=True)
def test_a_really_committed_sign_in_writes_its_line(make_user, client_from_ip, stream):
    make_user("alice")
    client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert only_record(stream)["event_type"] == "login"


@pytest.mark.django_db(transaction=True)
def test_a_line_is_written_only_after_the_commit(make_user, stream):
    alice = make_user("alice")
    with transaction.atomic():
        events.log_auth_event(alice.id, events.LOGIN, "198.51.100.7", username="alice")
        assert lines_of(stream) == []
    assert len(lines_of(stream)) == 1


def test_the_line_id_is_the_row_id(make_user, stream, commit):
    alice = make_user("alice")
    with commit():
        event = events.log_auth_event(alice.id, events.LOGIN, "198.51.100.7", username="alice")
    assert only_record(stream)["id"] == event.id


def test_an_unrecorded_logout_is_marked_not_persisted(stream):
    events.unrecorded_logout(7, "alice", "198.51.100.7")
    assert only_record(stream)["persisted"] is False


@pytest.mark.parametrize(
    ("username", "password"),
    [
        ("alice", CANARY),
        ("alice", CANARY + "x"),
        ("ALICE", CANARY),
        ("nobody", CANARY),
    ],
)
def test_the_password_never_reaches_the_stream(
    make_user, client_from_ip, stream, commit, username, password
):
    make_user("alice", password=CANARY)
    client = client_from_ip()
    with commit():
        client.post("/login/", {"username": username, "password": password})
        client.post("/logout/")
    assert lines_of(stream), "the attempt was streamed"
    assert CANARY.lower() not in stream.getvalue().lower()


def test_a_password_typed_as_the_username_never_reaches_the_stream(
    make_user, client_from_ip, stream, commit
):
    make_user("alice", password=CANARY)
    with commit():
        client_from_ip().post("/login/", {"username": CANARY, "password": "whatever"})
    assert CANARY.lower() not in stream.getvalue().lower()
