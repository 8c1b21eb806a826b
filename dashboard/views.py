"""Views parse the query string, call one function of pages.py (or one service), and render.

Every dashboard view is admin-only (anonymous: to the sign-in page; others:
403), never cached by the browser, and only reads on GET/HEAD; every action
is a CSRF-protected POST that redirects (SECURITY-CASES 48, 26).
"""

from http import HTTPStatus
from urllib.parse import urlencode

from django.http import (
    Http404,
    HttpRequest,
    HttpResponse,
    HttpResponseRedirect,
    StreamingHttpResponse,
)
from django.shortcuts import render
from django.utils import timezone
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts import sessions_admin
from accounts import store as accounts_store
from accounts.decorators import admin_required, login_required
from accounts.sessions import get_authenticated_user
from authlog.client_ip import parse_address
from authlog.export import csv_value_chunks, json_value_chunks
from authlog.filters import DEVICES, FilterError
from authlog.history import iter_record_values, timeline_page
from authlog.request_info import client_ip, raw_user_agent
from authlog.trail import trail_status
from dashboard import labels, pages
from dashboard.query import (
    CHART_DAYS,
    PAGE_SIZE,
    filter_values,
    parse_chart_days,
    parse_filters,
    parse_timeline_query,
)

read_only = require_http_methods(["GET", "HEAD"])


def _filter_context(values: dict[str, str]) -> dict:
    return {
        "values": values,
        "event_types": labels.EVENT_LABELS,
        "devices": DEVICES,
        "query": urlencode(values),
    }


def _bad_request(request: HttpRequest, template: str, error: FilterError, context: dict) -> HttpResponse:
    return render(request, template, {**context, "error": str(error)}, status=HTTPStatus.BAD_REQUEST)


def _page_link(values: dict[str, str], cursor: str | None, limit: int = PAGE_SIZE) -> str | None:
    if not cursor:
        return None
    size = {"limit": str(limit)} if limit != PAGE_SIZE else {}
    return "?" + urlencode({**values, **size, "before": cursor})


def _ended_count(request: HttpRequest) -> int | None:
    # The count shown after ending sessions: a number, or nothing at all.
    text = request.GET.get("ended", "")
    return int(text) if text.isascii() and text.isdigit() and len(text) <= 6 else None


@admin_required
@never_cache
@read_only
def timeline_view(request: HttpRequest) -> HttpResponse:
    values = filter_values(request.GET)
    context = {**_filter_context(values), "section": "timeline"}
    try:
        query = parse_timeline_query(request.GET)
    except FilterError as error:
        return _bad_request(request, "dashboard/timeline.html", error, context)
    page = timeline_page(event_filter=query.event_filter, before=query.before, limit=query.limit)
    return render(request, "dashboard/timeline.html", {
        **context,
        "page": page,
        "is_first_page": query.before is None,
        "next_link": _page_link(values, page.next_cursor, query.limit),
        "summary": pages.summary(now=timezone.now()) if query.before is None else None,
        # The audit trail's own health (issue 6), on the first page only.
        "trail_status": trail_status() if query.before is None else None,
    })


def _export_events(request: HttpRequest):
    # Same filters as the timeline (not its cursor or page size): the whole selection.
    return iter_record_values(event_filter=parse_filters(filter_values(request.GET)))


def _export_response(chunks, content_type: str, extension: str) -> HttpResponse:
    response = StreamingHttpResponse(chunks, content_type=content_type)
    stamp = timezone.now().strftime("%Y%m%dT%H%M%SZ")
    response["Content-Disposition"] = f'attachment; filename="authtrail-events-{stamp}.{extension}"'
    response["X-Content-Type-Options"] = "nosniff"
    return response


@admin_required
@never_cache
@read_only
def export_csv_view(request: HttpRequest) -> HttpResponse:
    try:
        events = _export_events(request)
    except FilterError as error:
        return HttpResponse(str(error), status=HTTPStatus.BAD_REQUEST, content_type="text/plain")
    return _export_response(csv_value_chunks(events), "text/csv; charset=utf-8", "csv")


@admin_required
@never_cache
@read_only
def export_json_view(request: HttpRequest) -> HttpResponse:
    try:
        events = _export_events(request)
    except FilterError as error:
        return HttpResponse(str(error), status=HTTPStatus.BAD_REQUEST, content_type="text/plain")
    return _export_response(json_value_chunks(events), "application/json", "json")


@admin_required
@never_cache
@read_only
def charts_view(request: HttpRequest) -> HttpResponse:
    context = {"section": "charts", "day_choices": CHART_DAYS}
    try:
        days = parse_chart_days(request.GET.get("days"))
    except FilterError as error:
        return _bad_request(request, "dashboard/charts.html", error, context)
    return render(request, "dashboard/charts.html", {
        **context, "charts": pages.charts_page(days=days, now=timezone.now()),
    })


@admin_required
@never_cache
@read_only
def sessions_view(request: HttpRequest) -> HttpResponse:
    return render(request, "dashboard/sessions.html", {
        "section": "sessions", "sessions": pages.sessions_page(now=timezone.now()),
    })


@admin_required
@never_cache
@read_only
def user_view(request: HttpRequest, user_id: int) -> HttpResponse:
    context = {"section": "timeline"}
    try:
        query = parse_timeline_query(request.GET)
    except FilterError as error:
        return _bad_request(request, "dashboard/user.html", error, context)
    page = pages.user_page(user_id=user_id, before=query.before, limit=query.limit, now=timezone.now())
    if page is None:
        raise Http404("no such user")
    return render(request, "dashboard/user.html", {
        **context,
        "page": page,
        "ended": _ended_count(request),
        "next_link": _page_link({}, page.timeline.next_cursor),
    })


@admin_required
@never_cache
@read_only
def address_view(request: HttpRequest, ip: str) -> HttpResponse:
    context = {"section": "timeline"}
    address = parse_address(ip)
    try:
        if address is None:
            raise FilterError("Not an IP address: give an IPv4 or IPv6 address, e.g. 203.0.113.7")
        query = parse_timeline_query(request.GET)
    except FilterError as error:
        return _bad_request(request, "dashboard/ip.html", error, context)
    page = pages.address_page(ip_address=str(address), before=query.before, limit=query.limit)
    return render(request, "dashboard/ip.html", {
        **context, "page": page, "next_link": _page_link({}, page.timeline.next_cursor),
    })


@admin_required
@csrf_protect
@never_cache
@require_POST
def end_user_sessions_view(request: HttpRequest, user_id: int) -> HttpResponse:
    user = accounts_store.user_by_id(user_id=user_id)
    if user is None:
        raise Http404("no such user")
    ended = _end_sessions_of(request, user)
    return HttpResponseRedirect(f"/dashboard/users/{user.id}/?ended={ended}#sessions")


# --- The user's own activity page ------------------------------------------------------


@login_required
@never_cache
@read_only
def activity_view(request: HttpRequest) -> HttpResponse:
    user = get_authenticated_user(request)
    page = pages.activity_page(
        user=user, current_session_key=request.session.session_key, now=timezone.now()
    )
    return render(request, "dashboard/activity.html", {
        "page": page, "ended": _ended_count(request),
    })


@login_required
@csrf_protect
@never_cache
@require_POST
def end_own_sessions_view(request: HttpRequest) -> HttpResponse:
    # Only the signed-in user's own sessions can match: a reference of anyone
    # else's session ends nothing (IDOR), and this browser's session is kept.
    ended = _end_sessions_of(request, get_authenticated_user(request))
    return HttpResponseRedirect(f"/account/activity/?ended={ended}#sessions")


def _end_sessions_of(request: HttpRequest, user) -> int:
    """End `user`'s sessions (one, if the form names it), never the one making the request."""
    return sessions_admin.end_sessions(
        user=user,
        ip_address=client_ip(request),
        user_agent=raw_user_agent(request),
        session_ref=request.POST.get("session") or None,
        keep_session_key=request.session.session_key,
    )
