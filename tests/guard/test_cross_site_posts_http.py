"""Cross-site sign-in posts never reach the throttle (SECURITY-CASES 23).

tests/accounts/test_signin_http.py checks such a post leaves no failed_logins
row and no session; that is not enough: a throttle hit taken before the CSRF
check (or in the failure view) would leave neither, yet let any site lock
its visitors out of their accounts by making their browsers post wrong
passwords. So: no counter row at all, and the victim still gets in.
"""

from http import HTTPStatus

import pytest

from tests.conftest import DEFAULT_PASSWORD, rows

pytestmark = pytest.mark.django_db


def test_cross_site_posts_count_on_no_counter_and_lock_nobody(make_user, client_from_ip, clock):
    make_user("alice")
    victim = client_from_ip("198.51.100.7", enforce_csrf_checks=True)
    # More than the pair (5) and name (20) limits, from the victim's own browser and address.
    for _ in range(25):
        response = victim.post("/login/", {"username": "alice", "password": "forged guess"})
        assert response.status_code == HTTPStatus.FORBIDDEN
    assert rows("SELECT COUNT(*) FROM guard_counters") == [(0,)]
    assert rows("SELECT COUNT(*) FROM guard_alerts") == [(0,)]
    victim.get("/login/")
    token = victim.cookies["csrftoken"].value
    response = victim.post(
        "/login/", {"username": "alice", "password": DEFAULT_PASSWORD, "csrfmiddlewaretoken": token}
    )
    assert response.status_code == HTTPStatus.FOUND
