"""Benchmark the throttle (issue 5): its cost per sign-in, and its state after 1M distinct client IPs.

`.venv/bin/python bench/bench_throttle.py`                     (both parts; SQLite, Redis database 14)
`.venv/bin/python bench/bench_throttle.py --parts cost`        (the cost only, a minute or two)
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/bench_throttle.py --backends database`

1. cost: the two timed operations of bench/run.py (a sign-in + sign-out
   cycle of one user from one address; a failed sign-in of that user from a
   new address each time, as bench/worker.py does them) in one process with
   bench/settings_ours.py, alternating GUARD['ENABLED'] on and off in
   interleaved rounds (the order flipping each round). Reported: the median
   time per op with the throttle on and off, and the median over rounds of
   on/off, so the throttle's own share of bench/run.py's ratios can be read off.

2. memory: each of --ips distinct IPv4 addresses (10.0.0.0/8 onwards) fails once on one
of --names usernames that match no account, the shape of a credential-stuffing
run, through guard.throttle.reserve_attempt: the very function sign_in calls,
so the counters made are those of a real attack. Per address: one 'ip' and one
'pair' counter; per name: one 'username' and one 'account' counter. Each
backend runs in its own process (bench/settings_ours.py, like the other
benchmarks) and reports:

- Redis: used_memory before and after (server-wide: other clients add noise),
  and the sum over every kind of counter of MEMORY USAGE of a sample of its
  keys times its number of keys; the keys are deleted afterwards (--keep keeps them).
- database: the size of guard_counters with its indexes (SQLite: dbstat, or
  the file's growth; PostgreSQL: pg_total_relation_size), and its rows.
"""

import argparse
import json
import os
import random
import shlex
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import common  # noqa: E402

DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/14"
SAMPLE = 2000


def ip_of(n: int) -> str:
    n += 10 << 24  # 10.0.0.0 onwards: 16M addresses before the block ends
    return f"{n >> 24 & 255}.{n >> 16 & 255}.{n >> 8 & 255}.{n & 255}"


def _child_env(backend: str, args: argparse.Namespace) -> dict:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("DJANGO_", "BENCH_"))}
    env.pop("REDIS_URL", None)
    database_url = env.pop("DATABASE_URL", "").strip()
    if database_url:
        parts = urlsplit(database_url)
        env.update(BENCH_DB_ENGINE="postgres",
                   BENCH_DB_TARGET=urlunsplit(parts._replace(path=f"/bench_throttle_{backend}")))
    else:
        env.update(BENCH_DB_ENGINE="sqlite",
                   BENCH_DB_TARGET=str(common.WORK_DIR / f"throttle-{backend}.sqlite3"))
    env.update(BENCH_EVENT_LOG="null", DJANGO_SETTINGS_MODULE="bench.settings_ours")
    if backend == "redis":
        env["REDIS_URL"] = args.redis_url  # config.settings makes it the default RedisCache
    return env


def _prepare_database() -> None:
    engine, target = os.environ["BENCH_DB_ENGINE"], os.environ["BENCH_DB_TARGET"]
    if engine == "sqlite":
        for suffix in ("", "-wal", "-shm"):
            Path(target + suffix).unlink(missing_ok=True)
        return
    import psycopg

    parts = urlsplit(target)
    with psycopg.connect(urlunsplit(parts._replace(path="/postgres")), autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{parts.path.lstrip("/")}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{parts.path.lstrip("/")}"')


def _redis_keys(client, prefix: str) -> dict[str, list[bytes]]:
    by_kind: dict[str, list[bytes]] = {}
    for key in client.scan_iter(match=prefix + "*", count=5000):
        kind = key[len(prefix):].split(b":", 1)[0].decode()
        by_kind.setdefault(kind, []).append(key)
    return by_kind


def _redis_footprint(client, prefix: str) -> dict:
    by_kind = _redis_keys(client, prefix)
    estimate, per_kind = 0, {}
    rng = random.Random(1)
    for kind, keys in by_kind.items():
        sample = rng.sample(keys, min(SAMPLE, len(keys)))
        pipe = client.pipeline(transaction=False)
        for key in sample:
            pipe.memory_usage(key, samples=0)
        sizes = [size or 0 for size in pipe.execute()]
        mean = sum(sizes) / len(sizes)
        per_kind[kind] = {"keys": len(keys), "bytes_per_key": round(mean, 1)}
        estimate += mean * len(keys)
    return {"by_kind": per_kind, "keys": sum(len(k) for k in by_kind.values()), "bytes": int(estimate)}


def _delete_keys(client, prefix: str) -> None:
    batch = []
    for key in client.scan_iter(match=prefix + "*", count=5000):
        batch.append(key)
        if len(batch) >= 5000:
            client.delete(*batch)
            batch = []
    if batch:
        client.delete(*batch)


def _database_footprint() -> dict:
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT kind, COUNT(*) FROM guard_counters GROUP BY kind ORDER BY kind")
        by_kind = {kind: {"rows": count} for kind, count in cursor.fetchall()}
        rows = sum(v["rows"] for v in by_kind.values())
        if connection.vendor == "postgresql":
            cursor.execute("VACUUM ANALYZE guard_counters")
            cursor.execute(
                "SELECT pg_total_relation_size('guard_counters'), pg_relation_size('guard_counters'),"
                " pg_indexes_size('guard_counters')"
            )
            total, heap, indexes = cursor.fetchone()
            return {"by_kind": by_kind, "rows": rows, "bytes": total, "table_bytes": heap,
                    "index_bytes": indexes, "how": "pg_total_relation_size"}
        cursor.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        try:
            cursor.execute(
                "SELECT name, SUM(pgsize) FROM dbstat WHERE name LIKE 'guard_counters%' GROUP BY name"
            )
            sizes = dict(cursor.fetchall())
            return {"by_kind": by_kind, "rows": rows, "bytes": sum(sizes.values()),
                    "objects": sizes, "how": "dbstat"}
        except Exception:  # noqa: BLE001 - SQLite built without the dbstat table
            return {"by_kind": by_kind, "rows": rows, "how": "file growth (see file_growth_bytes)"}


def child(backend: str, args: argparse.Namespace) -> None:
    """Run in a fresh process with bench.settings_ours: make the counters, measure, answer one JSON line."""
    _prepare_database()
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connection
    from django.test import RequestFactory

    from guard import throttle
    from guard.counters import primary_counters

    call_command("migrate", verbosity=0, interactive=False)
    if primary_counters().name != backend:
        raise SystemExit(f"expected the {backend} backend, got {primary_counters().name}")
    request = RequestFactory().post("/login/")
    names = [f"sprayed-name-{n}" for n in range(args.names)]
    redis_client = prefix = None
    before = {}
    if backend == "redis":
        from django.core.cache import caches

        cache = caches["default"]
        redis_client = cache._cache.get_client(write=True)
        prefix = cache.make_key("guard:")
        _delete_keys(redis_client, prefix)
        before["used_memory"] = redis_client.info("memory")["used_memory"]
    else:
        file_before = Path(os.environ["BENCH_DB_TARGET"]).stat().st_size if connection.vendor == "sqlite" else 0
    started = time.perf_counter()
    for n in range(args.ips):
        attempt = throttle.reserve_attempt(request, username=names[n % args.names], user=None,
                                           ip_address=ip_of(n))
        if not attempt.allowed:
            raise SystemExit(f"attempt {n} was refused: the benchmark measures counting, not lockouts")
        if n and n % 100_000 == 0:
            print(f"bench: {backend}: {n:,} addresses, {time.perf_counter() - started:.0f} s",
                  file=sys.stderr, flush=True)
    seconds = time.perf_counter() - started
    result = {"backend": backend, "ips": args.ips, "names": args.names, "seconds": round(seconds, 1),
              "attempts_per_second": round(args.ips / seconds)}
    if backend == "redis":
        result["used_memory_delta"] = redis_client.info("memory")["used_memory"] - before["used_memory"]
        result.update(_redis_footprint(redis_client, prefix))
        result["server"] = redis_client.info("server")["redis_version"]
        if not args.keep:
            _delete_keys(redis_client, prefix)
    else:
        result.update(_database_footprint())
        result["vendor"] = connection.vendor
        if connection.vendor == "sqlite":
            result["file_growth_bytes"] = Path(os.environ["BENCH_DB_TARGET"]).stat().st_size - file_before
    print(json.dumps(result), flush=True)


def _mb(value: float) -> str:
    return f"{value / 1e6:,.1f} MB"


def cost_child(args: argparse.Namespace) -> None:
    """Time the cycle and the failure with the throttle on and off; answer one JSON line."""
    import gc
    import statistics

    _prepare_database()
    import django

    django.setup()
    from django.conf import settings
    from django.core.management import call_command
    from django.db import connection
    from django.test import Client, override_settings

    from accounts.registration import register_user

    call_command("migrate", verbosity=0, interactive=False)
    register_user(username=common.USERNAME, email="", password=common.PASSWORD)
    cycle_client = Client(REMOTE_ADDR=common.CYCLE_IP, HTTP_USER_AGENT=common.USER_AGENT)
    fail_client = Client(HTTP_USER_AGENT=common.USER_AGENT)
    good = {"username": common.USERNAME, "password": common.PASSWORD}
    bad = {"username": common.USERNAME, "password": common.WRONG_PASSWORD}
    failures = [0]

    def cycle(n: int) -> list[float]:
        times = []
        for _ in range(n):
            t0 = time.perf_counter()
            signed_in = cycle_client.post("/login/", good)
            cycle_client.post("/logout/")
            times.append(time.perf_counter() - t0)
            assert signed_in.status_code == 302, signed_in.status_code
        return times

    def fail(n: int) -> list[float]:
        times = []
        for _ in range(n):
            ip = common.failure_ip(failures[0])
            failures[0] += 1
            t0 = time.perf_counter()
            response = fail_client.post("/login/", bad, REMOTE_ADDR=ip)
            times.append(time.perf_counter() - t0)
            assert response.status_code == 200, response.status_code
        return times

    def statements(op) -> int:
        seen = []
        with connection.execute_wrapper(lambda execute, sql, *a: seen.append(sql) or execute(sql, *a)):
            op(1)
        return len(seen)

    modes = {"on": {**settings.GUARD, "ENABLED": True}, "off": {**settings.GUARD, "ENABLED": False}}
    result: dict = {"rounds": args.rounds}
    for mode, guard in modes.items():
        with override_settings(GUARD=guard):
            cycle(args.warmup)
            fail(args.warmup)
            result[f"sql_{mode}"] = {"cycle": statements(cycle), "fail": statements(fail)}
    batches: dict = {(mode, op): [] for mode in modes for op in ("cycle", "fail")}
    for index in range(args.rounds):
        order = ["on", "off"] if index % 2 == 0 else ["off", "on"]
        for mode in order:
            with override_settings(GUARD=modes[mode]):
                for op, run, n in (("cycle", cycle, args.cycles), ("fail", fail, args.failures)):
                    run(2)
                    gc.collect()
                    batches[(mode, op)].append(statistics.median(run(n)))
        print(f"bench: cost round {index + 1}/{args.rounds}", file=sys.stderr, flush=True)
    for op in ("cycle", "fail"):
        on, off = batches[("on", op)], batches[("off", op)]
        ratios = sorted(a / b for a, b in zip(on, off, strict=True))
        q1, _, q3 = statistics.quantiles(ratios, n=4, method="inclusive")
        result[op] = {"on_ms": statistics.median(on) * 1000, "off_ms": statistics.median(off) * 1000,
                      "ratio": statistics.median(ratios), "q1": q1, "q3": q3}
    result["vendor"] = connection.vendor
    print(json.dumps(result), flush=True)


def _report_cost(r: dict) -> None:
    print(f"throttle cost: bench/worker.py's two operations in one process (bench/settings_ours.py, "
          f"{r['vendor']}), GUARD ENABLED on vs off, {r['rounds']} interleaved rounds; p50 per op")
    for op, label in (("cycle", "sign-in + sign-out cycle"), ("fail", "failed sign-in")):
        c = r[op]
        print(f"  {label:<25} on {c['on_ms']:7.3f} ms  off {c['off_ms']:7.3f} ms  "
              f"on/off {c['ratio']:.2f}x [{c['q1']:.2f}-{c['q3']:.2f}]  "
              f"(+{c['on_ms'] - c['off_ms']:.2f} ms; SQL statements {r['sql_on'][op]} vs {r['sql_off'][op]})")


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--parts", default="cost,memory", help="cost, memory, or both (default)")
    parser.add_argument("--rounds", type=int, default=15, help="cost: interleaved rounds (default %(default)s)")
    parser.add_argument("--cycles", type=int, default=40, help="cost: cycles per batch (default %(default)s)")
    parser.add_argument("--failures", type=int, default=60, help="cost: failures per batch (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=30, help="cost: untimed iterations first (default %(default)s)")
    parser.add_argument("--ips", type=int, default=1_000_000, help="distinct client IPs (default %(default)s)")
    parser.add_argument("--names", type=int, default=1000, help="usernames they spray (default %(default)s)")
    parser.add_argument("--backends", default="redis,database", help="redis, database, or both (default)")
    parser.add_argument("--redis-url", default=DEFAULT_REDIS_URL, help="Redis for the counters (default %(default)s)")
    parser.add_argument("--keep", action="store_true", help="leave the Redis keys in place")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child == "cost":
        cost_child(args)
        return 0
    if args.child:
        child(args.child, args)
        return 0
    common.WORK_DIR.mkdir(exist_ok=True)
    parts = [part.strip() for part in args.parts.split(",") if part.strip()]
    results = []
    if "cost" in parts:
        command = [sys.executable, __file__, "--child", "cost", "--rounds", str(args.rounds),
                   "--cycles", str(args.cycles), "--failures", str(args.failures), "--warmup", str(args.warmup)]
        done = subprocess.run(command, env=_child_env("cost", args), cwd=REPO_DIR,
                              stdout=subprocess.PIPE, text=True, check=True)
        cost = json.loads(done.stdout.strip().splitlines()[-1])
        results.append({"part": "cost", **cost})
        print()
        _report_cost(cost)
    backends = [b.strip() for b in args.backends.split(",") if b.strip()] if "memory" in parts else []
    for backend in backends:
        command = [sys.executable, __file__, "--child", backend, "--ips", str(args.ips),
                   "--names", str(args.names), "--redis-url", args.redis_url] + (["--keep"] if args.keep else [])
        done = subprocess.run(command, env=_child_env(backend, args), cwd=REPO_DIR,
                              stdout=subprocess.PIPE, text=True, check=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
    if backends:
        print()
        print(f"throttle state after {args.ips:,} distinct client IPs, each failing once on one of "
          f"{args.names:,} names (guard.throttle.reserve_attempt)")
    for r in results:
        if r.get("part") == "cost":
            continue
        if r["backend"] == "redis":
            kinds = ", ".join(f"{k} {v['keys']:,} x {v['bytes_per_key']:.0f} B" for k, v in sorted(r["by_kind"].items()))
            print(f"  Redis {r['server']}: {r['keys']:,} keys, {_mb(r['bytes'])} by MEMORY USAGE "
                  f"({r['bytes'] / r['ips']:.0f} B per IP; {kinds}); used_memory grew "
                  f"{_mb(r['used_memory_delta'])} ({r['used_memory_delta'] / r['ips']:.0f} B per IP); "
                  f"{r['attempts_per_second']:,} attempts/s")
        else:
            size = r.get("bytes") or r.get("file_growth_bytes", 0)
            kinds = ", ".join(f"{k} {v['rows']:,}" for k, v in sorted(r["by_kind"].items()))
            print(f"  {r['vendor']} guard_counters: {r['rows']:,} rows ({kinds}), {_mb(size)} "
                  f"({size / r['ips']:.0f} B per IP, {r['how']}); {r['attempts_per_second']:,} attempts/s")
    prefix = f"DATABASE_URL={shlex.quote(os.environ['DATABASE_URL'])} " if os.environ.get("DATABASE_URL") else ""
    print(f"\nreproduce: {prefix}.venv/bin/python bench/bench_throttle.py {shlex.join(argv)}".rstrip())
    (common.WORK_DIR / "throttle-results.json").write_text(json.dumps(results, indent=2))
    print("raw numbers: bench/work/throttle-results.json")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
