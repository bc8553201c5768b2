#!/usr/bin/env python3
"""`make bench`, the lecture build: `sheetnet build` over every shipped lesson in a scratch copy of
the project, three times on the wall clock —

1. from scratch (no Output/: every lesson trains);
2. again with nothing changed (every lesson is up to date and skipped);
3. after touching one lesson's file (that lesson alone rebuilds, reusing its saved model);
4. with --force (every lesson rebuilt — traced, exported, drawn — from its saved model);

— and, for the build from scratch, the share of the lessons' time each stage took (train,
trace, export, figures, exercise, write; summed over lessons from `--json`, which each lesson's
process measures), and each lesson's own seconds. The jobs run in parallel, up to the cores.
"""
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(ROOT, ".build-release/release/sheetnet")


def build(folder, *args):
    start = time.perf_counter()
    run = subprocess.run([BINARY, "build", "--json", *args], cwd=folder, capture_output=True, text=True)
    seconds = time.perf_counter() - start
    if run.returncode != 0:
        sys.exit(f"sheetnet build failed ({run.returncode}): {run.stderr.strip()}")
    return seconds, json.loads(run.stdout)


def main():
    with tempfile.TemporaryDirectory(prefix="sheetnet-bench-build-") as scratch:
        shutil.copytree(os.path.join(ROOT, "Worksheets"), os.path.join(scratch, "Worksheets"))
        cold, report = build(scratch)
        warm, again = build(scratch)
        touched_name = "xor" if os.path.exists(os.path.join(scratch, "Worksheets/xor.yaml")) else report["lessons"][0]["lesson"]
        later = time.time() + 2
        os.utime(os.path.join(scratch, "Worksheets", touched_name + ".yaml"), (later, later))
        touched, third = build(scratch)
        forced, fourth = build(scratch, "--force")

    print("\n== sheetnet build over every shipped lesson (wall clock, %d cores) ==" % os.cpu_count())
    print(f"  from scratch            {cold:7.2f} s  ({len(report['lessons'])} lessons)")
    print(f"  nothing changed         {warm:7.2f} s  ({sum(l['model'] == 'up to date' for l in again['lessons'])} up to date)   "
          f"{cold / warm:5.0f}× faster")
    rebuilt = [l["lesson"] for l in third["lessons"] if l["model"] != "up to date"]
    print(f"  {touched_name}.yaml touched     {touched:7.2f} s  (rebuilt: {', '.join(rebuilt)}; "
          f"model {next(l['model'] for l in third['lessons'] if l['lesson'] == touched_name)})")
    print(f"  --force                 {forced:7.2f} s  ({sum(l['model'] == 'reused' for l in fourth['lessons'])} models reused, "
          f"{sum(l['model'] == 'trained' for l in fourth['lessons'])} trained)")
    stages = {}
    for lesson in report["lessons"]:
        for stage, s in lesson.get("seconds", {}).items():
            stages[stage] = stages.get(stage, 0) + s
    total = sum(stages.values())
    print("  share of the lessons' time (from scratch, summed over lessons):")
    for stage, s in sorted(stages.items(), key=lambda kv: -kv[1]):
        print(f"    {stage:10s} {s:7.2f} s  {100 * s / total:5.1f} %")
    print("  per lesson (from scratch):")
    for lesson in sorted(report["lessons"], key=lambda l: -l["wall_seconds"]):
        parts = ", ".join(f"{k} {v:.2f}" for k, v in lesson.get("seconds", {}).items())
        print(f"    {lesson['lesson']:16s} {lesson['wall_seconds']:6.2f} s  ({parts})")


if __name__ == "__main__":
    main()
