"""Many sign-ins at once lose nothing and never see "database is locked" (issue: point 9)."""

from http import HTTPStatus

import pytest
from django.test import Client

from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, at_once, rows

THREADS = 8
CYCLES = 12


@pytest.mark.django_db(transaction=True)
def test_eight_threads_signing_in_and_out_lose_no_event(make_user):
    users = [make_user(f"user{i}") for i in range(THREADS)]

    def worker(index: int) -> list[str]:
        client = Client(REMOTE_ADDR=f"198.51.100.{index + 1}", HTTP_USER_AGENT=DESKTOP_UA)
        errors = []
        for _ in range(CYCLES):
            response = client.post(
                "/login/", {"username": f"user{index}", "password": DEFAULT_PASSWORD}
            )
            if response.status_code != HTTPStatus.FOUND:
                errors.append(f"login {response.status_code}")
            # A failed attempt too, so both tables are written concurrently.
            client.post("/login/", {"username": f"user{index}", "password": "wrong"})
            response = client.post("/logout/")
            if response.status_code != HTTPStatus.FOUND:
                errors.append(f"logout {response.status_code}")
        return errors

    assert at_once(THREADS, worker) == [[]] * THREADS
    per_user = dict(
        rows("SELECT user_id, COUNT(*) FROM login_logs GROUP BY user_id")
    )
    assert per_user == {user.id: 2 * CYCLES for user in users}
    assert rows("SELECT COUNT(*) FROM failed_logins") == [(THREADS * CYCLES,)]
    # Every login has exactly one logout with the same session reference.
    unpaired = rows(
        "SELECT session_ref FROM login_logs GROUP BY session_ref"
        " HAVING COUNT(*) <> 2 OR MIN(event_type) <> 'login' OR MAX(event_type) <> 'logout'"
    )
    assert unpaired == []
    assert rows("SELECT COUNT(*) FROM user_sessions") == [(0,)]
