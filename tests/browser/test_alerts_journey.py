"""Someone guesses a password in a real browser; the admin sees it, acknowledges it and unlocks.

Debian's Chromium, driven by Playwright: the guesser meets the 429 page, the
alert and the lock show on /dashboard/alerts/, the admin's acknowledge and
unlock are recorded as actions, and the real user then signs in. Screenshots
at desktop and phone widths land in test-artifacts/screenshots/.
"""

import re

import pytest
from playwright.sync_api import Page, expect

from tests.browser.test_dashboard_journey import FIREFOX_UA, _context_page, _sign_in
from tests.browser.test_journey import browser, snap  # noqa: F401  (fixture)
from tests.conftest import rows

pytestmark = pytest.mark.browser


def _guess(page: Page, base: str, username: str) -> None:
    page.goto(f"{base}/login/")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill("not the password")
    page.get_by_role("button", name="Sign in").click()


def test_a_guessed_account_is_stopped_reported_and_unlocked(live_server, browser, make_user, settings):  # noqa: F811
    # Five failures on one account raise the brute-force alert, so five guesses show it all.
    settings.GUARD = {**getattr(settings, "GUARD", {}), "ALERT_ACCOUNT_FAILURES": 5, "DELIVERY": "inline"}
    base = live_server.url
    make_user("root", is_admin=True)
    make_user("Dana.Reyes")
    guesser = _context_page(browser)
    admin = _context_page(browser, user_agent=FIREFOX_UA)
    problems: list[str] = []
    for page in (guesser, admin):
        page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    try:
        # --- Five wrong passwords: the form each time; the sixth try meets the 429 page.
        for _ in range(5):
            _guess(guesser, base, "dana.reyes")
            expect(guesser.get_by_test_id("login-error")).to_be_visible()
        _guess(guesser, base, "DANA.REYES")
        expect(guesser.get_by_test_id("throttled")).to_be_visible()
        expect(guesser.get_by_test_id("retry-wait")).to_have_text(re.compile(r"^\d+ minutes?$"))
        snap(guesser, "throttled")

        # --- The admin: one open alert for dana, her name locked from this network.
        _sign_in(admin, base, "root")
        admin.goto(f"{base}/dashboard/alerts/")
        expect(admin.get_by_role("heading", name="Security alerts")).to_be_visible()
        expect(admin.get_by_test_id("open-count")).to_have_text("1")
        [(alert_id,)] = rows("SELECT id FROM guard_alerts WHERE rule = 'account_brute_force'")
        alert_row = admin.get_by_test_id(f"alert-{alert_id}")
        expect(alert_row).to_contain_text("Brute force on one account")
        expect(alert_row).to_contain_text("Dana.Reyes")
        expect(alert_row.locator(".evidence")).to_contain_text("Sample IPs127.0.0.1")
        expect(alert_row.locator(".evidence")).to_contain_text("Window60 minutes")
        lock = admin.get_by_test_id("lock-row").filter(has_text="This name from this network")
        expect(lock).to_have_count(1)
        expect(lock).to_contain_text(re.compile(r"\d+ minutes?"))
        snap(admin, "dashboard-alerts")

        # --- Acknowledge, then unlock: each says so and is listed as an action.
        admin.get_by_test_id(f"acknowledge-{alert_id}").click()
        expect(admin.get_by_test_id("notice")).to_have_text("Alert acknowledged.")
        expect(admin.get_by_test_id("open-count")).to_have_text("0")
        lock = admin.get_by_test_id("lock-row").filter(has_text="This name from this network")
        lock.get_by_role("button", name="Unlock").click()
        expect(admin.get_by_test_id("notice")).to_contain_text("Unlocked")
        expect(admin.get_by_test_id("lock-row")).to_have_count(0)
        actions = admin.get_by_test_id("action-row")
        expect(actions).to_have_count(2)
        expect(actions.first).to_contain_text("root")
        snap(admin, "dashboard-alerts-after")
        recorded = rows("SELECT actor, action FROM guard_actions ORDER BY id")
        assert [actor for actor, _ in recorded] == ["root", "root"]
        assert len({action for _, action in recorded}) == 2

        # --- The real user, on the same network, gets in.
        _sign_in(guesser, base, "Dana.Reyes")
        assert problems == []
    finally:
        for page in (guesser, admin):
            page.context.close()
