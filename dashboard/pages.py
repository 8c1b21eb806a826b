"""Gather what each dashboard page shows, from the read functions of authlog and accounts.

The dashboard owns no table and writes no SQL: every number here comes from
authlog/history.py (the trail and its counts) or accounts (users, sessions).
"""

from dataclasses import dataclass
from datetime import datetime, timedelta

from accounts import sessions_admin
from accounts import store as accounts_store
from accounts.sessions_admin import ActiveSession
from accounts.store import User
from authlog import history
from authlog.events import AuthEvent
from authlog.history import SessionSpan, TimelinePage
from authlog.store import LOGIN_FAILED, EventFilter, TimelineKey
from dashboard import charts

DRILL_DOWN_ROWS = 20
SERIES_BY_TYPE = (
    charts.Series("login", "Sign-ins"),
    charts.Series("logout", "Sign-outs"),
    charts.Series("login_failed", "Failed sign-ins"),
)
FAILURES = (charts.Series("login_failed", "Failed sign-ins"),)
SESSIONS = (charts.Series("session", "Sessions"),)


@dataclass(frozen=True)
class Summary:
    """The last 24 hours at a glance."""

    logins: int
    logouts: int
    failures: int
    active_sessions: int


def _recent_failures(user_id: int) -> list[AuthEvent]:
    """The newest failed sign-ins on an account (the timeline's keyset read: fast at 10M events)."""
    return history.timeline_page(
        event_filter=EventFilter(user_id=user_id, event_type=LOGIN_FAILED), before=None, limit=DRILL_DOWN_ROWS
    ).events


def summary(*, now: datetime) -> Summary:
    """Return the counts of the last 24 hours and the number of active sessions."""
    totals = history.totals_since(since=now - timedelta(hours=23))
    return Summary(
        logins=totals["login"],
        logouts=totals["logout"],
        failures=totals[LOGIN_FAILED],
        active_sessions=sessions_admin.count_active_sessions(now=lambda: now),
    )


@dataclass(frozen=True)
class SessionView:
    """A session as a row: its sign-in, its sign-out if any, and whether it is still on."""

    span: SessionSpan
    active: bool

    @property
    def state(self) -> str:
        if self.active:
            return "active"
        return "ended" if self.span.logout is not None else "open"


def _session_views(spans: list[SessionSpan], active_refs: set[str]) -> list[SessionView]:
    return [SessionView(span=span, active=span.login.session_ref in active_refs) for span in spans]


@dataclass(frozen=True)
class UserPage:
    user: User
    # Addresses and devices are grouped over this many of the user's newest events.
    window: int
    timeline: TimelinePage
    active: list[SessionView]
    sessions: list[SessionView]
    failures: list
    addresses: list
    devices: list


def user_page(
    *, user_id: int, before: TimelineKey | None, limit: int, now: datetime
) -> UserPage | None:
    """Return everything the admin's page about one user shows, or None if there is no such user."""
    user = accounts_store.user_by_id(user_id=user_id)
    if user is None:
        return None
    active = sessions_admin.active_sessions(user=user, now=lambda: now)
    active_refs = {session.session_ref for session in active}
    return UserPage(
        user=user,
        window=history.DRILL_DOWN_WINDOW,
        timeline=history.timeline_page(
            event_filter=EventFilter(user_id=user.id), before=before, limit=limit
        ),
        active=_session_views(
            history.spans_of_sessions(session_refs=sorted(active_refs)), active_refs
        ),
        sessions=_session_views(
            history.session_spans(event_filter=EventFilter(user_id=user.id), limit=DRILL_DOWN_ROWS),
            active_refs,
        ),
        failures=_recent_failures(user.id),
        addresses=history.addresses_of_user(user_id=user.id, limit=DRILL_DOWN_ROWS),
        devices=history.devices_of_user(user_id=user.id, limit=DRILL_DOWN_ROWS),
    )


@dataclass(frozen=True)
class AddressPage:
    ip_address: str
    # Accounts are grouped over this many of the address's newest events of each kind.
    window: int
    signed_in: list
    tried: list
    timeline: TimelinePage


def address_page(*, ip_address: str, before: TimelineKey | None, limit: int) -> AddressPage:
    """Return the accounts used and tried from one address, and its events."""
    signed_in, tried = history.accounts_from_address(ip_address=ip_address, limit=DRILL_DOWN_ROWS)
    return AddressPage(
        ip_address=ip_address,
        window=history.DRILL_DOWN_WINDOW,
        signed_in=signed_in,
        tried=tried,
        timeline=history.timeline_page(
            event_filter=EventFilter(ip_address=ip_address), before=before, limit=limit
        ),
    )


@dataclass(frozen=True)
class SessionsPage:
    active_count: int
    active: list[SessionView]
    recent: list[SessionView]


def sessions_page(*, now: datetime, limit: int = 50) -> SessionsPage:
    """Return the most recent active sessions and the most recent sessions with their durations."""
    active = sessions_admin.recent_active_sessions(limit=limit, now=lambda: now)
    active_refs = {session.session_ref for session in active}
    return SessionsPage(
        active_count=sessions_admin.count_active_sessions(now=lambda: now),
        active=_session_views(history.spans_of_sessions(session_refs=sorted(active_refs)), active_refs),
        recent=_session_views(
            history.session_spans(event_filter=EventFilter(), limit=limit), active_refs
        ),
    )


@dataclass(frozen=True)
class ChartsPage:
    days: int
    per_day: charts.ColumnChart
    per_hour: charts.ColumnChart
    top_addresses: list[charts.Share]
    durations: charts.ColumnChart


def charts_page(*, days: int, now: datetime) -> ChartsPage:
    """Return the four charts for the last `days` days (failures per hour: the last 48 hours)."""
    per_day = history.events_per_day(days=days, now=now)
    per_hour = history.failures_per_hour(hours=48, now=now)
    return ChartsPage(
        days=days,
        per_day=charts.column_chart(
            [
                charts.Column(
                    label=day.day.strftime("%d %b"),
                    title=day.day.strftime("%a %d %b %Y"),
                    values=(day.logins, day.logouts, day.failures),
                )
                for day in per_day
            ],
            series=SERIES_BY_TYPE,
            label_every=7 if days <= 30 else 14,
            width=charts.WIDE,
        ),
        per_hour=charts.column_chart(
            [
                charts.Column(
                    label=hour.strftime("%H:00"),
                    title=hour.strftime("%d %b %H:00 UTC"),
                    values=(n,),
                )
                for hour, n in per_hour
            ],
            series=FAILURES,
            label_every=6,
        ),
        top_addresses=charts.ranked(history.top_failing_addresses(days=days, now=now, limit=10)),
        durations=charts.column_chart(
            [
                charts.Column(label=label, title=label, values=(n,))
                for label, n in history.session_durations(days=days, now=now)
            ],
            series=SESSIONS,
            width=charts.WIDE,
        ),
    )


@dataclass(frozen=True)
class ActivityPage:
    events: list
    failures: list
    sessions: list[SessionView]


def activity_page(*, user: User, current_session_key: str | None, now: datetime) -> ActivityPage:
    """Return a user's own recent activity, failed attempts and active sessions."""
    active: list[ActiveSession] = sessions_admin.active_sessions(
        user=user, current_session_key=current_session_key, now=lambda: now
    )
    current = {session.session_ref for session in active if session.is_current}
    spans = history.spans_of_sessions(session_refs=sorted(s.session_ref for s in active))
    # This device first, then the others by their sign-in, newest first.
    spans.sort(key=lambda span: span.login.session_ref not in current)
    return ActivityPage(
        events=history.sign_ins_and_outs(user_id=user.id, limit=DRILL_DOWN_ROWS),
        failures=_recent_failures(user.id),
        sessions=[CurrentAware(span=span, active=True, current=span.login.session_ref in current)
                  for span in spans],
    )


@dataclass(frozen=True)
class CurrentAware(SessionView):
    """A session of the activity page, which knows whether it is this browser's."""

    current: bool = False
