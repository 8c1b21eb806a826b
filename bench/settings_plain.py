"""Contender "plain": django.contrib.auth's LoginView and LogoutView, a User in auth_user, no auditing.

Everything that is not about authentication is the project's own setting
(config.settings), so the comparison isolates the authentication system:
the same middleware stack with contrib.auth's AuthenticationMiddleware in
place of ours, database sessions (Django's stock engine) with the same
cookie settings, the same
SQLite PRAGMAs, the same base template, the same hasher, DEBUG off.
"""

from bench.common import BENCH_DIR, FAST_HASHER, bench_database, event_log_handler
from config import settings as project
from config.settings import *  # noqa: F403

DEBUG = False
ALLOWED_HOSTS = [*project.ALLOWED_HOSTS, "testserver"]

_OURS = ("accounts", "authlog", "guard", "dashboard")
INSTALLED_APPS = [
    "django.contrib.contenttypes",
    "django.contrib.auth",
    *(app for app in project.INSTALLED_APPS if app not in _OURS),
]
_OUR_MIDDLEWARE = "accounts.middleware.AuthenticationMiddleware"
if _OUR_MIDDLEWARE not in project.MIDDLEWARE:
    raise RuntimeError(f"{_OUR_MIDDLEWARE} is gone from config.settings; update bench/settings_plain.py")
MIDDLEWARE = [
    "django.contrib.auth.middleware.AuthenticationMiddleware" if name == _OUR_MIDDLEWARE else name
    for name in project.MIDDLEWARE
]
AUTHENTICATION_BACKENDS = ["django.contrib.auth.backends.ModelBackend"]

ROOT_URLCONF = "bench.peer_site"
TEMPLATES = [
    {
        "BACKEND": "django.template.backends.django.DjangoTemplates",
        # bench/templates/registration/login.html renders the project's own
        # accounts/login.html (on its base.html) with contrib.auth's form.
        "DIRS": [
            BENCH_DIR / "templates",
            project.BASE_DIR / "templates",
            project.BASE_DIR / "accounts" / "templates",
        ],
        "APP_DIRS": True,
        "OPTIONS": {
            "context_processors": [
                "django.template.context_processors.request",
                "django.template.context_processors.csrf",
                "django.contrib.auth.context_processors.auth",
                "bench.peer_site.signed_in_user",
            ],
        },
    },
]

DATABASES = {"default": bench_database()}
# Django's stock database sessions: what a contrib.auth site runs. (Ours runs
# the project's SESSION_ENGINE, database-backed too.)
SESSION_ENGINE = "django.contrib.sessions.backends.db"
PASSWORD_HASHERS = [FAST_HASHER]
LOGIN_URL = "/login/"
LOGIN_REDIRECT_URL = "/"
LOGOUT_REDIRECT_URL = "/login/"
CSRF_FAILURE_VIEW = "django.views.csrf.csrf_failure"
ACCOUNTS: dict = {}
AUTHLOG: dict = {}

LOGGING = {
    "version": 1,
    "disable_existing_loggers": False,
    "formatters": {"event_line": {"format": "%(asctime)s %(levelname)s %(name)s %(message)s"}},
    "handlers": {"peer_log": event_log_handler("plain.log")},
    "loggers": {"django.contrib.auth": {"handlers": ["peer_log"], "level": "INFO", "propagate": False}},
}
