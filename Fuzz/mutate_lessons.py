#!/usr/bin/env python3
"""A mutation fuzzer over lesson files: byte flips, line deletions and duplications, numeric swaps.

Usage: python3 Fuzz/mutate_lessons.py [RUNS] [SEED]   (make fuzz runs it; default 10,000 runs)

Each run takes a shipped lesson (Worksheets/*.yaml), applies one to three random mutations and
runs the release `sheetnet` on it: `summary` (parse and build), and for the small lessons
`train --epochs 1` into a scratch folder. A run passes when the command exits 0, or exits 1 with
exactly one stderr line starting `sheetnet: error:`; anything else (a signal, another status,
a stack trace, more than 20 s) is a failure, saved under Fuzz/failures/ with its output.
"""
import os, random, re, shutil, subprocess, sys, tempfile, time

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
BINARY = os.path.join(ROOT, ".build-release/release/sheetnet")
SMALL = {"xor", "mazur", "iris-mlp", "spiral", "momentum-vs-sgd", "overfitting"}
NUMBERS = ["0", "-1", "1", "0.5", "-0.5", "1e300", "-1e300", "1e-300", "999999999", "2147483648", "9223372036854775807",
           ".nan", ".inf", "-.inf", "1e999", "[]", "[0]", "[[]]", "{}", "''", "null", "true", "-0", "65536", "3.7"]


def mutate(text, rng):
    for _ in range(rng.randint(1, 3)):
        kind = rng.choice(["flip", "delete", "duplicate", "number", "number", "number"])
        lines = text.split("\n")
        if kind == "flip" and text:
            i = rng.randrange(len(text))
            text = text[:i] + chr((ord(text[i]) ^ (1 << rng.randrange(7))) or 32) + text[i + 1:]
        elif kind == "delete" and len(lines) > 1:
            del lines[rng.randrange(len(lines))]
            text = "\n".join(lines)
        elif kind == "duplicate" and lines:
            i = rng.randrange(len(lines))
            lines.insert(i, lines[i])
            text = "\n".join(lines)
        else:
            spots = [m.span() for m in re.finditer(r"-?\d+(\.\d+)?(e-?\d+)?", text)]
            if spots:
                a, b = rng.choice(spots)
                text = text[:a] + rng.choice(NUMBERS) + text[b:]
    return text


def run(args, cwd):
    started = time.monotonic()
    try:
        p = subprocess.run([BINARY, *args], cwd=cwd, capture_output=True, text=True, timeout=20, errors="replace")
    except subprocess.TimeoutExpired:
        return "timeout after 20 s", ""
    lines = [l for l in p.stderr.split("\n") if l]
    if p.returncode == 0:
        return None, p.stderr
    if p.returncode == 1 and len(lines) == 1 and lines[0].startswith("sheetnet: error: "):
        return None, p.stderr
    return "status %d after %.1f s" % (p.returncode, time.monotonic() - started), p.stderr


def main():
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 10_000
    rng = random.Random(int(sys.argv[2]) if len(sys.argv) > 2 else 1)
    if not os.path.exists(BINARY):
        sys.exit("mutate_lessons: build the release binary first (make release)")
    lessons = {}
    for name in sorted(os.listdir(os.path.join(ROOT, "Worksheets"))):
        if name.endswith(".yaml"):
            lessons[name[:-5]] = open(os.path.join(ROOT, "Worksheets", name)).read()
    work = tempfile.mkdtemp(prefix="sheetnet-fuzz-")
    os.makedirs(os.path.join(work, "Worksheets"))
    failures = 0
    started = time.monotonic()
    for i in range(runs):
        name = rng.choice(sorted(lessons))
        text = mutate(lessons[name], rng)
        path = os.path.join(work, "Worksheets", "fuzz.yaml")
        with open(path, "w", errors="replace") as f:
            f.write(text)
        commands = [["summary", path]]
        if name in SMALL:
            commands.append(["train", path, "--epochs", "1", "--output", os.path.join(work, "out")])
        for args in commands:
            problem, stderr = run(args, work)
            if problem:
                failures += 1
                folder = os.path.join(ROOT, "Fuzz", "failures")
                os.makedirs(folder, exist_ok=True)
                with open(os.path.join(folder, "failure-%d.yaml" % i), "w", errors="replace") as f:
                    f.write(text)
                with open(os.path.join(folder, "failure-%d.txt" % i), "w") as f:
                    f.write("%s: sheetnet %s\n%s" % (problem, " ".join(args[:1]), stderr[-4000:]))
                print("run %d (%s, %s): %s: %s" % (i, name, args[0], problem, stderr.strip().split("\n")[0][:200]), flush=True)
        if (i + 1) % 1000 == 0:
            print("%d runs, %d failures, %.0f s" % (i + 1, failures, time.monotonic() - started), flush=True)
    shutil.rmtree(work, ignore_errors=True)
    print("mutate_lessons: %d runs, %d failures" % (runs, failures))
    sys.exit(1 if failures else 0)


if __name__ == "__main__":
    main()
