"""Sign a user in: verify the password, end any previous session, start a new one, record it.

One flow for the login view and for registration. The order follows
django.contrib.auth.login(): the previous user's logout is written before
its session is flushed (so we still know who it was), the session key is
rotated (a planted session id is dead afterwards), then the CSRF token.
Every attempt is first reserved on guard's throttle counters, before the
hasher runs (guard/throttle.py): this is the one path that checks passwords.
"""

import logging
from collections.abc import Callable
from dataclasses import dataclass
from enum import Enum

from django.contrib.auth.hashers import UNUSABLE_PASSWORD_PREFIX, check_password, make_password
from django.db import DatabaseError, transaction
from django.http import HttpRequest
from django.middleware.csrf import rotate_token

from accounts import store
from accounts.conf import accounts_settings
from accounts.sessions import attach_user, get_authenticated_user, session_store
from accounts.store import User
from accounts.usernames import normalise_username
from authlog import events
from authlog.cleaning import has_unsafe_characters
from authlog.request_info import client_ip, raw_user_agent
from guard import throttle
from guard.devices import DeviceCookie

logger = logging.getLogger(__name__)


class Outcome(Enum):
    SIGNED_IN = "signed_in"
    FAILED = "failed"
    THROTTLED = "throttled"
    UNAVAILABLE = "unavailable"


@dataclass(frozen=True)
class SignInResult:
    """What the view needs to answer; `reason` is for the trail, never shown."""

    outcome: Outcome
    user: User | None = None
    reason: str | None = None
    # THROTTLED: seconds until the lockout ends (Retry-After); SIGNED_IN: the browser's device cookie.
    retry_after: int = 0
    device_cookie: DeviceCookie | None = None


def end_current_session(request: HttpRequest, *, ip_address: str | None) -> None:
    """Record the logout of the signed-in user (if any), then flush the session.

    Must run inside the caller's transaction: if the logout cannot be written,
    the session is not flushed.
    """
    user = get_authenticated_user(request)
    if user is not None:
        events.log_auth_event(
            user.id,
            events.LOGOUT,
            ip_address,
            username=user.username,
            user_agent=raw_user_agent(request),
            session_key=request.session.session_key,
        )
    request.session.flush()
    request.auth.forget()


# PostgreSQL aborts one of two transactions that wait on each other (deadlock,
# serialization failure). Concurrent good sign-ins must all pass (Keycloak
# #48272), so the aborted one is run again rather than answered with a 503.
_TRANSIENT_SQLSTATES = frozenset({"40P01", "40001"})
_SESSION_ATTEMPTS = 3


def sqlstate(error: DatabaseError) -> str | None:
    """Return the SQLSTATE of a driver error (PostgreSQL), or None."""
    return getattr(error.__cause__, "sqlstate", None)


def start_session(
    request: HttpRequest, user: User, *, in_transaction: Callable[[events.AuthEvent], None] | None = None
) -> None:
    """Sign `user` in on this request and record the login, in one transaction.

    Raise DatabaseError if anything cannot be written; the request's session is
    then exactly what it was before. `in_transaction` runs last inside that
    transaction with the login event (the throttle's bookkeeping: one commit, not two).
    """
    for attempt in range(1, _SESSION_ATTEMPTS + 1):
        try:
            _start_session_once(request, user, in_transaction=in_transaction)
            return
        except DatabaseError as error:
            if attempt == _SESSION_ATTEMPTS or sqlstate(error) not in _TRANSIENT_SQLSTATES:
                raise
            logger.warning("sign-in transaction retried after SQLSTATE %s", sqlstate(error))


def _start_session_once(
    request: HttpRequest, user: User, *, in_transaction: Callable[[events.AuthEvent], None] | None
) -> None:
    ip_address = client_ip(request)
    original_key = request.session.session_key
    try:
        with transaction.atomic():
            if get_authenticated_user(request) is not None:
                # Another (or the same) account is signed in on this browser:
                # end that session, with its logout event, before starting ours.
                end_current_session(request, ip_address=ip_address)
            elif original_key:
                request.session.cycle_key()
            attach_user(request.session, user)
            request.session.save()
            login = events.log_auth_event(
                user.id,
                events.LOGIN,
                ip_address,
                username=user.username,
                user_agent=raw_user_agent(request),
                session_key=request.session.session_key,
            )
            store.record_last_login(user_id=user.id)
            if in_transaction is not None:
                in_transaction(login)
    except DatabaseError:
        # Rolled back: put back the session the browser came with, untouched.
        request.session = session_store(original_key)
        request.auth.forget()
        raise
    request.auth.forget()
    rotate_token(request)


def _verify(user: User | None, password: str | None, *, usable_input: bool) -> bool:
    """Run the password hasher exactly once, whoever the user is (Django #20760)."""
    if user is None or not usable_input:
        # An unusable hash makes Django hash a random string once: same cost, always False.
        check_password(None, UNUSABLE_PASSWORD_PREFIX)
        return False

    def upgrade(raw: str) -> None:
        store.update_password_hash(user_id=user.id, password_hash=make_password(raw))

    return check_password(password, user.password_hash, setter=upgrade)


def _failure_reason(
    user: User | None, password: str, *, username_fits: bool, password_fits: bool
) -> str | None:
    """Run the hasher once and return why this sign-in fails, or None if it may go on."""
    password_ok = _verify(user, password, usable_input=password_fits)
    if user is None:
        return events.UNKNOWN_USER if username_fits else events.INPUT_TOO_LONG
    if not password_fits:
        return events.INPUT_TOO_LONG
    if not password_ok:
        if user.password_hash.startswith(UNUSABLE_PASSWORD_PREFIX):
            return events.UNUSABLE_PASSWORD
        return events.BAD_PASSWORD
    if not user.is_active:
        # Checked after the password, and answered like a wrong one (CVE-2018-6188).
        return events.INACTIVE_USER
    return None


def sign_in(request: HttpRequest, *, username: str, password: str) -> SignInResult:
    """Check the credentials and sign in, or record why not."""
    ip_address = client_ip(request)
    username_fits = len(username) <= accounts_settings.USERNAME_INPUT_MAX_LENGTH
    password_fits = len(password) <= accounts_settings.PASSWORD_MAX_LENGTH
    # A name with control characters cannot exist (registration refuses them),
    # and PostgreSQL rejects NUL in a query: do not look it up at all.
    normalised = normalise_username(username) if username_fits else username[:256]
    looked_up = username_fits and not has_unsafe_characters(normalised)
    try:
        user = store.user_by_normalised_username(username_normalised=normalised) if looked_up else None
        # Reserve the attempt on its counters *before* the hasher runs: concurrent
        # guesses cannot pass the limit between a check and an increment (case 39b).
        attempt = throttle.reserve_attempt(
            request, username=normalised, user=user, ip_address=ip_address
        )
        # Refused before the password is read, right or wrong (case 38), and
        # answered alike for every name, real or not (cases 31, 33).
        reason = (
            _failure_reason(user, password, username_fits=username_fits, password_fits=password_fits)
            if attempt.allowed
            else events.THROTTLED
        )
        if reason is None:
            start_session(
                request,
                user,
                # Raises no database error: a failure of its own is logged, and the login stands.
                in_transaction=lambda login: throttle.attempt_succeeded(attempt, login=login, user=user),
            )
            cookie = throttle.device_cookie_for(attempt, user=user)
            return SignInResult(Outcome.SIGNED_IN, user=user, device_cookie=cookie)
        events.record_failed_login(
            attempted_username=normalised,
            user_id=user.id if user else None,
            reason=reason,
            ip_address=ip_address,
            user_agent=raw_user_agent(request),
        )
        if not attempt.allowed:
            throttle.attempt_refused(attempt, user=user)
            return SignInResult(Outcome.THROTTLED, reason=reason, retry_after=attempt.retry_after)
        throttle.attempt_failed(attempt, user=user)
        return SignInResult(Outcome.FAILED, reason=reason)
    except DatabaseError as error:
        logger.error(
            "sign-in refused, the trail cannot be written: %s (SQLSTATE %s)",
            type(error).__name__,
            sqlstate(error),
        )
        return SignInResult(Outcome.UNAVAILABLE)
