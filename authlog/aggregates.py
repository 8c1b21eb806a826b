"""Counts kept up to date as events are written, so the dashboard's charts never scan the trail.

A GROUP BY over 30 days of a 10-million-row trail takes over half a second
on SQLite (issue 4); the charts read these small tables instead. Each count
is an upsert (`INSERT ... ON CONFLICT DO UPDATE SET n = n + 1`, as Zulip's
analytics do) in the event's own transaction, so a rolled-back event is not
counted. Known limits: on PostgreSQL, concurrent events of one hour and type
queue briefly on that hour's row until their transactions commit; the seed's
raw INSERT bypasses these counts (run the migration's backfill again).

Retention (authlog/retention.py calls the functions at the end): the
failure counts per address are personal data like the failures themselves,
so their addresses are cut to /24 or /48 with the events' (counts that
meet on one network are added up) and they are deleted with the failures;
an address key goes once no event holds its address. `event_counts` and
`session_duration_days` hold no personal data and are kept.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from datetime import date, datetime
from typing import TYPE_CHECKING

from django.db import transaction

from authlog import chain, store
from authlog.networks import address_text_key

if TYPE_CHECKING:
    from authlog.events import AuthEvent

# Upper bounds (seconds) of the session-duration buckets; the last bucket is open.
DURATION_BOUNDS = (60, 5 * 60, 15 * 60, 3600, 4 * 3600, 12 * 3600, 24 * 3600, 7 * 24 * 3600)
DURATION_LABELS = (
    "< 1 min", "1–5 min", "5–15 min", "15–60 min", "1–4 h", "4–12 h", "12–24 h", "1–7 days",
    "7+ days",
)


def duration_bucket(seconds: float) -> int:
    """Return the bucket of a session duration; a negative one (clock skew) counts as zero."""
    for index, bound in enumerate(DURATION_BOUNDS):
        if seconds < bound:
            return index
    return len(DURATION_BOUNDS)


def session_seconds(start: datetime, end: datetime) -> float:
    """Return the seconds from sign-in to sign-out, never negative (SECURITY-CASES 51)."""
    return max(0.0, (end - start).total_seconds())


def count_event(event: AuthEvent) -> None:
    """Update the counts for a new event, inside the transaction that wrote it (which stamped it)."""
    bucket = None
    if event.event_type == store.LOGOUT and event.session_ref:
        started = store.login_time_of_session(session_ref=event.session_ref)
        if started is not None:
            bucket = duration_bucket(session_seconds(started, event.timestamp))
    store.add_event_counts(
        event_type=event.event_type,
        at=event.timestamp,
        ip_address=event.ip_address,
        ip_key=address_text_key(event.ip_address),
        ip_failure=event.event_type == store.LOGIN_FAILED,
        duration_bucket=bucket,
    )


# --- Retention ---------------------------------------------------------------------


def anonymise_failure_counts(*, before_day: date, batch_size: int, between_batches: Callable[[], None]) -> int:
    """Cut the addresses of the failure counts of days before `before_day`; return how many moved."""
    after, moved = None, 0
    while True:
        page = store.failure_ip_day_page(before_day=before_day, after=after, limit=batch_size)
        if not page:
            return moved
        moves = [(day, ip, public, n) for day, ip, n in page if (public := chain.ip_public_form(ip)) != ip]
        if moves:
            # Days this old get no new failures: the counts read are the counts moved.
            with transaction.atomic():
                store.move_failure_ip_days(moves=moves)
                remember_address_keys(sorted({public for _d, _ip, public, _n in moves}))
            moved += len(moves)
            between_batches()
        after = page[-1][:2]


def remember_address_keys(addresses: Sequence[str]) -> None:
    """Give anonymised addresses their sortable key, so the CIDR filter still finds their events."""
    for address in addresses:
        key = address_text_key(address)
        if key is not None:
            store.remember_ip_key(ip_address=address, ip_key=key)


def prune_failure_counts(*, before_day: date, batch_size: int, between_batches: Callable[[], None]) -> int:
    """Delete the failure counts of days before `before_day`, in batches; return how many went."""
    deleted = 0
    while True:
        with transaction.atomic():
            done = store.delete_failure_ip_days(before_day=before_day, limit=batch_size)
        if not done:
            return deleted
        deleted += done
        between_batches()


def forget_unused_address_keys(
    *, batch_size: int, between_batches: Callable[[], None], addresses: Sequence[str] | None = None
) -> int:
    """Delete the keys of addresses no event holds any more (these, or all); return how many went."""
    if addresses is not None:
        return sum(
            store.forget_unused_ip_keys(addresses=addresses[start:start + batch_size])
            for start in range(0, len(addresses), batch_size)
        )
    after, forgotten = None, 0
    while True:
        page = store.ip_key_page(after=after, limit=batch_size)
        if not page:
            return forgotten
        with transaction.atomic():
            forgotten += store.forget_unused_ip_keys(addresses=page)
        after = page[-1]
        between_batches()


def uncount_failures(*, failed_login_ids: Sequence[int]) -> None:
    """Take failed sign-ins about to be erased off the per-address counts."""
    counts = store.failures_by_day_and_address(ids=failed_login_ids)
    # A count may already be anonymised while its failure is not (counts go by whole days).
    store.subtract_ip_failures(
        counts=[(day, ip, n) for day, ip, n in counts],
        fallback=chain.ip_public_form,
    )
