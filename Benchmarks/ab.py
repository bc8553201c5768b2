#!/usr/bin/env python3
"""Two sheetnet-bench binaries, interleaved in one run: has a change made any case slower?

    python3 Benchmarks/ab.py OLD-BENCH NEW-BENCH [--rounds N] [--filter TEXT]…

Each round runs both (`--json`, one thread), OLD first in odd rounds and NEW first in even ones, N
rounds (default 3); a case's number is
the median of its per-round medians, and the table gives new/old. Build the old binary from the
previous commit in a worktree (`git worktree add ../old HEAD~1`, then its `make bench` build, or
`swift build -c release --product sheetnet-bench`). These machines are noisy: read the ratio,
and rerun a case that moved more than 10 %.
"""
import json
import os
import statistics
import subprocess
import sys


def main():
    args = sys.argv[1:]
    if len(args) < 2:
        sys.exit(__doc__)
    old, new = args[0], args[1]
    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    filters = [args[i + 1] for i, a in enumerate(args) if a == "--filter"]
    extra = sum((["--filter", f] for f in filters), [])
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    results = {"old": {}, "new": {}}
    for r in range(rounds):
        # Alternate which runs first, so neither always meets a warmer (or more throttled) machine.
        pair = (("old", old), ("new", new))
        for name, binary in (pair if r % 2 == 0 else pair[::-1]):
            print(f"round {r + 1}: {name}", file=sys.stderr, flush=True)
            done = subprocess.run([binary, "--json"] + extra, env=env, capture_output=True, text=True, check=True)
            for case in json.loads(done.stdout)["cases"]:
                results[name].setdefault(case["id"], []).append(case["median"])
    print(f"\n{'case':<44}{'old':>12}{'new':>12}{'new/old':>10}")
    worst = None
    for case_id, times in results["old"].items():
        if case_id not in results["new"]:
            continue
        a, b = statistics.median(times), statistics.median(results["new"][case_id])
        ratio = b / a if a > 0 else float("nan")
        worst = max(worst or (ratio, case_id), (ratio, case_id))
        print(f"{case_id:<44}{a:>12.4g}{b:>12.4g}{ratio:>10.3f}")
    if worst:
        print(f"\nslowest relative to old: {worst[1]}, {worst[0]:.3f}× (median of {rounds} interleaved rounds)")


if __name__ == "__main__":
    main()
