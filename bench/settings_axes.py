"""Contender "axes": django-axes on top of the plain contrib.auth contender.

AxesStandaloneBackend + AxesMiddleware with the default database handler
(AccessAttempt / AccessLog rows). AXES_FAILURE_LIMIT is set out of reach, and
the failure figure sends every attempt from a new IP (axes counts per IP by
default), so the failure path is measured and never the lockout page. Axes
logs every sign-in and failure (AXES_VERBOSE, on by default); those lines go
where ours' event stream goes (a file under bench/work/, or a NullHandler).
"""

from bench.common import event_log_handler
from bench.settings_plain import *  # noqa: F403
from bench.settings_plain import INSTALLED_APPS, LOGGING, MIDDLEWARE

INSTALLED_APPS = [*INSTALLED_APPS, "axes"]
# Axes asks for its middleware last.
MIDDLEWARE = [*MIDDLEWARE, "axes.middleware.AxesMiddleware"]
AUTHENTICATION_BACKENDS = [
    "axes.backends.AxesStandaloneBackend",
    "django.contrib.auth.backends.ModelBackend",
]
AXES_FAILURE_LIMIT = 1_000_000_000

LOGGING = {
    **LOGGING,
    "handlers": {**LOGGING["handlers"], "axes_log": event_log_handler("axes.log")},
    "loggers": {
        **LOGGING["loggers"],
        "axes": {"handlers": ["axes_log"], "level": "INFO", "propagate": False},
    },
}
