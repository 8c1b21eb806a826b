"""Another app's events (alerts, admin actions) join the chain by declaring their table."""

from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from authlog import retention, trail
from authlog.checks import check_retention
from config.dbtime import to_db_time
from tests.conftest import rows
from tests.trail.conftest import sql, verify

NOTES = trail.ChainedTable(
    name="test_trail_notes",
    columns=("id", "actor", "note", "created_at"),
    time_column="created_at",
    fixed_kind="note",
    ip_column="ip_address",
    kinds=("note",),
    default_days=30,
)


@pytest.fixture
def notes(db):
    """A table of another app's events, declared to the chain for the test only."""
    serial = "INTEGER PRIMARY KEY AUTOINCREMENT" if connection.vendor == "sqlite" else "BIGSERIAL PRIMARY KEY"
    sql(f"CREATE TABLE test_trail_notes (id {serial}, actor TEXT NOT NULL, note TEXT NOT NULL,"
        " ip_address TEXT NULL, created_at TIMESTAMP NOT NULL, status TEXT NOT NULL DEFAULT 'open')")
    trail.register_chained_table(NOTES)
    yield add_note
    trail._TABLES.pop(NOTES.name)  # noqa: SLF001 (the test's own registration)


def add_note(note: str, *, days_ago: float = 0, chained: bool = True) -> int:
    at = to_db_time(timezone.now() - timedelta(days=days_ago))
    [(note_id,)] = rows(
        "INSERT INTO test_trail_notes (actor, note, ip_address, created_at) VALUES ('admin', %s,"
        " '198.51.100.4', %s) RETURNING id", [note, at],
    )
    if chained:
        trail.chain_stored_row(table=NOTES, event_id=note_id)
    return note_id


def test_a_declared_table_is_chained_and_verified(notes, write_events):
    write_events(2)
    notes("unlocked alice")
    write_events(1)
    assert rows("SELECT seq, event_table FROM trail_chain WHERE seq = 3") == [(3, "test_trail_notes")]
    assert verify().ok


def test_only_the_declared_columns_are_committed_so_a_status_may_change(notes):
    note_id = notes("alert raised")
    sql("UPDATE test_trail_notes SET status = 'acknowledged' WHERE id = %s", [note_id])
    assert verify().ok
    sql("UPDATE test_trail_notes SET note = 'nothing happened' WHERE id = %s", [note_id])
    assert [p.seq for p in verify().problems] == [1]


def test_an_unchained_row_of_a_declared_table_is_reported_as_inserted(notes):
    notes("real")
    notes("forged", chained=False)
    [problem] = verify().problems
    assert "test_trail_notes id" in problem.what and "inserted, not in the chain (after seq 1)" in problem.what


def test_a_declared_table_is_pruned_after_its_own_retention(notes):
    notes("old", days_ago=40)
    notes("new", days_ago=1)
    assert {r.kind: r.days for r in trail.retention_policy()}["note"] == 30
    report = retention.prune_trail(for_real=True, pause=0)
    assert {c.kind: c.events for c in report.counts}["note"] == 1
    assert rows("SELECT note FROM test_trail_notes") == [("new",)]
    assert verify().ok


def test_the_retention_of_a_declared_table_can_be_configured(notes, settings):
    settings.AUTHLOG = {"RETENTION_DAYS": {"note": 60}}
    assert check_retention(None) == []
    assert {r.kind: r.days for r in trail.retention_policy()}["note"] == 60


def test_a_table_must_start_with_its_id_and_hold_its_time(db):
    with pytest.raises(ValueError):
        trail.register_chained_table(trail.ChainedTable(name="bad", columns=("note",), fixed_kind="x"))
