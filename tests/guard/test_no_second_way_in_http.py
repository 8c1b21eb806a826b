"""No second way in around a lockout (Keycloak CVE-2026-9798, CVE-2026-16103).

A lockout is worth nothing if another URL checks the same password without
the throttle. These post the locked account's password to every route, and
check that no module but the sign-in service verifies passwords.
"""

import pathlib
import re
from http import HTTPStatus

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from tests.conftest import DEFAULT_PASSWORD, rows
from tests.guard.conftest import post_login

pytestmark = pytest.mark.django_db
ROOT = pathlib.Path(__file__).resolve().parents[2]
_CONVERTER = re.compile(r"<(?:(\w+):)?(\w+)>")


def routes(patterns=None, prefix: str = "") -> list[str]:
    found = []
    for entry in get_resolver().url_patterns if patterns is None else patterns:
        route = prefix + str(entry.pattern)
        if isinstance(entry, URLResolver):
            found += routes(entry.url_patterns, route)
        elif isinstance(entry, URLPattern):
            found.append(route)
    return found


def concrete(route: str, user_id: int) -> str:
    values = {"int": str(user_id), "str": "198.51.100.7"}
    return "/" + _CONVERTER.sub(lambda m: values.get(m.group(1) or "str", "x"), route.lstrip("^"))


def test_no_route_signs_a_locked_account_in(make_user, client_from_ip, clock):
    alice = make_user("alice")
    attacker = client_from_ip("198.51.100.7")
    for _ in range(5):
        post_login(attacker, "alice")
    assert post_login(attacker, "alice", DEFAULT_PASSWORD).status_code == HTTPStatus.TOO_MANY_REQUESTS
    credentials = {"username": "alice", "password": DEFAULT_PASSWORD, "password1": DEFAULT_PASSWORD,
                   "password2": DEFAULT_PASSWORD, "email": ""}
    tried = [concrete(route, alice.id) for route in routes()]
    assert "/login/" in tried and "/register/" in tried and len(tried) > 10
    for path in tried:
        response = attacker.post(path, credentials)
        assert response.status_code != HTTPStatus.INTERNAL_SERVER_ERROR, path
        assert rows("SELECT COUNT(*) FROM login_logs") == [(0,)], path
        assert attacker.get("/").context["current_user"]() is None, path


def test_only_the_sign_in_service_checks_passwords():
    sources = [p for d in ("accounts", "authlog", "dashboard", "guard", "config") for p in (ROOT / d).rglob("*.py")]
    checking = sorted(str(p.relative_to(ROOT)) for p in sources
                      if re.search(r"\bcheck_password\b|\.verify\(|\bauthenticate\(", p.read_text()))
    assert checking == ["accounts/signin.py"]
