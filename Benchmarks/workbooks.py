#!/usr/bin/env python3
"""`make bench`, worksheets: the time `sheetnet export` takes to write the digits-cnn (--step 3
--sample 1) and digits-mlp (--batch 4) workbooks, their sizes in cells and formulas, and the time
LibreOffice takes to load and recalculate each.

Runs the release binary (make bench builds it) five times per case and reports the median of each
stage as the command measures it (--json): training up to the step and tracing it, laying out the
sheets and formulas, encoding CSV and XLSX, writing the folder. LibreOffice's times come from
Tests/SheetNetWorksheetsTests/recalc.py (system Python with python3-uno); without LibreOffice that
part says skipped.
"""
import json, os, statistics, subprocess, sys, tempfile

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build-release/release/sheetnet")
CASES = [("digits-cnn --step 3 --sample 1", ["Worksheets/digits-cnn.yaml", "--step", "3", "--sample", "1"]),
         ("digits-mlp --batch 4", ["Worksheets/digits-mlp.yaml", "--batch", "4"])]
RUNS = 5


def export(args, folder):
    out = subprocess.run([BINARY, "export", *args, "--output", folder, "--json"], cwd=ROOT, check=True,
                         capture_output=True, text=True).stdout
    return json.loads(out)


def libreoffice(workbook, work):
    if not (os.path.exists("/usr/bin/soffice") and subprocess.run(["/usr/bin/python3", "-c", "import uno"],
                                                                   capture_output=True).returncode == 0):
        return None
    request = os.path.join(work, "request.json")
    result = os.path.join(work, "result.json")
    with open(request, "w") as f:
        json.dump({"workbook": workbook, "profile": os.path.join(work, "profile"), "timeout": 600,
                   "runs": [{"edits": [], "read": []}, {"edits": [], "read": []}]}, f)
    env = {k: v for k, v in os.environ.items() if k not in ("PYTHONHOME", "PYTHONPATH")}
    subprocess.run(["/usr/bin/python3", os.path.join(ROOT, "Tests/SheetNetWorksheetsTests/recalc.py"), request, result],
                   check=True, env=env)
    with open(result) as f:
        r = json.load(f)
    # The second load: the first pays for LibreOffice's own warm-up.
    return r["load_seconds_per_run"][-1], r["seconds"][-1]


def main():
    print("\nWorksheets (sheetnet export, release build; median of %d runs; seconds)" % RUNS)
    print("  %-32s %9s %9s %8s %8s %8s %8s %8s   %s" % ("case", "cells", "formulas", "trace", "layout", "encode", "write",
                                                        "total", "LibreOffice load / recalc"))
    for label, args in CASES:
        with tempfile.TemporaryDirectory() as work:
            folder = os.path.join(work, "worksheets")
            runs = [export(args, folder) for _ in range(RUNS)]
            stage = {k: statistics.median(r["seconds"][k] for r in runs) for k in runs[0]["seconds"]}
            total = statistics.median(sum(r["seconds"].values()) for r in runs)
            size = next(f["bytes"] for f in runs[0]["files"] if f["name"] == "step.xlsx")
            lo = libreoffice(os.path.join(folder, "step.xlsx"), work)
            lo_text = "skipped (no LibreOffice)" if lo is None else "%.2f / %.2f" % lo
            print("  %-32s %9d %9d %8.3f %8.3f %8.3f %8.3f %8.3f   %s   (step.xlsx %.1f MB)" % (
                label, runs[0]["cells"], runs[0]["formulas"], stage["train_and_trace"], stage["layout"], stage["encode"],
                stage["write"], total, lo_text, size / 1e6))


if __name__ == "__main__":
    main()
