"""`python manage.py createadmin`: create an administrator account."""

import getpass
import os

from django.core.management.base import BaseCommand, CommandError

from accounts.registration import register_user


class Command(BaseCommand):
    help = "Create an administrator who can read the whole sign-in trail."

    def add_arguments(self, parser):
        parser.add_argument("--username", required=True, help="The new administrator's username.")
        parser.add_argument("--email", default="", help="Optional e-mail address.")
        parser.add_argument(
            "--noinput",
            "--no-input",
            action="store_true",
            help="Read the password from the ADMIN_PASSWORD environment variable instead of asking.",
        )

    def handle(self, *args, **options):
        if options["noinput"]:
            password = os.environ.get("ADMIN_PASSWORD", "")
            if not password:
                raise CommandError("--noinput needs the password in ADMIN_PASSWORD.")
        else:
            password = getpass.getpass("Password: ")
            if password != getpass.getpass("Password (again): "):
                raise CommandError("The two passwords differ.")
        registration = register_user(
            username=options["username"], email=options["email"], password=password, is_admin=True
        )
        if registration.user is None:
            problems = "; ".join(
                f"{field}: {' '.join(messages)}" for field, messages in registration.errors.items()
            )
            raise CommandError(problems.replace("password1", "password"))
        self.stdout.write(f"Administrator {registration.user.username} created.")
