"""Fixtures of the trail's tests: events written the real way, old events, SQL as an attacker runs it."""

from collections.abc import Callable
from datetime import datetime, timedelta

import pytest
from django.db import connection
from django.utils import timezone

from authlog import events, trail
from authlog.verify import VerifyReport, verify_trail
from config.dbtime import to_db_time
from tests.conftest import DESKTOP_UA, rows


def sql(statement: str, params: list | None = None) -> int:
    """Run a statement straight on the database, as someone with write access would."""
    with connection.cursor() as cursor:
        cursor.execute(statement, params or [])
        return cursor.rowcount


def verify(**kwargs) -> VerifyReport:
    """Verify the whole trail without recording the run."""
    return verify_trail(record=False, **kwargs)


def located(report: VerifyReport) -> list[str]:
    """Return the report's problems as text."""
    return [str(problem) for problem in report.problems]


def seq_of(table: str, event_id: int) -> int:
    """Return the seq an event was chained at."""
    [(seq,)] = rows(
        "SELECT seq FROM trail_chain WHERE event_table = %s AND event_id = %s", [table, event_id]
    )
    return seq


@pytest.fixture
def write_events(make_user) -> Callable[..., list[events.AuthEvent]]:
    """Return a factory writing n events through authlog.events, cycling login, failure, logout."""

    def factory(n: int = 6, *, username: str = "alice") -> list[events.AuthEvent]:
        from accounts import store

        user = store.user_by_normalised_username(username_normalised=username) or make_user(username)
        written = []
        for i in range(n):
            if i % 3 == 0:
                written.append(events.log_auth_event(
                    user.id, events.LOGIN, f"198.51.100.{i + 1}", user_agent=DESKTOP_UA,
                    session_key=f"session-{i}",
                ))
            elif i % 3 == 1:
                written.append(events.record_failed_login(
                    attempted_username=username, user_id=user.id, reason=events.BAD_PASSWORD,
                    ip_address=f"2001:db8:{i:x}::7", user_agent=DESKTOP_UA,
                ))
            else:
                written.append(events.log_auth_event(
                    user.id, events.LOGOUT, None, user_agent=None, session_key=f"session-{i - 2}",
                ))
        return written

    return factory


@pytest.fixture
def old_event(make_user) -> Callable[..., int]:
    """Return a factory of events already in the trail, `days_ago` old (inserted, then chained)."""

    def factory(
        *,
        days_ago: float,
        kind: str = "login",
        username: str = "alice",
        ip: str | None = "198.51.100.7",
        now: datetime | None = None,
    ) -> int:
        from accounts import store

        user = store.user_by_normalised_username(username_normalised=username) or make_user(username)
        at = to_db_time((now or timezone.now()) - timedelta(days=days_ago))
        with connection.cursor() as cursor:
            if kind == events.LOGIN_FAILED:
                cursor.execute(
                    "INSERT INTO failed_logins (attempted_username, user_id, reason, ip_address,"
                    " timestamp, user_agent) VALUES (%s, %s, 'bad_password', %s, %s, %s) RETURNING id",
                    [username, user.id, ip, at, DESKTOP_UA],
                )
            else:
                cursor.execute(
                    "INSERT INTO login_logs (user_id, event_type, ip_address, timestamp, user_agent)"
                    " VALUES (%s, %s, %s, %s, %s) RETURNING id",
                    [user.id, kind, ip, at, DESKTOP_UA],
                )
            (event_id,) = cursor.fetchone()
        trail.backfill_chain()
        return event_id

    return factory
