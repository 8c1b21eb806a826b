"""Deliver new alerts: mail to the admins and (for some rules) to the user, and an optional webhook.

Delivery never blocks or breaks a sign-in: with DELIVERY='thread' each job
goes to one background thread per process through a bounded queue (a full
queue drops the job with an error in the log), and every failure is logged,
never raised. Known limit: jobs still queued when the process exits are lost;
the alert itself is a committed row, shown on the dashboard regardless.
"""

import hashlib
import hmac
import json
import logging
import queue
import threading
import urllib.request
from collections.abc import Callable
from urllib.parse import urlsplit

from django.conf import settings
from django.core.mail import mail_admins, send_mail

from accounts import store as accounts_store
from guard.conf import guard_settings
from guard.rules import TITLES, Rule
from guard.store import Alert

logger = logging.getLogger("guard.delivery")

_queue: queue.Queue | None = None
_queue_lock = threading.Lock()

USER_MESSAGES = {
    Rule.NEW_SIGN_IN_SOURCE: (
        "New sign-in to your account",
        "Your account {username} was just signed in to from a device it had not used before "
        "({detail}).\n\nIf this was you, there is nothing to do. If it was not, change your "
        "password now and tell your administrator.",
    ),
    Rule.ACCOUNT_BRUTE_FORCE: (
        "Failed sign-ins on your account",
        "Someone has been trying to sign in to your account {username} with wrong passwords "
        "({detail}).\n\nBrowsers you have signed in with before can still sign in. If you "
        "cannot, ask your administrator to unlock the account.",
    ),
    Rule.SUCCESS_AFTER_FAILURES: (
        "Sign-in after failed attempts",
        "Your account {username} was signed in to right after several failed attempts "
        "({detail}).\n\nIf this was not you, change your password now and tell your "
        "administrator.",
    ),
}


def alert_payload(alert: Alert) -> dict:
    """Return the alert as the webhook sends it (no secret: labels are names, pseudonyms, IPs)."""
    return {
        "id": alert.id,
        "rule": alert.rule,
        "title": TITLES.get(alert.rule, alert.rule),
        "severity": alert.severity,
        "subject_type": alert.subject_type,
        "subject": alert.subject_label,
        "user_id": alert.user_id,
        "evidence": alert.evidence,
        "status": alert.status,
        "created_at": alert.created_at.isoformat().replace("+00:00", "Z") if alert.created_at else None,
    }


def _detail(alert: Alert) -> str:
    evidence = alert.evidence
    parts = [f"{key.replace('_', ' ')}: {evidence[key]}" for key in sorted(evidence)
             if key in {"failures", "networks", "usernames", "failures_before", "new", "window_seconds"}]
    return "; ".join(parts)


def _mail_admins(alert: Alert) -> None:
    title = TITLES.get(alert.rule, alert.rule)
    body = json.dumps(alert_payload(alert), indent=2, sort_keys=True)
    mail_admins(
        f"{alert.severity.upper()} {title}: {alert.subject_label}",
        f"{title}\n\nOpen alerts: /dashboard/alerts/\n\n{body}\n",
        fail_silently=False,
    )


def _mail_user(alert: Alert, *, username: str, email: str) -> None:
    subject, text = USER_MESSAGES[alert.rule]
    send_mail(
        settings.EMAIL_SUBJECT_PREFIX + subject,
        text.format(username=username, detail=_detail(alert)),
        None,
        [email],
        fail_silently=False,
    )


class _NoRedirects(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None  # a redirect is an error: the alert goes only where it was configured to go


def post_webhook(url: str, payload: dict, *, secret: str, timeout: float) -> int:
    """POST `payload` as JSON to `url`; return the HTTP status (an error status raises)."""
    if urlsplit(url).scheme not in ("http", "https"):
        raise ValueError("the webhook URL must be http or https")
    body = json.dumps(payload, sort_keys=True, separators=(",", ":")).encode()
    headers = {"Content-Type": "application/json", "User-Agent": "authtrail-guard/1"}
    if secret:
        digest = hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()
        headers["X-Guard-Signature"] = f"sha256={digest}"
    request = urllib.request.Request(url, data=body, headers=headers, method="POST")
    opener = urllib.request.build_opener(_NoRedirects)
    with opener.open(request, timeout=timeout) as response:
        return response.status


def _webhook(alert: Alert) -> None:
    post_webhook(
        guard_settings.WEBHOOK_URL,
        alert_payload(alert),
        secret=guard_settings.WEBHOOK_SECRET,
        timeout=float(guard_settings.WEBHOOK_TIMEOUT),
    )


def _run(name: str, job: Callable[[], None]) -> None:
    try:
        job()
    except Exception as error:  # noqa: BLE001 - a delivery failure is logged, never raised
        logger.error("guard: alert delivery by %s failed: %s", name, type(error).__name__)


def _worker(jobs: queue.Queue) -> None:
    while True:
        name, job = jobs.get()
        try:
            _run(name, job)
        finally:
            jobs.task_done()


def _jobs() -> queue.Queue:
    global _queue
    with _queue_lock:
        if _queue is None:
            _queue = queue.Queue(maxsize=int(guard_settings.DELIVERY_QUEUE))
            threading.Thread(target=_worker, args=(_queue,), name="guard-delivery", daemon=True).start()
        return _queue


def submit(name: str, job: Callable[[], None]) -> None:
    """Run a delivery job now (DELIVERY='inline') or on the delivery thread; never raise."""
    if guard_settings.DELIVERY == "inline":
        _run(name, job)
        return
    try:
        _jobs().put_nowait((name, job))
    except queue.Full:
        logger.error("guard: alert delivery queue is full; %s delivery dropped", name)


def wait_for_deliveries() -> None:
    """Block until every queued delivery has run (tests, and commands before they exit)."""
    if _queue is not None:
        _queue.join()


def deliver_alert(alert: Alert, *, notify_user: bool) -> None:
    """Send a new alert wherever it is configured to go."""
    if guard_settings.EMAIL_ADMINS and settings.ADMINS:
        submit("mail to admins", lambda: _mail_admins(alert))
    if notify_user and guard_settings.EMAIL_USERS and alert.user_id and alert.rule in USER_MESSAGES:
        # Read here, not on the delivery thread: that thread never touches the database.
        user = accounts_store.user_by_id(user_id=alert.user_id)
        if user is not None and user.email:
            username, email = user.username, user.email
            submit("mail to user", lambda: _mail_user(alert, username=username, email=email))
    if guard_settings.WEBHOOK_URL:
        submit("webhook", lambda: _webhook(alert))
