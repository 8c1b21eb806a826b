"""Benchmark the dashboard on a large synthetic trail: page, drill-down, chart and export times.

    .venv/bin/python bench/bench_dashboard.py --events 10000000      # generate (once) and measure
    .venv/bin/python bench/bench_dashboard.py --events 10000000 --reuse  # measure an existing database

Fills bench/work/dashboard-<N>.sqlite3 with N events (10k users, 200k
addresses, one year), through bulk SQL rather than the services (the
services cost a user-agent parse and several statements per event), then
builds the chart counts and address keys with the very backfill the
migration runs. Server time is measured in-process with Django's test client:
view, queries and template, not the network. The export runs in a fresh
process so its peak memory is its own. Figures are medians of --runs
requests after one warm-up request each; the first request to a cold page
cache is reported separately.
"""

import argparse
import hashlib
import importlib
import json
import os
import random
import resource
import statistics
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO))

USER_AGENTS = [
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Safari/605.1.15",
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36",
    "Mozilla/5.0 (iPhone; CPU iPhone OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Linux; Android 14; Pixel 8) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Mobile Safari/537.36",
    "Mozilla/5.0 (iPad; CPU OS 17_4 like Mac OS X) AppleWebKit/605.1.15 (KHTML, like Gecko) Version/17.4 Mobile/15E148 Safari/604.1",
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0.0.0 Safari/537.36 Edg/124.0.0.0",
]
BOT_AGENTS = ["python-requests/2.31.0", "curl/8.5.0", "Go-http-client/1.1", None]


def setup_django(db_path: Path) -> None:
    os.environ["DATABASE_URL"] = f"sqlite:///{db_path}"
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    os.environ["DJANGO_LOG_LEVEL"] = "WARNING"
    import django

    django.setup()
    from django.conf import settings

    # Production behaviour for the queries: no per-query debug logging (the
    # static files storage stays the development one, which needs no manifest).
    settings.DEBUG = False


def address(n: int) -> str:
    """Return the n-th of the bench's addresses: IPv4 from 10.0.0.0/8, every tenth IPv6."""
    if n % 10 == 9:
        return f"2001:db8:{n // 65536:x}:{n % 65536:x}::1"
    return f"10.{n // 65536 % 256}.{n // 256 % 256}.{n % 256}"


def generate(*, events: int, users: int, ips: int, days: int, seed: int = 4) -> None:
    """Fill the (migrated, empty) database with users, events, sessions and the counts."""
    from django.db import connection

    from accounts.session_engine import SessionStore
    from accounts.sessions import SESSION_AUTH_HASH, SESSION_USER_ID
    from authlog.user_agent import summarise_user_agent

    rng = random.Random(seed)
    started = time.perf_counter()
    raw = connection.cursor().connection  # the sqlite3 connection: executemany at C speed
    raw.execute("PRAGMA synchronous=OFF")
    raw.execute("PRAGMA cache_size=-1000000")
    index_sql = [row[0] for row in raw.execute(
        "SELECT sql FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('login_logs', 'failed_logins')")]
    for (name,) in raw.execute(
        "SELECT name FROM sqlite_master WHERE type = 'index' AND sql IS NOT NULL"
        " AND tbl_name IN ('login_logs', 'failed_logins')").fetchall():
        raw.execute(f"DROP INDEX {name}")
    # Triggers of other features (none expected) would slow the load; list them for the record.
    raw.execute("BEGIN")
    raw.executemany(
        "INSERT INTO users (id, username, username_normalised, password_hash, is_admin, is_active,"
        " created_at) VALUES (?, ?, ?, '!bench', 0, 1, '2024-01-01 00:00:00.000')",
        [(i, f"user{i:05d}", f"user{i:05d}") for i in range(1, users + 1)],
    )
    raw.execute("COMMIT")
    summaries = {ua: summarise_user_agent(ua) for ua in USER_AGENTS + BOT_AGENTS}
    # Each user has a few addresses and one or two browsers; attackers are a few thousand addresses.
    homes = {u: [rng.randrange(ips) for _ in range(rng.randint(1, 6))] for u in range(1, users + 1)}
    agents = {u: rng.sample(USER_AGENTS, rng.randint(1, 2)) for u in range(1, users + 1)}
    attackers = [rng.randrange(ips) for _ in range(3000)]
    # Zipf-like activity: a few users sign in far more often than most.
    weights = [1 / (rank ** 0.8) for rank in range(1, users + 1)]
    user_pool = rng.choices(range(1, users + 1), weights=weights, k=200_000)
    now = datetime.now(UTC).replace(tzinfo=None)
    start = now - timedelta(days=days)
    span = (now - start).total_seconds()
    # 85% of events are sign-ins and their sign-outs (a session is two events), 15% failures.
    sessions = int(events * 0.85 / 1.9)
    failures = events - sessions - int(sessions * 0.9)
    logins, logs, fails = 0, [], []
    step = span / sessions
    ref_counter = 0

    def flush() -> None:
        nonlocal logs, fails
        logs.sort(key=lambda row: row[3])
        raw.execute("BEGIN")
        raw.executemany(
            "INSERT INTO login_logs (user_id, event_type, ip_address, timestamp, user_agent, browser,"
            " os, device, session_ref) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", logs)
        raw.executemany(
            "INSERT INTO failed_logins (attempted_username, user_id, reason, ip_address, timestamp,"
            " user_agent, browser, os, device) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)", fails)
        raw.execute("COMMIT")
        logs, fails = [], []

    fail_every = sessions / max(failures, 1)
    next_failure = 0.0
    for i in range(sessions):
        at = start + timedelta(seconds=i * step + rng.random() * step)
        user = user_pool[i % len(user_pool)] if i % 7 else rng.randint(1, users)
        ip = address(rng.choice(homes[user]))
        ua = rng.choice(agents[user])
        s = summaries[ua]
        ref_counter += 1
        ref = hashlib.sha256(ref_counter.to_bytes(8, "big")).hexdigest()
        stamp = at.isoformat(sep=" ", timespec="milliseconds")
        logs.append((user, "login", ip, stamp, ua, s.browser, s.os, s.device, ref))
        if rng.random() < 0.9:
            seconds = min(rng.lognormvariate(7.5, 1.6), 30 * 86400)
            end = at + timedelta(seconds=seconds)
            if end < now:
                logs.append((user, "logout", ip, end.isoformat(sep=" ", timespec="milliseconds"), ua,
                             s.browser, s.os, s.device, ref))
        while next_failure <= i:
            next_failure += fail_every
            fat = (at + timedelta(seconds=rng.random() * step)).isoformat(sep=" ", timespec="milliseconds")
            if rng.random() < 0.6:  # an attacker: unknown names or real ones, a bot's agent
                fip = address(attackers[min(int(rng.paretovariate(1.2)) - 1, len(attackers) - 1)])
                bua = rng.choice(BOT_AGENTS)
                b = summaries[bua]
                target = rng.randint(1, users)
                if rng.random() < 0.5:
                    fails.append((f"unknown:{rng.getrandbits(80):020x}", None, "unknown_user", fip, fat,
                                  bua, b.browser, b.os, b.device))
                else:
                    fails.append((f"user{target:05d}", target, "bad_password", fip, fat, bua,
                                  b.browser, b.os, b.device))
            else:  # a typo from the user's own browser
                fails.append((f"user{user:05d}", user, "bad_password", ip, fat, ua, s.browser, s.os, s.device))
        logins += 1
        if len(logs) >= 200_000:
            flush()
            print(f"  {i * 100 // sessions}% ({time.perf_counter() - started:.0f} s)", flush=True)
    flush()
    print(f"  rows written in {time.perf_counter() - started:.0f} s; indexing", flush=True)
    for sql in index_sql:
        raw.execute(sql)
    print(f"  indexed at {time.perf_counter() - started:.0f} s; building the counts", flush=True)
    backfill = importlib.import_module("authlog.migrations.0002_dashboard_counts").backfill
    backfill(connection)
    # Live sessions: the last sign-in of 5,000 users, not yet signed out.
    decoder = SessionStore()
    from accounts.sessions import session_auth_hash
    from accounts.store import user_by_id

    expiry = (now + timedelta(days=14)).isoformat(sep=" ")
    rows = []
    for user_id in range(1, 5001):
        ref = raw.execute("SELECT session_ref FROM login_logs WHERE user_id = ? AND event_type = 'login'"
                          " ORDER BY timestamp DESC LIMIT 1", (user_id,)).fetchone()
        if ref:
            data = decoder.encode({SESSION_USER_ID: user_id,
                                   SESSION_AUTH_HASH: session_auth_hash(user_by_id(user_id=user_id))})
            rows.append((f"bench{user_id:035d}", data, expiry, user_id, ref[0]))
    raw.execute("BEGIN")
    raw.executemany("INSERT INTO user_sessions (session_key, session_data, expire_date, user_id,"
                    " session_ref) VALUES (?, ?, ?, ?, ?)", rows)
    raw.execute("COMMIT")
    print(f"  done in {time.perf_counter() - started:.0f} s", flush=True)


def admin_client():
    from django.test import Client

    from accounts.registration import register_user
    from accounts.session_engine import SessionStore
    from accounts.sessions import attach_user
    from accounts.store import user_by_normalised_username

    user = user_by_normalised_username(username_normalised="bench-admin")
    if user is None:
        user = register_user(username="bench-admin", email="", password="bench admin passphrase 1",
                             is_admin=True).user
    session = SessionStore()
    attach_user(session, user)
    session.save()
    client = Client(REMOTE_ADDR="127.0.0.1", HTTP_HOST="127.0.0.1")
    client.cookies["sessionid"] = session.session_key
    return client


def timed(client, url: str, runs: int) -> dict:
    def once() -> float:
        started = time.perf_counter()
        response = client.get(url)
        elapsed = time.perf_counter() - started
        assert response.status_code == 200, (url, response.status_code, response.content[:300])
        return elapsed * 1000

    cold = once()
    times = [once() for _ in range(runs)]
    return {"url": url, "cold_ms": round(cold, 1), "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 1)}


def timed_call(name: str, function, runs: int) -> dict:
    function()
    times = []
    for _ in range(runs):
        started = time.perf_counter()
        function()
        times.append((time.perf_counter() - started) * 1000)
    return {"url": name, "median_ms": round(statistics.median(times), 1),
            "p95_ms": round(sorted(times)[int(len(times) * 0.95) - 1], 1)}


def measure(runs: int) -> list[dict]:
    from django.db import connection
    from django.utils import timezone

    from authlog import history
    from authlog.store import EventFilter

    client = admin_client()
    cursor = connection.cursor()
    heavy_user = cursor.execute("SELECT user_id FROM login_logs WHERE user_id IS NOT NULL"
                                " GROUP BY user_id ORDER BY COUNT(*) DESC LIMIT 1").fetchone()[0]
    typical_user = 5000
    attacker_ip = cursor.execute("SELECT ip_address FROM failure_ip_days GROUP BY ip_address"
                                 " ORDER BY SUM(n) DESC LIMIT 1").fetchone()[0]
    typical_ip = cursor.execute("SELECT ip_address FROM login_logs WHERE user_id = %s LIMIT 1",
                                [typical_user]).fetchone()[0]
    since = (timezone.now() - timedelta(days=30)).date().isoformat()
    # Page 1,000 of the unfiltered timeline, reached by following 999 "older" links.
    before = None
    for _ in range(999):
        page = history.timeline_page(event_filter=EventFilter(), before=before, limit=50)
        before = history.parse_cursor(page.next_cursor)
    page_1000 = "/dashboard/?before=" + history.format_cursor(before).replace(" ", "+")
    prefix16 = ".".join(typical_ip.split(".")[:2]) + ".0.0/16" if "." in typical_ip else "2001:db8::/32"
    now = timezone.now()
    results = [
        timed(client, "/dashboard/", runs),
        timed(client, f"/dashboard/?type=login_failed&since={since}", runs),
        timed(client, "/dashboard/?user=user00042", runs),
        timed(client, f"/dashboard/?ip={prefix16}", runs),
        timed(client, "/dashboard/?browser=firefox&device=desktop", runs),
        timed(client, page_1000, runs),
        timed(client, f"/dashboard/users/{heavy_user}/", runs),
        timed(client, f"/dashboard/users/{typical_user}/", runs),
        timed(client, f"/dashboard/ips/{attacker_ip}/", runs),
        timed(client, f"/dashboard/ips/{typical_ip}/", runs),
        timed(client, "/dashboard/sessions/", runs),
        timed(client, "/dashboard/charts/", runs),
        timed(client, "/dashboard/charts/?days=90", runs),
        timed_call("chart: events per day, 30 days", lambda: history.events_per_day(days=30, now=now), runs),
        timed_call("chart: events per day, 90 days", lambda: history.events_per_day(days=90, now=now), runs),
        timed_call("chart: failed sign-ins per hour, 48 h", lambda: history.failures_per_hour(hours=48, now=now), runs),
        timed_call("chart: top addresses by failures, 30 days", lambda: history.top_failing_addresses(days=30, now=now), runs),
        timed_call("chart: top addresses by failures, 90 days", lambda: history.top_failing_addresses(days=90, now=now), runs),
        timed_call("chart: session durations, 90 days", lambda: history.session_durations(days=90, now=now), runs),
        timed(client, "/account/activity/", runs),
    ]
    results[2]["note"] = "user filter"
    results[-1]["note"] = "the admin's own activity page"
    return results


def export(rows_wanted: int) -> dict:
    """Stream a CSV export of about `rows_wanted` rows; report rows/s and peak memory (run alone)."""
    from django.db import connection

    baseline = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    client = admin_client()
    cursor = connection.cursor()
    # The newest `rows_wanted` events start here (both tables together).
    stamp = cursor.execute(
        "SELECT timestamp FROM (SELECT timestamp FROM login_logs UNION ALL SELECT timestamp FROM"
        " failed_logins) ORDER BY timestamp DESC LIMIT 1 OFFSET %s", [rows_wanted - 1]).fetchone()[0]
    since = stamp.replace(" ", "T") + "Z" if isinstance(stamp, str) else stamp.isoformat()
    before_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    started = time.perf_counter()
    response = client.get("/dashboard/events.csv", {"since": since})
    lines = size = 0
    start_rss = peak_rss = current_rss_mb()
    for number, chunk in enumerate(response.streaming_content):
        lines += chunk.count(b"\r\n")
        size += len(chunk)
        if number % 200 == 0:
            peak_rss = max(peak_rss, current_rss_mb())
    elapsed = time.perf_counter() - started
    # ru_maxrss survives exec (it would be the parent's peak): sample VmRSS instead.
    del baseline, before_rss
    return {"rows": lines - 1, "seconds": round(elapsed, 1), "rows_per_s": int((lines - 1) / elapsed),
            "mb": round(size / 1e6), "rss_at_start_mb": start_rss, "peak_rss_mb": peak_rss}


def current_rss_mb() -> int:
    """Return this process's resident memory now, in MB (Linux /proc)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) // 1024
    return 0


def main() -> None:
    parser = argparse.ArgumentParser(description="Benchmark the dashboard on a large synthetic trail.")
    parser.add_argument("--events", type=int, default=10_000_000, help="Events to generate (default 10M).")
    parser.add_argument("--users", type=int, default=10_000, help="Users (default 10,000).")
    parser.add_argument("--ips", type=int, default=200_000, help="Distinct addresses (default 200,000).")
    parser.add_argument("--days", type=int, default=365, help="Days the events span (default 365).")
    parser.add_argument("--runs", type=int, default=20, help="Timed requests per page (default 20).")
    parser.add_argument("--export-rows", type=int, default=1_000_000, help="Rows of the export (default 1M).")
    parser.add_argument("--reuse", action="store_true", help="Measure an existing database, do not generate.")
    parser.add_argument("--export-only", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    work = REPO / "bench" / "work"
    work.mkdir(parents=True, exist_ok=True)
    db_path = work / f"dashboard-{args.events}.sqlite3"
    if args.export_only:
        setup_django(db_path)
        print(json.dumps(export(args.export_rows)))
        return
    if not args.reuse:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{db_path}{suffix}").unlink(missing_ok=True)
    setup_django(db_path)
    from django.core.management import call_command

    if not args.reuse:
        call_command("migrate", verbosity=0)
        print(f"generating {args.events:,} events into {db_path}", flush=True)
        started = time.perf_counter()
        generate(events=args.events, users=args.users, ips=args.ips, days=args.days)
        print(f"generated in {time.perf_counter() - started:.0f} s", flush=True)
    from django.db import connection

    counts = connection.cursor().execute(
        "SELECT (SELECT COUNT(*) FROM login_logs), (SELECT COUNT(*) FROM failed_logins)").fetchone()
    print(f"trail: {counts[0]:,} sign-ins/outs + {counts[1]:,} failures = {sum(counts):,} events; "
          f"SQLite {connection.cursor().connection.execute('select sqlite_version()').fetchone()[0]}")
    for result in measure(args.runs):
        print(json.dumps(result), flush=True)
    out = subprocess.run(
        [sys.executable, __file__, "--events", str(args.events), "--export-only",
         "--export-rows", str(args.export_rows)],
        capture_output=True, text=True, check=True)
    print("export: " + out.stdout.strip().splitlines()[-1])
    print(f"command: .venv/bin/python bench/bench_dashboard.py --events {args.events} --reuse")


if __name__ == "__main__":
    main()
