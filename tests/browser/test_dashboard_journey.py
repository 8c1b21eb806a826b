"""An admin reads the dashboard in a real browser (Debian's Chromium, driven by Playwright).

Open the dashboard, apply a filter, open a user's and an address's drill-down,
the charts and the sessions, end a user's session; then that user reads their
own activity page and signs out their other session. Screenshots at desktop
and phone widths land in test-artifacts/screenshots/ for a human to review.
"""

import re
from datetime import UTC, datetime, timedelta

import pytest
from django.db import connection
from playwright.sync_api import Browser, Page, expect

from authlog import events
from tests.browser.test_journey import DESKTOP, TIMEOUT_MS, browser, snap  # noqa: F401  (fixtures)
from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, rows

pytestmark = pytest.mark.browser

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"
HOSTILE_UA = '<script>alert("ua")</script> Mozilla/5.0 (X11; Linux x86_64) Firefox/124.0'


def _context_page(chromium: Browser, user_agent: str = DESKTOP_UA) -> Page:
    context = chromium.new_context(viewport=DESKTOP, user_agent=user_agent, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    return context.new_page()


def _sign_in(page: Page, base: str, username: str, password: str = DEFAULT_PASSWORD) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(password)
    page.get_by_role("button", name="Sign in").click()
    try:
        expect(page.get_by_test_id("signed-in-as")).to_contain_text(re.compile(re.escape(username), re.I))
    except AssertionError:
        print("DEBUG", page.url, page.inner_text("main"))
        raise


def _history(user_ids: list[int]) -> None:
    """Write 30 days of past events straight into the trail, then rebuild the chart counts.

    The services stamp events with the database clock (now), so a history for
    the charts is written here as the seed's own INSERT would, and counted by
    the migration's backfill.
    """
    import importlib

    backfill = importlib.import_module("authlog.migrations.0002_dashboard_counts").backfill
    now = datetime.now(UTC).replace(minute=0, second=0, microsecond=0)
    statements = []
    for day in range(1, 30):
        for n in range(3 + (day * 7) % 11):
            at = now - timedelta(days=day, hours=n)
            user_id = user_ids[n % len(user_ids)]
            ref = f"{day:04d}{n:04d}".ljust(64, "0")
            statements.append(("login_logs", (user_id, "login", f"203.0.113.{n + 20}", at, ref)))
            statements.append(("login_logs", (user_id, "logout", f"203.0.113.{n + 20}",
                                              at + timedelta(minutes=5 + 37 * n), ref)))
        for n in range((day * 5) % 9):
            at = now - timedelta(days=day, hours=n, minutes=7)
            statements.append(("failed_logins", (f"192.0.2.{(n * day) % 5 + 1}", at)))
    with connection.cursor() as cursor:
        for table, values in statements:
            when = values[-2] if table == "login_logs" else values[-1]
            when = when.replace(tzinfo=None).isoformat(sep=" ", timespec="milliseconds") \
                if connection.vendor == "sqlite" else when
            if table == "login_logs":
                cursor.execute(
                    "INSERT INTO login_logs (user_id, event_type, ip_address, timestamp, user_agent,"
                    " browser, os, device, session_ref) VALUES (%s, %s, %s, %s, %s, 'Chrome 124',"
                    " 'Linux', 'desktop', %s)",
                    [values[0], values[1], values[2], when, DESKTOP_UA, values[4]],
                )
            else:
                cursor.execute(
                    "INSERT INTO failed_logins (attempted_username, reason, ip_address, timestamp,"
                    " browser, os, device) VALUES ('unknown:3f2a9c0d1e4b5a6f7081', 'unknown_user',"
                    " %s, %s, 'Python Requests 2.31', NULL, 'bot')",
                    [values[0], when],
                )
        backfill(connection)


def test_admin_reads_the_dashboard_and_a_user_reads_their_activity(live_server, browser, make_user):  # noqa: F811
    base = live_server.url
    make_user("root", is_admin=True)
    dana = make_user("Dana.Reyes")
    sam = make_user("sam")
    _history([dana.id, sam.id])
    # Live events through the real services: a hostile user agent, failures on dana's account.
    events.record_failed_login(attempted_username="dana.reyes", user_id=dana.id,
                               reason=events.BAD_PASSWORD, ip_address="192.0.2.9", user_agent=HOSTILE_UA)
    events.record_failed_login(attempted_username="dana.reyes", user_id=dana.id,
                               reason=events.BAD_PASSWORD, ip_address="192.0.2.9", user_agent=FIREFOX_UA)

    # --- Dana signs in on a laptop and on a phone.
    dana_laptop = _context_page(browser)
    dana_phone = _context_page(browser, user_agent=PHONE_UA)
    admin = _context_page(browser, user_agent=FIREFOX_UA)
    problems: list[str] = []
    for page in (dana_laptop, dana_phone, admin):
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
        page.on("console", lambda m: problems.append(f"console: {m.text}") if m.type == "error" else None)
    try:
        _sign_in(dana_laptop, base, "Dana.Reyes")
        _sign_in(dana_phone, base, "dana.reyes")

        # --- The admin opens the dashboard from the top bar.
        _sign_in(admin, base, "root")
        admin.get_by_test_id("nav-dashboard").click()
        expect(admin).to_have_url(f"{base}/dashboard/")
        expect(admin.get_by_role("heading", name="Sign-in activity")).to_be_visible()
        table = admin.locator("table.events")
        expect(table).to_be_visible()
        # The hostile user agent is text, never markup: no dialog, the header shown as typed.
        assert admin.locator("script", has_text="alert").count() == 0
        expect(admin.get_by_test_id("stat-sessions")).to_have_text("3")
        snap(admin, "dashboard-timeline")

        # --- A filter: failed sign-ins only, kept in the URL.
        admin.get_by_label("Event", exact=True).select_option("login_failed")
        admin.get_by_test_id("apply-filters").click()
        expect(admin).to_have_url(f"{base}/dashboard/?user=&type=login_failed&ip=&since=&until=&browser=&os=&device=")
        pills = admin.locator("table.events tbody .pill")
        expect(pills.first).to_have_text("Failed sign-in")
        assert set(pills.all_inner_texts()) == {"Failed sign-in"}
        snap(admin, "dashboard-filtered")

        # --- A bad filter value: a 400 with a message, not an error page.
        response = admin.goto(f"{base}/dashboard/?ip=999.1.1.1")
        assert response is not None and response.status == 400
        expect(admin.get_by_test_id("filter-error")).to_contain_text("ip:")

        problems.remove("console: Failed to load resource: the server responded with a status of 400 (Bad Request)")

        # --- Drill down: dana's page shows two active sessions and the failures.
        admin.goto(f"{base}/dashboard/?type=login&user=dana.reyes")
        admin.locator("table.events tbody a.user-link").first.click()
        expect(admin.get_by_test_id("user-heading")).to_contain_text("Dana.Reyes")
        expect(admin.locator("#sessions table tbody tr")).to_have_count(2)
        # Side by side, the addresses and devices cards fit: nothing hidden behind a sideways scroll.
        hidden = admin.evaluate(
            "Array.from(document.querySelectorAll('.grid-2 .table-wrap'))"
            ".map(w => w.scrollWidth - w.clientWidth)"
        )
        assert hidden and max(hidden) <= 0, hidden
        snap(admin, "dashboard-user")

        # --- The address that failed: which names were tried from it.
        admin.goto(f"{base}/dashboard/ips/192.0.2.9/")
        expect(admin.get_by_test_id("ip-heading")).to_have_text("192.0.2.9")
        expect(admin.locator(".grid-2").get_by_role("link", name="dana.reyes")).to_be_visible()
        snap(admin, "dashboard-ip")

        # --- Charts and sessions.
        admin.goto(f"{base}/dashboard/charts/")
        expect(admin.locator("svg.chart-svg")).to_have_count(3)
        snap(admin, "dashboard-charts")
        admin.goto(f"{base}/dashboard/sessions/")
        snap(admin, "dashboard-sessions")

        # --- The admin ends dana's phone session: a logout event, the phone is signed out.
        admin.goto(f"{base}/dashboard/users/{dana.id}/")
        phone_row = admin.locator("#sessions table tbody tr", has_text="iOS")
        phone_row.get_by_role("button", name="End").click()
        expect(admin.get_by_test_id("ended-notice")).to_contain_text("1 session ended")
        expect(admin.locator("#sessions table tbody tr")).to_have_count(1)
        dana_phone.goto(f"{base}/")
        expect(dana_phone.get_by_test_id("signed-in-as")).to_have_count(0)

        # --- Dana's own activity page: her laptop session, the failed attempts.
        _sign_in(dana_phone, base, "dana.reyes")
        dana_laptop.goto(f"{base}/")
        dana_laptop.get_by_test_id("nav-activity").click()
        expect(dana_laptop).to_have_url(f"{base}/account/activity/")
        expect(dana_laptop.get_by_test_id("session")).to_have_count(2)
        expect(dana_laptop.locator("table.events").first).to_contain_text("192.0.2.9")
        snap(dana_laptop, "activity")
        dana_laptop.get_by_test_id("end-others").click()
        expect(dana_laptop.get_by_test_id("ended-notice")).to_contain_text("1 other session was signed out")
        expect(dana_laptop.get_by_test_id("session")).to_have_count(1)

        dana_phone.goto(f"{base}/")
        expect(dana_phone.get_by_test_id("signed-in-as")).to_have_count(0)

        # --- The trail: two logouts written by others, each closing its own session.
        logouts = rows(
            "SELECT COUNT(*) FROM login_logs WHERE user_id = %s AND event_type = 'logout'"
            " AND session_ref IN (SELECT session_ref FROM login_logs WHERE event_type = 'login')"
            " AND timestamp > %s",
            [dana.id, (datetime.now(UTC) - timedelta(hours=1)).replace(tzinfo=None).isoformat(sep=" ")
             if connection.vendor == "sqlite" else datetime.now(UTC) - timedelta(hours=1)],
        )
        assert logouts == [(2,)]
        assert problems == []
    finally:
        for page in (dana_laptop, dana_phone, admin):
            page.context.close()
