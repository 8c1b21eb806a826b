"""Counters in the database (the embedded default): one upsert per attempt, rows locked until commit.

A counter's commit does not wait for the disk (SQLite: synchronous=NORMAL
for that transaction; PostgreSQL: synchronous_commit=off). A power cut may
lose the last moment's counts, never a row of the trail; the next durable
commit (the trail's) flushes them anyway. That keeps a sign-in at one disk
flush, as it was before throttling.
"""

from collections.abc import Iterator, Sequence
from contextlib import contextmanager

from django.db import connection, transaction

from guard import store
from guard.counters.base import Counters, StoredCounter
from guard.policy import CounterKey, CounterState, Op, OpKind


def _id(key: CounterKey) -> tuple[str, str, str]:
    return (str(key.kind), key.user_ref, key.source_ref)


def _state(row: store.CounterRow) -> CounterState:
    return CounterState(
        bucket=row.bucket,
        current=row.current,
        previous=row.previous,
        seen_current=row.seen_current,
        seen_previous=row.seen_previous,
        locked_until=row.locked_until,
        lockouts=row.lockouts,
    )


def _sqlite_synchronous(cursor) -> int:
    cursor.execute("PRAGMA synchronous")
    return cursor.fetchone()[0]


@contextmanager
def relaxed_atomic() -> Iterator[None]:
    """Run a transaction whose commit does not wait for the disk (inside another: a savepoint)."""
    if connection.in_atomic_block:
        # Inside someone else's transaction: theirs decides when (and how) it commits.
        with transaction.atomic():
            yield
        return
    if connection.vendor == "sqlite":
        # The level cannot change inside a transaction; it is put back after it.
        # Read once per connection wrapper: every connection runs the same init_command.
        original = getattr(connection, "_guard_synchronous", None)
        with connection.cursor() as cursor:
            if original is None:
                original = connection._guard_synchronous = _sqlite_synchronous(cursor)
            cursor.execute("PRAGMA synchronous = NORMAL")
        try:
            with transaction.atomic():
                yield
        finally:
            with connection.cursor() as cursor:
                cursor.execute(f"PRAGMA synchronous = {int(original)}")
        return
    with transaction.atomic():
        if connection.vendor == "postgresql":
            with connection.cursor() as cursor:
                cursor.execute("SET LOCAL synchronous_commit TO OFF")
        yield


class DatabaseCounters(Counters):
    name = "database"

    def atomic(self):
        return relaxed_atomic()

    def hit(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState]:
        # A fixed order of rows: two attempts locking the same counters cannot deadlock.
        ordered = sorted(keys, key=_id)
        rows = store.hit_counters(
            hits=[
                store.CounterHit(
                    kind=str(key.kind),
                    user_ref=key.user_ref,
                    source_ref=key.source_ref,
                    label=key.label,
                    bucket=key.bucket(now),
                    expires_at=key.expires_at(now),
                )
                for key in ordered
            ],
            now=now,
        )
        by_id = {row.id: row for row in rows}
        return [_state(by_id[_id(key)]) for key in keys]

    def apply(
        self, ops: Sequence[Op], *, now: float, backoff_memory: int, rows_locked: bool = False
    ) -> None:
        if not rows_locked:
            # One order over every row these statements touch (see lock_counters_in_order);
            # rows this transaction's hit has upserted are locked already, in that order.
            store.lock_counters_in_order(keys=sorted({_id(op.key) for op in ops}))
        undo = {True: [], False: []}
        seen, reset = [], []
        for op in ops:
            if op.kind is OpKind.LOCK:
                store.lock_counter(
                    key=_id(op.key),
                    until=op.until,
                    lockouts=op.lockouts,
                    now=now,
                    expires_at=op.expires_at(now, backoff_memory=backoff_memory),
                )
            elif op.kind is OpKind.UNDO:
                undo[op.unseen].append(_id(op.key))
            elif op.kind is OpKind.SEEN:
                seen.append(_id(op.key))
            elif op.kind is OpKind.RESET:
                reset.append(_id(op.key))
        for unseen, keys in undo.items():
            store.undo_counters(keys=sorted(keys), unseen=unseen)
        store.count_seen(keys=sorted(seen))
        store.reset_counters(keys=sorted(reset))

    def peek(self, keys: Sequence[CounterKey], *, now: float) -> list[CounterState | None]:
        rows = store.counters_by_key(keys=[_id(key) for key in keys])
        return [
            _state(rows[_id(key)]) if _id(key) in rows and rows[_id(key)].expires_at > now else None
            for key in keys
        ]

    def stored(
        self,
        *,
        now: float,
        locked_only: bool,
        user_ref: str | None = None,
        source_ref: str | None = None,
        limit: int = 100,
    ) -> list[StoredCounter]:
        rows = store.stored_counters(
            now=now, locked_only=locked_only, user_ref=user_ref, source_ref=source_ref, limit=limit
        )
        return [
            StoredCounter(
                kind=row.kind,
                user_ref=row.user_ref,
                source_ref=row.source_ref,
                label=row.label,
                state=_state(row),
                expires_at=row.expires_at,
            )
            for row in rows
        ]

    def clear(
        self, *, user_ref: str | None = None, source_ref: str | None = None, everything: bool = False
    ) -> int:
        return store.delete_counters(user_ref=user_ref, source_ref=source_ref, everything=everything)

    def prune(self, *, now: float, batch: int) -> int:
        return store.delete_expired_counters(now=now, batch=batch)
