"""The 429 page of a throttled sign-in, and the alert pages of the dashboard (admins only).

Views parse, call one function of guard.operations, and render or redirect.
Every page is never cached; every action is a CSRF-protected POST that
redirects back (SECURITY-CASES 26, 48).
"""

import math
from dataclasses import dataclass
from datetime import UTC, datetime
from http import HTTPStatus
from urllib.parse import urlencode

from django.http import Http404, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import render
from django.template import TemplateDoesNotExist
from django.template.loader import select_template
from django.views.decorators.cache import never_cache
from django.views.decorators.csrf import csrf_protect
from django.views.decorators.http import require_http_methods, require_POST

from accounts.decorators import admin_required
from accounts.sessions import get_authenticated_user
from authlog.request_info import client_ip
from guard import operations, store, throttle
from guard.rules import TITLES, Rule

ALERTS_URL = "/dashboard/alerts/"
# The dashboard's layout (its sub-navigation) when that app is installed; ours otherwise.
LAYOUTS = ["dashboard/_layout.html", "guard/_layout.html"]
# What each counter kind holds back, as the "Locked now" table says it.
KIND_LABELS = {
    "pair": "This name from this network",
    "username": "This name from every network",
    "ip": "Every name from this network",
    "account": "This account from unknown browsers",
    "device": "This account from one known browser",
}
_NOTICES = {
    "acknowledged": "Alert acknowledged.",
    "unlocked": "Unlocked: its failure counters are cleared.",
}


@dataclass(frozen=True)
class LockRow:
    """A locked counter as the "Locked now" table shows it."""

    throttle: operations.Throttle
    holds_back: str
    wait: str


@dataclass(frozen=True)
class AlertRow:
    """An alert as a table row shows it."""

    alert: store.Alert
    title: str
    evidence: list[tuple[str, str]]
    unlockable: bool


# Evidence keys that read badly when merely capitalised.
_EVIDENCE_LABELS = {
    "sample_ips": "Sample IPs",
    "window_seconds": "Window",
    "ip_address": "IP address",
    # The counter kinds the raising attempt locked; locks after it do not update an open alert.
    "locked": "Locked when raised",
}


def evidence_items(evidence: dict) -> list[tuple[str, str]]:
    """Return an alert's evidence as (label, text) pairs, in a stable order."""
    items = []
    for key in sorted(evidence):
        value = evidence[key]
        if isinstance(value, bool):
            text = "yes" if value else "no"
        elif key == "locked" and isinstance(value, list):
            text = "; ".join(KIND_LABELS.get(str(kind), str(kind)) for kind in value) or "no"
        elif isinstance(value, list | tuple):
            text = ", ".join(str(v) for v in value) or "—"
        elif value is None:
            text = "—"
        elif key == "window_seconds" and isinstance(value, int):
            text = describe_wait(value)
        else:
            text = str(value)
        items.append((_EVIDENCE_LABELS.get(key, key.replace("_", " ").capitalize()), text))
    return items


def _rows(alerts: list[store.Alert]) -> list[AlertRow]:
    return [
        AlertRow(
            alert=alert,
            title=TITLES.get(alert.rule, alert.rule),
            evidence=evidence_items(alert.evidence),
            # A new device is no lockout: there is nothing to unlock.
            unlockable=alert.rule != Rule.NEW_SIGN_IN_SOURCE,
        )
        for alert in alerts
    ]


def describe_wait(seconds: int) -> str:
    """Return a wait as a person says it: "1 minute", "15 minutes", "2 hours", "3 days"."""
    for unit, size in (("day", 86400), ("hour", 3600), ("minute", 60)):
        if seconds >= size * (2 if unit != "minute" else 1):
            count = math.ceil(seconds / size)
            return f"{count} {unit}{'s' if count != 1 else ''}"
    return f"{max(1, seconds)} second{'s' if seconds > 1 else ''}"


def throttled_response(request: HttpRequest, *, retry_after: int) -> HttpResponse:
    """Answer a throttled sign-in: 429, Retry-After with the time left, and a page saying when.

    The same for every name, real or not (SECURITY-CASES 31, 33): nothing on
    it depends on the account, only on how long the lockout still lasts.
    """
    until = datetime.fromtimestamp(throttle.clock() + retry_after, UTC)
    context = {"wait": describe_wait(retry_after), "until": until}
    response = render(request, "guard/throttled.html", context, status=HTTPStatus.TOO_MANY_REQUESTS)
    # The time remaining, not the whole cool-off (a published django-axes bug).
    response["Retry-After"] = str(retry_after)
    return response


def _actor(request: HttpRequest) -> operations.Actor:
    user = get_authenticated_user(request)
    return operations.Actor(user_id=user.id, label=user.username, ip_address=client_ip(request))


def _layout() -> str:
    try:
        return select_template(LAYOUTS).template.name
    except TemplateDoesNotExist:  # pragma: no cover - guard/_layout.html ships with the app
        return "base.html"


@admin_required
@never_cache
@require_http_methods(["GET", "HEAD"])
def alerts_view(request: HttpRequest) -> HttpResponse:
    overview = operations.alerts_overview()
    context = {
        "layout": _layout(),
        "section": "alerts",
        "open_rows": _rows(overview.open_alerts),
        "open_count": overview.open_count,
        "recent_rows": _rows(overview.recent),
        "locks": [
            LockRow(throttle=lock, holds_back=KIND_LABELS.get(lock.kind, lock.kind),
                    wait=describe_wait(lock.retry_after))
            for lock in overview.locks
        ],
        "actions": overview.actions,
        "notice": _NOTICES.get(request.GET.get("done", "")),
        "error": overview.locks_error,
    }
    return render(request, "guard/alerts.html", context)


def _back(done: str) -> HttpResponseRedirect:
    return HttpResponseRedirect(f"{ALERTS_URL}?{urlencode({'done': done})}")


@admin_required
@csrf_protect
@never_cache
@require_POST
def acknowledge_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    if store.alert_by_id(alert_id=alert_id) is None:
        raise Http404
    operations.acknowledge(alert_ids=[alert_id], actor=_actor(request))
    return _back("acknowledged")


@admin_required
@csrf_protect
@never_cache
@require_POST
def unlock_alert_view(request: HttpRequest, alert_id: int) -> HttpResponse:
    try:
        operations.unlock_alert_subject(alert_id=alert_id, actor=_actor(request))
    except operations.OperationError as problem:
        if store.alert_by_id(alert_id=alert_id) is None:
            raise Http404 from None
        return _failed(request, str(problem))
    return _back("unlocked")


@admin_required
@csrf_protect
@never_cache
@require_POST
def unlock_view(request: HttpRequest) -> HttpResponse:
    scope, ref = request.POST.get("scope", ""), request.POST.get("ref", "")
    try:
        operations.unlock(scope=scope, ref=ref, actor=_actor(request))
    except operations.OperationError as problem:
        return _failed(request, str(problem))
    return _back("unlocked")


def _failed(request: HttpRequest, message: str) -> HttpResponse:
    return render(
        request,
        "error.html",
        {"title": "Not done", "detail": message},
        status=HTTPStatus.BAD_REQUEST,
    )
