"""SESSION_ENGINE = "accounts.session_engine": Django's database sessions, with their user.

Django's own engine cannot answer "which sessions does user 42 have?"
without decoding every row. This subclass stores the user id and the
session's trail reference in their own columns each time a session is saved,
so a user's sessions can be listed and ended (accounts/sessions_admin.py).
"""

from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore

from accounts.sessions import SESSION_USER_ID
from authlog.events import session_ref


class SessionStore(DatabaseSessionStore):
    """Database sessions whose rows carry `user_id` and `session_ref`."""

    @classmethod
    def get_model_class(cls):
        from accounts.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        """Return the row to save: Django's, plus the signed-in user's id and the key's reference."""
        row = super().create_model_instance(data)
        user_id = data.get(SESSION_USER_ID)
        # bool is an int subclass; only a real id names a user (as in user_of_session).
        row.user_id = user_id if type(user_id) is int else None
        row.session_ref = session_ref(row.session_key)
        return row
