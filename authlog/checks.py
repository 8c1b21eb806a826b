"""System checks for configurations that would make the trail lie about who connected."""

from django.core.checks import Error, Tags, Warning, register

from authlog.client_ip import parse_trusted_proxies
from authlog.conf import authlog_settings


@register(Tags.security)
def check_trusted_proxies(app_configs, **kwargs):
    spec = authlog_settings.TRUSTED_PROXIES
    try:
        trusted = parse_trusted_proxies(spec)
    except ValueError as error:
        return [Error(str(error), hint="Use comma-separated IPs or CIDRs.", id="authlog.E001")]
    too_wide = [str(n) for n in trusted.networks if n.prefixlen == 0]
    if too_wide:
        return [
            Warning(
                f"TRUSTED_PROXIES contains {too_wide}: every client may then forge "
                "X-Forwarded-For and be recorded (and throttled) as any address.",
                hint="List only your own reverse proxies.",
                id="authlog.W001",
            )
        ]
    return []
