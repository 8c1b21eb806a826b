"""Constants and helpers shared by the orchestrator (bench/run.py) and its workers.

Standard library only at import time: run.py runs under the project's .venv,
the workers under bench/.venv-peers.
"""

import os
from pathlib import Path

BENCH_DIR = Path(__file__).resolve().parent
REPO_DIR = BENCH_DIR.parent
WORK_DIR = BENCH_DIR / "work"

CONTENDERS = ("ours", "plain", "axes")
SETTINGS_MODULES = {
    "ours": "bench.settings_ours",
    "plain": "bench.settings_plain",
    "axes": "bench.settings_axes",
}

# One browser for everybody: ours parses it (cached), the peers ignore it.
USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/124.0.0.0 Safari/537.36"
)
USERNAME = "alice"
PASSWORD = "correct horse battery staple"
WRONG_PASSWORD = "wrong horse battery staple"
# The cycle always comes from one address; each failed attempt from a new one.
CYCLE_IP = "203.0.113.10"
FAST_HASHER = "django.contrib.auth.hashers.MD5PasswordHasher"


def failure_ip(n: int) -> str:
    """Return the n-th address of 198.18.0.0/15 (RFC 2544 benchmarking range), n < 131072."""
    n %= 131072
    return f"198.{18 + n // 65536}.{(n // 256) % 256}.{n % 256}"


def bench_database() -> dict:
    """Return DATABASES["default"] of this worker's contender (read from the worker's env).

    SQLite: the project's own SQLITE_OPTIONS (WAL, synchronous=FULL,
    busy_timeout, IMMEDIATE), imported rather than copied so every contender
    runs exactly the PRAGMAs config/settings.py runs. PostgreSQL: parsed the
    way config/settings.py parses DATABASE_URL.
    """
    engine = os.environ["BENCH_DB_ENGINE"]
    target = os.environ["BENCH_DB_TARGET"]
    if engine == "sqlite":
        from config.settings import SQLITE_OPTIONS

        return {
            "ENGINE": "django.db.backends.sqlite3",
            "NAME": target,
            "OPTIONS": dict(SQLITE_OPTIONS),
        }
    import dj_database_url

    database = dj_database_url.parse(target, conn_max_age=60)
    database["CONN_HEALTH_CHECKS"] = True
    return database


def event_log_handler(filename: str) -> dict:
    """Return the logging handler that receives the audit/event lines of a contender."""
    if os.environ.get("BENCH_EVENT_LOG", "file") == "null":
        return {"class": "logging.NullHandler"}
    return {
        "class": "logging.FileHandler",
        "filename": str(WORK_DIR / filename),
        "formatter": "event_line",
    }
