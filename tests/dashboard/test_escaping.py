"""Attacker-controlled text is shown, never run (SECURITY-CASES 45, 47): user agents and usernames."""

from http import HTTPStatus

import pytest
from django.db import connection

from tests.conftest import rows

SCRIPT_UA = '<script>alert("ua")</script>" onmouseover="alert(1)'
SVG_NAME = '"><svg onload=alert(1)>'
LOOKALIKE = "аdmin"  # Cyrillic "а"


@pytest.fixture
def hostile_user(make_user):
    """A user whose name was written by the seed's own INSERT, bypassing registration's rules."""
    alice = make_user("alice")
    with connection.cursor() as cursor:
        cursor.execute("UPDATE users SET username = %s WHERE id = %s", [SVG_NAME, alice.id])
    return alice


PAGES = ["/dashboard/", "/dashboard/users/{id}/", "/dashboard/ips/203.0.113.66/", "/dashboard/sessions/"]


@pytest.mark.parametrize("url", PAGES)
def test_user_agent_and_username_are_escaped_on_every_page(admin_client, hostile_user, sign_in, failure, url):
    sign_in(hostile_user, ip="203.0.113.66", user_agent=SCRIPT_UA, password="correct horse battery staple")
    failure("alice", user=hostile_user, ip="203.0.113.66", user_agent=SCRIPT_UA)
    response = admin_client.get(url.format(id=hostile_user.id))
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "<script>alert" not in html
    assert "<svg onload" not in html
    assert 'onmouseover="alert' not in html
    # Shown as text: in cells and in title attributes alike.
    assert "&lt;script&gt;alert(&quot;ua&quot;)&lt;/script&gt;&quot; onmouseover=&quot;alert(1)" in html
    assert "&quot;&gt;&lt;svg onload=alert(1)&gt;" in html


def test_the_activity_page_escapes_the_user_agent(hostile_user, sign_in):
    client = sign_in(hostile_user, user_agent=SCRIPT_UA)
    html = client.get("/account/activity/").content.decode()
    assert "<script>alert" not in html
    assert "&lt;script&gt;alert(&quot;ua&quot;)" in html


def test_look_alike_names_are_told_apart_by_id(admin_client, make_user, sign_in):
    real = make_user("admin2")
    fake = make_user("аdmin2")
    sign_in(real)
    sign_in(fake)
    html = admin_client.get("/dashboard/?type=login").content.decode()
    assert f'href="/dashboard/users/{real.id}/"' in html and f"#{real.id}" in html
    assert f'href="/dashboard/users/{fake.id}/"' in html and f"#{fake.id}" in html
    assert rows("SELECT COUNT(DISTINCT user_id) FROM login_logs WHERE user_id IN (%s, %s)",
                [real.id, fake.id]) == [(2,)]
