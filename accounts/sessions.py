"""Tie a Django session to a row of `users`, the way django.contrib.auth does, without its models."""

from dataclasses import dataclass, field
from importlib import import_module

from django.conf import settings
from django.contrib.sessions.backends.base import SessionBase
from django.http import HttpRequest
from django.utils.crypto import constant_time_compare, salted_hmac

from accounts import store
from accounts.store import User

SESSION_USER_ID = "_uid"
SESSION_AUTH_HASH = "_auth_hash"


def session_auth_hash(user: User) -> str:
    """Return a digest of the password hash: changing the password ends every other session."""
    return salted_hmac("accounts.session", user.password_hash, algorithm="sha256").hexdigest()


def attach_user(session: SessionBase, user: User) -> None:
    """Write the signed-in user into the session."""
    session[SESSION_USER_ID] = user.id
    session[SESSION_AUTH_HASH] = session_auth_hash(user)


def session_user_id(data) -> int | None:
    """Return the user id a session's data names, or None (bool is an int subclass: not an id)."""
    user_id = data.get(SESSION_USER_ID)
    return user_id if type(user_id) is int else None


def session_is_for(data, user: User) -> bool:
    """Say whether a session's data signs in `user` now (a changed password ends it)."""
    return session_user_id(data) == user.id and constant_time_compare(
        data.get(SESSION_AUTH_HASH, ""), session_auth_hash(user)
    )


def user_of_session(session: SessionBase) -> User | None:
    """Return the user this session belongs to, or None if it is anonymous or no longer valid."""
    user_id = session_user_id(session)
    if user_id is None:
        return None
    user = store.user_by_id(user_id=user_id)
    if user is None or not user.is_active or not session_is_for(session, user):
        return None
    return user


@dataclass
class RequestAuth:
    """Per-request authentication state, loaded on first use (request.auth)."""

    request: HttpRequest
    _loaded: bool = field(default=False, init=False)
    _user: User | None = field(default=None, init=False)

    @property
    def user(self) -> User | None:
        if not self._loaded:
            self._user = user_of_session(self.request.session)
            self._loaded = True
        return self._user

    def forget(self) -> None:
        """Drop the cached user after the session changed hands."""
        self._loaded = False
        self._user = None

    @classmethod
    def anonymous(cls, request: HttpRequest) -> "RequestAuth":
        """Return a state that never reads the database: for pages shown during an outage."""
        auth = cls(request)
        auth._loaded = True
        return auth


def session_store(session_key: str | None) -> SessionBase:
    """Return a store of the configured engine for this key (None: a new, empty session)."""
    engine = import_module(settings.SESSION_ENGINE)
    return engine.SessionStore(session_key=session_key)


def get_authenticated_user(request: HttpRequest) -> User | None:
    """Return the signed-in user of the request, or None (the seed's helper)."""
    auth = getattr(request, "auth", None)
    if auth is None:
        return user_of_session(request.session)
    return auth.user
