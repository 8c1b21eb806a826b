"""Behind a trusted proxy the throttle counts the client, not the proxy (django-axes #23, #474).

Every request reaches the app from the proxy's address: a throttle that
keyed on REMOTE_ADDR would turn one client's failures into a lockout of
everyone behind that proxy. The recorded IP is tested in
tests/authlog/test_client_ip_http.py; these check the counters use it too.
"""

from http import HTTPStatus

import pytest

from tests.guard.conftest import post_login, sign_in_ok

pytestmark = pytest.mark.django_db
TOO_MANY = HTTPStatus.TOO_MANY_REQUESTS
PROXY = "10.0.0.5"


@pytest.fixture
def behind_proxy(settings, client_from_ip):
    settings.AUTHLOG = {"TRUSTED_PROXIES": PROXY}

    def via_proxy(client_ip: str):
        return client_from_ip(PROXY, HTTP_X_FORWARDED_FOR=client_ip)

    return via_proxy


def test_one_clients_spraying_through_the_proxy_does_not_lock_out_the_others(
    behind_proxy, make_user, clock
):
    make_user("alice")
    sprayer = behind_proxy("198.51.100.66")
    # Over the network limit (50/h): the sprayer's own network is locked...
    for n in range(50):
        assert post_login(sprayer, f"victim{n}").status_code == HTTPStatus.OK
    assert post_login(sprayer, "victim-next").status_code == TOO_MANY
    # ...and another client of the same proxy, new browser, is not.
    assert sign_in_ok(behind_proxy("203.0.113.7"), "alice").status_code == HTTPStatus.FOUND


def test_the_pair_limit_behind_the_proxy_is_per_client(behind_proxy, make_user, clock):
    make_user("alice")
    guesser = behind_proxy("198.51.100.66")
    for _ in range(5):
        assert post_login(guesser, "alice").status_code == HTTPStatus.OK
    assert post_login(guesser, "alice").status_code == TOO_MANY
    # alice herself, through the same proxy from her own address, still has her five tries.
    alice = behind_proxy("203.0.113.7")
    assert post_login(alice, "alice").status_code == HTTPStatus.OK
    assert sign_in_ok(alice, "alice").status_code == HTTPStatus.FOUND
