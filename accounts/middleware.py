"""Put the authentication state on the request, and answer 503 when the database is gone."""

import logging

from django.db import DatabaseError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.sessions import RequestAuth

logger = logging.getLogger(__name__)


class AuthenticationMiddleware:
    """Set request.auth, whose `user` is read from the session on first use."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        request.auth = RequestAuth(request)
        return self.get_response(request)

    def process_exception(self, request: HttpRequest, exception: Exception) -> HttpResponse | None:
        # A database outage is a 503 with a page saying so, not a 500 with a traceback.
        if isinstance(exception, DatabaseError):
            logger.error("database unavailable: %s", type(exception).__name__)
            return render_unavailable(request)
        return None


def render_unavailable(request: HttpRequest) -> HttpResponse:
    """Answer 503 with a page that needs no database (so it renders during an outage)."""
    request.auth = RequestAuth.anonymous(request)
    response = render(request, "503.html", status=503)
    response["Retry-After"] = "30"
    return response
