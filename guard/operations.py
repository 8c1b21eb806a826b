"""What an admin can do about throttles and alerts, each action recorded (who, when, what, from where).

The dashboard views and the `throttles` / `alerts` commands call these
functions; both record the action in guard_actions, chained in the trail,
in the same transaction as the change (the chain's head is taken first, as
by every writer of the chain).
"""

import re
from dataclasses import dataclass

from django.db import transaction

from accounts.usernames import normalise_username
from authlog import trail
from authlog.client_ip import parse_address
from guard import chained, store, throttle
from guard.conf import guard_settings
from guard.counters import CountersUnavailable, database_counters, primary_counters
from guard.devices import keyed_hash
from guard.policy import CounterKey, Kind, client_network, failures

_REF = re.compile(r"[0-9a-f]{24}\Z")
USER, SOURCE = "user", "source"


class OperationError(ValueError):
    """An action that cannot be done; the message is safe to show."""


@dataclass(frozen=True)
class Actor:
    """Who acts: an admin on the dashboard (user id, name, IP) or a command (its name)."""

    user_id: int | None
    label: str
    ip_address: str | None = None


@dataclass(frozen=True)
class Throttle:
    """A stored counter as an admin reads it."""

    kind: str
    label: str
    scope: str  # what an unlock of this row clears: USER (the name) or SOURCE (the network/device)
    ref: str
    failures: int
    locked: bool
    retry_after: int
    lockouts: int


def _record(actor: Actor, action: str, target: str, detail: dict) -> None:
    action_id = store.insert_action(
        actor_id=actor.user_id,
        actor=actor.label,
        action=action,
        target=target,
        detail=detail,
        ip_address=actor.ip_address,
    )
    chained.chain_admin_action(action_id)


def user_ref_of(username: str) -> str:
    """Return the counter hash of a username as typed (any case, width or spacing)."""
    return keyed_hash("name", normalise_username(username))


def network_ref_of(ip: str) -> tuple[str, str]:
    """Return (network, counter hash) of an IP address; raise OperationError if it is not one."""
    address = parse_address(ip) if len(ip) <= 64 else None
    if address is None:
        raise OperationError("expected an IPv4 or IPv6 address")
    network = client_network(str(address), ipv6_prefix=int(guard_settings.IPV6_PREFIX))
    return network, keyed_hash("network", network)


def _check_ref(ref: str) -> str:
    if not isinstance(ref, str) or not _REF.match(ref):
        raise OperationError("not a throttle reference")
    return ref


def list_throttles(
    *, locked_only: bool, user_ref: str | None = None, source_ref: str | None = None, limit: int = 100
) -> list[Throttle]:
    """Return the stored throttles (locked first): Redis's, if configured, and the database's."""
    now = throttle.clock()
    limits = throttle.current_limits()
    # The database's too when Redis is primary: counts made during an outage live there.
    backends = list(dict.fromkeys([primary_counters(), database_counters()]))
    counters = []
    try:
        for backend in backends:
            counters += backend.stored(
                now=now, locked_only=locked_only, user_ref=user_ref, source_ref=source_ref, limit=limit
            )
    except CountersUnavailable as error:
        raise OperationError(f"the counters cannot be read: {error}") from None
    counters.sort(key=lambda c: (not c.state.locked(now), -c.expires_at))
    listed = []
    for counter in counters:
        kind = Kind(counter.kind)
        key = CounterKey(kind, counter.user_ref, counter.source_ref, counter.label, limits[kind])
        locked = counter.state.locked(now)
        listed.append(
            Throttle(
                kind=counter.kind,
                label=counter.label,
                scope=USER if counter.user_ref else SOURCE,
                ref=counter.user_ref or counter.source_ref,
                failures=round(failures(key, counter.state, now)),
                locked=locked,
                retry_after=max(0, int(counter.state.locked_until - now)) if locked else 0,
                lockouts=counter.state.lockouts,
            )
        )
    return listed[:limit]


def clear_counters(*, user_ref: str | None = None, source_ref: str | None = None, everything: bool = False) -> int:
    """Clear these counters in the database and in Redis; return how many. OperationError: Redis down."""
    # The database always: counts made while Redis was down live there.
    cleared = database_counters().clear(user_ref=user_ref, source_ref=source_ref, everything=everything)
    primary = primary_counters()
    if primary is not database_counters():
        try:
            cleared += primary.clear(user_ref=user_ref, source_ref=source_ref, everything=everything)
        except CountersUnavailable as error:
            raise OperationError(f"Redis cannot be reached ({error}); nothing was unlocked there") from None
    return cleared


def _stored_label(scope: str, ref: str) -> str:
    # What the record names: the stored label of the name or network (never
    # text from a form), or the reference itself if no counter holds one.
    listed = list_throttles(
        locked_only=False,
        user_ref=ref if scope == USER else None,
        source_ref=ref if scope == SOURCE else None,
        limit=20,
    )
    named = [t for t in listed if t.kind in ("username", "ip")] or listed
    return named[0].label if named else ref


def unlock(*, scope: str, ref: str, actor: Actor, label: str | None = None) -> int:
    """Delete every counter of a name (scope USER) or of a network or device (SOURCE); record it.

    `label` names it in the record; without one, the counters' stored label does.
    """
    _check_ref(ref)
    if scope not in (USER, SOURCE):
        raise OperationError("scope must be 'user' or 'source'")
    if label is None:
        label = _stored_label(scope, ref)
    with transaction.atomic():
        trail.hold_chain_head()
        cleared = clear_counters(**({"user_ref": ref} if scope == USER else {"source_ref": ref}))
        _record(actor, "unlock", label, {"scope": scope, "counters_cleared": cleared})
    return cleared


def unlock_alert_subject(*, alert_id: int, actor: Actor) -> int:
    """Unlock the user or network an alert is about; record it."""
    alert = store.alert_by_id(alert_id=alert_id)
    if alert is None:
        raise OperationError("no such alert")
    scope = USER if alert.subject_type == "user" else SOURCE
    return unlock(scope=scope, ref=alert.subject_ref, label=alert.subject_label, actor=actor)


@dataclass(frozen=True)
class AlertsOverview:
    """What the alerts page shows: open and recent alerts, locks now, recent admin actions."""

    open_alerts: list[store.Alert]
    open_count: int
    recent: list[store.Alert]
    locks: list[Throttle]
    locks_error: str | None
    actions: list[store.AdminAction]


def alerts_overview() -> AlertsOverview:
    """Return the alerts page's content; locks that cannot be read (Redis down) are said, not raised."""
    try:
        locks, locks_error = list_throttles(locked_only=True, limit=100), None
    except OperationError as problem:
        locks, locks_error = [], str(problem)
    return AlertsOverview(
        open_alerts=store.alerts(status=store.ALERT_OPEN, limit=200),
        open_count=store.count_alerts(status=store.ALERT_OPEN),
        recent=store.alerts(status=store.ALERT_ACKNOWLEDGED, limit=20),
        locks=locks,
        locks_error=locks_error,
        actions=store.recent_actions(limit=20),
    )


def clear_all_throttles(*, actor: Actor) -> int:
    """Delete every counter; record it."""
    with transaction.atomic():
        trail.hold_chain_head()
        cleared = clear_counters(everything=True)
        _record(actor, "clear_throttles", "all", {"counters_cleared": cleared})
    return cleared


def acknowledge(*, alert_ids: list[int] | None, actor: Actor) -> list[int]:
    """Acknowledge open alerts (these ids, or all of them); record which."""
    with transaction.atomic():
        trail.hold_chain_head()
        done = store.acknowledge_alerts(alert_ids=alert_ids, by=actor.label)
        if done:
            target = ", ".join(f"#{i}" for i in done[:20]) + (" ..." if len(done) > 20 else "")
            _record(actor, "acknowledge", target, {"alert_ids": done[:1000], "count": len(done)})
    return done
