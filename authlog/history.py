"""Read the trail back: events with usernames, for pages, the authlog command and exports."""

from accounts import store as accounts_store
from authlog import store
from authlog.events import AuthEvent
from authlog.store import EventFilter

MAX_LIMIT = 10_000


def search_events(*, event_filter: EventFilter, limit: int) -> list[AuthEvent]:
    """Return the newest events matching the filter, newest first, at most MAX_LIMIT."""
    if limit < 1:
        # SQLite reads LIMIT -1 as "no limit"; PostgreSQL refuses it.
        return []
    rows = store.recent_events(event_filter=event_filter, limit=min(limit, MAX_LIMIT))
    names = accounts_store.usernames_by_ids(
        user_ids={row.user_id for row in rows if row.user_id is not None}
    )
    return [
        AuthEvent(
            id=row.id,
            event_type=row.event_type,
            user_id=row.user_id,
            # A failed attempt shows the name that was typed, even when it matched an account.
            username=row.attempted_username if row.event_type == store.LOGIN_FAILED
            else names.get(row.user_id),
            ip_address=row.ip_address,
            user_agent=row.user_agent,
            browser=row.browser,
            os=row.os,
            device=row.device,
            timestamp=row.timestamp,
            reason=row.reason,
            session_ref=row.session_ref,
        )
        for row in rows
    ]
