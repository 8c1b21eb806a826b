"""Benchmark our sign-in, sign-out, failed sign-in and audit ingest against baselines, in one run.

`make bench` runs this with the project's .venv (standard library only here).
Each contender runs in its own worker process (bench/worker.py) under
bench/.venv-peers, a venv this script creates the first time: the project's
dependencies pinned to the versions in .venv, plus django-axes. Our code is
put on the workers' sys.path, never installed there.

Contenders: ours (config.settings), plain (django.contrib.auth's LoginView
and LogoutView), axes (django-axes on top of plain). Rounds are interleaved
(every contender runs one batch of each figure per round, in a rotating
order) and the figures are medians over rounds, with ratios taken per round
against the baseline measured in that same round. See bench/README.md.
"""

import argparse
import importlib.metadata
import json
import os
import re
import shlex
import shutil
import statistics
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import common  # noqa: E402

PEERS_VENV = common.BENCH_DIR / ".venv-peers"
PEERS_STAMP = PEERS_VENV / "bench-requirements.txt"
# The peer itself; everything else in .venv-peers is pinned to the project's .venv.
PEER_PACKAGES = ["django-axes==8.3.1"]

DEFAULTS = {
    "rounds": 21,
    "cycles": 40,
    "failures": 60,
    "events": 200,
    "warmup": 30,
    "event_log": "file",
}

# --floors: ours' failed sign-in with only what the standards demand (bench/worker.py).
FLOORS = {
    "fail_floor_reserved": "ours, reservation + row",
    "fail_floor_row": "ours, row only",
}

FIGURES = {
    "cycle": "1. Sign-in + sign-out cycle",
    "fail": "2. Failed sign-in",
    "ingest": "3. log_auth_event ingest",
}


# --- the peers' environment ---------------------------------------------------


def peer_requirements() -> list[str]:
    """The project's dependencies pinned to the versions installed in .venv, plus the peers."""
    pyproject = tomllib.loads((common.REPO_DIR / "pyproject.toml").read_text())
    requirements = []
    for dependency in pyproject["project"]["dependencies"]:
        match = re.match(r"\s*([A-Za-z0-9][A-Za-z0-9._-]*)\s*(\[[^\]]*\])?", dependency)
        name, extras = match.group(1), match.group(2) or ""
        try:
            requirements.append(f"{name}{extras}=={importlib.metadata.version(name)}")
        except importlib.metadata.PackageNotFoundError:
            requirements.append(dependency.split(";")[0].strip())
    return requirements + PEER_PACKAGES


def ensure_peers_venv(recreate: bool) -> Path:
    """Create (first run) or reuse bench/.venv-peers; reinstall when the pins changed."""
    python = PEERS_VENV / "bin" / "python"
    requirements = peer_requirements()
    wanted = "\n".join(requirements) + "\n"
    if recreate and PEERS_VENV.exists():
        shutil.rmtree(PEERS_VENV)
    if python.exists() and PEERS_STAMP.exists() and PEERS_STAMP.read_text() == wanted:
        return python
    base = shutil.which("python3.11")
    if base is None:
        raise SystemExit("bench: python3.11 is needed to create bench/.venv-peers")
    print(f"bench: installing bench/.venv-peers (first run only): {' '.join(requirements)}", flush=True)
    if not python.exists():
        subprocess.run([base, "-m", "venv", str(PEERS_VENV)], check=True)
    subprocess.run(
        [str(python), "-m", "pip", "install", "--quiet", "--disable-pip-version-check",
         *requirements],
        check=True,
    )
    PEERS_STAMP.write_text(wanted)
    return python


# --- workers -----------------------------------------------------------------


class WorkerError(RuntimeError):
    pass


class Worker:
    """One contender's process; requests are answered one JSON line each."""

    def __init__(self, name: str, python: Path, env: dict) -> None:
        self.name = name
        self.stderr_path = common.WORK_DIR / f"{name}.stderr.log"
        self._stderr = open(self.stderr_path, "w")  # noqa: SIM115 (closed in stop())
        self.proc = subprocess.Popen(
            [str(python), str(common.BENCH_DIR / "worker.py"), name],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=self._stderr,
            env=env,
            cwd=common.REPO_DIR,
            text=True,
            bufsize=1,
        )
        self.info: dict = {}

    def receive(self) -> dict:
        line = self.proc.stdout.readline()
        if not line:
            raise WorkerError(f"worker {self.name} died; see {self.stderr_path}:\n{self._tail()}")
        message = json.loads(line)
        if message.get("event") == "error":
            raise WorkerError(f"worker {self.name}: {message['error']}\n{self._tail()}")
        return message

    def request(self, payload: dict) -> dict:
        self.proc.stdin.write(json.dumps(payload) + "\n")
        self.proc.stdin.flush()
        return self.receive()

    def _tail(self) -> str:
        self._stderr.flush()
        return "".join(self.stderr_path.read_text().splitlines(keepends=True)[-25:])

    def stop(self) -> None:
        if self.proc.poll() is None:
            try:
                self.proc.stdin.write(json.dumps({"op": "quit"}) + "\n")
                self.proc.stdin.flush()
                self.proc.wait(timeout=30)
            except (BrokenPipeError, subprocess.TimeoutExpired):
                self.proc.kill()
                self.proc.wait()
        self._stderr.close()


def database_target(name: str, database_url: str) -> tuple[str, str]:
    """Return (engine, target) of a contender: its own SQLite file, or its own PostgreSQL database."""
    if not database_url:
        return "sqlite", str(common.WORK_DIR / f"{name}.sqlite3")
    parts = urlsplit(database_url)
    if parts.scheme not in ("postgres", "postgresql", "pgsql"):
        raise SystemExit(f"bench: DATABASE_URL must be PostgreSQL, not {parts.scheme!r}")
    return "postgres", urlunsplit(parts._replace(path=f"/bench_{name}"))


def worker_env(name: str, args: argparse.Namespace, database_url: str) -> dict:
    # The workers get nothing of the caller's Django configuration: each
    # contender's settings module is the only source of its settings.
    dropped = {"DATABASE_URL", "REDIS_URL", "TRUSTED_PROXIES", "PYTHONPATH", "VIRTUAL_ENV"}
    env = {
        key: value
        for key, value in os.environ.items()
        if key not in dropped and not key.startswith(("DJANGO_", "BENCH_"))
    }
    engine, target = database_target(name, database_url)
    if args.code_dir:
        env["BENCH_CODE_DIR"] = str(args.code_dir)
    env.update(
        BENCH_DB_ENGINE=engine,
        BENCH_DB_TARGET=target,
        BENCH_EVENT_LOG=args.event_log,
        BENCH_WARMUP=str(args.warmup),
    )
    return env


# --- statistics ----------------------------------------------------------------
# Per batch: the median per-op time (p50, robust to a neighbour's burst on a
# shared machine) and the mean (what a throughput figure divides by). Over
# rounds: the median of those; ratios are taken per round against the
# baseline of the same round, then their median and interquartile range.


def batch_record(batch: dict) -> dict:
    record = {}
    for part in ("times", "login", "logout"):
        if part in batch:
            times = batch[part]
            key = "" if part == "times" else f"{part}_"
            record[f"{key}p50"] = statistics.median(times)
            record[f"{key}mean"] = sum(times) / len(times)
    record["n"] = len(batch["times"])
    return record


def summarise(records: list[dict]) -> dict:
    return {key: statistics.median(r[key] for r in records) for key in records[0] if key != "n"}


def quartiles(values: list[float]) -> tuple[float, float]:
    if len(values) < 2:
        return values[0], values[0]
    q1, _, q3 = statistics.quantiles(values, n=4, method="inclusive")
    return q1, q3


def paired_ratio(ours: list[dict], base: list[dict], key: str, *, throughput: bool = False) -> dict:
    """Median and quartiles over rounds of ours/base (time ratio, or events/s ratio)."""
    if throughput:  # (1 / ours time) / (1 / base time)
        ratios = [b[key] / o[key] for o, b in zip(ours, base, strict=True)]
    else:
        ratios = [o[key] / b[key] for o, b in zip(ours, base, strict=True)]
    q1, q3 = quartiles(ratios)
    return {"median": statistics.median(ratios), "q1": q1, "q3": q3, "all": ratios}


# --- the run -----------------------------------------------------------------


def parse_args(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=DEFAULTS["rounds"],
                        help="interleaved rounds; figures are medians over them (default %(default)s)")
    parser.add_argument("--cycles", type=int, default=DEFAULTS["cycles"],
                        help="sign-in + sign-out cycles per batch (default %(default)s)")
    parser.add_argument("--failures", type=int, default=DEFAULTS["failures"],
                        help="failed sign-ins per batch (default %(default)s)")
    parser.add_argument("--events", type=int, default=DEFAULTS["events"],
                        help="audit events per ingest batch (default %(default)s)")
    parser.add_argument("--warmup", type=int, default=DEFAULTS["warmup"],
                        help="untimed iterations of each op when a worker starts (default %(default)s)")
    parser.add_argument("--event-log", choices=("file", "null"), default=DEFAULTS["event_log"],
                        help="where the authlog.events stream (and axes' log) goes: a file under "
                             "bench/work/ or a NullHandler (default %(default)s)")
    parser.add_argument("--only", default="cycle,fail,ingest",
                        help="comma-separated figures to run: cycle, fail, ingest")
    parser.add_argument("--profile", action="store_true",
                        help="after the rounds, profile ours (cycle, fail, ingest, raw) and plain "
                             "(cycle, fail) with cProfile and print the top functions")
    parser.add_argument("--profile-n", type=int, default=300, help="iterations profiled (default %(default)s)")
    parser.add_argument("--profile-timer", choices=("wall", "cpu"), default="wall",
                        help="cProfile's clock: wall (fsync waits included) or cpu (this "
                             "process's CPU time only, steadier on a busy machine)")
    parser.add_argument("--floors", action="store_true",
                        help="figure 2 also times ours with only the failure's durable row, and with "
                             "the throttle's reservation plus that row: what the standards alone cost")
    parser.add_argument("--show-sql", action="store_true",
                        help="print the SQL of one iteration of each op, per contender")
    parser.add_argument("--code", default="worktree",
                        help="which project code to measure: 'worktree' (default, the files as "
                             "they are) or a git revision (e.g. HEAD), exported to bench/work/ "
                             "so edits in progress do not get in the way")
    parser.add_argument("--recreate-venv", action="store_true", help="rebuild bench/.venv-peers")
    parser.add_argument("--setup-only", action="store_true", help="create bench/.venv-peers and stop")
    args = parser.parse_args(argv)
    args.only = [f.strip() for f in args.only.split(",") if f.strip()]
    unknown = set(args.only) - set(FIGURES)
    if unknown:
        parser.error(f"unknown figures {sorted(unknown)}")
    return args


def _git(*args: str) -> str:
    return subprocess.run(["git", *args], cwd=common.REPO_DIR, capture_output=True, text=True,
                          check=True).stdout.strip()


def export_code(revision: str) -> tuple[str, Path]:
    """Export `revision` (without bench/) to bench/work/code-SHA/; return (sha, directory)."""
    try:
        sha = _git("rev-parse", "--verify", f"{revision}^{{commit}}")
    except (OSError, subprocess.CalledProcessError) as error:
        raise SystemExit(f"bench: cannot resolve --code {revision!r}: {error}") from error
    target = common.WORK_DIR / f"code-{sha[:12]}"
    if not target.exists():
        partial = target.with_name(target.name + ".partial")
        shutil.rmtree(partial, ignore_errors=True)
        partial.mkdir(parents=True)
        archive = subprocess.run(["git", "archive", "--format=tar", sha], cwd=common.REPO_DIR,
                                 capture_output=True, check=True).stdout
        subprocess.run(["tar", "-x", "-C", str(partial)], input=archive, check=True)
        # The benchmark itself always comes from this checkout's bench/.
        shutil.rmtree(partial / "bench", ignore_errors=True)
        partial.rename(target)
    return sha, target


def code_state(exported_sha: str | None) -> str:
    """The commit measured, and whether the work tree (outside bench/) differs from it."""
    if exported_sha:
        return f"code: commit {exported_sha[:12]}, exported to bench/work/ (work tree not used)"
    try:
        head = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=common.REPO_DIR,
                              capture_output=True, text=True, check=True).stdout.strip()
        status = subprocess.run(["git", "status", "--porcelain", "--untracked-files=no"],
                                cwd=common.REPO_DIR, capture_output=True, text=True,
                                check=True).stdout.splitlines()
    except (OSError, subprocess.CalledProcessError):
        return "code: not a git checkout"
    changed = [line[3:] for line in status if not line[3:].startswith("bench/")]
    if not changed:
        return f"code: commit {head}, clean work tree"
    return (f"code: commit {head} plus uncommitted changes to {len(changed)} files ("
            + ", ".join(changed[:6]) + (", ..." if len(changed) > 6 else "") + ")")


def reproduce_command(args: argparse.Namespace, argv: list[str], database_url: str) -> str:
    prefix = f"DATABASE_URL={shlex.quote(database_url)} " if database_url else ""
    if args.code_sha:  # a moving name such as HEAD is replaced by the commit measured
        pinned, skip = [], False
        for index, arg in enumerate(argv):
            if skip:
                skip = False
                continue
            if arg == "--code" and index + 1 < len(argv):
                skip = True
                continue
            if not arg.startswith("--code="):
                pinned.append(arg)
        argv = [*pinned, "--code", args.code_sha[:12]]
    if not argv:
        return f"{prefix}make bench   (= {prefix}.venv/bin/python bench/run.py)"
    return f"{prefix}.venv/bin/python bench/run.py {shlex.join(argv)}"


def main(argv: list[str]) -> int:
    args = parse_args(argv)
    python = ensure_peers_venv(args.recreate_venv)
    if args.setup_only:
        print(f"bench: {PEERS_VENV} is ready")
        return 0
    database_url = os.environ.get("DATABASE_URL", "").strip()
    common.WORK_DIR.mkdir(exist_ok=True)
    args.code_sha, args.code_dir = None, None
    if args.code != "worktree":
        args.code_sha, args.code_dir = export_code(args.code)
    args.code_state = code_state(args.code_sha)  # taken before the run: the tree may move
    for stale in common.WORK_DIR.glob("*.log"):
        stale.unlink()
    for stale in common.WORK_DIR.glob("*.jsonl"):
        stale.unlink()

    started = time.time()
    load_before = os.getloadavg()
    contenders = list(common.CONTENDERS)
    if args.only == ["ingest"]:
        contenders = ["ours"]
    workers = {name: Worker(name, python, worker_env(name, args, database_url)) for name in contenders}
    try:
        # Set-up and warm-up run in parallel (nothing is timed then); batches never do.
        for worker in workers.values():
            worker.info = worker.receive()["info"]
        probes = {}
        for name, worker in workers.items():
            ours_ops = ("ingest", "raw", *(FLOORS if args.floors else ()))
            for op in ("cycle", "fail", *(ours_ops if name == "ours" else ())):
                probes[(name, op)] = worker.request({"op": "probe", "target": op})

        # Lanes: (worker, op) pairs that are compared within a figure.
        lanes = {
            "cycle": [(name, "cycle") for name in contenders],
            "fail": [(name, "fail") for name in contenders]
            + ([("ours", op) for op in FLOORS] if args.floors and "ours" in contenders else []),
            "ingest": [("ours", "ingest"), ("ours", "raw")],
        }
        sizes = {"cycle": args.cycles, "fail": args.failures, "ingest": args.events, "raw": args.events,
                 **{op: args.failures for op in FLOORS}}
        records: dict[tuple[str, str], list[dict]] = {lane: [] for f in args.only for lane in lanes[f]}
        for round_index in range(args.rounds):
            for figure in args.only:
                figure_lanes = lanes[figure]
                shift = round_index % len(figure_lanes)
                for name, op in figure_lanes[shift:] + figure_lanes[:shift]:
                    batch = workers[name].request({"op": op, "n": sizes[op]})
                    records[(name, op)].append(batch_record(batch))
            print(f"bench: round {round_index + 1}/{args.rounds} done "
                  f"({time.time() - started:.0f} s)", file=sys.stderr, flush=True)

        profiles = {}
        if args.profile:
            targets = {"ours": ("cycle", "fail", "ingest", "raw"), "plain": ("cycle", "fail")}
            for name in [c for c in targets if c in workers]:
                for op in targets[name]:
                    if ("ingest" if op == "raw" else op) not in args.only:
                        continue
                    profiles[(name, op)] = workers[name].request(
                        {"op": "profile", "target": op, "n": args.profile_n, "limit": 35,
                         "timer": args.profile_timer}
                    )
    finally:
        for worker in workers.values():
            worker.stop()

    report = build_report(args, workers, records, lanes)
    elapsed = time.time() - started
    print_report(report, args, workers, probes, profiles, elapsed, load_before)
    print()
    print(f"reproduce: {reproduce_command(args, argv, database_url)}")
    results_path = common.WORK_DIR / "results.json"
    results_path.write_text(json.dumps({
        "argv": argv,
        "report": report,
        "info": {name: w.info for name, w in workers.items()},
        "records": {f"{n}:{o}": r for (n, o), r in records.items()},
        "probes": {f"{n}:{o}": p for (n, o), p in probes.items()},
    }, indent=2, default=str))
    print(f"raw numbers: {results_path.relative_to(common.REPO_DIR)}")
    return 0


def lane_label(name: str, op: str) -> str:
    """The row name of a lane: the contender, or what a floor of ours keeps."""
    return FLOORS.get(op, name)


def build_report(args, workers, records, lanes) -> dict:
    report: dict = {}
    for figure in ("cycle", "fail"):
        if figure not in args.only:
            continue
        base = records[("plain", figure)]
        figure_lanes = lanes[figure]
        report[figure] = {
            "rows": {lane_label(*lane): summarise(records[lane]) for lane in figure_lanes},
            "ratios": {
                lane_label(*lane): {key: paired_ratio(records[lane], base, key) for key in ("p50", "mean")}
                for lane in figure_lanes if lane != ("plain", figure)
            },
            "lanes": {lane_label(*lane): list(lane) for lane in figure_lanes},
        }
    if "ingest" in args.only:
        ours, raw = records[("ours", "ingest")], records[("ours", "raw")]
        report["ingest"] = {
            "rows": {"ingest": summarise(ours), "raw": summarise(raw)},
            "ratio": {key: paired_ratio(ours, raw, key, throughput=True) for key in ("p50", "mean")},
        }
    return report


def _ms(seconds: float) -> str:
    return f"{seconds * 1000:.3f}"


def _sql(summary: dict) -> str:
    return f"{summary['statements']}/{summary['writes']}/{summary['commits']}"


def _ratio(ratio: dict) -> str:
    return f"{ratio['median']:.2f}x [{ratio['q1']:.2f}-{ratio['q3']:.2f}]"


def _verdict(ratios: dict, target: float, *, at_most: bool) -> str:
    value = ratios["p50"]["median"]
    met = value <= target if at_most else value >= target
    sign = "<=" if at_most else ">="
    mean = ratios["mean"]["median"]
    agrees = (mean <= target) == (value <= target) if at_most else (mean >= target) == (value >= target)
    note = "" if agrees else f"; the mean-based ratio ({mean:.2f}x) says otherwise: noisy run, rerun"
    return f"target {sign} {target:.2f}x: {'MET' if met else 'NOT MET'} ({value:.3f}x){note}"


def print_report(report, args, workers, probes, profiles, elapsed, load_before) -> None:
    info = next(iter(workers.values())).info
    if info["vendor"] == "sqlite":
        pragmas = {name: w.info["pragmas"] for name, w in workers.items()}
        same = len({json.dumps(p, sort_keys=True) for p in pragmas.values()}) == 1
        db_line = (f"SQLite {info['sqlite']}, a fresh file per contender under bench/work/; "
                   f"PRAGMAs read back from each, {'identical' if same else 'DIFFERENT'}: "
                   + ", ".join(f"{k}={v}" for k, v in info["pragmas"].items()))
    else:
        db_line = (f"PostgreSQL {info['server']}, a fresh database per contender ("
                   + ", ".join(f"bench_{n}" for n in workers)
                   + f"), synchronous_commit={info['pragmas']['synchronous_commit']}")
    if "ours" in workers:
        stream = workers["ours"].info.get("event_stream", "?")
        stream = (f"a file, {Path(stream).relative_to(common.REPO_DIR)}"
                  if stream.startswith("/") else stream)
    else:
        stream = "-"
    axes = f", django-axes {workers['axes'].info['django_axes']}" if "axes" in workers else ""
    print()
    print("=" * 104)
    print(f"bench: {args.rounds} interleaved rounds, the order of the contenders rotating each round; "
          f"per round and contender one batch of {args.cycles} cycles, {args.failures} failed "
          f"sign-ins, {args.events} events")
    print(f"  warm-up: {args.warmup} untimed iterations of each op when a worker starts, "
          "2 more before every batch")
    print(f"  Python {info['python']}, Django {info['django']}{axes}, {os.cpu_count()} CPUs; "
          f"load average {load_before[0]:.2f} at start, {os.getloadavg()[0]:.2f} at end; "
          f"wall time {elapsed:.0f} s")
    print(f"  {args.code_state}")
    print(f"  {db_line}")
    engines = {name: w.info["session_engine"] for name, w in workers.items()}
    print(f"  everybody: {common.FAST_HASHER.rsplit('.', 1)[1]}, DEBUG=False, Django's test Client "
          "in-process (enforce_csrf_checks=False), one User-Agent; database sessions: "
          + ", ".join(f"{name} {engine}" for name, engine in engines.items()))
    print(f"  ours' authlog.events stream -> {stream}"
          + ("; axes' own log -> a file, bench/work/axes.log" if args.event_log == "file"
             else "; axes' log -> NullHandler"))
    print("  p50 = median over rounds of each batch's median time per op; mean = the same with each "
          "batch's mean;")
    print("  ratio = median over rounds of (contender / baseline of the same round) on p50s, "
          "[interquartile range over rounds]; 'mean ratio' the same on means")
    print("  SQL = statements (savepoints included, BEGIN/COMMIT not) / writing statements / durable commits "
          "(each one an fsync on SQLite) of one iteration, counted on an untimed run")

    for figure in ("cycle", "fail"):
        if figure not in report:
            continue
        rows, ratios = report[figure]["rows"], report[figure]["ratios"]
        width = max(6, *(len(label) for label in rows))
        print()
        if figure == "cycle":
            print(f"{FIGURES[figure]}: POST /login/ with the right password (302), then "
                  "POST /logout/ (302); times in ms")
            print(f"  {'':<{width}} {'p50':>7} {'mean':>7} {'sign-in':>8} {'sign-out':>8} {'SQL in':>7} "
                  f"{'SQL out':>7}  {'vs plain [IQR]':<20} {'mean ratio':>10}")
        else:
            print(f"{FIGURES[figure]}: POST /login/, existing user, wrong password (200, the form "
                  "again); times in ms")
            print(f"  {'':<{width}} {'p50':>7} {'mean':>7} {'SQL':>7}  {'vs plain [IQR]':<20} "
                  f"{'mean ratio':>10}")
        for name, row in rows.items():
            ratio = ratios.get(name)
            versus = _ratio(ratio["p50"]) if ratio else "1.00x (baseline)"
            mean_ratio = f"{ratio['mean']['median']:.2f}x" if ratio else ""
            probe = probes[tuple(report[figure]["lanes"][name])]
            if figure == "cycle":
                print(f"  {name:<{width}} {_ms(row['p50']):>7} {_ms(row['mean']):>7} "
                      f"{_ms(row['login_p50']):>8} {_ms(row['logout_p50']):>8} "
                      f"{_sql(probe['login']):>7} {_sql(probe['logout']):>7}  {versus:<20} {mean_ratio:>10}")
            else:
                print(f"  {name:<{width}} {_ms(row['p50']):>7} {_ms(row['mean']):>7} "
                      f"{_sql(probe['total']):>7}  {versus:<20} {mean_ratio:>10}")
        if "ours" in ratios:
            target = 1.0 if figure == "cycle" else 1.2
            print(f"  ours / plain: {_verdict(ratios['ours'], target, at_most=True)}")
        if "axes" in ratios:
            print(f"  axes / plain: {ratios['axes']['p50']['median']:.2f}x (for reference)")
        if figure == "fail":
            print("  lockout kept away: every attempt comes from a new client IP (198.18.0.0/15, "
                  "axes counts per IP by default)"
                  + (f" and AXES_FAILURE_LIMIT={workers['axes'].info['axes_failure_limit']:,}"
                     if "axes" in workers else "")
                  + "; every answer is checked to be 200 with no session")
            if args.floors:
                print("  floors (--floors, measuring tools that do not keep the trail whole): ours' own "
                      "view and sign-in with the failure's row written durably and nothing else "
                      "(no chain entry, counts, stream line or alert rules), without and with the "
                      "throttle's reservation before the hasher")

    if "ingest" in report:
        ingest = report["ingest"]
        print()
        sqlite = info["vendor"] == "sqlite"
        print(f"{FIGURES['ingest']}: events/s of log_auth_event, each call in its own "
              "transaction.atomic() (a commit per event),")
        print(f"  vs raw {'BEGIN IMMEDIATE' if sqlite else 'BEGIN'} + INSERT INTO login_logs (the "
              "same row) + COMMIT per event on the same Django connection, "
              + ("same file, same PRAGMAs" if sqlite else "same database"))
        print(f"  {'':<18} {'events/s p50':>12} {'events/s mean':>13} {'p50 ms':>7} {'SQL':>6}")
        for label, key in (("log_auth_event", "ingest"), ("raw INSERT+COMMIT", "raw")):
            row = ingest["rows"][key]
            print(f"  {label:<18} {1 / row['p50']:>12,.0f} {1 / row['mean']:>13,.0f} "
                  f"{_ms(row['p50']):>7} {_sql(probes[('ours', key)]['total']):>6}")
        print(f"  ours / raw: {_ratio(ingest['ratio']['p50'])}, mean ratio "
              f"{ingest['ratio']['mean']['median']:.2f}x; "
              f"{_verdict(ingest['ratio'], 0.5, at_most=False)}")

    if args.show_sql:
        print()
        print("SQL of one iteration (untimed probe):")
        for (name, op), probe in probes.items():
            print(f"  [{name} {op}] {_sql(probe['total'])}")
            for sql in probe["statements"]:
                print(f"      {sql}")

    for (name, op), profile in profiles.items():
        print()
        print(f"cProfile ({args.profile_timer} time) of {name} {op} x{args.profile_n}, "
              f"stats in {Path(profile['pstats']).relative_to(common.REPO_DIR)}, by own time:")
        print(profile["listings"]["tottime"])
        print(f"cProfile of {name} {op}, by cumulative time:")
        print(profile["listings"]["cumulative"])


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
