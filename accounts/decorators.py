"""View decorators that require a signed-in user."""

from functools import wraps
from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import HttpResponseRedirect

from accounts.sessions import get_authenticated_user


def _redirect_to_login(request):
    return HttpResponseRedirect("/login/?" + urlencode({"next": request.get_full_path()}))


def login_required(view):
    """Send anonymous visitors to the sign-in page, with `next` set to where they were going."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        if get_authenticated_user(request) is None:
            return _redirect_to_login(request)
        return view(request, *args, **kwargs)

    return wrapped


def admin_required(view):
    """Like login_required, and answer 403 to signed-in users who are not admins."""

    @wraps(view)
    def wrapped(request, *args, **kwargs):
        user = get_authenticated_user(request)
        if user is None:
            return _redirect_to_login(request)
        if not user.is_admin:
            raise PermissionDenied
        return view(request, *args, **kwargs)

    return wrapped
