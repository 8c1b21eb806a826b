"""One contender of the benchmark, driven by bench/run.py: one JSON object a line each way.

Started as `python bench/worker.py CONTENDER` with BENCH_DB_ENGINE,
BENCH_DB_TARGET, BENCH_EVENT_LOG in its environment. It makes a fresh
database, migrates it, creates the user, warms up, answers {"event": "ready"},
then runs the batches it is sent ({"op": "cycle", "n": 100}) and answers each
with its per-iteration times. Run by hand it can be used to poke one
contender: `echo '{"op": "cycle", "n": 5}' | bench/.venv-peers/bin/python bench/worker.py ours`
(with the three BENCH_* variables set). It never judges its own timings.
"""

import contextlib
import cProfile
import gc
import io
import json
import os
import pstats
import secrets
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))  # the bench package
# The project's code: this checkout, or a revision run.py exported (--code).
CODE_DIR = Path(os.environ.get("BENCH_CODE_DIR") or REPO_DIR)
if CODE_DIR != REPO_DIR:
    sys.path.insert(0, str(CODE_DIR))

from bench import common  # noqa: E402

perf_counter = time.perf_counter
WRITE_VERBS = ("INSERT", "UPDATE", "DELETE", "REPLACE")
_WRITE_WORDS = frozenset(WRITE_VERBS)


def _writes(sql: str) -> bool:
    """Return whether a statement writes: a write verb, or a WITH whose parts write (PostgreSQL)."""
    words = sql.upper().split()
    if not words:
        return False
    if words[0] == "WITH":
        return not _WRITE_WORDS.isdisjoint(words)
    return words[0] in _WRITE_WORDS


def prepare_database(contender: str) -> None:
    """Start from nothing: delete the SQLite files, or drop and create the PostgreSQL database."""
    engine, target = os.environ["BENCH_DB_ENGINE"], os.environ["BENCH_DB_TARGET"]
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm", "-journal"):
            Path(target + suffix).unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(target)
    name = parts.path.lstrip("/")
    maintenance = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(maintenance, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')


class Contender:
    """The Django side of one contender: its clients, its user, its operations."""

    def __init__(self, name: str) -> None:
        self.name = name
        os.environ["DJANGO_SETTINGS_MODULE"] = common.SETTINGS_MODULES[name]
        import django

        django.setup()
        from django.conf import settings
        from django.core.management import call_command
        from django.db import connection
        from django.test import Client

        self.settings = settings
        self.connection = connection
        call_command("migrate", verbosity=0, interactive=False)
        self.user_id = self._create_user()
        self.cookie = settings.SESSION_COOKIE_NAME
        # One browser for the cycle, another for the failures (its cookies are
        # never a signed-in session). CSRF checks are off for everybody.
        self.cycle_client = Client(
            enforce_csrf_checks=False, REMOTE_ADDR=common.CYCLE_IP, HTTP_USER_AGENT=common.USER_AGENT
        )
        self.fail_client = Client(enforce_csrf_checks=False, HTTP_USER_AGENT=common.USER_AGENT)
        self.failures = 0
        self.ingested = 0
        self.login_form = {"username": common.USERNAME, "password": common.PASSWORD}
        self.wrong_form = {"username": common.USERNAME, "password": common.WRONG_PASSWORD}
        if name == "ours":
            self._prepare_ingest()

    # --- setup ---------------------------------------------------------------

    def _create_user(self) -> int:
        if self.name == "ours":
            from accounts.registration import register_user

            registration = register_user(
                username=common.USERNAME, email="", password=common.PASSWORD
            )
            if registration.user is None:
                raise RuntimeError(f"cannot register the bench user: {registration.errors}")
            return registration.user.id
        from django.contrib.auth import get_user_model

        return get_user_model().objects.create_user(common.USERNAME, password=common.PASSWORD).pk

    def _prepare_ingest(self) -> None:
        from authlog import events
        from authlog.cleaning import clean_text
        from authlog.conf import authlog_settings
        from authlog.user_agent import summarise_user_agent

        self.events = events
        agent = clean_text(common.USER_AGENT, max_length=authlog_settings.USER_AGENT_MAX_LENGTH)
        summary = summarise_user_agent(agent)
        # What log_auth_event writes, computed once: the raw baseline inserts
        # the same values, so both write identical rows.
        self.raw_row = [
            self.user_id, events.LOGIN, common.CYCLE_IP, agent,
            summary.browser, summary.os, summary.device,
        ]
        self.begin = "BEGIN IMMEDIATE" if self.connection.vendor == "sqlite" else "BEGIN"

    def info(self) -> dict:
        import django

        connection = self.connection
        info = {
            "contender": self.name,
            "python": sys.version.split()[0],
            "django": django.__version__,
            "vendor": connection.vendor,
            "database": str(connection.settings_dict["NAME"]),
            "hashers": list(self.settings.PASSWORD_HASHERS),
            "session_engine": self.settings.SESSION_ENGINE,
            "debug": self.settings.DEBUG,
            "middleware": list(self.settings.MIDDLEWARE),
        }
        with connection.cursor() as cursor:
            if connection.vendor == "sqlite":
                import sqlite3

                info["sqlite"] = sqlite3.sqlite_version
                pragmas = {}
                for pragma in ("journal_mode", "synchronous", "busy_timeout"):
                    cursor.execute(f"PRAGMA {pragma}")
                    pragmas[pragma] = cursor.fetchone()[0]
                pragmas["transaction_mode"] = connection.transaction_mode
                info["pragmas"] = pragmas
            else:
                cursor.execute("SHOW server_version")
                info["server"] = cursor.fetchone()[0]
                cursor.execute("SHOW synchronous_commit")
                info["pragmas"] = {"synchronous_commit": cursor.fetchone()[0]}
        if self.name == "axes":
            from importlib.metadata import version

            info["django_axes"] = version("django-axes")
            info["axes_failure_limit"] = self.settings.AXES_FAILURE_LIMIT
        if self.name == "ours":
            handler = self.settings.LOGGING["handlers"]["event_stream"]
            info["event_stream"] = handler.get("filename", handler["class"])
        return info

    # --- operations (each returns its per-iteration times in seconds) -------

    def _check(self, ok: bool, what: str, response) -> None:
        if not ok:
            raise RuntimeError(
                f"{self.name}: {what} (status {response.status_code}, "
                f"Location {response.get('Location')!r})"
            )

    def cycle(self, n: int) -> dict:
        post, form = self.cycle_client.post, self.login_form
        logins, logouts = [], []
        for _ in range(n):
            t0 = perf_counter()
            signed_in = post("/login/", form)
            t1 = perf_counter()
            signed_out = post("/logout/")
            t2 = perf_counter()
            logins.append(t1 - t0)
            logouts.append(t2 - t1)
            cookie = signed_in.cookies.get(self.cookie)
            self._check(
                signed_in.status_code == 302 and cookie is not None and cookie.value,
                "sign-in did not start a session", signed_in,
            )
            cookie = signed_out.cookies.get(self.cookie)
            self._check(
                signed_out.status_code == 302 and cookie is not None and not cookie.value,
                "sign-out did not end the session", signed_out,
            )
        return {"times": [a + b for a, b in zip(logins, logouts, strict=True)], "login": logins, "logout": logouts}

    def fail(self, n: int) -> dict:
        post, form = self.fail_client.post, self.wrong_form
        times = []
        for _ in range(n):
            # A new address every attempt: no peer's per-IP counter ever reaches a lockout.
            ip = common.failure_ip(self.failures)
            self.failures += 1
            t0 = perf_counter()
            response = post("/login/", form, REMOTE_ADDR=ip)
            times.append(perf_counter() - t0)
            cookie = response.cookies.get(self.cookie)
            self._check(
                response.status_code == 200 and (cookie is None or not cookie.value),
                "a wrong password was not answered with the login form", response,
            )
        return {"times": times}

    # The floors of a failed sign-in (bench/README.md, "--floors"): ours' own view and sign-in
    # with every part the standards do not demand replaced, to show what those alone cost.
    # Measuring tools only: they do not keep the trail whole.

    def fail_floor_row(self, n: int) -> dict:
        """A failure with only its row written durably: no reservation, chain, counts, line or alerts."""
        with self._floor(reserve=False):
            return self.fail(n)

    def fail_floor_reserved(self, n: int) -> dict:
        """The same, with the throttle's real reservation before the hasher (SECURITY-CASES 39b)."""
        with self._floor(reserve=True):
            return self.fail(n)

    @contextlib.contextmanager
    def _floor(self, *, reserve: bool):
        from django.db import transaction

        from authlog import events, store
        from guard import throttle

        def failure_row(*, attempted_username, user_id, reason, ip_address, user_agent):
            with transaction.atomic():  # one durable commit, the product's own INSERT
                store.insert_failed_login(
                    attempted_username=attempted_username, user_id=user_id, reason=reason,
                    ip_address=ip_address, user_agent=user_agent, browser=None, os=None, device=None,
                )

        def unreserved(request, **kwargs):
            return throttle.Attempt(allowed=True, retry_after=0, now=throttle.clock())

        stand_ins = [(events, "record_failed_login", failure_row),
                     (throttle, "attempt_failed", lambda attempt, **kwargs: None)]
        if not reserve:
            stand_ins.append((throttle, "reserve_attempt", unreserved))
        originals = [(module, name, getattr(module, name)) for module, name, _ in stand_ins]
        for module, name, stand_in in stand_ins:
            setattr(module, name, stand_in)
        try:
            yield
        finally:
            for module, name, original in originals:
                setattr(module, name, original)

    def ingest(self, n: int) -> dict:
        from django.db import transaction

        log, login = self.events.log_auth_event, self.events.LOGIN
        user_id, ip, agent = self.user_id, common.CYCLE_IP, common.USER_AGENT
        keys = [secrets.token_hex(16) for _ in range(n)]
        times = []
        for key in keys:
            t0 = perf_counter()
            with transaction.atomic():
                log(user_id, login, ip, username=common.USERNAME, user_agent=agent, session_key=key)
            times.append(perf_counter() - t0)
        self.ingested += n
        return {"times": times}

    def raw(self, n: int) -> dict:
        """The floor: one INSERT of the same row and a COMMIT, on the same Django connection."""
        self.connection.ensure_connection()
        refs = [self.events.session_ref(secrets.token_hex(16)) for _ in range(n)]
        sql = (
            "INSERT INTO login_logs (user_id, event_type, ip_address, user_agent, browser, os,"
            " device, session_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s)"
        )
        row, begin = self.raw_row, self.begin
        times = []
        with self.connection.cursor() as cursor:  # autocommit mode: BEGIN/COMMIT are ours to send
            execute = cursor.execute
            for ref in refs:
                params = [*row, ref]
                t0 = perf_counter()
                execute(begin)
                execute(sql, params)
                execute("COMMIT")
                times.append(perf_counter() - t0)
        return {"times": times}

    # --- what each operation costs in SQL (one untimed run) ------------------

    def probe(self, op: str) -> dict:
        """Run one iteration of `op` and count its SQL statements, writes and durable commits."""
        connection = self.connection
        statements: list[str] = []
        # A durable commit is a COMMIT (implicit or sent) after at least one
        # write, or a write run in autocommit mode outside any transaction.
        state = {"dirty": False, "explicit": False, "commits": 0}

        def wrapper(execute, sql, params, many, context):
            verb = sql.lstrip().split(None, 1)[0].upper() if sql.strip() else ""
            result = execute(sql, params, many, context)
            if verb.startswith("BEGIN"):  # Django's own BEGIN on SQLite, or the raw baseline's
                state["explicit"] = True
            elif verb == "COMMIT":
                state["commits"] += state["dirty"]
                state["dirty"] = state["explicit"] = False
            elif _writes(sql):
                if connection.get_autocommit() and not state["explicit"]:
                    state["commits"] += 1
                else:
                    state["dirty"] = True
            statements.append(" ".join(sql.split())[:200])
            return result

        real_commit = connection.commit

        def counting_commit():
            state["commits"] += state["dirty"]
            state["dirty"] = state["explicit"] = False
            real_commit()

        connection.commit = counting_commit
        try:
            with connection.execute_wrapper(wrapper):
                if op == "cycle":
                    self.cycle_client.post("/login/", self.login_form)
                    login_end, login_commits = len(statements), state["commits"]
                    self.cycle_client.post("/logout/")
                    return {
                        "statements": statements,
                        "login": _summary(statements[:login_end], login_commits),
                        "logout": _summary(statements[login_end:], state["commits"] - login_commits),
                        "total": _summary(statements, state["commits"]),
                    }
                getattr(self, op)(1)
        finally:
            del connection.commit
        return {"statements": statements, "total": _summary(statements, state["commits"])}

    def profile(self, op: str, n: int, limit: int, timer: str = "wall") -> dict:
        """Run `op` n times under cProfile; dump the stats and return the top of two listings."""
        profiler = cProfile.Profile(time.process_time) if timer == "cpu" else cProfile.Profile()
        profiler.enable()
        getattr(self, op)(n)
        profiler.disable()
        path = common.WORK_DIR / f"profile-{self.name}-{op}.pstats"
        profiler.dump_stats(str(path))
        listings = {}
        for key in ("cumulative", "tottime"):
            out = io.StringIO()
            stats = pstats.Stats(profiler, stream=out)
            stats.strip_dirs().sort_stats(key).print_stats(limit)
            listings[key] = out.getvalue()
        return {"pstats": str(path), "listings": listings}


def _summary(statements: list[str], commits: int) -> dict:
    """Statements sent (savepoints included; BEGIN/COMMIT not, as PostgreSQL's are implicit).

    `writes` counts statements that write; one WITH writing several tables is one.
    """
    verbs = [sql.split(None, 1)[0].upper() for sql in statements if sql]
    return {
        "statements": sum(1 for v in verbs if v not in ("BEGIN", "COMMIT")),
        "writes": sum(1 for sql in statements if _writes(sql)),
        "commits": commits,
    }


def main() -> None:
    name = sys.argv[1]
    if name not in common.CONTENDERS:
        raise SystemExit(f"unknown contender {name!r}; one of {common.CONTENDERS}")
    # The protocol owns the real stdout; anything printed by Django or a peer goes to stderr.
    protocol = os.fdopen(os.dup(1), "w", buffering=1)
    os.dup2(2, 1)

    def answer(payload: dict) -> None:
        protocol.write(json.dumps(payload) + "\n")

    try:
        prepare_database(name)
        contender = Contender(name)
        warmup = int(os.environ.get("BENCH_WARMUP", "30"))
        contender.cycle(warmup)
        contender.fail(warmup)
        if name == "ours":
            contender.ingest(warmup * 3)
            contender.raw(warmup * 3)
        answer({"event": "ready", "info": contender.info()})
    except Exception as error:  # reported to run.py, which shows the worker's stderr
        import traceback

        traceback.print_exc()
        answer({"event": "error", "error": f"{type(error).__name__}: {error}"})
        return

    for line in sys.stdin:
        command = json.loads(line)
        op = command["op"]
        if op == "quit":
            break
        try:
            if op == "probe":
                answer({"event": "probe", **contender.probe(command["target"])})
            elif op == "profile":
                answer({"event": "profile", **contender.profile(
                    command["target"], command["n"], command.get("limit", 30), command.get("timer", "wall")
                )})
            else:
                run = getattr(contender, op)
                run(command.get("rewarm", 2))  # untimed: refill caches another process evicted
                gc.collect()
                answer({"event": "batch", "op": op, **run(command["n"])})
        except Exception as error:
            import traceback

            traceback.print_exc()
            answer({"event": "error", "error": f"{type(error).__name__}: {error}"})


if __name__ == "__main__":
    main()
