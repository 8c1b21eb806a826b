"""`python manage.py alerts`: list security alerts, and acknowledge them."""

import json

from django.core.management.base import BaseCommand, CommandError

from guard import operations, store
from guard.delivery import alert_payload
from guard.management.commands.throttles import command_actor
from guard.rules import TITLES

STATUSES = ("open", "acknowledged", "all")
FORMATS = ("table", "json")
MAX_LIMIT = 10_000


class Command(BaseCommand):
    help = "List security alerts, newest first; with --acknowledge, close them (all: dry run unless --for-real)."

    def add_arguments(self, parser):
        parser.add_argument("--status", default="open", help="open (default), acknowledged or all.")
        parser.add_argument("--limit", type=int, default=50, help=f"At most this many alerts (1-{MAX_LIMIT}, default 50).")
        parser.add_argument("--format", default="table", help="table (default) or json.")
        parser.add_argument("--acknowledge", type=int, nargs="+", metavar="ID", help="Acknowledge these open alerts.")
        parser.add_argument("--acknowledge-all", action="store_true", help="Acknowledge every open alert.")
        parser.add_argument("--for-real", action="store_true", help="With --acknowledge-all: do it; without, only count.")

    def handle(self, *args, **options):
        if options["status"] not in STATUSES:
            raise CommandError(f"status: expected one of {', '.join(STATUSES)}")
        if options["format"] not in FORMATS:
            raise CommandError(f"format: expected one of {', '.join(FORMATS)}")
        if not 1 <= options["limit"] <= MAX_LIMIT:
            raise CommandError(f"limit: expected a whole number from 1 to {MAX_LIMIT}")
        if options["acknowledge"] or options["acknowledge_all"]:
            return self._acknowledge(options)
        status = None if options["status"] == "all" else options["status"]
        alerts = store.alerts(status=status, limit=options["limit"])
        if options["format"] == "json":
            self.stdout.write(json.dumps([alert_payload(a) for a in alerts], indent=2, sort_keys=True))
            return
        for alert in alerts:
            when = alert.created_at.strftime("%Y-%m-%d %H:%M:%S")
            title = TITLES.get(alert.rule, alert.rule)
            self.stdout.write(
                f"#{alert.id:<5} {when} {alert.status:<12} {alert.severity:<6} {title}: {alert.subject_label}"
            )

    def _acknowledge(self, options):
        if options["acknowledge_all"] and not options["for_real"]:
            count = store.count_alerts(status=store.ALERT_OPEN)
            self.stdout.write(f"Would acknowledge {count} open alerts. Run again with --for-real to do it.")
            return
        ids = None if options["acknowledge_all"] else options["acknowledge"]
        done = operations.acknowledge(alert_ids=ids, actor=command_actor("alerts"))
        if ids is not None and not done:
            raise CommandError("no open alert with those ids")
        self.stdout.write(f"Acknowledged {len(done)} alerts.")
