"""The alert pages of the dashboard: admins only, open alerts shown, each action recorded (who, when, what)."""

from http import HTTPStatus

import pytest

from guard import store
from tests.conftest import rows
from tests.guard.conftest import post_login, sign_in_ok

pytestmark = pytest.mark.django_db
ADMIN_PASSWORD = "an admin passphrase here"


@pytest.fixture
def admin(make_user, client_from_ip):
    make_user("root", ADMIN_PASSWORD, is_admin=True)
    client = client_from_ip("192.0.2.200")
    assert post_login(client, "root", ADMIN_PASSWORD).status_code == HTTPStatus.FOUND
    return client


def lock_alice(client_from_ip):
    for n in range(20):
        post_login(client_from_ip(f"203.0.113.{n + 1}"), "alice")
    assert post_login(client_from_ip("203.0.113.99"), "alice").status_code == HTTPStatus.TOO_MANY_REQUESTS


def alert_id(rule: str) -> int:
    [(found,)] = rows("SELECT id FROM guard_alerts WHERE rule = %s", [rule])
    return found


def test_open_alerts_and_locks_are_shown(admin, make_user, client_from_ip, clock):
    make_user("alice")
    lock_alice(client_from_ip)
    response = admin.get("/dashboard/alerts/")
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]
    page = response.content.decode()
    assert "Brute force on one account" in page and "Many networks trying one account" in page
    assert f'data-testid="alert-{alert_id("account_brute_force")}"' in page
    assert 'data-testid="open-count">2<' in page
    assert 'data-testid="locked-count">1<' in page  # the name's counter
    assert "203.0.113.1" in page  # a sample IP in the evidence
    # On a phone the lock table is a card per row: its figures keep their names.
    assert '<td data-label="Lockouts">1</td>' in page and 'data-label="Unlocks in"' in page


def test_the_evidence_says_what_the_raising_attempt_locked(admin, make_user, client_from_ip, clock):
    make_user("alice")
    lock_alice(client_from_ip)
    # Raised at the tenth failure: the name's lock came later and an open alert is not rewritten.
    page = admin.get("/dashboard/alerts/").content.decode()
    assert "<dt>Locked when raised</dt><dd>no</dd>" in page


def test_an_alert_raised_by_a_lock_names_it(admin, make_user, client_from_ip, clock, guard_settings):
    guard_settings(ALERT_ACCOUNT_FAILURES=1000, ALERT_ACCOUNT_NETWORKS=1000)
    make_user("alice")
    lock_alice(client_from_ip)
    assert store.alert_by_id(alert_id=alert_id("account_brute_force")).evidence["locked"] == ["username"]
    page = admin.get("/dashboard/alerts/").content.decode()
    assert "<dt>Locked when raised</dt><dd>This name from every network</dd>" in page


def test_acknowledge_is_recorded_with_who_when_and_from_where(admin, make_user, client_from_ip, clock):
    make_user("alice")
    lock_alice(client_from_ip)
    target = alert_id("account_brute_force")
    response = admin.post(f"/dashboard/alerts/{target}/acknowledge/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/dashboard/alerts/?done=acknowledged"
    alert = store.alert_by_id(alert_id=target)
    assert (alert.status, alert.acknowledged_by) == ("acknowledged", "root")
    assert alert.acknowledged_at is not None
    [(actor, action, what, ip, when)] = rows(
        "SELECT actor, action, target, ip_address, created_at FROM guard_actions"
    )
    assert (actor, action, what, ip) == ("root", "acknowledge", f"#{target}", "192.0.2.200")
    assert when is not None
    page = admin.get(response["Location"]).content.decode()
    assert "Alert acknowledged." in page and 'data-testid="action-row"' in page
    # Acknowledging again changes nothing and records nothing.
    admin.post(f"/dashboard/alerts/{target}/acknowledge/")
    assert rows("SELECT COUNT(*) FROM guard_actions") == [(1,)]


def test_unlock_from_an_alert_lets_the_user_in_and_is_recorded(admin, make_user, client_from_ip, clock):
    make_user("alice")
    lock_alice(client_from_ip)
    response = admin.post(f"/dashboard/alerts/{alert_id('account_brute_force')}/unlock/")
    assert response.status_code == HTTPStatus.FOUND
    assert sign_in_ok(client_from_ip("198.51.100.1"), "alice").status_code == HTTPStatus.FOUND
    [(actor, action, what)] = rows("SELECT actor, action, target FROM guard_actions")
    assert (actor, action, what) == ("root", "unlock", "alice")


def test_unlock_of_a_locked_network_from_the_locks_list(admin, client_from_ip, clock):
    sprayer = client_from_ip("198.51.100.66")
    for n in range(51):
        post_login(sprayer, f"victim{n}")
    assert post_login(sprayer, "someone").status_code == HTTPStatus.TOO_MANY_REQUESTS
    page = admin.get("/dashboard/alerts/").content.decode()
    assert "198.51.100.66" in page
    from guard.operations import network_ref_of

    _, ref = network_ref_of("198.51.100.66")
    assert f'value="{ref}"' in page
    assert admin.post("/dashboard/alerts/unlock/", {"scope": "source", "ref": ref}).status_code == HTTPStatus.FOUND
    assert post_login(sprayer, "someone").status_code == HTTPStatus.OK
    assert rows("SELECT action, target FROM guard_actions") == [("unlock", "198.51.100.66")]


@pytest.mark.parametrize(
    "form",
    [{"scope": "user", "ref": "not-hex"}, {"scope": "everything", "ref": "a" * 24}, {}, {"scope": "user", "ref": "a" * 5000}],
)
def test_a_malformed_unlock_is_a_400_and_records_nothing(form, admin):
    response = admin.post("/dashboard/alerts/unlock/", form)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert rows("SELECT COUNT(*) FROM guard_actions") == [(0,)]


def test_unknown_alert_ids_are_404(admin):
    assert admin.post("/dashboard/alerts/999999/acknowledge/").status_code == HTTPStatus.NOT_FOUND
    assert admin.post("/dashboard/alerts/999999/unlock/").status_code == HTTPStatus.NOT_FOUND


URLS = ["/dashboard/alerts/", "/dashboard/alerts/1/acknowledge/", "/dashboard/alerts/1/unlock/",
        "/dashboard/alerts/unlock/"]


@pytest.mark.parametrize("url", URLS)
def test_anonymous_visitors_are_sent_to_sign_in(url, client_from_ip, db):
    response = client_from_ip().post(url) if url != URLS[0] else client_from_ip().get(url)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login/?next=")


@pytest.mark.parametrize("url", URLS)
def test_signed_in_non_admins_get_403(url, make_user, client_from_ip, clock):
    make_user("bob")
    client = client_from_ip()
    sign_in_ok(client, "bob")
    response = client.post(url) if url != URLS[0] else client.get(url)
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("url", URLS[1:])
def test_actions_are_post_only(url, admin):
    assert admin.get(url).status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_actions_need_the_csrf_token(make_user, client_from_ip, clock):
    make_user("root", ADMIN_PASSWORD, is_admin=True)
    make_user("alice")
    lock_alice(client_from_ip)
    admin = client_from_ip("192.0.2.200", enforce_csrf_checks=True)
    admin.get("/login/")
    token = admin.cookies["csrftoken"].value
    admin.post("/login/", {"username": "root", "password": ADMIN_PASSWORD, "csrfmiddlewaretoken": token})
    target = alert_id("account_brute_force")
    assert admin.post(f"/dashboard/alerts/{target}/acknowledge/").status_code == HTTPStatus.FORBIDDEN
    assert store.alert_by_id(alert_id=target).status == "open"


def test_alert_text_is_escaped(admin):
    store.insert_alert(
        rule="account_brute_force", severity="high", subject_type="user", subject_ref="x" * 24,
        subject_label='"><svg onload=alert(1)>', dedup_ref="x" * 24, user_id=None,
        evidence={"sample_usernames": ["<script>alert(2)</script>"]},
    )
    page = admin.get("/dashboard/alerts/").content.decode()
    assert "<svg onload" not in page and "<script>alert(2)" not in page
    assert "&lt;svg onload=alert(1)&gt;" in page
