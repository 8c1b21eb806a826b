"""`manage.py authlog`: filters, formats, and one-line errors for bad arguments (SECURITY-CASES 2)."""

import csv
import functools
import io
import json
import os
import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command
from django.db import connection

from authlog import events
from authlog.export import RECORD_FIELDS
from authlog.history import search_events
from authlog.store import EventFilter
from config.dbtime import to_db_time
from tests.conftest import DEFAULT_PASSWORD, rows

BASE_DIR = Path(__file__).resolve().parents[2]
T0 = datetime(2026, 1, 10, 12, 0, tzinfo=UTC)


def minute(n: int) -> datetime:
    return T0 + timedelta(minutes=n)


def stamp(n: int) -> str:
    return minute(n).strftime("%Y-%m-%dT%H:%M:%SZ")


def move_last_event(table: str, n: int) -> None:
    """Put the newest row of `table` at T0 + n minutes.

    The rows are written by the real flows, which take the database clock;
    only the clock is moved, so that order and time filters can be exact.
    """
    (last_id,) = rows(f"SELECT MAX(id) FROM {table}")[0]  # noqa: S608 (constant names)
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET timestamp = %s WHERE id = %s",  # noqa: S608
            [to_db_time(minute(n)), last_id],
        )


@pytest.fixture
def trail(make_user, client_from_ip):
    """Six events through HTTP, one a minute from T0, named by what happened."""
    make_user("alice")
    make_user("bob")
    home = client_from_ip("198.51.100.1")
    cafe = client_from_ip("203.0.113.9")
    phone = client_from_ip("2001:db8::5")
    home.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    move_last_event("login_logs", 0)
    home.post("/logout/")
    move_last_event("login_logs", 1)
    cafe.post("/login/", {"username": "bob", "password": "wrong password"})
    move_last_event("failed_logins", 2)
    cafe.post("/login/", {"username": "mallory", "password": "guess"})
    move_last_event("failed_logins", 3)
    phone.post("/login/", {"username": "alice", "password": "wrong password"})
    move_last_event("failed_logins", 4)
    cafe.post("/login/", {"username": "bob", "password": DEFAULT_PASSWORD})
    move_last_event("login_logs", 5)


# Each event of the trail as (event_type, username, timestamp).
ALICE_LOGIN = ("login", "alice", stamp(0))
ALICE_LOGOUT = ("logout", "alice", stamp(1))
BOB_FAILED = ("login_failed", "bob", stamp(2))
MALLORY_FAILED = ("login_failed", events.unknown_name_pseudonym("mallory"), stamp(3))
ALICE_FAILED = ("login_failed", "alice", stamp(4))
BOB_LOGIN = ("login", "bob", stamp(5))
NEWEST_FIRST = [BOB_LOGIN, ALICE_FAILED, MALLORY_FAILED, BOB_FAILED, ALICE_LOGOUT, ALICE_LOGIN]


def authlog(*args: str) -> str:
    out = io.StringIO()
    call_command("authlog", *args, stdout=out)
    return out.getvalue()


def records(*args: str) -> list[dict]:
    return json.loads(authlog("--format", "json", *args))


def found(*args: str) -> list[tuple]:
    return [(r["event_type"], r["username"], r["timestamp"]) for r in records(*args)]


def test_every_event_is_listed_newest_first(trail):
    assert found() == NEWEST_FIRST


@pytest.mark.parametrize("user", ["alice", "ALICE", "Alice", " alice ", "ａｌｉｃｅ"])
def test_user_filter_takes_any_variant_of_the_name(trail, user):
    assert found("--user", user) == [ALICE_FAILED, ALICE_LOGOUT, ALICE_LOGIN]


def test_user_filter_finds_failures_under_a_name_of_no_account(trail):
    assert found("--user", "MALLORY") == [MALLORY_FAILED]


def test_user_filter_takes_the_pseudonym_the_trail_shows(trail):
    assert found("--user", events.unknown_name_pseudonym("mallory")) == [MALLORY_FAILED]


def test_user_filter_of_a_name_never_seen_finds_nothing(trail):
    assert found("--user", "nobody") == []


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [
        ("login", [BOB_LOGIN, ALICE_LOGIN]),
        ("logout", [ALICE_LOGOUT]),
        ("login_failed", [ALICE_FAILED, MALLORY_FAILED, BOB_FAILED]),
    ],
)
def test_type_filter(trail, event_type, expected):
    assert found("--type", event_type) == expected


@pytest.mark.parametrize(
    ("event_type", "expected"),
    [("login", [BOB_LOGIN]), ("logout", []), ("login_failed", [BOB_FAILED])],
)
def test_type_and_user_filters_combine(trail, event_type, expected):
    assert found("--type", event_type, "--user", "bob") == expected


@pytest.mark.parametrize(
    ("ip", "expected"),
    [
        ("203.0.113.9", [BOB_LOGIN, MALLORY_FAILED, BOB_FAILED]),
        ("198.51.100.1", [ALICE_LOGOUT, ALICE_LOGIN]),
        ("::ffff:198.51.100.1", [ALICE_LOGOUT, ALICE_LOGIN]),
        ("2001:DB8:0::5", [ALICE_FAILED]),
        ("192.0.2.1", []),
    ],
)
def test_ip_filter_matches_the_canonical_address(trail, ip, expected):
    assert found("--ip", ip) == expected


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (("--since", stamp(2)), [BOB_LOGIN, ALICE_FAILED, MALLORY_FAILED, BOB_FAILED]),
        (("--until", stamp(2)), [ALICE_LOGOUT, ALICE_LOGIN]),
        (("--since", stamp(2), "--until", stamp(4)), [MALLORY_FAILED, BOB_FAILED]),
        (
            ("--since", "2026-01-10T13:02:00+01:00"),
            [BOB_LOGIN, ALICE_FAILED, MALLORY_FAILED, BOB_FAILED],
        ),
        (("--since", "2026-01-10 12:02"), [BOB_LOGIN, ALICE_FAILED, MALLORY_FAILED, BOB_FAILED]),
        (("--since", "2026-01-10"), NEWEST_FIRST),
        (("--since", "2026-01-11"), []),
        (("--until", "2026-01-10"), []),
    ],
)
def test_since_is_inclusive_and_until_exclusive(trail, args, expected):
    assert found(*args) == expected


@pytest.mark.parametrize(
    ("limit", "expected"), [("1", [BOB_LOGIN]), ("2", [BOB_LOGIN, ALICE_FAILED])]
)
def test_limit_keeps_the_newest(trail, limit, expected):
    assert found("--limit", limit) == expected


def test_limit_applies_after_the_filters(trail):
    assert found("--user", "alice", "--limit", "1") == [ALICE_FAILED]


@pytest.mark.parametrize("limit", [0, -1])
def test_search_events_with_a_limit_below_one_finds_nothing(trail, limit):
    # SQLite would read LIMIT -1 as "no limit".
    assert search_events(event_filter=EventFilter(), limit=limit) == []


def test_search_events_caps_the_limit(trail, monkeypatch):
    monkeypatch.setattr("authlog.history.MAX_LIMIT", 2)
    assert len(search_events(event_filter=EventFilter(), limit=10**9)) == 2


def test_default_limit_is_fifty(db):
    for _ in range(51):
        events.record_failed_login(
            attempted_username="x",
            user_id=None,
            reason=events.UNKNOWN_USER,
            ip_address="192.0.2.1",
            user_agent=None,
        )
    assert len(records()) == 50


def test_json_records_have_exactly_the_record_fields(trail):
    assert {tuple(record) for record in records()} == {RECORD_FIELDS}


def test_json_timestamps_are_iso_8601_utc_ending_in_z(trail):
    assert [record["timestamp"] for record in records("--limit", "1")] == ["2026-01-10T12:05:00Z"]


def test_json_record_of_a_failure(trail):
    (record,) = records("--user", "bob", "--type", "login_failed")
    assert {
        key: record[key] for key in ("event_type", "username", "ip_address", "reason", "device")
    } == {
        "event_type": "login_failed",
        "username": "bob",
        "ip_address": "203.0.113.9",
        "reason": "bad_password",
        "device": "desktop",
    }


def test_json_record_of_a_sign_in_names_the_user_and_browser(trail):
    (record,) = records("--user", "bob", "--type", "login")
    assert {key: record[key] for key in ("username", "browser", "os", "reason")} == {
        "username": "bob",
        "browser": "Chrome 124",
        "os": "Linux",
        "reason": None,
    }


def test_json_of_no_events_is_an_empty_list(db):
    assert records() == []


def csv_table(*args: str) -> list[list[str]]:
    return list(csv.reader(io.StringIO(authlog("--format", "csv", *args), newline="")))


def test_csv_starts_with_the_record_fields(trail):
    assert csv_table()[0] == list(RECORD_FIELDS)


def test_csv_has_one_row_per_event(trail):
    assert [row[1] for row in csv_table()[1:]] == [event[0] for event in NEWEST_FIRST]


def test_csv_rows_follow_the_filters(trail):
    assert [row[1] for row in csv_table("--type", "logout")[1:]] == ["logout"]


def test_table_is_the_default_format(trail):
    lines = authlog().splitlines()
    assert lines[0].split() == [
        "timestamp",
        "event_type",
        "username",
        "ip_address",
        "browser",
        "os",
        "device",
        "reason",
    ]


def test_table_has_one_line_per_event(trail):
    lines = authlog("--type", "login_failed").splitlines()
    assert [line.split()[:3] for line in lines[1:]] == [
        [stamp(4), "login_failed", "alice"],
        [stamp(3), "login_failed", MALLORY_FAILED[1]],
        [stamp(2), "login_failed", "bob"],
    ]


BAD_ARGUMENTS = [
    (("--type", "bogus"), "type: expected one of login, logout, login_failed"),
    (("--type", "login' UNION SELECT 1--"), "type: expected one of"),
    (("--since", "2024-01-01'"), "since: expected an ISO 8601 date or time"),
    (("--until", "yesterday"), "until: expected an ISO 8601 date or time"),
    (("--since", "0001-01-01T00:00:00+01:00"), "since: expected an ISO 8601 date or time"),
    (("--until", "9999-12-31T23:00:00-01:00"), "until: expected an ISO 8601 date or time"),
    (("--since", "0999-01-01"), "since: expected a year from 1000 to 9999"),
    (("--since", "2026-02-01", "--until", "2026-01-01"), "since must be earlier than until"),
    (("--limit", "0"), "limit: expected a whole number from 1 to 10000"),
    (("--limit", str(10**9)), "limit: expected a whole number from 1 to 10000"),
    (("--limit", "10001"), "limit: expected a whole number from 1 to 10000"),
    (("--limit", "-1"), "limit: expected a whole number"),
    (("--limit", "1_000"), "limit: expected a whole number"),
    (("--limit", "1e3"), "limit: expected a whole number"),
    (("--limit", "٥"), "limit: expected a whole number"),
    (("--ip", "x"), "ip: expected an IPv4 or IPv6 address"),
    (("--ip", "010.008.008.008"), "ip: expected an IPv4 or IPv6 address"),
    (("--user", "1 OR 1=1"), "user: not a username"),
    (("--user", "admin'--"), "user: not a username"),
    (("--user", "a\x00b"), "user: not a username"),
    (("--user", "a" * 257), "user: at most 256 characters"),
    (("--format", "xml"), "format: expected one of table, csv, json"),
]


@pytest.mark.parametrize(("args", "message"), BAD_ARGUMENTS)
def test_bad_arguments_are_a_command_error(db, args, message):
    with pytest.raises(CommandError, match=message.replace("(", r"\(")):
        authlog(*args)


def test_the_largest_limit_is_accepted(db):
    assert records("--limit", "10000") == []


@pytest.fixture(scope="module")
def empty_database_url(tmp_path_factory) -> str:
    """A SQLite file of its own for the subprocess: bad arguments must fail before any query."""
    return f"sqlite:///{tmp_path_factory.mktemp('authlog-cli') / 'empty.sqlite3'}"


@functools.cache
def manage(database_url: str, *args: str) -> subprocess.CompletedProcess:
    """Run manage.py in a subprocess (each distinct command once per test session)."""
    env = {**os.environ, "DATABASE_URL": database_url, "DJANGO_SETTINGS_MODULE": "config.settings"}
    return subprocess.run(
        [sys.executable, "manage.py", *args],
        cwd=BASE_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


SUBPROCESS_BAD_ARGUMENTS = [
    ("--type", "bogus"),
    ("--since", "2024-01-01'"),
    ("--limit", "0"),
    ("--limit", str(10**9)),
    ("--ip", "x"),
    ("--user", "1 OR 1=1"),
    ("--format", "xml"),
]


@pytest.mark.parametrize("args", SUBPROCESS_BAD_ARGUMENTS)
def test_bad_arguments_exit_non_zero(empty_database_url, args):
    assert manage(empty_database_url, "authlog", *args).returncode != 0


@pytest.mark.parametrize("args", SUBPROCESS_BAD_ARGUMENTS)
def test_bad_arguments_print_one_command_error_line_and_no_traceback(empty_database_url, args):
    (line,) = manage(empty_database_url, "authlog", *args).stderr.splitlines()
    assert line.startswith("CommandError: ")


@pytest.fixture(scope="module")
def migrated_database_url(empty_database_url) -> str:
    url = empty_database_url.replace("empty.sqlite3", "migrated.sqlite3")
    result = manage(url, "migrate", "--noinput", "--verbosity", "0")
    assert result.returncode == 0, result.stderr
    return url


def test_good_arguments_exit_zero_with_the_output(migrated_database_url):
    result = manage(migrated_database_url, "authlog", "--format", "json", "--user", "alice")
    assert (result.returncode, json.loads(result.stdout)) == (0, [])
