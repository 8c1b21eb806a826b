"""Every event gets a seq and a hash in its own transaction; writers never fork the chain."""

from http import HTTPStatus

import pytest
from django.db import DatabaseError, connection, transaction

from authlog import chain, events, trail
from tests.conftest import DEFAULT_PASSWORD, at_once, rows
from tests.test_faults import inserts_refused
from tests.trail.conftest import located, sql, verify

WRITERS = 8
EVENTS_PER_WRITER = 15


def test_every_kind_of_event_gets_the_next_seq(write_events):
    written = write_events(6)
    chained = rows("SELECT seq, event_table, event_id, kind FROM trail_chain ORDER BY seq")
    assert chained == [
        (i + 1, "failed_logins" if e.event_type == "login_failed" else "login_logs", e.id, e.event_type)
        for i, e in enumerate(written)
    ]
    assert rows("SELECT seq, entry_hash FROM trail_head") == [(6, rows(
        "SELECT entry_hash FROM trail_chain WHERE seq = 6")[0][0])]


def test_a_clean_trail_verifies(write_events):
    write_events(9)
    report = verify()
    assert (report.ok, report.checked, report.events_checked, located(report)) == (True, 9, 9, [])
    assert report.head_seq == 9


def test_sign_in_sign_out_and_failure_through_http_are_chained_and_verify(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip()
    client.post("/login/", {"username": "alice", "password": "wrong"})
    client.post("/login/", {"username": "mallory", "password": "guess"})
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    client.post("/logout/")
    assert [kind for (kind,) in rows("SELECT kind FROM trail_chain ORDER BY seq")] == [
        "login_failed", "login_failed", "login", "logout"
    ]
    assert verify().ok


def test_a_rolled_back_event_leaves_no_entry_and_no_gap(write_events, make_user):
    write_events(2)
    alice = make_user("bob")
    with pytest.raises(RuntimeError), transaction.atomic():
        events.log_auth_event(alice.id, events.LOGIN, "192.0.2.1")
        raise RuntimeError("the sign-in fails after its event")
    write_events(1)
    assert [seq for (seq,) in rows("SELECT seq FROM trail_chain ORDER BY seq")] == [1, 2, 3]
    assert verify().ok


def test_a_sign_in_whose_chain_entry_cannot_be_written_does_not_happen(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip()
    with inserts_refused("trail_chain"):
        response = client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert rows("SELECT COUNT(*) FROM login_logs") == [(0,)]
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]


def test_the_head_row_is_rebuilt_from_the_chain_if_it_was_emptied(write_events):
    write_events(3)
    sql("DELETE FROM trail_head")
    write_events(1)
    assert rows("SELECT seq FROM trail_head") == [(4,)]
    assert verify().ok


def test_an_event_type_without_a_chained_table_is_refused(make_user):
    alice = make_user("alice")
    stray = events.AuthEvent(
        id=1, event_type="lockout", user_id=alice.id, username="alice", ip_address=None,
        user_agent=None, browser=None, os=None, device=None, timestamp=None,
    )
    with pytest.raises(LookupError, match="no chained table"):
        trail.chain_event(stray)


def test_the_json_line_is_unchanged_by_the_chain(make_user, client_from_ip, caplog, django_capture_on_commit_callbacks):
    make_user("alice")
    with django_capture_on_commit_callbacks(execute=True):
        client_from_ip().post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD})
    [line] = [r.getMessage() for r in caplog.records if r.name == "authlog.events"]
    assert "seq" not in line and "entry_hash" not in line


def test_backfill_chains_events_written_before_the_chain_existed(make_user):
    """What migration 0003 does with the events already in the trail: oldest first."""
    alice = make_user("alice")
    sql("INSERT INTO login_logs (user_id, event_type, ip_address, timestamp) VALUES"
        " (%s, 'logout', '192.0.2.1', '2025-01-02 00:00:00'), (%s, 'login', '192.0.2.1', '2025-01-01 00:00:00')"
        if connection.vendor == "sqlite" else
        "INSERT INTO login_logs (user_id, event_type, ip_address, timestamp) VALUES"
        " (%s, 'logout', '192.0.2.1', '2025-01-02T00:00:00Z'), (%s, 'login', '192.0.2.1', '2025-01-01T00:00:00Z')",
        [alice.id, alice.id])
    sql("INSERT INTO failed_logins (attempted_username, reason, ip_address, timestamp) VALUES"
        " ('unknown:1', 'unknown_user', NULL, %s)",
        ["2025-01-01 12:00:00" if connection.vendor == "sqlite" else "2025-01-01T12:00:00Z"])
    # A row without a time (only a raw INSERT can make one) is left for verify to report.
    sql("INSERT INTO login_logs (user_id, event_type, timestamp) VALUES (%s, 'login', NULL)", [alice.id])
    assert trail.backfill_chain(batch_size=2) == 3
    assert rows("SELECT kind FROM trail_chain ORDER BY seq") == [("login",), ("login_failed",), ("logout",)]
    report = verify()
    assert [p.what.split(":")[-1].strip() for p in report.problems] == [
        "inserted, not in the chain (after seq 1)"
    ]
    assert trail.backfill_chain() == 0


@pytest.mark.django_db(transaction=True)
def test_eight_concurrent_writers_never_fork_the_chain(make_user):
    users = [make_user(f"writer{i}") for i in range(WRITERS)]

    def writer(index: int) -> str:
        for n in range(EVENTS_PER_WRITER):
            if n % 2:
                events.record_failed_login(
                    attempted_username=f"writer{index}", user_id=users[index].id,
                    reason=events.BAD_PASSWORD, ip_address=f"198.51.100.{index}", user_agent=None,
                )
            else:
                events.log_auth_event(users[index].id, events.LOGIN, f"203.0.113.{index}")
        return "done"

    assert at_once(WRITERS, writer) == ["done"] * WRITERS
    total = WRITERS * EVENTS_PER_WRITER
    assert rows("SELECT COUNT(*), MIN(seq), MAX(seq), COUNT(DISTINCT seq) FROM trail_chain") == [
        (total, 1, total, total)
    ]
    assert rows("SELECT (SELECT COUNT(*) FROM login_logs) + (SELECT COUNT(*) FROM failed_logins)") == [(total,)]
    report = verify()
    assert (report.ok, report.checked, located(report)) == (True, total, [])


def test_an_error_inside_the_chain_step_surfaces_as_a_database_error(write_events, monkeypatch):
    """The sign-in service turns DatabaseError into a 503; the chain's own failures are those."""
    from authlog import store

    def broken(**kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(store, "append_chain_entry", broken)
    with pytest.raises(DatabaseError):
        write_events(1)
    assert chain.GENESIS_HASH == "0" * 64
