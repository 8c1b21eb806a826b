"""Device cookies: a browser that has signed in to an account is known to it (OWASP, "device cookies").

After a successful sign-in the browser gets a cookie, signed with
SECRET_KEY, that names the account, a random device id and a digest of the
password hash; it is sent back only to /login/. With it, that browser skips
the per-name, per-network and consecutive-failure counters that an attacker
elsewhere may have locked, and is counted on a counter of its own instead.
A password change makes every device cookie of the account invalid.
"""

import hashlib
import hmac
import re
import secrets
from dataclasses import dataclass
from functools import lru_cache

from django.conf import settings
from django.core import signing
from django.http import HttpRequest, HttpResponse

from accounts.store import User
from guard.conf import guard_settings
from guard.policy import parse_duration

_SALT = "guard.device-cookie"
_VERSION_STRIP = re.compile(r"\s+[0-9][0-9.]*\Z")


@dataclass(frozen=True)
class KnownDevice:
    """A valid device cookie on a request: the browser's device id and the day it was issued."""

    device_id: str
    issued_day: int


@dataclass(frozen=True)
class DeviceCookie:
    """A device cookie to set on the response of a successful sign-in."""

    name: str
    value: str
    max_age: int


@lru_cache(maxsize=64)
def _domain_key(domain: str, secret: str) -> bytes:
    # What salted_hmac derives on every call, derived once per domain and key.
    return hashlib.sha256(f"guard.{domain}".encode() + secret.encode()).digest()


def keyed_hash(domain: str, value: str) -> str:
    """Return a 24-hex-digit HMAC-SHA-256 of `value` under SECRET_KEY, separate for each domain."""
    # Django's salted_hmac, with the per-domain key derived once. Results are
    # not memoised: a name typed here may be someone's password.
    key = _domain_key(domain, settings.SECRET_KEY)
    return hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:24]


def cookie_name(user_id: int) -> str:
    """Return the name of the account's device cookie (a hash: the name does not reveal the account)."""
    return guard_settings.DEVICE_COOKIE_PREFIX + keyed_hash("device-cookie-name", str(user_id))[:12]


def _password_digest(user: User) -> str:
    return keyed_hash("device-password", user.password_hash)[:16]


def today(now: float) -> int:
    """Return the day number of an epoch time: a device cookie is renewed at most once a day."""
    return int(now // 86400)


def known_device(request: HttpRequest, user: User | None) -> KnownDevice | None:
    """Return the device of a valid device cookie for `user` on this request, or None."""
    if user is None:
        return None
    raw = request.COOKIES.get(cookie_name(user.id))
    if not raw or len(raw) > 512:
        return None
    try:
        payload = signing.loads(
            raw, salt=_SALT, max_age=parse_duration(guard_settings.DEVICE_COOKIE_AGE)
        )
    except signing.BadSignature:
        return None
    if not isinstance(payload, dict) or payload.get("u") != user.id:
        return None
    if payload.get("p") != _password_digest(user) or not isinstance(payload.get("d"), str):
        return None
    return KnownDevice(device_id=payload["d"], issued_day=int(payload.get("t") or 0))


def device_cookie(user: User, device_id: str | None, *, now: float) -> DeviceCookie:
    """Return the cookie that makes this browser known to `user` (a new device id if it had none)."""
    payload = {
        "u": user.id,
        "d": device_id or secrets.token_urlsafe(16),
        "p": _password_digest(user),
        "t": today(now),
    }
    return DeviceCookie(
        name=cookie_name(user.id),
        value=signing.dumps(payload, salt=_SALT, compress=False),
        max_age=parse_duration(guard_settings.DEVICE_COOKIE_AGE),
    )


def set_device_cookie(response: HttpResponse, cookie: DeviceCookie | None) -> None:
    """Put the device cookie on the response; it goes back only to /login/, never to scripts."""
    if cookie is None:
        return
    response.set_cookie(
        cookie.name,
        cookie.value,
        max_age=cookie.max_age,
        path="/login/",
        secure=settings.SESSION_COOKIE_SECURE,
        httponly=True,
        samesite="Lax",
    )


def device_fingerprint(browser: str | None, os: str | None, device: str | None) -> str:
    """Return what makes a user agent "the same device": browser and OS families, device type."""
    family = _VERSION_STRIP.sub("", browser or "")
    system = _VERSION_STRIP.sub("", os or "")
    return f"{family}|{system}|{device or ''}"
