"""The real production server (gunicorn, DJANGO_DEBUG=0) answers like a product, not a debugger.

One gunicorn is started for the module, exactly as `make run` does with
DJANGO_DEBUG=0: migrate, collectstatic, then `gunicorn config.wsgi`, against a
throw-away SQLite file (whatever DATABASE_URL the suite itself runs with).

STATIC_ROOT is fixed in config/settings.py (BASE_DIR / "staticfiles"), so the
server runs with a one-line settings module that imports config.settings and
moves STATIC_ROOT into a temporary directory: the working tree is not touched.
Everything else is config.settings as deployed.
"""

import gzip
import os
import re
import secrets
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from email.message import Message
from http import HTTPStatus
from http.cookiejar import CookieJar
from pathlib import Path
from urllib.parse import urlencode

import pytest

BASE_DIR = Path(__file__).resolve().parent.parent
START_TIMEOUT = 30  # seconds for gunicorn to answer its first request
COMMAND_TIMEOUT = 120  # seconds for migrate / collectstatic
HTTP_TIMEOUT = 10  # seconds for any one request
DEBUG_PAGE_MARKERS = ("Traceback", "DEBUG = True", "Page not found at", "Django tried these URL")
# Variables of the developer's shell that would change what is being tested.
SCRUBBED = (
    "DJANGO_SETTINGS_MODULE", "DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES",
    "DJANGO_SECURE_COOKIES", "DJANGO_ALLOW_ASYNC_UNSAFE", "DJANGO_LOG_LEVEL",
    "WEB_CONCURRENCY", "GUNICORN_CMD_ARGS",
)


@dataclass
class Answer:
    status: int
    headers: Message
    body: bytes

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", "replace")


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, req, fp, code, msg, headers, newurl):
        return None  # hand the 3xx back to the caller


class Server:
    """A running gunicorn and a cookie-keeping HTTP client for it."""

    def __init__(self, base_url: str, log_path: Path):
        self.base_url = base_url
        self.log_path = log_path
        self.cookies = CookieJar()
        self._opener = urllib.request.build_opener(
            _NoRedirect, urllib.request.HTTPCookieProcessor(self.cookies)
        )

    def request(
        self,
        path: str,
        *,
        method: str = "GET",
        form: dict | None = None,
        headers: dict | None = None,
    ) -> Answer:
        data = urlencode(form).encode() if form is not None else None
        req = urllib.request.Request(
            self.base_url + path, data=data, method=method, headers=headers or {}
        )
        try:
            with self._opener.open(req, timeout=HTTP_TIMEOUT) as response:
                return Answer(response.status, response.headers, response.read())
        except urllib.error.HTTPError as error:  # 3xx (not followed), 4xx and 5xx
            with error:
                return Answer(error.code, error.headers, error.read())

    def log(self) -> str:
        return self.log_path.read_text(errors="replace")[-5000:]


def _free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def _gunicorn() -> list[str]:
    script = Path(sys.executable).with_name("gunicorn")
    return [str(script)] if script.exists() else [sys.executable, "-m", "gunicorn"]


def _run(args: list[str], env: dict) -> None:
    done = subprocess.run(
        args, cwd=BASE_DIR, env=env, capture_output=True, text=True, timeout=COMMAND_TIMEOUT
    )
    assert done.returncode == 0, f"{' '.join(args)} failed:\n{done.stdout}\n{done.stderr}"


def _stop(process: subprocess.Popen) -> None:
    """Stop gunicorn and its workers (their own process group), never waiting unbounded."""
    if process.poll() is not None:
        return
    try:
        os.killpg(process.pid, signal.SIGTERM)
        process.wait(timeout=15)
    except subprocess.TimeoutExpired:
        os.killpg(process.pid, signal.SIGKILL)
        process.wait(timeout=5)
    except ProcessLookupError:
        pass


@pytest.fixture(scope="module")
def server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Server]:
    work = tmp_path_factory.mktemp("production")
    (work / "production_settings.py").write_text(
        "from config.settings import *  # noqa: F403\n"
        f"STATIC_ROOT = {str(work / 'static')!r}\n"
    )
    env = {key: value for key, value in os.environ.items() if key not in SCRUBBED}
    env.update(
        DJANGO_SETTINGS_MODULE="production_settings",
        PYTHONPATH=os.pathsep.join([str(work), str(BASE_DIR)]),
        DJANGO_DEBUG="0",
        DJANGO_SECRET_KEY=secrets.token_urlsafe(50),
        DJANGO_ALLOWED_HOSTS="127.0.0.1",
        DATABASE_URL=f"sqlite:///{work / 'production.sqlite3'}",
    )
    manage = [sys.executable, str(BASE_DIR / "manage.py")]
    _run([*manage, "migrate", "--noinput"], env)
    _run([*manage, "collectstatic", "--noinput", "--verbosity", "0"], env)
    assert (work / "static" / "staticfiles.json").exists(), "no manifest: not the manifest storage"

    port = _free_port()
    log_path = work / "gunicorn.log"
    with open(log_path, "wb") as log:
        process = subprocess.Popen(
            [
                *_gunicorn(), "config.wsgi",
                "--bind", f"127.0.0.1:{port}",
                "--workers", "1",
                "--timeout", "30",
                "--graceful-timeout", "5",
                "--access-logfile", "-",
            ],
            cwd=BASE_DIR,
            env=env,
            stdout=log,
            stderr=subprocess.STDOUT,
            stdin=subprocess.DEVNULL,
            start_new_session=True,  # its own process group: workers are stopped with it
        )
    running = Server(f"http://127.0.0.1:{port}", log_path)
    try:
        deadline = time.monotonic() + START_TIMEOUT
        while True:
            if process.poll() is not None:
                pytest.fail(f"gunicorn exited with {process.returncode}:\n{running.log()}")
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                if time.monotonic() > deadline:
                    pytest.fail(f"gunicorn did not listen within {START_TIMEOUT}s:\n{running.log()}")
                time.sleep(0.2)
        yield running
    finally:
        _stop(process)


def _assert_no_debug_page(answer: Answer) -> None:
    for marker in DEBUG_PAGE_MARKERS:
        assert marker not in answer.text, f"debug output {marker!r} in a production answer"


def test_home_page_links_a_hashed_stylesheet_that_is_served(server: Server):
    home = server.request("/")
    assert home.status == HTTPStatus.OK, server.log()
    assert home.headers.get_content_type() == "text/html"
    _assert_no_debug_page(home)
    match = re.search(r'href="(/static/css/site\.[0-9a-f]{12}\.css)"', home.text)
    assert match, "the page links the unhashed stylesheet: manifest storage is not in use"

    css = server.request(match.group(1))
    assert css.status == HTTPStatus.OK
    assert css.headers.get_content_type() == "text/css"
    assert b":root" in css.body
    # A hashed name never changes content, so WhiteNoise lets browsers keep it for good.
    assert "immutable" in css.headers.get("Cache-Control", "")

    compressed = server.request(match.group(1), headers={"Accept-Encoding": "gzip"})
    assert compressed.status == HTTPStatus.OK
    assert compressed.headers.get("Content-Encoding") == "gzip"
    assert gzip.decompress(compressed.body) == css.body


def test_unknown_url_is_our_404_page(server: Server):
    answer = server.request("/does-not-exist")
    assert answer.status == HTTPStatus.NOT_FOUND
    assert answer.headers.get_content_type() == "text/html"
    assert "<h1>Not found</h1>" in answer.text
    assert "Back to the home page" in answer.text
    _assert_no_debug_page(answer)


def test_get_on_logout_is_405(server: Server):
    answer = server.request("/logout/")
    assert answer.status == HTTPStatus.METHOD_NOT_ALLOWED
    assert answer.headers.get("Allow") == "POST"
    _assert_no_debug_page(answer)


def test_a_foreign_host_header_is_refused_without_details(server: Server):
    answer = server.request("/", headers={"Host": "attacker.example"})
    assert answer.status == HTTPStatus.BAD_REQUEST
    _assert_no_debug_page(answer)
    assert "attacker.example" not in answer.text
    assert "ALLOWED_HOSTS" not in answer.text


def test_security_headers_are_sent(server: Server):
    headers = server.request("/login/").headers
    assert headers.get("X-Frame-Options") == "DENY"
    assert headers.get("X-Content-Type-Options") == "nosniff"
    assert headers.get("Referrer-Policy") == "same-origin"


def test_register_and_sign_in_work_through_gunicorn(server: Server):
    """CSRF, sessions, Argon2 and the trail, in the deployed configuration."""
    form_page = server.request("/register/")
    assert form_page.status == HTTPStatus.OK
    token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', form_page.text)
    assert token, "no CSRF token in the register form"
    password = secrets.token_urlsafe(16)
    created = server.request(
        "/register/",
        method="POST",
        form={
            "csrfmiddlewaretoken": token.group(1),
            "username": "prod_check",
            "email": "",
            "password1": password,
            "password2": password,
        },
    )
    assert created.status == HTTPStatus.FOUND, created.text[:2000]
    assert created.headers.get("Location") == "/"
    home = server.request("/")
    assert "prod_check" in home.text
    assert "Signed in" in home.text  # the activity table's first row
    # No cookie may travel without its flags.
    cookies = {cookie.name: cookie for cookie in server.cookies}
    assert cookies["sessionid"].has_nonstandard_attr("HttpOnly")
