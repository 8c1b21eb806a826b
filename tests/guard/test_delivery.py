"""Alert delivery: mail and webhook go out once per alert, and a failed delivery never touches a sign-in."""

import hashlib
import hmac
import json
import logging
import threading
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.mail.backends.base import BaseEmailBackend

from guard import delivery
from tests.guard.conftest import post_login

pytestmark = pytest.mark.django_db


class Receiver:
    """A local webhook endpoint: records each POST; can answer an error or hold the answer back."""

    def __init__(self) -> None:
        self.received: list[tuple[dict, dict]] = []
        self.status = 204
        self.release = threading.Event()
        self.release.set()
        self.got_one = threading.Event()
        receiver = self

        class Handler(BaseHTTPRequestHandler):
            def do_POST(self):  # noqa: N802 (http.server's name)
                body = self.rfile.read(int(self.headers["Content-Length"]))
                receiver.received.append((dict(self.headers), json.loads(body)))
                receiver.raw = body
                receiver.got_one.set()
                receiver.release.wait(10)
                self.send_response(receiver.status)
                self.end_headers()

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}/hook"
        threading.Thread(target=self.server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()

    def close(self) -> None:
        self.release.set()
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def receiver():
    hook = Receiver()
    yield hook
    hook.close()


@pytest.fixture(autouse=True)
def _commit_each_request(django_capture_on_commit_callbacks, monkeypatch):
    from django.test import Client

    real_request = Client.request

    def request(self, **kwargs):
        with django_capture_on_commit_callbacks(execute=True):
            return real_request(self, **kwargs)

    monkeypatch.setattr(Client, "request", request)


def spray(client_from_ip, count: int = 12, ip: str = "198.51.100.66"):
    """Fail on `count` names from one address: one 'network_many_usernames' alert."""
    client = client_from_ip(ip)
    return [post_login(client, f"victim{n}").status_code for n in range(count)]


def test_the_webhook_gets_one_signed_json_post_per_alert(receiver, guard_settings, client_from_ip, clock):
    guard_settings(WEBHOOK_URL=receiver.url, WEBHOOK_SECRET="s3cret", DELIVERY="inline")
    spray(client_from_ip, 30)
    [(headers, payload)] = receiver.received
    assert headers["Content-Type"] == "application/json"
    expected = hmac.new(b"s3cret", receiver.raw, hashlib.sha256).hexdigest()
    assert headers["X-Guard-Signature"] == f"sha256={expected}"
    assert payload["rule"] == "network_many_usernames"
    assert payload["severity"] == "high"
    assert payload["subject"] == "198.51.100.66"
    assert payload["evidence"]["usernames"] == 10
    assert payload["created_at"].endswith("Z")


@pytest.mark.parametrize("problem", ["error_status", "unreachable", "timeout"])
def test_a_failing_webhook_never_breaks_sign_in(problem, receiver, guard_settings, client_from_ip, clock, caplog):
    url = receiver.url
    if problem == "error_status":
        receiver.status = 500
    elif problem == "unreachable":
        url = "http://127.0.0.1:9/hook"
    else:
        receiver.release.clear()  # holds the answer past the timeout
    guard_settings(WEBHOOK_URL=url, WEBHOOK_TIMEOUT=0.2, DELIVERY="inline")
    with caplog.at_level(logging.ERROR, logger="guard.delivery"):
        statuses = spray(client_from_ip)
    assert statuses == [HTTPStatus.OK] * 12
    assert any("delivery by webhook failed" in r.getMessage() for r in caplog.records)


def test_a_slow_webhook_does_not_hold_up_the_sign_in(receiver, guard_settings, client_from_ip, clock):
    """DELIVERY='thread': the request returns while the webhook is still waiting for its answer."""
    guard_settings(WEBHOOK_URL=receiver.url, DELIVERY="thread")
    receiver.release.clear()
    assert spray(client_from_ip) == [HTTPStatus.OK] * 12
    assert receiver.got_one.wait(10), "the webhook was called"
    assert not receiver.release.is_set(), "and every sign-in answered before it finished"
    receiver.release.set()
    delivery.wait_for_deliveries()
    assert len(receiver.received) == 1


class BrokenMailBackend(BaseEmailBackend):
    def send_messages(self, email_messages):
        raise ConnectionRefusedError("no mail server")


def test_a_broken_mail_server_never_breaks_sign_in(settings, guard_settings, make_user, client_from_ip, clock, caplog):
    settings.EMAIL_BACKEND = "tests.guard.test_delivery.BrokenMailBackend"
    settings.ADMINS = [("", "security@example.org")]
    guard_settings(DELIVERY="inline")
    make_user("alice", email="alice@example.org")
    with caplog.at_level(logging.ERROR, logger="guard.delivery"):
        statuses = [post_login(client_from_ip(f"203.0.113.{n}"), "alice").status_code for n in range(1, 12)]
    assert statuses == [HTTPStatus.OK] * 11
    failed = [r.getMessage() for r in caplog.records if "delivery" in r.getMessage()]
    assert "guard: alert delivery by mail to admins failed: ConnectionRefusedError" in failed
    assert "guard: alert delivery by mail to user failed: ConnectionRefusedError" in failed


def test_a_full_delivery_queue_drops_with_an_error(guard_settings, monkeypatch, caplog):
    import queue

    guard_settings(DELIVERY="thread")
    full = queue.Queue(maxsize=1)
    full.put_nowait(("x", lambda: None))
    monkeypatch.setattr(delivery, "_jobs", lambda: full)
    with caplog.at_level(logging.ERROR, logger="guard.delivery"):
        delivery.submit("webhook", lambda: None)
    assert "queue is full; webhook delivery dropped" in caplog.text


def test_post_webhook_refuses_other_schemes_and_redirects(receiver):
    with pytest.raises(ValueError):
        delivery.post_webhook("file:///etc/passwd", {}, secret="", timeout=1)
    receiver.status = 302
    with pytest.raises(Exception):  # noqa: B017 - urllib's HTTPError for an unfollowed redirect
        delivery.post_webhook(receiver.url, {"a": 1}, secret="", timeout=1)
