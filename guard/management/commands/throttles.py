"""`python manage.py throttles`: list sign-in throttles, and unlock them."""

import json

from django.core.management.base import BaseCommand, CommandError

from guard import operations, throttle
from guard.counters import database_counters

FORMATS = ("table", "json")
MAX_LIMIT = 10_000


def command_actor(name: str) -> operations.Actor:
    """Return the actor recorded for an action taken from the command line."""
    return operations.Actor(user_id=None, label=f"manage.py {name}")


class Command(BaseCommand):
    help = "List sign-in throttles (locked first); with --unlock, clear them (dry run unless --for-real)."

    def add_arguments(self, parser):
        parser.add_argument("--user", help="Only the counters of this username (any case or width).")
        parser.add_argument("--ip", help="Only the counters of this IP address (its /64 for IPv6).")
        parser.add_argument("--locked", action="store_true", help="Only counters that are locked now.")
        parser.add_argument("--limit", type=int, default=50, help=f"At most this many rows (1-{MAX_LIMIT}, default 50).")
        parser.add_argument("--format", default="table", help="table (default) or json.")
        parser.add_argument("--unlock", action="store_true", help="Clear the counters of --user or --ip (or --all).")
        parser.add_argument("--all", action="store_true", help="With --unlock: clear every counter.")
        parser.add_argument("--prune", action="store_true", help="Delete expired counters from the database, in batches.")
        parser.add_argument("--for-real", action="store_true", help="Do it; without this --unlock only says what it would do.")

    def handle(self, *args, **options):
        if options["format"] not in FORMATS:
            raise CommandError(f"format: expected one of {', '.join(FORMATS)}")
        if not 1 <= options["limit"] <= MAX_LIMIT:
            raise CommandError(f"limit: expected a whole number from 1 to {MAX_LIMIT}")
        if options["user"] and options["ip"]:
            raise CommandError("give --user or --ip, not both")
        if options["user"] is not None and not 0 < len(options["user"]) <= 256:
            raise CommandError("user: expected a username of 1 to 256 characters")
        try:
            user_ref = operations.user_ref_of(options["user"]) if options["user"] else None
            network, source_ref = operations.network_ref_of(options["ip"]) if options["ip"] else (None, None)
        except operations.OperationError as error:
            raise CommandError(f"ip: {error}") from None
        if options["prune"]:
            return self._prune()
        if options["unlock"]:
            return self._unlock(options, user_ref, source_ref, network)
        try:
            throttles = operations.list_throttles(
                locked_only=options["locked"], user_ref=user_ref, source_ref=source_ref,
                limit=options["limit"],
            )
        except operations.OperationError as error:
            raise CommandError(str(error)) from None
        if options["format"] == "json":
            self.stdout.write(json.dumps([vars(t) for t in throttles], indent=2, sort_keys=True))
            return
        self.stdout.write(f"{'kind':<9} {'failures':>8} {'locked':>10} {'lockouts':>8}  of")
        for t in throttles:
            locked = f"{t.retry_after}s" if t.locked else "-"
            self.stdout.write(f"{t.kind:<9} {t.failures:>8} {locked:>10} {t.lockouts:>8}  {t.label}")

    def _unlock(self, options, user_ref, source_ref, network):
        if not (user_ref or source_ref or options["all"]):
            raise CommandError("--unlock needs --user, --ip or --all")
        what = f"user {options['user']}" if user_ref else f"network {network}" if source_ref else "every counter"
        if not options["for_real"]:
            self.stdout.write(f"Would unlock {what}. Run again with --for-real to do it.")
            return
        actor = command_actor("throttles")
        try:
            if options["all"] and not (user_ref or source_ref):
                cleared = operations.clear_all_throttles(actor=actor)
            else:
                scope = operations.USER if user_ref else operations.SOURCE
                label = options["user"] if user_ref else network
                cleared = operations.unlock(scope=scope, ref=user_ref or source_ref, label=label, actor=actor)
        except operations.OperationError as error:
            raise CommandError(str(error)) from None
        self.stdout.write(f"Unlocked {what}: {cleared} counters cleared.")

    def _prune(self):
        total = 0
        while True:
            deleted = database_counters().prune(now=throttle.clock(), batch=throttle.PRUNE_BATCH)
            total += deleted
            if deleted < throttle.PRUNE_BATCH:
                break
        self.stdout.write(f"Deleted {total} expired counters.")
