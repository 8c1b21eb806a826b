"""Sessions: the engine stores their user, ending them writes their logouts, nobody ends another's (IDOR)."""

import re
from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import DatabaseError, connection

from accounts import sessions_admin
from authlog import events
from authlog.events import session_ref
from tests.conftest import rows
from tests.dashboard.conftest import PHONE_UA


def session_key(client) -> str:
    return client.cookies["sessionid"].value


def is_signed_in(client) -> bool:
    return client.get("/account/activity/").status_code == HTTPStatus.OK


def test_a_session_row_knows_its_user_and_trail_reference(make_user, sign_in):
    alice = make_user("alice")
    key = session_key(sign_in(alice))
    assert rows("SELECT user_id, session_ref FROM user_sessions WHERE session_key = %s", [key]) == [
        (alice.id, session_ref(key))
    ]
    login_ref = rows("SELECT session_ref FROM login_logs WHERE user_id = %s AND event_type = 'login'",
                     [alice.id])
    assert login_ref == [(session_ref(key),)]


def test_an_admin_ends_all_of_a_users_sessions_with_their_logouts(admin_client, make_user, sign_in):
    alice = make_user("alice")
    laptop, phone = sign_in(alice), sign_in(alice, user_agent=PHONE_UA, ip="203.0.113.99")
    keys = {session_key(laptop), session_key(phone)}
    response = admin_client.post(f"/dashboard/users/{alice.id}/sessions/end/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/dashboard/users/{alice.id}/?ended=2#sessions"
    assert rows("SELECT COUNT(*) FROM user_sessions WHERE user_id = %s", [alice.id]) == [(0,)]
    logouts = rows("SELECT session_ref, ip_address FROM login_logs WHERE user_id = %s"
                   " AND event_type = 'logout'", [alice.id])
    # Each logout carries its session's reference (it pairs with its login) and the admin's address.
    assert sorted(ref for ref, _ in logouts) == sorted(session_ref(key) for key in keys)
    assert {ip for _, ip in logouts} == {"198.51.100.1"}
    assert not is_signed_in(laptop) and not is_signed_in(phone)
    page = admin_client.get(f"/dashboard/users/{alice.id}/?ended=2")
    assert b"2 sessions ended" in page.content
    assert [s.state for s in page.context["page"].sessions] == ["ended", "ended"]


def test_an_admin_ends_one_session(admin_client, make_user, sign_in):
    alice = make_user("alice")
    laptop, phone = sign_in(alice), sign_in(alice, user_agent=PHONE_UA)
    admin_client.post(f"/dashboard/users/{alice.id}/sessions/end/",
                      {"session": session_ref(session_key(phone))})
    assert is_signed_in(laptop) and not is_signed_in(phone)


def test_an_admin_ending_their_own_sessions_stays_signed_in_here(admin_client, admin, sign_in):
    other = sign_in(admin, ip="198.51.100.2")
    admin_client.post(f"/dashboard/users/{admin.id}/sessions/end/")
    assert is_signed_in(admin_client) and not is_signed_in(other)


def test_sign_out_all_other_sessions_keeps_this_one(make_user, sign_in):
    alice = make_user("alice")
    here, phone, tablet = sign_in(alice), sign_in(alice, user_agent=PHONE_UA), sign_in(alice)
    response = here.post("/account/activity/sessions/end/")
    assert response["Location"] == "/account/activity/?ended=2#sessions"
    assert is_signed_in(here) and not is_signed_in(phone) and not is_signed_in(tablet)
    assert rows("SELECT COUNT(*) FROM login_logs WHERE user_id = %s AND event_type = 'logout'",
                [alice.id]) == [(2,)]
    page = here.get("/account/activity/")
    assert len(page.context["page"].sessions) == 1 and page.context["page"].sessions[0].current


def test_a_user_cannot_end_another_users_session(make_user, sign_in):
    """IDOR: a session reference of bob's, posted by alice, ends nothing."""
    alice, bob = make_user("alice"), make_user("bob")
    mallory_client, bob_client = sign_in(alice), sign_in(bob)
    bobs_ref = session_ref(session_key(bob_client))
    response = mallory_client.post("/account/activity/sessions/end/", {"session": bobs_ref})
    assert response["Location"] == "/account/activity/?ended=0#sessions"
    assert is_signed_in(bob_client)
    assert rows("SELECT COUNT(*) FROM login_logs WHERE event_type = 'logout'") == [(0,)]


def test_the_activity_page_shows_only_the_users_own_events(make_user, sign_in, failure):
    alice, bob = make_user("alice"), make_user("bob")
    failure("bob", user=bob, ip="192.0.2.200")
    sign_in(bob, ip="192.0.2.201")
    page = sign_in(alice, ip="192.0.2.50").get("/account/activity/")
    html = page.content.decode()
    # A word, not a substring: a random CSRF token may hold the letters "bob".
    assert "192.0.2.200" not in html and "192.0.2.201" not in html and not re.search(r"\bbob\b", html)
    assert {e.user_id for e in page.context["page"].events} == {alice.id}
    assert page.context["page"].failures == []
    # The page takes no user id at all: another id in the URL changes nothing.
    assert sign_in(alice).get(f"/account/activity/?user_id={bob.id}&user=bob").context["page"].failures == []


def test_the_activity_page_lists_failed_attempts_with_address_and_device(make_user, sign_in, failure):
    alice = make_user("alice")
    failure("alice", user=alice, ip="192.0.2.77", user_agent=PHONE_UA)
    html = sign_in(alice).get("/account/activity/").content.decode()
    assert "192.0.2.77" in html and "Mobile Safari" in html and "Failed sign-in" in html


def test_ending_a_session_that_cannot_be_logged_ends_nothing(make_user, sign_in, monkeypatch):
    alice = make_user("alice")
    client = sign_in(alice)

    def broken(*args, **kwargs):
        raise DatabaseError("disk full")

    monkeypatch.setattr(events, "log_auth_event", broken)
    with pytest.raises(DatabaseError):
        sessions_admin.end_sessions(user=alice, ip_address=None, user_agent=None)
    assert is_signed_in(client)


def test_a_session_is_paired_with_its_logout_and_its_duration_shown(admin_client, make_user, sign_in):
    alice = make_user("alice")
    client = sign_in(alice)
    client.post("/logout/")
    sign_in(alice)
    page = admin_client.get(f"/dashboard/users/{alice.id}/").context["page"]
    states = sorted(s.state for s in page.sessions)
    assert states == ["active", "ended"]
    ended = next(s for s in page.sessions if s.state == "ended")
    assert ended.span.seconds is not None and ended.span.seconds >= 0


def test_a_logout_stamped_before_its_login_has_no_negative_duration(admin_client, make_user):
    """Clock skew (SECURITY-CASES 51): the duration is zero, in the page and in the chart counts."""
    alice = make_user("alice")
    login = events.log_auth_event(alice.id, events.LOGIN, "192.0.2.1", session_key="skewed")
    later = (login.timestamp + timedelta(minutes=5))
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE login_logs SET timestamp = %s WHERE id = %s",
            [later.replace(tzinfo=None).isoformat(sep=" ") if connection.vendor == "sqlite" else later,
             login.id],
        )
    events.log_auth_event(alice.id, events.LOGOUT, "192.0.2.1", session_key="skewed")
    page = admin_client.get(f"/dashboard/users/{alice.id}/").context["page"]
    span = next(s.span for s in page.sessions if s.span.login.id == login.id)
    assert span.logout is not None and span.seconds == 0
    assert rows("SELECT bucket, n FROM session_duration_days") == [(0, 1)]


def test_an_expired_session_is_not_active(make_user, sign_in):
    alice = make_user("alice")
    sign_in(alice)
    past = datetime.now(UTC) - timedelta(days=1)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE user_sessions SET expire_date = %s",
                       [past.replace(tzinfo=None).isoformat(sep=" ") if connection.vendor == "sqlite" else past])
    assert sessions_admin.active_sessions(user=alice) == []
    assert sessions_admin.end_sessions(user=alice, ip_address=None, user_agent=None) == 0


def test_a_session_of_an_old_password_is_not_active(make_user, sign_in):
    from django.contrib.auth.hashers import make_password

    from accounts import store

    alice = make_user("alice")
    sign_in(alice)
    store.update_password_hash(user_id=alice.id, password_hash=make_password("a new long passphrase"))
    assert sessions_admin.active_sessions(user=store.user_by_id(user_id=alice.id)) == []
