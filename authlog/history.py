"""Read the trail back: events with usernames, for pages, the authlog command and exports."""

import heapq
import re
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, replace
from datetime import UTC, date, datetime, timedelta
from itertools import islice

from django.db import connection

from accounts import store as accounts_store
from authlog import store
from authlog.aggregates import DURATION_LABELS, session_seconds
from authlog.events import AuthEvent
from authlog.filters import FilterError
from authlog.store import EventFilter, StoredEvent, TimelineKey
from config.dbtime import as_utc

MAX_LIMIT = 10_000
# How many of the newest events of one user or address a drill-down groups (the pages say so).
DRILL_DOWN_WINDOW = store.DRILL_DOWN_WINDOW
# Usernames an export keeps between its batches (ids and names: a few MB at most).
_NAME_CACHE_SIZE = 50_000


def search_events(*, event_filter: EventFilter, limit: int) -> list[AuthEvent]:
    """Return the newest events matching the filter, newest first, at most MAX_LIMIT."""
    if limit < 1:
        # SQLite reads LIMIT -1 as "no limit"; PostgreSQL refuses it.
        return []
    rows = store.recent_events(event_filter=event_filter, limit=min(limit, MAX_LIMIT))
    return with_usernames(rows)


def with_usernames(rows: list[StoredEvent]) -> list[AuthEvent]:
    """Return stored rows as events, each with the username it is shown under."""
    names = accounts_store.usernames_by_ids(
        user_ids={row.user_id for row in rows if row.user_id is not None}
    )
    return [
        AuthEvent(
            id=row.id,
            event_type=row.event_type,
            user_id=row.user_id,
            # A failed attempt shows the name that was typed, even when it matched an account.
            username=row.attempted_username if row.event_type == store.LOGIN_FAILED
            else names.get(row.user_id),
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            browser=row.browser,
            os=row.os,
            device=row.device,
            timestamp=row.timestamp,
            reason=row.reason,
            session_ref=row.session_ref,
        )
        for row in rows
    ]


# --- The dashboard's reads (issue 4) ---------------------------------------------------


@dataclass(frozen=True)
class TimelinePage:
    """One page of the timeline and the cursor of the next (older) page, if there is one."""

    events: list[AuthEvent]
    next_cursor: str | None


# A cursor names the last row of a page: "<kind>.<id>.<time as the database holds it>".
_CURSOR_TIME = re.compile(
    r"[0-9]{4}-[0-9]{2}-[0-9]{2}[ T][0-9]{2}:[0-9]{2}:[0-9]{2}(\.[0-9]{1,6})?(Z|[+-][0-9]{2}:[0-9]{2})?\Z"
)
_CURSOR_NUMBER = re.compile(r"[0-9]{1,18}\Z")


def format_cursor(key: TimelineKey) -> str:
    """Return the text form of a timeline position, for a URL."""
    time = key.time if isinstance(key.time, str) else key.time.isoformat()
    return f"{key.kind}.{key.id}.{time}"


def parse_cursor(text: str) -> TimelineKey:
    """Parse a cursor made by format_cursor, or raise FilterError."""
    parts = text.split(".", 2)
    if (
        len(parts) != 3
        or not all(_CURSOR_NUMBER.match(part) for part in parts[:2])
        or int(parts[0]) not in store.TIMELINE_KINDS
        or not _CURSOR_TIME.match(parts[2])
    ):
        raise FilterError("before: not a page of this timeline; start again from the first page")
    kind, row_id, time = int(parts[0]), int(parts[1]), parts[2]
    if connection.vendor != "sqlite":
        # SQLite compares the stored text as is; elsewhere the time is a timestamptz.
        try:
            time = as_utc(datetime.fromisoformat(time))
        except ValueError:
            raise FilterError("before: not a page of this timeline") from None
    return TimelineKey(time=time, kind=kind, id=row_id)


def _order(entry: tuple[TimelineKey, StoredEvent]) -> tuple:
    key = entry[0]
    return (key.time, key.kind, key.id)


def timeline_page(
    *, event_filter: EventFilter, before: TimelineKey | None, limit: int
) -> TimelinePage:
    """Return the `limit` events after `before` (None: the newest), newest first.

    Keyset pagination: a page is found by its position, not an offset, so it
    costs the same on page 1 and page 1,000 and does not shift while new
    events arrive.
    """
    limit = max(1, min(limit, MAX_LIMIT))
    rows = list(
        heapq.merge(
            *(
                store.timeline_rows(kind=kind, event_filter=event_filter, before=before,
                                    limit=limit + 1)
                for kind in store.TIMELINE_KINDS
            ),
            key=_order,
            reverse=True,
        )
    )[: limit + 1]
    more = len(rows) > limit
    rows = rows[:limit]
    return TimelinePage(
        events=with_usernames([row for _, row in rows]),
        next_cursor=format_cursor(rows[-1][0]) if more else None,
    )


def _kind_tuples(kind: int, event_filter: EventFilter, chunk: int) -> Iterator[tuple]:
    before = None
    while True:
        rows = store.timeline_tuples(kind=kind, event_filter=event_filter, before=before, limit=chunk)
        for row in rows:
            yield (row[9], kind, row[0], row)
        if len(rows) < chunk:
            return
        before = TimelineKey(time=rows[-1][9], kind=kind, id=rows[-1][0])


# SQLite's text of a UTC time, "YYYY-MM-DD HH:MM:SS" with an optional fraction of 1 to 6 digits.
_DB_TEXT_TIME = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2} [0-9]{2}:[0-9]{2}:[0-9]{2}(?:\.([0-9]{1,6}))?\Z")


def _iso(value: str | datetime | None) -> str | None:
    # Exactly AuthEvent.as_record()'s form of the time.
    moment = as_utc(value)
    return moment.isoformat().replace("+00:00", "Z") if moment else None


def _iso_of_db_time(value: str | datetime | None) -> str | None:
    """Return _iso(value), rewriting SQLite's text directly (a million datetimes cost seconds)."""
    if type(value) is str and (match := _DB_TEXT_TIME.match(value)):
        fraction = (match.group(1) or "").ljust(6, "0")
        # datetime.isoformat() leaves out a zero fraction and writes any other with six digits.
        second = value[11:19] if fraction == "000000" else f"{value[11:19]}.{fraction}"
        return f"{value[:10]}T{second}Z"
    return _iso(value)


def iter_record_values(*, event_filter: EventFilter, chunk: int = 5000) -> Iterator[tuple]:
    """Yield the export record (values in RECORD_FIELDS order) of every event matching the filter.

    Each table is read by keyset pages (no long transaction, no server-side
    cursor held open) and the two are merged, so memory stays flat however many
    rows there are; no event object is built per row (a million-row export is
    bound by per-row Python work).
    """
    merged = heapq.merge(
        *(_kind_tuples(kind, event_filter, chunk) for kind in store.TIMELINE_KINDS),
        reverse=True,
    )
    # Names already read: a busy account appears in every batch. Bounded, so
    # memory stays flat however many accounts the export spans.
    names: dict[int, str | None] = {}
    while batch := [entry[3] for entry in islice(merged, chunk)]:
        wanted = {row[2] for row in batch if row[2] is not None and row[1] != store.LOGIN_FAILED}
        wanted.difference_update(names)
        if wanted:
            if len(names) > _NAME_CACHE_SIZE:
                names.clear()
            found = accounts_store.usernames_by_ids(user_ids=wanted)
            names.update((user_id, found.get(user_id)) for user_id in wanted)
        yield from [
            (
                row[0], row[1], row[2], row[3] if row[1] == store.LOGIN_FAILED else names.get(row[2]),
                row[4], row[5], row[6], row[7], row[8], _iso_of_db_time(row[9]), row[10],
            )
            for row in batch
        ]


@dataclass(frozen=True)
class SessionSpan:
    """A session as the trail knows it: its sign-in, and its sign-out if one was recorded."""

    login: AuthEvent
    logout: AuthEvent | None

    @property
    def seconds(self) -> float | None:
        """Return the session's length, or None while it has no sign-out."""
        if self.logout is None or self.login.timestamp is None or self.logout.timestamp is None:
            return None
        return session_seconds(self.login.timestamp, self.logout.timestamp)


def session_spans(*, event_filter: EventFilter, limit: int) -> list[SessionSpan]:
    """Return the newest sign-ins matching the filter, each paired with its sign-out."""
    logins = store.timeline_rows(
        kind=store.KIND_LOGIN_LOGS,
        event_filter=replace(event_filter, event_type=store.LOGIN),
        before=None,
        limit=max(1, min(limit, MAX_LIMIT)),
    )
    return _paired(with_usernames([row for _, row in logins]))


def spans_of_sessions(*, session_refs: list[str]) -> list[SessionSpan]:
    """Return the sessions with these references, newest sign-in first."""
    logins = with_usernames(store.session_events(session_refs=session_refs, event_type=store.LOGIN))
    logins.sort(key=lambda event: (event.timestamp, event.id), reverse=True)
    return _paired(logins)


def _paired(logins: list[AuthEvent]) -> list[SessionSpan]:
    refs = sorted({login.session_ref for login in logins if login.session_ref})
    logouts: dict[str, AuthEvent] = {}
    for logout in with_usernames(store.session_events(session_refs=refs, event_type=store.LOGOUT)):
        # Two sign-outs of one session (a race) pair with the first.
        if logout.session_ref not in logouts or logout.id < logouts[logout.session_ref].id:
            logouts[logout.session_ref] = logout
    return [SessionSpan(login=login, logout=logouts.get(login.session_ref)) for login in logins]


def addresses_of_user(*, user_id: int, limit: int = 50) -> list[store.UsageRow]:
    """Return the addresses a user's sign-ins and sign-outs came from, most recent first."""
    return store.addresses_of_user(user_id=user_id, limit=limit)


def devices_of_user(*, user_id: int, limit: int = 50) -> list[store.UsageRow]:
    """Return the browsers, systems and devices a user signed in with, most recent first."""
    return store.devices_of_user(user_id=user_id, limit=limit)


@dataclass(frozen=True)
class AccountUse:
    """An account (or an unknown name) seen from one address."""

    user_id: int | None
    username: str | None
    count: int
    last_seen: datetime | None


def accounts_from_address(*, ip_address: str, limit: int = 50) -> tuple[list[AccountUse], list[AccountUse]]:
    """Return (accounts that signed in from the address, names whose sign-in failed from it)."""
    used = store.accounts_signed_in_from(ip_address=ip_address, limit=limit)
    tried = store.names_tried_from(ip_address=ip_address, limit=limit)
    names = accounts_store.usernames_by_ids(user_ids={row.key[0] for row in used})
    return (
        [AccountUse(row.key[0], names.get(row.key[0]), row.count, row.last_seen) for row in used],
        [AccountUse(row.key[1], row.key[0], row.count, row.last_seen) for row in tried],
    )


# --- Charts: read from the counts of authlog/aggregates.py, never from the trail itself ----


@dataclass(frozen=True)
class DayCounts:
    """Events of one UTC day, by type."""

    day: date
    logins: int
    logouts: int
    failures: int


def events_per_day(*, days: int, now: datetime) -> list[DayCounts]:
    """Return the last `days` UTC days (today included), oldest first, with their counts."""
    today = now.astimezone(UTC).date()
    first = today - timedelta(days=days - 1)
    totals: dict[tuple[date, str], int] = defaultdict(int)
    for day, event_type, n in store.daily_counts(since=first):
        totals[(day, event_type)] += n
    return [
        DayCounts(
            day=day,
            logins=totals[(day, store.LOGIN)],
            logouts=totals[(day, store.LOGOUT)],
            failures=totals[(day, store.LOGIN_FAILED)],
        )
        for day in (first + timedelta(days=offset) for offset in range(days))
    ]


def failures_per_hour(*, hours: int, now: datetime) -> list[tuple[datetime, int]]:
    """Return the last `hours` UTC hours (this one included), oldest first, with their failures."""
    this_hour = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    first = this_hour - timedelta(hours=hours - 1)
    counts = {
        hour: n
        for hour, event_type, n in store.hourly_counts(since=first)
        if event_type == store.LOGIN_FAILED
    }
    return [(hour, counts.get(hour, 0)) for hour in (first + timedelta(hours=h) for h in range(hours))]


def top_failing_addresses(*, days: int, now: datetime, limit: int = 10) -> list[tuple[str, int]]:
    """Return the addresses with the most failed sign-ins in the last `days` UTC days."""
    since = now.astimezone(UTC).date() - timedelta(days=days - 1)
    return store.top_failing_addresses(since=since, limit=limit)


def session_durations(*, days: int, now: datetime) -> list[tuple[str, int]]:
    """Return (bucket label, sessions) for sessions that ended in the last `days` UTC days."""
    since = now.astimezone(UTC).date() - timedelta(days=days - 1)
    counts = store.duration_counts(since=since)
    return [(label, counts.get(index, 0)) for index, label in enumerate(DURATION_LABELS)]


def totals_since(*, since: datetime) -> dict[str, int]:
    """Return the number of events of each type from `since`'s hour on."""
    totals = {event_type: 0 for event_type in store.EVENT_TYPES}
    for _, event_type, n in store.hourly_counts(since=since):
        totals[event_type] = totals.get(event_type, 0) + n
    return totals


def sign_ins_and_outs(*, user_id: int, limit: int) -> list[AuthEvent]:
    """Return a user's newest sign-ins and sign-outs (not failures), newest first."""
    rows = store.timeline_rows(
        kind=store.KIND_LOGIN_LOGS,
        event_filter=EventFilter(user_id=user_id),
        before=None,
        limit=max(1, min(limit, MAX_LIMIT)),
    )
    return with_usernames([row for _, row in rows])
