"""Throttle sign-in attempts: reserve each attempt before its password is checked, settle it after.

`accounts.signin.sign_in` is the only path that checks passwords, and it
calls `reserve_attempt` first: a refused attempt never reaches the hasher,
and concurrent guesses cannot slip past the limit between a check and an
increment (SECURITY-CASES 39b). Names of no account are counted exactly like
real ones (33): same keys, same limits, same answers. A second path that
checks passwords must call the same functions (Keycloak CVE-2026-9798).
"""

import itertools
import logging
import time
from collections.abc import Callable
from contextlib import nullcontext
from dataclasses import dataclass
from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from django.db import DatabaseError, connection, transaction
from django.http import HttpRequest

from accounts.store import User
from authlog.events import AuthEvent, unknown_name_pseudonym
from guard import alerts, store
from guard.conf import guard_settings
from guard.counters import Counters, CountersUnavailable, with_counters
from guard.counters.db import relaxed_atomic
from guard.devices import (
    DeviceCookie,
    device_cookie,
    device_fingerprint,
    keyed_hash,
    known_device,
    today,
)
from guard.policy import (
    CounterKey,
    CounterState,
    Decision,
    Kind,
    Limit,
    client_network,
    decide,
    distinct_seen,
    failures,
    make_limit,
    network_of,
    parse_duration,
    parse_rate,
    success_ops,
)
from guard.rules import FailureFacts, SuccessFacts, failure_alerts, success_alerts

logger = logging.getLogger("guard")

# The clock of every throttle decision (DRF's injectable timer): tests replace it, nobody sleeps.
clock: Callable[[], float] = time.time

# Expired database counters are deleted a batch at a time, every this many attempts per process.
PRUNE_EVERY = 1000
PRUNE_BATCH = 500
_attempts = itertools.count(1)

_RATE_SETTINGS = {
    Kind.PAIR: "PAIR_RATE",
    Kind.USERNAME: "USERNAME_RATE",
    Kind.IP: "IP_RATE",
    Kind.ACCOUNT: "ACCOUNT_RATE",
    Kind.DEVICE: "DEVICE_RATE",
}


@lru_cache(maxsize=16)
def _parsed_limits(
    rates: tuple[tuple[Kind, str], ...], max_lockout: str, account_memory: str
) -> dict[Kind, Limit]:
    try:
        longest = parse_duration(max_lockout)
        limits = {kind: make_limit(parse_rate(text), max_lockout=longest) for kind, text in rates}
        idle = parse_duration(account_memory)
    except ValueError as error:
        raise ImproperlyConfigured(f"settings.GUARD: {error}") from error
    # The consecutive-failure cap locks until a success or an admin: its own
    # window, never shortened by MAX_LOCKOUT. Its count is forgotten after a
    # quiet ACCOUNT_MEMORY, so a sprayer's million one-off names are not kept for 90 days.
    account = limits[Kind.ACCOUNT]
    limits[Kind.ACCOUNT] = Limit(account.rate, account.rate.window, account.rate.window, idle)
    return limits


def current_limits() -> dict[Kind, Limit]:
    """Return the limit of every counter kind, from the settings."""
    rates = tuple((kind, getattr(guard_settings, name)) for kind, name in _RATE_SETTINGS.items())
    return _parsed_limits(rates, str(guard_settings.MAX_LOCKOUT), str(guard_settings.ACCOUNT_MEMORY))


def backoff_memory() -> int:
    """Return how long a counter's lockouts count towards the next one's length, in seconds."""
    try:
        return parse_duration(guard_settings.BACKOFF_MEMORY)
    except ValueError as error:
        raise ImproperlyConfigured(f"settings.GUARD: {error}") from error


@dataclass(frozen=True)
class Attempt:
    """A reserved sign-in attempt: whether it may check its password, and what it counted."""

    allowed: bool
    retry_after: int
    now: float
    keys: tuple[CounterKey, ...] = ()
    states: tuple[CounterState, ...] = ()
    decision: Decision | None = None
    backend: Counters | None = None
    user_ref: str = ""
    user_label: str = ""
    network: str = ""
    network_ref: str = ""
    device_id: str | None = None
    device_issued_day: int = 0
    ip_address: str | None = None

    def counter(self, kind: Kind) -> tuple[CounterKey, CounterState] | None:
        """Return the key and state of this attempt's counter of `kind`, if it touched one."""
        for key, state in zip(self.keys, self.states, strict=True):
            if key.kind is kind:
                return key, state
        return None


def account_keys(
    user_ref: str, label: str, limits: dict[Kind, Limit] | None = None
) -> tuple[CounterKey, CounterKey]:
    """Return the per-name and consecutive-failure counters of a name."""
    limits = limits or current_limits()
    return (
        CounterKey(Kind.USERNAME, user_ref, "", label, limits[Kind.USERNAME]),
        CounterKey(Kind.ACCOUNT, user_ref, "", f"{label} (consecutive)", limits[Kind.ACCOUNT]),
    )


def reserve_attempt(
    request: HttpRequest,
    *,
    username: str,
    user: User | None,
    ip_address: str | None,
    now: float | None = None,
) -> Attempt:
    """Count a sign-in attempt on its counters before its password is checked; say if it may go on.

    Raise DatabaseError if the database counters cannot be written (the
    caller fails closed); a Redis outage falls back to the database.
    """
    now = clock() if now is None else now
    if not guard_settings.ENABLED:
        return Attempt(allowed=True, retry_after=0, now=now, ip_address=ip_address)
    user_ref = keyed_hash("name", username)
    # Labels are what commands and the dashboard show: a name that matches no
    # account is shown as its trail pseudonym (it may be a mistyped password).
    label = user.username if user is not None else unknown_name_pseudonym(username)
    network = client_network(ip_address, ipv6_prefix=int(guard_settings.IPV6_PREFIX))
    network_ref = keyed_hash("network", network)
    device = known_device(request, user)
    device_id = device.device_id if device is not None else None
    limits = current_limits()
    if device_id is not None:
        device_ref = keyed_hash("device", device_id)
        keys: tuple[CounterKey, ...] = (
            CounterKey(Kind.DEVICE, user_ref, device_ref, f"{label} on a known browser", limits[Kind.DEVICE]),
        )
    else:
        keys = (
            CounterKey(Kind.PAIR, user_ref, network_ref, f"{label} from {network}", limits[Kind.PAIR]),
            *account_keys(user_ref, label, limits),
            CounterKey(Kind.IP, "", network_ref, network, limits[Kind.IP]),
        )
    memory = backoff_memory()

    def reserve(backend: Counters) -> tuple[Counters, list[CounterState], Decision]:
        with backend.atomic():
            states = backend.hit(keys, now=now)
            decision = decide(keys, states, now=now, backoff_memory=memory)
            # A decision's ops touch only the keys just hit: their rows are locked (one round trip less).
            backend.apply(decision.ops, now=now, backoff_memory=memory, rows_locked=True)
            if next(_attempts) % PRUNE_EVERY == 0:
                backend.prune(now=now, batch=PRUNE_BATCH)
        return backend, states, decision

    backend, states, decision = with_counters(reserve)
    return Attempt(
        allowed=decision.allowed,
        retry_after=decision.retry_after,
        now=now,
        keys=keys,
        states=tuple(states),
        decision=decision,
        backend=backend,
        user_ref=user_ref,
        user_label=label,
        network=network,
        network_ref=network_ref,
        device_id=device_id,
        device_issued_day=device.issued_day if device is not None else 0,
        ip_address=ip_address,
    )


def _failure_facts(attempt: Attempt, user: User | None) -> FailureFacts | None:
    name = attempt.counter(Kind.USERNAME)
    network = attempt.counter(Kind.IP)
    if name is None or network is None:
        return None  # a known browser's own counter: its owner mistyping, not an attack pattern
    fresh = 1 if attempt.decision is not None and attempt.decision.fresh_pair else 0
    now = attempt.now
    return FailureFacts(
        user_id=user.id if user is not None else None,
        user_label=attempt.user_label,
        user_ref=attempt.user_ref,
        network=attempt.network,
        network_ref=attempt.network_ref,
        account_failures=failures(*name, now),
        account_networks=distinct_seen(*name, now) + fresh,
        network_usernames=distinct_seen(*network, now) + fresh,
        account_window=name[0].limit.rate.window,
        network_window=network[0].limit.rate.window,
        new_locks=tuple(str(key.kind) for key in attempt.decision.new_locks) if attempt.decision else (),
    )


def _raise_failure_alerts(attempt: Attempt, user: User | None) -> None:
    facts = _failure_facts(attempt, user)
    if facts is None:
        return
    drafts = failure_alerts(facts, alerts.thresholds())
    if not drafts:
        return
    try:
        # Inside a caller's transaction, a savepoint: an alert that cannot be
        # written must not spoil it. Outside one, no transaction at all: the
        # lookup of open alerts is a read, and must not take SQLite's write lock.
        with transaction.atomic() if connection.in_atomic_block else nullcontext():
            alerts.raise_alerts(drafts, ip_address=attempt.ip_address, now=attempt.now)
    except DatabaseError as error:
        logger.error("guard: alert not recorded: %s", type(error).__name__)


def attempt_failed(attempt: Attempt, *, user: User | None) -> None:
    """Run the alert rules on a failed attempt (its failure stays counted); never raise."""
    _raise_failure_alerts(attempt, user)


def attempt_refused(attempt: Attempt, *, user: User | None) -> None:
    """Run the alert rules on an attempt refused by the throttle; only a new lockout can alert."""
    if attempt.decision is not None and attempt.decision.new_locks:
        _raise_failure_alerts(attempt, user)


def _success_facts(attempt: Attempt, login: AuthEvent, user: User) -> SuccessFacts:
    now = attempt.now
    name, account = attempt.counter(Kind.USERNAME), attempt.counter(Kind.ACCOUNT)
    if name is not None and account is not None:
        name_key, name_state = name
        # This attempt's own hit is not a failure.
        failures_before = max(0.0, failures(name_key, name_state, now) - 1)
        account_state = account[1]
    else:
        name_key, account_key = account_keys(attempt.user_ref, attempt.user_label)
        name_state, account_state = attempt.backend.peek([name_key, account_key], now=now)
        failures_before = failures(name_key, name_state, now)
    window = name_key.limit.rate.window
    locked_recently = any(
        state is not None and state.locked_until is not None and state.locked_until > now - window
        for state in (name_state, account_state)
    )
    network = network_of(
        attempt.ip_address,
        ipv4_prefix=int(guard_settings.NEW_NETWORK_PREFIX_V4),
        ipv6_prefix=int(guard_settings.NEW_NETWORK_PREFIX_V6),
    )
    # The login event's own summary of the user agent: parsed once per sign-in.
    fingerprint = device_fingerprint(login.browser, login.os, login.device)
    network_ref = keyed_hash("known-network", network) if network else ""
    device_ref = keyed_hash("known-device", fingerprint)
    sources = [("device", device_ref)] + ([("network", network_ref)] if network else [])
    new_kinds = store.remember_sources(user_id=user.id, sources=sources)
    # New to an account that had signed in from elsewhere before: the first
    # sign-in of an account is new to it by definition and alerts nobody.
    new = {
        kind for kind in new_kinds
        if store.known_source_count(user_id=user.id, kind=kind, at_most=2) > 1
    }
    new_device = "device" in new and attempt.device_id is None
    device_label = " / ".join(part for part in fingerprint.split("|") if part) or "unknown"
    return SuccessFacts(
        user_id=user.id,
        user_label=user.username,
        user_ref=attempt.user_ref,
        network=attempt.network,
        network_ref=attempt.network_ref,
        failures_before=failures_before,
        account_window=window,
        account_locked_recently=locked_recently,
        known_device=attempt.device_id is not None,
        new_network=network if "network" in new else None,
        new_network_ref=network_ref if "network" in new else "",
        new_device=device_label if new_device else None,
        new_device_ref=device_ref if new_device else "",
    )


def device_cookie_for(attempt: Attempt, *, user: User) -> DeviceCookie | None:
    """Return the device cookie to set after a successful sign-in (None: the browser's is current)."""
    if attempt.device_id is not None and attempt.device_issued_day == today(attempt.now):
        return None  # renewed at most once a day: no signing, no Set-Cookie on every sign-in
    return device_cookie(user, attempt.device_id, now=attempt.now)


def attempt_succeeded(attempt: Attempt, *, login: AuthEvent, user: User) -> None:
    """Settle a successful sign-in's counters and run the alert rules; never raise a database error.

    Runs inside the sign-in's transaction (a savepoint of its own): bookkeeping
    that fails is rolled back and logged, and the user is signed in regardless.
    """
    if attempt.backend is None:
        return
    try:
        with relaxed_atomic():
            _, account_key = account_keys(attempt.user_ref, attempt.user_label)
            ops = success_ops(
                attempt.keys,
                fresh_pair=attempt.decision is not None and attempt.decision.fresh_pair,
                account=account_key,
            )
            try:
                attempt.backend.apply(ops, now=attempt.now, backoff_memory=backoff_memory())
            except CountersUnavailable as error:
                logger.error("guard: counters of a sign-in not settled: %s", error)
            facts = _success_facts(attempt, login, user)
            drafts = success_alerts(facts, alerts.thresholds())
            alerts.raise_alerts(drafts, ip_address=attempt.ip_address, now=attempt.now)
    except (DatabaseError, CountersUnavailable) as error:
        logger.error("guard: bookkeeping of a sign-in failed: %s", type(error).__name__)
