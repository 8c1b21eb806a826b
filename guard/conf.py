"""Settings of the guard app: `settings.GUARD = {NAME: value}` overrides a default.

Rates are written "N/window", the window a number and a unit (s, m, h, d):
"5/15m" is at most 5 failed sign-ins in any 15 minutes.
"""

from functools import lru_cache
from typing import Any

from django.core.signals import setting_changed
from django.dispatch import receiver

from config.appsettings import AppSettings, Default

DEFAULTS = {
    "ENABLED": Default(
        True, "Off only for load tests of other parts; a system check warns when it is off."
    ),
    "PAIR_RATE": Default(
        "5/15m",
        "One name from one network: a person who forgot their password gets five tries, "
        "a guesser gets 480 a day before backoff (OWASP, django-axes' default of 3-5).",
    ),
    "USERNAME_RATE": Default(
        "20/1h",
        "One name from all networks: stops a botnet that stays under the pair limit "
        "(Keycloak's default is 30 failures; ours is per hour, with backoff).",
    ),
    "IP_RATE": Default(
        "50/1h",
        "One network over all names (password spraying, credential stuffing); high enough "
        "for an office or school behind one NAT address.",
    ),
    "ACCOUNT_RATE": Default(
        "100/90d",
        "NIST SP 800-63B 5.2.2: at most 100 consecutive failures on one account. Counted from "
        "browsers that have not signed in to it before; reset by a successful sign-in.",
    ),
    "ACCOUNT_MEMORY": Default(
        "1d",
        "A name's consecutive failures are forgotten after this long without one. Names that "
        "match no account are counted too (else the cap would reveal which exist), and a "
        "sprayer's millions of one-off names must not be kept for 90 days; a guesser slower "
        "than this gets about one guess per ACCOUNT_MEMORY either way.",
    ),
    "DEVICE_RATE": Default(
        "5/15m",
        "A browser that has signed in before skips the name and network limits and gets "
        "this one of its own instead (OWASP device cookies): a stolen cookie stays slow.",
    ),
    "MAX_LOCKOUT": Default(
        "24h",
        "Each further lockout of a counter doubles the last one (first: the rate's window), "
        "up to this; the account cap's lockout is its own window.",
    ),
    "BACKOFF_MEMORY": Default(
        "24h", "A counter's lockouts are forgotten after this long without a new one."
    ),
    "IPV6_PREFIX": Default(
        64,
        "IPv6 clients are counted per /64: one subscriber gets a whole /64 and can rotate "
        "through it (SECURITY-CASES 21).",
    ),
    "COUNTERS": Default(
        "auto",
        "'database', 'redis', or 'auto': Redis when REDIS_CACHE is a RedisCache backend "
        "(REDIS_URL set), else the database. Never per-process memory.",
    ),
    "REDIS_CACHE": Default(
        "default", "The Django cache alias whose RedisCache backend holds the counters."
    ),
    "REDIS_RETRY_AFTER": Default(
        30,
        "Seconds to count in the database after Redis failed before trying Redis again, so "
        "an outage costs one timeout per process, not one per sign-in.",
    ),
    "DEVICE_COOKIE_PREFIX": Default(
        "device_", "Name prefix of the per-account device cookies (path /login/ only)."
    ),
    "DEVICE_COOKIE_AGE": Default(
        "365d", "How long a browser stays known after its last successful sign-in."
    ),
    "ALERT_ACCOUNT_FAILURES": Default(
        10, "Failures on one account within USERNAME_RATE's window that raise 'brute force'."
    ),
    "ALERT_ACCOUNT_NETWORKS": Default(
        10, "Networks failing on one account within USERNAME_RATE's window (distributed attack)."
    ),
    "ALERT_NETWORK_USERNAMES": Default(
        10, "Names one network fails on within IP_RATE's window (spraying, stuffing)."
    ),
    "ALERT_FAILURES_BEFORE_SUCCESS": Default(
        5, "Failures on an account, then a success: a guess may have worked."
    ),
    "NEW_NETWORK_PREFIX_V4": Default(
        24, "A sign-in from an IPv4 /24 the user never signed in from is a new network."
    ),
    "NEW_NETWORK_PREFIX_V6": Default(48, "The same for IPv6: a site's usual allocation."),
    "EMAIL_ADMINS": Default(
        True, "Mail each new alert to settings.ADMINS through Django's mail_admins()."
    ),
    "EMAIL_USERS": Default(
        True,
        "Mail the user on a sign-in from a new device, a lockout of their account, and a "
        "success after many failures (if the account has an e-mail address).",
    ),
    "WEBHOOK_URL": Default(
        "", "POST each new alert as JSON here (empty: no webhook). Only http(s) URLs."
    ),
    "WEBHOOK_SECRET": Default(
        "", "If set, each POST carries X-Guard-Signature: sha256=HMAC(secret, body)."
    ),
    "WEBHOOK_TIMEOUT": Default(
        3.0, "Seconds before a webhook POST is abandoned (it never delays a sign-in)."
    ),
    "DELIVERY": Default(
        "thread",
        "'thread': mail and webhooks go out from one background thread per process, so a "
        "slow mail server cannot slow a sign-in; 'inline': in the request (tests).",
    ),
    "DELIVERY_QUEUE": Default(
        1000, "Deliveries waiting beyond this are dropped with an error in the log."
    ),
}

_declared = AppSettings("GUARD", DEFAULTS)


@lru_cache(maxsize=1)
def _snapshot() -> dict[str, Any]:
    # Read (and checked for unknown names) once, not on each of the ~20 reads a sign-in makes.
    return {name: getattr(_declared, name) for name in DEFAULTS}


@receiver(setting_changed)
def _settings_changed(*, setting: str, **kwargs) -> None:
    if setting == "GUARD":
        _snapshot.cache_clear()


class _GuardSettings:
    """`guard_settings.NAME`: the override in settings.GUARD, else the declared default."""

    def __getattr__(self, name: str) -> Any:
        values = _snapshot()
        if name not in values:
            raise AttributeError(f"GUARD has no setting {name!r}")
        return values[name]


guard_settings = _GuardSettings()
