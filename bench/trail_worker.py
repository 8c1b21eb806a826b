"""A contender of bench/bench_trail.py: bench/worker.py, plus "ours-nochain" (the chain step off).

`python bench/trail_worker.py ours|ours-nochain|plain`, same protocol and
environment as bench/worker.py. "ours-nochain" is this project with
authlog.trail.chain_event replaced by a no-op after set-up: the core
product as it was before the trail's hash chain (issue 6), on the same
code, settings and database.
"""

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from bench import worker as base  # noqa: E402


def main() -> None:
    name = sys.argv[1]
    # Only the cycle is measured here; the failed sign-ins of the warm-up would
    # meet the throttle (guard/) from one username and are skipped.
    base.Contender.fail = lambda self, n: {"times": []}
    if name == "ours-nochain":
        sys.argv[1] = "ours"
        original = base.Contender.__init__

        def without_chain(self, contender: str) -> None:
            original(self, contender)
            from authlog import trail

            trail.chain_event = lambda event: None

        base.Contender.__init__ = without_chain
    if name == "plain":
        # bench/settings_plain.py drops our apps from INSTALLED_APPS by name; the
        # apps of the other issues (their migrations need ours) go too.
        from bench import settings_plain

        settings_plain.INSTALLED_APPS = [
            app for app in settings_plain.INSTALLED_APPS if app not in ("dashboard", "guard")
        ]
    base.main()


if __name__ == "__main__":
    main()
