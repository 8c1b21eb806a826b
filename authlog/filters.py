"""Turn filter text (command-line options, later query strings) into a typed EventFilter.

Every value is parsed into its type (int, enum, address, aware datetime)
before it reaches a query; text that does not parse is refused with a
message that says what was expected (SECURITY-CASES 2).
"""

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from accounts import store as accounts_store
from accounts.usernames import normalise_username, username_problem
from authlog.cleaning import has_unsafe_characters
from authlog.client_ip import parse_address
from authlog.events import UNKNOWN_NAME_PREFIX, unknown_name_pseudonym
from authlog.networks import parse_network
from authlog.store import EVENT_TYPES, EventFilter
from authlog.user_agent import BOT, DESKTOP, MOBILE, OTHER, TABLET

DEVICES = (DESKTOP, MOBILE, TABLET, BOT, OTHER)
# Browser and system names are short ("Chrome Mobile WebView 124.0"); searches longer than this are noise.
MAX_AGENT_SEARCH = 64

MAX_FILTER_TEXT = 256
MIN_YEAR, MAX_YEAR = 1000, 9999
_DIGITS = re.compile(r"[0-9]{1,12}\Z")
_PSEUDONYM = re.compile(re.escape(UNKNOWN_NAME_PREFIX) + r"[0-9a-f]{1,64}\Z")


class FilterError(ValueError):
    """A filter value that cannot be understood; the message is safe to show."""


@dataclass(frozen=True)
class FilterText:
    """Raw filter values as typed by a person; None or '' means "no filter"."""

    user: str | None = None
    event_type: str | None = None
    ip: str | None = None
    since: str | None = None
    until: str | None = None
    browser: str | None = None
    os: str | None = None
    device: str | None = None


def parse_timestamp(text: str, *, name: str) -> datetime:
    """Parse ISO 8601 (date or date-time); a time without an offset is taken as UTC."""
    expected = f"{name}: expected an ISO 8601 date or time, e.g. 2026-01-31T12:00:00Z"
    if len(text) > 40:
        raise FilterError(expected)
    try:
        value = datetime.fromisoformat(text.strip())
        value = value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
    except (ValueError, OverflowError):
        # OverflowError: an offset that moves 0001-01-01 or 9999-12-31 out of range.
        raise FilterError(expected) from None
    if not MIN_YEAR <= value.year <= MAX_YEAR:
        # SQLite compares our timestamps as text, which needs four-digit years.
        raise FilterError(f"{name}: expected a year from {MIN_YEAR} to {MAX_YEAR}")
    return value


def parse_limit(text: str | int, *, maximum: int) -> int:
    """Parse a positive row count, at most `maximum`."""
    digits = str(text).strip()
    # ASCII digits only: int() would also take "1_000", "+5" and "٥".
    value = int(digits) if _DIGITS.match(digits) else -1
    if not 1 <= value <= maximum:
        raise FilterError(f"limit: expected a whole number from 1 to {maximum}")
    return value


def build_event_filter(text: FilterText) -> EventFilter:
    """Return the typed filter for these values, or raise FilterError."""
    for name, value in vars(text).items():
        if value is not None and len(value) > MAX_FILTER_TEXT:
            raise FilterError(f"{name}: at most {MAX_FILTER_TEXT} characters")
    event_type = text.event_type or None
    if event_type is not None and event_type not in EVENT_TYPES:
        raise FilterError(f"type: expected one of {', '.join(EVENT_TYPES)}")
    ip_address = ip_network = None
    if text.ip and "/" in text.ip:
        ip_network = parse_network(text.ip)
        if ip_network is None:
            raise FilterError("ip: expected an IPv4 or IPv6 address, or a network such as 203.0.113.0/24")
        if ip_network.num_addresses == 1:
            ip_address, ip_network = str(ip_network.network_address), None
    elif text.ip:
        address = parse_address(text.ip)
        if address is None:
            raise FilterError("ip: expected an IPv4 or IPv6 address, or a network such as 203.0.113.0/24")
        ip_address = str(address)
    device = text.device or None
    if device is not None and device not in DEVICES:
        raise FilterError(f"device: expected one of {', '.join(DEVICES)}")
    agent_searches = {}
    for name in ("browser", "os"):
        value = (getattr(text, name) or "").strip()
        if len(value) > MAX_AGENT_SEARCH or has_unsafe_characters(value):
            raise FilterError(f"{name}: at most {MAX_AGENT_SEARCH} printable characters")
        agent_searches[name] = value or None
    since = parse_timestamp(text.since, name="since") if text.since else None
    until = parse_timestamp(text.until, name="until") if text.until else None
    if since and until and since >= until:
        raise FilterError("since must be earlier than until")
    user_id = attempted = None
    if text.user and _PSEUDONYM.match(text.user.strip()):
        # A pseudonym as the trail shows it: the failures under that unknown name.
        attempted = text.user.strip()
    elif text.user:
        # Only what could be a username is looked up ("1 OR 1=1" is refused,
        # not searched for); failures under other names are found by IP or type.
        problem = username_problem(
            text.user, max_length=MAX_FILTER_TEXT, input_max_length=MAX_FILTER_TEXT
        )
        if problem:
            raise FilterError(f"user: not a username. {problem}")
        attempted = normalise_username(text.user)
        user = accounts_store.user_by_normalised_username(username_normalised=attempted)
        if user is not None:
            user_id = user.id
        else:
            # Failures under a name of no account are recorded under its pseudonym.
            attempted = unknown_name_pseudonym(attempted)
    return EventFilter(
        user_id=user_id,
        attempted_username=attempted,
        event_type=event_type,
        ip_address=ip_address,
        since=since,
        until=until,
        ip_network=ip_network,
        device=device,
        **agent_searches,
    )
