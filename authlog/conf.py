"""Settings of the authlog app: `settings.AUTHLOG = {NAME: value}` overrides a default."""

from config.appsettings import AppSettings, Default

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
    },
)
