"""Timing, data and reports shared by the Python reference benchmarks (numpy_*.py, torch_*.py,
matplotlib_figures.py).

Measures the way sheetnet-bench does (Benchmarks/Swift/Harness.swift): warm up for 0.2 s,
calibrate so one repetition lasts about 20 ms, take 15 repetitions (interleaved across cases)
and report the median milliseconds per iteration, on this thread's CPU time (time.thread_time, CLOCK_THREAD_CPUTIME_ID;
BLAS runs on this one thread) or with --wall on the wall clock. Case ids match sheetnet-bench's
so compare.py can pair them.

Importing it puts BLAS on one thread (OPENBLAS_NUM_THREADS, OMP_NUM_THREADS, MKL_NUM_THREADS),
so the scripts import it before NumPy or PyTorch.
"""
import ctypes
import json
import os
import platform
import statistics
import sys
import time

for _variable in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ[_variable] = "1"

HERE = os.path.dirname(os.path.abspath(__file__))
DIGITS_CSV = os.path.join(HERE, "..", "Sources", "SheetNet", "Resources", "digits-8x8.csv")


# The MLP training steps every reference times, as sheetnet-bench's mlpStep cases:
# (case id, label, layer sizes, batch, digits (else random data), optimizer, learning rate).
MLP_STEPS = [
    ("step/mlp-64-32-10", "MLP 64-32-10, digits, batch 32, SGD", [64, 32, 10], 32, True, "sgd", 0.1),
    ("step/mlp-64-32-10-adam", "MLP 64-32-10, digits, batch 32, Adam", [64, 32, 10], 32, True, "adam", 0.01),
    ("step/mlp-784-128-10", "MLP 784-128-10, random, batch 64, SGD", [784, 128, 10], 64, False, "sgd", 0.1),
    ("step/mlp-784-128-10-adam", "MLP 784-128-10, random, batch 64, Adam", [784, 128, 10], 64, False, "adam", 0.001),
]


def blas_core():
    """The kernel family NumPy's OpenBLAS picked at run time (e.g. Haswell, SkylakeX)."""
    for line in open("/proc/self/maps"):
        path = line.split()[-1]
        if "openblas" in os.path.basename(path) and ".so" in path:
            library = ctypes.CDLL(path)
            for symbol in ("scipy_openblas_get_corename64_", "scipy_openblas_get_corename", "openblas_get_corename"):
                if hasattr(library, symbol):
                    function = getattr(library, symbol)
                    function.restype = ctypes.c_char_p
                    return function().decode()
    return "unknown"


def numpy_meta(np):
    """What the NumPy references report about their BLAS."""
    blas = np.show_config(mode="dicts").get("Build Dependencies", {}).get("blas", {})
    return {"numpy": np.__version__, "blas": f"{blas.get('name', '?')} {blas.get('version', '')}".strip(),
            "blas core": blas_core(), "OPENBLAS_CORETYPE": os.environ.get("OPENBLAS_CORETYPE", "(unset)"),
            "threads": os.environ["OPENBLAS_NUM_THREADS"]}


class Settings:
    """Repetitions and their length; --quick gives a smoke run."""

    def __init__(self, argv):
        self.json = "--json" in argv
        quick = "--quick" in argv
        self.repetitions = 5 if quick else 15
        self.repetition_seconds = 0.005 if quick else 0.02
        self.warm_up_seconds = 0.05 if quick else 0.2
        if "--repetitions" in argv:
            self.repetitions = int(argv[argv.index("--repetitions") + 1])
        self.wall = "--wall" in argv
        self.clock = time.perf_counter if self.wall else time.thread_time
        self.clock_name = "wall-clock time" if self.wall else "thread CPU time"


class Case:
    """One thing to time: body() runs one iteration; flops (per iteration) gives GFLOP/s."""

    def __init__(self, case_id, label, body, flops=None):
        self.id, self.label, self.body, self.flops = case_id, label, body, flops


def skip(message):
    """Says why a reference is skipped and exits 0; with --json prints {"skipped": message}."""
    if "--json" in sys.argv[1:]:
        json.dump({"skipped": message, "meta": {}, "cases": []}, sys.stdout)
        print()
    else:
        print(message)
    sys.exit(0)


def cycling_case(case_id, label, data, step):
    """A case whose every repetition calls step(*batch) on the next batch of data, cycling."""
    state = {"next": 0}

    def body():
        batch = data[state["next"]]
        state["next"] = (state["next"] + 1) % len(data)
        return step(*batch)

    return Case(case_id, label, body)


def measure_all(cases, settings):
    """Warms up and calibrates every case, then times the repetitions interleaved round-robin
    (as sheetnet-bench does), one untimed iteration before each. Returns dicts shaped like
    sheetnet-bench's JSON cases."""
    clock = settings.clock
    inner = []
    for case in cases:
        start, done = clock(), 0
        while done < 3 or clock() - start < settings.warm_up_seconds:
            case.body()
            done += 1
        start, probe = clock(), 0
        while probe < 1 or clock() - start < settings.repetition_seconds / 4:
            case.body()
            probe += 1
        per_iteration = max(clock() - start, 1e-9) / probe
        inner.append(max(1, int(settings.repetition_seconds / per_iteration)))
    times = [[] for _ in cases]
    for _ in range(settings.repetitions):
        for i, case in enumerate(cases):
            case.body()
            t0 = clock()
            for _ in range(inner[i]):
                case.body()
            times[i].append((clock() - t0) / inner[i] * 1e3)
    results = []
    for case, runs, n in zip(cases, times, inner):
        median = statistics.median(runs)
        result = {"id": case.id, "label": case.label, "median": median, "min": min(runs), "max": max(runs),
                  "repetitions": settings.repetitions, "iterationsPerRepetition": n}
        if case.flops is not None:
            result["gflops"] = case.flops / (median * 1e-3) / 1e9
        results.append(result)
    return results


def load_digits(np):
    """The shipped 8×8 digits: x [1797, 64] divided by 16, labels [1797]."""
    raw = np.loadtxt(DIGITS_CSV, delimiter=",", dtype=np.float64)
    return raw[:, :-1] / 16.0, raw[:, -1].astype(np.int64)


def random_data(np, count=640, features=784, classes=10, seed=7):
    """Uniform [0, 1) inputs and uniform labels (the same shapes as sheetnet-bench's)."""
    rng = np.random.default_rng(seed)
    return rng.random((count, features)), rng.integers(0, classes, size=count)


def batches(np, x, labels, batch, classes, seed=7):
    """Pre-gathered (x, one-hot t, labels) batches of a seeded permutation, the partial one dropped."""
    order = np.random.default_rng(seed).permutation(len(x))
    out = []
    for start in range(0, len(x) - batch + 1, batch):
        rows = order[start:start + batch]
        t = np.zeros((batch, classes))
        t[np.arange(batch), labels[rows]] = 1.0
        out.append((np.ascontiguousarray(x[rows]), t, labels[rows].copy()))
    return out


def report(name, settings, meta, cases, digits=4):
    """Prints the results as a table (ms to `digits` places, GFLOP/s where a case has them), or
    as JSON with --json."""
    meta = dict(meta, python=platform.python_version(), repetitions=str(settings.repetitions), clock=settings.clock_name)
    if settings.json:
        json.dump({"meta": meta, "cases": cases}, sys.stdout, indent=2, sort_keys=True)
        print()
        return
    print(f"{name}: median of {settings.repetitions} repetitions of {settings.clock_name}")
    for k, v in sorted(meta.items()):
        print(f"  {k}: {v}")
    width = max(len(c["label"]) for c in cases) + 2
    flops = any("gflops" in c for c in cases)
    print(f"  {'case':<{width}}{'median ms':>11}{'min ms':>10}" + (f"{'GFLOP/s':>10}" if flops else ""))
    for c in cases:
        g = f"{c['gflops']:.2f}" if "gflops" in c else ""
        print(f"  {c['label']:<{width}}{c['median']:>11.{digits}f}{c['min']:>10.{digits}f}" + (f"{g:>10}" if flops else ""))
