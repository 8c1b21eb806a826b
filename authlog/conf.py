"""Settings of the authlog app: `settings.AUTHLOG = {NAME: value}` overrides a default."""

from config.appsettings import AppSettings, Default

# Kinds of event and the days they are kept; see RETENTION_DAYS below.
DEFAULT_RETENTION_DAYS = {"login": 365, "logout": 365, "login_failed": 90, "trail": 365}

authlog_settings = AppSettings(
    "AUTHLOG",
    {
        "TRUSTED_PROXIES": Default(
            "",
            "Comma-separated IPs/CIDRs of your own reverse proxies. Empty: X-Forwarded-For "
            "is ignored and clients are told apart by REMOTE_ADDR.",
        ),
        "MAX_FORWARDED_HOPS": Default(
            20, "Only the right-most hops of X-Forwarded-For are read: a bounded parse."
        ),
        "USER_AGENT_MAX_LENGTH": Default(
            512, "Real user agents are under 300 characters; scanners send megabytes."
        ),
        "ATTEMPTED_USERNAME_MAX_LENGTH": Default(
            150, "What a failed sign-in records of the name typed, after cleaning."
        ),
        "EVENT_LOGGER": Default(
            "authlog.events", "The Python logger that carries one JSON line per event."
        ),
        # --- The trail's tamper evidence, retention and privacy (issue 6) ---------
        "CHAIN_KEY": Default(
            "",
            "HMAC key of the hash chain (env AUTHLOG_CHAIN_KEY), kept out of the database so "
            "that database write access cannot re-forge hashes. Empty: derived from SECRET_KEY, "
            "and then rotating SECRET_KEY makes every older entry fail verification.",
        ),
        "CHAIN_KEYS": Default(
            "",
            "Comma-separated chain keys (env AUTHLOG_CHAIN_KEYS), the current one first, then "
            "retired ones kept to verify the entries they hashed (README, 'Rotating the chain "
            "key'). Empty: CHAIN_KEY is the current key.",
        ),
        "RETENTION_DAYS": Default(
            DEFAULT_RETENTION_DAYS,
            "Days each kind of event is kept (None: forever); names given here replace only "
            "those defaults. Sign-ins answer 'who was in' for a year; failed attempts are mostly "
            "strangers and bots, 90 days covers an investigation; 'trail' (the prune, anonymise "
            "and erasure records) must be kept at least as long as any other kind.",
        ),
        "ANONYMISE_IPS_AFTER_DAYS": Default(
            30,
            "Full addresses are kept this long for incident response, then cut to their /24 "
            "(IPv4) or /48 (IPv6) network (None: never).",
        ),
        "PRUNE_BATCH_SIZE": Default(
            1000,
            "Rows deleted or anonymised per transaction: each batch holds the write lock for "
            "milliseconds, never for the whole run (Keycloak #20073).",
        ),
        "PRUNE_PAUSE_SECONDS": Default(
            0.05,
            "Pause between batches, so a sign-in waiting for SQLite's single write lock gets it.",
        ),
        "PRUNE_EVERY_HOURS": Default(
            24,
            "How often your scheduler runs `authlog prune --for-real`; the trail status shows "
            "the next run, and a late one as overdue.",
        ),
        "VERIFY_EVERY_HOURS": Default(
            24, "A verification older than this is shown as overdue in the trail status."
        ),
        "VERIFY_BATCH_SIZE": Default(
            5000, "Chain entries read per query by `authlog verify`: memory stays flat at any size."
        ),
    },
)
