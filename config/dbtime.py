"""Convert timestamps between Python and the two databases we run on.

SQLite has no time zone type: our columns hold UTC as text
("YYYY-MM-DD HH:MM:SS[.ffffff]", CURRENT_TIMESTAMP's format) and come back
as naive datetimes through Django's "timestamp" converter. PostgreSQL's
TIMESTAMPTZ comes back aware. Both leave here as aware UTC datetimes.
"""

from datetime import UTC, datetime

from django.db import connection


def as_utc(value: datetime | str | None) -> datetime | None:
    """Return a database timestamp as an aware UTC datetime."""
    if value is None:
        return None
    if isinstance(value, str):
        value = datetime.fromisoformat(value)
    if value.tzinfo is None:
        return value.replace(tzinfo=UTC)
    return value.astimezone(UTC)


def to_db_time(value: datetime) -> datetime | str:
    """Return an aware datetime as a query parameter that compares correctly with our columns."""
    if value.tzinfo is None:
        raise ValueError("naive datetimes are ambiguous; pass an aware one")
    utc = value.astimezone(UTC)
    if connection.vendor == "sqlite":
        # isoformat pads the year to four digits; strftime("%Y") does not on Linux.
        text = utc.replace(tzinfo=None).isoformat(sep=" ", timespec="microseconds")
        return text.rstrip("0").rstrip(".")
    return utc
