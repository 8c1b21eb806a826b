"""Walk the hash chain and report, by seq, every edited, deleted, inserted or reordered event.

Streamed: chain entries are read in keyset pages of VERIFY_BATCH_SIZE with
their events, and nothing else grows with the trail except the short list of
problems shown (the rest are counted) and, per erasure, the seqs it erased.
The walk runs on one read snapshot (store.read_snapshot), so events written,
pruned or anonymised meanwhile are neither missed nor mistaken for tampering.

What is checked, entry by entry: the seqs follow each other; the entry's
keyed hash (which needs the key) links it to the one before; the event row
is there and its content is what was hashed (the IP through its prefix and
its salted digest, the name tried through its digest); an event that is gone
is covered by a recorded prune or erasure, an address without its salt by a
recorded anonymisation, a renamed failure by a recorded user deletion. Then:
every event row has an entry (else it was inserted), the head row and the
stored checkpoints agree with the chain (else entries were cut from the end).

Each entry is checked with the key it names (trail.Keyring: the current key
and the retired ones held); entries whose key is not held are reported as
one range that cannot be checked, an entry hashed with a key after a
recorded key change retired it as a problem, and a key change whose retired
keys did not sign it as a problem.

Known limit: swapping two rows' timestamps, seqs or ids shows as an edit at
each seq involved ("reordered" is not told apart from "edited").
"""

from __future__ import annotations

import json
from bisect import bisect_left
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from time import perf_counter

from django.db import transaction
from django.utils import timezone

from authlog import chain, store, trail
from authlog.conf import authlog_settings
from config.dbtime import as_utc

MAX_LISTED = 100


@dataclass(frozen=True)
class Problem:
    """One finding, located by seq where the chain gives one."""

    seq: int | None
    what: str

    def __str__(self) -> str:
        return f"seq {self.seq}: {self.what}" if self.seq is not None else self.what


@dataclass
class VerifyReport:
    """The outcome of one walk of the chain."""

    start: str
    from_seq: int
    head_seq: int
    head_hash: str
    checked: int = 0
    events_checked: int = 0
    problems: list[Problem] = field(default_factory=list)
    problem_count: int = 0
    started_at: datetime | None = None
    finished_at: datetime | None = None
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return self.problem_count == 0

    @property
    def rate(self) -> float:
        """Return chain entries verified per second."""
        return self.checked / self.seconds if self.seconds > 0 else 0.0

    def add(self, problem: Problem) -> None:
        self.problem_count += 1
        if len(self.problems) < MAX_LISTED:
            self.problems.append(problem)


class _Coverage:
    """The recorded operations, as rules that say why an event may be gone or changed.

    Loaded before the walk from trail_operations; an operation's own entry is
    checked when the walk reaches it, and every rule it supplied is reported
    if it does not verify. Each rule only reaches entries older than the
    operation itself.
    """

    def __init__(self, operations: list[tuple]) -> None:
        prunes: dict[str, list] = defaultdict(list)
        anonymisations: list = []
        self.pseudonymised: dict[str, tuple[int, int]] = {}
        self.erased: dict[int, int] = {}
        self.claims: Counter[int] = Counter()
        self.invalid: set[int] = set()
        for seq, action, subject, detail, _time in operations:
            try:
                data = _json_object(detail)
                through = int(data["through_seq"])
                if through >= seq:
                    continue
                if action == trail.PRUNE:
                    for kind, before in dict(data["before"]).items():
                        prunes[str(kind)].append((through, _time_of(before), seq))
                elif action == trail.ANONYMISE_IPS:
                    anonymisations.append((through, _time_of(data["before"]), seq))
                elif action == trail.PSEUDONYMISE_USER and subject:
                    best = self.pseudonymised.get(subject)
                    if best is None or through > best[0]:
                        self.pseudonymised[subject] = (through, seq)
                elif action == trail.ERASE_USER:
                    for erased in data["seqs"]:
                        if int(erased) < seq:
                            self.erased[int(erased)] = seq
            except (ValueError, KeyError, TypeError):
                continue  # a mangled record: its own entry fails verification
        self._prunes = {kind: _SuffixBest(rules) for kind, rules in prunes.items()}
        self._anonymisations = _SuffixBest(anonymisations)

    def _claim(self, op_seq: int | None) -> bool:
        if op_seq is None:
            return False
        self.claims[op_seq] += 1
        return True

    def gone(self, entry: store.ChainEntry, table: trail.ChainedTable) -> bool:
        """Say whether a recorded prune or erasure removed this entry's event."""
        if entry.seq in self.erased:
            return self._claim(self.erased[entry.seq])
        best = self._prunes.get(table.retention_kind_of(entry.kind))
        return best is not None and self._claim(best.covering(entry.seq, entry.event_time))

    def anonymised(self, entry: store.ChainEntry) -> bool:
        """Say whether a recorded anonymisation removed this entry's salt."""
        return self._claim(self._anonymisations.covering(entry.seq, entry.event_time))

    def renamed(self, entry: store.ChainEntry, pseudonym: str) -> bool:
        """Say whether a recorded user deletion renamed this failure to `pseudonym`."""
        rule = self.pseudonymised.get(pseudonym)
        return rule is not None and entry.seq <= rule[0] and self._claim(rule[1])


class _SuffixBest:
    """Rules (through_seq, before, op_seq): find one with through >= seq and time < before, fast."""

    def __init__(self, rules: list[tuple[int, datetime, int]]) -> None:
        rules = sorted(rules)
        self._throughs = [r[0] for r in rules]
        self._best: list[tuple[datetime, int]] = [None] * len(rules)  # type: ignore[list-item]
        best = None
        for index in range(len(rules) - 1, -1, -1):
            candidate = (rules[index][1], rules[index][2])
            if best is None or candidate[0] > best[0]:
                best = candidate
            self._best[index] = best

    def covering(self, seq: int, time: datetime | None) -> int | None:
        index = bisect_left(self._throughs, seq)
        if time is None or index >= len(self._throughs):
            return None
        before, op_seq = self._best[index]
        return op_seq if time < before else None


def _json_object(text: str) -> dict:
    data = json.loads(text)
    if not isinstance(data, dict):
        raise ValueError("not an object")
    return data


def _time_of(text: object) -> datetime:
    if not isinstance(text, str):
        raise TypeError("not a time")
    return as_utc(datetime.fromisoformat(text.replace("Z", "+00:00")))


@dataclass(frozen=True)
class _Layout:
    """Where each part of a chained table's row is in the tuple read back (computed once)."""

    table: trail.ChainedTable
    columns: tuple[str, ...]
    time_index: int
    ip_index: int | None
    name_index: int | None
    user_index: int | None
    public_form: Callable[[str | None], str | None]

    @classmethod
    def of(cls, table: trail.ChainedTable) -> _Layout:
        selected = table.selected

        def index(column: str | None) -> int | None:
            return selected.index(column) if column else None

        return cls(
            table=table,
            columns=table.columns,
            time_index=selected.index(table.time_column),
            ip_index=index(table.ip_column),
            name_index=index(table.name_column),
            user_index=index(table.user_column),
            public_form=table.ip_public_form or chain.ip_public_form,
        )


def _event_problems(
    keys: chain.ChainKeys | None,
    keyring: trail.Keyring,
    layout: _Layout,
    entry: store.ChainEntry,
    row: tuple,
    coverage: _Coverage,
) -> list[str]:
    """Return what is wrong with a present event, compared with its chain entry."""
    table = layout.table
    values = list(zip(layout.columns, row, strict=False))  # row: columns, then IP and name
    time = row[layout.time_index]
    if type(time) is str:
        # SQLite's text, read as such for speed; naive means UTC to canonical_time.
        values[layout.time_index] = (table.time_column, datetime.fromisoformat(time))
    address = row[layout.ip_index] if layout.ip_index is not None else None
    public = layout.public_form(address)
    content = chain.content_digest(
        table=table.name,
        values=values,
        ip_public=public,
        ip_digest=entry.ip_digest,
        name_digest=entry.name_digest,
    )
    if not chain.same_digest(content, entry.content_digest):
        return ["edited: the row is not what was chained"]
    found = []
    if keys is None:
        return found  # its keyed digests cannot be checked either (reported as one range)
    if address is not None:
        if entry.ip_salt is not None:
            if entry.ip_digest is None or not chain.same_digest(
                chain.ip_digest(keys, entry.ip_salt, address), entry.ip_digest
            ):
                found.append(f"edited: {table.ip_column} is not the address that was chained")
        elif address != public:
            found.append(f"edited: {table.ip_column} changed after its salt was deleted")
        elif not coverage.anonymised(entry):
            found.append(f"{table.ip_column} anonymised outside any recorded anonymisation")
    if layout.name_index is not None:
        name = row[layout.name_index]
        if name is None or entry.name_digest is None:
            if (name is None) != (entry.name_digest is None):
                found.append(f"edited: {table.name_column} is not the name that was chained")
        elif not chain.same_digest(chain.name_digest(keys, name), entry.name_digest):
            user_id = row[layout.user_index] if layout.user_index is not None else None
            # Named with the key current at the deletion, which may since have been retired.
            renamed = (
                isinstance(user_id, int)
                and any(name == chain.deleted_user_pseudonym(k, user_id) for k in keyring.by_id.values())
                and coverage.renamed(entry, name)
            )
            if not renamed:
                found.append(f"edited: {table.name_column} is not the name that was chained")
    return found


class _EntryKeys:
    """Which key hashed each entry; runs of entries whose key this server lacks, reported as ranges."""

    def __init__(self, keyring: trail.Keyring, *, first_key_id: str | None, changes: list[tuple]) -> None:
        self.keyring = keyring
        self.first_key_id = first_key_id or keyring.current.key_id
        # key id -> seq of the first recorded change that retired it
        self.retired_at: dict[str, int] = {}
        for seq, new_key_id, retired, _through in changes:
            try:
                ids = list(_json_object(retired))
            except ValueError:
                continue  # a mangled record: its own entry fails verification
            self.retired_at.pop(new_key_id, None)  # a key brought back is current again
            for key_id in ids:
                self.retired_at.setdefault(str(key_id), seq)
        self._run: list = []  # [key_id, first seq, last seq, count] of entries that cannot be checked

    def of(self, entry: store.ChainEntry, report: VerifyReport) -> tuple[chain.ChainKeys | None, str | None]:
        """Return the keys that hashed `entry` (None: not held here), and what is wrong with its key."""
        key_id = entry.key_id or self.first_key_id
        keys = self.keyring.keys_of(key_id)
        if keys is None:
            if self._run and self._run[0] == key_id:
                self._run[2] = entry.seq
                self._run[3] += 1
            else:
                self.close(report)
                self._run = [key_id, entry.seq, entry.seq, 1]
        else:
            self.close(report)
        retired = self.retired_at.get(key_id)
        if retired is not None and entry.seq > retired:
            return keys, f"hashed with chain key id {key_id[:16]!r}, retired at seq {retired}"
        return keys, None

    def close(self, report: VerifyReport) -> None:
        """Report the run of entries that could not be checked, if any."""
        if not self._run:
            return
        key_id, first, last, count = self._run
        self._run = []
        span = f"seq {first}" if first == last else f"seq {first}-{last}"
        report.add(Problem(first, (
            f"{span}: {count} entries hashed with chain key id {str(key_id)[:16]!r}, which this server"
            " does not hold: they cannot be checked (add that key after the current one in"
            " AUTHLOG_CHAIN_KEYS)"
        )))


def _key_change_problems(keyring: trail.Keyring, entry: store.ChainEntry, row: tuple, *, prev_hash: str) -> list[str]:
    """Return what is wrong with a recorded key change: where it stands, and each retired key's consent."""
    values = dict(zip(trail.KEY_CHANGES.selected, row, strict=False))
    through_seq, new_key_id = values["through_seq"], values["key_id"]
    found = []
    if through_seq != entry.seq - 1:
        found.append(f"the key change says it follows seq {through_seq}, it stands at seq {entry.seq}")
    if entry.key_id != new_key_id:
        found.append("the key change was not hashed with the key it hands the chain to")
    try:
        signatures = _json_object(values["retired"])
    except ValueError:
        return [*found, "the key change's retired keys are not readable"]
    for key_id, signature in signatures.items():
        retired = keyring.keys_of(key_id)
        if retired is None:
            continue  # a key no longer held: its consent cannot be checked, nor is it needed any more
        expected = chain.key_change_signature(
            retired, through_seq=through_seq, head_hash=prev_hash, new_key_id=new_key_id
        )
        if not isinstance(signature, str) or not chain.same_digest(signature, expected):
            found.append(f"retired key {key_id[:16]!r} did not sign this key change")
    return found


def verify_trail(
    *,
    since: chain.Checkpoint | None = None,
    batch_size: int | None = None,
    now: Callable[[], datetime] = timezone.now,
    record: bool = True,
) -> VerifyReport:
    """Walk the chain (from the last prune's anchor, or from `since`) and return what is wrong."""
    keyring = trail.chain_keyring()
    batch_size = batch_size or authlog_settings.VERIFY_BATCH_SIZE
    started_at, clock = now(), perf_counter()
    with store.read_snapshot():
        report = _walk(keyring, since=since, batch_size=batch_size)
    report.started_at, report.finished_at = started_at, now()
    report.seconds = perf_counter() - clock
    if record:
        with transaction.atomic():
            store.insert_verification(
                store.VerificationRow(
                    started_at=report.started_at,
                    finished_at=report.finished_at,
                    ok=report.ok,
                    from_seq=report.from_seq,
                    head_seq=report.head_seq,
                    head_hash=report.head_hash,
                    checked=report.checked,
                    problems=report.problem_count,
                    first_problem=str(report.problems[0])[:500] if report.problems else None,
                )
            )
    return report


def _walk(keyring: trail.Keyring, *, since: chain.Checkpoint | None, batch_size: int) -> VerifyReport:
    head = store.chain_head()
    keys_by_entry = _EntryKeys(keyring, first_key_id=store.first_key_id(), changes=store.chained_key_changes())
    anchors, bad_anchors = trail.stored_checkpoints(kind="anchor")
    checkpoints, bad_checkpoints = trail.stored_checkpoints(kind="checkpoint")
    coverage = _Coverage(store.chained_operations())
    _first, last_seq = store.chain_bounds()

    anchor = max(anchors, key=lambda a: a.seq) if anchors else None
    start_seq, prev_hash = (anchor.seq, anchor.entry_hash) if anchor else (0, chain.GENESIS_HASH)
    start = f"the prune anchor at seq {anchor.seq}" if anchor else "the first event (genesis)"
    anchored_seq = start_seq
    pinned = [c for c in checkpoints if c.seq > start_seq] + ([anchor] if anchor else [])
    head_seq, head_hash = head if head else (last_seq or 0, chain.GENESIS_HASH)
    through = max(head_seq, last_seq or 0)
    if since is not None:
        if start_seq <= since.seq <= through:
            start_seq, prev_hash = since.seq, since.entry_hash
            start = f"the checkpoint at seq {since.seq} of {since.time}"
        elif since.seq < start_seq:
            start += f" (the checkpoint at seq {since.seq} is older than the last prune)"
        # A checkpoint beyond the end is reported as missing entries, below.
        pinned.append(since)
    report = VerifyReport(start=start, from_seq=start_seq, head_seq=head_seq, head_hash=head_hash)
    for line in bad_anchors + bad_checkpoints:
        report.add(Problem(None, line))

    pins: dict[int, list[chain.Checkpoint]] = defaultdict(list)
    for checkpoint in pinned:
        if checkpoint.seq > 0:
            pins[checkpoint.seq].append(checkpoint)
    expected, last_hash, walked_to = start_seq + 1, prev_hash, start_seq
    # Entries at or before the start are checked against the pins only.
    for seq, pinned_here in pins.items():
        if seq <= start_seq:
            entry = store.chain_entry(seq=seq)
            for checkpoint in pinned_here:
                if entry is not None and not chain.same_digest(entry.entry_hash, checkpoint.entry_hash):
                    report.add(Problem(seq, f"the entry differs from the {checkpoint.kind} of"
                                            f" {checkpoint.time}: the chain was rewritten"))
                    if seq == start_seq:
                        # Reported once here; what follows is checked against the chain as it is.
                        last_hash = entry.entry_hash

    layouts = {table.name: _Layout.of(table) for table in trail.chained_tables()}
    cursor = start_seq
    while True:
        entries = store.chain_entries(after_seq=cursor, through_seq=through, limit=batch_size)
        if not entries:
            break
        cursor = entries[-1].seq
        wanted: dict[str, list[int]] = defaultdict(list)
        for entry in entries:
            wanted[entry.event_table].append(entry.event_id)
        rows: dict[str, dict[int, tuple]] = {}
        for name, ids in wanted.items():
            table = trail.chained_table(name)
            if table is not None:
                rows[name] = store.chained_rows(
                    table=name, columns=table.selected, time_column=table.time_column, ids=ids
                )
        for entry in entries:
            found: list[str] = []
            link_known = True
            if entry.seq != expected:
                gap = str(expected) if entry.seq == expected + 1 else f"{expected}-{entry.seq - 1}"
                report.add(Problem(expected, f"missing from the chain: seq {gap} deleted"))
                link_known = False
            keys, key_problem = keys_by_entry.of(entry, report)
            if key_problem:
                found.append(key_problem)
            if link_known and keys is not None:
                computed = chain.entry_hash(
                    keys,
                    prev_hash=last_hash,
                    seq=entry.seq,
                    table=entry.event_table,
                    event_id=entry.event_id,
                    kind=entry.kind,
                    event_time=entry.event_time,
                    content_digest=entry.content_digest,
                )
                if not chain.same_digest(computed, entry.entry_hash):
                    found.append("the chain entry was altered, moved or forged (its hash does not verify)")
            for checkpoint in pins.get(entry.seq, ()):
                if not chain.same_digest(entry.entry_hash, checkpoint.entry_hash):
                    found.append(f"differs from the {checkpoint.kind} of {checkpoint.time}:"
                                 " the chain was rewritten")
            layout = layouts.get(entry.event_table)
            if layout is None:
                found.append("names a table that is not chained")
            else:
                row = rows.get(entry.event_table, {}).get(entry.event_id)
                if row is None:
                    if not coverage.gone(entry, layout.table):
                        found.append(f"deleted ({entry.kind} of {chain.canonical_time(entry.event_time)};"
                                     " no recorded prune or erasure covers it)")
                else:
                    report.events_checked += 1
                    found.extend(_event_problems(keys, keyring, layout, entry, row, coverage))
                    if layout.table is trail.KEY_CHANGES and keys is not None:
                        found.extend(_key_change_problems(keyring, entry, row, prev_hash=last_hash))
            if found:
                label = f"{entry.event_table} id {entry.event_id}"
                report.add(Problem(entry.seq, f"{label}: " + "; ".join(found)))
                if entry.event_table == trail.TRAIL_OPERATIONS.name:
                    coverage.invalid.add(entry.seq)
            report.checked += 1
            expected, last_hash, walked_to = entry.seq + 1, entry.entry_hash, entry.seq

    keys_by_entry.close(report)
    if head is None:
        report.add(Problem(None, "the head row (trail_head) is missing"))
    elif walked_to != head_seq or not chain.same_digest(last_hash, head_hash):
        report.add(Problem(min(walked_to + 1, head_seq),
                           f"the head says seq {head_seq}, the chain ends at seq {walked_to}:"
                           " entries were deleted from the end, or the head was altered"))
    for seq in sorted(s for s in pins if s > walked_to):
        for checkpoint in pins[seq]:
            report.add(Problem(seq, f"missing: the {checkpoint.kind} of {checkpoint.time} says this"
                                    f" entry existed, the chain ends at seq {walked_to}"
                                    " (entries were deleted from the end)"))

    for table in trail.chained_tables():
        for event_id, time in store.unchained_events(
            table=table.name, time_column=table.time_column, after_seq=anchored_seq
        ):
            after = store.seq_before_event(table=table.name, event_id=event_id)
            where = f"after seq {after}" if after is not None else "before the first entry"
            report.add(Problem(None, f"{table.name} id {event_id} ({chain.canonical_time(time)}):"
                                     f" inserted, not in the chain ({where})"))

    for op_seq in sorted(coverage.invalid):
        if coverage.claims[op_seq]:
            report.add(Problem(op_seq, f"{coverage.claims[op_seq]} entries were excused by this"
                                       " operation, which does not verify"))
    return report
