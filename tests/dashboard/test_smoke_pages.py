"""Every page renders for an admin with some events recorded."""

from http import HTTPStatus

import pytest


@pytest.mark.parametrize(
    "url",
    ["/dashboard/", "/dashboard/charts/", "/dashboard/charts/?days=90", "/dashboard/sessions/",
     "/dashboard/ips/192.0.2.66/", "/account/activity/"],
)
def test_page_renders(admin_client, make_user, failure, sign_in, url):
    alice = make_user("alice")
    sign_in(alice)
    failure("alice", user=alice)
    failure("nobody")
    response = admin_client.get(url)
    assert response.status_code == HTTPStatus.OK, response.content[:3000]


def test_user_page_renders(admin_client, make_user, failure, sign_in):
    alice = make_user("alice")
    sign_in(alice)
    failure("alice", user=alice)
    response = admin_client.get(f"/dashboard/users/{alice.id}/")
    assert response.status_code == HTTPStatus.OK
