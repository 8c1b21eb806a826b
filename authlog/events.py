"""Write the audit trail: `log_auth_event` for sign-ins and sign-outs, `record_failed_login`.

These are the only writers of the trail. Each row is also emitted as one JSON
line on the `authlog.events` logger once its transaction commits, so a line
never describes an event the database rolled back. Known limit: a line is
emitted after the commit, so a process killed between the two loses the line
(never the row).
"""

import hashlib
import json
import logging
from dataclasses import dataclass, fields, replace
from datetime import datetime

from django.db import transaction
from django.utils.crypto import salted_hmac

from authlog import aggregates, store, trail
from authlog.cleaning import clean_text
from authlog.conf import authlog_settings
from authlog.user_agent import summarise_user_agent

LOGIN, LOGOUT, LOGIN_FAILED = store.LOGIN, store.LOGOUT, store.LOGIN_FAILED

# Why a sign-in failed; one response for all of them, the reason is for the trail only.
UNKNOWN_USER = "unknown_user"
BAD_PASSWORD = "bad_password"
INACTIVE_USER = "inactive_user"
UNUSABLE_PASSWORD = "unusable_password"
INPUT_TOO_LONG = "input_too_long"
THROTTLED = "throttled"  # refused by guard.throttle before the password was checked
FAILURE_REASONS = (
    UNKNOWN_USER, BAD_PASSWORD, INACTIVE_USER, UNUSABLE_PASSWORD, INPUT_TOO_LONG, THROTTLED
)
UNKNOWN_NAME_PREFIX = "unknown:"


@dataclass(frozen=True)
class AuthEvent:
    """An event as written: what the JSON line carries (never a secret)."""

    id: int
    event_type: str
    user_id: int | None
    username: str | None
    ip_address: str | None
    user_agent: str | None
    browser: str | None
    os: str | None
    device: str | None
    timestamp: datetime | None
    reason: str | None = None
    session_ref: str | None = None

    def as_record(self) -> dict:
        """Return the event as a JSON-ready dict with an ISO 8601 UTC timestamp."""
        # A shallow dict: asdict() deep-copies every field, on the sign-in path.
        record = {f.name: getattr(self, f.name) for f in fields(self)}
        record["timestamp"] = (
            self.timestamp.isoformat().replace("+00:00", "Z") if self.timestamp else None
        )
        return record


def unknown_name_pseudonym(normalised_username: str) -> str:
    """Return the keyed pseudonym under which a name that matches no account is recorded.

    People type their password into the username field; storing unknown names
    verbatim would put passwords in the trail (CWE-532, SECURITY-CASES 55).
    The same name always gives the same pseudonym (under one SECRET_KEY), so
    attempts can still be grouped, counted and searched for by name.
    """
    digest = salted_hmac(
        "authlog.unknown-username", normalised_username, algorithm="sha256"
    ).hexdigest()
    return f"{UNKNOWN_NAME_PREFIX}{digest[:20]}"


def session_ref(session_key: str | None) -> str | None:
    """Return a non-reversible reference that pairs a session's login with its logout."""
    if not session_key:
        return None
    return hashlib.sha256(session_key.encode()).hexdigest()


def _event_logger() -> logging.Logger:
    return logging.getLogger(authlog_settings.EVENT_LOGGER)


def emit_event_line(event: AuthEvent, *, persisted: bool = True) -> None:
    """Write the event as one JSON line; ensure_ascii escapes every control and line-break character."""
    record = event.as_record()
    record["persisted"] = persisted
    line = json.dumps(record, ensure_ascii=True, sort_keys=True, separators=(",", ":"))
    _event_logger().log(logging.INFO if persisted else logging.ERROR, line)


def log_auth_event(
    user_id: int,
    event_type: str,
    ip_address: str | None,
    *,
    username: str | None = None,
    user_agent: str | None = None,
    session_key: str | None = None,
) -> AuthEvent:
    """Record a sign-in or sign-out of `user_id`; raise DatabaseError if it cannot be written.

    Call it inside the transaction that changes the session, so the event and
    the session stand or fall together; if it raises, let that transaction fail
    (the event has no savepoint of its own to roll back to).
    """
    if event_type not in (LOGIN, LOGOUT):
        raise ValueError(f"event_type must be 'login' or 'logout', not {event_type!r}")
    draft = _draft(
        event_type, user_id, username, ip_address, user_agent, session_ref=session_ref(session_key)
    )
    # No savepoint of its own: it runs inside the transaction of a session
    # change, and an event that cannot be written must fail that whole
    # transaction anyway (a sign-in that cannot be recorded does not happen).
    # (record_failed_login keeps one: its caller goes on after a failure.)
    with transaction.atomic(savepoint=False):
        row_id, timestamp = store.insert_login_event(
            user_id=user_id,
            event_type=event_type,
            ip_address=ip_address,
            user_agent=draft.user_agent,
            browser=draft.browser,
            os=draft.os,
            device=draft.device,
            session_ref=draft.session_ref,
        )
        return _written(replace(draft, id=row_id, timestamp=timestamp))


def _draft(
    event_type: str,
    user_id: int | None,
    username: str | None,
    ip_address: str | None,
    user_agent: str | None,
    *,
    reason: str | None = None,
    session_ref: str | None = None,
) -> AuthEvent:
    """Return the event before it has a row: user agent cleaned, cut and summarised."""
    user_agent = clean_text(user_agent, max_length=authlog_settings.USER_AGENT_MAX_LENGTH)
    summary = summarise_user_agent(user_agent)
    return AuthEvent(
        id=0,
        event_type=event_type,
        user_id=user_id,
        username=username,
        ip_address=ip_address,
        user_agent=user_agent,
        browser=summary.browser,
        os=summary.os,
        device=summary.device,
        timestamp=None,
        reason=reason,
        session_ref=session_ref,
    )


def _written(event: AuthEvent) -> AuthEvent:
    """Finish writing an event, inside the transaction that inserted its row.

    Every step that must stand or fall with the event goes here; the JSON line
    waits for the commit, so it never describes a rolled-back event.
    """
    # Tamper evidence (issue 6): a seq and a keyed hash linking the event to the
    # one before it. First, so the chain's head lock is always taken before any
    # other lock of this step: two transactions then cannot deadlock here.
    trail.chain_event(event)
    # The dashboard's chart counts (issue 4): a rolled-back event is not counted.
    aggregates.count_event(event)
    transaction.on_commit(lambda: emit_event_line(event))
    return event


def unrecorded_logout(user_id: int, username: str, ip_address: str | None) -> None:
    """Emit the line of a sign-out whose row could not be written (the database is down)."""
    emit_event_line(
        _draft(LOGOUT, user_id, username, ip_address, None),
        persisted=False,
    )


def record_failed_login(
    *,
    attempted_username: str,
    user_id: int | None,
    reason: str,
    ip_address: str | None,
    user_agent: str | None,
) -> AuthEvent:
    """Record a failed sign-in of a normalised name; a name of no account is pseudonymised."""
    if reason not in FAILURE_REASONS:
        raise ValueError(f"unknown failure reason {reason!r}")
    if user_id is None:
        attempted = unknown_name_pseudonym(attempted_username)
    else:
        attempted = (
            clean_text(attempted_username, max_length=authlog_settings.ATTEMPTED_USERNAME_MAX_LENGTH)
            or ""
        )
    draft = _draft(LOGIN_FAILED, user_id, attempted, ip_address, user_agent, reason=reason)
    with transaction.atomic():
        row_id, timestamp = store.insert_failed_login(
            attempted_username=attempted,
            user_id=user_id,
            reason=reason,
            ip_address=ip_address,
            user_agent=draft.user_agent,
            browser=draft.browser,
            os=draft.os,
            device=draft.device,
        )
        return _written(replace(draft, id=row_id, timestamp=timestamp))
