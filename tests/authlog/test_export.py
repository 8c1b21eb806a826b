"""CSV, JSON and table output of events: safe in spreadsheets, scripts and terminals (SECURITY-CASES 44-46)."""

import csv
import io
import json
import random
from dataclasses import replace
from datetime import UTC, datetime

import pytest

from authlog.events import AuthEvent
from authlog.export import (
    RECORD_FIELDS,
    csv_cell,
    csv_lines,
    csv_value_chunks,
    json_text,
    table_lines,
)

EVENT = AuthEvent(
    id=7,
    event_type="login",
    user_id=3,
    username="alice",
    ip_address="203.0.113.7",
    user_agent="Mozilla/5.0 (X11; Linux x86_64)",
    browser="Chrome 124",
    os="Linux",
    device="desktop",
    timestamp=datetime(2026, 1, 31, 12, 0, 5, 250000, tzinfo=UTC),
    reason=None,
    session_ref="0" * 64,
)


def csv_text(*events: AuthEvent) -> str:
    return "".join(csv_lines(events))


def csv_rows(*events: AuthEvent) -> list[list[str]]:
    return list(csv.reader(io.StringIO(csv_text(*events), newline="")))


def csv_record(event: AuthEvent) -> dict[str, str]:
    return dict(zip(RECORD_FIELDS, csv_rows(event)[1], strict=True))


@pytest.mark.parametrize(
    "value",
    [
        '=HYPERLINK("http://evil.example","x")',
        "+1+1",
        "-1+1",
        "@SUM(A1:A9)",
        "\t=1",
        "\r=1",
        "\n=1",
        "\uff1d1+1",
    ],
)
def test_formula_cells_get_a_leading_quote(value):
    assert csv_cell(value) == "'" + value


@pytest.mark.parametrize("value", ["alice", "Chrome 124", "203.0.113.7", "2001:db8::1", "a=b", ""])
def test_other_cells_are_unchanged(value):
    assert csv_cell(value) == value


@pytest.mark.parametrize(("value", "text"), [(None, ""), (7, "7")])
def test_none_and_numbers_become_text(value, text):
    assert csv_cell(value) == text


def test_a_formula_user_agent_is_neutralised_in_the_file():
    event = replace(EVENT, user_agent="=cmd|' /C calc'!A0")
    record = csv_record(event)
    assert record["user_agent"] == "'=cmd|' /C calc'!A0"


def test_the_header_is_the_record_fields():
    assert csv_rows()[0] == list(RECORD_FIELDS)


def test_every_field_is_quoted_and_lines_end_in_crlf():
    text = csv_text(replace(EVENT, reason=None))
    lines = text.split("\r\n")
    assert lines[-1] == ""
    for line in lines[:-1]:
        assert line.startswith('"') and line.endswith('"')
        assert line.count('","') == len(RECORD_FIELDS) - 1


def test_quotes_commas_and_line_breaks_survive_a_round_trip():
    awkward = 'Mozilla "quoted", with comma\r\nand a line break'
    record = csv_record(replace(EVENT, user_agent=awkward))
    assert record["user_agent"] == awkward


def test_a_quote_inside_a_field_is_doubled():
    assert '"say ""hi"""' in csv_text(replace(EVENT, user_agent='say "hi"'))


def test_csv_timestamp_is_iso_8601_utc():
    record = csv_record(EVENT)
    assert record["timestamp"] == "2026-01-31T12:00:05.250000Z"


def test_csv_has_one_line_per_event_after_the_header():
    assert len(csv_rows(EVENT, replace(EVENT, id=8), replace(EVENT, id=9))) == 4


def test_json_records_have_exactly_the_record_fields():
    (record,) = json.loads(json_text([EVENT]))
    assert list(record) == list(RECORD_FIELDS)


def test_json_leaves_out_the_session_reference():
    assert "0" * 64 not in json_text([EVENT])


def test_json_timestamp_ends_in_z():
    (record,) = json.loads(json_text([EVENT]))
    assert record["timestamp"] == "2026-01-31T12:00:05.250000Z"


@pytest.mark.parametrize(
    "username",
    ["</script><script>alert(1)</script>", '"><svg onload=alert(1)>', "a&b", "\u2028\u2029"],
)
def test_a_hostile_username_round_trips_through_json(username):
    (record,) = json.loads(json_text([replace(EVENT, username=username)]))
    assert record["username"] == username


@pytest.mark.parametrize("raw", ["</script>", "<svg", "&", "\u2028"])
def test_json_text_holds_no_html_significant_or_non_ascii_characters(raw):
    assert raw not in json_text([replace(EVENT, username=f"x{raw}y")])


def test_json_of_no_events_is_an_empty_list():
    assert json.loads(json_text([])) == []


def test_the_table_has_a_header_and_one_line_per_event():
    lines = list(table_lines([EVENT, replace(EVENT, id=8, event_type="logout")]))
    assert [line.split()[:2] for line in lines] == [
        ["timestamp", "event_type"],
        ["2026-01-31T12:00:05.250000Z", "login"],
        ["2026-01-31T12:00:05.250000Z", "logout"],
    ]


def test_table_columns_line_up():
    lines = list(table_lines([EVENT, replace(EVENT, username="a-much-longer-name")]))
    positions = {line.index("203.0.113.7") for line in lines[1:]}
    assert len(positions) == 1


@pytest.mark.parametrize("field", ["username", "ip_address", "browser", "os", "device", "reason"])
def test_table_cells_cannot_break_a_line(field):
    event = replace(EVENT, **{field: "x\x1b[2J\r\ny\u2028z"})
    lines = list(table_lines([event]))
    assert "\n".join(lines).splitlines() == lines


@pytest.mark.parametrize("field", ["username", "ip_address", "browser", "os", "device", "reason"])
def test_table_cells_show_control_characters_as_escapes(field):
    event = replace(EVENT, **{field: "x\x1b[2J\r\ny\u2028z"})
    assert "x\\x1b[2J\\x0d\\x0ay\\u2028z" in list(table_lines([event]))[1]


NASTY = [
    None, "", 0, 7, -1, "plain", "=1+2", "+x", "-", "@SUM(A1)", "\t=cmd", "\r=x", "\n=x", "\uff1dA1",
    'say "hi"', '"', '""', "a,b", "a\r\nb", "a\nb", "ends with,", "x\x1fy", "x\x1ey", "\x1f", "\x1e=",
    "ünïcode ✓", "'=already", " =space first",
]


@pytest.mark.parametrize("seed", range(6))
def test_csv_blocks_equal_the_csv_module_cell_by_cell(seed):
    """The block writer of the exports writes exactly what csv.writer with csv_cell writes."""
    rng = random.Random(seed)
    rows = [tuple(rng.choice(NASTY) for _ in RECORD_FIELDS) for _ in range(300)]
    # Some blocks without the separators, so the fast path runs, and some with them.
    clean = [row for row in rows if not any(isinstance(v, str) and ("\x1f" in v or "\x1e" in v) for v in row)]
    for records in (rows, clean, clean[:1], []):
        text = "".join(csv_value_chunks(records, batch=50))
        expected = io.StringIO()
        writer = csv.writer(expected, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
        writer.writerow(RECORD_FIELDS)
        writer.writerows([[csv_cell(value) for value in row] for row in records])
        assert text == expected.getvalue()
        parsed = list(csv.reader(io.StringIO(text, newline="")))
        assert parsed[1:] == [[csv_cell(value) for value in row] for row in records]
