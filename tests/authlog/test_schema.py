"""The seed's table, exactly, on both databases; and the durability settings."""

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction

from authlog.events import log_auth_event
from tests.conftest import rows

SEED_COLUMNS = ["id", "user_id", "event_type", "ip_address", "timestamp"]
EXTRA_COLUMNS = ["user_agent", "browser", "os", "device", "session_ref"]


def columns(table):
    with connection.cursor() as cursor:
        return [
            (c.name, c.null_ok)
            for c in connection.introspection.get_table_description(cursor, table)
        ]


def test_login_logs_has_the_seed_columns_first_then_nullable_extras(db):
    described = columns("login_logs")
    assert [name for name, _ in described] == SEED_COLUMNS + EXTRA_COLUMNS
    nullable = dict(described)
    assert nullable["user_id"] is False
    assert nullable["event_type"] is False
    assert all(nullable[name] for name in EXTRA_COLUMNS)


def test_users_table_has_the_specified_columns(db):
    assert [name for name, _ in columns("users")] == [
        "id", "username", "username_normalised", "email", "password_hash",
        "is_admin", "is_active", "created_at", "last_login_at",
    ]


def test_seed_insert_works_verbatim_and_stamps_utc_time(make_user):
    alice = make_user("alice")
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO login_logs (user_id, event_type, ip_address) VALUES (%s, %s, %s)",
            [alice.id, "login", "192.0.2.1"],
        )
        cursor.execute("SELECT * FROM login_logs ORDER BY timestamp DESC LIMIT 10;")
        [row] = cursor.fetchall()
    assert row[1:4] == (alice.id, "login", "192.0.2.1")
    assert row[4] is not None
    from django.utils import timezone

    from config.dbtime import as_utc

    assert abs((timezone.now() - as_utc(row[4])).total_seconds()) < 120


def test_check_constraint_refuses_other_event_types(make_user):
    alice = make_user("alice")
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO login_logs (user_id, event_type, ip_address) VALUES (%s, %s, %s)",
            [alice.id, "hacked", "192.0.2.1"],
        )


def test_foreign_key_refuses_unknown_users(db):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO login_logs (user_id, event_type, ip_address) VALUES (%s, %s, %s)",
            [987654, "login", "192.0.2.1"],
        )


def test_user_id_is_not_null(db):
    with pytest.raises(IntegrityError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO login_logs (user_id, event_type, ip_address) VALUES (NULL, 'login', NULL)"
        )


def test_log_auth_event_refuses_unknown_event_types(make_user):
    with pytest.raises(ValueError):
        log_auth_event(make_user("alice").id, "login_failed", "192.0.2.1")


def test_log_auth_event_keeps_the_seed_signature(make_user, django_capture_on_commit_callbacks):
    alice = make_user("alice")
    with django_capture_on_commit_callbacks(execute=True):
        event = log_auth_event(alice.id, "logout", "2001:db8::1")
    assert rows("SELECT user_id, event_type, ip_address FROM login_logs WHERE id = %s", [event.id]) == [
        (alice.id, "logout", "2001:db8::1")
    ]


def test_usernames_are_unique_in_normalised_form(make_user):
    from accounts import store

    make_user("Straße")
    assert store.insert_user(
        username="STRASSE", username_normalised="strasse", email=None, password_hash="x"
    ) is None


def test_timestamps_are_timestamptz_on_postgresql(on_postgresql, db):
    [(data_type,)] = rows(
        "SELECT data_type FROM information_schema.columns"
        " WHERE table_name = 'login_logs' AND column_name = 'timestamp'"
    )
    assert data_type == "timestamp with time zone"


@pytest.fixture
def on_sqlite():
    if connection.vendor != "sqlite":
        pytest.skip("SQLite-only setting")


def test_sqlite_runs_in_wal_mode_with_full_sync_and_a_busy_timeout(on_sqlite, db):
    assert rows("PRAGMA journal_mode") == [("wal",)]
    assert rows("PRAGMA synchronous") == [(2,)]  # FULL
    [(timeout,)] = rows("PRAGMA busy_timeout")
    assert timeout >= 5000
    assert connection.transaction_mode == "IMMEDIATE"


def test_a_failing_statement_inside_sign_in_leaves_the_connection_usable(make_user):
    # PostgreSQL aborts the whole transaction on an error unless a savepoint
    # contains it; our atomic blocks are those savepoints.
    alice = make_user("alice")
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("INSERT INTO login_logs (user_id, event_type) VALUES (%s, 'bad')", [alice.id])
    assert rows("SELECT COUNT(*) FROM users") == [(1,)]
