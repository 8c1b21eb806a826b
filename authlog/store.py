"""Every SQL statement on authlog's tables (the trail, its chain, the counts); nothing else writes SQL against them."""

import re
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction

from authlog.client_ip import IPNetwork
from authlog.networks import network_key_range
from config.dbtime import as_utc, to_db_time

LOGIN, LOGOUT, LOGIN_FAILED = "login", "logout", "login_failed"
EVENT_TYPES = (LOGIN, LOGOUT, LOGIN_FAILED)


@dataclass(frozen=True)
class StoredEvent:
    """One row of either table, in the shape every reader uses."""

    id: int
    event_type: str
    user_id: int | None
    attempted_username: str | None
    ip_address: str | None
    user_agent: str | None
    browser: str | None
    os: str | None
    device: str | None
    timestamp: datetime | None
    reason: str | None
    session_ref: str | None


@dataclass(frozen=True)
class EventFilter:
    """Typed filters: every value reaches SQL as a parameter, never as text."""

    user_id: int | None = None
    attempted_username: str | None = None
    event_type: str | None = None
    ip_address: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    ip_network: IPNetwork | None = None
    browser: str | None = None
    os: str | None = None
    device: str | None = None


def insert_login_event(
    *,
    user_id: int,
    event_type: str,
    ip_address: str | None,
    user_agent: str | None,
    browser: str | None,
    os: str | None,
    device: str | None,
    session_ref: str | None,
) -> tuple[int, datetime]:
    """Insert one row of `login_logs`; return its id and database timestamp."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO login_logs (user_id, event_type, ip_address, user_agent, browser, os,"
            " device, session_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id, timestamp",
            [user_id, event_type, ip_address, user_agent, browser, os, device, session_ref],
        )
        row_id, timestamp = cursor.fetchone()
    return row_id, as_utc(timestamp)


def insert_failed_login(
    *,
    attempted_username: str,
    user_id: int | None,
    reason: str,
    ip_address: str | None,
    user_agent: str | None,
    browser: str | None,
    os: str | None,
    device: str | None,
) -> tuple[int, datetime]:
    """Insert one row of `failed_logins`; return its id and database timestamp."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO failed_logins (attempted_username, user_id, reason, ip_address,"
            " user_agent, browser, os, device) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " RETURNING id, timestamp",
            [attempted_username, user_id, reason, ip_address, user_agent, browser, os, device],
        )
        row_id, timestamp = cursor.fetchone()
    return row_id, as_utc(timestamp)


def _where(conditions: list[str]) -> str:
    return (" WHERE " + " AND ".join(conditions)) if conditions else ""


def _common_conditions(event_filter: EventFilter, params: list) -> list[str]:
    conditions = []
    if event_filter.ip_address is not None:
        conditions.append("ip_address = %s")
        params.append(event_filter.ip_address)
    if event_filter.since is not None:
        conditions.append("timestamp >= %s")
        params.append(to_db_time(event_filter.since))
    if event_filter.until is not None:
        conditions.append("timestamp < %s")
        params.append(to_db_time(event_filter.until))
    if event_filter.ip_network is not None:
        # uses ip_keys_key: the network is one range of sortable keys (authlog/networks.py)
        conditions.append(
            "ip_address IN (SELECT ip_address FROM ip_keys WHERE ip_key BETWEEN %s AND %s)"
        )
        params.extend(network_key_range(event_filter.ip_network))
    for column in ("browser", "os"):
        text = getattr(event_filter, column)
        if text is not None:
            # Case-insensitive "contains"; the person's text is matched literally.
            conditions.append(f"LOWER({column}) LIKE %s ESCAPE '\\'")
            params.append("%" + like_escape(text.lower()) + "%")
    if event_filter.device is not None:
        conditions.append("device = %s")
        params.append(event_filter.device)
    return conditions


def like_escape(text: str) -> str:
    """Return `text` with LIKE's wildcards and its escape character taken literally."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def recent_events(*, event_filter: EventFilter, limit: int) -> list[StoredEvent]:
    """Return the newest events of both tables matching the filter, newest first."""
    # uses login_logs_timestamp / failed_logins_timestamp, or the user/IP indexes
    # when those filters are set; each branch is limited before the merge.
    branches: list[str] = []
    params: list = []
    for kind, alias in ((KIND_LOGIN_LOGS, "logins"), (KIND_FAILED_LOGINS, "failures")):
        conditions = _branch_conditions(kind, event_filter, params)
        if conditions is None:
            continue
        branches.append(
            f"SELECT * FROM ({_branch_select(kind)}{_where(conditions)}"
            f" ORDER BY timestamp DESC, id DESC LIMIT %s) AS {alias}"
        )
        params.append(limit)
    if not branches:
        return []
    sql = (
        "SELECT * FROM (" + " UNION ALL ".join(branches) + ") AS events"
        # The timeline's order (time, kind, id): failures before sign-ins of the same instant.
        " ORDER BY time_key DESC, CASE WHEN event_type = 'login_failed' THEN 2 ELSE 1 END DESC,"
        " id DESC LIMIT %s"
    )
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [_stored_event(row) for row in rows]


# --- The trail's hash chain, checkpoints, operations and verifications (issue 6) ------
# Tables of authlog/migrations/0003_trail_chain.py. Table and column names come
# from the chained-table specs in authlog/trail.py (code, never input) and are
# checked against _IDENTIFIER before they reach SQL.
_IDENTIFIER = re.compile(r"[a-z_]{1,40}\Z")
_CHAIN_COLUMNS = (
    "seq, event_table, event_id, kind, {time}, ip_salt, ip_digest, name_digest,"
    " content_digest, entry_hash, key_id"
)


def _identifiers(*names: str) -> None:
    for name in names:
        if not _IDENTIFIER.match(name):
            raise ValueError(f"not a table or column name: {name!r}")


def _read_time(column: str) -> str:
    # SQLite keeps our times as text: reading them as text and parsing them with
    # datetime.fromisoformat is several times faster than Django's converter, and
    # a cursor then compares with exactly what ORDER BY compared ("10:00:00.120"
    # is not "10:00:00.12" to SQLite).
    return f"CAST({column} AS TEXT)" if connection.vendor == "sqlite" else column


def _placeholders(values: Sequence) -> str:
    return ", ".join(["%s"] * len(values))


@contextmanager
def read_snapshot() -> Iterator[None]:
    """Run the block's reads on one consistent snapshot of the database, writing nothing.

    `authlog verify` reads the chain in many statements while events keep
    arriving; one snapshot keeps a prune or an anonymisation that commits
    meanwhile from looking like tampering. PostgreSQL: a REPEATABLE READ,
    READ ONLY transaction. SQLite: a deferred transaction, which in WAL mode
    reads one snapshot and never blocks a writer (Django's atomic would BEGIN
    IMMEDIATE and take the write lock). Inside a transaction already, the
    block simply runs in it.
    """
    if connection.in_atomic_block:
        yield
        return
    if connection.vendor == "postgresql":
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
            yield
        return
    connection.ensure_connection()
    with connection.cursor() as cursor:
        cursor.execute("BEGIN DEFERRED")
    try:
        yield
    finally:
        with connection.cursor() as cursor:
            cursor.execute("COMMIT")


@dataclass(frozen=True)
class ChainEntry:
    """A row of `trail_chain`: one event's place in the chain and what its hash commits to."""

    seq: int
    event_table: str
    event_id: int
    kind: str
    event_time: datetime | None
    ip_salt: str | None
    ip_digest: str | None
    name_digest: str | None
    content_digest: str
    entry_hash: str
    # The id of the chain key it was hashed with; None: written before keys had ids
    # (then the key named by trail_head.first_key_id).
    key_id: str | None = None


def _chain_entry(row: tuple) -> ChainEntry:
    return ChainEntry(row[0], row[1], row[2], row[3], as_utc(row[4]), *row[5:])


def _locked_head(cursor, genesis_hash: str) -> tuple[int, str]:
    lock = " FOR UPDATE" if connection.vendor == "postgresql" else ""
    cursor.execute(f"SELECT seq, entry_hash FROM trail_head WHERE id = 1{lock}")
    row = cursor.fetchone()
    if row is not None:
        return row[0], row[1]
    # The head row is gone (emptied by hand): rebuild it from the chain's last entry.
    cursor.execute("SELECT seq, entry_hash FROM trail_chain ORDER BY seq DESC LIMIT 1")
    last = cursor.fetchone() or (0, genesis_hash)
    cursor.execute(
        "INSERT INTO trail_head (id, seq, entry_hash) VALUES (1, %s, %s) ON CONFLICT (id) DO NOTHING",
        list(last),
    )
    cursor.execute(f"SELECT seq, entry_hash FROM trail_head WHERE id = 1{lock}")
    row = cursor.fetchone()
    return row[0], row[1]


def lock_chain_head(*, genesis_hash: str) -> tuple[int, str]:
    """Return the chain's last (seq, entry_hash), locked until this transaction ends.

    Appends are serialised here, so two writers can never give out one seq:
    on PostgreSQL by the row lock (SELECT ... FOR UPDATE); on SQLite by the
    IMMEDIATE transaction the caller is in, which already holds the only write lock.
    """
    with connection.cursor() as cursor:
        return _locked_head(cursor, genesis_hash)


_INSERT_ENTRY = (
    "INSERT INTO trail_chain (seq, event_table, event_id, kind, event_time, ip_salt,"
    " ip_digest, name_digest, content_digest, entry_hash, key_id)"
    " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s, %s, %s)"
)


def _entry_params(e: ChainEntry) -> list:
    return [
        e.seq, e.event_table, e.event_id, e.kind,
        to_db_time(e.event_time) if e.event_time is not None else None,
        e.ip_salt, e.ip_digest, e.name_digest, e.content_digest, e.entry_hash, e.key_id,
    ]


def _insert_entries(cursor, entries: Sequence[ChainEntry]) -> None:
    last = entries[-1]
    if connection.vendor == "postgresql" and len(entries) == 1:
        # One round trip for the common case: the head moves in the same statement.
        cursor.execute(
            "WITH head AS (UPDATE trail_head SET seq = %s, entry_hash = %s WHERE id = 1) "
            + _INSERT_ENTRY,
            [last.seq, last.entry_hash, *_entry_params(last)],
        )
        return
    cursor.executemany(_INSERT_ENTRY, [_entry_params(e) for e in entries])
    cursor.execute(
        "UPDATE trail_head SET seq = %s, entry_hash = %s WHERE id = 1", [last.seq, last.entry_hash]
    )


def append_chain_entries(entries: Sequence[ChainEntry]) -> None:
    """Insert consecutive chain entries and move the head to the last; the head must be locked."""
    if entries:
        with connection.cursor() as cursor:
            _insert_entries(cursor, entries)


def append_chain_entry(*, seal: Callable[[int, str], ChainEntry], genesis_hash: str) -> ChainEntry:
    """Lock the head, make the next entry with `seal(seq, prev_hash)`, insert it, move the head.

    The path every event takes: one cursor, two statements on PostgreSQL
    (the locking SELECT, then the INSERT that also moves the head), three on SQLite.
    """
    with connection.cursor() as cursor:
        seq, prev_hash = _locked_head(cursor, genesis_hash)
        entry = seal(seq + 1, prev_hash)
        _insert_entries(cursor, [entry])
    return entry


def chain_head() -> tuple[int, str] | None:
    """Return the head row's (seq, entry_hash), or None if it is missing."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT seq, entry_hash FROM trail_head WHERE id = 1")
        row = cursor.fetchone()
    return (row[0], row[1]) if row else None


def first_key_id() -> str | None:
    """Return the id of the key that hashed the entries written before keys had ids (None: unknown)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT first_key_id FROM trail_head WHERE id = 1")
        row = cursor.fetchone()
    return row[0] if row else None


def _insert_trail_row(table: str, values: dict[str, object]) -> tuple[int, datetime]:
    # table and column names come from this module's callers only, never from input
    columns = ", ".join(values)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} ({columns}) VALUES ({_placeholders(values)}) RETURNING id, timestamp",
            list(values.values()),
        )
        row_id, timestamp = cursor.fetchone()
    return row_id, as_utc(timestamp)


def insert_key_change(*, key_id: str, retired: str, through_seq: int) -> tuple[int, datetime]:
    """Record a change of the chain key; return the row's id and time."""
    return _insert_trail_row(
        "trail_key_changes", {"key_id": key_id, "retired": retired, "through_seq": through_seq}
    )


def chained_key_changes() -> list[tuple[int, str, str, int]]:
    """Return (seq, new key id, retired keys' JSON, through_seq) of every chained key change, by seq."""
    # A handful of rows, joined on trail_chain's UNIQUE (event_table, event_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.seq, k.key_id, k.retired, k.through_seq FROM trail_key_changes k"
            " JOIN trail_chain c ON c.event_table = 'trail_key_changes' AND c.event_id = k.id"
            " ORDER BY c.seq"
        )
        return cursor.fetchall()


def chain_bounds() -> tuple[int | None, int | None]:
    """Return the first and last seq of the chain table (None, None when it is empty)."""
    # uses the primary key at both ends
    with connection.cursor() as cursor:
        cursor.execute("SELECT MIN(seq), MAX(seq) FROM trail_chain")
        first, last = cursor.fetchone()
    return first, last


def chain_entries(*, after_seq: int, through_seq: int, limit: int) -> list[ChainEntry]:
    """Return up to `limit` chain entries after `after_seq` and up to `through_seq`, in seq order."""
    # uses the primary key (keyset page). No upper bound in the SQL: with one,
    # PostgreSQL's estimate for a two-sided range on a table without fresh
    # statistics chose a bitmap scan and sorted the whole rest of the chain for
    # every page; ORDER BY seq LIMIT n reads n entries off the index.
    columns = _CHAIN_COLUMNS.format(time=_read_time("event_time"))
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {columns} FROM trail_chain WHERE seq > %s ORDER BY seq LIMIT %s",
            [after_seq, limit],
        )
        rows = cursor.fetchall()
    return [_chain_entry(row) for row in rows if row[0] <= through_seq]


def chain_entry(*, seq: int) -> ChainEntry | None:
    """Return the chain entry `seq`, or None."""
    columns = _CHAIN_COLUMNS.format(time=_read_time("event_time"))
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {columns} FROM trail_chain WHERE seq = %s", [seq])
        row = cursor.fetchone()
    return _chain_entry(row) if row else None


def chained_rows(*, table: str, columns: Sequence[str], time_column: str, ids: Sequence[int]) -> dict[int, tuple]:
    """Return {id: row} of the events with these ids, `columns` in order (id first)."""
    _identifiers(table, time_column, *columns)
    if not ids:
        return {}
    selected = ", ".join(_read_time(c) if c == time_column else c for c in columns)
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {selected} FROM {table} WHERE id IN ({_placeholders(ids)})", list(ids))
        return {row[0]: row for row in cursor.fetchall()}


def unchained_events(*, table: str, time_column: str, after_seq: int) -> Iterator[tuple[int, datetime | None]]:
    """Yield (id, time) of the events that have no chain entry after `after_seq`, by id."""
    _identifiers(table, time_column)
    # uses trail_chain's UNIQUE (event_table, event_id) once per event: a full
    # scan of the event table, streamed.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id, {_read_time('e.' + time_column)}"
            f" FROM {table} e WHERE NOT EXISTS (SELECT 1 FROM trail_chain c"
            " WHERE c.event_table = %s AND c.event_id = e.id AND c.seq > %s) ORDER BY e.id",
            [table, after_seq],
        )
        while rows := cursor.fetchmany(2000):
            for event_id, time in rows:
                yield event_id, as_utc(time)


def seq_before_event(*, table: str, event_id: int) -> int | None:
    """Return the seq of the chained event of `table` with the next lower id, or None."""
    # uses trail_chain's UNIQUE (event_table, event_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq FROM trail_chain WHERE event_table = %s AND event_id < %s"
            " ORDER BY event_id DESC LIMIT 1",
            [table, event_id],
        )
        row = cursor.fetchone()
    return row[0] if row else None


def chained_operations() -> list[tuple[int, str, str | None, str, datetime | None]]:
    """Return (seq, action, subject, detail, time) of every chained trail operation, by seq."""
    # trail_operations is small: one row per prune, anonymisation or user deletion.
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.seq, o.action, o.subject, o.detail, {_read_time('o.timestamp')}"
            " FROM trail_operations o JOIN trail_chain c"
            " ON c.event_table = 'trail_operations' AND c.event_id = o.id ORDER BY c.seq"
        )
        return [(seq, action, subject, detail, as_utc(time)) for seq, action, subject, detail, time in cursor.fetchall()]


def insert_trail_operation(*, action: str, subject: str | None, detail: str) -> tuple[int, datetime]:
    """Insert one row of `trail_operations`; return its id and database timestamp."""
    return _insert_trail_row("trail_operations", {"action": action, "subject": subject, "detail": detail})


def last_operation_time(*, action: str) -> datetime | None:
    """Return when the newest operation of this kind was recorded."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(timestamp) FROM trail_operations WHERE action = %s", [action])
        (time,) = cursor.fetchone()
    return as_utc(time)


def insert_checkpoint(*, kind: str, seq: int, document: str) -> None:
    """Store a signed checkpoint document."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trail_checkpoints (kind, seq, document) VALUES (%s, %s, %s)",
            [kind, seq, document],
        )


def checkpoint_documents(*, kind: str) -> list[tuple[int, str]]:
    """Return (seq, document) of the stored checkpoints of a kind, by seq."""
    # uses trail_checkpoints_kind_seq
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, document FROM trail_checkpoints WHERE kind = %s ORDER BY seq, id", [kind]
        )
        return cursor.fetchall()


def latest_checkpoint_document() -> tuple[str, datetime] | None:
    """Return the newest stored checkpoint of either kind and when it was stored."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT document, created_at FROM trail_checkpoints ORDER BY id DESC LIMIT 1"
        )
        row = cursor.fetchone()
    return (row[0], as_utc(row[1])) if row else None


@dataclass(frozen=True)
class VerificationRow:
    """A row of `trail_verifications`: the outcome of one `authlog verify` run."""

    started_at: datetime
    finished_at: datetime
    ok: bool
    from_seq: int
    head_seq: int
    head_hash: str
    checked: int
    problems: int
    first_problem: str | None


def insert_verification(row: VerificationRow) -> None:
    """Record the outcome of a verification run."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO trail_verifications (started_at, finished_at, ok, from_seq, head_seq,"
            " head_hash, checked, problems, first_problem)"
            " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
            [
                to_db_time(row.started_at), to_db_time(row.finished_at), row.ok, row.from_seq,
                row.head_seq, row.head_hash, row.checked, row.problems, row.first_problem,
            ],
        )


def latest_verification() -> VerificationRow | None:
    """Return the newest verification run, or None."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT started_at, finished_at, ok, from_seq, head_seq, head_hash, checked,"
            " problems, first_problem FROM trail_verifications ORDER BY id DESC LIMIT 1"
        )
        row = cursor.fetchone()
    if row is None:
        return None
    return VerificationRow(as_utc(row[0]), as_utc(row[1]), bool(row[2]), *row[3:])


# Retention and privacy (authlog/retention.py): every statement touches one batch.


def expired_event_ids(
    *,
    table: str,
    time_column: str,
    kind_column: str | None,
    kind: str | None,
    before: datetime,
    through_seq: int,
    limit: int,
) -> list[int]:
    """Return up to `limit` ids of chained events of `kind` older than `before`, oldest first.

    Only events chained at or before `through_seq` are returned: a prune
    removes exactly what its recorded rule covers (a row that is not in the
    chain is left for `authlog verify` to report).
    """
    _identifiers(table, time_column, *([kind_column] if kind_column else []))
    where, params = f"e.{time_column} < %s", [to_db_time(before)]
    if kind_column:
        where += f" AND e.{kind_column} = %s"
        params.append(kind)
    params.extend([table, through_seq, limit])
    # uses <table>_timestamp (timestamp, id), then trail_chain's UNIQUE (event_table, event_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT e.id FROM {table} e WHERE {where} AND EXISTS (SELECT 1 FROM trail_chain c"
            " WHERE c.event_table = %s AND c.event_id = e.id AND c.seq <= %s)"
            f" ORDER BY e.{time_column}, e.id LIMIT %s",
            params,
        )
        return [row[0] for row in cursor.fetchall()]


def count_expired_events(
    *, table: str, time_column: str, kind_column: str | None, kind: str | None, before: datetime
) -> int:
    """Return how many events of `kind` are older than `before`."""
    _identifiers(table, time_column, *([kind_column] if kind_column else []))
    where, params = f"{time_column} < %s", [to_db_time(before)]
    if kind_column:
        where += f" AND {kind_column} = %s"
        params.append(kind)
    # uses <table>_timestamp (timestamp, id)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT COUNT(*) FROM {table} WHERE {where}", params)
        return cursor.fetchone()[0]


def delete_events(*, table: str, ids: Sequence[int]) -> int:
    """Delete these events; return how many rows went."""
    _identifiers(table)
    if not ids:
        return 0
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(f"DELETE FROM {table} WHERE id IN ({_placeholders(ids)})", list(ids))
        return cursor.rowcount


def forget_chain_digests(*, table: str, ids: Sequence[int]) -> None:
    """Drop the salts and digests of events that are gone; their entries still verify."""
    if not ids:
        return
    # uses trail_chain's UNIQUE (event_table, event_id)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE trail_chain SET ip_salt = NULL, ip_digest = NULL, name_digest = NULL"
            f" WHERE event_table = %s AND event_id IN ({_placeholders(ids)})",
            [table, *ids],
        )


def chain_prefix_entries(*, after_seq: int, limit: int) -> list[tuple[int, str, int]]:
    """Return (seq, event_table, event_id) of the chain's entries after `after_seq`, by seq."""
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, event_table, event_id FROM trail_chain WHERE seq > %s ORDER BY seq LIMIT %s",
            [after_seq, limit],
        )
        return cursor.fetchall()


def existing_event_ids(*, table: str, ids: Sequence[int]) -> set[int]:
    """Return the ids among `ids` that still have a row in `table`."""
    _identifiers(table)
    if not ids:
        return set()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE id IN ({_placeholders(ids)})", list(ids))
        return {row[0] for row in cursor.fetchall()}


def delete_chain_prefix(*, through_seq: int, limit: int) -> int:
    """Delete up to `limit` of the oldest chain entries with seq <= `through_seq`; return how many."""
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM trail_chain WHERE seq IN (SELECT seq FROM trail_chain WHERE seq <= %s"
            " ORDER BY seq LIMIT %s)",
            [through_seq, limit],
        )
        return cursor.rowcount


def ip_pending_entries(*, before: datetime, through_seq: int, limit: int) -> list[tuple[int, str, int]]:
    """Return (seq, event_table, event_id) of entries whose full address is still kept, oldest first."""
    # uses trail_chain_ip_pending (partial: only the entries that still have a salt)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT seq, event_table, event_id FROM trail_chain WHERE ip_salt IS NOT NULL"
            " AND event_time < %s AND seq <= %s ORDER BY event_time, seq LIMIT %s",
            [to_db_time(before), through_seq, limit],
        )
        return cursor.fetchall()


def count_ip_pending(*, before: datetime) -> int:
    """Return how many chained events older than `before` still keep their full address."""
    # uses trail_chain_ip_pending
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM trail_chain WHERE ip_salt IS NOT NULL AND event_time < %s",
            [to_db_time(before)],
        )
        return cursor.fetchone()[0]


def event_addresses(*, table: str, ip_column: str, ids: Sequence[int]) -> dict[int, str | None]:
    """Return {id: address} of these events."""
    _identifiers(table, ip_column)
    if not ids:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT id, {ip_column} FROM {table} WHERE id IN ({_placeholders(ids)})", list(ids)
        )
        return dict(cursor.fetchall())


def replace_event_addresses(*, table: str, ip_column: str, addresses: Sequence[tuple[str | None, int]]) -> None:
    """Set each event's address to the given (anonymised) value: [(address, id), ...]."""
    _identifiers(table, ip_column)
    with connection.cursor() as cursor:
        cursor.executemany(f"UPDATE {table} SET {ip_column} = %s WHERE id = %s", list(addresses))


def forget_ip_salts(*, seqs: Sequence[int]) -> None:
    """Delete the salts of these entries: their address digests can no longer be tested."""
    if not seqs:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE trail_chain SET ip_salt = NULL WHERE seq IN ({_placeholders(seqs)})", list(seqs)
        )


def chain_seqs_of_user(*, table: str, user_column: str, user_id: int) -> list[int]:
    """Return the seqs of the chained events of one user in `table`, in order."""
    _identifiers(table, user_column)
    # uses <table>_user_timestamp, then trail_chain's UNIQUE (event_table, event_id)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.seq FROM {table} e JOIN trail_chain c ON c.event_table = %s"
            f" AND c.event_id = e.id WHERE e.{user_column} = %s ORDER BY c.seq",
            [table, user_id],
        )
        return [row[0] for row in cursor.fetchall()]


def event_ids_of_user(*, table: str, user_column: str, user_id: int) -> list[int]:
    """Return the ids of one user's events in `table`."""
    _identifiers(table, user_column)
    # uses <table>_user_timestamp
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id FROM {table} WHERE {user_column} = %s ORDER BY id", [user_id])
        return [row[0] for row in cursor.fetchall()]


def rename_user_names(*, table: str, name_column: str, user_column: str, user_id: int, name: str) -> int:
    """Record a deleted user's rows of a chained table under `name`; return how many rows changed."""
    _identifiers(table, name_column, user_column)
    # failed_logins: uses failed_logins_user_timestamp; guard's tables are small
    with connection.cursor() as cursor:
        cursor.execute(
            f"UPDATE {table} SET {name_column} = %s WHERE {user_column} = %s", [name, user_id]
        )
        return cursor.rowcount


def unchained_event_page(
    *, table: str, columns: Sequence[str], time_column: str, after: tuple | None, limit: int
) -> list[tuple]:
    """Return up to `limit` timed events without a chain entry, by (time, id).

    Each row is `columns` in order followed by the time as the database keeps
    it, which is the keyset cursor `after` of the next page.
    """
    _identifiers(table, time_column, *columns)
    selected = ", ".join(
        _read_time(f"e.{c}") if c == time_column else f"e.{c}" for c in columns
    )
    raw_time = _read_time(f"e.{time_column}")
    conditions = [
        f"e.{time_column} IS NOT NULL",
        "NOT EXISTS (SELECT 1 FROM trail_chain c WHERE c.event_table = %s AND c.event_id = e.id)",
    ]
    params: list = [table]
    if after is not None:
        # A row comparison: both databases read it as a range of the (timestamp, id) index.
        conditions.append(f"(e.{time_column}, e.id) > (%s, %s)")
        params.extend([after[0], after[1]])
    params.append(limit)
    # uses <table>_timestamp (timestamp, id); run by the backfill only (migration, bench)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {selected}, {raw_time} FROM {table} e WHERE {' AND '.join(conditions)}"
            f" ORDER BY e.{time_column}, e.id LIMIT %s",
            params,
        )
        return cursor.fetchall()


# --- Read functions of the dashboard (issue 4) ----------------------------------------
# Timeline order is (timestamp, kind, id), newest first: `kind` tells the two
# tables apart when a sign-in and a failure share a timestamp, so a keyset
# cursor names one position exactly and pages stay put while events arrive.
KIND_LOGIN_LOGS, KIND_FAILED_LOGINS = 1, 2
TIMELINE_KINDS = (KIND_LOGIN_LOGS, KIND_FAILED_LOGINS)


@dataclass(frozen=True)
class TimelineKey:
    """A row's place in the timeline; `time` is the database's own value (text on SQLite)."""

    time: str | datetime
    kind: int
    id: int


def _branch_select(kind: int) -> str:
    # The time is named time_key, not timestamp: an ORDER BY timestamp must
    # still mean the indexed column, not this expression.
    time = _read_time("timestamp")
    if kind == KIND_LOGIN_LOGS:
        return (
            "SELECT id, event_type, user_id, NULL AS attempted_username, ip_address, user_agent,"
            f" browser, os, device, {time} AS time_key, NULL AS reason, session_ref FROM login_logs"
        )
    return (
        "SELECT id, 'login_failed' AS event_type, user_id, attempted_username, ip_address,"
        f" user_agent, browser, os, device, {time} AS time_key, reason, NULL AS session_ref"
        " FROM failed_logins"
    )


def _branch_conditions(kind: int, event_filter: EventFilter, params: list) -> list[str] | None:
    """Return the WHERE conditions of one table for the filter, or None if it has no rows to give."""
    wanted = {event_filter.event_type} if event_filter.event_type else set(EVENT_TYPES)
    if kind == KIND_LOGIN_LOGS:
        login_types = sorted(wanted & {LOGIN, LOGOUT})
        if not login_types or (
            event_filter.user_id is None and event_filter.attempted_username is not None
        ):
            # A name of no account has failures only.
            return None
        conditions = _common_conditions(event_filter, params)
        if len(login_types) == 1:
            conditions.append("event_type = %s")
            params.append(login_types[0])
        if event_filter.user_id is not None:
            conditions.append("user_id = %s")
            params.append(event_filter.user_id)
        return conditions
    if LOGIN_FAILED not in wanted:
        return None
    conditions = _common_conditions(event_filter, params)
    subject = []
    if event_filter.user_id is not None:
        subject.append("user_id = %s")
        params.append(event_filter.user_id)
    if event_filter.attempted_username is not None:
        subject.append("attempted_username = %s")
        params.append(event_filter.attempted_username)
    if subject:
        conditions.append("(" + " OR ".join(subject) + ")")
    return conditions


# A network filter with at least this many known addresses is "wide": probing
# each address's index costs more than reading the newest rows and testing
# them (the /16 of the 10M-event bench: 9,700 addresses, 17 ms against 5 ms).
_WIDE_NETWORK_ADDRESSES = 2_000
# How many of the newest rows a wide network's page reads before it probes instead.
_NETWORK_SCAN_ROWS = 2_000


def timeline_tuples(
    *, kind: int, event_filter: EventFilter, before: TimelineKey | None, limit: int
) -> list[tuple]:
    """Return up to `limit` raw rows (the columns of StoredEvent) of one table after `before`."""
    # uses login_logs_timestamp / failed_logins_timestamp (timestamp, id) read
    # backwards, or the (user_id|ip_address|attempted_username, timestamp, id)
    # index when that filter is set.
    network = event_filter.ip_network
    # Pages only: an export's 5,000-row chunks would not fit in the scan.
    if network is not None and limit * 4 <= _NETWORK_SCAN_ROWS and _is_wide(network):
        # The newest rows first: if they hold a page, it is exactly the page
        # (every row after `before` that is not among them is older). Bounded:
        # a wide network with few events falls back to probing its addresses.
        rows = _timeline_query(
            kind, replace(event_filter, ip_network=None), before, limit, scan_within=network
        )
        if len(rows) >= limit:
            return rows
    return _timeline_query(kind, event_filter, before, limit)


def _is_wide(network: IPNetwork) -> bool:
    # uses ip_keys_key; stops counting at the threshold
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM ip_keys WHERE ip_key BETWEEN %s AND %s LIMIT %s)"
            " AS known",
            [*network_key_range(network), _WIDE_NETWORK_ADDRESSES],
        )
        return cursor.fetchone()[0] >= _WIDE_NETWORK_ADDRESSES


def _timeline_query(
    kind: int,
    event_filter: EventFilter,
    before: TimelineKey | None,
    limit: int,
    scan_within: IPNetwork | None = None,
) -> list[tuple]:
    params: list = []
    conditions = _branch_conditions(kind, event_filter, params)
    if conditions is None:
        return []
    # Rows written with an explicit NULL time (the seed's raw INSERT could) have no place in the order.
    conditions.append("timestamp IS NOT NULL")
    if before is not None:
        if kind < before.kind:
            conditions.append("timestamp <= %s")
            params.append(before.time)
        elif kind > before.kind:
            conditions.append("timestamp < %s")
            params.append(before.time)
        else:
            conditions.append("timestamp <= %s AND (timestamp < %s OR id < %s)")
            params.extend([before.time, before.time, before.id])
    sql = f"{_branch_select(kind)}{_where(conditions)} ORDER BY timestamp DESC, id DESC LIMIT %s"
    if scan_within is None:
        params.append(limit)
    else:
        # uses the (timestamp, id) index for the newest rows, ip_keys_key for the network
        sql = (
            f"SELECT * FROM ({sql}) AS newest WHERE ip_address IN"
            " (SELECT ip_address FROM ip_keys WHERE ip_key BETWEEN %s AND %s)"
            " ORDER BY time_key DESC, id DESC LIMIT %s"
        )
        params.extend([_NETWORK_SCAN_ROWS, *network_key_range(scan_within), limit])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def timeline_rows(
    *, kind: int, event_filter: EventFilter, before: TimelineKey | None, limit: int
) -> list[tuple[TimelineKey, StoredEvent]]:
    """Return up to `limit` rows of one table that come after `before` in timeline order."""
    rows = timeline_tuples(kind=kind, event_filter=event_filter, before=before, limit=limit)
    return [(TimelineKey(time=row[9], kind=kind, id=row[0]), _stored_event(row)) for row in rows]


def _stored_event(row: tuple) -> StoredEvent:
    return StoredEvent(
        id=row[0],
        event_type=row[1],
        user_id=row[2],
        attempted_username=row[3],
        ip_address=row[4],
        user_agent=row[5],
        browser=row[6],
        os=row[7],
        device=row[8],
        timestamp=as_utc(row[9]),
        reason=row[10],
        session_ref=row[11],
    )


def session_events(*, session_refs: list[str], event_type: str) -> list[StoredEvent]:
    """Return the sign-ins (or sign-outs) of these sessions."""
    if not session_refs or event_type not in (LOGIN, LOGOUT):
        return []
    placeholders = _placeholders(session_refs)
    # uses login_logs_session_ref
    with connection.cursor() as cursor:
        cursor.execute(
            f"{_branch_select(KIND_LOGIN_LOGS)} WHERE session_ref IN ({placeholders})"
            " AND event_type = %s",
            [*session_refs, event_type],
        )
        return [_stored_event(row) for row in cursor.fetchall()]


@dataclass(frozen=True)
class UsageRow:
    """How often something (an address, a device, an account) appears, and when last."""

    key: tuple
    count: int
    first_seen: datetime | None
    last_seen: datetime | None


# Drill-downs group at most this many of the newest rows of one user or address,
# so a page costs the same for an address with ten events and one with ten million.
# Each row is a table read: 10,000 cost the busiest user of the 10M-event bench
# 55 ms of a 60 ms page (issue 4), 2,000 cost 8 ms (bench/bench_dashboard.py).
DRILL_DOWN_WINDOW = 2_000

# Column groups a drill-down may ask for: GROUP BY names come from here only.
_USAGE_GROUPS = {
    "ip": "ip_address",
    "device": "browser, os, device",
    "user": "user_id",
    "attempted": "attempted_username, user_id",
}


def _usage(table: str, group: str, where: str, params: list, limit: int) -> list[UsageRow]:
    columns = _USAGE_GROUPS[group]
    time = _read_time("timestamp")
    sql = (
        f"SELECT {columns}, COUNT(*), MIN({time}), MAX({time}) FROM ("
        # Only the grouped columns: a whole row would copy every user agent into the sorter.
        f" SELECT {columns}, timestamp FROM {table} WHERE {where} AND timestamp IS NOT NULL"
        " ORDER BY timestamp DESC, id DESC LIMIT %s) AS recent"
        f" GROUP BY {columns} ORDER BY MAX(timestamp) DESC LIMIT %s"
    )
    width = len(columns.split(","))
    with connection.cursor() as cursor:
        cursor.execute(sql, [*params, DRILL_DOWN_WINDOW, limit])
        return [
            UsageRow(
                key=tuple(row[:width]),
                count=row[width],
                first_seen=as_utc(row[width + 1]),
                last_seen=as_utc(row[width + 2]),
            )
            for row in cursor.fetchall()
        ]


def addresses_of_user(*, user_id: int, limit: int) -> list[UsageRow]:
    """Return the addresses a user signed in or out from, most recent first (key: (ip,))."""
    # uses login_logs_user_timestamp
    return _usage("login_logs", "ip", "user_id = %s", [user_id], limit)


def devices_of_user(*, user_id: int, limit: int) -> list[UsageRow]:
    """Return the browser, system and device a user signed in with, most recent first."""
    # uses login_logs_user_timestamp
    return _usage("login_logs", "device", "user_id = %s AND event_type = 'login'", [user_id], limit)


def accounts_signed_in_from(*, ip_address: str, limit: int) -> list[UsageRow]:
    """Return the accounts that signed in from an address (key: (user_id,))."""
    # uses login_logs_ip_timestamp
    return _usage(
        "login_logs", "user", "ip_address = %s AND event_type = 'login'", [ip_address], limit
    )


def names_tried_from(*, ip_address: str, limit: int) -> list[UsageRow]:
    """Return the names whose sign-in failed from an address (key: (name, user_id))."""
    # uses failed_logins_ip_timestamp
    return _usage("failed_logins", "attempted", "ip_address = %s", [ip_address], limit)


# --- Chart counts (authlog/aggregates.py keeps them) -----------------------------------


def _hour_value(at: datetime) -> str | datetime:
    # SQLite: fixed-width UTC text, which sorts and compares like the time it names.
    utc = at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    return utc.strftime("%Y-%m-%d %H:00:00") if connection.vendor == "sqlite" else utc


def _day_value(day: date) -> str | date:
    return day.isoformat() if connection.vendor == "sqlite" else day



# The counters kept for the charts: table -> its key columns (an allow-list:
# table and column names reach SQL only from here).
_COUNTER_KEYS = {
    "event_counts": ("hour", "event_type"),
    "failure_ip_days": ("day", "ip_address"),
    "session_duration_days": ("day", "bucket"),
}


def _add_one(table: str, key: tuple) -> tuple[str, list]:
    # uses the primary key on the key columns: one upsert, no read
    columns = _COUNTER_KEYS[table]
    names = ", ".join(columns)
    return (
        f"INSERT INTO {table} ({names}, n) VALUES (%s, %s, 1)"
        f" ON CONFLICT ({names}) DO UPDATE SET n = {table}.n + 1",
        list(key),
    )


def _remember_ip_key(ip_address: str, ip_key: str) -> tuple[str, list]:
    # uses the primary key; an address seen before costs one index probe
    return (
        "INSERT INTO ip_keys (ip_address, ip_key) VALUES (%s, %s) ON CONFLICT (ip_address) DO NOTHING",
        [ip_address, ip_key],
    )


def remember_ip_key(*, ip_address: str, ip_key: str) -> None:
    """Keep the sortable key of an address (once; an address kept before is left as it is)."""
    with connection.cursor() as cursor:
        cursor.execute(*_remember_ip_key(ip_address, ip_key))


def add_event_counts(
    *,
    event_type: str,
    at: datetime,
    ip_address: str | None = None,
    ip_key: str | None = None,
    ip_failure: bool = False,
    duration_bucket: int | None = None,
) -> None:
    """Add one event to every chart count it belongs to.

    Its hour's count of its type; its address's sortable key (`ip_key`, kept
    once); with `ip_failure`, the address's failures of the day; with
    `duration_bucket`, the sessions ended that day in that bucket. One statement on PostgreSQL (each upsert a data-modifying WITH: one round
    trip instead of up to four), one per count on SQLite (which has no
    data-modifying WITH; its statements cost no round trip).
    """
    day = _day_value(at.astimezone(UTC).date())
    statements = [_add_one("event_counts", (_hour_value(at), event_type))]
    if ip_address is not None and ip_key is not None:
        statements.append(_remember_ip_key(ip_address, ip_key))
    if ip_failure and ip_address:
        statements.append(_add_one("failure_ip_days", (day, ip_address)))
    if duration_bucket is not None:
        statements.append(_add_one("session_duration_days", (day, duration_bucket)))
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # Different tables: no row is changed twice by the one statement.
            *first, (last_sql, last_params) = statements
            ctes = ", ".join(f"c{i} AS ({sql})" for i, (sql, _params) in enumerate(first))
            params = [value for _sql, values in first for value in values] + last_params
            cursor.execute(f"WITH {ctes} {last_sql}" if first else last_sql, params)
            return
        for sql, params in statements:
            cursor.execute(sql, params)


def login_time_of_session(*, session_ref: str) -> datetime | None:
    """Return when the session with this reference signed in, or None."""
    # uses login_logs_session_ref
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_read_time('timestamp')} FROM login_logs WHERE session_ref = %s"
            " AND event_type = 'login' ORDER BY timestamp, id LIMIT 1",
            [session_ref],
        )
        row = cursor.fetchone()
    return as_utc(row[0]) if row else None


def hourly_counts(*, since: datetime) -> list[tuple[datetime, str, int]]:
    """Return (hour, event type, count) for every hour from `since`'s hour on."""
    # uses the primary key of event_counts (hour, event_type)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT hour, event_type, n FROM event_counts WHERE hour >= %s ORDER BY hour",
            [_hour_value(since)],
        )
        return [(as_utc(hour), event_type, n) for hour, event_type, n in cursor.fetchall()]


def daily_counts(*, since: date) -> list[tuple[date, str, int]]:
    """Return (UTC day, event type, count) for every day from `since` on."""
    # uses the primary key of event_counts (hour, event_type); summed in SQL, so
    # 90 days are 270 rows to Python rather than 6,480 hours to parse.
    day = "substr(hour, 1, 10)" if connection.vendor == "sqlite" else "(hour AT TIME ZONE 'UTC')::date"
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {day}, event_type, SUM(n) FROM event_counts WHERE hour >= %s"
            f" GROUP BY {day}, event_type",
            [_hour_value(datetime(since.year, since.month, since.day, tzinfo=UTC))],
        )
        return [
            (date.fromisoformat(day) if isinstance(day, str) else day, event_type, int(n))
            for day, event_type, n in cursor.fetchall()
        ]


# More (address, day) pairs than this to probe (failures spread thin, or days
# stamped in the future): sum every address of the period instead.
_MAX_TOP_PROBES = 20_000


def top_failing_addresses(*, since: date, limit: int) -> list[tuple[str, int]]:
    """Return the addresses with the most failed sign-ins from day `since` on, most first.

    Exact, without summing every address of the period (90 days are ~125,000
    rows at 10M events, 45 ms to group on SQLite). The busiest addresses of
    the period's last week are summed first: the limit-th best of their
    totals is a `floor` the answer reaches. An address whose total reaches
    the floor failed at least floor/days times on one of the days, so only
    addresses with such a day are summed, each by probing its (day, address)
    keys. When failures are spread thin the floor is low and this sums every
    address, as a plain GROUP BY would.
    """
    since_value = _day_value(since)
    # uses the primary key of failure_ip_days (day, ip_address), which holds n
    with connection.cursor() as cursor:
        cursor.execute("SELECT MAX(day) FROM failure_ip_days WHERE day >= %s", [since_value])
        last_day = cursor.fetchone()[0]
        if last_day is None:
            return []
        if isinstance(last_day, str):
            last_day = date.fromisoformat(last_day)
        days = max((last_day - since).days + 1, 1)
        day_values = [_day_value(since + timedelta(days=n)) for n in range(days)]
        last_week = max(since, last_day - timedelta(days=6))
        seeds = _busiest_addresses(cursor, last_week, (last_day - last_week).days + 1, 2 * limit)
        if len(seeds) < limit:
            seeds = _busiest_addresses(cursor, since, days, 2 * limit)
        seed_totals = sorted((n for _, n in _probed_totals(cursor, day_values, seeds) or []), reverse=True)
        floor = seed_totals[limit - 1] if len(seed_totals) >= limit else 0
        # Left out: addresses below `threshold` every day, so below the floor in all.
        threshold = -(-floor // days)
        candidates: list[str] = []
        if threshold > 1:
            cursor.execute(
                "SELECT DISTINCT ip_address FROM failure_ip_days WHERE day >= %s AND n >= %s",
                [since_value, threshold],
            )
            candidates = [row[0] for row in cursor.fetchall()]
        totals = _probed_totals(cursor, day_values, candidates)
        if totals is None:
            cursor.execute(
                "SELECT ip_address, SUM(n) FROM failure_ip_days WHERE day >= %s GROUP BY ip_address",
                [since_value],
            )
            totals = [(ip, int(n)) for ip, n in cursor.fetchall()]
    totals.sort(key=lambda item: (-item[1], item[0]))
    return totals[:limit]


def _busiest_addresses(cursor, since: date, days: int, count: int) -> list[str]:
    # The rows with the most failures from `since` on: an address has one row a
    # day, so `count` rows per day of the period name at least `count` addresses.
    cursor.execute(
        "SELECT ip_address FROM failure_ip_days WHERE day >= %s ORDER BY n DESC LIMIT %s",
        [_day_value(since), count * days],
    )
    return list(dict.fromkeys(row[0] for row in cursor.fetchall()))[:count]


def _probed_totals(cursor, day_values: list, addresses: list[str]) -> list[tuple[str, int]] | None:
    """Return the addresses' failures summed over these days, or None when that is too many probes."""
    if not addresses or len(addresses) * len(day_values) > _MAX_TOP_PROBES:
        return None
    # Every (day, address) pair named: one primary-key probe each (1 ms for 12
    # addresses over 90 days, where a range of days is a scan of all addresses).
    cursor.execute(
        f"SELECT ip_address, SUM(n) FROM failure_ip_days WHERE day IN ({_placeholders(day_values)})"
        f" AND ip_address IN ({_placeholders(addresses)}) GROUP BY ip_address",
        [*day_values, *addresses],
    )
    return [(ip, int(n)) for ip, n in cursor.fetchall()]


def duration_counts(*, since: date) -> dict[int, int]:
    """Return {bucket: sessions} for sessions that ended from day `since` on."""
    # uses the primary key of session_duration_days (day, bucket)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT bucket, SUM(n) FROM session_duration_days WHERE day >= %s GROUP BY bucket",
            [_day_value(since)],
        )
        return {bucket: int(n) for bucket, n in cursor.fetchall()}


# --- Retention of the chart counts and address keys (authlog/aggregates.py) ----------------


def failure_ip_day_page(
    *, before_day: date, after: tuple[object, str] | None, limit: int
) -> list[tuple[object, str, int]]:
    """Return (day, address, n) rows of days before `before_day`, after the key `after`, in key order."""
    params: list = [_day_value(before_day)]
    condition = "day < %s"
    if after is not None:
        # Row values: one range of the primary key (day, ip_address) on SQLite and PostgreSQL.
        condition += " AND (day, ip_address) > (%s, %s)"
        params += list(after)
    # uses the primary key of failure_ip_days (day, ip_address)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT day, ip_address, n FROM failure_ip_days WHERE {condition}"
            " ORDER BY day, ip_address LIMIT %s",
            [*params, limit],
        )
        return [(day, ip, int(n)) for day, ip, n in cursor.fetchall()]


def move_failure_ip_days(*, moves: Sequence[tuple[object, str, str, int]]) -> None:
    """Move each (day, address) count onto (day, new address), adding to a count already there."""
    if not moves:
        return
    with connection.cursor() as cursor:
        # uses the primary key of failure_ip_days: an upsert, then the old row goes
        cursor.executemany(
            "INSERT INTO failure_ip_days (day, ip_address, n) VALUES (%s, %s, %s)"
            " ON CONFLICT (day, ip_address) DO UPDATE SET n = failure_ip_days.n + excluded.n",
            [(day, new, n) for day, _old, new, n in moves],
        )
        cursor.executemany(
            "DELETE FROM failure_ip_days WHERE day = %s AND ip_address = %s",
            [(day, old) for day, old, _new, _n in moves],
        )


def delete_failure_ip_days(*, before_day: date, limit: int) -> int:
    """Delete at most `limit` counts of days before `before_day`; return how many went."""
    # uses the primary key of failure_ip_days (day, ip_address): a range of its first column
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM failure_ip_days WHERE (day, ip_address) IN (SELECT day, ip_address"
            " FROM failure_ip_days WHERE day < %s ORDER BY day, ip_address LIMIT %s)",
            [_day_value(before_day), limit],
        )
        return cursor.rowcount


def subtract_ip_failures(
    *, counts: Sequence[tuple[date, str, int]], fallback: Callable[[str], str | None]
) -> None:
    """Take erased failures off their (day, address) counts (else off (day, fallback(address))); drop zeros."""
    with connection.cursor() as cursor:
        for day, ip, n in counts:
            # uses the primary key of failure_ip_days
            for address in dict.fromkeys([ip, fallback(ip)]):
                cursor.execute(
                    "UPDATE failure_ip_days SET n = n - %s WHERE day = %s AND ip_address = %s",
                    [n, _day_value(day), address],
                )
                if cursor.rowcount:
                    cursor.execute(
                        "DELETE FROM failure_ip_days WHERE day = %s AND ip_address = %s AND n <= 0",
                        [_day_value(day), address],
                    )
                    break


def ip_key_page(*, after: str | None, limit: int) -> list[str]:
    """Return addresses of ip_keys after `after`, in order."""
    # uses the primary key of ip_keys
    with connection.cursor() as cursor:
        if after is None:
            cursor.execute("SELECT ip_address FROM ip_keys ORDER BY ip_address LIMIT %s", [limit])
        else:
            cursor.execute(
                "SELECT ip_address FROM ip_keys WHERE ip_address > %s ORDER BY ip_address LIMIT %s",
                [after, limit],
            )
        return [row[0] for row in cursor.fetchall()]


def forget_unused_ip_keys(*, addresses: Sequence[str]) -> int:
    """Delete the keys of these addresses that no sign-in, sign-out or failure holds any more."""
    if not addresses:
        return 0
    # uses login_logs_ip_timestamp and failed_logins_ip_timestamp: one probe per address
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM ip_keys WHERE ip_address IN ({_placeholders(addresses)})"
            " AND NOT EXISTS (SELECT 1 FROM login_logs l WHERE l.ip_address = ip_keys.ip_address)"
            " AND NOT EXISTS (SELECT 1 FROM failed_logins f WHERE f.ip_address = ip_keys.ip_address)",
            list(addresses),
        )
        return cursor.rowcount


def failures_by_day_and_address(*, ids: Sequence[int]) -> list[tuple[date, str, int]]:
    """Return (day, address, count) of these failed sign-ins (for taking them off the counts)."""
    if not ids:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT timestamp, ip_address FROM failed_logins WHERE id IN ({_placeholders(ids)})"
            " AND ip_address IS NOT NULL AND timestamp IS NOT NULL",
            list(ids),
        )
        counts: dict[tuple[date, str], int] = {}
        for at, ip in cursor.fetchall():
            key = (as_utc(at).date(), ip)
            counts[key] = counts.get(key, 0) + 1
    return [(day, ip, n) for (day, ip), n in counts.items()]
