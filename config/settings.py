"""Project settings, read from the environment; every default is documented in the README.

| variable              | default                         | meaning |
|-----------------------|---------------------------------|---------|
| DJANGO_DEBUG          | 1                               | 0 for production: no debug pages, secret key required |
| DJANGO_SECRET_KEY     | a fixed dev key (DEBUG only)    | signs sessions and CSRF tokens |
| DJANGO_ALLOWED_HOSTS  | 127.0.0.1,localhost,[::1]       | comma-separated Host header allow-list |
| DATABASE_URL          | (unset: SQLite db.sqlite3)      | e.g. postgres://user@127.0.0.1:5432/app |
| REDIS_URL             | (unset: per-process memory)     | e.g. redis://127.0.0.1:6379/0 for the shared cache |
| TRUSTED_PROXIES       | (unset: trust nobody)           | IPs/CIDRs whose X-Forwarded-For is believed |
| AUTHLOG_CHAIN_KEY     | (unset: derived from the secret key) | HMAC key of the trail's hash chain |
| AUTHLOG_CHAIN_KEYS    | (unset: AUTHLOG_CHAIN_KEY only) | comma-separated chain keys, current first, then retired ones |
| DJANGO_SECURE_COOKIES | 0                               | 1 behind TLS: Secure cookies and HSTS |
| DJANGO_LOG_LEVEL      | INFO                            | level of the console log (the event stream included) |
| ADMIN_EMAILS          | (unset: alert mails go nowhere) | comma-separated addresses that receive security alerts |
| EMAIL_BACKEND         | console (mails are printed)     | e.g. django.core.mail.backends.smtp.EmailBackend, with EMAIL_HOST/EMAIL_PORT |
| GUARD_WEBHOOK_URL     | (unset: no webhook)             | each new security alert is POSTed here as JSON |
| PORT                  | 8000                            | read by the Makefile, not here |
"""

import os
from pathlib import Path

import dj_database_url
from django.core.exceptions import ImproperlyConfigured

BASE_DIR = Path(__file__).resolve().parent.parent


def env_flag(name: str, default: bool) -> bool:
    """Read a boolean environment variable written as 1/0, true/false, yes/no or on/off."""
    raw = os.environ.get(name)
    if raw is None or raw.strip() == "":
        return default
    value = raw.strip().lower()
    if value in {"1", "true", "yes", "on"}:
        return True
    if value in {"0", "false", "no", "off"}:
        return False
    raise ImproperlyConfigured(f"{name}={raw!r} is not a boolean; use 1 or 0.")


def env_list(name: str, default: str) -> list[str]:
    """Read a comma-separated environment variable into a list of non-empty items."""
    return [item.strip() for item in os.environ.get(name, default).split(",") if item.strip()]


DEBUG = env_flag("DJANGO_DEBUG", True)

SECRET_KEY = os.environ.get("DJANGO_SECRET_KEY", "")
if not SECRET_KEY:
    if not DEBUG:
        raise ImproperlyConfigured(
            "DJANGO_SECRET_KEY must be set when DJANGO_DEBUG=0; generate one with "
            "python -c 'import secrets; print(secrets.token_urlsafe(50))'."
        )
    # Only ever used with DEBUG on, where nothing secret is at stake.
    SECRET_KEY = "dev-only-insecure-key-do-not-use-in-production"

ALLOWED_HOSTS = env_list("DJANGO_ALLOWED_HOSTS", "127.0.0.1,localhost,[::1]")

INSTALLED_APPS = [
    # No django.contrib.auth: users, sign-in and sign-out are ours (accounts/).
    "whitenoise.runserver_nostatic",
    "django.contrib.sessions",
    "django.contrib.staticfiles",
    "accounts",
    "authlog",
    "dashboard",
    "guard",
]

MIDDLEWARE = [
    "django.middleware.security.SecurityMiddleware",
    "whitenoise.middleware.WhiteNoiseMiddleware",
    "django.contrib.sessions.middleware.SessionMiddleware",
    "django.middleware.common.CommonMiddleware",
    "django.middleware.csrf.CsrfViewMiddleware",
    "accounts.middleware.AuthenticationMiddleware",
    "django.middleware.clickjacking.XFrameOptionsMiddleware",
]

ROOT_URLCONF = "config.urls"
WSGI_APPLICATION = "config.wsgi.application"

TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        "DIRS": [BASE_DIR / "templates"],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "accounts.context_processors.signed_in_user",
            ],
        },
    },
]

# --- Databases -------------------------------------------------------------
# SQLite settings that make an audit trail safe under concurrent writers:
# WAL lets readers run beside the one writer; busy_timeout (ms) waits for the
# write lock instead of failing with "database is locked"; IMMEDIATE takes that
# lock at BEGIN, because a deferred read-then-write transaction gets
# SQLITE_BUSY at once, with no waiting; synchronous=FULL makes a committed
# event survive power loss, not just a process crash.
SQLITE_OPTIONS = {
    "init_command": (
        "PRAGMA journal_mode=WAL;PRAGMA synchronous=FULL;PRAGMA busy_timeout=20000"
    ),
    "transaction_mode": "IMMEDIATE",
    "timeout": 20,
}

DATABASE_URL = os.environ.get("DATABASE_URL", "").strip()
# Test databases are named per process, so two test runs on one machine
# (a developer's and CI's) never destroy each other's database.
_TEST_SUFFIX = f"{os.getpid()}"
if DATABASE_URL:
    DATABASES = {"default": dj_database_url.parse(DATABASE_URL, conn_max_age=60)}
    DATABASES["default"]["CONN_HEALTH_CHECKS"] = True
    DATABASES["default"]["TEST"] = {"NAME": f"test_{DATABASES['default']['NAME']}_{_TEST_SUFFIX}"}
else:
    DATABASES = {
        "default": {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": BASE_DIR / "db.sqlite3",
            # A file, not Django's in-memory default, so tests exercise WAL,
            # the busy timeout and several threads on one database.
            "TEST": {"NAME": BASE_DIR / f".test-db-{_TEST_SUFFIX}.sqlite3"},
        }
    }
if DATABASES["default"]["ENGINE"] == "django.db.backends.sqlite3":
    DATABASES["default"].setdefault("OPTIONS", {}).update(SQLITE_OPTIONS)

DEFAULT_AUTO_FIELD = "django.db.models.BigAutoField"

# --- Cache -----------------------------------------------------------------
REDIS_URL = os.environ.get("REDIS_URL", "").strip()
if REDIS_URL:
    CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": REDIS_URL,
            "KEY_PREFIX": "authtrail",
            "OPTIONS": {"socket_connect_timeout": 1, "socket_timeout": 1},
        }
    }
else:
    CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}

# --- Sessions, cookies, CSRF -------------------------------------------------
# Database sessions: the session row and the login event commit in one
# transaction, so a sign-in that cannot be recorded leaves no session behind.
# Django's database engine, extended to store each session's user
# (accounts/session_engine.py), so a user's sessions can be listed and ended.
SESSION_ENGINE = "accounts.session_engine"
SESSION_COOKIE_NAME = "sessionid"
SESSION_COOKIE_HTTPONLY = True
SESSION_COOKIE_SAMESITE = "Lax"
SESSION_COOKIE_AGE = 14 * 24 * 3600
CSRF_COOKIE_SAMESITE = "Lax"
CSRF_COOKIE_HTTPONLY = True
SECURE_COOKIES = env_flag("DJANGO_SECURE_COOKIES", False)
SESSION_COOKIE_SECURE = SECURE_COOKIES
CSRF_COOKIE_SECURE = SECURE_COOKIES
if SECURE_COOKIES:
    SECURE_HSTS_SECONDS = 31536000
SECURE_CONTENT_TYPE_NOSNIFF = True
SECURE_REFERRER_POLICY = "same-origin"
X_FRAME_OPTIONS = "DENY"
CSRF_FAILURE_VIEW = "accounts.views.csrf_failure"
DEFAULT_EXCEPTION_REPORTER_FILTER = "config.error_reports.CredentialMaskingFilter"

# --- Passwords ---------------------------------------------------------------
# Argon2 first: new and upgraded hashes use it; the others only verify old hashes.
PASSWORD_HASHERS = [
    "django.contrib.auth.hashers.Argon2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2PasswordHasher",
    "django.contrib.auth.hashers.PBKDF2SHA1PasswordHasher",
    "django.contrib.auth.hashers.ScryptPasswordHasher",
]
AUTH_PASSWORD_VALIDATORS = [
    {"NAME": "django.contrib.auth.password_validation.UserAttributeSimilarityValidator"},
    {"NAME": "django.contrib.auth.password_validation.MinimumLengthValidator"},
    {"NAME": "django.contrib.auth.password_validation.CommonPasswordValidator"},
    {"NAME": "django.contrib.auth.password_validation.NumericPasswordValidator"},
]

# --- The apps' own settings (defaults and reasons in accounts/conf.py, authlog/conf.py)
ACCOUNTS: dict = {}
AUTHLOG: dict = {
    "TRUSTED_PROXIES": os.environ.get("TRUSTED_PROXIES", ""),
    # The hash chain's key lives outside the database (authlog/chain.py).
    "CHAIN_KEY": os.environ.get("AUTHLOG_CHAIN_KEY", ""),
    # Rotation: the current key first, then the retired ones (README, "Rotating the chain key").
    "CHAIN_KEYS": os.environ.get("AUTHLOG_CHAIN_KEYS", ""),
}

# Throttling, lockout and alerts: defaults and reasons in guard/conf.py, policy in
# the README ("Throttling, lockout and alerts"). Counters live in Redis when
# REDIS_URL is set, else in the database.
GUARD: dict = {
    "WEBHOOK_URL": os.environ.get("GUARD_WEBHOOK_URL", ""),
    "WEBHOOK_SECRET": os.environ.get("GUARD_WEBHOOK_SECRET", ""),
}

# --- E-mail (alerts to admins, new-device notices to users) --------------------
# The console backend by default: mails are printed, never sent, until you set
# EMAIL_BACKEND=django.core.mail.backends.smtp.EmailBackend and EMAIL_HOST.
EMAIL_BACKEND = os.environ.get("EMAIL_BACKEND", "django.core.mail.backends.console.EmailBackend")
EMAIL_HOST = os.environ.get("EMAIL_HOST", "localhost")
EMAIL_PORT = int(os.environ.get("EMAIL_PORT", "25"))
EMAIL_USE_TLS = env_flag("EMAIL_USE_TLS", False)
EMAIL_TIMEOUT = 10
DEFAULT_FROM_EMAIL = os.environ.get("DEFAULT_FROM_EMAIL", "authtrail@localhost")
SERVER_EMAIL = DEFAULT_FROM_EMAIL
EMAIL_SUBJECT_PREFIX = "[authtrail] "
# Who receives alert mails (Django's mail_admins): "Name <a@example.org>, b@example.org".
ADMINS = [("", address) for address in env_list("ADMIN_EMAILS", "")]

# --- I18N, static ------------------------------------------------------------
LANGUAGE_CODE = "en"
TIME_ZONE = "UTC"
USE_I18N = False
USE_TZ = True

STATIC_URL = "static/"
STATIC_ROOT = BASE_DIR / "staticfiles"
STATICFILES_DIRS = [BASE_DIR / "static"]
STORAGES = {
    "default": {"BACKEND": "django.core.files.storage.FileSystemStorage"},
    "staticfiles": {
        "BACKEND": (
            "django.contrib.staticfiles.storage.StaticFilesStorage"
            if DEBUG
            else "whitenoise.storage.CompressedManifestStaticFilesStorage"
        )
    },
}

# --- Logging -----------------------------------------------------------------
# The authlog.events logger carries one JSON object per line (the event stream);
# point a handler at your SIEM shipper to forward it.
LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {
        "plain": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"},
        "event_line": {"format": "%(message)s"},
    },
    "handlers": {
        "console": {"class": "logging.StreamHandler", "formatter": "plain"},
        "event_stream": {"class": "logging.StreamHandler", "formatter": "event_line"},
    },
    "loggers": {
        "authlog.events": {
            "handlers": ["event_stream"],
            "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO"),
            "propagate": False,
        },
    },
    "root": {"handlers": ["console"], "level": os.environ.get("DJANGO_LOG_LEVEL", "INFO")},
}
