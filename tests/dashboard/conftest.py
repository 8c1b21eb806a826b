"""Factories for the dashboard tests: clients signed in through the real sign-in page."""

from collections.abc import Callable

import pytest
from django.test import Client

from accounts.store import User
from authlog import events
from tests.conftest import DEFAULT_PASSWORD, DESKTOP_UA

PHONE_UA = (
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 "
    "(KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1"
)
FIREFOX_UA = "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0"


@pytest.fixture
def sign_in(client_from_ip) -> Callable[..., Client]:
    """Return a factory of clients signed in as `user` through POST /login/."""

    def factory(
        user: User,
        *,
        ip: str = "203.0.113.10",
        user_agent: str = DESKTOP_UA,
        password: str = DEFAULT_PASSWORD,
    ) -> Client:
        client = client_from_ip(ip, user_agent=user_agent)
        response = client.post("/login/", {"username": user.username, "password": password})
        assert response.status_code == 302, response.content[:500]
        return client

    return factory


@pytest.fixture
def admin(make_user) -> User:
    return make_user("root", is_admin=True)


@pytest.fixture
def admin_client(sign_in, admin) -> Client:
    return sign_in(admin, ip="198.51.100.1")


@pytest.fixture
def failure() -> Callable[..., events.AuthEvent]:
    """Return a factory that records a failed sign-in through the real service."""

    def factory(
        name: str = "alice",
        *,
        user: User | None = None,
        ip: str = "192.0.2.66",
        user_agent: str | None = DESKTOP_UA,
        reason: str = events.BAD_PASSWORD,
    ) -> events.AuthEvent:
        return events.record_failed_login(
            attempted_username=name,
            user_id=user.id if user else None,
            reason=reason if user else events.UNKNOWN_USER,
            ip_address=ip,
            user_agent=user_agent,
        )

    return factory


@pytest.fixture
def login_event() -> Callable[..., events.AuthEvent]:
    """Return a factory that records a sign-in or sign-out through log_auth_event."""

    def factory(
        user: User,
        event_type: str = events.LOGIN,
        *,
        ip: str = "203.0.113.10",
        user_agent: str | None = DESKTOP_UA,
        session_key: str | None = None,
    ) -> events.AuthEvent:
        return events.log_auth_event(
            user.id, event_type, ip, username=user.username, user_agent=user_agent,
            session_key=session_key,
        )

    return factory
