"""Fixtures of the guard tests: a clock that tests move by hand, counters in Redis, posting helpers."""

import time
import uuid
from collections.abc import Callable

import pytest
from django.test import Client

from guard import counters, throttle
from tests.conftest import DEFAULT_PASSWORD
from tests.hashers import CountingHasher

# Aligned to every default window (15 min, 1 h, 90 days): a test starts at the
# beginning of each counter's window, so the sliding estimate is exact there.
_ALIGN = 90 * 86400


class FakeClock:
    """The throttle's clock, moved by the test (SECURITY rule: tests never sleep)."""

    def __init__(self, start: float) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock(monkeypatch) -> FakeClock:
    """Freeze the throttle's clock at the start of a 90-day window before now."""
    fake = FakeClock(float(int(time.time()) // _ALIGN * _ALIGN))
    monkeypatch.setattr(throttle, "clock", fake)
    return fake


@pytest.fixture(autouse=True)
def _no_remembered_outage():
    counters.reset_outage()
    yield
    counters.reset_outage()


@pytest.fixture
def inline_delivery(settings):
    """Deliver alerts in the request, so a test can read mail.outbox right after it."""
    settings.GUARD = {**getattr(settings, "GUARD", {}), "DELIVERY": "inline"}


@pytest.fixture
def guard_settings(settings) -> Callable[..., None]:
    """Return a function that overrides GUARD settings for this test."""

    def override(**values) -> None:
        settings.GUARD = {**getattr(settings, "GUARD", {}), **values}

    return override


@pytest.fixture
def redis_counters(settings, redis_url):
    """Count in Redis (a key prefix of this test's own), through a RedisCache alias 'guard'."""
    prefix = f"test-guard-{uuid.uuid4().hex[:12]}"
    settings.CACHES = {
        **settings.CACHES,
        "guard": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": redis_url,
            "KEY_PREFIX": prefix,
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        },
    }
    settings.GUARD = {**getattr(settings, "GUARD", {}), "COUNTERS": "redis", "REDIS_CACHE": "guard"}
    yield redis_url
    import redis

    client = redis.Redis.from_url(redis_url)
    for key in client.scan_iter(match=f"{prefix}:*", count=1000):
        client.delete(key)


@pytest.fixture
def counting_hasher(settings):
    settings.PASSWORD_HASHERS = ["tests.hashers.CountingHasher"]
    CountingHasher.runs = 0
    return CountingHasher


def post_login(client: Client, username: str, password: str = "wrong password", **extra):
    """POST the sign-in form."""
    return client.post("/login/", {"username": username, "password": password}, **extra)


def sign_in_ok(client: Client, username: str):
    return post_login(client, username, DEFAULT_PASSWORD)
