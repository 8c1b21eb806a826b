"""System checks for guard settings that would leave sign-in unthrottled or alerts undelivered."""

from urllib.parse import urlsplit

from django.core.checks import Error, Tags, Warning, register
from django.core.exceptions import ImproperlyConfigured

from guard.conf import guard_settings

NIST_MAX_CONSECUTIVE = 100  # NIST SP 800-63B, 5.2.2


@register(Tags.security)
def check_guard_settings(app_configs, **kwargs):
    from guard.counters import primary_counters
    from guard.policy import Kind
    from guard.throttle import backoff_memory, current_limits

    problems = []
    try:
        limits = current_limits()
        backoff_memory()
    except ImproperlyConfigured as error:
        return [Error(str(error), hint="Write rates as 5/15m, 20/1h, 100/90d.", id="guard.E001")]
    try:
        primary_counters()
    except ImproperlyConfigured as error:
        problems.append(Error(str(error), hint="Or set GUARD['COUNTERS'] = 'database'.", id="guard.E002"))
    if not guard_settings.ENABLED:
        problems.append(Warning(
            "GUARD['ENABLED'] is False: sign-in attempts are not throttled, so password guessing "
            "and spraying are unlimited.",
            hint="Remove the setting outside load tests.",
            id="guard.W001",
        ))
    if limits[Kind.ACCOUNT].rate.limit > NIST_MAX_CONSECUTIVE:
        problems.append(Warning(
            f"GUARD['ACCOUNT_RATE'] allows {limits[Kind.ACCOUNT].rate.limit} consecutive failures "
            f"on one account; NIST SP 800-63B allows at most {NIST_MAX_CONSECUTIVE}.",
            hint="Use 100/90d or lower.",
            id="guard.W002",
        ))
    url = guard_settings.WEBHOOK_URL
    if url:
        parts = urlsplit(url)
        if parts.scheme not in ("http", "https") or not parts.hostname:
            problems.append(Error(
                f"GUARD['WEBHOOK_URL'] is not an http(s) URL: {url!r}.",
                hint="Use https://host/path.",
                id="guard.E003",
            ))
        elif parts.scheme == "http" and parts.hostname not in ("127.0.0.1", "localhost", "::1"):
            problems.append(Warning(
                "GUARD['WEBHOOK_URL'] is plain http: alerts (names, addresses) cross the network "
                "unencrypted and can be forged without WEBHOOK_SECRET.",
                hint="Use https, and set WEBHOOK_SECRET.",
                id="guard.W003",
            ))
    if guard_settings.DELIVERY not in ("thread", "inline"):
        problems.append(Error(
            f"GUARD['DELIVERY'] is {guard_settings.DELIVERY!r}.",
            hint="Use 'thread' (the default) or 'inline'.",
            id="guard.E004",
        ))
    return problems
