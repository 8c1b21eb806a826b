"""Write events as CSV, JSON or a text table, safe for spreadsheets and terminals."""

import csv
import io
import json
from collections.abc import Iterable, Iterator
from itertools import islice

from authlog.cleaning import escape_text
from authlog.events import AuthEvent

# The fields of an exported record, in order (the same for the command and the exports).
RECORD_FIELDS = (
    "id", "event_type", "user_id", "username", "ip_address", "user_agent",
    "browser", "os", "device", "timestamp", "reason",
)

# A cell starting with one of these is read as a formula by Excel, LibreOffice
# and Google Sheets (OWASP "CSV injection"); a leading quote neutralises it.
# LF joins OWASP's CR; Excel with an East Asian IME also takes the fullwidth signs.
_FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\n", "\uff1d", "\uff0b", "\uff0d", "\uff20")
# Every prefix is one character: a set lookup of the first one is the fast test.
_FORMULA_FIRST = frozenset(_FORMULA_PREFIXES)
# Escaped in JSON so that a record pasted into a <script> block cannot close it.
_HTML_SIGNIFICANT = str.maketrans({"<": "\\u003c", ">": "\\u003e", "&": "\\u0026"})


def export_record(event: AuthEvent) -> dict:
    """Return the exported fields of an event (no session reference, nothing secret)."""
    record = event.as_record()
    return {name: record[name] for name in RECORD_FIELDS}


def csv_cell(value: object) -> str:
    """Return a value as CSV text that no spreadsheet will evaluate."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in _FORMULA_FIRST else text


def csv_lines(events: Iterable[AuthEvent]) -> Iterator[str]:
    """Yield the CSV text of the events (RFC 4180, every field quoted), header first, in pieces."""
    return csv_value_chunks(tuple(export_record(event).values()) for event in events)


def csv_value_chunks(rows: Iterable[tuple], *, batch: int = 2000) -> Iterator[str]:
    """Yield the CSV header and the records (values in RECORD_FIELDS order), `batch` at a time.

    Every field is quoted (RFC 4180), quotes doubled, formula cells
    neutralised as csv_cell does. Each chunk is a few hundred kB, so the
    response makes few writes and memory stays flat.
    """
    yield _csv_block_slowly([RECORD_FIELDS])
    rows = iter(rows)
    while block := list(islice(rows, batch)):
        yield _csv_block(block)


# Stand-ins for "next field" and "next line" while a block is one string; the
# trail's text is cleaned of control characters, and a block that holds one
# anyway (a row from the seed's raw INSERT) is written by the csv module.
_FIELD, _LINE = "\x1f", "\x1e"
_NEUTRALISE = [
    (prefix, [(separator + prefix, separator + "'" + prefix) for separator in (_FIELD, _LINE)])
    for prefix in _FORMULA_PREFIXES
]


def _csv_block(block: list[tuple]) -> str:
    """Return the CSV lines of a block of records, doing per block what csv.writer does per field.

    A million-row export spent 9 of its 13 µs a row in csv.writer and
    csv_cell (issue 4); here Python touches each value once (None and
    numbers to text) and the rest is a few str.replace over the whole block.
    """
    text = _LINE.join(
        [
            _FIELD.join(["" if v is None else v if v.__class__ is str else str(v) for v in row])
            for row in block
        ]
    )
    if text.count(_FIELD) != sum(map(len, block)) - len(block) or text.count(_LINE) != len(block) - 1:
        return _csv_block_slowly(block)
    # A field starts at the block's start or right after a separator. Looking
    # for the bare character first is a memchr; most are in no block at all.
    for prefix, replacements in _NEUTRALISE:
        if prefix in text:
            for separator_prefix, neutralised in replacements:
                if separator_prefix in text:
                    text = text.replace(separator_prefix, neutralised)
    if text[:1] in _FORMULA_FIRST:
        text = "'" + text
    text = text.replace('"', '""').replace(_FIELD, '","').replace(_LINE, '"\r\n"')
    return f'"{text}"\r\n'


def _csv_block_slowly(block: list[tuple]) -> str:
    """Return the CSV lines of a block of records through the csv module, cell by cell."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, quoting=csv.QUOTE_ALL, lineterminator="\r\n")
    writer.writerows([[csv_cell(value) for value in row] for row in block])
    return buffer.getvalue()


def json_text(events: Iterable[AuthEvent]) -> str:
    """Return the events as a JSON list of records, ASCII only, with <, > and & escaped."""
    text = json.dumps([export_record(event) for event in events], ensure_ascii=True, indent=2)
    return text.translate(_HTML_SIGNIFICANT)


def table_lines(events: list[AuthEvent]) -> Iterator[str]:
    """Yield a fixed-width text table for a terminal, control characters shown as escapes."""
    columns = ("timestamp", "event_type", "username", "ip_address", "browser", "os", "device", "reason")
    # Rows are cleaned when written, but a row from the seed's own INSERT was not:
    # an ESC or a line break must not reach the terminal.
    rows = [
        [escape_text(str(export_record(event)[name] or "")) for name in columns]
        for event in events
    ]
    widths = [max([len(name)] + [len(row[i]) for row in rows]) for i, name in enumerate(columns)]
    yield "  ".join(name.ljust(width) for name, width in zip(columns, widths, strict=True)).rstrip()
    for row in rows:
        yield "  ".join(cell.ljust(width) for cell, width in zip(row, widths, strict=True)).rstrip()


def json_value_chunks(rows: Iterable[tuple], *, batch: int = 1000) -> Iterator[str]:
    """Yield a JSON list of records piece by piece (one record a line), for a streamed export.

    Each row holds the values of RECORD_FIELDS in order. The records and
    escaping are json_text's; only the white space differs.
    """
    yield "["
    separator = "\n"
    pending: list[str] = []
    for row in rows:
        pending.append(separator + json.dumps(dict(zip(RECORD_FIELDS, row, strict=True)), ensure_ascii=True))
        separator = ",\n"
        if len(pending) >= batch:
            yield "".join(pending).translate(_HTML_SIGNIFICANT)
            pending = []
    yield ("".join(pending) + "\n]\n").translate(_HTML_SIGNIFICANT)
