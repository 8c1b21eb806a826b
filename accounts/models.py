"""The one ORM model of the project: database sessions that know their user (Django's documented way).

Every other table is ours, reached through store.py modules. Sessions stay on
Django's database engine (see config/settings.py), extended as the Django docs
describe ("Extending database-backed session engines") with two columns that
let an admin, or the user, end a user's sessions: `user_id` and `session_ref`
(sha256 of the key, the reference the trail's login and logout events carry).
"""

from django.contrib.sessions.base_session import AbstractBaseSession
from django.db import models


class UserSession(AbstractBaseSession):
    """A Django session row, plus who it belongs to and its trail reference."""

    user_id = models.BigIntegerField(null=True)
    session_ref = models.CharField(max_length=64, null=True)

    class Meta:
        db_table = "user_sessions"
        indexes = [
            # sessions_of_user / delete_sessions_of_user (accounts/store.py)
            models.Index(fields=["user_id", "expire_date"], name="user_sessions_user_expiry"),
        ]

    @classmethod
    def get_session_store_class(cls):
        from accounts.session_engine import SessionStore

        return SessionStore
