"""One suite, every counters backend (database, Redis): the interface behaves the same on each."""

import pytest
from django.db import connection

from guard.counters.db import DatabaseCounters
from guard.policy import CounterKey, Kind, Limit, Op, OpKind, Rate
from tests.conftest import rows

T0 = 1_800_000_000.0  # a multiple of 900: the start of a 15-minute window
LIMIT = Limit(Rate(limit=5, window=900), first_lockout=900, max_lockout=86400)
MEMORY = 86400


def key(kind=Kind.PAIR, user="u" * 24, source="s" * 24, label="alice from 192.0.2.1") -> CounterKey:
    return CounterKey(kind, user, source, label, LIMIT)


@pytest.fixture(params=["database", "redis"])
def backend(request, db):
    if request.param == "database":
        return DatabaseCounters()
    request.getfixturevalue("redis_counters")
    from guard.counters.redis import RedisCounters

    return RedisCounters("guard")


def hit(backend, keys, now=T0):
    with backend.atomic():
        return backend.hit(keys, now=now)


def test_hit_counts_one_failure_per_key(backend):
    a, b = key(), key(Kind.USERNAME, source="")
    for expected in (1, 2, 3):
        states = hit(backend, [a, b])
        assert [s.current for s in states] == [expected, expected]
        assert [s.previous for s in states] == [0, 0]


def test_a_new_window_moves_the_count_to_previous(backend):
    a = key()
    hit(backend, [a])
    hit(backend, [a])
    [state] = hit(backend, [a], now=T0 + 900)
    assert (state.current, state.previous) == (1, 2)
    [state] = hit(backend, [a], now=T0 + 2 * 900 + 1)
    assert (state.current, state.previous) == (1, 1)
    [state] = hit(backend, [a], now=T0 + 10 * 900)
    assert (state.current, state.previous) == (1, 0)


def test_a_locked_key_is_not_counted(backend):
    a = key()
    hit(backend, [a])
    backend.apply([Op(OpKind.LOCK, a, until=T0 + 900, lockouts=1)], now=T0, backoff_memory=MEMORY)
    [state] = hit(backend, [a], now=T0 + 1)
    assert state.current == 0
    assert state.locked_until == pytest.approx(T0 + 900)
    assert state.lockouts == 1
    [state] = hit(backend, [a], now=T0 + 900)
    assert state.current == 1


def test_a_lock_is_not_set_twice(backend):
    """Two attempts over the limit at once: one lockout, not two levels of backoff."""
    a = key()
    hit(backend, [a])
    backend.apply([Op(OpKind.LOCK, a, until=T0 + 900, lockouts=1)], now=T0, backoff_memory=MEMORY)
    backend.apply([Op(OpKind.LOCK, a, until=T0 + 1800, lockouts=2)], now=T0, backoff_memory=MEMORY)
    [state] = backend.peek([a], now=T0)
    assert (state.locked_until, state.lockouts) == (pytest.approx(T0 + 900), 1)


def test_undo_takes_back_one_hit_and_never_goes_below_zero(backend):
    a = key()
    hit(backend, [a])
    hit(backend, [a])
    backend.apply([Op(OpKind.UNDO, a)], now=T0, backoff_memory=MEMORY)
    assert backend.peek([a], now=T0)[0].current == 1
    for _ in range(3):
        backend.apply([Op(OpKind.UNDO, a)], now=T0, backoff_memory=MEMORY)
    assert backend.peek([a], now=T0)[0].current == 0


def test_seen_and_unseen_count_distinct_pairs(backend):
    a = key(Kind.USERNAME, source="")
    hit(backend, [a])
    backend.apply([Op(OpKind.SEEN, a), Op(OpKind.SEEN, key(Kind.IP, user=""))], now=T0, backoff_memory=MEMORY)
    assert backend.peek([a], now=T0)[0].seen_current == 1
    backend.apply([Op(OpKind.UNDO, a, unseen=True)], now=T0, backoff_memory=MEMORY)
    assert backend.peek([a], now=T0)[0].seen_current == 0


def test_reset_forgets_counts_lock_and_backoff(backend):
    a = key()
    hit(backend, [a])
    backend.apply([Op(OpKind.LOCK, a, until=T0 + 900, lockouts=3)], now=T0, backoff_memory=MEMORY)
    backend.apply([Op(OpKind.RESET, a)], now=T0, backoff_memory=MEMORY)
    [state] = backend.peek([a], now=T0)
    assert (state.current, state.previous, state.locked_until, state.lockouts) == (0, 0, None, 0)


def test_a_key_that_vanished_between_hit_and_change_raises_nothing(backend):
    """django-axes #1144, SECURITY-CASES 39: and no op re-creates it without its expiry."""
    a = key()
    hit(backend, [a])
    backend.clear(everything=True)
    ops = [Op(OpKind.UNDO, a, unseen=True), Op(OpKind.SEEN, a), Op(OpKind.RESET, a),
           Op(OpKind.LOCK, a, until=T0 + 900, lockouts=1)]
    backend.apply(ops, now=T0, backoff_memory=MEMORY)
    assert backend.peek([a], now=T0) == [None]


def test_peek_of_an_unknown_key_is_none(backend):
    assert backend.peek([key(user="9" * 24)], now=T0) == [None]


def test_stored_lists_locked_counters_first_and_filters_by_ref(backend):
    a, b = key(user="a" * 24, label="a"), key(user="b" * 24, label="b")
    hit(backend, [a, b])
    backend.apply([Op(OpKind.LOCK, b, until=T0 + 900, lockouts=1)], now=T0, backoff_memory=MEMORY)
    listed = backend.stored(now=T0, locked_only=False)
    assert [c.label for c in listed][:2] == ["b", "a"]
    assert [c.label for c in backend.stored(now=T0, locked_only=True)] == ["b"]
    assert [c.label for c in backend.stored(now=T0, locked_only=False, user_ref="a" * 24)] == ["a"]
    assert backend.stored(now=T0 + 901, locked_only=True) == []


def test_clear_by_name_by_source_or_everything(backend):
    alice_pair = key(user="a" * 24, source="1" * 24)
    alice = key(Kind.USERNAME, user="a" * 24, source="")
    network = key(Kind.IP, user="", source="1" * 24)
    bob_pair = key(user="b" * 24, source="1" * 24)
    hit(backend, [alice_pair, alice, network, bob_pair])
    assert backend.clear(user_ref="a" * 24) == 2
    assert backend.peek([alice_pair, alice, network, bob_pair], now=T0)[:2] == [None, None]
    assert backend.clear(source_ref="1" * 24) == 2
    assert backend.peek([network, bob_pair], now=T0) == [None, None]
    hit(backend, [alice])
    assert backend.clear(everything=True) == 1


def test_a_backend_stores_the_refs_it_is_given_and_nothing_more(backend, redis_url_or_none):
    # What the sign-in path gives it (hashes, whatever was typed): test_redis_key_names_http.py.
    a = CounterKey(Kind.USERNAME, "c" * 24, "", "unknown:0123456789abcdef0123", LIMIT)
    hit(backend, [a])
    if backend.name == "database":
        stored = rows("SELECT kind, user_ref, source_ref FROM guard_counters")
        assert stored == [("username", "c" * 24, "")]
    else:
        import redis

        client = redis.Redis.from_url(redis_url_or_none)
        keys = [k.decode() for k in client.scan_iter(match="test-guard-*", count=1000)]
        assert keys and all(k.endswith("username:" + "c" * 24 + ":-") for k in keys)


@pytest.fixture
def redis_url_or_none(request):
    return request.getfixturevalue("redis_url") if "redis_counters" in request.fixturenames else None


def test_database_counters_leave_the_callers_transaction_alone(db):
    """Inside a transaction the counters use a savepoint and no PRAGMA (SQLite refuses one there)."""
    backend = DatabaseCounters()
    assert connection.in_atomic_block
    hit(backend, [key()])
    assert connection.in_atomic_block


@pytest.mark.django_db(transaction=True)
def test_database_counters_commit_without_waiting_for_the_disk_and_restore_it():
    backend = DatabaseCounters()
    hit(backend, [key()])
    if connection.vendor == "sqlite":
        with connection.cursor() as cursor:
            cursor.execute("PRAGMA synchronous")
            assert cursor.fetchone()[0] == 2  # FULL again after the counters' commit
    assert rows("SELECT current FROM guard_counters") == [(1,)]


def test_prune_deletes_expired_counters_in_batches(db):
    backend = DatabaseCounters()
    for n in range(7):
        hit(backend, [key(user=f"{n:024d}")])
    assert backend.prune(now=T0 + 3 * 900, batch=5) == 5
    assert backend.prune(now=T0 + 3 * 900, batch=5) == 2
    assert rows("SELECT COUNT(*) FROM guard_counters") == [(0,)]


def test_an_idle_counter_is_forgotten_at_its_expiry_by_the_apps_clock(backend):
    """Before Redis drops the key or a prune deletes the row: the app's clock decides (case 40)."""
    idle = CounterKey(Kind.ACCOUNT, "i" * 24, "", "label", Limit(Rate(100, 90 * 86400), 90 * 86400, 90 * 86400, 86400))
    for _ in range(3):
        hit(backend, [idle])
    [state] = hit(backend, [idle], now=T0 + 86399)
    assert state.current == 4, "each hit keeps it a day longer"
    [state] = hit(backend, [idle], now=T0 + 86399 + 86401)
    assert (state.current, state.previous, state.lockouts) == (1, 0, 0)
