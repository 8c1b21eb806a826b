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
from config.settings import ALLOWED_HOSTS, LOGGING

DEBUG = False
ALLOWED_HOSTS = [*ALLOWED_HOSTS, "testserver"]
DATABASES = {"default": bench_database()}
PASSWORD_HASHERS = [FAST_HASHER]

LOGGING = copy.deepcopy(LOGGING)
LOGGING["handlers"]["event_stream"] = event_log_handler("ours-events.jsonl")
