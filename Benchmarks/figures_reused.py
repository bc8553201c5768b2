#!/usr/bin/env python3
"""`make bench`, figures from a saved model: every digits-cnn figure as a whole `sheetnet figure`
process that reuses Output/digits-cnn/model.json (no training), against matplotlib's comparable
figure in the same run.

In a scratch project holding a copy of Worksheets/digits-cnn.yaml, `sheetnet train` writes the
model once (untimed); then each kind that applies to digits-cnn is drawn as a slide PNG, one
untimed run each, then 7 interleaved rounds, on the wall clock. No run may train: each figure of
the trained network reports "model": "reused" (optimizers trains its own short comparison runs). The reference is a Python process that loads the same model.json, runs one
digit through conv1 → batch norm → ReLU → max-pool → conv2 → batch norm → ReLU in NumPy, and
draws the 32 + 32 feature maps with matplotlib as a 1920×1080 PNG with colour bars: what
SheetNet's `feature-maps` figure shows. Without matplotlib the reference is skipped.
"""
import json
import os
import shutil
import statistics
import subprocess
import sys
import tempfile
import time

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)
BINARY = os.path.join(ROOT, ".build-release/release/sheetnet")
ROUNDS = 7
KINDS = ["conv-step", "activations", "feature-maps", "filters", "gradients", "architecture", "training", "confusion",
         "overview", "optimizers", "mistakes"]


def reference(model_path, out):
    """The matplotlib figure: digits-cnn's feature maps of one digit from model.json."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    import numpy as np

    layers = json.load(open(model_path))["layers"]
    digit = np.loadtxt(os.path.join(ROOT, "Sources/SheetNet/Resources/digits-8x8.csv"), delimiter=",", max_rows=1,
                       skiprows=1)[:64].reshape(1, 8, 8) / 16

    def values(p):
        return np.array(p["values"]).reshape(p["shape"])

    def conv(x, w):  # same padding, stride 1
        c, h, wd = x.shape
        k = w.shape[2]
        padded = np.pad(x, ((0, 0), (k // 2, k // 2), (k // 2, k // 2)))
        out = np.zeros((w.shape[0], h, wd))
        for i in range(h):
            for j in range(wd):
                out[:, i, j] = np.tensordot(w, padded[:, i:i + k, j:j + k], axes=3)
        return out

    maps, x = [], digit
    for layer in layers:
        kind, p = layer["type"], layer["parameters"]
        if kind == "conv2d":
            x = conv(x, values(p["W"]))
        elif kind == "batch_norm":
            eps = layer["options"].get("epsilon", 1e-3)
            shape = (-1, 1, 1)
            x = (values(p["gamma"]).reshape(shape) * (x - values(p["running_mean"]).reshape(shape))
                 / np.sqrt(values(p["running_var"]).reshape(shape) + eps) + values(p["beta"]).reshape(shape))
        elif kind == "relu":
            x = np.maximum(x, 0)
            maps.append(x)
        elif kind == "max_pool2d":
            c, h, w = x.shape
            x = x[:, :h // 2 * 2, :w // 2 * 2].reshape(c, h // 2, 2, w // 2, 2).max(axis=(2, 4))
        elif kind == "flatten":
            break
    fig = plt.figure(figsize=(960 / 72, 540 / 72))
    fig.suptitle("Feature maps of digits-cnn: one digit through every conv layer", fontsize=16)
    grids = fig.add_gridspec(1, len(maps), wspace=0.15)
    for g, m in enumerate(maps):
        sub = grids[g].subgridspec(4, 8, wspace=0.08, hspace=0.08)
        for k in range(m.shape[0]):
            ax = fig.add_subplot(sub[k // 8, k % 8])
            image = ax.imshow(m[k], cmap="viridis", interpolation="nearest")
            ax.set_axis_off()
            ax.set_title(str(k + 1), fontsize=9)
        fig.colorbar(image, ax=fig.axes[-m.shape[0]:], fraction=0.03)
    fig.savefig(out, dpi=144)


def timed(command, cwd, env=None):
    start = time.perf_counter()
    result = subprocess.run(command, cwd=cwd, env=env, capture_output=True, text=True)
    elapsed = time.perf_counter() - start
    if result.returncode != 0:
        sys.exit(f"{' '.join(command)} failed: {result.stderr.strip()}")
    return elapsed, result.stdout


def main():
    if len(sys.argv) == 4 and sys.argv[1] == "--render":
        reference(sys.argv[2], sys.argv[3])
        return
    if not os.path.exists(BINARY):
        sys.exit(f"{BINARY} is missing; make bench builds it")
    try:
        import matplotlib  # noqa: F401
        have_matplotlib = True
    except ImportError:
        have_matplotlib = False
    with tempfile.TemporaryDirectory(prefix="sheetnet-figures-") as project:
        os.makedirs(os.path.join(project, "Worksheets"))
        shutil.copy(os.path.join(ROOT, "Worksheets/digits-cnn.yaml"), os.path.join(project, "Worksheets"))
        lesson = "Worksheets/digits-cnn.yaml"
        train, _ = timed([BINARY, "train", lesson], project)
        model = os.path.join(project, "Output/digits-cnn/model.json")
        times = {kind: [] for kind in KINDS}
        reference_times = []

        def draw(kind):
            elapsed, out = timed([BINARY, "figure", kind, lesson, "--json", "--output", os.path.join(project, "figures")], project)
            # Kinds of the trained network must reuse the model; optimizers draws its own fresh
            # runs and names no model.
            if json.loads(out).get("model") == "trained":
                sys.exit(f"{kind}: the saved model was not reused")
            return elapsed

        def matplotlib_figure():
            out = os.path.join(project, "reference.png")
            elapsed, _ = timed([sys.executable, os.path.abspath(__file__), "--render", model, out], project,
                               env=dict(os.environ, MPLBACKEND="Agg"))
            return elapsed

        applicable = []
        for kind in KINDS:  # untimed first runs; kinds that refuse digits-cnn are left out
            result = subprocess.run([BINARY, "figure", kind, lesson, "--output", os.path.join(project, "figures")], cwd=project,
                                    capture_output=True, text=True)
            if result.returncode == 0:
                applicable.append(kind)
        if have_matplotlib:
            matplotlib_figure()
        for _ in range(ROUNDS):
            for kind in applicable:
                times[kind].append(draw(kind))
            if have_matplotlib:
                reference_times.append(matplotlib_figure())
    print(f"\nFigures from a saved model (digits-cnn, slide PNG, whole process, release build; median of {ROUNDS}; "
          f"training once first took {train:.2f} s)")
    print(f"  {'figure':<16}{'SheetNet':>12}")
    for kind in applicable:
        print(f"  {kind:<16}{statistics.median(times[kind]) * 1e3:>9.0f} ms")
    slowest = max(applicable, key=lambda k: statistics.median(times[k]))
    print(f"  slowest: {slowest}, {statistics.median(times[slowest]) * 1e3:.0f} ms (target: every figure under 500 ms)")
    if have_matplotlib:
        mine, ref = statistics.median(times["feature-maps"]), statistics.median(reference_times)
        print(f"  feature-maps against matplotlib's comparable figure (load model.json, NumPy forward, 64 maps, PNG): "
              f"{mine * 1e3:.0f} ms vs {ref * 1e3:.0f} ms, {ref / mine:.1f}× faster")
    else:
        print("  matplotlib reference skipped: matplotlib is not installed (pip install matplotlib)")


if __name__ == "__main__":
    main()
