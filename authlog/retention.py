"""Keep the trail only as long as the policy says, and no more personal than it needs to be.

`prune_trail` deletes expired events, `anonymise_addresses` cuts old IPs to
their /24 or /48, `delete_user` keeps a deleted user's events under a
pseudonym or, when asked, erases them. Each records itself in the chain
first (trail_operations), so `authlog verify` can tell a recorded removal
from tampering; each works in batches of PRUNE_BATCH_SIZE, one short
transaction each with a pause between them, so sign-ins keep being
recorded throughout (Keycloak #20073: one DELETE of 10M rows locked a
database). Without `for_real` they only count.

A pruned event leaves its chain entry (a few hashes, its kind and time, no
personal data) until every older event is gone too; then the entries are
dropped up to a signed anchor (a checkpoint written before they go), from
which verification restarts.

The dashboard's counts follow the events (authlog/aggregates.py): failure
counts per address are anonymised and pruned with the failures, address
keys go with the last event that holds their address, an erased user's
failures are taken off the counts. Other apps forget their own data of a
deleted user or a pruned period through authlog/signals.py.

Known limits: `delete_user` holds the chain's head lock for its whole
transaction, so sign-ins wait while a user with very many events is erased;
an address key deleted while a new event from that address commits leaves
that event out of the CIDR filter (not out of the trail) until the next
backfill.
"""

import time
from collections import defaultdict
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from datetime import datetime, timedelta

from django.contrib.auth.hashers import make_password
from django.db import transaction
from django.utils import timezone

from accounts import store as accounts_store
from authlog import aggregates, chain, signals, store, trail
from authlog.conf import authlog_settings

Progress = Callable[[str], None]


def _quiet(message: str) -> None:
    return None


def _nothing() -> None:
    return None


@dataclass(frozen=True)
class ExpiryRule:
    """The events of one table and kind that expire, and the time before which they have."""

    table: trail.ChainedTable
    kind: str | None  # None: every row of the table
    retention_kind: str
    before: datetime


def expiry_rules(*, at: datetime) -> list[ExpiryRule]:
    """Return what expires at `at` under the retention policy (kinds kept forever have no rule)."""
    days_of = {rule.kind: rule.days for rule in trail.retention_policy()}
    rules = []
    for table in trail.chained_tables():
        kinds = [None] if table.retention_kind else [k if table.kind_column else None for k in table.kinds]
        for kind in kinds:
            retention_kind = table.retention_kind or kind or table.fixed_kind
            days = days_of.get(retention_kind)
            if days is not None:
                rules.append(ExpiryRule(table, kind, retention_kind, at - timedelta(days=days)))
    return rules


@dataclass(frozen=True)
class PruneCount:
    """How many events of one kind were (or would be) deleted."""

    kind: str
    table: str
    before: datetime
    events: int


@dataclass(frozen=True)
class PruneReport:
    """What `prune_trail` did, or would do."""

    for_real: bool
    counts: tuple[PruneCount, ...]
    checkpoint: chain.Checkpoint | None = None
    operation_seq: int | None = None
    anchor: chain.Checkpoint | None = None
    entries_dropped: int = 0
    failure_counts_deleted: int = 0
    address_keys_forgotten: int = 0

    @property
    def events(self) -> int:
        return sum(count.events for count in self.counts)


def _batches(
    step: Callable[[], int], *, pause: float, sleep: Callable[[float], None]
) -> Iterator[int]:
    """Run `step` (one batch, in its own transaction) until it does nothing; yield each count."""
    while True:
        with transaction.atomic():
            done = step()
        if not done:
            return
        yield done
        # Let a sign-in that waits for SQLite's write lock have it before the next batch.
        sleep(pause)


def prune_trail(
    *,
    for_real: bool,
    now: Callable[[], datetime] = timezone.now,
    batch_size: int | None = None,
    pause: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress = _quiet,
) -> PruneReport:
    """Delete the events older than their kind's retention, then the chain entries no longer needed."""
    at = now()
    batch_size = batch_size or authlog_settings.PRUNE_BATCH_SIZE
    pause = authlog_settings.PRUNE_PAUSE_SECONDS if pause is None else pause
    rules = expiry_rules(at=at)
    if not for_real:
        counts = tuple(
            PruneCount(
                rule.retention_kind,
                rule.table.name,
                rule.before,
                store.count_expired_events(
                    table=rule.table.name, time_column=rule.table.time_column,
                    kind_column=rule.table.kind_column if rule.kind else None,
                    kind=rule.kind, before=rule.before,
                ),
            )
            for rule in rules
        )
        return PruneReport(for_real=False, counts=counts)

    # The head as it is before anything goes: an operator can copy it elsewhere.
    checkpoint = trail.write_checkpoint(now=now)
    progress(f"checkpoint before the prune: {checkpoint.document()}")
    operation = trail.record_operation(
        action=trail.PRUNE,
        subject=None,
        detail={
            "through_seq": checkpoint.seq,
            "before": {r.retention_kind: chain.canonical_time(r.before) for r in rules},
        },
    )
    counts = []
    for rule in rules:
        table = rule.table

        def step(table: trail.ChainedTable = table, rule: ExpiryRule = rule) -> int:
            ids = store.expired_event_ids(
                table=table.name, time_column=table.time_column,
                kind_column=table.kind_column if rule.kind else None, kind=rule.kind,
                before=rule.before, through_seq=checkpoint.seq, limit=batch_size,
            )
            store.delete_events(table=table.name, ids=ids)
            store.forget_chain_digests(table=table.name, ids=ids)
            return len(ids)

        deleted = 0
        for done in _batches(step, pause=pause, sleep=sleep):
            deleted += done
            progress(f"{rule.retention_kind}: {deleted} deleted")
        counts.append(PruneCount(rule.retention_kind, table.name, rule.before, deleted))
    anchor, dropped = _drop_chain_prefix(batch_size=batch_size, pause=pause, sleep=sleep, now=now)
    if anchor is not None:
        progress(f"chain entries up to seq {anchor.seq} dropped ({dropped}); anchor: {anchor.document()}")
    counts_deleted, keys_forgotten = _prune_counts(rules, batch_size=batch_size, between=lambda: sleep(pause))
    progress(f"dashboard counts: {counts_deleted} per-address counts deleted, {keys_forgotten} address keys")
    signals.trail_pruned.send(
        sender=prune_trail, at=at, retention={r.kind: r.days for r in trail.retention_policy()}
    )
    return PruneReport(
        for_real=True,
        counts=tuple(counts),
        checkpoint=checkpoint,
        operation_seq=operation.seq,
        anchor=anchor,
        entries_dropped=dropped,
        failure_counts_deleted=counts_deleted,
        address_keys_forgotten=keys_forgotten,
    )


def _prune_counts(rules: list[ExpiryRule], *, batch_size: int, between: Callable[[], None]) -> tuple[int, int]:
    """Delete the per-address failure counts as old as pruned failures, and the keys of addresses gone."""
    deleted = 0
    for rule in rules:
        if rule.retention_kind == store.LOGIN_FAILED:
            # Whole days only: a day's count goes once all of that day's failures have.
            deleted += aggregates.prune_failure_counts(
                before_day=rule.before.date(), batch_size=batch_size, between_batches=between
            )
    forgotten = aggregates.forget_unused_address_keys(batch_size=batch_size, between_batches=between)
    return deleted, forgotten


def _first_needed_seq(*, after_seq: int, batch_size: int) -> int | None:
    """Return the seq of the oldest chain entry whose event still exists (None: the chain is empty)."""
    cursor = after_seq
    while True:
        page = store.chain_prefix_entries(after_seq=cursor, limit=batch_size)
        if not page:
            return None
        by_table: dict[str, list[int]] = defaultdict(list)
        for _seq, table, event_id in page:
            by_table[table].append(event_id)
        existing = {
            table: store.existing_event_ids(table=table, ids=ids) if trail.chained_table(table) else set(ids)
            for table, ids in by_table.items()
        }
        for seq, table, event_id in page:
            if event_id in existing[table]:
                return seq
        cursor = page[-1][0]


def _drop_chain_prefix(
    *, batch_size: int, pause: float, sleep: Callable[[float], None], now: Callable[[], datetime]
) -> tuple[chain.Checkpoint | None, int]:
    """Drop the entries before the oldest surviving event, after signing an anchor at the last one."""
    anchors, _bad = trail.stored_checkpoints(kind="anchor")
    anchored = max((a.seq for a in anchors), default=0)
    first_needed = _first_needed_seq(after_seq=anchored, batch_size=batch_size)
    if first_needed is None or first_needed - 1 <= anchored:
        return None, 0
    last_dropped = store.chain_entry(seq=first_needed - 1)
    if last_dropped is None:
        return None, 0  # a gap the prune did not make: leave it for `authlog verify` to report
    anchor = trail.write_anchor(seq=last_dropped.seq, entry_hash=last_dropped.entry_hash, now=now)
    dropped = 0
    for done in _batches(
        lambda: store.delete_chain_prefix(through_seq=anchor.seq, limit=batch_size),
        pause=pause,
        sleep=sleep,
    ):
        dropped += done
    return anchor, dropped


@dataclass(frozen=True)
class AnonymiseReport:
    """What `anonymise_addresses` did, or would do."""

    for_real: bool
    before: datetime | None
    addresses: int
    operation_seq: int | None = None
    failure_counts: int = 0


def anonymise_addresses(
    *,
    for_real: bool,
    now: Callable[[], datetime] = timezone.now,
    batch_size: int | None = None,
    pause: float | None = None,
    sleep: Callable[[float], None] = time.sleep,
    progress: Progress = _quiet,
) -> AnonymiseReport:
    """Cut the addresses older than ANONYMISE_IPS_AFTER_DAYS to their /24 or /48, and drop their salts."""
    days = authlog_settings.ANONYMISE_IPS_AFTER_DAYS
    if days is None:
        return AnonymiseReport(for_real=for_real, before=None, addresses=0)
    before = now() - timedelta(days=days)
    batch_size = batch_size or authlog_settings.PRUNE_BATCH_SIZE
    pause = authlog_settings.PRUNE_PAUSE_SECONDS if pause is None else pause
    if not for_real:
        return AnonymiseReport(False, before, store.count_ip_pending(before=before))
    head = trail.current_head()
    operation = trail.record_operation(
        action=trail.ANONYMISE_IPS,
        subject=None,
        detail={"through_seq": head[0], "before": chain.canonical_time(before)},
    )

    def step() -> int:
        entries = store.ip_pending_entries(before=before, through_seq=head[0], limit=batch_size)
        by_table: dict[str, list[int]] = defaultdict(list)
        for _seq, table, event_id in entries:
            by_table[table].append(event_id)
        for name, ids in by_table.items():
            table = trail.chained_table(name)
            if table is None or table.ip_column is None:
                continue
            addresses = store.event_addresses(table=name, ip_column=table.ip_column, ids=ids)
            cut = [
                (table.public_form(address), event_id)
                for event_id, address in addresses.items()
                if address is not None and table.public_form(address) != address
            ]
            store.replace_event_addresses(table=name, ip_column=table.ip_column, addresses=cut)
            if table.ip_public_form is None and cut:
                # The CIDR filter finds events by address key: the network gets one, the full address loses its own.
                aggregates.remember_address_keys(sorted({public for public, _id in cut if public}))
                full = sorted({addresses[event_id] for _public, event_id in cut})
                aggregates.forget_unused_address_keys(
                    batch_size=batch_size, between_batches=_nothing, addresses=full
                )
        store.forget_ip_salts(seqs=[seq for seq, _table, _id in entries])
        return len(entries)

    total = 0
    for done in _batches(step, pause=pause, sleep=sleep):
        total += done
        progress(f"{total} addresses anonymised")
    # Counts go by whole days: the day `before` falls in is cut too (a day early, never late).
    moved = aggregates.anonymise_failure_counts(
        before_day=before.date() + timedelta(days=1), batch_size=batch_size, between_batches=lambda: sleep(pause)
    )
    progress(f"{moved} per-address failure counts anonymised")
    return AnonymiseReport(True, before, total, operation.seq, failure_counts=moved)


@dataclass(frozen=True)
class UserDeletion:
    """What `delete_user` did, or would do."""

    user_id: int
    pseudonym: str
    erase: bool
    for_real: bool
    events: int
    operation_seq: int | None = None


def delete_user(*, user_id: int, erase: bool, for_real: bool) -> UserDeletion:
    """Delete an account: keep its events under a pseudonym, or erase them (recorded either way).

    Raise LookupError if there is no such user.
    """
    user = accounts_store.user_by_id(user_id=user_id)
    if user is None:
        raise LookupError(f"no user with id {user_id}")
    pseudonym = trail.deleted_user_pseudonym(user_id)
    user_tables = [t for t in trail.chained_tables() if t.user_column]
    if not for_real:
        events = sum(
            len(store.event_ids_of_user(table=t.name, user_column=t.user_column, user_id=user_id))
            for t in user_tables
        )
        return UserDeletion(user_id, pseudonym, erase, False, events)
    with transaction.atomic():
        # Hold the head: no event of this user can be chained while it is renamed or erased,
        # so the recorded operation covers exactly the rows it changes.
        through_seq, _hash = store.lock_chain_head(genesis_hash=chain.GENESIS_HASH)
        # Before the rename: a receiver may need the name (guard's counters are keyed by it).
        signals.user_deleted.send(sender=delete_user, user_id=user_id, username=user.username, erase=erase)
        if erase:
            seqs = sorted(
                seq
                for t in user_tables
                for seq in store.chain_seqs_of_user(table=t.name, user_column=t.user_column, user_id=user_id)
            )
            operation = trail.record_operation(
                action=trail.ERASE_USER,
                subject=pseudonym,
                detail={"through_seq": through_seq, "seqs": seqs},
            )
            events = 0
            addresses: set[str] = set()
            for t in user_tables:
                ids = store.event_ids_of_user(table=t.name, user_column=t.user_column, user_id=user_id)
                for start in range(0, len(ids), 500):
                    chunk = ids[start:start + 500]
                    if t.ip_column and t.ip_public_form is None:
                        addresses.update(
                            a for a in store.event_addresses(table=t.name, ip_column=t.ip_column, ids=chunk).values()
                            if a is not None
                        )
                    if t is trail.FAILED_LOGINS:
                        aggregates.uncount_failures(failed_login_ids=chunk)
                    events += store.delete_events(table=t.name, ids=chunk)
                    store.forget_chain_digests(table=t.name, ids=chunk)
            # No aggregate keeps an erased user's address (unless another event still holds it).
            aggregates.forget_unused_address_keys(
                batch_size=500, between_batches=_nothing, addresses=sorted(addresses)
            )
        else:
            renamed = {
                t.name: store.rename_user_names(
                    table=t.name, name_column=t.name_column, user_column=t.user_column,
                    user_id=user_id, name=pseudonym,
                )
                for t in user_tables
                if t.name_column
            }
            operation = trail.record_operation(
                action=trail.PSEUDONYMISE_USER,
                subject=pseudonym,
                detail={
                    "through_seq": through_seq,
                    "failed_logins_renamed": renamed.pop(trail.FAILED_LOGINS.name, 0),
                    **({"renamed": renamed} if any(renamed.values()) else {}),
                },
            )
            events = sum(
                len(store.event_ids_of_user(table=t.name, user_column=t.user_column, user_id=user_id))
                for t in user_tables
            )
        accounts_store.tombstone_user(
            user_id=user_id, pseudonym=pseudonym, password_hash=make_password(None)
        )
    return UserDeletion(user_id, pseudonym, erase, True, events, operation.seq)
