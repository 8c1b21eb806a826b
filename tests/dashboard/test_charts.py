"""Chart counts are kept by the event's own transaction and agree with a GROUP BY over the trail."""

import importlib
import random
from datetime import UTC, datetime, timedelta
from html.parser import HTMLParser

import pytest
from django.db import connection, transaction
from django.utils import timezone

from authlog import events, history, store
from authlog.aggregates import DURATION_BOUNDS, duration_bucket
from authlog.networks import address_key, parse_network
from dashboard.charts import Column, Series, column_chart, compact_number, nice_step, ranked
from tests.conftest import rows

backfill = importlib.import_module("authlog.migrations.0002_dashboard_counts").backfill


def counts() -> dict[str, list]:
    return {
        table: sorted(rows(f"SELECT * FROM {table}"), key=str)
        for table in ("event_counts", "failure_ip_days", "session_duration_days", "ip_keys")
    }


@pytest.fixture
def busy(make_user, login_event, failure):
    alice, bob = make_user("alice"), make_user("bob")
    for n in range(3):
        login_event(alice, ip=f"203.0.113.{n}", session_key=f"a{n}")
        login_event(alice, "logout", ip=f"203.0.113.{n}", session_key=f"a{n}")
    login_event(bob, ip="2001:db8::5", session_key="b")
    failure("bob", user=bob, ip="192.0.2.1")
    failure("nobody", ip="192.0.2.1")
    failure("nobody", ip="192.0.2.2")
    return alice, bob


def test_counts_kept_on_write_equal_the_migrations_backfill(busy):
    kept = counts()
    assert sum(n for _, _, n in kept["event_counts"]) == 10
    backfill(connection)
    assert counts() == kept


def test_a_rolled_back_event_is_not_counted(make_user):
    alice = make_user("alice")
    before = rows("SELECT COALESCE(SUM(n), 0) FROM event_counts")
    with pytest.raises(RuntimeError), transaction.atomic():
        events.log_auth_event(alice.id, events.LOGIN, "192.0.2.9")
        raise RuntimeError("the sign-in failed after its event")
    assert rows("SELECT COALESCE(SUM(n), 0) FROM event_counts") == before
    assert rows("SELECT COUNT(*) FROM ip_keys WHERE ip_address = '192.0.2.9'") == [(0,)]


def test_the_charts_read_the_counts(busy):
    now = timezone.now()
    today = history.events_per_day(days=30, now=now)[-1]
    assert (today.logins, today.logouts, today.failures) == (4, 3, 3)
    assert sum(n for _, n in history.failures_per_hour(hours=48, now=now)) == 3
    assert history.top_failing_addresses(days=30, now=now) == [("192.0.2.1", 2), ("192.0.2.2", 1)]
    assert dict(history.session_durations(days=30, now=now))["< 1 min"] == 3


def test_events_per_day_fills_empty_days_with_zeros(db):
    days = history.events_per_day(days=90, now=datetime(2026, 3, 1, 12, tzinfo=UTC))
    assert len(days) == 90 and days[-1].day.isoformat() == "2026-03-01"
    assert {(d.logins, d.logouts, d.failures) for d in days} == {(0, 0, 0)}


def test_the_charts_page_draws_and_lists_the_numbers(admin_client, busy):
    html = admin_client.get("/dashboard/charts/").content.decode()
    assert html.count('<svg class="chart-svg"') == 3
    assert "192.0.2.1" in html and "Show the numbers" in html
    assert admin_client.get("/dashboard/charts/?days=7").status_code == 400
    # Every bar's geometry reaches the browser as four numeric attributes.
    bars = _rects(html)
    assert bars and all(set(bar) >= {"x", "y", "width", "height"} for bar in bars)
    assert all(float(bar["height"]) > 0 and float(bar["x"]) >= 0 for bar in bars)


def _rects(html: str) -> list[dict]:
    class Rects(HTMLParser):
        found: list[dict] = []

        def handle_starttag(self, tag, attrs):
            if tag == "rect":
                self.found.append(dict(attrs))

    parser = Rects()
    parser.found = []
    parser.feed(html)
    return parser.found


@pytest.mark.parametrize(
    ("seconds", "bucket"),
    [(-30, 0), (0, 0), (59.9, 0), (60, 1), (299, 1), (3600, 4), (7 * 86400, len(DURATION_BOUNDS)), (1e9, 8)],
)
def test_duration_buckets(seconds, bucket):
    assert duration_bucket(seconds) == bucket


@pytest.mark.parametrize(
    ("maximum", "step"), [(0, 1), (3, 1), (10, 5), (17, 5), (40, 10), (99, 50), (1234, 500)]
)
def test_nice_step(maximum, step):
    assert nice_step(maximum) == step


def test_column_chart_stacks_and_scales():
    chart = column_chart(
        [Column("a", "day a", (2, 1)), Column("b", "day b", (0, 4))],
        series=(Series("login", "Sign-ins"), Series("login_failed", "Failures")),
    )
    assert chart.total == 7
    assert [bar.series for bar in chart.bars] == ["login", "login_failed", "login_failed"]
    assert all(bar.y + bar.height <= chart.plot_bottom + 0.01 for bar in chart.bars)
    assert chart.bars[0].title == "day a: 2 sign-ins"
    assert column_chart([], series=()).total == 0


def test_compact_numbers_and_ranks():
    assert [compact_number(n) for n in (999, 1000, 1250, 2_500_000)] == ["999", "1k", "1.2k", "2.5M"]
    assert [share.percent for share in ranked([("a", 10), ("b", 5)])] == [100.0, 50.0]


@pytest.mark.parametrize(
    ("network", "inside", "outside"),
    [
        ("10.1.0.0/16", "10.1.255.255", "10.2.0.0"),
        ("203.0.113.0/24", "203.0.113.7", "203.0.112.255"),
        ("2001:db8:1::/48", "2001:db8:1:ffff::1", "2001:db8:2::"),
        ("2001:db8::/32", "2001:db8::", "2001:db9::"),
        ("::ffff:10.0.0.0/104", "10.9.9.9", "11.0.0.0"),
    ],
)
def test_a_network_is_one_range_of_keys(network, inside, outside):
    import ipaddress

    parsed = parse_network(network)
    low, high = address_key(parsed.network_address), address_key(parsed.broadcast_address)
    assert low <= address_key(ipaddress.ip_address(inside)) <= high
    assert not low <= address_key(ipaddress.ip_address(outside)) <= high


@pytest.mark.parametrize("text", ["10.0.0.0/33", "10.0.0.0/+8", "010.0.0.0/8", "10.0.0.0/٨", "x/8", "1.2.3.4"])
def test_bad_networks_are_refused(text):
    assert parse_network(text) is None


def test_an_old_failure_counts_on_its_own_day(db, failure):
    event = failure("nobody", ip="192.0.2.3")
    day = event.timestamp.astimezone(UTC).date()
    assert history.top_failing_addresses(days=1, now=event.timestamp) == [("192.0.2.3", 1)]
    assert history.top_failing_addresses(days=1, now=event.timestamp + timedelta(days=1)) == []
    assert rows("SELECT COUNT(*) FROM failure_ip_days") == [(1,)] and day


def _failures_on(ip: str, day: datetime, n: int) -> None:
    for _ in range(n):
        store.add_event_counts(event_type="login_failed", at=day, ip_address=ip, ip_failure=True)


def _top_by_group_by(*, days: int, now: datetime, limit: int) -> list[tuple[str, int]]:
    """The oracle: every address of the period summed."""
    since = now.date() - timedelta(days=days - 1)
    totals = rows(
        "SELECT ip_address, SUM(n) FROM failure_ip_days WHERE day >= %s GROUP BY ip_address",
        [since.isoformat() if connection.vendor == "sqlite" else since],
    )
    return sorted(((ip, int(n)) for ip, n in totals), key=lambda item: (-item[1], item[0]))[:limit]


def test_top_addresses_find_a_steady_attacker_behind_the_bursts(db):
    """The busiest days belong to bursts; the most failures come from steady addresses and an older one."""
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    for offset in range(30):
        _failures_on("192.0.2.1", now - timedelta(days=offset), 4)  # 120 in all, never more than 4 a day
    for n, ip in enumerate(("198.51.100.5", "198.51.100.3", "198.51.100.4", "198.51.100.1")):
        _failures_on(ip, now - timedelta(days=n), 50)  # a burst each, tied at 50
    for offset in range(12):
        _failures_on("203.0.113.8", now - timedelta(days=offset), 5)  # 60, busier days than the steady one
    for offset in range(10, 21):
        _failures_on("192.0.2.77", now - timedelta(days=offset), 30)  # the most, none in the last week
    _failures_on("203.0.113.9", now - timedelta(days=40), 500)  # before the period
    _failures_on("203.0.113.7", now - timedelta(days=3), 1)
    top = history.top_failing_addresses(days=30, now=now, limit=3)
    assert top == [("192.0.2.77", 330), ("192.0.2.1", 120), ("203.0.113.8", 60)]
    assert top == _top_by_group_by(days=30, now=now, limit=3)


@pytest.mark.parametrize("seed", range(4))
def test_top_addresses_equal_a_group_by_over_the_whole_period(db, seed):
    rng = random.Random(seed)
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    for _ in range(150):
        ip = f"192.0.2.{int(rng.paretovariate(1.0)) % 40}"
        _failures_on(ip, now - timedelta(days=rng.randrange(45)), rng.choice((1, 1, 2, 3, 9)))
    for days, limit in ((7, 3), (30, 5), (30, 10), (90, 10)):
        assert history.top_failing_addresses(days=days, now=now, limit=limit) == _top_by_group_by(
            days=days, now=now, limit=limit
        )


def test_events_per_day_sum_the_hours_of_each_utc_day(db):
    now = datetime(2026, 3, 31, 12, tzinfo=UTC)
    for at, event_type in (
        (datetime(2026, 3, 29, 23, 59, tzinfo=UTC), events.LOGIN),
        (datetime(2026, 3, 30, 0, 1, tzinfo=UTC), events.LOGIN),
        (datetime(2026, 3, 30, 23, 0, tzinfo=UTC), events.LOGIN),
        (datetime(2026, 3, 30, 23, 30, tzinfo=UTC), events.LOGIN_FAILED),
        (datetime(2026, 3, 1, 0, 0, tzinfo=UTC), events.LOGOUT),  # before a 30-day period
    ):
        store.add_event_counts(event_type=event_type, at=at)
    per_day = {day.day.isoformat(): (day.logins, day.logouts, day.failures)
               for day in history.events_per_day(days=30, now=now)}
    assert len(per_day) == 30
    assert per_day["2026-03-29"] == (1, 0, 0)
    assert per_day["2026-03-30"] == (2, 0, 1)
    assert sum(map(sum, per_day.values())) == 4
