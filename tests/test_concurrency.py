"""Many sign-ins at once lose nothing and never see "database is locked" (issue: point 9)."""

import threading
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client

from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA, rows

THREADS = 8
CYCLES = 12


@pytest.mark.django_db(transaction=True)
def test_eight_threads_signing_in_and_out_lose_no_event(make_user):
    users = [make_user(f"user{i}") for i in range(THREADS)]
    errors: list[str] = []
    start = threading.Barrier(THREADS)

    def worker(index: int) -> None:
        client = Client(REMOTE_ADDR=f"198.51.100.{index + 1}", HTTP_USER_AGENT=DESKTOP_UA)
        try:
            start.wait()
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
        except Exception as error:  # noqa: BLE001 (reported below)
            errors.append(repr(error))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(THREADS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=120)
    assert errors == []
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
