"""Contender "ours": this project's real settings module, with the benchmark's overrides only.

Overrides: the database (a fresh file under bench/work/, or bench_ours on
PostgreSQL), the fast MD5 hasher every contender uses, DEBUG off (no SQL
recording in connection.queries; config.settings is imported with its
defaults first, so STORAGES keeps the plain StaticFilesStorage), the test
client's host, and where the `authlog.events` stream goes (a file or a
NullHandler, never the terminal).
"""

import copy

from bench.common import FAST_HASHER, bench_database, event_log_handler
from config.settings import *  # noqa: F403
from config.settings import ALLOWED_HOSTS, GUARD, LOGGING

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
DATABASES = {"default": bench_database()}
PASSWORD_HASHERS = [FAST_HASHER]

# Throttling and alert rules stay on. The failure figure is one user failing
# from a new address every time (a distributed attack): like axes'
# AXES_FAILURE_LIMIT, the per-name and per-account limits are set out of reach,
# so the failure path is measured, not the 429 page (guard/conf.py has the defaults).
GUARD = {**GUARD, "USERNAME_RATE": "1000000000/1h", "ACCOUNT_RATE": "1000000000/90d"}

LOGGING = copy.deepcopy(LOGGING)
LOGGING["handlers"]["event_stream"] = event_log_handler("ours-events.jsonl")
