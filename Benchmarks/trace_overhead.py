#!/usr/bin/env python3
"""What an untraced training step pays for being traceable (issue 4).

Runs the untraced lesson steps of two builds of sheetnet-bench, taking turns:
  .build-release/release/sheetnet-bench           tracing compiled in (`make bench`)
  .build-release-notrace/release/sheetnet-bench   -Xswiftc -DSHEETNET_NO_TRACE: Step.tracer is
                                                  always nil, so every trace branch is removed
and prints, per case, each build's median step time, how far the rounds spread, and the
overhead = (time with tracing compiled in) / (time without) − 1.

    python3 Benchmarks/trace_overhead.py [--rounds N] [--repetitions N] [--quick] [--instructions]

Each round (default 8) runs both programs, in turn A B, then B A, …, each with --json and 31
repetitions; a build's number is the median over the rounds of each run's median repetition, and
of each run's fastest one (on a shared machine the fastest is the least disturbed). Each round
also gives a paired ratio of two runs seconds apart; their median and range state the noise.
The verdict uses the fastest repetitions' paired ratios: their mean ± 2 standard errors must lie
below 2 % (or above it) to decide; otherwise it says the timings cannot tell. `make bench` runs it.

--instructions counts instead, free of noise but slow (minutes): each build runs each case a
fixed number of times under valgrind (callgrind, on a copy stripped of the DWARF 5 debug
information valgrind cannot read), counting only the instructions inside Sequential.trainStep.
"""
import json
import math
import os
import shutil
import statistics
import subprocess
import sys
import tempfile

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BUILDS = [
    ("traceable", "tracing compiled in", os.path.join(ROOT, ".build-release", "release", "sheetnet-bench")),
    ("notrace", "tracing compiled out", os.path.join(ROOT, ".build-release-notrace", "release", "sheetnet-bench")),
]
CASES = [
    ("lesson/digits-cnn/untraced", "digits CNN (digits-cnn.yaml), batch 32"),
    ("lesson/digits-mlp/untraced", "digits MLP 64-64-10 (digits-mlp.yaml), batch 32"),
]
LIMIT = 0.02  # the overhead issue 4 allows


def run(path, extra):
    """The JSON report of `path` timing the CASES (or what `extra`'s filters select instead)."""
    filters = [] if "--filter" in extra else [a for case_id, _ in CASES for a in ("--filter", case_id + "$")]
    command = [path, "--json"] + filters + extra
    done = subprocess.run(command, cwd=ROOT, capture_output=True, text=True,
                          env=dict(os.environ, OPENBLAS_NUM_THREADS="1"))
    if done.returncode != 0:
        sys.exit(f"{os.path.relpath(path, ROOT)} failed with status {done.returncode}: {done.stderr.strip()[-500:]}")
    return json.loads(done.stdout)


# Steps run under valgrind per case, enough to dwarf the first step's allocations.
INSTRUCTION_STEPS = {"lesson/digits-cnn/untraced": 20, "lesson/digits-mlp/untraced": 200}


def count_instructions():
    """Instructions per step inside Sequential.trainStep, per build and case, under callgrind."""
    if not shutil.which("valgrind"):
        print("instruction counts skipped: valgrind is not installed")
        return
    # valgrind's CPU may look different to OpenBLAS; pin the kernels this machine runs natively,
    # which also decides whether SheetNet sends large products to OpenBLAS at all.
    meta = run(BUILDS[0][2], ["--filter", "no-such-case$"])["meta"]
    if "AVX-512" in meta.get("target cpu", ""):
        # valgrind (3.19 on Debian 12) stops at the first AVX-512 instruction it meets.
        print("instruction counts skipped: these builds use AVX-512, which valgrind cannot run; "
              "build both with SHEETNET_TARGET_CPU=haswell (e.g. `SHEETNET_TARGET_CPU=haswell make bench`) and retry")
        return
    core = meta.get("OpenBLAS core", "")
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    if core and core != "unknown" and "OPENBLAS_CORETYPE" not in env:
        env["OPENBLAS_CORETYPE"] = core
    print()
    print("Instructions per untraced step inside Sequential.trainStep (valgrind callgrind, deterministic; "
          f"OPENBLAS_CORETYPE={env.get('OPENBLAS_CORETYPE', '(unset)')})")
    width = max(len(label) for _, label in CASES) + 2
    print(f"  {'case':<{width}}{'in':>14}{'out':>14}{'overhead':>10}")
    with tempfile.TemporaryDirectory(prefix="trace-overhead-") as folder:
        stripped = {}
        for key, _, path in BUILDS:
            stripped[key] = os.path.join(folder, key)
            subprocess.run(["strip", "--strip-debug", "-o", stripped[key], path], check=True)
        for case_id, label in CASES:
            steps, counts = INSTRUCTION_STEPS[case_id], {}
            for key, _, _ in BUILDS:
                done = subprocess.run(
                    ["valgrind", "--tool=callgrind", "--callgrind-out-file=/dev/null", "--collect-atstart=no",
                     "--toggle-collect=*SequentialC9trainStep*", stripped[key], "--filter", case_id + "$",
                     "--iterations", str(steps)],
                    cwd=ROOT, capture_output=True, text=True, env=env)
                collected = [line.split("Collected :")[1] for line in done.stderr.splitlines() if "Collected :" in line]
                if done.returncode != 0 or not collected:
                    print(f"  {label}: valgrind failed: {done.stderr.strip()[-300:]}")
                    return
                counts[key] = int(collected[0]) / steps
            a, b = counts["traceable"], counts["notrace"]
            print(f"  {label:<{width}}{a:>14,.0f}{b:>14,.0f}{percent(a / b - 1):>10}")


def percent(x):
    return f"{x * 100:+.1f} %"


def main():
    args = sys.argv[1:]
    if "--instructions" in args:
        for _, _, path in BUILDS:
            if not os.access(path, os.X_OK):
                sys.exit(f"{os.path.relpath(path, ROOT)} is missing; `make bench` builds both")
        count_instructions()
        return
    rounds = max(int(args[args.index("--rounds") + 1]) if "--rounds" in args else 8, 1)
    extra = ["--quick"] if "--quick" in args else ["--repetitions", "31"]
    if "--repetitions" in args:
        extra = ["--repetitions", args[args.index("--repetitions") + 1]]
    for _, _, path in BUILDS:
        if not os.access(path, os.X_OK):
            sys.exit(f"{os.path.relpath(path, ROOT)} is missing; `make bench` builds both")
    # results[build][case][field]: one number per round, field "median" or "min"
    results = {key: {case_id: {"median": [], "min": []} for case_id, _ in CASES} for key, _, _ in BUILDS}
    meta = {}
    progress = sys.stderr.isatty()
    for r in range(rounds):
        if progress:
            print(f"\r  trace overhead: round {r + 1} of {rounds}…", end="", file=sys.stderr, flush=True)
        for key, _, path in (BUILDS if r % 2 == 0 else BUILDS[::-1]):
            report = run(path, extra)
            meta[key] = report["meta"]
            for c in report["cases"]:
                for field in ("median", "min"):
                    results[key][c["id"]][field].append(c[field])
    if progress:
        print("\r\033[2K", end="", file=sys.stderr, flush=True)
    if "compiled out" not in meta["notrace"].get("tracing", ""):
        sys.exit("the notrace build does not report tracing compiled out; rebuild it with -Xswiftc -DSHEETNET_NO_TRACE")

    print()
    print("Trace overhead of an untraced step: (tracing compiled in) / (compiled out, -DSHEETNET_NO_TRACE) − 1")
    print(f"  {rounds} rounds, each running both builds ({meta['traceable'].get('repetitions', '?')} repetitions of "
          f"{meta['traceable'].get('clock', '?')} per run); ms = median over the rounds;")
    print("  paired = each round's own ratio, median [min, max] over the rounds (the noise)")
    width = max(len(label) for _, label in CASES) + 2
    verdicts = []
    for field, title in [("median", "each run's median repetition"), ("min", "each run's fastest repetition")]:
        print()
        print(f"  {title}")
        print(f"  {'case':<{width}}{'in ms':>10}{'out ms':>10}{'overhead':>10}   paired")
        for case_id, label in CASES:
            a, b = results["traceable"][case_id][field], results["notrace"][case_id][field]
            paired = sorted(x / y - 1 for x, y in zip(a, b))
            overall = statistics.median(a) / statistics.median(b) - 1
            print(f"  {label:<{width}}{statistics.median(a):>10.4f}{statistics.median(b):>10.4f}{percent(overall):>10}"
                  f"   {percent(statistics.median(paired))} [{percent(paired[0])}, {percent(paired[-1])}]")
            if field == "min":
                # The paired log-ratios' mean ± 2 standard errors: how well the rounds pin it down.
                logs = [math.log(1 + p) for p in paired]
                mean = statistics.fmean(logs)
                error = 2 * statistics.stdev(logs) / math.sqrt(len(logs)) if len(logs) > 1 else math.inf
                low, high = math.exp(mean - error) - 1, math.exp(mean + error) - 1
                if high <= LIMIT:
                    verdict = f"at most {LIMIT:.0%}"
                elif low > LIMIT:
                    verdict = f"ABOVE {LIMIT:.0%}"
                else:
                    verdict = f"not resolved to {LIMIT:.0%} by the timings (too noisy); see --instructions"
                verdicts.append(f"{label}: {verdict}: paired mean {percent(math.exp(mean) - 1)}, "
                                f"±2 standard errors {percent(low)} to {percent(high)}")
    print()
    print("  the fastest repetition of all rounds (each build at its least disturbed)")
    print(f"  {'case':<{width}}{'in ms':>10}{'out ms':>10}{'overhead':>10}")
    for case_id, label in CASES:
        a, b = min(results["traceable"][case_id]["min"]), min(results["notrace"][case_id]["min"])
        print(f"  {label:<{width}}{a:>10.4f}{b:>10.4f}{percent(a / b - 1):>10}")
    print()
    for v in verdicts:
        print(f"  {v}")


if __name__ == "__main__":
    main()
