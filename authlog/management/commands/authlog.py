"""`python manage.py authlog`: read the sign-in trail; verify, checkpoint, prune and anonymise it.

Without an action it lists events (`authlog --type login`). The actions:
`verify [--since-checkpoint FILE]`, `checkpoint [--output FILE] [--every S]`,
`prune [--for-real]`, `anonymise [--for-real]`, `delete-user (--user NAME |
--user-id ID) [--erase] [--for-real]`, `rotate-key [--for-real]`, `status`.
Destructive actions only count unless given --for-real.
"""

import re
import time
from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from accounts import store as accounts_store
from accounts.usernames import normalise_username
from authlog import chain, retention, trail
from authlog.cleaning import has_unsafe_characters
from authlog.export import csv_lines, json_text, table_lines
from authlog.filters import FilterError, FilterText, build_event_filter, parse_limit
from authlog.history import MAX_LIMIT, search_events
from authlog.verify import verify_trail

FORMATS = ("table", "csv", "json")
LISTING_OPTIONS = ("user", "event_type", "ip", "since", "until")
_DIGITS = re.compile(r"[0-9]{1,12}\Z")
_SECONDS = re.compile(r"[0-9]{1,7}(\.[0-9]{1,3})?\Z")


class Command(BaseCommand):
    help = (
        "Show sign-in, sign-out and failed sign-in events, newest first; or verify, checkpoint,"
        " prune or anonymise the trail, delete a user from it, rotate its key, or show its status."
    )

    def add_arguments(self, parser):
        parser.add_argument(
            "--user",
            help='Only events of this username (any case or width), or an "unknown:..." pseudonym.',
        )
        parser.add_argument("--type", dest="event_type", help="login, logout or login_failed.")
        parser.add_argument("--ip", help="Only events from this IP address.")
        parser.add_argument("--since", help="Only events at or after this ISO 8601 time (UTC if no offset).")
        parser.add_argument("--until", help="Only events before this ISO 8601 time (UTC if no offset).")
        parser.add_argument("--limit", default="50", help=f"At most this many events (1-{MAX_LIMIT}, default 50).")
        parser.add_argument("--format", default="table", help="table (default), csv or json.")
        actions = parser.add_subparsers(dest="action", metavar="ACTION", title="actions (default: list events)")
        verify = actions.add_parser(
            "verify", help="Walk the hash chain; report every edited, deleted, inserted or reordered event by seq."
        )
        verify.add_argument(
            "--since-checkpoint", metavar="FILE",
            help="Prove the trail from this signed checkpoint on (a file written by `authlog checkpoint`).",
        )
        checkpoint = actions.add_parser(
            "checkpoint", help="Sign the chain's head (seq, hash, time) and print it, to copy elsewhere."
        )
        checkpoint.add_argument("--output", metavar="FILE", help="Also append the checkpoint to this file, one JSON line.")
        checkpoint.add_argument("--every", metavar="SECONDS", help="Keep running: write a checkpoint every SECONDS.")
        checkpoint.add_argument("--count", metavar="N", help="With --every: stop after N checkpoints.")
        for name, what in (
            ("prune", "Delete events older than their kind's retention (dry run unless --for-real)."),
            ("anonymise", "Cut addresses older than ANONYMISE_IPS_AFTER_DAYS to /24 or /48 (dry run unless --for-real)."),
        ):
            sub = actions.add_parser(name, help=what)
            sub.add_argument("--for-real", action="store_true", help="Change the trail; without it, only count.")
        delete = actions.add_parser(
            "delete-user",
            help="Delete an account, keeping its events under a pseudonym (or erasing them with --erase).",
        )
        delete.add_argument("--user", dest="delete_name", metavar="NAME", help="The account's username.")
        delete.add_argument("--user-id", metavar="ID", help="The account's id.")
        delete.add_argument("--erase", action="store_true", help="Erase the account's events too (recorded in the trail).")
        delete.add_argument("--for-real", action="store_true", help="Delete; without it, only count.")
        rotate = actions.add_parser(
            "rotate-key",
            help="Record that the first key of AUTHLOG_CHAIN_KEYS takes over the chain and the others are retired.",
        )
        rotate.add_argument("--for-real", action="store_true", help="Record the change; without it, only say what it would do.")
        actions.add_parser("status", help="Show the head, last verification, checkpoint and retention policy.")

    def handle(self, *args, **options):
        action = options.get("action")
        if action is None:
            return self.list_events(options)
        given = [name for name in LISTING_OPTIONS if options.get(name)]
        if given or options["limit"] != "50" or options["format"] != "table":
            raise CommandError(f"listing options cannot be combined with {action}")
        handler = {
            "verify": self.verify,
            "checkpoint": self.checkpoint,
            "prune": self.prune,
            "anonymise": self.anonymise,
            "delete-user": self.delete_user,
            "rotate-key": self.rotate_key,
            "status": self.status,
        }[action]
        return handler(options)

    # --- listing -------------------------------------------------------------

    def list_events(self, options):
        if options["format"] not in FORMATS:
            raise CommandError(f"format: expected one of {', '.join(FORMATS)}")
        try:
            limit = parse_limit(options["limit"], maximum=MAX_LIMIT)
            event_filter = build_event_filter(
                FilterText(
                    user=options["user"],
                    event_type=options["event_type"],
                    ip=options["ip"],
                    since=options["since"],
                    until=options["until"],
                )
            )
        except FilterError as error:
            raise CommandError(str(error)) from None
        events = search_events(event_filter=event_filter, limit=limit)
        if options["format"] == "json":
            self.stdout.write(json_text(events))
        elif options["format"] == "csv":
            for line in csv_lines(events):
                self.stdout.write(line, ending="")
        else:
            for line in table_lines(events):
                self.stdout.write(line)

    # --- the chain ----------------------------------------------------------------

    def verify(self, options):
        since = None
        if options.get("since_checkpoint"):
            since = read_checkpoint_file(options["since_checkpoint"])
        report = verify_trail(since=since)
        for problem in report.problems:
            self.stdout.write(str(problem))
        if report.problem_count > len(report.problems):
            self.stdout.write(f"... and {report.problem_count - len(report.problems)} more")
        summary = (
            f"{report.checked:,} chain entries ({report.events_checked:,} events) checked from"
            f" {report.start}, in {report.seconds:.1f} s ({report.rate:,.0f} entries/s);"
            f" head seq {report.head_seq} {report.head_hash}"
        )
        if not report.ok:
            raise CommandError(
                f"the trail does not verify: {report.problem_count} problem(s); {summary}", returncode=1
            )
        self.stdout.write(f"ok: {summary}")

    def checkpoint(self, options):
        output = Path(options["output"]) if options.get("output") else None
        every = count = None
        if options.get("every") is not None:
            if not _SECONDS.match(options["every"]) or float(options["every"]) <= 0:
                raise CommandError("every: expected a number of seconds above 0")
            every = float(options["every"])
        if options.get("count") is not None:
            if every is None or not _DIGITS.match(options["count"]) or int(options["count"]) < 1:
                raise CommandError("count: expected a whole number above 0, with --every")
            count = int(options["count"])
        written = 0
        while True:
            document = trail.write_checkpoint().document()
            self.stdout.write(document)
            if output is not None:
                try:
                    with output.open("a") as file:
                        file.write(document + "\n")
                except OSError as error:
                    raise CommandError(f"output: cannot write {output}: {error.strerror}") from None
            written += 1
            if every is None or (count is not None and written >= count):
                return
            time.sleep(every)

    # --- retention and privacy -------------------------------------------------------

    def prune(self, options):
        report = retention.prune_trail(for_real=options["for_real"], progress=self.stdout.write)
        verb = "deleted" if report.for_real else "would delete"
        for count in report.counts:
            self.stdout.write(
                f"{count.kind}: {verb} {count.events:,} events of {count.table} older than"
                f" {chain.canonical_time(count.before)}"
            )
        if not report.for_real:
            self.stdout.write("dry run: nothing was deleted; run again with --for-real to delete")
        else:
            self.stdout.write(
                f"pruned {report.events:,} events (recorded at seq {report.operation_seq});"
                f" {report.entries_dropped:,} chain entries dropped"
            )

    def anonymise(self, options):
        report = retention.anonymise_addresses(for_real=options["for_real"], progress=self.stdout.write)
        if report.before is None:
            self.stdout.write("ANONYMISE_IPS_AFTER_DAYS is None: addresses are kept in full")
            return
        when = chain.canonical_time(report.before)
        if report.for_real:
            self.stdout.write(
                f"anonymised {report.addresses:,} addresses older than {when}"
                f" (recorded at seq {report.operation_seq})"
            )
        else:
            self.stdout.write(
                f"dry run: would anonymise {report.addresses:,} addresses older than {when};"
                " run again with --for-real to anonymise"
            )

    def delete_user(self, options):
        name, user_id = options.get("delete_name"), options.get("user_id")
        if (name is None) == (user_id is None):
            raise CommandError("give exactly one of --user NAME or --user-id ID")
        if user_id is not None:
            if not _DIGITS.match(user_id):
                raise CommandError("user-id: expected a whole number")
            user = accounts_store.user_by_id(user_id=int(user_id))
        else:
            if len(name) > 256:
                raise CommandError("user: at most 256 characters")
            normalised = normalise_username(name)
            if has_unsafe_characters(normalised):
                raise CommandError("user: not a username")
            user = accounts_store.user_by_normalised_username(username_normalised=normalised)
        if user is None:
            raise CommandError("no such user")
        result = retention.delete_user(user_id=user.id, erase=options["erase"], for_real=options["for_real"])
        fate = "erased" if result.erase else f"kept under the pseudonym {result.pseudonym}"
        if result.for_real:
            self.stdout.write(
                f"user {result.user_id} deleted; {result.events:,} events {fate}"
                f" (recorded at seq {result.operation_seq})"
            )
        else:
            self.stdout.write(
                f"dry run: user {result.user_id} has {result.events:,} events that would be {fate};"
                " run again with --for-real to delete"
            )

    def rotate_key(self, options):
        try:
            rotation = trail.rotate_key(for_real=options["for_real"])
        except ValueError as error:
            raise CommandError(str(error)) from None
        retired = ", ".join(rotation.retired)
        if rotation.for_real:
            self.stdout.write(
                f"key {rotation.key_id} is current from seq {rotation.seq}; retired: {retired}."
                " Keep the retired keys after it in AUTHLOG_CHAIN_KEYS until the entries they hashed are pruned."
            )
        else:
            self.stdout.write(
                f"dry run: key {rotation.key_id} would take over the chain; retired: {retired}."
                " Run again with --for-real once every process has this key first in AUTHLOG_CHAIN_KEYS."
            )

    def status(self, options):
        status = trail.trail_status()
        last = status.last_verification
        lines = [
            f"head: seq {status.head_seq} {status.head_hash}",
            f"chain key: {status.key_source} (key id {status.key_id}"
            + (f"; retired keys held: {', '.join(status.retired_key_ids)})" if status.retired_key_ids else ")"),
            "last verification: "
            + (
                f"{chain.canonical_time(last.finished_at)}, {'ok' if last.ok else 'FAILED'},"
                f" {last.checked:,} entries, {last.problems} problem(s)"
                if last else "never"
            )
            + (" (overdue)" if status.verification_overdue else ""),
            "last checkpoint: "
            + (
                f"seq {status.last_checkpoint_seq} at {chain.canonical_time(status.last_checkpoint_at)}"
                if status.last_checkpoint_at else "never"
            ),
            "retention: " + ", ".join(
                f"{rule.kind} {rule.days} days" if rule.days is not None else f"{rule.kind} forever"
                for rule in status.retention
            ),
            "addresses anonymised after: "
            + (f"{status.anonymise_ips_after_days} days" if status.anonymise_ips_after_days else "never"),
            "next prune: "
            + (chain.canonical_time(status.next_prune_at) if status.next_prune_at else "due (never run)")
            + (" (overdue)" if status.prune_overdue and status.next_prune_at else ""),
        ]
        for line in lines:
            self.stdout.write(line)


def read_checkpoint_file(path: str) -> chain.Checkpoint:
    """Read the last checkpoint of a file written by `authlog checkpoint`; raise CommandError."""
    try:
        with open(path, "rb") as file:
            file.seek(0, 2)
            size = file.tell()
            file.seek(max(0, size - 64 * 1024))
            text = file.read().decode("utf-8", "replace")
    except OSError as error:
        raise CommandError(f"since-checkpoint: cannot read {path}: {error.strerror}") from None
    lines = [line for line in text.splitlines() if line.strip()]
    if not lines:
        raise CommandError("since-checkpoint: the file is empty")
    try:
        return chain.read_checkpoint(trail.chain_keyring().by_id, lines[-1].strip())
    except chain.CheckpointError as error:
        raise CommandError(f"since-checkpoint: {error}") from None
