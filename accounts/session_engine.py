"""SESSION_ENGINE = "accounts.session_engine": Django's database sessions, with their user.

Django's own engine cannot answer "which sessions does user 42 have?"
without decoding every row. This subclass stores the user id and the
session's trail reference in their own columns each time a session is saved,
so a user's sessions can be listed and ended (accounts/sessions_admin.py).

It also skips writes Django's engine would repeat (issue 5): a sign-in saves
the session inside its own transaction (the row and the login event commit
together), and SessionMiddleware would then save the same data again in a
second transaction, a second disk flush. A save whose key and data are those
of the last committed save of this object is left out.
"""

from django.contrib.sessions.backends.base import VALID_KEY_CHARS
from django.contrib.sessions.backends.db import SessionStore as DatabaseSessionStore
from django.db import router, transaction
from django.utils.crypto import get_random_string

from accounts.sessions import session_user_id
from authlog.events import session_ref


class SessionStore(DatabaseSessionStore):
    """Database sessions whose rows carry `user_id` and `session_ref`."""

    # (session key, serialised data) of this object's last save that committed; None: none known.
    _committed: tuple[str, bytes] | None = None

    @classmethod
    def get_model_class(cls):
        from accounts.models import UserSession

        return UserSession

    def create_model_instance(self, data):
        """Return the row to save: Django's, plus the signed-in user's id and the key's reference."""
        row = super().create_model_instance(data)
        row.user_id = session_user_id(data)
        row.session_ref = session_ref(row.session_key)
        return row

    def save(self, must_create=False):
        """Save the session, unless this object already committed this key with this data."""
        if self.session_key is None:
            return self.create()  # which comes back here with must_create=True
        # Compared as serialised text: a nested value changed in place is a change.
        serialised = self.serializer().dumps(self._get_session(no_load=must_create))
        if not must_create and self._committed == (self.session_key, serialised):
            # The expiry would move by the milliseconds since that save: not worth a disk flush.
            return
        using = router.db_for_write(self.model)
        if must_create and transaction.get_connection(using).in_atomic_block:
            # Inside the caller's transaction (a sign-in): no savepoint around
            # the INSERT, two statements fewer. A key that is taken (165 random
            # bits: not a practical event) then fails that transaction, and the
            # sign-in answers 503, instead of create() drawing another key.
            row = self.create_model_instance(self._get_session(no_load=True))
            row.save(force_insert=True, using=using)
        else:
            super().save(must_create=must_create)
        saved = (self.session_key, serialised)
        # Only a committed row may be skipped later: if the transaction this save
        # ran in rolls back, the next save must write the row again.
        transaction.on_commit(lambda: setattr(self, "_committed", saved), using=using)

    def delete(self, session_key=None):
        """Delete the session's row in one statement (Django's engine reads the row first)."""
        if session_key is None:
            if self.session_key is None:
                return
            session_key = self.session_key
        if session_key == self.session_key:
            self._committed = None
        self.model.objects.filter(session_key=session_key).delete()

    def _get_new_session_key(self):
        """Return a fresh key without asking the database whether it is taken.

        32 characters of 36 (165 random bits) never collide in practice; if one
        did, the INSERT would fail on the primary key: create() then draws
        another key (CreateError), or, inside a transaction, the transaction fails.
        """
        return get_random_string(32, VALID_KEY_CHARS)
