"""Who may open what (SECURITY-CASES 48, 49): every dashboard URL, anonymous, user and admin, GET and HEAD."""

from http import HTTPStatus
from urllib.parse import quote

import pytest

PAGES = [
    "/dashboard/",
    "/dashboard/?type=login_failed",
    "/dashboard/events.csv",
    "/dashboard/events.json",
    "/dashboard/charts/",
    "/dashboard/sessions/",
    "/dashboard/users/{user_id}/",
    "/dashboard/ips/203.0.113.10/",
]
ACTIONS = ["/dashboard/users/{user_id}/sessions/end/"]


@pytest.fixture
def alice(make_user):
    return make_user("alice")


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("url", PAGES + ACTIONS)
def test_anonymous_is_sent_to_sign_in(client, alice, url, method):
    url = url.format(user_id=alice.id)
    response = getattr(client, method)(url)
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/login/?next=" + quote(url, safe="")


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("url", PAGES + ACTIONS)
def test_a_signed_in_user_who_is_not_admin_is_forbidden(sign_in, alice, url, method):
    response = getattr(sign_in(alice), method)(url.format(user_id=alice.id))
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("url", ACTIONS)
def test_a_user_cannot_post_an_admin_action(sign_in, make_user, alice, url):
    bob = make_user("bob")
    sign_in(bob)
    response = sign_in(alice).post(url.format(user_id=bob.id))
    assert response.status_code == HTTPStatus.FORBIDDEN


@pytest.mark.parametrize("method", ["get", "head"])
@pytest.mark.parametrize("url", PAGES)
def test_an_admin_may_open_every_page_and_it_is_never_cached(admin_client, alice, url, method):
    response = getattr(admin_client, method)(url.format(user_id=alice.id))
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]
    assert "private" in response["Cache-Control"] or "no-cache" in response["Cache-Control"]


@pytest.mark.parametrize("url", ACTIONS)
def test_actions_are_post_only(admin_client, alice, url):
    assert admin_client.get(url.format(user_id=alice.id)).status_code == HTTPStatus.METHOD_NOT_ALLOWED


@pytest.mark.parametrize("url", PAGES)
def test_pages_do_not_accept_post(admin_client, alice, url):
    response = admin_client.post(url.format(user_id=alice.id))
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_actions_need_the_csrf_token(sign_in, admin, alice, client_from_ip):
    client = client_from_ip("198.51.100.1", enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    client.post("/login/", {"username": "root", "password": "correct horse battery staple",
                            "csrfmiddlewaretoken": token})
    sign_in(alice)
    response = client.post(f"/dashboard/users/{alice.id}/sessions/end/")
    assert response.status_code == HTTPStatus.FORBIDDEN
    from tests.conftest import rows
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE user_id = %s", [alice.id]) == [(1,)]


@pytest.mark.parametrize("method", ["get", "head"])
def test_the_activity_page_is_for_any_signed_in_user(client, sign_in, alice, method):
    anonymous = getattr(client, method)("/account/activity/")
    assert anonymous.status_code == HTTPStatus.FOUND
    assert anonymous["Location"] == "/login/?next=%2Faccount%2Factivity%2F"
    response = getattr(sign_in(alice), method)("/account/activity/")
    assert response.status_code == HTTPStatus.OK
    assert "no-store" in response["Cache-Control"]


def test_the_activity_action_is_post_only_and_needs_a_user(client, sign_in, alice):
    assert client.post("/account/activity/sessions/end/").status_code == HTTPStatus.FOUND
    assert sign_in(alice).get("/account/activity/sessions/end/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_an_unknown_user_page_is_a_404(admin_client):
    assert admin_client.get("/dashboard/users/999999/").status_code == HTTPStatus.NOT_FOUND


@pytest.mark.parametrize("ip", ["not-an-ip", "999.1.1.1", "010.8.8.8", "1.2.3.4%20OR%201=1"])
def test_an_address_page_for_junk_is_a_400(admin_client, ip):
    response = admin_client.get(f"/dashboard/ips/{ip}/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"Not an IP address" in response.content


def test_the_nav_shows_the_dashboard_to_admins_only(admin_client, sign_in, alice):
    assert b'href="/dashboard/"' in admin_client.get("/").content
    page = sign_in(alice).get("/").content
    assert b'href="/dashboard/"' not in page
    assert b'href="/account/activity/"' in page
