"""A real browser (Debian's Chromium, driven by Playwright) walks the whole account journey.

Open the home page, register through the form, sign out with the top-bar button,
fail a sign-in, sign in, and read the activity table, while checking both what
the page shows and what the audit tables hold. Screenshots of the key pages, at
desktop and phone widths, land in test-artifacts/screenshots/ for a human to review.

Works against the SQLite file test database and against PostgreSQL (DATABASE_URL).
"""

import re
from collections.abc import Iterator
from pathlib import Path

import pytest
from django.db import connections
from playwright.sync_api import Browser, Page, expect, sync_playwright

from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, rows

pytestmark = pytest.mark.browser

SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
DESKTOP = {"width": 1280, "height": 800}
PHONE = {"width": 390, "height": 844}
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-extensions",
    "--no-first-run",
    "--no-default-browser-check",
]
# Every wait in this module is bounded.
TIMEOUT_MS = 15_000

USERNAME = "Dana.Reyes"
EMAIL = "dana@example.com"


@pytest.fixture
def browser(chromium_path: str, monkeypatch: pytest.MonkeyPatch) -> Iterator[Browser]:
    # Playwright's sync API keeps an asyncio loop running in this thread, and
    # Django refuses ORM/cursor calls next to a running loop. The test's own
    # database reads are plain synchronous code, so allow them for the life of
    # this fixture only (monkeypatch restores the environment) -- never in settings.
    monkeypatch.setenv("DJANGO_ALLOW_ASYNC_UNSAFE", "true")
    playwright = sync_playwright().start()
    try:
        chromium = playwright.chromium.launch(
            executable_path=chromium_path, args=CHROMIUM_ARGS, timeout=30_000
        )
        try:
            yield chromium
        finally:
            chromium.close()
    finally:
        # Django keeps connections per context, and while Playwright's loop runs
        # that context is not the plain thread's: close what the test opened, or
        # PostgreSQL refuses to drop the test database ("being accessed by other users").
        connections.close_all()
        playwright.stop()


@pytest.fixture
def page(browser: Browser) -> Iterator[Page]:
    context = browser.new_context(viewport=DESKTOP, user_agent=DESKTOP_UA, locale="en-GB")
    context.set_default_timeout(TIMEOUT_MS)
    context.set_default_navigation_timeout(TIMEOUT_MS)
    try:
        yield context.new_page()
    finally:
        context.close()


def snap(page: Page, name: str) -> None:
    """Save `name`-desktop.png and `name`-phone.png of the page as it is now."""
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}-desktop.png"), full_page=True)
    page.set_viewport_size(PHONE)
    try:
        # Nothing may stick out sideways on a phone: no horizontal page scroll.
        overflow = page.evaluate(
            "document.documentElement.scrollWidth - document.documentElement.clientWidth"
        )
        assert overflow <= 0, f"{name}: the page is {overflow}px wider than a 390px phone"
        page.screenshot(path=str(SCREENSHOTS / f"{name}-phone.png"), full_page=True)
    finally:
        page.set_viewport_size(DESKTOP)


def top_bar(page: Page):
    return page.locator("header.topbar")


def user_id_of(username: str) -> int:
    found = rows("SELECT id FROM users WHERE username = %s", [username])
    assert len(found) == 1, found
    return found[0][0]


def test_register_sign_out_fail_sign_in_and_read_the_trail(live_server, page: Page):
    base = live_server.url
    problems: list[str] = []
    page.on("console", lambda m: problems.append(f"console {m.type}: {m.text}")
            if m.type == "error" else None)
    page.on("pageerror", lambda e: problems.append(f"page error: {e}"))
    page.on("response", lambda r: problems.append(f"HTTP {r.status} {r.url}")
            if r.status >= 400 else None)

    # --- Signed out, the home page explains the product and offers both ways in.
    page.goto(f"{base}/")
    expect(page.get_by_role("heading", level=1)).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    # The stylesheet really arrived (served by the app, no CDN).
    assert page.evaluate("getComputedStyle(document.body).backgroundColor") != "rgba(0, 0, 0, 0)"
    snap(page, "home-signed-out")

    page.get_by_role("main").get_by_role("link", name="Create an account").click()
    expect(page).to_have_url(f"{base}/register/")
    expect(page.get_by_role("heading", name="Create an account")).to_be_visible()
    snap(page, "register")

    # --- A mistake first: the form says which field is wrong and keeps the rest.
    page.get_by_label("Username").fill(USERNAME)
    page.get_by_label("E-mail").fill(EMAIL)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Password again").fill(DEFAULT_PASSWORD + " typo")
    page.get_by_role("button", name="Create account").click()
    expect(page.get_by_text("The two passwords differ.")).to_be_visible()
    expect(page.get_by_label("Username")).to_have_value(USERNAME)
    expect(page.get_by_label("E-mail")).to_have_value(EMAIL)
    expect(page.get_by_label("Password", exact=True)).to_have_value("")
    snap(page, "register-errors")
    assert rows("SELECT COUNT(*) FROM users") == [(0,)]

    # --- Register for real: signed in at once, the top bar says who.
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Password again").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(USERNAME)
    expect(page.get_by_test_id("home-status")).to_contain_text("You are signed in")
    user_id = user_id_of(USERNAME)
    assert rows("SELECT email, is_admin, is_active FROM users WHERE id = %s", [user_id]) in (
        [(EMAIL, False, True)],
        [(EMAIL, 0, 1)],  # SQLite's booleans
    )
    assert rows("SELECT event_type FROM login_logs WHERE user_id = %s", [user_id]) == [("login",)]

    # --- Sign out with the button in the top bar.
    top_bar(page).get_by_test_id("sign-out").click()
    expect(page).to_have_url(f"{base}/login/")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    expect(top_bar(page).get_by_role("link", name="Sign in")).to_be_visible()
    assert sorted(
        rows("SELECT event_type FROM login_logs WHERE user_id = %s", [user_id])
    ) == [("login",), ("logout",)]

    # --- A wrong password: one generic message, the name kept, the password not.
    page.get_by_label("Username").fill(USERNAME.lower())
    page.get_by_label("Password").fill("not my password at all")
    page.get_by_role("button", name="Sign in").click()
    error = page.get_by_test_id("login-error")
    expect(error).to_have_text("Enter a correct username and password.")
    expect(error).to_have_attribute("role", "alert")
    expect(page.get_by_label("Username")).to_have_value(USERNAME.lower())
    expect(page.get_by_label("Password")).to_have_value("")
    expect(page.get_by_test_id("signed-in-as")).to_have_count(0)
    snap(page, "login-error")
    assert rows(
        "SELECT attempted_username, user_id, reason, ip_address FROM failed_logins"
    ) == [(USERNAME.lower(), user_id, "bad_password", "127.0.0.1")]

    # --- The right password (any case of the name): signed in again.
    page.get_by_label("Password").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Sign in").click()
    expect(page).to_have_url(f"{base}/")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(USERNAME)
    expect(page.get_by_role("heading", level=1)).to_contain_text(USERNAME)

    # --- The activity table shows all four events, each with address and browser.
    table = page.locator("table.events")
    expect(table).to_be_visible()
    body_rows = table.locator("tbody tr")
    expect(body_rows).to_have_count(4)
    labels = [label.strip() for label in body_rows.locator(".pill").all_inner_texts()]
    # Order is not asserted: SQLite stores CURRENT_TIMESTAMP to the whole second,
    # so events of one second tie (see the report on authlog's migration).
    assert sorted(labels) == sorted(["Signed in", "Failed sign-in", "Signed out", "Signed in"])
    for row in body_rows.all():
        expect(row).to_contain_text("127.0.0.1")
        expect(row).to_contain_text("Chrome")
        expect(row).to_contain_text("Linux")
        expect(row.locator("time")).to_have_attribute(
            "datetime", re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d")
        )
    snap(page, "home-signed-in")

    # --- The audit trail, read as an auditor would.
    assert sorted(
        rows("SELECT event_type, ip_address FROM login_logs WHERE user_id = %s", [user_id])
    ) == [("login", "127.0.0.1"), ("login", "127.0.0.1"), ("logout", "127.0.0.1")]
    assert rows("SELECT COUNT(*) FROM login_logs") == [(3,)]
    assert rows("SELECT COUNT(*) FROM failed_logins") == [(1,)]
    browsers = rows("SELECT DISTINCT browser, os FROM login_logs")
    assert len(browsers) == 1 and "Chrome" in browsers[0][0] and "Linux" in browsers[0][1]
    assert rows("SELECT last_login_at IS NOT NULL FROM users WHERE id = %s", [user_id]) in (
        [(True,)],
        [(1,)],
    )

    assert problems == []

    # --- Our own error page, still inside the product's frame.
    response = page.goto(f"{base}/no-such-page/")
    assert response is not None and response.status == 404
    expect(page.get_by_role("heading", name="Not found")).to_be_visible()
    expect(page.get_by_role("link", name="Back to the home page")).to_be_visible()
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(USERNAME)
    snap(page, "not-found")


def test_a_150_character_name_fits_on_a_phone(live_server, page: Page):
    """The longest name registration allows must not push the page sideways."""
    long_name = "w" * 150
    page.goto(f"{live_server.url}/register/")
    page.get_by_label("Username").fill(long_name)
    page.get_by_label("Password", exact=True).fill(DEFAULT_PASSWORD)
    page.get_by_label("Password again").fill(DEFAULT_PASSWORD)
    page.get_by_role("button", name="Create account").click()
    expect(page).to_have_url(f"{live_server.url}/")
    expect(page.get_by_test_id("signed-in-as")).to_contain_text(long_name)
    assert rows("SELECT username FROM users") == [(long_name,)]
    snap(page, "home-long-name")  # asserts no horizontal overflow at 390px
