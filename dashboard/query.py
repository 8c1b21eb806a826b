"""Turn a dashboard query string into typed filters; a value that does not parse is a FilterError.

Filters live in the query string so a view can be bookmarked and shared.
Only the names below are read (never the whole of request.GET), each through
authlog/filters.py, the parser the authlog command uses too (SECURITY-CASES 2).
"""

import re
from dataclasses import dataclass
from datetime import date, timedelta

from django.http import QueryDict

from authlog.filters import FilterError, FilterText, build_event_filter
from authlog.history import parse_cursor
from authlog.store import EventFilter, TimelineKey

# The query-string names of the filters, in the order the form shows them.
FILTER_NAMES = ("user", "type", "ip", "since", "until", "browser", "os", "device")
PAGE_SIZE, MAX_PAGE_SIZE = 50, 200
CHART_DAYS = (30, 90)
_DATE_ONLY = re.compile(r"[0-9]{4}-[0-9]{2}-[0-9]{2}\Z")
_DIGITS = re.compile(r"[0-9]{1,12}\Z")


@dataclass(frozen=True)
class TimelineQuery:
    """What a timeline page or export was asked for, parsed."""

    event_filter: EventFilter
    before: TimelineKey | None
    limit: int


def _inclusive_until(text: str) -> str:
    # A date picked as "to" means through that day: the filter's `until` is exclusive.
    if _DATE_ONLY.match(text):
        try:
            return (date.fromisoformat(text) + timedelta(days=1)).isoformat()
        except ValueError:
            return text  # the parser says what is wrong with it
    return text


def filter_values(query: QueryDict) -> dict[str, str]:
    """Return the non-empty filter values of a query string, by name."""
    values = {}
    for name in FILTER_NAMES:
        value = query.get(name, "")
        if value.strip():
            values[name] = value.strip()
    return values


def parse_filters(values: dict[str, str]) -> EventFilter:
    """Return the typed filter for these query-string values, or raise FilterError."""
    until = values.get("until")
    return build_event_filter(
        FilterText(
            user=values.get("user"),
            event_type=values.get("type"),
            ip=values.get("ip"),
            since=values.get("since"),
            until=_inclusive_until(until) if until else None,
            browser=values.get("browser"),
            os=values.get("os"),
            device=values.get("device"),
        )
    )


def parse_page_size(text: str | None) -> int:
    """Parse `limit`: a whole number, capped at MAX_PAGE_SIZE (SECURITY-CASES 49)."""
    if not text:
        return PAGE_SIZE
    if not _DIGITS.match(text.strip()) or int(text) < 1:
        raise FilterError(f"limit: expected a whole number from 1 to {MAX_PAGE_SIZE}")
    return min(int(text), MAX_PAGE_SIZE)


def parse_timeline_query(query: QueryDict) -> TimelineQuery:
    """Parse the filters, the page cursor and the page size of a timeline request."""
    before_text = query.get("before", "").strip()
    return TimelineQuery(
        event_filter=parse_filters(filter_values(query)),
        before=parse_cursor(before_text) if before_text else None,
        limit=parse_page_size(query.get("limit")),
    )


def parse_chart_days(text: str | None) -> int:
    """Parse the charts' period: 30 or 90 days."""
    if not text:
        return CHART_DAYS[0]
    if text not in {str(days) for days in CHART_DAYS}:
        raise FilterError("days: expected 30 or 90")
    return int(text)
