"""Views parse the request, call one service, and render its result."""

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.debug import sensitive_post_parameters
from django.views.decorators.http import require_GET, require_http_methods, require_POST

from accounts.conf import accounts_settings
from accounts.forms import RegisterForm
from accounts.middleware import render_unavailable
from accounts.registration import register_user
from accounts.sessions import RequestAuth, get_authenticated_user
from accounts.signin import Outcome, sign_in, start_session
from accounts.signout import sign_out
from authlog.history import search_events
from authlog.store import EventFilter
from guard.devices import set_device_cookie
from guard.views import throttled_response

GENERIC_FAILURE = "Enter a correct username and password."
# Echoed back into the form at most this long: a megabyte of input is not a megabyte of page.
_ECHO_MAX = 150


def safe_next(request: HttpRequest, target: str | None) -> str:
    """Return `target` if it is a same-site URL, else the default landing page."""
    if target and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return accounts_settings.LOGIN_REDIRECT_URL


@require_GET
def home(request: HttpRequest) -> HttpResponse:
    user = get_authenticated_user(request)
    recent = []
    if user is not None:
        recent = search_events(event_filter=EventFilter(user_id=user.id), limit=5)
    return render(request, "accounts/home.html", {"user": user, "recent_events": recent})


@sensitive_post_parameters("password")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def login_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "accounts/login.html", {"next": request.GET.get("next", "")[:2000]})
    # Read the raw values: a Django form would drop a name holding NUL, and
    # such an attempt must still be recorded (the service cleans it).
    username = request.POST.get("username", "")
    password = request.POST.get("password", "")
    next_url = request.POST.get("next", "")
    if username and password:
        result = sign_in(request, username=username, password=password)
        if result.outcome is Outcome.SIGNED_IN:
            response = HttpResponseRedirect(safe_next(request, next_url))
            set_device_cookie(response, result.device_cookie)
            return response
        if result.outcome is Outcome.THROTTLED:
            return throttled_response(request, retry_after=result.retry_after)
        if result.outcome is Outcome.UNAVAILABLE:
            return render_unavailable(request)
    context = {"username": username[:_ECHO_MAX], "next": next_url[:2000], "error": GENERIC_FAILURE}
    return render(request, "accounts/login.html", context, status=HTTPStatus.OK)


@sensitive_post_parameters("password1", "password2")
@csrf_protect
@never_cache
@require_http_methods(["GET", "HEAD", "POST"])
def register_view(request: HttpRequest) -> HttpResponse:
    if request.method != "POST":
        return render(request, "accounts/register.html", {"form": RegisterForm()})
    form = RegisterForm(request.POST)
    if form.is_valid():
        registration = register_user(
            username=form.cleaned_data["username"],
            email=form.cleaned_data["email"].strip(),
            password=form.cleaned_data["password1"],
        )
        for field_name, messages in registration.errors.items():
            for message in messages:
                form.add_error(field_name, message)
        if registration.user is not None:
            start_session(request, registration.user)
            return HttpResponseRedirect(accounts_settings.LOGIN_REDIRECT_URL)
    return render(request, "accounts/register.html", {"form": form}, status=HTTPStatus.OK)


@csrf_protect
@never_cache
@require_POST
def logout_view(request: HttpRequest) -> HttpResponse:
    sign_out(request)
    response = HttpResponseRedirect(accounts_settings.LOGOUT_REDIRECT_URL)
    response["Cache-Control"] = "no-store, no-cache, must-revalidate, private, max-age=0"
    return response


def csrf_failure(request: HttpRequest, reason: str = "") -> HttpResponse:
    # Deliberately not a sign-in attempt: a victim's browser, made to post by
    # another site, must not count against (or lock) their account.
    return render(request, "error.html", _error("Your form expired or came from another site.",
                  "Reload the page and try again."), status=HTTPStatus.FORBIDDEN)


def _error(title: str, detail: str) -> dict:
    return {"title": title, "detail": detail}


def bad_request(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "error.html", _error("Bad request", "The request could not be read."),
                  status=HTTPStatus.BAD_REQUEST)


def permission_denied(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "error.html", _error("Forbidden", "You may not open this page."),
                  status=HTTPStatus.FORBIDDEN)


def page_not_found(request: HttpRequest, exception: Exception | None = None) -> HttpResponse:
    return render(request, "error.html", _error("Not found", "There is no page here."),
                  status=HTTPStatus.NOT_FOUND)


def server_error(request: HttpRequest) -> HttpResponse:
    # The error may be the database itself: render without reading the user.
    request.auth = RequestAuth.anonymous(request)
    return render(request, "error.html", _error("Something went wrong",
                  "The error has been logged."), status=HTTPStatus.INTERNAL_SERVER_ERROR)
