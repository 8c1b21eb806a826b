"""Every SQL statement on `login_logs` and `failed_logins`; nothing else writes SQL against them."""

from dataclasses import dataclass
from datetime import datetime

from django.db import connection

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


_LOGIN_LOGS_SELECT = (
    "SELECT id, event_type, user_id, NULL AS attempted_username, ip_address, user_agent,"
    " browser, os, device, timestamp, NULL AS reason, session_ref FROM login_logs"
)
_FAILED_LOGINS_SELECT = (
    "SELECT id, 'login_failed' AS event_type, user_id, attempted_username, ip_address,"
    " user_agent, browser, os, device, timestamp, reason, NULL AS session_ref FROM failed_logins"
)


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
    return conditions


def recent_events(*, event_filter: EventFilter, limit: int) -> list[StoredEvent]:
    """Return the newest events of both tables matching the filter, newest first."""
    # uses login_logs_timestamp / failed_logins_timestamp, or the user/IP indexes
    # when those filters are set; each branch is limited before the merge.
    branches: list[str] = []
    params: list = []
    wanted = {event_filter.event_type} if event_filter.event_type else set(EVENT_TYPES)
    login_types = sorted(wanted & {LOGIN, LOGOUT})
    if login_types and (event_filter.user_id is not None or event_filter.attempted_username is None):
        conditions = _common_conditions(event_filter, params)
        if len(login_types) == 1:
            conditions.append("event_type = %s")
            params.append(login_types[0])
        if event_filter.user_id is not None:
            conditions.append("user_id = %s")
            params.append(event_filter.user_id)
        branches.append(
            f"SELECT * FROM ({_LOGIN_LOGS_SELECT}{_where(conditions)}"
            " ORDER BY timestamp DESC, id DESC LIMIT %s) AS logins"
        )
        params.append(limit)
    if LOGIN_FAILED in wanted:
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
        branches.append(
            f"SELECT * FROM ({_FAILED_LOGINS_SELECT}{_where(conditions)}"
            " ORDER BY timestamp DESC, id DESC LIMIT %s) AS failures"
        )
        params.append(limit)
    if not branches:
        return []
    sql = (
        "SELECT * FROM (" + " UNION ALL ".join(branches) + ") AS events"
        " ORDER BY timestamp DESC, id DESC LIMIT %s"
    )
    params.append(limit)
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        rows = cursor.fetchall()
    return [
        StoredEvent(
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
        for row in rows
    ]
