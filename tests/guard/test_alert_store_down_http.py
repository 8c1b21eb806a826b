"""Alerts that cannot be stored change no answer (SECURITY-CASES 41: "alert sink down").

test_delivery.py covers a dead mail server and webhook, test_guard_faults.py
a failure in a success's bookkeeping. Here the alerts table itself refuses
writes on the failure path. Only a real account's failures raise
account alerts, so an error escaping from them would answer that account
differently from a name of no account: an enumeration oracle, besides a 503.
Runs with real commits: production's autocommit path, not a test savepoint.
"""

import logging
from http import HTTPStatus

import pytest

from tests.conftest import rows
from tests.guard.conftest import post_login, sign_in_ok
from tests.test_faults import inserts_refused

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_refused_alert_insert_leaves_every_answer_as_it_was(make_user, client_from_ip, clock, caplog):
    make_user("alice")
    with inserts_refused("guard_alerts"), caplog.at_level(logging.ERROR, logger="guard"):
        # Failures 1-10 on alice: the tenth raises account_brute_force.
        for n in range(10):
            assert post_login(client_from_ip(f"192.0.2.{n + 1}"), "alice").status_code == HTTPStatus.OK
        # Ten names from one network: network_many_usernames.
        sprayer = client_from_ip("198.51.100.66")
        for n in range(10):
            assert post_login(sprayer, f"victim{n}").status_code == HTTPStatus.OK
        # A success after those failures: success_after_failures.
        assert sign_in_ok(client_from_ip("203.0.113.9"), "alice").status_code == HTTPStatus.FOUND
    assert rows("SELECT COUNT(*) FROM guard_alerts") == [(0,)]
    assert rows("SELECT COUNT(*) FROM failed_logins") == [(20,)]
    assert "guard: alert not recorded" in caplog.text
