"""Settings of the accounts app: `settings.ACCOUNTS = {NAME: value}` overrides a default."""

from config.appsettings import AppSettings, Default

accounts_settings = AppSettings(
    "ACCOUNTS",
    {
        "USERNAME_MAX_LENGTH": Default(
            150, "Django's own limit; long enough for e-mail-like names."
        ),
        "USERNAME_INPUT_MAX_LENGTH": Default(
            256,
            "Raw input longer than this is refused before NFKC normalisation, whose cost "
            "grows with the input (CVE-2023-46695).",
        ),
        "EMAIL_MAX_LENGTH": Default(254, "RFC 5321's limit on a forward path."),
        "PASSWORD_MAX_LENGTH": Default(
            1024,
            "Longer passwords are never hashed: bounded hashing time (CVE-2013-1443). "
            "Generous for passphrases and password managers.",
        ),
        "LOGIN_REDIRECT_URL": Default("/", "Where a sign-in without a safe `next` lands."),
        "LOGOUT_REDIRECT_URL": Default("/login/", "Where a sign-out lands."),
    },
)
