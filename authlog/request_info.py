"""Read the client's address and user agent off a request, as the trail records them."""

from functools import lru_cache

from django.core.exceptions import ImproperlyConfigured
from django.http import HttpRequest

from authlog.client_ip import TrustedProxies, parse_trusted_proxies, resolve_client_ip
from authlog.conf import authlog_settings


@lru_cache(maxsize=8)
def _trusted(spec: str) -> TrustedProxies:
    try:
        return parse_trusted_proxies(spec)
    except ValueError as error:
        raise ImproperlyConfigured(f"{error}; fix TRUSTED_PROXIES.") from error


def trusted_proxies() -> TrustedProxies:
    """Return the configured trusted proxies, parsed once per distinct setting."""
    spec = authlog_settings.TRUSTED_PROXIES
    if not isinstance(spec, str):
        spec = ",".join(spec)
    return _trusted(spec)


def client_ip(request: HttpRequest) -> str | None:
    """Return the request's client IP (README, "Client IP"), or None if unknown."""
    return resolve_client_ip(
        remote_addr=request.META.get("REMOTE_ADDR"),
        forwarded_for=request.META.get("HTTP_X_FORWARDED_FOR"),
        trusted=trusted_proxies(),
        max_hops=authlog_settings.MAX_FORWARDED_HOPS,
    )


def raw_user_agent(request: HttpRequest) -> str | None:
    """Return the User-Agent header as sent; log_auth_event cleans and cuts it."""
    return request.META.get("HTTP_USER_AGENT")
