"""Redis down: no 500, the limits still hold (counted in the database), and the log says so.

SECURITY-CASES 54; django-defender #245 (a Redis auth error was a 500).
The real Redis is never stopped (others use it): the tests point the cache
at a closed port, or make the client raise from the middle of a test.
"""

import logging
import socket
from http import HTTPStatus

import pytest
import redis

from guard.counters import CountersUnavailable, reset_outage
from guard.counters.redis import RedisCounters
from tests.conftest import rows
from tests.guard.conftest import post_login, sign_in_ok

pytestmark = pytest.mark.django_db
TOO_MANY = HTTPStatus.TOO_MANY_REQUESTS


def closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]  # nothing listens here once the probe is closed


@pytest.fixture
def redis_unreachable(settings):
    settings.CACHES = {
        **settings.CACHES,
        "guard": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": f"redis://127.0.0.1:{closed_port()}/0",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    settings.GUARD = {**getattr(settings, "GUARD", {}), "COUNTERS": "redis", "REDIS_CACHE": "guard"}


def test_with_redis_unreachable_sign_in_works_and_limits_hold(
    redis_unreachable, make_user, client_from_ip, clock, caplog
):
    make_user("alice")
    with caplog.at_level(logging.ERROR, logger="guard"):
        assert sign_in_ok(client_from_ip(), "alice").status_code == HTTPStatus.FOUND
        client = client_from_ip("198.51.100.3")
        for _ in range(5):
            assert post_login(client, "alice").status_code == HTTPStatus.OK
        assert post_login(client, "alice").status_code == TOO_MANY
    outage = [r for r in caplog.records if "counting sign-in failures in the database" in r.getMessage()]
    assert len(outage) == 1, "one line per outage, not one per sign-in"
    assert rows("SELECT COUNT(*) FROM guard_counters WHERE kind = 'pair'") == [(2,)]


@pytest.mark.parametrize(
    "error", [redis.ConnectionError("refused"), redis.TimeoutError("slow"), redis.AuthenticationError("NOAUTH")]
)
def test_redis_failing_mid_test_falls_back_without_opening_the_door(
    error, redis_counters, make_user, client_from_ip, clock, monkeypatch
):
    make_user("alice")
    client = client_from_ip("198.51.100.4")
    for _ in range(3):
        assert post_login(client, "alice").status_code == HTTPStatus.OK
    assert rows("SELECT COUNT(*) FROM guard_counters") == [(0,)], "counted in Redis so far"

    def down(self, *args, **kwargs):
        raise error

    monkeypatch.setattr(RedisCounters, "_client", down)
    # The database takes over: the door stays shut after its own five.
    for _ in range(5):
        assert post_login(client, "alice").status_code == HTTPStatus.OK
    assert post_login(client, "alice").status_code == TOO_MANY
    assert sign_in_ok(client_from_ip("198.51.100.200"), "alice").status_code == HTTPStatus.FOUND


def test_redis_failing_after_the_reservation_still_signs_in(
    redis_counters, make_user, client_from_ip, clock, monkeypatch
):
    make_user("alice")
    real_apply = RedisCounters.apply
    calls = []

    def apply_then_fail(self, ops, **kwargs):
        calls.append(ops)
        if len(calls) > 1:  # the reservation's apply passes, the sign-in's settlement fails
            raise CountersUnavailable("Redis: ConnectionError")
        return real_apply(self, ops, **kwargs)

    monkeypatch.setattr(RedisCounters, "apply", apply_then_fail)
    assert sign_in_ok(client_from_ip(), "alice").status_code == HTTPStatus.FOUND


def test_redis_comes_back_after_the_retry_period(
    redis_counters, make_user, client_from_ip, clock, monkeypatch, guard_settings
):
    guard_settings(REDIS_RETRY_AFTER=0)
    make_user("alice")
    real_client = RedisCounters._client
    monkeypatch.setattr(RedisCounters, "_client", lambda self: (_ for _ in ()).throw(redis.ConnectionError()))
    post_login(client_from_ip(), "alice")
    assert rows("SELECT COUNT(*) FROM guard_counters WHERE kind = 'pair'") == [(1,)]
    monkeypatch.setattr(RedisCounters, "_client", real_client)
    reset_outage()
    post_login(client_from_ip("198.51.100.77"), "alice")
    assert rows("SELECT COUNT(*) FROM guard_counters WHERE kind = 'pair'") == [(1,)], "back in Redis"
