"""Shared fixtures: factories that call the real services, clients from chosen IPs, services.

REQUIRE_SERVICES=1 (set by .ci/run) turns every "service not available" skip
into a failure, so CI cannot pass by skipping PostgreSQL, Redis or Chromium.
"""

import os
import shutil
import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection
from django.test import Client

from accounts.registration import register_user
from accounts.store import User

REQUIRE_SERVICES = os.environ.get("REQUIRE_SERVICES") == "1"
DEFAULT_PASSWORD = "correct horse battery staple"
DESKTOP_UA = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
# Tables created by our own migrations: Django's flush between transactional
# tests only knows model tables, so these are emptied here.
OUR_TABLES = (
    # the trail's chain and bookkeeping (issue 6); trail_head is rebuilt on the next event
    "trail_chain", "trail_head", "trail_operations", "trail_checkpoints", "trail_verifications",
    # throttling, lockout and alerts (issue 5); before users, which they reference
    "guard_counters", "guard_alerts", "guard_actions", "guard_known_sources",
    # the dashboard's chart counts and address keys (issue 4)
    "event_counts", "failure_ip_days", "session_duration_days", "ip_keys",
    "failed_logins", "login_logs", "user_sessions", "users",
)


def service_missing(what: str) -> None:
    """Skip the test, or fail it when CI demands every service."""
    if REQUIRE_SERVICES:
        pytest.fail(f"{what} is required (REQUIRE_SERVICES=1) but not available")
    pytest.skip(f"{what} not available")


@pytest.fixture(autouse=True)
def fast_hasher(settings):
    """Use a fast hasher: Argon2's cost is the point in production, not in 400 tests."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


def _commits_for_real(request) -> bool:
    marker = request.node.get_closest_marker("django_db")
    if marker is not None and marker.kwargs.get("transaction"):
        return True
    return bool({"transactional_db", "live_server"} & set(request.fixturenames))


@pytest.fixture(autouse=True)
def _empty_our_tables(request, django_db_blocker):
    yield
    if _commits_for_real(request):
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            for table in OUR_TABLES:
                cursor.execute(f"DELETE FROM {table}")


@pytest.fixture
def make_user(db) -> Callable[..., User]:
    """Return a factory that registers users through the real service."""

    def factory(
        username: str = "alice",
        password: str = DEFAULT_PASSWORD,
        *,
        email: str = "",
        is_admin: bool = False,
        is_active: bool = True,
    ) -> User:
        registration = register_user(
            username=username, email=email, password=password, is_admin=is_admin
        )
        assert registration.user is not None, registration.errors
        user = registration.user
        if not is_active:
            from accounts import store

            store.update_flags(user_id=user.id, is_active=False)
            user = store.user_by_id(user_id=user.id)
        return user

    return factory


@pytest.fixture
def client_from_ip() -> Callable[..., Client]:
    """Return a factory of test clients connecting from a given address."""

    def factory(
        remote_addr: str = "203.0.113.10",
        *,
        user_agent: str = DESKTOP_UA,
        enforce_csrf_checks: bool = False,
        **headers: str,
    ) -> Client:
        return Client(
            enforce_csrf_checks=enforce_csrf_checks,
            REMOTE_ADDR=remote_addr,
            HTTP_USER_AGENT=user_agent,
            **headers,
        )

    return factory


def at_once(count: int, work: Callable[[int], Any], timeout: float = 120) -> list:
    """Run work(0) ... work(count - 1) in threads released together; return their results in order.

    An exception comes back as its repr and a thread still running after the
    timeout as None, so one assertion on the list reports either. Each thread
    closes its own database connection, or the test database could not be
    dropped at the end of the run.
    """
    results: list = [None] * count
    start = threading.Barrier(count)

    def run(index: int) -> None:
        try:
            start.wait()
            results[index] = work(index)
        except Exception as error:  # noqa: BLE001 (reported by the caller's assertion)
            results[index] = repr(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(index,)) for index in range(count)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=timeout)
    return results


def rows(sql: str, params: list | None = None) -> list[tuple]:
    """Run a read query directly, as an auditor would."""
    with connection.cursor() as cursor:
        cursor.execute(sql, params or [])
        return cursor.fetchall()


@pytest.fixture
def redis_url() -> str:
    """Return a reachable Redis URL (database 15, flushed), or skip/fail."""
    import redis

    url = os.environ.get("TEST_REDIS_URL", "redis://127.0.0.1:6379/15")
    try:
        client = redis.Redis.from_url(url, socket_connect_timeout=1)
        client.ping()
        client.flushdb()
    except redis.RedisError:
        service_missing(f"Redis at {url}")
    return url


@pytest.fixture
def chromium_path() -> str:
    """Return the path of Debian's Chromium, or skip/fail."""
    path = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
    if not (os.path.exists(path) or shutil.which(path)):
        service_missing(f"Chromium at {path}")
    return path


@pytest.fixture
def on_postgresql() -> None:
    """Run only in the PostgreSQL pass of the suite (.ci/run runs both passes)."""
    if connection.vendor != "postgresql":
        pytest.skip("runs in the PostgreSQL pass (DATABASE_URL=postgres://...)")
