"""Choose where the counters live, and fall back to the database while Redis is down.

Never per-process memory (SECURITY-CASES 40): with several workers or servers
the limits must hold globally. An outage of Redis is logged and the attempt
is counted in the database instead: it neither opens the door nor breaks
sign-in (SECURITY-CASES 54). Known limit: counts made during the outage stay
in the database and are not seen once Redis is back, so an attacker gains at
most one more limit's worth of tries per outage.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import TypeVar

from django.conf import settings
from django.core.exceptions import ImproperlyConfigured

from guard.conf import guard_settings
from guard.counters.base import Counters, CountersUnavailable
from guard.counters.db import DatabaseCounters

logger = logging.getLogger("guard")
T = TypeVar("T")

REDIS_BACKEND = "django.core.cache.backends.redis.RedisCache"
_database = DatabaseCounters()
_redis: dict[str, Counters] = {}
# Until when (time.monotonic) this process counts in the database after a Redis failure.
_redis_down_until = 0.0
_lock = threading.Lock()


def redis_configured() -> bool:
    """Return whether the guard's cache alias is a Redis cache."""
    cache = settings.CACHES.get(guard_settings.REDIS_CACHE, {})
    return cache.get("BACKEND") == REDIS_BACKEND


def primary_counters() -> Counters:
    """Return the configured counters backend, ignoring outages."""
    choice = guard_settings.COUNTERS
    if choice not in ("auto", "database", "redis"):
        raise ImproperlyConfigured(
            f"GUARD['COUNTERS'] is {choice!r}; use 'auto', 'database' or 'redis'."
        )
    if choice == "database" or (choice == "auto" and not redis_configured()):
        return _database
    if not redis_configured():
        raise ImproperlyConfigured(
            f"GUARD['COUNTERS'] is 'redis' but CACHES[{guard_settings.REDIS_CACHE!r}] is not "
            f"{REDIS_BACKEND}; set REDIS_URL or GUARD['REDIS_CACHE']."
        )
    from guard.counters.redis import RedisCounters

    alias = guard_settings.REDIS_CACHE
    if alias not in _redis:
        _redis[alias] = RedisCounters(alias)
    return _redis[alias]


def database_counters() -> Counters:
    return _database


def with_counters(operation: Callable[[Counters], T]) -> T:
    """Run `operation` on the configured backend, or on the database if that backend is down."""
    global _redis_down_until
    primary = primary_counters()
    if primary is _database or time.monotonic() < _redis_down_until:
        return operation(_database)
    try:
        return operation(primary)
    except CountersUnavailable as error:
        with _lock:
            first = time.monotonic() >= _redis_down_until
            _redis_down_until = time.monotonic() + guard_settings.REDIS_RETRY_AFTER
        if first:
            logger.error(
                "guard: %s is unavailable (%s); counting sign-in failures in the database "
                "for the next %ss",
                primary.name, error, guard_settings.REDIS_RETRY_AFTER,
            )
        return operation(_database)


def reset_outage() -> None:
    """Forget a recorded Redis outage (tests, and the `throttles` command after a fix)."""
    global _redis_down_until
    _redis_down_until = 0.0


__all__ = [
    "Counters",
    "CountersUnavailable",
    "database_counters",
    "primary_counters",
    "redis_configured",
    "reset_outage",
    "with_counters",
]
