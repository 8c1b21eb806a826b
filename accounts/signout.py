"""Sign a user out: record the logout while we still know who it is, then destroy the session."""

import logging

from django.db import DatabaseError, transaction
from django.http import HttpRequest

from accounts.sessions import get_authenticated_user, session_store
from accounts.signin import end_current_session
from authlog import events
from authlog.request_info import client_ip

logger = logging.getLogger(__name__)


def sign_out(request: HttpRequest) -> bool:
    """End the request's session; return whether its logout event was written.

    An anonymous sign-out writes nothing and creates no session row
    (CVE-2015-5963). If the database is down the cookie is still dropped, and
    the event goes to the event stream at ERROR level instead of being lost.
    """
    ip_address = client_ip(request)
    try:
        with transaction.atomic():
            end_current_session(request, ip_address=ip_address)
        return True
    except DatabaseError as error:
        logger.error("sign-out could not be recorded: %s", type(error).__name__)
        user = get_authenticated_user(request)
        if user is not None:
            events.unrecorded_logout(user.id, user.username, ip_address)
        # The session ends even though its event could not be written.
        try:
            request.session.flush()
        except DatabaseError:
            # An empty session makes SessionMiddleware delete the browser's cookie.
            request.session = session_store(None)
        request.auth.forget()
        return False
