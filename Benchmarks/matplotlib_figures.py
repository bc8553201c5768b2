#!/usr/bin/env python3
"""The two benchmark figures of sheetnet-bench drawn with matplotlib, each timed as a whole process.

    python3 Benchmarks/matplotlib_figures.py [--json] [--quick] [--repetitions N]
    python3 Benchmarks/matplotlib_figures.py --render feature-maps|activations FILE

- feature-maps: 64 maps of 28×28 in a 12×6 grid (the same seeded sin·cos patterns as
  `Figure.benchFeatureMaps`) on one diverging colour scale symmetric around 0, with a colour bar,
  title and subtitle; PNG 1920×1080 (a 960×540 pt slide at 2 pixels per point).
- activations: ReLU, leaky ReLU (α = 0.01), sigmoid and tanh side by side, f solid and f′ dashed,
  with a legend; SVG, 960×540 pt.

Timing runs `python3 this-file --render …` as a child process (what a user runs: interpreter
start-up, importing matplotlib.pyplot, drawing, encoding and writing the file) into a temporary
folder, one untimed run of each first, then 15 interleaved repetitions (5 with --quick) on the
wall clock; it reports the median like sheetnet-bench's figure cases (case ids match).

When matplotlib is not installed it says so and exits 0 (with --json: {"skipped": …}).
"""
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchcommon as bc  # noqa: E402

CASES = [
    ("figure/feature-maps-png", "64 feature maps of 28×28 in a 12×6 grid + colour bar, PNG 1920×1080", "feature-maps", "png"),
    ("figure/activations-svg", "four activation curves and slopes, SVG", "activations", "svg"),
]
SLIDE = (960 / 72, 540 / 72)  # inches: 960×540 pt


def feature_maps(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    rng = np.random.default_rng(28)
    y, x = np.mgrid[0:28, 0:28].astype(float)
    maps = []
    for _ in range(64):
        fx, fy, phase, tilt = rng.uniform(0.1, 0.6), rng.uniform(0.1, 0.6), rng.uniform(0, 6.3), rng.uniform(-1, 1)
        maps.append(np.sin(fx * x + phase) * np.cos(fy * y) + tilt * (x - 13.5) / 14 + rng.uniform(-0.1, 0.1, (28, 28)))
    limit = max(abs(m).max() for m in maps)
    fig, axes = plt.subplots(6, 12, figsize=SLIDE, gridspec_kw={"wspace": 0.05, "hspace": 0.05})
    for ax in axes.flat[64:]:
        ax.set_axis_off()
    fig.suptitle("Feature maps: 64 channels of 28×28\n"
                 "Seeded numbers for the benchmark; one diverging colour scale for all maps", fontsize=10)
    for ax, m in zip(axes.flat, maps):
        image = ax.imshow(m, cmap="RdBu_r", vmin=-limit, vmax=limit, interpolation="nearest")
        ax.set_axis_off()
    fig.colorbar(image, ax=axes, label="activation", fraction=0.03)
    fig.savefig(path, dpi=144)  # 13.33×7.5 in × 144 = 1920×1080 pixels


def activations(path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    z = np.linspace(-5, 5, 401)
    sigmoid = 1 / (1 + np.exp(-z))
    curves = [
        ("ReLU", np.maximum(z, 0), (z > 0).astype(float)),
        ("Leaky ReLU, α = 0.01", np.where(z > 0, z, 0.01 * z), np.where(z > 0, 1.0, 0.01)),
        ("Sigmoid", sigmoid, sigmoid * (1 - sigmoid)),
        ("Tanh", np.tanh(z), 1 - np.tanh(z) ** 2),
    ]
    fig, axes = plt.subplots(1, 4, figsize=SLIDE, sharex=True)
    fig.suptitle("Activation functions and their slopes\nf(z) solid, f′(z) dashed", fontsize=12)
    for ax, (title, f, slope) in zip(axes, curves):
        ax.plot(z, f, color="C0", label="f(z)")
        ax.plot(z, slope, color="C1", linestyle="--", label="f′(z)")
        ax.axhline(0, color="0.8", linewidth=0.8, zorder=0)
        ax.axvline(0, color="0.8", linewidth=0.8, zorder=0)
        ax.set_title(title)
        ax.set_xlabel("z")
        ax.grid(True, color="0.93")
    axes[0].legend(loc="upper left")
    fig.savefig(path)


def render(kind, path):
    {"feature-maps": feature_maps, "activations": activations}[kind](path)


def main():
    args = sys.argv[1:]
    if "--render" in args:
        i = args.index("--render")
        render(args[i + 1], args[i + 2])
        return
    as_json = "--json" in args
    try:
        import matplotlib
    except ImportError:
        message = "matplotlib figures skipped: matplotlib is not installed (pip install matplotlib to include it)"
        if as_json:
            json.dump({"skipped": message, "meta": {}, "cases": []}, sys.stdout)
            print()
        else:
            print(message)
        return
    repetitions = 5 if "--quick" in args else 15
    if "--repetitions" in args:
        repetitions = max(int(args[args.index("--repetitions") + 1]), 1)
    env = dict(os.environ, MPLBACKEND="Agg")
    times = {case_id: [] for case_id, *_ in CASES}
    with tempfile.TemporaryDirectory(prefix="matplotlib-figures-") as folder:
        def run(kind, fmt):
            path = os.path.join(folder, f"{kind}.{fmt}")
            start = time.perf_counter()
            subprocess.run([sys.executable, os.path.abspath(__file__), "--render", kind, path], env=env, check=True,
                           stdout=subprocess.DEVNULL)
            elapsed = time.perf_counter() - start
            if not os.path.getsize(path):
                sys.exit(f"{kind}: wrote an empty {path}")
            return elapsed * 1e3
        for _, _, kind, fmt in CASES:  # untimed: builds matplotlib's font cache on a first run
            run(kind, fmt)
        for _ in range(repetitions):
            for case_id, _, kind, fmt in CASES:
                times[case_id].append(run(kind, fmt))
    cases = [{"id": case_id, "label": label, "median": statistics.median(times[case_id]), "min": min(times[case_id]),
              "max": max(times[case_id]), "repetitions": repetitions, "iterationsPerRepetition": 1}
             for case_id, label, _, _ in CASES]
    settings = bc.Settings(args)
    settings.repetitions, settings.clock_name = repetitions, "wall-clock time of the whole process"
    bc.report("matplotlib figures", settings, {"matplotlib": matplotlib.__version__}, cases, digits=1)

if __name__ == "__main__":
    main()
