"""Sign-out and session lifetime through HTTP (SECURITY-CASES 26-30)."""

from http import HTTPStatus

from accounts import store
from tests.conftest import DEFAULT_PASSWORD, rows


def signed_in(client_from_ip, username="alice", ip="203.0.113.10", **kwargs):
    client = client_from_ip(ip, **kwargs)
    response = client.post("/login/", {"username": username, "password": DEFAULT_PASSWORD})
    assert response.status_code == HTTPStatus.FOUND
    return client


def current_user(client):
    return client.get("/").context["current_user"]()


def events():
    return rows("SELECT user_id, event_type, session_ref FROM login_logs ORDER BY id")


def test_post_logout_records_the_user_then_deletes_the_session(make_user, client_from_ip):
    alice = make_user("alice")
    client = signed_in(client_from_ip)
    key = client.cookies["sessionid"].value
    response = client.post("/logout/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/login/"
    assert "no-store" in response["Cache-Control"]
    login, logout = events()
    assert logout[:2] == (alice.id, "logout")
    assert logout[2] == login[2], "logout pairs with its login through the session reference"
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE session_key = %s", [key]) == [(0,)]


def test_replaying_the_old_session_cookie_after_logout_is_anonymous(make_user, client_from_ip):
    make_user("alice")
    client = signed_in(client_from_ip)
    key = client.cookies["sessionid"].value
    client.post("/logout/")
    replay = client_from_ip()
    replay.cookies["sessionid"] = key
    assert current_user(replay) is None
    assert replay.post("/logout/").status_code == HTTPStatus.FOUND
    assert [e[1] for e in events()] == ["login", "logout"], "no second logout row"


def test_get_logout_is_405_and_changes_nothing(make_user, client_from_ip):
    make_user("alice")
    client = signed_in(client_from_ip)
    assert client.get("/logout/").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert current_user(client) is not None
    assert [e[1] for e in events()] == ["login"]


def test_cross_site_logout_without_csrf_token_is_403_and_changes_nothing(make_user, client_from_ip):
    make_user("alice")
    victim = signed_in(client_from_ip)
    client = client_from_ip(enforce_csrf_checks=True)
    client.cookies["sessionid"] = victim.cookies["sessionid"].value
    response = client.post("/logout/")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert current_user(client) is not None
    assert [e[1] for e in events()] == ["login"]


def test_logout_with_csrf_token_works(make_user, client_from_ip):
    make_user("alice")
    client = client_from_ip(enforce_csrf_checks=True)
    client.get("/login/")
    token = client.cookies["csrftoken"].value
    client.post("/login/", {"username": "alice", "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token})
    token = client.cookies["csrftoken"].value
    assert client.post("/logout/", {"csrfmiddlewaretoken": token}).status_code == HTTPStatus.FOUND
    assert [e[1] for e in events()] == ["login", "logout"]


def test_anonymous_logouts_create_no_session_rows_and_no_events(client_from_ip, db):
    # CVE-2015-5963: anonymous requests must not fill the session table.
    client = client_from_ip()
    for _ in range(300):
        assert client.post("/logout/").status_code == HTTPStatus.FOUND
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]
    assert events() == []
    assert "sessionid" not in client.cookies or client.cookies["sessionid"].value == ""


def test_signing_out_of_one_session_leaves_the_other(make_user, client_from_ip):
    alice = make_user("alice")
    laptop = signed_in(client_from_ip, ip="203.0.113.1")
    phone = signed_in(client_from_ip, ip="203.0.113.2")
    laptop.post("/logout/")
    assert current_user(laptop) is None
    assert current_user(phone).id == alice.id
    refs = [e[2] for e in events()]
    assert refs[0] == refs[2] != refs[1], "login1, login2, logout1"


def test_password_change_ends_existing_sessions(make_user, client_from_ip):
    alice = make_user("alice")
    client = signed_in(client_from_ip)
    from django.contrib.auth.hashers import make_password

    store.update_password_hash(user_id=alice.id, password_hash=make_password("a new password 123"))
    assert current_user(client) is None


def test_deactivated_user_is_signed_out_on_next_request(make_user, client_from_ip):
    alice = make_user("alice")
    client = signed_in(client_from_ip)
    store.update_flags(user_id=alice.id, is_active=False)
    assert current_user(client) is None


def test_tampered_session_user_id_is_anonymous(make_user, client_from_ip):
    make_user("alice")
    bob = make_user("bob")
    client = signed_in(client_from_ip)
    session = client.session
    session["_uid"] = bob.id  # the auth hash still belongs to alice
    session.save()
    assert current_user(client) is None


def test_home_shows_who_is_signed_in_and_their_activity(make_user, client_from_ip):
    make_user("alice")
    client = signed_in(client_from_ip, ip="198.51.100.44")
    response = client.get("/")
    assert b"Signed in as" in response.content and b"alice" in response.content
    assert b"198.51.100.44" in response.content
    assert b"Chrome 124" in response.content
