"""List and end a user's sessions: for the admin's user page and the user's own activity page.

Ending a session follows the order of a sign-out (accounts/signout.py): its
logout event is written with that session's key, so it carries the same
`session_ref` as the login it closes, and the row is deleted, in one
transaction; if the event cannot be written, the session survives. Known
limit: the logout carries the address and browser of whoever ended it (the
admin, or the user's other device), not of the session that ended.
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.crypto import constant_time_compare

from accounts import store
from accounts.sessions import session_is_for, session_store
from accounts.store import SessionRow, User
from authlog import events


@dataclass(frozen=True)
class ActiveSession:
    """A session a user is signed in with right now (never its key: the reference only)."""

    session_ref: str
    user_id: int
    expire_date: datetime
    is_current: bool = False


def _live_rows(user: User, now: datetime) -> list[SessionRow]:
    # A row whose password digest is stale (the password changed) is already
    # dead for user_of_session(): it is not an active session.
    decoder = session_store(None)
    return [
        row
        for row in store.sessions_of_user(user_id=user.id, now=now)
        if row.session_ref and session_is_for(decoder.decode(row.session_data), user)
    ]


def active_sessions(
    *, user: User, current_session_key: str | None = None, now: Callable[[], datetime] = timezone.now
) -> list[ActiveSession]:
    """Return the sessions `user` is signed in with, marking the one of this request."""
    return [
        ActiveSession(
            session_ref=row.session_ref,
            user_id=row.user_id,
            expire_date=row.expire_date,
            is_current=bool(current_session_key) and row.session_key == current_session_key,
        )
        for row in _live_rows(user, now())
    ]


def recent_active_sessions(
    *, limit: int, now: Callable[[], datetime] = timezone.now
) -> list[ActiveSession]:
    """Return the most recently saved unexpired sessions of any user (for the admin's overview)."""
    return [
        ActiveSession(session_ref=row.session_ref, user_id=row.user_id, expire_date=row.expire_date)
        for row in store.recent_sessions(now=now(), limit=limit)
        if row.session_ref
    ]


def count_active_sessions(*, now: Callable[[], datetime] = timezone.now) -> int:
    """Return how many unexpired sessions belong to signed-in users."""
    return store.count_sessions(now=now())


def end_sessions(
    *,
    user: User,
    ip_address: str | None,
    user_agent: str | None,
    session_ref: str | None = None,
    keep_session_key: str | None = None,
    now: Callable[[], datetime] = timezone.now,
) -> int:
    """End the user's sessions (or only the one with `session_ref`); return how many ended.

    Each session's row is deleted and its logout event written in one
    transaction; only rows this call really deleted get an event, so a
    session another request ended a moment earlier is not logged out twice. `keep_session_key` (the caller's own session)
    is never ended: "sign out my other sessions" must not sign out this one.
    Raise DatabaseError if the events cannot be written; nothing has ended then.
    """
    with transaction.atomic():
        rows = [
            row
            for row in _live_rows(user, now())
            if row.session_key != keep_session_key
            and (session_ref is None or constant_time_compare(row.session_ref, session_ref))
        ]
        ended = store.delete_sessions_of_user(
            user_id=user.id, session_keys=[row.session_key for row in rows]
        )
        for session_key in ended:
            events.log_auth_event(
                user.id,
                events.LOGOUT,
                ip_address,
                username=user.username,
                user_agent=user_agent,
                session_key=session_key,
            )
    return len(ended)
