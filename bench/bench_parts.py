"""Where the time of an event goes: bench/run.py's ingest or failed sign-in, with parts switched off.

`.venv/bin/python bench/bench_parts.py`                        (ingest, SQLite, 15 rounds)
`.venv/bin/python bench/bench_parts.py --op fail --rounds 21`
`DATABASE_URL=postgres://postgres@127.0.0.1:5432/x .venv/bin/python bench/bench_parts.py`

One process with bench/settings_ours.py (database bench/work/parts.sqlite3,
or the database `bench_parts` next to DATABASE_URL's, dropped and created),
running the operation exactly as bench/worker.py does, in interleaved rounds:
everything on, then the same with one part replaced by a no-op (the hash
chain's entry, the chart counts, the JSON line of the event stream, the alert
rules of a failure), and, for the ingest, bench/run.py's raw INSERT+COMMIT
floor. Reported: the median time per op, and what switching each part off
saves. A measurement tool only: the variants do not keep the trail whole.
"""

import argparse
import os
import shlex
import statistics
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

REPO_DIR = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_DIR))


def _database_env() -> None:
    url = os.environ.get("DATABASE_URL", "").strip()
    if url:
        parts = urlsplit(url)
        os.environ["BENCH_DB_ENGINE"] = "postgres"
        os.environ["BENCH_DB_TARGET"] = urlunsplit(parts._replace(path="/bench_parts"))
    else:
        os.environ["BENCH_DB_ENGINE"] = "sqlite"
        os.environ["BENCH_DB_TARGET"] = str(REPO_DIR / "bench" / "work" / "parts.sqlite3")
    os.environ.setdefault("BENCH_EVENT_LOG", "file")
    (REPO_DIR / "bench" / "work").mkdir(exist_ok=True)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--op", choices=("ingest", "fail"), default="ingest", help="which figure of bench/run.py")
    parser.add_argument("--rounds", type=int, default=15, help="interleaved rounds; medians over them")
    parser.add_argument("--n", type=int, default=200, help="operations per variant and round")
    args = parser.parse_args()
    _database_env()

    from bench import worker

    worker.prepare_database("ours")
    contender = worker.Contender("ours")
    from authlog import aggregates, events, trail
    from guard import throttle

    parts = {
        "hash chain entry": (trail, "chain_event", lambda event: None),
        "chart counts": (aggregates, "count_event", lambda event: None),
        "event stream line": (events, "emit_event_line", lambda *a, **k: None),
    }
    if args.op == "fail":
        parts["alert rules"] = (throttle, "attempt_failed", lambda *a, **k: None)
    operation = getattr(contender, args.op)

    def without(part: str | None):
        def run(n: int) -> list[float]:
            if part is None:
                return operation(n)["times"]
            module, name, stand_in = parts[part]
            original = getattr(module, name)
            setattr(module, name, stand_in)
            try:
                return operation(n)["times"]
            finally:
                setattr(module, name, original)

        return run

    variants = {"everything on": without(None)}
    variants.update({f"without {part}": without(part) for part in parts})
    if args.op == "ingest":
        variants["raw INSERT+COMMIT"] = lambda n: contender.raw(n)["times"]
    medians: dict[str, list[float]] = {name: [] for name in variants}
    for run in variants.values():
        run(30)  # warm-up
    load = os.getloadavg()[0]
    for round_number in range(args.rounds):
        names = list(variants)
        if round_number % 2:
            names.reverse()
        for name in names:
            medians[name].append(statistics.median(variants[name](args.n)))
    base = statistics.median(medians["everything on"])
    print(f"{args.op}: median over {args.rounds} rounds of per-round medians ({args.n} ops each), "
          f"{contender.connection.vendor}; load average {load:.2f} at start, {os.getloadavg()[0]:.2f} at end")
    for name, values in medians.items():
        value = statistics.median(values)
        print(f"  {name:28s} {value * 1e3:7.3f} ms   {(base - value) * 1e3:+7.3f} ms vs everything on")
    command = [".venv/bin/python", "bench/bench_parts.py", "--op", args.op, "--rounds", str(args.rounds)]
    if args.n != 200:
        command += ["--n", str(args.n)]
    prefix = "DATABASE_URL=… " if os.environ.get("DATABASE_URL") else ""
    print(f"reproduce: {prefix}{shlex.join(command)}")


if __name__ == "__main__":
    main()
