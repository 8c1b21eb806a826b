"""Every SQL statement on the `users` table; nothing else in the project writes SQL against it."""

from dataclasses import dataclass, field
from datetime import datetime

from django.db import IntegrityError, connection, transaction

from config.dbtime import as_utc, to_db_time

_COLUMNS = (
    "id, username, email, password_hash, is_admin, is_active, created_at, last_login_at"
)


@dataclass(frozen=True)
class User:
    """A row of `users`; the hash is kept out of repr so it never reaches a log or a traceback."""

    id: int
    username: str
    email: str | None
    password_hash: str = field(repr=False)
    is_admin: bool
    is_active: bool
    created_at: datetime
    last_login_at: datetime | None


def _user(row: tuple | None) -> User | None:
    if row is None:
        return None
    return User(
        id=row[0],
        username=row[1],
        email=row[2],
        password_hash=row[3],
        is_admin=bool(row[4]),
        is_active=bool(row[5]),
        created_at=as_utc(row[6]),
        last_login_at=as_utc(row[7]),
    )


def insert_user(
    *,
    username: str,
    username_normalised: str,
    email: str | None,
    password_hash: str,
    is_admin: bool = False,
) -> User | None:
    """Insert a user and return it, or return None if the normalised name is taken."""
    try:
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(
                "INSERT INTO users (username, username_normalised, email, password_hash,"
                " is_admin, is_active) VALUES (%s, %s, %s, %s, %s, %s)"
                f" RETURNING {_COLUMNS}",
                [username, username_normalised, email, password_hash, is_admin, True],
            )
            return _user(cursor.fetchone())
    except IntegrityError:
        # Two sign-ups racing for one name: the UNIQUE constraint decides.
        return None


def user_by_normalised_username(*, username_normalised: str) -> User | None:
    """Return the user with this normalised name, or None."""
    # uses the UNIQUE index on username_normalised
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT {_COLUMNS} FROM users WHERE username_normalised = %s",
            [username_normalised],
        )
        return _user(cursor.fetchone())


def user_by_id(*, user_id: int) -> User | None:
    """Return the user with this id, or None."""
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT {_COLUMNS} FROM users WHERE id = %s", [user_id])
        return _user(cursor.fetchone())


def update_password_hash(*, user_id: int, password_hash: str) -> None:
    """Replace a user's password hash (after a change, or a hasher upgrade)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users SET password_hash = %s WHERE id = %s", [password_hash, user_id]
        )


def record_last_login(*, user_id: int) -> None:
    """Stamp the user's last sign-in with the database clock."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users SET last_login_at = CURRENT_TIMESTAMP WHERE id = %s", [user_id]
        )


def update_flags(*, user_id: int, is_admin: bool | None = None, is_active: bool | None = None) -> None:
    """Set a user's admin and/or active flag."""
    with connection.cursor() as cursor:
        if is_admin is not None:
            cursor.execute("UPDATE users SET is_admin = %s WHERE id = %s", [is_admin, user_id])
        if is_active is not None:
            cursor.execute("UPDATE users SET is_active = %s WHERE id = %s", [is_active, user_id])


def usernames_by_ids(*, user_ids: set[int]) -> dict[int, str]:
    """Return {id: username} for the given ids (missing ids are left out)."""
    if not user_ids:
        return {}
    ids = sorted(user_ids)
    placeholders = ", ".join(["%s"] * len(ids))
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT id, username FROM users WHERE id IN ({placeholders})", ids)
        return dict(cursor.fetchall())


def tombstone_user(*, user_id: int, pseudonym: str, password_hash: str) -> bool:
    """Replace a deleted user's name, e-mail and password by a pseudonym; keep the row.

    The row stays because the trail's events point at it (login_logs.user_id
    is NOT NULL); nothing personal is left in it. Return whether it existed.
    """
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users SET username = %s, username_normalised = %s, email = NULL,"
            " password_hash = %s, is_admin = %s, is_active = %s, last_login_at = NULL"
            " WHERE id = %s",
            [pseudonym, pseudonym, password_hash, False, False, user_id],
        )
        return cursor.rowcount == 1


# --- Sessions (`user_sessions`, the table of accounts/session_engine.py) -------------


@dataclass(frozen=True)
class SessionRow:
    """A live session of a user; the key stays out of repr (it is a bearer credential)."""

    session_key: str = field(repr=False)
    session_ref: str | None
    user_id: int
    session_data: str = field(repr=False)
    expire_date: datetime


def _session_row(row: tuple) -> SessionRow:
    return SessionRow(
        session_key=row[0],
        session_ref=row[1],
        user_id=row[2],
        session_data=row[3],
        expire_date=as_utc(row[4]),
    )


def sessions_of_user(*, user_id: int, now: datetime) -> list[SessionRow]:
    """Return the unexpired session rows of a user, the longest-lived first."""
    # uses user_sessions_user_expiry
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_key, session_ref, user_id, session_data, expire_date"
            " FROM user_sessions WHERE user_id = %s AND expire_date > %s"
            " ORDER BY expire_date DESC",
            [user_id, to_db_time(now)],
        )
        return [_session_row(row) for row in cursor.fetchall()]


def recent_sessions(*, now: datetime, limit: int) -> list[SessionRow]:
    """Return the unexpired sessions of signed-in users, the most recently saved first."""
    # uses the expire_date index (Django's); a session's expiry is set when it is saved
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT session_key, session_ref, user_id, session_data, expire_date"
            " FROM user_sessions WHERE expire_date > %s AND user_id IS NOT NULL"
            " ORDER BY expire_date DESC LIMIT %s",
            [to_db_time(now), limit],
        )
        return [_session_row(row) for row in cursor.fetchall()]


def count_sessions(*, now: datetime) -> int:
    """Return how many unexpired sessions belong to signed-in users."""
    # uses the expire_date index (Django's)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM user_sessions WHERE expire_date > %s AND user_id IS NOT NULL",
            [to_db_time(now)],
        )
        return cursor.fetchone()[0]


def delete_sessions_of_user(*, user_id: int, session_keys: list[str]) -> list[str]:
    """Delete these sessions if they still belong to the user; return the keys really deleted.

    The caller writes one logout event per returned key, so a session that
    another request ended a moment earlier gets no second logout.
    """
    if not session_keys:
        return []
    placeholders = ", ".join(["%s"] * len(session_keys))
    # uses the primary key
    with connection.cursor() as cursor:
        cursor.execute(
            f"DELETE FROM user_sessions WHERE user_id = %s AND session_key IN ({placeholders})"
            " RETURNING session_key",
            [user_id, *session_keys],
        )
        return [row[0] for row in cursor.fetchall()]
