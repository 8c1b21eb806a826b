"""Chain every event of the trail, sign checkpoints, and report the trail's state.

`chain_event` runs inside the transaction that wrote the event (from
authlog.events._written), so an event and its chain entry commit together or
not at all. Appends are serialised on one head row (authlog/store.py,
lock_chain_head): the chain cannot fork, whatever the number of writers. The
hashing itself is authlog/chain.py; walking the chain is authlog/verify.py;
pruning and anonymising is authlog/retention.py.

Another app's events join the chain by declaring their table with
`register_chained_table` and calling `chain_stored_row` in their write
transaction (guard/chained.py: alerts and admin actions).

Known limits: on PostgreSQL the head row is locked from an event's append
until its transaction commits, so events are committed one at a time (a few
thousand a second on one server). Keys rotate (`rotate_key`): every entry
records the id of the key that hashed it; the retired keys stay configured
to verify what they hashed.
"""

from __future__ import annotations

import heapq
import json
import logging
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from functools import lru_cache
from itertools import islice
from typing import TYPE_CHECKING

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django.utils.crypto import salted_hmac

from authlog import chain, store
from authlog.conf import DEFAULT_RETENTION_DAYS, authlog_settings
from config.dbtime import as_utc

if TYPE_CHECKING:
    from authlog.events import AuthEvent

logger = logging.getLogger("authlog.trail")

# What trail_operations records (each is itself an event of the chain).
PRUNE, ANONYMISE_IPS = "prune", "anonymise_ips"
PSEUDONYMISE_USER, ERASE_USER = "pseudonymise_user", "erase_user"
OPERATIONS = (PRUNE, ANONYMISE_IPS, PSEUDONYMISE_USER, ERASE_USER)
# The retention kind of the operation records.
TRAIL_KIND = "trail"


@dataclass(frozen=True)
class ChainedTable:
    """How the chain commits to the rows of one event table."""

    name: str
    # Committed as they are, in this order; "id" first, the time column among them.
    columns: tuple[str, ...]
    time_column: str = "timestamp"
    # The event's kind: a column of the row, or one kind for the whole table.
    kind_column: str | None = None
    fixed_kind: str | None = None
    # Committed as its public form (by default the /24 or /48 prefix) plus a salted keyed
    # digest of the whole value: anonymising replaces the value with its public form.
    ip_column: str | None = None
    # What survives anonymisation of the ip_column's text (idempotent); None: an IP address's prefix.
    ip_public_form: Callable[[str | None], str | None] | None = None
    # Committed as a keyed digest (renamed to a pseudonym when its user is deleted).
    name_column: str | None = None
    user_column: str | None = None
    # One retention kind for every row of the table (else each kind is its own).
    retention_kind: str | None = None
    # The kinds its rows can have (what `authlog prune` deletes by).
    kinds: tuple[str, ...] = ()
    # Days its rows are kept unless RETENTION_DAYS says otherwise (another app's table).
    default_days: int | None = None

    @property
    def selected(self) -> tuple[str, ...]:
        """Return the columns read back to verify a row: `columns`, then the IP, then the name."""
        extra = tuple(c for c in (self.ip_column, self.name_column) if c)
        return self.columns + extra

    def public_form(self, value: str | None) -> str | None:
        """Return what the chain commits to of the ip_column's value (what anonymisation keeps)."""
        return (self.ip_public_form or chain.ip_public_form)(value)

    def kind_of(self, values: Mapping[str, object]) -> str:
        return str(values[self.kind_column]) if self.kind_column else str(self.fixed_kind)

    def retention_kind_of(self, kind: str) -> str:
        return self.retention_kind or kind


LOGIN_LOGS = ChainedTable(
    name="login_logs",
    columns=("id", "user_id", "event_type", "timestamp", "user_agent", "browser", "os", "device",
             "session_ref"),
    kind_column="event_type",
    ip_column="ip_address",
    user_column="user_id",
    kinds=(store.LOGIN, store.LOGOUT),
)
FAILED_LOGINS = ChainedTable(
    name="failed_logins",
    columns=("id", "user_id", "reason", "timestamp", "user_agent", "browser", "os", "device"),
    fixed_kind=store.LOGIN_FAILED,
    ip_column="ip_address",
    name_column="attempted_username",
    user_column="user_id",
    kinds=(store.LOGIN_FAILED,),
)
TRAIL_OPERATIONS = ChainedTable(
    name="trail_operations",
    columns=("id", "action", "subject", "detail", "timestamp"),
    kind_column="action",
    retention_kind=TRAIL_KIND,
    kinds=OPERATIONS,
)
KEY_CHANGES = ChainedTable(
    name="trail_key_changes",
    columns=("id", "key_id", "retired", "through_seq", "timestamp"),
    fixed_kind="key_change",
    # Kept as long as the prune records: every entry a key change explains is older than it.
    retention_kind=TRAIL_KIND,
    kinds=("key_change",),
)
_TABLES: dict[str, ChainedTable] = {}


def register_chained_table(table: ChainedTable) -> None:
    """Declare an event table whose rows are chained (and verified, pruned, anonymised).

    Another app calls it from its AppConfig.ready(), then `chain_stored_row`
    in the transaction that inserts each row. Only columns that never change
    may be chained (a row updated later, e.g. an alert acknowledged, would
    fail verification: record the change as an event of its own).
    """
    store._identifiers(table.name, *table.selected, table.time_column)  # noqa: SLF001
    if "id" != table.columns[0] or table.time_column not in table.columns:
        raise ValueError(f"{table.name}: columns must start with 'id' and include the time column")
    _TABLES[table.name] = table


for _table in (LOGIN_LOGS, FAILED_LOGINS, TRAIL_OPERATIONS, KEY_CHANGES):
    register_chained_table(_table)


def chained_tables() -> tuple[ChainedTable, ...]:
    """Return every chained table, in the order they were declared."""
    return tuple(_TABLES.values())


def chained_table(name: str) -> ChainedTable | None:
    """Return the declaration of a chained table, or None."""
    return _TABLES.get(name)


# --- The keys ------------------------------------------------------------------


@dataclass(frozen=True)
class Keyring:
    """The chain keys this server holds: the current one, then the retired ones, by key id."""

    current: chain.ChainKeys
    by_id: Mapping[str, chain.ChainKeys]
    # Where each key id comes from (a setting's name, never the key), for status and errors.
    sources: Mapping[str, str]

    def keys_of(self, key_id: str | None) -> chain.ChainKeys | None:
        """Return the keys with this id, or None if this server does not hold them."""
        return self.by_id.get(key_id) if key_id is not None else None


# In AUTHLOG_CHAIN_KEYS, names the key derived from SECRET_KEY (to retire it, or verify with it).
DERIVED_KEY_NAME = "derived-from-secret-key"


def listed_chain_keys(value: object) -> list[str]:
    """Return the keys of an AUTHLOG_CHAIN_KEYS value (comma-separated text, or a list), in order."""
    items = value.split(",") if isinstance(value, str) else list(value or ())
    return [item.strip() for item in items if item and item.strip()]


@lru_cache(maxsize=4)
def _keyring(listed: tuple[str, ...], configured: str, secret_key: str) -> Keyring:
    derived = salted_hmac("authlog.chain-key", "v1", secret=secret_key, algorithm="sha256").digest()
    # The order says which key is current: AUTHLOG_CHAIN_KEYS' first, else AUTHLOG_CHAIN_KEY, else
    # the one derived from SECRET_KEY; the others only verify what they hashed. The derived key
    # is held only when nothing else is configured or it is listed by name (DERIVED_KEY_NAME):
    # else whoever learns SECRET_KEY could hash entries that verify.
    candidates = [
        ("derived from SECRET_KEY", derived) if key == DERIVED_KEY_NAME else ("AUTHLOG_CHAIN_KEYS", key.encode())
        for key in listed
    ]
    if configured:
        candidates.append(("AUTHLOG_CHAIN_KEY", configured.encode()))
    if not candidates:
        candidates.append(("derived from SECRET_KEY", derived))
    by_id: dict[str, chain.ChainKeys] = {}
    sources: dict[str, str] = {}
    for source, key in candidates:
        keys = chain.ChainKeys.derive(key)
        if keys.key_id not in by_id:
            by_id[keys.key_id] = keys
            sources[keys.key_id] = source
    current = next(iter(by_id.values()))
    return Keyring(current=current, by_id=by_id, sources=sources)


def chain_keyring() -> Keyring:
    """Return every chain key this server holds (read lazily: override_settings works)."""
    return _keyring(
        tuple(listed_chain_keys(authlog_settings.CHAIN_KEYS)), authlog_settings.CHAIN_KEY, settings.SECRET_KEY
    )


def key_source() -> str:
    """Say where the current chain key comes from, for the status page and the system check."""
    keyring = chain_keyring()
    return keyring.sources[keyring.current.key_id]


def chain_keys() -> chain.ChainKeys:
    """Return the sub-keys of the current chain key: every new entry and checkpoint is made with it."""
    return chain_keyring().current


def deleted_user_pseudonym(user_id: int) -> str:
    """Return the name under which a deleted user's account and events are kept."""
    return chain.deleted_user_pseudonym(chain_keys(), user_id)


# --- Appending -------------------------------------------------------------------


@dataclass(frozen=True)
class ChainPosition:
    """Where an event went in the chain."""

    seq: int
    entry_hash: str


def _unsealed(keys: chain.ChainKeys, table: ChainedTable, values: Mapping[str, object]) -> store.ChainEntry:
    """Compute everything of an entry but its seq and hash (done before taking the lock)."""
    address = values.get(table.ip_column) if table.ip_column else None
    salt = chain.new_salt() if address is not None else None
    address_digest = chain.ip_digest(keys, salt, address) if address is not None else None
    name = values.get(table.name_column) if table.name_column else None
    typed_digest = chain.name_digest(keys, name) if name is not None else None
    event_time = values[table.time_column]
    event_time = as_utc(event_time) if event_time is not None else None
    content = chain.content_digest(
        table=table.name,
        values=[(c, event_time if c == table.time_column else values[c]) for c in table.columns],
        ip_public=table.public_form(address),
        ip_digest=address_digest,
        name_digest=typed_digest,
    )
    return store.ChainEntry(
        seq=0,
        event_table=table.name,
        event_id=int(values["id"]),
        kind=table.kind_of(values),
        event_time=event_time,
        ip_salt=salt,
        ip_digest=address_digest,
        name_digest=typed_digest,
        content_digest=content,
        entry_hash="",
        key_id=keys.key_id,
    )


def _sealed(keys: chain.ChainKeys, entry: store.ChainEntry, *, seq: int, prev_hash: str) -> store.ChainEntry:
    return replace(
        entry,
        seq=seq,
        entry_hash=chain.entry_hash(
            keys,
            prev_hash=prev_hash,
            seq=seq,
            table=entry.event_table,
            event_id=entry.event_id,
            kind=entry.kind,
            event_time=entry.event_time,
            content_digest=entry.content_digest,
        ),
    )


def current_head() -> tuple[int, str]:
    """Return the chain's head (seq, entry hash); the genesis before the first entry."""
    return store.chain_head() or (0, chain.GENESIS_HASH)


def hold_chain_head() -> None:
    """Take the chain's append lock now, in a transaction that will write and chain a row.

    Another app's writer calls it before touching its own rows, so every writer
    takes the head first and PostgreSQL never sees two of them wait on each other.
    """
    store.lock_chain_head(genesis_hash=chain.GENESIS_HASH)


def chain_row(*, table: ChainedTable, values: Mapping[str, object]) -> ChainPosition:
    """Append a just-written event row to the chain; call it in the row's own transaction."""
    keys = chain_keys()
    entry = _unsealed(keys, table, values)  # all the hashing but the last, before the lock
    # No savepoint: if the entry cannot be written, the event's whole transaction must fail.
    with transaction.atomic(savepoint=False):
        sealed = store.append_chain_entry(
            seal=lambda seq, prev_hash: _sealed(keys, entry, seq=seq, prev_hash=prev_hash),
            genesis_hash=chain.GENESIS_HASH,
        )
    return ChainPosition(sealed.seq, sealed.entry_hash)


def _event_values(event: AuthEvent) -> tuple[ChainedTable, dict[str, object]]:
    common = {
        "id": event.id,
        "user_id": event.user_id,
        "ip_address": event.ip_address,
        "timestamp": event.timestamp,
        "user_agent": event.user_agent,
        "browser": event.browser,
        "os": event.os,
        "device": event.device,
    }
    if event.event_type in (store.LOGIN, store.LOGOUT):
        return LOGIN_LOGS, {**common, "event_type": event.event_type, "session_ref": event.session_ref}
    if event.event_type == store.LOGIN_FAILED:
        return FAILED_LOGINS, {**common, "reason": event.reason, "attempted_username": event.username}
    raise LookupError(
        f"no chained table for event type {event.event_type!r}: declare it in authlog/trail.py "
        "(every event of the trail is chained, issue 6)"
    )


def chain_stored_row(*, table: ChainedTable, event_id: int) -> ChainPosition:
    """Read back a row just inserted into a registered table and chain it, in the same transaction."""
    row = store.chained_rows(
        table=table.name, columns=table.selected, time_column=table.time_column, ids=[event_id]
    ).get(event_id)
    if row is None:
        raise LookupError(f"{table.name} has no row {event_id} to chain")
    return chain_row(table=table, values=dict(zip(table.selected, row, strict=True)))


def chain_event(event: AuthEvent) -> ChainPosition:
    """Append a sign-in, sign-out or failed sign-in to the chain, in the caller's transaction."""
    table, values = _event_values(event)
    return chain_row(table=table, values=values)


def record_operation(*, action: str, subject: str | None, detail: dict) -> ChainPosition:
    """Record a prune, anonymisation or user deletion as an event of the chain."""
    if action not in OPERATIONS:
        raise ValueError(f"unknown trail operation {action!r}")
    text = json.dumps(detail, sort_keys=True, separators=(",", ":"))
    with transaction.atomic():
        row_id, timestamp = store.insert_trail_operation(action=action, subject=subject, detail=text)
        position = chain_row(
            table=TRAIL_OPERATIONS,
            values={"id": row_id, "action": action, "subject": subject, "detail": text,
                    "timestamp": timestamp},
        )
        transaction.on_commit(
            lambda: logger.info(
                json.dumps({"trail_operation": action, "seq": position.seq, "subject": subject,
                            "detail": detail}, ensure_ascii=True, sort_keys=True)
            )
        )
    return position


def backfill_chain(*, batch_size: int = 2000, tables: tuple[ChainedTable, ...] | None = None) -> int:
    """Chain every timed event that has no chain entry yet, oldest first; return how many.

    Run by the migration that created the chain (and by the benchmark after a
    bulk load); events written through authlog.events are chained as they
    are written. Rows without a time (only a raw INSERT can make one) are left
    out, and `authlog verify` reports them.
    """
    keys = chain_keys()
    tables = tables or chained_tables()

    def pages(index: int, table: ChainedTable) -> Iterator[tuple]:
        after = None
        while True:
            rows = store.unchained_event_page(
                table=table.name, columns=table.selected, time_column=table.time_column,
                after=after, limit=batch_size,
            )
            for row in rows:
                values = dict(zip(table.selected, row, strict=False))
                time = as_utc(values[table.time_column])
                yield (time, index, values["id"], values)
            if len(rows) < batch_size:
                return
            after = (rows[-1][-1], rows[-1][0])

    merged = heapq.merge(*(pages(i, t) for i, t in enumerate(tables)), key=lambda r: r[:3])
    total = 0
    while True:
        batch = list(islice(merged, batch_size))
        if not batch:
            return total
        entries = [_unsealed(keys, tables[index], values) for _, index, _, values in batch]
        with transaction.atomic():
            seq, prev_hash = store.lock_chain_head(genesis_hash=chain.GENESIS_HASH)
            sealed = []
            for entry in entries:
                seq += 1
                entry = _sealed(keys, entry, seq=seq, prev_hash=prev_hash)
                prev_hash = entry.entry_hash
                sealed.append(entry)
            store.append_chain_entries(sealed)
        total += len(sealed)


# --- Key rotation ------------------------------------------------------------------


@dataclass(frozen=True)
class KeyRotation:
    """What `rotate_key` did, or would do."""

    for_real: bool
    key_id: str
    retired: tuple[str, ...]
    seq: int | None = None


def rotate_key(*, for_real: bool) -> KeyRotation:
    """Record that the current key takes over the chain and every other configured key is retired.

    Run it once every process has the new key first in AUTHLOG_CHAIN_KEYS:
    from the recorded entry on, an entry hashed with a retired key fails
    verification. Each retired key countersigns the change. Raise ValueError
    if there is no other key to retire.
    """
    keyring = chain_keyring()
    current = keyring.current
    retired = tuple(key_id for key_id in keyring.by_id if key_id != current.key_id)
    if not retired:
        raise ValueError(
            "this server holds one chain key only: put the new key first in AUTHLOG_CHAIN_KEYS and"
            " keep the old one after it (or in AUTHLOG_CHAIN_KEY)"
        )
    if not for_real:
        return KeyRotation(False, current.key_id, retired)
    with transaction.atomic():
        through_seq, head_hash = store.lock_chain_head(genesis_hash=chain.GENESIS_HASH)
        signatures = {
            key_id: chain.key_change_signature(
                keyring.by_id[key_id], through_seq=through_seq, head_hash=head_hash,
                new_key_id=current.key_id,
            )
            for key_id in retired
        }
        text = json.dumps(signatures, sort_keys=True, separators=(",", ":"))
        row_id, timestamp = store.insert_key_change(key_id=current.key_id, retired=text, through_seq=through_seq)
        position = chain_row(
            table=KEY_CHANGES,
            values={"id": row_id, "key_id": current.key_id, "retired": text, "through_seq": through_seq,
                    "timestamp": timestamp},
        )
        transaction.on_commit(
            lambda: logger.info(json.dumps({"trail_key_change": current.key_id, "retired": list(retired),
                                            "seq": position.seq}, sort_keys=True))
        )
    return KeyRotation(True, current.key_id, retired, position.seq)


# --- Checkpoints -----------------------------------------------------------------


def write_checkpoint(*, kind: str = "checkpoint", now: Callable[[], datetime] = timezone.now) -> chain.Checkpoint:
    """Sign the chain's head (seq, hash, time), store it and return it for copying elsewhere."""
    head = current_head()
    return _store_checkpoint(kind=kind, seq=head[0], entry_hash=head[1], now=now)


def write_anchor(*, seq: int, entry_hash: str, now: Callable[[], datetime] = timezone.now) -> chain.Checkpoint:
    """Sign entry `seq` as the anchor the chain restarts from once the entries up to it are pruned."""
    return _store_checkpoint(kind="anchor", seq=seq, entry_hash=entry_hash, now=now)


def _store_checkpoint(*, kind: str, seq: int, entry_hash: str, now: Callable[[], datetime]) -> chain.Checkpoint:
    checkpoint = chain.sign_checkpoint(chain_keys(), kind=kind, seq=seq, entry_hash=entry_hash, time=now())
    with transaction.atomic():
        store.insert_checkpoint(kind=kind, seq=seq, document=checkpoint.document())
    logger.info(checkpoint.document())
    return checkpoint


def stored_checkpoints(*, kind: str) -> tuple[list[chain.Checkpoint], list[str]]:
    """Return the stored checkpoints of a kind whose signature verifies, and a line per one that does not."""
    keys = chain_keyring().by_id
    good, bad = [], []
    for seq, document in store.checkpoint_documents(kind=kind):
        try:
            checkpoint = chain.read_checkpoint(keys, document)
        except chain.CheckpointError as error:
            bad.append(f"stored {kind} at seq {seq}: {error}")
            continue
        if checkpoint.kind != kind or checkpoint.seq != seq:
            bad.append(f"stored {kind} at seq {seq}: its row does not match its signed document")
            continue
        good.append(checkpoint)
    return good, bad


# --- Policy and status -------------------------------------------------------------


# What each retention kind holds, as the dashboard's trail card says it.
RETENTION_KIND_LABELS = {
    "login": "Sign-ins",
    "logout": "Sign-outs",
    "login_failed": "Failed sign-ins",
    "trail": "The trail's own operations (prunes, erasures, key changes)",
    "alert": "Security alerts",
    "admin_action": "Admin actions on alerts and lockouts",
}


@dataclass(frozen=True)
class RetentionRule:
    """How long one kind of event is kept (None: forever)."""

    kind: str
    days: int | None

    @property
    def label(self) -> str:
        """The kind in words; a kind another app registers without a label reads as its name."""
        return RETENTION_KIND_LABELS.get(self.kind, self.kind.replace("_", " ").capitalize())


def default_retention_days() -> dict[str, int | None]:
    """Return the default days of every retention kind, the other apps' tables included."""
    defaults = dict(DEFAULT_RETENTION_DAYS)
    for table in chained_tables():
        kinds = [table.retention_kind] if table.retention_kind else list(table.kinds)
        for kind in kinds:
            defaults.setdefault(kind, table.default_days)
    return defaults


def retention_policy() -> tuple[RetentionRule, ...]:
    """Return the retention of every kind: the defaults, with the configured ones over them."""
    configured = authlog_settings.RETENTION_DAYS
    merged = {**default_retention_days(), **(configured if isinstance(configured, dict) else {})}
    return tuple(RetentionRule(kind, days) for kind, days in merged.items())


@dataclass(frozen=True)
class TrailStatus:
    """What the dashboard shows about the trail itself (issue 6, "shown, not hidden")."""

    head_seq: int
    head_hash: str
    key_source: str
    last_verification: store.VerificationRow | None
    verification_overdue: bool
    last_checkpoint_seq: int | None
    last_checkpoint_at: datetime | None
    retention: tuple[RetentionRule, ...]
    anonymise_ips_after_days: int | None
    last_prune_at: datetime | None
    next_prune_at: datetime | None
    prune_overdue: bool
    # The current key's id, and the retired keys this server holds to verify older entries.
    key_id: str = ""
    retired_key_ids: tuple[str, ...] = ()


def trail_status(*, now: Callable[[], datetime] = timezone.now) -> TrailStatus:
    """Return the trail's state: head, last verification, last checkpoint, retention, next prune."""
    at = now()
    head = current_head()
    verification = store.latest_verification()
    verify_every = timedelta(hours=authlog_settings.VERIFY_EVERY_HOURS)
    checkpoint_seq = checkpoint_at = None
    latest = store.latest_checkpoint_document()
    if latest is not None:
        document, checkpoint_at = latest
        try:
            checkpoint = chain.read_checkpoint(chain_keyring().by_id, document)
            checkpoint_seq = checkpoint.seq
            checkpoint_at = as_utc(datetime.fromisoformat(checkpoint.time.replace("Z", "+00:00")))
        except chain.CheckpointError:
            checkpoint_seq = None  # shown as a checkpoint of unknown seq; verify reports it
    last_prune = store.last_operation_time(action=PRUNE)
    next_prune = last_prune + timedelta(hours=authlog_settings.PRUNE_EVERY_HOURS) if last_prune else None
    return TrailStatus(
        head_seq=head[0],
        head_hash=head[1],
        key_source=key_source(),
        key_id=chain_keys().key_id,
        retired_key_ids=tuple(k for k in chain_keyring().by_id if k != chain_keys().key_id),
        last_verification=verification,
        verification_overdue=verification is None or verification.finished_at + verify_every < at,
        last_checkpoint_seq=checkpoint_seq,
        last_checkpoint_at=checkpoint_at,
        retention=retention_policy(),
        anonymise_ips_after_days=authlog_settings.ANONYMISE_IPS_AFTER_DAYS,
        last_prune_at=last_prune,
        next_prune_at=next_prune,
        prune_overdue=next_prune is None or next_prune < at,
    )
