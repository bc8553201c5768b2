#!/usr/bin/env python3
"""SheetNet against NumPy (and PyTorch and matplotlib when installed), measured in the same run.

Runs `.build-release/release/sheetnet-bench --json` (build it with `make bench`), then
numpy_mlp.py, numpy_cnn.py, torch_mlp.py, torch_cnn.py, torch_transformer.py and
matplotlib_figures.py with --json,
and prints the cases side by side with ratios (reference ms / SheetNet ms: above 1 means
SheetNet is faster).

    python3 Benchmarks/compare.py [--rounds N] [--quick] [--repetitions N] [--wall]

Each program runs N times (default 3), taking turns; a case's number is the median of its
per-round medians. matplotlib_figures.py, whose processes take seconds, runs in the first round
only, with 10 repetitions (5 with --quick).

`make bench-compare` runs it. BLAS runs on one thread (OPENBLAS_NUM_THREADS=1); any
OPENBLAS_CORETYPE in the environment is passed on unchanged.
"""
import json
import os
import statistics
import subprocess
import sys

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BENCH = os.path.join(ROOT, ".build-release", "release", "sheetnet-bench")

# The training steps compared: (SheetNet case id, reference case id, label).
STEP_CASES = [
    ("step/mlp-64-32-10", "step/mlp-64-32-10", "MLP 64-32-10, digits, batch 32, SGD"),
    ("step/mlp-64-32-10-adam", "step/mlp-64-32-10-adam", "MLP 64-32-10, digits, batch 32, Adam"),
    ("step/mlp-784-128-10", "step/mlp-784-128-10", "MLP 784-128-10, random, batch 64, SGD"),
    ("step/mlp-784-128-10-adam", "step/mlp-784-128-10-adam", "MLP 784-128-10, random, batch 64, Adam"),
    ("step/mlp-784-128-10/swift", "step/mlp-784-128-10", "  the same, SheetNet with pure-Swift products only"),
    ("step/cnn-a", "step/cnn-a", "CNN A 1×28×28 conv 8, pool, conv 16, pool, dense 10; batch 32, SGD"),
    ("step/cnn-b", "step/cnn-b", "CNN B 3×32×32 keras-sequential-ascii; batch 32, Adam"),
    ("step/transformer", "step/transformer", "Transformer V 65, d 64, T 32, 2 blocks of 4 causal heads; batch 16, Adam"),
    ("step/transformer/swift", "step/transformer", "  the same, SheetNet's products all in spreadsheet order (the reference's numbers)"),
    ("step/transformer/fused", "step/transformer", "  the same, SheetNet's products all fused multiply-adds in Swift"),
]

# Figures, each a whole process on the wall clock: (SheetNet case id, matplotlib case id, label).
FIGURE_CASES = [
    ("figure/feature-maps-png", "figure/feature-maps-png", "64 feature maps of 28×28 in a 11×6 grid + colour bar, PNG"),
    ("figure/activations-svg", "figure/activations-svg", "four activation curves and slopes, SVG"),
]

# Matrix products n×n·n×n: (column title, script, case id pattern) read as GFLOP/s.
GEMM_SIZES = [64, 128, 256]
GEMM_COLUMNS = [
    ("Swift in order", "sheetnet", "gemm/{n}/swift"),
    ("Swift fused", "sheetnet", "gemm/{n}/fused"),
    ("SheetNet BLAS", "sheetnet", "gemm/{n}/blas"),
    ("NumPy", "numpy", "gemm/{n}/numpy"),
    ("PyTorch", "torch", "gemm/{n}/torch"),
]

# (key, column name, scripts); a key's scripts share a column.
REFERENCES = [
    ("numpy", "NumPy", ["numpy_mlp.py", "numpy_cnn.py"]),
    ("torch", "PyTorch", ["torch_mlp.py", "torch_cnn.py", "torch_transformer.py"]),
    ("matplotlib", "matplotlib", ["matplotlib_figures.py"]),
]
ONCE = {"matplotlib_figures.py": ["--repetitions", "10"]}  # first round only, with these options


def run(command, env):
    """Runs a benchmark that prints JSON; returns the parsed report (or one that says why not)."""
    shown = ["python3" if c == sys.executable else os.path.relpath(c, ROOT) if os.path.isabs(c) else c for c in command]
    print("running " + " ".join(shown), file=sys.stderr, flush=True)
    done = subprocess.run(command, env=env, cwd=ROOT, capture_output=True, text=True)
    if done.returncode != 0:
        return {"skipped": f"exited with status {done.returncode}: {done.stderr.strip()[-500:]}", "cases": [], "meta": {}}
    try:
        return json.loads(done.stdout)
    except json.JSONDecodeError:
        return {"skipped": "printed no JSON: " + done.stdout.strip()[-300:], "cases": [], "meta": {}}


def combined(measured):
    """One case over several rounds: the median of the medians (and of GFLOP/s), the least min."""
    result = dict(measured[0])
    result["median"] = statistics.median(c["median"] for c in measured)
    result["min"] = min(c["min"] for c in measured)
    if all("gflops" in c for c in measured):
        result["gflops"] = statistics.median(c["gflops"] for c in measured)
    result["rounds"] = len(measured)
    return result


def number(case, field, spec):
    """case[field] formatted, or a dash when the case or the field is missing."""
    return format(case[field], spec) if case and field in case else "—"


def main():
    passed = []
    args = sys.argv[1:]
    for flag in ("--quick", "--wall"):
        if flag in args:
            passed.append(flag)
    if "--repetitions" in args:
        passed += ["--repetitions", args[args.index("--repetitions") + 1]]
    if not os.access(BENCH, os.X_OK):
        sys.exit(f"{os.path.relpath(BENCH, ROOT)} is missing; build it with `make bench` (or run `make bench-compare`)")

    rounds = int(args[args.index("--rounds") + 1]) if "--rounds" in args else 3
    env = dict(os.environ, OPENBLAS_NUM_THREADS="1")
    # (key, name shown, command, options when it runs once)
    commands = [("sheetnet", "SheetNet", [BENCH, "--json"] + passed, None)]
    for key, _, scripts in REFERENCES:
        for script in scripts:
            once = ONCE.get(script)
            options = passed if once is None or "--quick" in passed or "--repetitions" in passed else once
            commands.append((key, script, [sys.executable, os.path.join(HERE, script), "--json"] + options, once))
    # The programs take turns, `rounds` times, so that a passing load on the machine hits them
    # alike; each case keeps the median of its per-round medians.
    reports, runs = {}, {key: {} for key, _, _, _ in commands}
    for r in range(max(rounds, 1)):
        for key, name, command, once in commands:
            if "skipped" in reports.get(name, {}) or (once is not None and r > 0):
                continue
            reports[name] = run(command, env)
            for c in reports[name].get("cases", []):
                runs[key].setdefault(c["id"], []).append(c)
    cases = {key: {case_id: combined(measured) for case_id, measured in by_id.items()} for key, by_id in runs.items()}

    print()
    print("Conditions")
    for name, report in reports.items():
        if "skipped" in report:
            print(f"  {name}: {report['skipped']}")
        else:
            meta = ", ".join(f"{k} {v}" for k, v in sorted(report.get("meta", {}).items()))
            print(f"  {name}: {meta}")

    present = [(key, name) for key, name, _ in REFERENCES if key in ("numpy", "torch") and cases[key]]
    width = max(len(label) for _, _, label in STEP_CASES) + 2
    print()
    for field, title in [("median", f"median of {rounds} rounds' medians"),
                         ("min", "fastest repetition: the least disturbed by other work on the machine")]:
        print(f"Training step, ms per step ({title})")
        header = f"  {'case':<{width}}{'SheetNet':>10}"
        for _, name in present:
            header += f"{name:>10}{'ratio':>8}"
        print(header)
        for case_id, reference_id, label in STEP_CASES:
            mine = cases["sheetnet"].get(case_id)
            line = f"  {label:<{width}}{number(mine, field, '.4f'):>10}"
            for key, _ in present:
                ref = cases[key].get(reference_id)
                ratio = f"{ref[field] / mine[field]:.2f}×" if ref and mine else "—"
                line += f"{number(ref, field, '.4f'):>10}{ratio:>8}"
            print(line)
        print()
    print("ratio = reference ms / SheetNet ms: above 1, SheetNet is faster")

    width = max(len(label) for _, _, label in FIGURE_CASES) + 2
    print()
    print("Figure rendering, ms per whole process on the wall clock (median; min in brackets)")
    print(f"  {'figure':<{width}}{'SheetNet':>18}{'matplotlib':>18}{'ratio':>8}")
    for case_id, reference_id, label in FIGURE_CASES:
        mine, ref = cases["sheetnet"].get(case_id), cases["matplotlib"].get(reference_id)
        ratio = f"{ref['median'] / mine['median']:.1f}×" if ref and mine else "—"
        both = [f"{number(c, 'median', '.1f')} [{number(c, 'min', '.1f')}]" if c else "—" for c in (mine, ref)]
        print(f"  {label:<{width}}{both[0]:>18}{both[1]:>18}{ratio:>8}")

    columns = [(title, key, pattern) for title, key, pattern in GEMM_COLUMNS if cases.get(key)]
    print()
    print("Matrix product n×n·n×n, GFLOP/s (median). Swift in order: spreadsheet order (products below 64³")
    print("multiply-adds); Swift fused: fused multiply-adds (larger products, where OpenBLAS is slow);")
    print("fused/NumPy: the fused product over NumPy's OpenBLAS, measured in the same run")
    print("  " + f"{'n':<6}" + "".join(f"{title:>16}" for title, _, _ in columns) + f"{'fused/NumPy':>13}")
    for n in GEMM_SIZES:
        line = f"  {n:<6}"
        for _, key, pattern in columns:
            c = cases[key].get(pattern.format(n=n))
            line += f"{number(c, 'gflops', '.2f'):>16}"
        fused, numpy = cases["sheetnet"].get(f"gemm/{n}/fused"), cases.get("numpy", {}).get(f"gemm/{n}/numpy")
        ratio = format(fused["gflops"] / numpy["gflops"], ".2f") if fused and numpy else "—"
        line += f"{ratio:>13}"
        print(line)


if __name__ == "__main__":
    main()
