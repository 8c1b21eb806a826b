"""Limits hold under concurrency: threads and separate processes, counters in the database or Redis.

SECURITY-CASES 39 (no lost updates), 39b (the attempt is reserved before the
password is checked: at most `limit` passwords are checked however many
guesses arrive at once) and 40 (several servers share one count).
"""

import multiprocessing
import threading
from collections import Counter
from http import HTTPStatus

import pytest
from django.db import connection, connections
from django.test import Client
from django.test.utils import CaptureQueriesContext

from guard import throttle
from guard.counters import primary_counters
from guard.operations import user_ref_of
from tests.conftest import DESKTOP_UA, at_once, rows
from tests.hashers import CountingHasher

pytestmark = pytest.mark.django_db(transaction=True)
GUESSES = 16


class LockedCountingHasher(CountingHasher):
    """CountingHasher whose count is exact across threads."""

    algorithm = "counting"
    lock = threading.Lock()

    def encode(self, password, salt):
        with self.lock:
            type(self).runs += 1
        return super(CountingHasher, self).encode(password, salt)


@pytest.fixture(params=["database", "redis"])
def counters_backend(request, settings):
    settings.PASSWORD_HASHERS = ["tests.guard.test_throttle_concurrency.LockedCountingHasher"]
    if request.param == "redis":
        request.getfixturevalue("redis_counters")
    return request.param


def _reasons() -> dict[str, int]:
    return dict(rows("SELECT reason, COUNT(*) FROM failed_logins GROUP BY reason"))


def test_sixteen_concurrent_guesses_at_a_limit_of_five_check_five_passwords(
    counters_backend, make_user
):
    make_user("alice")
    LockedCountingHasher.runs = 0

    def guess(index: int) -> int:
        client = Client(REMOTE_ADDR="198.51.100.5", HTTP_USER_AGENT=DESKTOP_UA)
        return client.post("/login/", {"username": "alice", "password": f"guess {index}"}).status_code

    statuses = at_once(GUESSES, guess)
    assert Counter(statuses) == {HTTPStatus.OK: 5, HTTPStatus.TOO_MANY_REQUESTS: 11}
    assert LockedCountingHasher.runs == 5
    assert _reasons() == {"bad_password": 5, "throttled": 11}


def test_fifty_parallel_failures_are_all_counted(counters_backend, make_user, guard_settings):
    """No lost update: with limits out of reach, 50 parallel failures make a count of exactly 50."""
    guard_settings(USERNAME_RATE="1000/1h", IP_RATE="1000/1h", PAIR_RATE="1000/15m")
    make_user("alice")

    def five(index: int) -> list[int]:
        client = Client(REMOTE_ADDR=f"198.51.100.{index + 1}", HTTP_USER_AGENT=DESKTOP_UA)
        return [client.post("/login/", {"username": "alice", "password": f"x{n}"}).status_code
                for n in range(5)]

    assert at_once(10, five) == [[HTTPStatus.OK] * 5] * 10
    name_state, account_state = primary_counters().peek(
        list(throttle.account_keys(user_ref_of("alice"), "alice")), now=throttle.clock()
    )
    assert (name_state.current, account_state.current) == (50, 50)
    assert name_state.seen_current == 10  # ten networks, each counted once on the name


def test_a_reservation_locks_its_counter_rows_in_one_statement(on_postgresql, make_user):
    """The upsert that counts an attempt locks its rows; what follows does not lock them again."""
    make_user("alice")
    client = Client(REMOTE_ADDR="198.51.100.7", HTTP_USER_AGENT=DESKTOP_UA)
    with CaptureQueriesContext(connection) as queries:
        response = client.post("/login/", {"username": "alice", "password": "wrong"})
    assert response.status_code == HTTPStatus.OK
    counter_statements = [q["sql"] for q in queries if "guard_counters" in q["sql"]]
    # The upsert of all four counters, then the distinct-network count of a new pair.
    assert counter_statements[0].startswith("INSERT INTO guard_counters")
    assert "seen_current = seen_current + 1" in counter_statements[1]
    assert not [sql for sql in counter_statements if "FOR UPDATE" in sql]


def _process_guesses(username: str, ip: str, guesses: int, results) -> None:
    client = Client(REMOTE_ADDR=ip, HTTP_USER_AGENT=DESKTOP_UA)
    for n in range(guesses):
        response = client.post("/login/", {"username": username, "password": f"p{n}"})
        results.put(response.status_code)
    connections.close_all()


def test_several_processes_share_one_limit(counters_backend, make_user):
    """Four worker processes, four guesses each: five pass in total, not five per process."""
    make_user("alice")
    connections.close_all()  # each child opens its own connection
    context = multiprocessing.get_context("fork")
    results = context.Queue()
    processes = [
        context.Process(target=_process_guesses, args=("alice", "198.51.100.5", 4, results))
        for _ in range(4)
    ]
    for process in processes:
        process.start()
    statuses = [results.get(timeout=60) for _ in range(16)]
    for process in processes:
        process.join(timeout=60)
        assert process.exitcode == 0
    assert sorted(statuses) == [HTTPStatus.OK] * 5 + [HTTPStatus.TOO_MANY_REQUESTS] * 11
    assert _reasons() == {"bad_password": 5, "throttled": 11}
