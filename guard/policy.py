"""The throttling policy: which counters a sign-in attempt touches and what their states decide. Pure.

An attempt is *reserved* before its password is checked: every counter it
touches is incremented at once (SECURITY-CASES 39b), then `decide` reads the
new states. If a counter is locked, or this attempt takes one over its limit,
the attempt is refused: the counters that went over are locked, the others
get their increment back, and no password is checked. A refused attempt
therefore counts nowhere, so a flood of refused guesses neither extends a
lockout nor spills into the network's counter and locks out a NAT's other
users (SECURITY-CASES 36).

Known limits: a window is the "sliding window counter" estimate (the previous
fixed window weighted by how much of it still overlaps, plus the current
one). It is exact while the previous window is empty and assumes the previous
window's failures were spread evenly otherwise.
"""

import ipaddress
import math
import re
from collections.abc import Sequence
from dataclasses import dataclass
from enum import StrEnum

_RATE = re.compile(r"\s*([0-9]{1,12})\s*/\s*([0-9]{0,9})\s*([smhd])\s*\Z")
_DURATION = re.compile(r"\s*([0-9]{1,9})\s*([smhd]?)\s*\Z")
_UNIT = {"s": 1, "m": 60, "h": 3600, "d": 86400}


class Kind(StrEnum):
    """What a counter counts failures of."""

    PAIR = "pair"  # one name from one network
    USERNAME = "username"  # one name from every network
    IP = "ip"  # one network over every name
    ACCOUNT = "account"  # one name from every browser not known to it, until a success
    DEVICE = "device"  # one known browser of one account


@dataclass(frozen=True)
class Rate:
    """At most `limit` failures in any `window` seconds."""

    limit: int
    window: int


@dataclass(frozen=True)
class Limit:
    """A rate and the lockouts that enforce it; `idle_expiry`: forget the counter after this long idle."""

    rate: Rate
    first_lockout: int
    max_lockout: int
    idle_expiry: int | None = None


def parse_duration(text: str | int) -> int:
    """Return seconds of "90", "90s", "15m", "1h" or "365d"; raise ValueError otherwise."""
    match = _DURATION.match(str(text))
    if not match or int(match.group(1)) < 1:
        raise ValueError(f"{text!r} is not a duration like 30s, 15m, 1h or 7d")
    return int(match.group(1)) * _UNIT[match.group(2) or "s"]


def parse_rate(text: str) -> Rate:
    """Return the Rate of "5/15m" (five per fifteen minutes) or "20/h"; raise ValueError otherwise."""
    match = _RATE.match(text) if isinstance(text, str) else None
    if not match or int(match.group(1)) < 1 or int(match.group(2) or 1) < 1:
        raise ValueError(f"{text!r} is not a rate like 5/15m, 20/1h or 100/90d")
    return Rate(limit=int(match.group(1)), window=int(match.group(2) or 1) * _UNIT[match.group(3)])


def make_limit(rate: Rate, *, max_lockout: int) -> Limit:
    """Return the Limit of a rate: the first lockout lasts one window, later ones double up to the max."""
    return Limit(rate=rate, first_lockout=rate.window, max_lockout=max(max_lockout, rate.window))


def client_network(ip_address: str | None, *, ipv6_prefix: int) -> str:
    """Return the address counters count: the IPv4 address, or the IPv6 address's /prefix network."""
    if not ip_address:
        return "unknown"
    try:
        address = ipaddress.ip_address(ip_address)
    except ValueError:
        return "unknown"
    if address.version == 6 and ipv6_prefix < 128:
        return str(ipaddress.ip_network(f"{address}/{ipv6_prefix}", strict=False))
    return str(address)


def network_of(ip_address: str | None, *, ipv4_prefix: int, ipv6_prefix: int) -> str | None:
    """Return the network an address belongs to for "a network the user never used", or None."""
    try:
        address = ipaddress.ip_address(ip_address or "")
    except ValueError:
        return None
    prefix = ipv4_prefix if address.version == 4 else ipv6_prefix
    return str(ipaddress.ip_network(f"{address}/{prefix}", strict=False))


@dataclass(frozen=True)
class CounterKey:
    """One counter an attempt touches. `user_ref`/`source_ref` are keyed hashes ('' if unused)."""

    kind: Kind
    user_ref: str
    source_ref: str
    label: str
    limit: Limit

    @property
    def id(self) -> str:
        """Return the counter's name in the store: hashes only (SECURITY-CASES 13)."""
        return f"{self.kind}:{self.user_ref or '-'}:{self.source_ref or '-'}"

    def bucket(self, now: float) -> int:
        return int(now // self.limit.rate.window)

    def expires_at(self, now: float) -> float:
        """Return when the counts of a hit at `now` stop mattering: the end of the next window.

        A counter with an idle expiry is forgotten that long after its last hit
        instead (a lockout still keeps it until the lockout is over).
        """
        if self.limit.idle_expiry is not None:
            return now + self.limit.idle_expiry
        return float((self.bucket(now) + 2) * self.limit.rate.window)


@dataclass(frozen=True)
class CounterState:
    """A counter as stored, after this attempt's hit. `seen` counts distinct pairs (names or networks)."""

    bucket: int
    current: int
    previous: int
    seen_current: int = 0
    seen_previous: int = 0
    locked_until: float | None = None
    lockouts: int = 0

    def locked(self, now: float) -> bool:
        return self.locked_until is not None and self.locked_until > now


def _weighted(current: int, previous: int, key: CounterKey, bucket: int, now: float) -> float:
    window = key.limit.rate.window
    now_bucket = key.bucket(now)
    if bucket < now_bucket:
        # Stored before this window began: roll it forward.
        previous, current = (current if bucket == now_bucket - 1 else 0), 0
    elapsed = (now - now_bucket * window) / window
    return previous * (1.0 - elapsed) + current


def failures(key: CounterKey, state: CounterState | None, now: float) -> float:
    """Return the estimated failures of the counter in the window ending at `now`."""
    if state is None:
        return 0.0
    return _weighted(state.current, state.previous, key, state.bucket, now)


def distinct_seen(key: CounterKey, state: CounterState | None, now: float) -> float:
    """Return the estimated distinct pairs (names of a network, networks of a name) in the window."""
    if state is None:
        return 0.0
    return _weighted(state.seen_current, state.seen_previous, key, state.bucket, now)


def lockout_duration(key: CounterKey, state: CounterState, *, now: float, backoff_memory: int) -> int:
    """Return how long the next lockout of this counter lasts: doubled for each recent lockout."""
    recent = state.locked_until is not None and now - state.locked_until < backoff_memory
    level = state.lockouts if recent else 0
    limit = key.limit
    # Cap the exponent before computing: 2 ** level of a huge level is a huge int.
    return min(limit.first_lockout * 2 ** min(level, 40), limit.max_lockout)


class OpKind(StrEnum):
    LOCK = "lock"  # set locked_until and lockouts, zero the counts (if not locked already)
    UNDO = "undo"  # take back one hit (and one distinct pair, if `unseen`)
    SEEN = "seen"  # count one more distinct pair
    RESET = "reset"  # forget counts, lock and backoff (a successful sign-in)


@dataclass(frozen=True)
class Op:
    """One change to a stored counter, applied by a counters backend."""

    kind: OpKind
    key: CounterKey
    until: float | None = None
    lockouts: int = 0
    unseen: bool = False

    def expires_at(self, now: float, *, backoff_memory: int) -> float:
        """Return when the counter may be forgotten after this change."""
        if self.kind is OpKind.LOCK and self.until is not None:
            # Keep the lockout count while it still raises the next lockout.
            return max(self.key.expires_at(now), self.until + backoff_memory)
        return self.key.expires_at(now)


@dataclass(frozen=True)
class Decision:
    """The verdict on a reserved attempt, and the changes that carry it out."""

    allowed: bool
    retry_after: int
    ops: tuple[Op, ...]
    new_locks: tuple[CounterKey, ...]
    fresh_pair: bool


def decide(
    keys: Sequence[CounterKey],
    states: Sequence[CounterState],
    *,
    now: float,
    backoff_memory: int,
) -> Decision:
    """Judge an attempt whose hits are in `states` (one per key, in the same order)."""
    waits: list[float] = []
    over: list[tuple[CounterKey, CounterState]] = []
    counted: list[CounterKey] = []
    for key, state in zip(keys, states, strict=True):
        if state.locked(now):
            waits.append(state.locked_until - now)
            continue
        counted.append(key)
        if failures(key, state, now) > key.limit.rate.limit:
            over.append((key, state))
    pair = next((s for k, s in zip(keys, states, strict=True) if k.kind is Kind.PAIR), None)
    # The first counted failure of this name from this network in two windows:
    # one more distinct name for the network, one more network for the name.
    fresh = pair is not None and not pair.locked(now) and pair.current == 1 and pair.previous == 0
    if not waits and not over:
        ops = tuple(Op(OpKind.SEEN, k) for k in keys if k.kind in (Kind.USERNAME, Kind.IP)) if fresh else ()
        return Decision(allowed=True, retry_after=0, ops=ops, new_locks=(), fresh_pair=fresh)
    ops_list: list[Op] = []
    over_keys = {k.id for k, _ in over}
    for key, state in over:
        duration = lockout_duration(key, state, now=now, backoff_memory=backoff_memory)
        waits.append(duration)
        ops_list.append(Op(OpKind.LOCK, key, until=now + duration, lockouts=state.lockouts + 1))
    ops_list.extend(Op(OpKind.UNDO, k) for k in counted if k.id not in over_keys)
    return Decision(
        allowed=False,
        retry_after=max(1, math.ceil(max(waits))),
        ops=tuple(ops_list),
        new_locks=tuple(k for k, _ in over),
        fresh_pair=False,
    )


def success_ops(keys: Sequence[CounterKey], *, fresh_pair: bool, account: CounterKey) -> tuple[Op, ...]:
    """Return the changes a successful sign-in makes to the counters its attempt touched.

    The pair, device and consecutive-failure counters start over; the name and
    network counters only get this attempt's own hit back, so an attacker's
    own successful sign-in cannot wipe the failures it made on other names
    (allauth 65.8.1, django-defender #188, SECURITY-CASES 37).
    """
    ops = [Op(OpKind.RESET, account)]
    for key in keys:
        if key.kind in (Kind.PAIR, Kind.DEVICE):
            ops.append(Op(OpKind.RESET, key))
        elif key.kind in (Kind.USERNAME, Kind.IP):
            ops.append(Op(OpKind.UNDO, key, unseen=fresh_pair))
    return tuple(ops)
