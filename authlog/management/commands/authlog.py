"""`python manage.py authlog`: read the sign-in trail from the command line."""

from django.core.management.base import BaseCommand, CommandError

from authlog.export import csv_lines, json_text, table_lines
from authlog.filters import FilterError, FilterText, build_event_filter, parse_limit
from authlog.history import MAX_LIMIT, search_events

FORMATS = ("table", "csv", "json")


class Command(BaseCommand):
    help = "Show sign-in, sign-out and failed sign-in events, newest first."

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

    def handle(self, *args, **options):
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
