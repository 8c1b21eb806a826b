"""Concurrent failures raise one alert, not one per request (SECURITY-CASES 41, "even between processes").

test_alerts_http.py raises alerts one request after another, where the
lookup of open alerts alone is enough. Here many attempts pass that lookup
at once; only the partial unique index behind insert_alert's ON CONFLICT
keeps it to one row.
"""

from http import HTTPStatus

import pytest
from django.test import Client

from tests.conftest import DESKTOP_UA, at_once, rows

pytestmark = pytest.mark.django_db(transaction=True)
THREADS = 12


def test_simultaneous_failures_from_one_network_raise_one_alert(guard_settings, clock):
    # Every failure from the network meets the rule: each request tries to raise it.
    guard_settings(ALERT_NETWORK_USERNAMES=1)

    def guess(index: int) -> int:
        client = Client(REMOTE_ADDR="198.51.100.66", HTTP_USER_AGENT=DESKTOP_UA)
        return client.post("/login/", {"username": f"victim{index}", "password": "x"}).status_code

    assert at_once(THREADS, guess) == [HTTPStatus.OK] * THREADS
    assert rows("SELECT rule, status FROM guard_alerts") == [("network_many_usernames", "open")]
