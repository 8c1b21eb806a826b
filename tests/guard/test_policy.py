"""The pure throttling policy: rates, networks, windows, verdicts and backoff, as tables of cases."""

import pytest

from guard.policy import (
    CounterKey,
    CounterState,
    Kind,
    Limit,
    Op,
    OpKind,
    Rate,
    client_network,
    decide,
    failures,
    lockout_duration,
    make_limit,
    network_of,
    parse_duration,
    parse_rate,
    success_ops,
)
from guard.views import describe_wait

T0 = 1_800_000_000.0  # the start of a 15-minute and of a 1-hour window
PAIR = make_limit(Rate(5, 900), max_lockout=86400)
NAME = make_limit(Rate(20, 3600), max_lockout=86400)
DAY = 86400


def key(kind=Kind.PAIR, limit=PAIR, user="u", source="s") -> CounterKey:
    return CounterKey(kind, user, source, "label", limit)


def state(current=1, previous=0, bucket=None, locked_until=None, lockouts=0, limit=PAIR) -> CounterState:
    if bucket is None:
        bucket = int(T0 // limit.rate.window)
    return CounterState(bucket, current, previous, locked_until=locked_until, lockouts=lockouts)


@pytest.mark.parametrize(
    ("text", "rate"),
    [("5/15m", Rate(5, 900)), ("20/h", Rate(20, 3600)), ("20/1h", Rate(20, 3600)),
     ("100/90d", Rate(100, 90 * DAY)), (" 3 / 30s ", Rate(3, 30)), ("1000000000/1h", Rate(10**9, 3600))],
)
def test_parse_rate(text, rate):
    assert parse_rate(text) == rate


@pytest.mark.parametrize("text", ["", "5", "5/", "0/1h", "5/0m", "-1/1h", "5/1w", "five/1h", "5/1.5h", None, 5])
def test_parse_rate_refuses(text):
    with pytest.raises(ValueError):
        parse_rate(text)


@pytest.mark.parametrize(("text", "seconds"), [("90", 90), ("90s", 90), ("15m", 900), ("24h", DAY), (30, 30)])
def test_parse_duration(text, seconds):
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["", "0", "1y", "-5m", "1.5h"])
def test_parse_duration_refuses(text):
    with pytest.raises(ValueError):
        parse_duration(text)


@pytest.mark.parametrize(
    ("ip", "prefix", "network"),
    [
        ("192.0.2.1", 64, "192.0.2.1"),
        ("2001:db8:1:2:3:4:5:6", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2::ffff", 64, "2001:db8:1:2::/64"),
        ("2001:db8:1:2::1", 128, "2001:db8:1:2::1"),
        ("2001:db8:1:2::1", 48, "2001:db8:1::/48"),
        (None, 64, "unknown"),
        ("", 64, "unknown"),
        ("not an ip", 64, "unknown"),
    ],
)
def test_client_network(ip, prefix, network):
    assert client_network(ip, ipv6_prefix=prefix) == network


@pytest.mark.parametrize(
    ("ip", "network"),
    [("203.0.113.77", "203.0.113.0/24"), ("2001:db8:aa:bb::1", "2001:db8:aa::/48"), (None, None), ("x", None)],
)
def test_network_of(ip, network):
    assert network_of(ip, ipv4_prefix=24, ipv6_prefix=48) == network


# --- the sliding window -------------------------------------------------------------------


@pytest.mark.parametrize(
    ("current", "previous", "offset", "expected"),
    [
        (5, 0, 0, 5.0),  # an empty previous window: exact
        (0, 10, 0, 10.0),  # at the start of a window the previous one still counts fully
        (0, 10, 450, 5.0),  # half-way: half of it
        (2, 10, 675, 4.5),  # three quarters: a quarter of it, plus this window's
        (0, 10, 899, pytest.approx(10 / 900)),
    ],
)
def test_failures_weigh_the_previous_window_by_its_overlap(current, previous, offset, expected):
    assert failures(key(), state(current, previous), T0 + offset) == expected


def test_a_stale_state_rolls_forward():
    stored = state(current=4, previous=3)  # stored in the window starting at T0
    assert failures(key(), stored, T0 + 900) == 4.0  # next window: 4 become "previous"
    assert failures(key(), stored, T0 + 1800) == 0.0  # two windows later: forgotten


# --- verdicts ----------------------------------------------------------------------------------


@pytest.mark.parametrize(("count", "allowed"), [(4, True), (5, True), (6, False)])
def test_a_limit_of_five_allows_the_fifth_failure_and_refuses_the_sixth(count, allowed):
    decision = decide([key()], [state(count)], now=T0, backoff_memory=DAY)
    assert decision.allowed is allowed
    if not allowed:
        assert decision.retry_after == 900
        assert decision.ops == (Op(OpKind.LOCK, key(), until=T0 + 900, lockouts=1),)
        assert decision.new_locks == (key(),)


def test_a_refused_attempt_gives_back_its_hits_on_the_other_counters():
    pair, name = key(), key(Kind.USERNAME, NAME, source="")
    decision = decide([pair, name], [state(6), state(3, limit=NAME)], now=T0, backoff_memory=DAY)
    assert not decision.allowed
    assert decision.ops == (Op(OpKind.LOCK, pair, until=T0 + 900, lockouts=1), Op(OpKind.UNDO, name))


def test_a_locked_counter_refuses_with_the_time_remaining_and_changes_nothing_on_it():
    pair, name = key(), key(Kind.USERNAME, NAME, source="")
    locked = state(0, locked_until=T0 + 300, lockouts=1)
    decision = decide([pair, name], [locked, state(2, limit=NAME)], now=T0, backoff_memory=DAY)
    assert (decision.allowed, decision.retry_after) == (False, 300)
    assert decision.ops == (Op(OpKind.UNDO, name),)


def test_retry_after_is_the_longest_wait_and_at_least_one_second():
    pair, name = key(), key(Kind.USERNAME, NAME, source="")
    decision = decide(
        [pair, name],
        [state(0, locked_until=T0 + 0.2), state(0, locked_until=T0 + 1234.5, limit=NAME)],
        now=T0, backoff_memory=DAY,
    )
    assert decision.retry_after == 1235
    decision = decide([pair], [state(0, locked_until=T0 + 0.2)], now=T0, backoff_memory=DAY)
    assert decision.retry_after == 1


@pytest.mark.parametrize(
    ("lockouts", "last_lock_ago", "seconds"),
    [
        (0, None, 900),
        (1, 10, 1800),
        (2, 10, 3600),
        (3, 10, 7200),
        (6, 10, 57600),
        (7, 10, DAY),  # capped
        (60, 10, DAY),  # no overflow
        (5, DAY + 1, 900),  # forgotten after a quiet day
    ],
)
def test_lockouts_double_up_to_the_cap(lockouts, last_lock_ago, seconds):
    locked_until = None if last_lock_ago is None else T0 - last_lock_ago
    stored = state(6, locked_until=locked_until, lockouts=lockouts)
    assert lockout_duration(key(), stored, now=T0, backoff_memory=DAY) == seconds


def test_a_fresh_pair_counts_one_more_distinct_name_and_network():
    pair, name, ip = key(), key(Kind.USERNAME, NAME, source=""), key(Kind.IP, NAME, user="")
    decision = decide([pair, name, ip], [state(1), state(7, limit=NAME), state(9, limit=NAME)],
                      now=T0, backoff_memory=DAY)
    assert decision.fresh_pair
    assert decision.ops == (Op(OpKind.SEEN, name), Op(OpKind.SEEN, ip))
    again = decide([pair, name, ip], [state(2), state(8, limit=NAME), state(10, limit=NAME)],
                   now=T0, backoff_memory=DAY)
    assert not again.fresh_pair and again.ops == ()


def test_success_resets_pair_device_and_consecutive_but_only_undoes_name_and_network():
    pair, name, ip = key(), key(Kind.USERNAME, NAME, source=""), key(Kind.IP, NAME, user="")
    account = key(Kind.ACCOUNT, Limit(Rate(100, 90 * DAY), 90 * DAY, 90 * DAY), source="")
    ops = success_ops([pair, name, account, ip], fresh_pair=True, account=account)
    assert ops == (
        Op(OpKind.RESET, account),
        Op(OpKind.RESET, pair),
        Op(OpKind.UNDO, name, unseen=True),
        Op(OpKind.UNDO, ip, unseen=True),
    )


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(1, "1 second"), (45, "45 seconds"), (60, "1 minute"), (61, "2 minutes"), (900, "15 minutes"),
     (3600, "60 minutes"), (7200, "2 hours"), (7201, "3 hours"), (DAY * 2, "2 days"), (90 * DAY, "90 days")],
)
def test_describe_wait(seconds, text):
    assert describe_wait(seconds) == text
