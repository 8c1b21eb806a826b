"""Benchmark the trail's hash chain (issue 6): verify throughput and memory, and its cost per sign-in.

`.venv/bin/python bench/bench_trail.py` (add DATABASE_URL=postgres://... for PostgreSQL).

1. verify: a trail is bulk-loaded (users, then events spread over 400 days:
   70% sign-ins and sign-outs, 30% failed sign-ins), chained by
   authlog.trail.backfill_chain, then `verify_trail` runs in a fresh
   process; its chain entries/s and the process's peak RSS are reported at
   each size of --sizes, the trail growing from one size to the next, so a
   flat peak RSS across sizes shows the walk is streamed.
2. cycle: the sign-in + sign-out cycle of bench/worker.py (POST /login/, POST
   /logout/, Django's test client) for three contenders in interleaved
   rounds: ours (the chain on), ours-nochain (the same code with
   authlog.trail.chain_event a no-op: the core product before this issue)
   and plain (django.contrib.auth's views, no audit trail); ratios are taken
   per round and their median reported, as bench/run.py does.
"""

import argparse
import json
import os
import resource
import shlex
import statistics
import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))

from bench import common  # noqa: E402

TRAIL_DB = "trail"
CYCLE_CONTENDERS = ("ours", "ours-nochain", "plain")
SPAN_DAYS = 400


# --- the children (Django runs only in them) ------------------------------------------


def child_setup() -> None:
    os.environ["DJANGO_SETTINGS_MODULE"] = "bench.settings_ours"
    import django

    django.setup()


def child_generate(total: int, fresh: bool) -> dict:
    """Grow the trail to `total` events (bulk INSERT), chain them, and return the timings."""
    import random

    if fresh:
        from bench.worker import prepare_database

        prepare_database(TRAIL_DB)
    child_setup()
    from django.core.management import call_command
    from django.db import connection, transaction
    from django.utils import timezone

    from authlog import trail
    from config.dbtime import to_db_time

    if fresh:
        call_command("migrate", verbosity=0, interactive=False)
        with connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO users (username, username_normalised, email, password_hash, is_admin,"
                " is_active) VALUES (%s, %s, NULL, '!', %s, %s)",
                [(f"user{i}", f"user{i}", False, True) for i in range(1000)],
            )
    with connection.cursor() as cursor:
        cursor.execute("SELECT (SELECT COUNT(*) FROM login_logs) + (SELECT COUNT(*) FROM failed_logins)")
        (have,) = cursor.fetchone()
        cursor.execute("SELECT MIN(id) FROM users")
        (first_user,) = cursor.fetchone()
    rng = random.Random(have)
    start = timezone.now() - timezone.timedelta(days=SPAN_DAYS)
    step = timezone.timedelta(days=SPAN_DAYS) / max(total, 1)
    agent = common.USER_AGENT
    load_started = time.perf_counter()
    for chunk_start in range(have, total, 50_000):
        logins, failures = [], []
        for index in range(chunk_start, min(total, chunk_start + 50_000)):
            at = to_db_time(start + step * index)
            user = first_user + rng.randrange(1000)
            ip = (
                f"2001:db8:{rng.randrange(65536):x}::{rng.randrange(65536):x}" if index % 10 == 0
                else f"10.{rng.randrange(256)}.{rng.randrange(256)}.{rng.randrange(256)}"
            )
            if index % 10 < 7:
                kind = "login" if index % 2 else "logout"
                logins.append((user, kind, ip, at, agent, "Chrome", "Linux", "desktop", f"{index:064x}"))
            else:
                failures.append((f"user{user - first_user}", user, "bad_password", ip, at, agent,
                                 "Chrome", "Linux", "desktop"))
        with transaction.atomic(), connection.cursor() as cursor:
            cursor.executemany(
                "INSERT INTO login_logs (user_id, event_type, ip_address, timestamp, user_agent,"
                " browser, os, device, session_ref) VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                logins,
            )
            cursor.executemany(
                "INSERT INTO failed_logins (attempted_username, user_id, reason, ip_address,"
                " timestamp, user_agent, browser, os, device)"
                " VALUES (%s, %s, %s, %s, %s, %s, %s, %s, %s)",
                failures,
            )
    loaded = time.perf_counter() - load_started
    chain_started = time.perf_counter()
    chained = trail.backfill_chain(batch_size=5000)
    chain_seconds = time.perf_counter() - chain_started
    if connection.vendor == "postgresql":
        # What autovacuum would have done by now on a trail this size: fresh statistics.
        with connection.cursor() as cursor:
            cursor.execute("ANALYZE")
    return {"events": total, "added": total - have, "load_seconds": loaded,
            "chained": chained, "chain_seconds": chain_seconds}


def child_verify(batch_size: int) -> dict:
    """Verify the whole trail once; return entries/s and this process's peak RSS."""
    child_setup()
    from django.db import connection

    from authlog.verify import verify_trail

    connection.ensure_connection()
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    report = verify_trail(record=False, batch_size=batch_size)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    return {
        "ok": report.ok, "problems": report.problem_count, "checked": report.checked,
        "seconds": report.seconds, "rate": report.rate,
        "rss_before_kb": rss_before, "peak_rss_kb": peak,
    }


def child_signins(stop_file: str) -> dict:
    """Sign in and out through HTTP until `stop_file` exists; return the latencies and failures."""
    child_setup()
    from django.db import connection
    from django.test import Client

    from accounts.registration import register_user

    name = f"load{os.getpid()}"
    user = register_user(username=name, email="", password=common.PASSWORD).user
    client = Client(REMOTE_ADDR="203.0.113.99", HTTP_USER_AGENT=common.USER_AGENT)
    times, failures = [], 0
    while not os.path.exists(stop_file):
        started = time.perf_counter()
        signed_in = client.post("/login/", {"username": name, "password": common.PASSWORD})
        signed_out = client.post("/logout/")
        times.append(time.perf_counter() - started)
        failures += (signed_in.status_code != 302) + (signed_out.status_code != 302)
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM login_logs WHERE user_id = %s", [user.id])
        (recorded,) = cursor.fetchone()
    times.sort()
    return {
        "cycles": len(times), "failures": failures, "events_expected": 2 * len(times),
        "events_recorded": recorded, "p50": times[len(times) // 2] if times else 0,
        "p99": times[int(len(times) * 0.99)] if times else 0, "max": times[-1] if times else 0,
    }


def child_prune(batch_size: int, pause: float) -> dict:
    """Prune the trail for real with these batches and pauses; return what it did."""
    child_setup()
    from authlog import retention

    started = time.perf_counter()
    report = retention.prune_trail(for_real=True, batch_size=batch_size, pause=pause)
    return {"seconds": time.perf_counter() - started, "events": report.events,
            "entries_dropped": report.entries_dropped}


# --- the orchestrator ---------------------------------------------------------------------


def database_target(name: str, database_url: str) -> tuple[str, str]:
    if not database_url:
        return "sqlite", str(common.WORK_DIR / f"{name}.sqlite3")
    parts = urlsplit(database_url)
    return "postgres", urlunsplit(parts._replace(path=f"/bench_{name.replace('-', '_')}"))


def child_env(name: str, database_url: str) -> dict:
    dropped = {"DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {k: v for k, v in os.environ.items() if k not in dropped and not k.startswith(("DJANGO_", "BENCH_"))}
    engine, target = database_target(name, database_url)
    env.update(BENCH_DB_ENGINE=engine, BENCH_DB_TARGET=target, BENCH_EVENT_LOG="null", BENCH_WARMUP="30")
    return env


def run_child(mode: str, args: list[str], database_url: str) -> dict:
    result = subprocess.run(
        [sys.executable, __file__, mode, *args], cwd=REPO_DIR, env=child_env(TRAIL_DB, database_url),
        capture_output=True, text=True, check=False,
    )
    if result.returncode != 0:
        raise SystemExit(f"bench_trail: {mode} failed:\n{result.stderr[-4000:]}")
    return json.loads(result.stdout.strip().splitlines()[-1])


def bench_prune_under_load(batch_size: int, prune_batch: int, prune_pause: float, database_url: str) -> dict:
    """Prune the trail bench_verify left while another process signs in and out, then verify."""
    stop_file = common.WORK_DIR / "trail-signins.stop"
    stop_file.unlink(missing_ok=True)
    env = child_env(TRAIL_DB, database_url)

    def spawn(mode: str, *args: str) -> subprocess.Popen:
        return subprocess.Popen([sys.executable, __file__, mode, *args], cwd=REPO_DIR, env=env,
                                stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    idle = spawn("_signins", str(stop_file))
    time.sleep(5)
    stop_file.touch()
    idle_out, idle_err = idle.communicate(timeout=120)
    stop_file.unlink()
    signins = spawn("_signins", str(stop_file))
    time.sleep(2)
    pruned = run_child("_prune", [str(prune_batch), str(prune_pause)], database_url)
    stop_file.touch()
    out, err = signins.communicate(timeout=120)
    stop_file.unlink()
    if idle.returncode or signins.returncode:
        raise SystemExit(f"bench_trail: the sign-in load failed:\n{idle_err[-2000:]}{err[-2000:]}")
    verified = run_child("_verify", [str(batch_size)], database_url)
    return {"prune": pruned, "idle": json.loads(idle_out.strip().splitlines()[-1]),
            "during": json.loads(out.strip().splitlines()[-1]), "verify": verified}


def bench_verify(sizes: list[int], batch_size: int, database_url: str, *, reuse: bool) -> list[dict]:
    results = []
    for index, size in enumerate(sizes):
        fresh = index == 0 and not reuse
        generated = run_child("_generate", [str(size), "1" if fresh else "0"], database_url)
        print(f"bench_trail: {size:,} events loaded in {generated['load_seconds']:.0f} s, "
              f"{generated['chained']:,} chained in {generated['chain_seconds']:.0f} s", file=sys.stderr,
              flush=True)
        verified = run_child("_verify", [str(batch_size)], database_url)
        if not verified["ok"]:
            raise SystemExit(f"bench_trail: the generated trail does not verify: {verified}")
        results.append({"size": size, **generated, **verified})
    return results


class Worker:
    """One cycle contender (bench/trail_worker.py), one JSON line each way."""

    def __init__(self, name: str, database_url: str) -> None:
        self.name = name
        self.stderr_path = common.WORK_DIR / f"trail-{name}.stderr.log"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [sys.executable, str(common.BENCH_DIR / "trail_worker.py"), name],
            stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=self._stderr,
            env=child_env(f"trail-{name}", database_url), cwd=REPO_DIR, text=True, bufsize=1,
        )

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise SystemExit(f"bench_trail: worker {self.name} died; see {self.stderr_path}")
        message = json.loads(line)
        if message.get("event") == "error":
            raise SystemExit(f"bench_trail: worker {self.name}: {message['error']}")
        return message

    def request(self, payload: dict) -> dict:
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def stop(self) -> None:
        if self.proc.poll() is None:
            self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
            self.proc.stdin.flush()
            self.proc.wait(timeout=60)
        self._stderr.close()


def bench_cycle(rounds: int, cycles: int, events: int, database_url: str) -> dict:
    workers = {name: Worker(name, database_url) for name in CYCLE_CONTENDERS}
    try:
        for worker in workers.values():
            worker.receive()  # ready (set up and warmed up)
        probes = {name: w.request({"op": "probe", "target": "cycle"}) for name, w in workers.items()}
        records: dict[str, list[dict]] = {name: [] for name in workers}
        ingest: dict[str, list[dict]] = {"ours": [], "ours-nochain": []}
        names = list(workers)
        for round_index in range(rounds):
            shift = round_index % len(names)
            for name in names[shift:] + names[:shift]:
                batch = workers[name].request({"op": "cycle", "n": cycles})
                records[name].append({
                    "p50": statistics.median(batch["times"]),
                    "mean": sum(batch["times"]) / len(batch["times"]),
                })
            for name in (("ours", "ours-nochain") if round_index % 2 else ("ours-nochain", "ours")):
                batch = workers[name].request({"op": "ingest", "n": events})
                ingest[name].append({
                    "p50": statistics.median(batch["times"]),
                    "mean": sum(batch["times"]) / len(batch["times"]),
                })
            print(f"bench_trail: cycle round {round_index + 1}/{rounds}", file=sys.stderr, flush=True)
    finally:
        for worker in workers.values():
            worker.stop()

    def ratio(a: str, b: str, key: str, source: dict = records) -> dict:
        values = [x[key] / y[key] for x, y in zip(source[a], source[b], strict=True)]
        q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive") if len(values) > 1 else (values * 3)
        return {"median": statistics.median(values), "q1": q1, "q3": q3}

    return {
        "rows": {name: {k: statistics.median(r[k] for r in recs) for k in ("p50", "mean")}
                 for name, recs in records.items()},
        "ratios": {
            pair: {key: ratio(*pair.split("/"), key) for key in ("p50", "mean")}
            for pair in ("ours/ours-nochain", "ours/plain", "ours-nochain/plain")
        },
        "sql": {name: {part: probe[part] for part in ("login", "logout")} for name, probe in probes.items()},
        "ingest": {
            "rows": {name: {k: statistics.median(r[k] for r in recs) for k in ("p50", "mean")}
                     for name, recs in ingest.items()},
            "ratio": {key: ratio("ours", "ours-nochain", key, ingest) for key in ("p50", "mean")},
        },
    }


def _setting_default(name: str):
    """Read a default of authlog/conf.py without setting Django up."""
    import ast

    tree = ast.parse((REPO_DIR / "authlog" / "conf.py").read_text())
    for node in ast.walk(tree):
        if isinstance(node, ast.Dict):
            for key, value in zip(node.keys, node.values, strict=True):
                if isinstance(key, ast.Constant) and key.value == name and isinstance(value, ast.Call):
                    return ast.literal_eval(value.args[0])
    raise SystemExit(f"bench_trail: no default for {name} in authlog/conf.py")


def main(argv: list[str]) -> int:
    if argv and argv[0] == "_generate":
        print(json.dumps(child_generate(int(argv[1]), argv[2] == "1")))
        return 0
    if argv and argv[0] == "_verify":
        print(json.dumps(child_verify(int(argv[1]))))
        return 0
    if argv and argv[0] == "_signins":
        print(json.dumps(child_signins(argv[1])))
        return 0
    if argv and argv[0] == "_prune":
        print(json.dumps(child_prune(int(argv[1]), float(argv[2]))))
        return 0
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", default="100000,1000000",
                        help="trail sizes verified, growing (default %(default)s)")
    parser.add_argument("--batch-size", type=int, default=5000, help="VERIFY_BATCH_SIZE (default %(default)s)")
    parser.add_argument("--prune-batch", type=int, default=None,
                        help="PRUNE_BATCH_SIZE for part 2b (default: the setting's)")
    parser.add_argument("--prune-pause", type=float, default=None,
                        help="PRUNE_PAUSE_SECONDS for part 2b (default: the setting's)")
    parser.add_argument("--reuse", action="store_true",
                        help="keep the trail of the last run and only grow it to the first size")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved cycle rounds (default %(default)s)")
    parser.add_argument("--cycles", type=int, default=40, help="cycles per batch (default %(default)s)")
    parser.add_argument("--events", type=int, default=200,
                        help="log_auth_event calls per ingest batch (default %(default)s)")
    parser.add_argument("--only", default="verify,prune,cycle",
                        help="verify, prune (needs verify's trail), cycle (default %(default)s)")
    args = parser.parse_args(argv)
    args.prune_batch = args.prune_batch or _setting_default("PRUNE_BATCH_SIZE")
    args.prune_pause = args.prune_pause if args.prune_pause is not None else _setting_default("PRUNE_PAUSE_SECONDS")
    only = {part.strip() for part in args.only.split(",")}
    database_url = os.environ.get("DATABASE_URL", "").strip()
    common.WORK_DIR.mkdir(exist_ok=True)
    started, load = time.time(), os.getloadavg()[0]
    results: dict = {"argv": argv}
    if "verify" in only:
        results["verify"] = bench_verify(
            [int(s) for s in args.sizes.split(",")], args.batch_size, database_url, reuse=args.reuse
        )
    if "prune" in only:
        results["prune"] = bench_prune_under_load(
            args.batch_size, args.prune_batch, args.prune_pause, database_url
        )
    if "cycle" in only:
        results["cycle"] = bench_cycle(args.rounds, args.cycles, args.events, database_url)

    print()
    print("=" * 100)
    print(f"bench_trail: {'PostgreSQL' if database_url else 'SQLite (WAL, synchronous=FULL)'}, "
          f"Python {sys.version.split()[0]}, {os.cpu_count()} CPUs, load {load:.2f} at start, "
          f"{os.getloadavg()[0]:.2f} at end, wall {time.time() - started:.0f} s")
    if "verify" in results:
        print()
        print("1. authlog verify: the whole chain, in a fresh process; peak RSS of that process")
        print(f"  {'events':>11} {'entries/s':>10} {'verify s':>9} {'RSS before':>11} {'peak RSS':>9}"
              f" {'chain backfill/s':>17}")
        for r in results["verify"]:
            print(f"  {r['size']:>11,} {r['rate']:>10,.0f} {r['seconds']:>9.1f} "
                  f"{r['rss_before_kb'] / 1024:>9.1f}MB {r['peak_rss_kb'] / 1024:>7.1f}MB "
                  f"{r['chained'] / max(r['chain_seconds'], 1e-9):>17,.0f}")
    if "prune" in results:
        prune, idle, during = results["prune"]["prune"], results["prune"]["idle"], results["prune"]["during"]
        verified = results["prune"]["verify"]
        print()
        print(f"2b. authlog prune --for-real on that trail (batches of {args.prune_batch}, {args.prune_pause} s"
              " pauses) while another process signs in and out through HTTP")
        print(f"  pruned {prune['events']:,} events and dropped {prune['entries_dropped']:,} chain entries"
              f" in {prune['seconds']:.0f} s")
        for label, run in (("idle", idle), ("during prune", during)):
            print(f"  sign-in+out {label:<13} {run['cycles']:>5} cycles, p50 {run['p50'] * 1000:6.1f} ms,"
                  f" p99 {run['p99'] * 1000:6.1f} ms, max {run['max'] * 1000:6.1f} ms, {run['failures']}"
                  f" failed, {run['events_recorded']}/{run['events_expected']} events recorded")
        print(f"  verify afterwards: {'ok' if verified['ok'] else 'FAILED'}, {verified['checked']:,} entries,"
              f" {verified['rate']:,.0f} entries/s")
    if "cycle" in results:
        cycle = results["cycle"]
        print()
        print(f"2. sign-in + sign-out cycle, {args.rounds} interleaved rounds of {args.cycles} cycles; "
              "ms per cycle (median over rounds)")
        for name, row in cycle["rows"].items():
            sql = cycle["sql"][name]
            print(f"  {name:<13} p50 {row['p50'] * 1000:7.3f}  mean {row['mean'] * 1000:7.3f}   "
                  f"SQL in {sql['login']['statements']}/{sql['login']['writes']}/{sql['login']['commits']}"
                  f"  out {sql['logout']['statements']}/{sql['logout']['writes']}/{sql['logout']['commits']}"
                  " (statements/writes/commits)")
        for pair, ratios in cycle["ratios"].items():
            p50, mean = ratios["p50"], ratios["mean"]
            print(f"  {pair:<22} {p50['median']:.2f}x [{p50['q1']:.2f}-{p50['q3']:.2f}] on p50s, "
                  f"{mean['median']:.2f}x on means")
        target = cycle["ratios"]["ours/plain"]["p50"]["median"]
        print(f"  core target (ours / plain <= 1.00x): {'MET' if target <= 1.0 else 'NOT MET'} ({target:.2f}x)")
        ingest = cycle["ingest"]
        print()
        print(f"3. log_auth_event alone, each in its own transaction (a commit per event), {args.events} per"
              " batch, interleaved; ms per event")
        for name, row in ingest["rows"].items():
            print(f"  {name:<13} p50 {row['p50'] * 1000:7.3f}  mean {row['mean'] * 1000:7.3f}")
        p50 = ingest["ratio"]["p50"]
        delta = (ingest["rows"]["ours"]["p50"] - ingest["rows"]["ours-nochain"]["p50"]) * 1000
        print(f"  ours/ours-nochain      {p50['median']:.2f}x [{p50['q1']:.2f}-{p50['q3']:.2f}] on p50s: the chain"
              f" step costs {delta:+.3f} ms per event")
    prefix = f"DATABASE_URL={shlex.quote(database_url)} " if database_url else ""
    print()
    print(f"reproduce: {prefix}.venv/bin/python bench/bench_trail.py {shlex.join(argv)}".rstrip())
    out = common.WORK_DIR / "trail-results.json"
    out.write_text(json.dumps(results, indent=2, default=str))
    print(f"raw numbers: {out.relative_to(REPO_DIR)}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
