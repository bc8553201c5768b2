#!/usr/bin/env python3
"""The letters-cnn lesson in PyTorch, float64, on the very images SheetNet generates.

    python3 Benchmarks/letters_reference.py [--sheetnet PATH] [--seeds 1,2,3,4,5] [--json]

For each seed, `sheetnet data Worksheets/letters-cnn.yaml --seed S` writes the lesson's split
(train.csv, test.csv: 400 pixels then the class per row) into a temporary folder, and
`sheetnet train … --seed S --json` gives SheetNet's own test accuracy. PyTorch then trains the
same network on the same split: conv 16@3×3 'same' (He uniform, bias 0) → ReLU → max-pool 2 →
conv 16@3×3 'same' (He uniform, bias 0) → ReLU → max-pool 2 → flatten 400 → dense 10 (Glorot
uniform, bias 0) → softmax cross-entropy; Adam (η = 0.005, β = 0.9, 0.999, ε = 1e-8), batches of
32 reshuffled each epoch, 10 epochs, all in float64 with one thread. PyTorch's initial weights and
shuffles come from torch.manual_seed(S), not from SheetNet's generator, so the two agree in
distribution (mean and spread over the seeds), not run by run.

Prints each seed's two test accuracies and each side's mean ± sample standard deviation.
"""
import argparse
import csv
import json
import os
import statistics
import subprocess
import sys
import tempfile

os.environ.setdefault("OMP_NUM_THREADS", "1")
try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as error:
    sys.exit(f"letters_reference.py needs numpy and torch: {error}")

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LESSON = os.path.join(ROOT, "Worksheets", "letters-cnn.yaml")
EPOCHS, BATCH, RATE = 10, 32, 0.005


def load(path):
    """(x as N×1×20×20 float64, labels as int64) from one of sheetnet data's CSV files."""
    with open(path, newline="") as f:
        rows = list(csv.reader(f))[1:]
    data = np.array(rows, dtype=np.float64)
    side = int(round((data.shape[1] - 1) ** 0.5))
    return torch.from_numpy(data[:, :-1].reshape(-1, 1, side, side)), torch.from_numpy(data[:, -1].astype(np.int64))


def network():
    """The lesson's layers with SheetNet's initialisers (uniform He for conv, Glorot for dense)."""
    layers = nn.Sequential(
        nn.Conv2d(1, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10)).double()
    for layer in layers:
        if isinstance(layer, nn.Conv2d):
            fan_in = layer.weight[0].numel()
            nn.init.uniform_(layer.weight, -(6 / fan_in) ** 0.5, (6 / fan_in) ** 0.5)
            nn.init.zeros_(layer.bias)
        elif isinstance(layer, nn.Linear):
            nn.init.xavier_uniform_(layer.weight)
            nn.init.zeros_(layer.bias)
    return layers


def torch_accuracy(seed, folder):
    x, y = load(os.path.join(folder, "train.csv"))
    x_test, y_test = load(os.path.join(folder, "test.csv"))
    torch.manual_seed(seed)
    model = network()
    optimizer = torch.optim.Adam(model.parameters(), lr=RATE, betas=(0.9, 0.999), eps=1e-8)
    loss = nn.CrossEntropyLoss()
    for _ in range(EPOCHS):
        order = torch.randperm(len(y))
        for start in range(0, len(y), BATCH):
            batch = order[start:start + BATCH]
            optimizer.zero_grad(set_to_none=True)
            loss(model(x[batch]), y[batch]).backward()
            optimizer.step()
    with torch.no_grad():
        return (model(x_test).argmax(1) == y_test).double().mean().item()


def main():
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--sheetnet", default=os.path.join(ROOT, ".build-release", "release", "sheetnet"))
    parser.add_argument("--seeds", default="1,2,3,4,5")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(1)
    rows = []
    for seed in [int(s) for s in args.seeds.split(",")]:
        with tempfile.TemporaryDirectory() as folder:
            subprocess.run([args.sheetnet, "data", LESSON, "--seed", str(seed), "--output", folder + "/data"],
                           check=True, stdout=subprocess.DEVNULL)
            trained = subprocess.run([args.sheetnet, "train", LESSON, "--seed", str(seed), "--json", "--output", folder + "/run"],
                                     check=True, capture_output=True, text=True)
            ours = json.loads(trained.stdout)["test"]["accuracy"]
            theirs = torch_accuracy(seed, folder + "/data")
        rows.append({"seed": seed, "sheetnet": ours, "pytorch": theirs})
        if not args.json:
            print(f"seed {seed}: SheetNet {100 * ours:.2f} %, PyTorch float64 {100 * theirs:.2f} %", flush=True)
    summary = {}
    for side in ("sheetnet", "pytorch"):
        values = [100 * r[side] for r in rows]
        summary[side] = {"mean": statistics.mean(values), "sd": statistics.stdev(values) if len(values) > 1 else 0.0}
    if args.json:
        print(json.dumps({"seeds": rows, "summary": summary}, indent=2))
    else:
        for side, name in (("sheetnet", "SheetNet"), ("pytorch", "PyTorch float64")):
            print(f"{name}: {summary[side]['mean']:.2f} ± {summary[side]['sd']:.2f} % (mean ± sd over {len(rows)} seeds)")


if __name__ == "__main__":
    main()
