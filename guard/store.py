"""Every SQL statement on the guard tables; nothing else in the project writes SQL against them.

Counter times are epoch seconds passed in by the caller (an injectable
clock); alert, action and known-source times come from the database clock.
"""

import json
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from django.db import connection

from config.dbtime import as_utc, to_db_time

ALERT_OPEN, ALERT_ACKNOWLEDGED = "open", "acknowledged"

_COUNTER_COLUMNS = (
    "kind, user_ref, source_ref, label, bucket, current, previous, seen_current, seen_previous,"
    " locked_until, lockouts, expires_at"
)


@dataclass(frozen=True)
class CounterRow:
    """A row of guard_counters."""

    kind: str
    user_ref: str
    source_ref: str
    label: str
    bucket: int
    current: int
    previous: int
    seen_current: int
    seen_previous: int
    locked_until: float | None
    lockouts: int
    expires_at: float

    @property
    def id(self) -> tuple[str, str, str]:
        return (self.kind, self.user_ref, self.source_ref)


@dataclass(frozen=True)
class CounterHit:
    """One counter to increment: its key, its label, the window it counts in, when it may go."""

    kind: str
    user_ref: str
    source_ref: str
    label: str
    bucket: int
    expires_at: float


def _counter(row: tuple) -> CounterRow:
    return CounterRow(
        kind=row[0],
        user_ref=row[1],
        source_ref=row[2],
        label=row[3],
        bucket=int(row[4]),
        current=int(row[5]),
        previous=int(row[6]),
        seen_current=int(row[7]),
        seen_previous=int(row[8]),
        locked_until=None if row[9] is None else float(row[9]),
        lockouts=int(row[10]),
        expires_at=float(row[11]),
    )


def _keys_condition(keys: Sequence[tuple[str, str, str]], params: list) -> str:
    # uses the primary key (user_ref, kind, source_ref) once per key
    conditions = []
    for kind, user_ref, source_ref in keys:
        conditions.append("(user_ref = %s AND kind = %s AND source_ref = %s)")
        params.extend([user_ref, kind, source_ref])
    return "(" + " OR ".join(conditions) + ")"


def hit_counters(*, hits: Sequence[CounterHit], now: float) -> list[CounterRow]:
    """Add one failure to each counter not locked at `now`, rolling its window; return the new rows.

    One statement for every counter: each row is locked from here to the end
    of the caller's transaction, so a concurrent attempt waits for this one's
    verdict (SECURITY-CASES 39, 39b).
    """
    if not hits:
        return []
    values = ", ".join(["(%s, %s, %s, %s, %s, 1, 0, 0, 0, NULL, 0, %s)"] * len(hits))
    params: list = []
    for hit in hits:
        params.extend([hit.kind, hit.user_ref, hit.source_ref, hit.label, hit.bucket, hit.expires_at])
    # In DO UPDATE every g.column is the row before this statement, excluded.* the new values.
    # A row past its expiry that was not pruned yet counts as new (an idle counter forgotten).
    stale = "g.expires_at <= %s"
    sql = (
        f"INSERT INTO guard_counters AS g ({_COUNTER_COLUMNS}) VALUES {values}"
        " ON CONFLICT (user_ref, kind, source_ref) DO UPDATE SET"
        f" previous = CASE WHEN {stale} THEN 0 WHEN excluded.bucket <= g.bucket THEN g.previous"
        "  WHEN excluded.bucket = g.bucket + 1 THEN g.current ELSE 0 END,"
        f" seen_previous = CASE WHEN {stale} THEN 0 WHEN excluded.bucket <= g.bucket THEN g.seen_previous"
        "  WHEN excluded.bucket = g.bucket + 1 THEN g.seen_current ELSE 0 END,"
        f" current = CASE WHEN {stale} THEN 0 WHEN excluded.bucket <= g.bucket THEN g.current ELSE 0 END"
        "  + CASE WHEN g.locked_until > %s THEN 0 ELSE 1 END,"
        f" seen_current = CASE WHEN {stale} THEN 0"
        "  WHEN excluded.bucket <= g.bucket THEN g.seen_current ELSE 0 END,"
        f" lockouts = CASE WHEN {stale} THEN 0 ELSE g.lockouts END,"
        " bucket = CASE WHEN excluded.bucket > g.bucket THEN excluded.bucket ELSE g.bucket END,"
        " expires_at = CASE WHEN excluded.expires_at > g.expires_at THEN excluded.expires_at"
        "  ELSE g.expires_at END"
        f" RETURNING {_COUNTER_COLUMNS}"
    )
    # Placeholders after VALUES, in order: stale x3, locked, stale x2.
    params.extend([now, now, now, now, now, now])
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_counter(row) for row in cursor.fetchall()]


def lock_counter(
    *, key: tuple[str, str, str], until: float, lockouts: int, now: float, expires_at: float
) -> None:
    """Lock a counter until `until` and zero its counts, unless another attempt locked it first."""
    params: list = [until, lockouts, expires_at, expires_at]
    condition = _keys_condition([key], params)
    params.append(now)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE guard_counters SET locked_until = %s, lockouts = %s, current = 0, previous = 0,"
            " expires_at = CASE WHEN expires_at > %s THEN expires_at ELSE %s END"
            f" WHERE {condition} AND (locked_until IS NULL OR locked_until <= %s)",
            params,
        )


def lock_counters_in_order(*, keys: Sequence[tuple[str, str, str]]) -> None:
    """Lock these counters' rows (PostgreSQL) in the order hit_counters locks them.

    An attempt's statements each lock a group of rows; without one order over
    all of them a success settling its counters and a new attempt reserving the
    same ones deadlock (one holds the name, waits for the account; the other the
    reverse). COLLATE "C" sorts as Python sorts the keys of hit_counters.
    SQLite locks the whole database for a writer: nothing to order.
    """
    if len(keys) < 2 or connection.vendor != "postgresql":
        return
    params: list = []
    condition = _keys_condition(keys, params)
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT 1 FROM guard_counters WHERE {condition}"
            ' ORDER BY kind COLLATE "C", user_ref COLLATE "C", source_ref COLLATE "C" FOR UPDATE',
            params,
        )


def _update_counters(keys: Sequence[tuple[str, str, str]], assignments: str, params: list) -> None:
    if not keys:
        return
    condition = _keys_condition(keys, params)
    with connection.cursor() as cursor:
        cursor.execute(f"UPDATE guard_counters SET {assignments} WHERE {condition}", params)


def undo_counters(*, keys: Sequence[tuple[str, str, str]], unseen: bool) -> None:
    """Take one failure (and, if `unseen`, one distinct pair) back from each counter."""
    _update_counters(
        keys,
        "current = CASE WHEN current > 0 THEN current - 1 ELSE 0 END,"
        " seen_current = CASE WHEN %s AND seen_current > 0 THEN seen_current - 1"
        " ELSE seen_current END",
        [unseen],
    )


def count_seen(*, keys: Sequence[tuple[str, str, str]]) -> None:
    """Count one more distinct pair on each counter."""
    _update_counters(keys, "seen_current = seen_current + 1", [])


def reset_counters(*, keys: Sequence[tuple[str, str, str]]) -> None:
    """Forget the counts, lock and lockouts of each counter (a successful sign-in)."""
    _update_counters(
        keys, "current = 0, previous = 0, locked_until = NULL, lockouts = 0", []
    )


def counters_by_key(*, keys: Sequence[tuple[str, str, str]]) -> dict[tuple[str, str, str], CounterRow]:
    """Return the stored rows of these keys, by key."""
    if not keys:
        return {}
    params: list = []
    condition = _keys_condition(keys, params)
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_COUNTER_COLUMNS} FROM guard_counters WHERE {condition}", params)
        rows = [_counter(row) for row in cursor.fetchall()]
    return {row.id: row for row in rows}


def stored_counters(
    *, now: float, locked_only: bool, user_ref: str | None, source_ref: str | None, limit: int
) -> list[CounterRow]:
    """Return counters (locked first, then the most recently counted), at most `limit`."""
    conditions = ["expires_at > %s"]
    params: list = [now]
    if locked_only:
        # uses guard_counters_locked
        conditions.append("locked_until IS NOT NULL AND locked_until > %s")
        params.append(now)
    if user_ref is not None:
        # uses the primary key's first column
        conditions.append("user_ref = %s")
        params.append(user_ref)
    if source_ref is not None:
        conditions.append("source_ref = %s")
        params.append(source_ref)
    params.extend([now, limit])
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COUNTER_COLUMNS} FROM guard_counters WHERE {' AND '.join(conditions)}"
            " ORDER BY CASE WHEN locked_until > %s THEN 0 ELSE 1 END, expires_at DESC,"
            " user_ref, kind, source_ref LIMIT %s",
            params,
        )
        return [_counter(row) for row in cursor.fetchall()]


def delete_counters(
    *, user_ref: str | None = None, source_ref: str | None = None, everything: bool = False
) -> int:
    """Delete the counters of a name, of a network or device, or every counter; return how many."""
    if everything:
        sql, params = "DELETE FROM guard_counters", []
    elif user_ref is not None:
        # uses the primary key's first column
        sql, params = "DELETE FROM guard_counters WHERE user_ref = %s", [user_ref]
    elif source_ref is not None:
        # A scan: unlocking a network is an admin's rare action, and an index
        # on source_ref would cost every sign-in a write.
        sql, params = "DELETE FROM guard_counters WHERE source_ref = %s", [source_ref]
    else:
        raise ValueError("say which counters to delete")
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.rowcount


def delete_expired_counters(*, now: float, batch: int) -> int:
    """Delete at most `batch` expired counters: small statements, never one huge DELETE (Keycloak #20073)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM guard_counters WHERE (user_ref, kind, source_ref) IN ("
            " SELECT user_ref, kind, source_ref FROM guard_counters WHERE expires_at <= %s"
            " AND (locked_until IS NULL OR locked_until <= %s) LIMIT %s)",
            [now, now, batch],
        )
        return cursor.rowcount


# --- alerts -------------------------------------------------------------------


@dataclass(frozen=True)
class Alert:
    """A row of guard_alerts."""

    id: int
    rule: str
    severity: str
    subject_type: str
    subject_ref: str
    subject_label: str
    user_id: int | None
    evidence: dict
    status: str
    created_at: datetime
    acknowledged_at: datetime | None
    acknowledged_by: str | None


_ALERT_COLUMNS = (
    "id, rule, severity, subject_type, subject_ref, subject_label, user_id, evidence, status,"
    " created_at, acknowledged_at, acknowledged_by"
)


def _alert(row: tuple) -> Alert:
    return Alert(
        id=row[0],
        rule=row[1],
        severity=row[2],
        subject_type=row[3],
        subject_ref=row[4],
        subject_label=row[5],
        user_id=row[6],
        evidence=json.loads(row[7]),
        status=row[8],
        created_at=as_utc(row[9]),
        acknowledged_at=as_utc(row[10]),
        acknowledged_by=row[11],
    )


def open_alert_refs(*, candidates: Sequence[tuple[str, str]]) -> set[tuple[str, str]]:
    """Return which (rule, dedup_ref) pairs already have an open alert."""
    if not candidates:
        return set()
    conditions = " OR ".join(["(rule = %s AND dedup_ref = %s)"] * len(candidates))
    params = [value for pair in candidates for value in pair]
    # uses guard_alerts_one_open
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT rule, dedup_ref FROM guard_alerts WHERE status = 'open' AND ({conditions})",
            params,
        )
        return {(rule, ref) for rule, ref in cursor.fetchall()}


def insert_alert(
    *,
    rule: str,
    severity: str,
    subject_type: str,
    subject_ref: str,
    subject_label: str,
    dedup_ref: str,
    user_id: int | None,
    evidence: dict,
) -> Alert | None:
    """Insert an open alert, or return None if this rule already has one open for this subject."""
    with connection.cursor() as cursor:
        # ON CONFLICT against the partial unique index: two processes raising
        # the same alert at once make one row, not two.
        cursor.execute(
            "INSERT INTO guard_alerts (rule, severity, subject_type, subject_ref, subject_label,"
            " dedup_ref, user_id, evidence) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
            " ON CONFLICT (rule, dedup_ref) WHERE status = 'open' DO NOTHING"
            f" RETURNING {_ALERT_COLUMNS}",
            [
                rule,
                severity,
                subject_type,
                subject_ref,
                subject_label,
                dedup_ref,
                user_id,
                json.dumps(evidence, sort_keys=True),
            ],
        )
        row = cursor.fetchone()
    return _alert(row) if row else None


def alerts(*, status: str | None, limit: int) -> list[Alert]:
    """Return alerts with this status (None: any), newest first."""
    if status is not None:
        # uses guard_alerts_status_created
        sql = (
            f"SELECT {_ALERT_COLUMNS} FROM guard_alerts WHERE status = %s"
            " ORDER BY created_at DESC, id DESC LIMIT %s"
        )
        params: list = [status, limit]
    else:
        sql = f"SELECT {_ALERT_COLUMNS} FROM guard_alerts ORDER BY created_at DESC, id DESC LIMIT %s"
        params = [limit]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return [_alert(row) for row in cursor.fetchall()]


def alert_by_id(*, alert_id: int) -> Alert | None:
    """Return one alert, or None."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_ALERT_COLUMNS} FROM guard_alerts WHERE id = %s", [alert_id])
        row = cursor.fetchone()
    return _alert(row) if row else None


def acknowledge_alerts(*, alert_ids: Sequence[int] | None, by: str) -> list[int]:
    """Mark open alerts (these ids, or all if None) acknowledged by `by`; return the ids changed."""
    params: list = [by]
    condition = "status = 'open'"
    if alert_ids is not None:
        if not alert_ids:
            return []
        condition += " AND id IN (" + ", ".join(["%s"] * len(alert_ids)) + ")"
        params.extend(alert_ids)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE guard_alerts SET status = 'acknowledged', acknowledged_at = CURRENT_TIMESTAMP,"
            f" acknowledged_by = %s WHERE {condition} RETURNING id",
            params,
        )
        return sorted(row[0] for row in cursor.fetchall())


def count_alerts(*, status: str) -> int:
    """Return how many alerts have this status."""
    # uses guard_alerts_status_created
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM guard_alerts WHERE status = %s", [status])
        return cursor.fetchone()[0]


# --- admin actions --------------------------------------------------------------


@dataclass(frozen=True)
class AdminAction:
    """A row of guard_actions: who did what, when, from where."""

    id: int
    actor_id: int | None
    actor: str
    action: str
    target: str
    detail: dict
    ip_address: str | None
    created_at: datetime


def insert_action(
    *,
    actor_id: int | None,
    actor: str,
    action: str,
    target: str,
    detail: dict,
    ip_address: str | None,
) -> int:
    """Record an admin action; return its id."""
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO guard_actions (actor_id, actor, action, target, detail, ip_address)"
            " VALUES (%s, %s, %s, %s, %s, %s) RETURNING id",
            [actor_id, actor, action, target, json.dumps(detail, sort_keys=True), ip_address],
        )
        return cursor.fetchone()[0]


def recent_actions(*, limit: int) -> list[AdminAction]:
    """Return the newest admin actions."""
    # uses guard_actions_created
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT id, actor_id, actor, action, target, detail, ip_address, created_at"
            " FROM guard_actions ORDER BY created_at DESC, id DESC LIMIT %s",
            [limit],
        )
        return [
            AdminAction(
                id=row[0],
                actor_id=row[1],
                actor=row[2],
                action=row[3],
                target=row[4],
                detail=json.loads(row[5]),
                ip_address=row[6],
                created_at=as_utc(row[7]),
            )
            for row in cursor.fetchall()
        ]


# --- known sign-in sources --------------------------------------------------------


def remember_sources(*, user_id: int, sources: Sequence[tuple[str, str]]) -> list[str]:
    """Record (kind, ref) sources of a successful sign-in; return the kinds that were new."""
    if not sources:
        return []
    values = ", ".join(["(%s, %s, %s)"] * len(sources))
    params: list = []
    for kind, ref in sources:
        params.extend([user_id, kind, ref])
    # uses the primary key (user_id, kind, ref)
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO guard_known_sources (user_id, kind, ref) VALUES {values}"
            " ON CONFLICT (user_id, kind, ref) DO NOTHING RETURNING kind",
            params,
        )
        return sorted(row[0] for row in cursor.fetchall())


def known_source_count(*, user_id: int, kind: str, at_most: int) -> int:
    """Return how many sources of this kind the user has, counting no further than `at_most`."""
    # uses the primary key (user_id, kind, ref); bounded, however long the history
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM (SELECT 1 FROM guard_known_sources WHERE user_id = %s"
            " AND kind = %s LIMIT %s) AS known",
            [user_id, kind, at_most],
        )
        return cursor.fetchone()[0]


def delete_known_sources_of_user(*, user_id: int) -> int:
    """Forget every network and device a user signed in from; return how many."""
    # uses the primary key (user_id, kind, ref)
    with connection.cursor() as cursor:
        cursor.execute("DELETE FROM guard_known_sources WHERE user_id = %s", [user_id])
        return cursor.rowcount


def delete_known_sources_before(*, before: datetime, limit: int) -> int:
    """Forget at most `limit` sources first seen before `before`; return how many went."""
    # A scan: the table has one row per user and source (small), and this runs once a day.
    with connection.cursor() as cursor:
        cursor.execute(
            "DELETE FROM guard_known_sources WHERE (user_id, kind, ref) IN (SELECT user_id, kind, ref"
            " FROM guard_known_sources WHERE first_seen < %s LIMIT %s)",
            [to_db_time(before), limit],
        )
        return cursor.rowcount
