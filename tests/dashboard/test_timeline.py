"""The timeline: filters in the query string, typed parsing, keyset pages (SECURITY-CASES 2, 3, 49, 50)."""

import ipaddress
import json
from http import HTTPStatus

import pytest

from tests.conftest import DESKTOP_UA, rows
from tests.dashboard.conftest import FIREFOX_UA, PHONE_UA

CURL_UA = "curl/8.5.0"


@pytest.fixture
def trail(make_user, login_event, failure):
    """A small trail: two users, IPv4 and IPv6, four kinds of browser, known and unknown names."""
    alice, bob = make_user("alice"), make_user("bob")
    login_event(alice, ip="203.0.113.5", user_agent=DESKTOP_UA, session_key="a1")
    login_event(alice, "logout", ip="203.0.113.5", user_agent=DESKTOP_UA, session_key="a1")
    login_event(alice, ip="2001:db8:1::7", user_agent=PHONE_UA, session_key="a2")
    login_event(bob, ip="203.0.114.9", user_agent=FIREFOX_UA, session_key="b1")
    login_event(bob, ip="2001:db8:2::1", user_agent=FIREFOX_UA, session_key="b2")
    failure("alice", user=alice, ip="198.51.100.7", user_agent=CURL_UA)
    failure("alice", user=alice, ip="2001:db8:1::99", user_agent=PHONE_UA)
    failure("mallory", ip="198.51.100.7", user_agent=CURL_UA)
    failure("mallory", ip="203.0.113.200", user_agent=None)
    return alice, bob


def all_events() -> list[dict]:
    """Read both tables directly, as an auditor would: the oracle for every filter."""
    found = []
    for row in rows("SELECT id, event_type, user_id, NULL, ip_address, browser, os, device FROM login_logs"):
        found.append(dict(zip(("id", "type", "user_id", "name", "ip", "browser", "os", "device"), row, strict=True)))
    for row in rows("SELECT id, 'login_failed', user_id, attempted_username, ip_address, browser, os,"
                    " device FROM failed_logins"):
        found.append(dict(zip(("id", "type", "user_id", "name", "ip", "browser", "os", "device"), row, strict=True)))
    return found


def exported(client, query: str) -> list[dict]:
    response = client.get(f"/dashboard/events.json?{query}")
    assert response.status_code == HTTPStatus.OK
    return json.loads(b"".join(response.streaming_content))


def paged(client, query: str, limit: int = 2) -> list[tuple[str, int]]:
    """Follow the timeline's "older" links to the end; return (type, id) of every row."""
    seen, url = [], f"/dashboard/?{query}&limit={limit}"
    while url:
        response = client.get(url)
        assert response.status_code == HTTPStatus.OK
        page = response.context["page"]
        seen += [(event.event_type, event.id) for event in page.events]
        url = ("/dashboard/" + response.context["next_link"]) if response.context["next_link"] else None
    return seen


def in_network(ip: str | None, network: str) -> bool:
    return ip is not None and ipaddress.ip_address(ip) in ipaddress.ip_network(network)


CASES = [
    ("", lambda e, ids: True),
    ("type=login", lambda e, ids: e["type"] == "login"),
    ("type=login_failed", lambda e, ids: e["type"] == "login_failed"),
    ("user=ALICE", lambda e, ids: e["user_id"] == ids["alice"]),
    ("user=mallory", lambda e, ids: e["name"] is not None and e["name"].startswith("unknown:")),
    ("ip=198.51.100.7", lambda e, ids: e["ip"] == "198.51.100.7"),
    ("ip=203.0.113.0/24", lambda e, ids: in_network(e["ip"], "203.0.113.0/24")),
    ("ip=203.0.112.0/22", lambda e, ids: in_network(e["ip"], "203.0.112.0/22")),
    ("ip=2001:db8:1::/48", lambda e, ids: in_network(e["ip"], "2001:db8:1::/48")),
    ("ip=2001:db8::/32", lambda e, ids: in_network(e["ip"], "2001:db8::/32")),
    ("ip=::ffff:203.0.113.0/120", lambda e, ids: in_network(e["ip"], "203.0.113.0/24")),
    ("browser=firefox", lambda e, ids: "firefox" in (e["browser"] or "").lower()),
    ("os=ios", lambda e, ids: "ios" in (e["os"] or "").lower()),
    ("device=mobile", lambda e, ids: e["device"] == "mobile"),
    ("device=bot&type=login_failed", lambda e, ids: e["device"] == "bot"),
    ("user=alice&type=login_failed&ip=2001:db8:1::/64",
     lambda e, ids: e["type"] == "login_failed" and e["user_id"] == ids["alice"]
     and in_network(e["ip"], "2001:db8:1::/64")),
]


@pytest.mark.parametrize(("query", "wanted"), CASES, ids=[case[0] or "all" for case in CASES])
def test_filters_match_what_sql_counts(admin_client, trail, query, wanted):
    alice, bob = trail
    ids = {"alice": alice.id, "bob": bob.id}
    # The admin's own sign-in is part of the trail too.
    expected = sorted((e["type"], e["id"]) for e in all_events() if wanted(e, ids))
    assert sorted(paged(admin_client, query)) == expected
    assert sorted((r["event_type"], r["id"]) for r in exported(admin_client, query)) == expected


NETWORK_CASES = [case for case in CASES if "/" in case[0]]


@pytest.mark.parametrize("scan_rows", [12, 40])
@pytest.mark.parametrize(("query", "wanted"), NETWORK_CASES, ids=[case[0] for case in NETWORK_CASES])
def test_a_wide_network_reads_the_newest_rows_first_and_finds_the_same_events(
    admin_client, trail, monkeypatch, query, wanted, scan_rows
):
    """Every network counts as wide here: pages come from the newest rows, or from probing when those run short."""
    from authlog import store

    monkeypatch.setattr(store, "_WIDE_NETWORK_ADDRESSES", 1)
    monkeypatch.setattr(store, "_NETWORK_SCAN_ROWS", scan_rows)
    alice, bob = trail
    ids = {"alice": alice.id, "bob": bob.id}
    expected = sorted((e["type"], e["id"]) for e in all_events() if wanted(e, ids))
    assert sorted(paged(admin_client, query)) == expected
    assert sorted(paged(admin_client, query, limit=1)) == expected
    assert sorted((r["event_type"], r["id"]) for r in exported(admin_client, query)) == expected


@pytest.mark.parametrize("value", ["%", "_", "\\", "fire%", "f_refox"])
def test_like_wildcards_in_a_search_are_taken_literally(admin_client, trail, value):
    response = admin_client.get("/dashboard/", {"browser": value})
    assert response.status_code == HTTPStatus.OK
    assert response.context["page"].events == []


INJECTIONS = [
    ("user=1 OR 1=1", "user: not a username"),
    ("user=alice'--", "user: not a username"),
    ("type=login' UNION SELECT * FROM users--", "type: expected one of"),
    ("since=2024-01-01'", "since: expected an ISO 8601"),
    ("until=tomorrow", "until: expected an ISO 8601"),
    ("since=2025-02-01&until=2025-01-01", "since must be earlier"),
    ("ip=1.2.3.4 OR 1=1", "ip: expected"),
    ("ip=10.0.0.0/33", "ip: expected"),
    ("ip=010.0.0.0/8", "ip: expected"),
    ("device=toaster", "device: expected one of"),
    ("browser=" + "x" * 65, "browser: at most 64"),
    ("os=%00", "os: at most 64 printable"),
    ("limit=-1", "limit: expected a whole number"),
    ("limit=1e9", "limit: expected a whole number"),
    ("before=1.2.3 OR 1=1", "before: not a page"),
    ("before=3.1.2026-01-01 10:00:00", "before: not a page"),
]


@pytest.mark.parametrize(("query", "message"), INJECTIONS)
def test_a_bad_filter_is_a_400_with_a_message(admin_client, trail, query, message):
    response = admin_client.get(f"/dashboard/?{query}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert message in response.content.decode()
    for export in ("events.csv", "events.json"):
        response = admin_client.get(f"/dashboard/{export}?{query}")
        if not query.startswith(("limit=", "before=")):  # exports take no page parameters
            assert response.status_code == HTTPStatus.BAD_REQUEST
            assert message in response.content.decode()


def test_a_huge_page_size_is_capped(admin_client, trail):
    response = admin_client.get("/dashboard/?limit=1000000000")
    assert response.status_code == HTTPStatus.OK
    assert len(response.context["page"].events) == len(all_events())
    from dashboard.query import MAX_PAGE_SIZE, parse_page_size
    assert parse_page_size("1000000000") == MAX_PAGE_SIZE


def test_a_date_picked_as_to_includes_that_whole_day(admin_client, trail):
    today = rows("SELECT MAX(timestamp) FROM login_logs")[0][0]
    day = str(today)[:10]
    response = admin_client.get(f"/dashboard/?since={day}&until={day}")
    assert len(response.context["page"].events) == len(all_events())


# Committed for real: on PostgreSQL every statement of one transaction has the
# same CURRENT_TIMESTAMP, and events really arrive in transactions of their own.
@pytest.mark.django_db(transaction=True)
def test_pages_stay_put_while_new_events_arrive(admin_client, trail, login_event, failure):
    alice, _ = trail
    order = paged(admin_client, "", limit=50)
    first = admin_client.get("/dashboard/?limit=3")
    assert [(e.event_type, e.id) for e in first.context["page"].events] == order[:3]
    # New events arrive in both tables between the two page loads.
    for _ in range(5):
        login_event(alice, ip="203.0.113.77")
        failure("alice", user=alice, ip="203.0.113.77")
    second = admin_client.get("/dashboard/" + first.context["next_link"])
    # The second page continues exactly where the first ended: no repeats, no gap.
    assert [(e.event_type, e.id) for e in second.context["page"].events] == order[3:6]
    # And the first page now starts with the new events.
    assert admin_client.get("/dashboard/?limit=3").context["page"].events[0].ip_address == "203.0.113.77"


def test_paging_through_everything_gives_each_event_once(admin_client, trail):
    seen = paged(admin_client, "", limit=1)
    assert len(seen) == len(set(seen)) == len(all_events())


def test_same_timestamp_in_both_tables_orders_by_kind_then_id(admin_client, make_user):
    alice = make_user("alice")
    stamp = "2026-01-01 10:00:00.000" if _vendor() == "sqlite" else "2026-01-01 10:00:00+00"
    for _ in range(3):
        rows_insert("INSERT INTO login_logs (user_id, event_type, ip_address, timestamp)"
                    " VALUES (%s, 'login', '192.0.2.1', %s)", [alice.id, stamp])
        rows_insert("INSERT INTO failed_logins (attempted_username, reason, ip_address, timestamp)"
                    " VALUES ('unknown:00', 'unknown_user', '192.0.2.1', %s)", [stamp])
    seen = paged(admin_client, "ip=192.0.2.1", limit=2)
    failures = sorted((i for t, i in seen if t == "login_failed"), reverse=True)
    logins = sorted((i for t, i in seen if t == "login"), reverse=True)
    assert seen == [("login_failed", i) for i in failures] + [("login", i) for i in logins]


def _vendor() -> str:
    from django.db import connection

    return connection.vendor


def rows_insert(sql: str, params: list) -> None:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute(sql, params)


def test_the_filters_are_kept_in_the_links(admin_client, trail):
    response = admin_client.get("/dashboard/?type=login&limit=1")
    content = response.content.decode()
    assert 'href="/dashboard/events.csv?type=login"' in content
    assert "?type=login&amp;limit=1&amp;before=" in content
