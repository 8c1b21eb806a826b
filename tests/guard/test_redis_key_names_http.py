"""Names with key syntax in them, typed at /login/ with counters in Redis (SECURITY-CASES 13).

test_counters.py checks a backend stores the ref it is given; this checks
what the sign-in path gives it: a hash, whatever was typed. A raw name in a
key would split on ':' (the key is kind:user:source), match as a glob in
SCAN, and put a password typed as a name into Redis.
"""

import re
from http import HTTPStatus

import pytest
import redis

from tests.guard.conftest import post_login

pytestmark = pytest.mark.django_db
HASHED = re.compile(r"guard:(pair|username|account|ip|device):([0-9a-f]{24}|-):([0-9a-f]{24}|-)\Z")
NAMES = ["a:b:c", "a/b", "100%", "x*[?]", "two words", "line\nbreak", "tab\there", "CANARY-pw-1"]


def guard_keys(redis_url: str) -> list[str]:
    client = redis.Redis.from_url(redis_url)
    return [key.decode() for key in client.scan_iter(match="test-guard-*", count=1000)]


def test_every_redis_key_is_made_of_hashes_whatever_the_name(redis_counters, client_from_ip, clock):
    client = client_from_ip("198.51.100.7")
    for name in NAMES:
        assert post_login(client, name).status_code == HTTPStatus.OK
    keys = guard_keys(redis_counters)
    # 3 name counters per name (pair, username, account) and one for the network.
    assert len(keys) == 3 * len(NAMES) + 1
    for key in keys:
        tail = key.split(":", 2)[-1]  # after the cache's KEY_PREFIX and version
        assert HASHED.match(tail), key
        assert not any(name.casefold() in key.casefold() for name in NAMES), key

