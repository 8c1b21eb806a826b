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


# The trail's tamper evidence, retention and privacy (issue 6).
MIN_CHAIN_KEY_LENGTH = 32


@register(Tags.security)
def check_chain_key(app_configs, **kwargs):
    from django.conf import settings

    from authlog.trail import DERIVED_KEY_NAME, listed_chain_keys

    listed = [k for k in listed_chain_keys(authlog_settings.CHAIN_KEYS) if k != DERIVED_KEY_NAME]
    if any(len(k) < MIN_CHAIN_KEY_LENGTH for k in listed):
        return [
            Error(
                "AUTHLOG_CHAIN_KEYS holds a key shorter than "
                f"{MIN_CHAIN_KEY_LENGTH} characters: a short key can be guessed, and whoever has it "
                "can re-forge every hash of the trail it keyed.",
                hint="Give every key at least that many random characters; keys are separated by commas.",
                id="authlog.E002",
            )
        ]
    key = authlog_settings.CHAIN_KEY
    if key and len(key) < MIN_CHAIN_KEY_LENGTH:
        return [
            Error(
                f"AUTHLOG_CHAIN_KEY has {len(key)} characters: a short key can be guessed, and "
                "whoever has it can re-forge every hash of the trail.",
                hint=f"Use at least {MIN_CHAIN_KEY_LENGTH} random characters, e.g. "
                "python -c 'import secrets; print(secrets.token_urlsafe(48))'.",
                id="authlog.E002",
            )
        ]
    if not key and not listed and not settings.DEBUG:
        return [
            Warning(
                "AUTHLOG_CHAIN_KEY is not set: the trail's hash chain is keyed by a key derived "
                "from SECRET_KEY, so rotating SECRET_KEY makes every existing entry fail "
                "`authlog verify`, and anyone who learns SECRET_KEY can re-forge the chain.",
                hint="Set AUTHLOG_CHAIN_KEY to its own random value, kept out of the database "
                "and its backups, before the first event is written.",
                id="authlog.W002",
            )
        ]
    return []


def _is_days(value) -> bool:
    return value is None or (type(value) is int and value > 0)


@register()
def check_retention(app_configs, **kwargs):
    from authlog.trail import TRAIL_KIND, default_retention_days

    errors = []
    configured = authlog_settings.RETENTION_DAYS
    if not isinstance(configured, dict):
        return [Error("AUTHLOG RETENTION_DAYS must be a dict of kind: days.", id="authlog.E003")]
    defaults = default_retention_days()
    unknown = sorted(set(configured) - set(defaults))
    if unknown:
        errors.append(
            Error(
                f"AUTHLOG RETENTION_DAYS has unknown kinds {unknown}: those settings do nothing.",
                hint=f"Known kinds: {sorted(defaults)}.",
                id="authlog.E003",
            )
        )
    merged = {**defaults, **configured}
    bad = sorted(kind for kind, days in merged.items() if not _is_days(days))
    if bad:
        errors.append(
            Error(
                f"AUTHLOG RETENTION_DAYS for {bad} must be a whole number of days above 0, or None.",
                id="authlog.E003",
            )
        )
        return errors
    trail_days = merged[TRAIL_KIND]
    longest = [days for kind, days in merged.items() if kind != TRAIL_KIND]
    if trail_days is not None and any(days is None or days > trail_days for days in longest):
        errors.append(
            Error(
                f"AUTHLOG RETENTION_DAYS['{TRAIL_KIND}'] is shorter than another kind's: the "
                "records of prunes and anonymisations would go while events they explain remain, "
                "and `authlog verify` would report those events as tampered with.",
                hint=f"Keep '{TRAIL_KIND}' at least as long as the longest other kind.",
                id="authlog.E004",
            )
        )
    if not _is_days(authlog_settings.ANONYMISE_IPS_AFTER_DAYS):
        errors.append(
            Error(
                "AUTHLOG ANONYMISE_IPS_AFTER_DAYS must be a whole number of days above 0, or None.",
                id="authlog.E005",
            )
        )
    return errors
