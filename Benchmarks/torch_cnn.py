#!/usr/bin/env python3
"""The convolutional training steps of sheetnet-bench in PyTorch, float64, one thread.

    python3 Benchmarks/torch_cnn.py [--json] [--quick] [--repetitions N] [--wall]

The networks of numpy_cnn.py (CNN A with SGD, CNN B with Adam; see there), written as a PyTorch
user would: nn.Conv2d / nn.MaxPool2d / nn.BatchNorm2d (ε = 0.001, momentum 0.1, which is Keras'
0.9) / nn.Dropout in train mode, nn.CrossEntropyLoss on the logits, autograd (which skips ∂L/∂x
of the input, as SheetNet does), torch.optim.SGD or Adam, zero_grad(set_to_none=True) and the
loss read back with .item(). The same random images and labels as numpy_cnn.py.

When PyTorch is not installed it says so and exits 0 (with --json: {"skipped": …}).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchcommon as bc  # noqa: E402  (puts BLAS on one thread, before PyTorch loads)

try:
    import numpy as np  # noqa: F401  (numpy_cnn needs it; say so here when it is missing)
    import torch
    from torch import nn
except ImportError as error:  # torch (or numpy) missing: say so, do not fail the comparison
    bc.skip(f"PyTorch CNN reference skipped: {error.name or error} is not installed (pip install torch to include it)")

from numpy_cnn import NETWORKS, image_batches  # noqa: E402  (the same ids, labels and data)

from torch_mlp import training_step  # noqa: E402  (also puts torch on one thread)


def cnn_a():
    """1×28×28 → conv 8@3×3 ReLU → pool 2 → conv 16@3×3 ReLU → pool 2 → flatten 400 → dense 10."""
    layers = nn.Sequential(
        nn.Conv2d(1, 8, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(8, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Flatten(), nn.Linear(400, 10))
    return layers, "sgd", 0.01


def cnn_b():
    """3×32×32 → BN → conv 16@3×3 ReLU → conv 16@3×3 ReLU → pool 2 → conv 16@1×1 tanh → flatten
    3136 → dense 16 ReLU → dropout 0.5 → dense 3."""
    layers = nn.Sequential(
        nn.BatchNorm2d(3, eps=1e-3, momentum=0.1),
        nn.Conv2d(3, 16, 3), nn.ReLU(),
        nn.Conv2d(16, 16, 3), nn.ReLU(), nn.MaxPool2d(2),
        nn.Conv2d(16, 16, 1), nn.Tanh(),
        nn.Flatten(), nn.Linear(3136, 16), nn.ReLU(), nn.Dropout(0.5),
        nn.Linear(16, 3))
    return layers, "adam", 0.001


BUILDERS = {"step/cnn-a": cnn_a, "step/cnn-b": cnn_b}


def step_case(case_id, label, shape, classes, batch=32):
    data = [(torch.from_numpy(xb), torch.from_numpy(lb)) for xb, _, lb in image_batches(shape, classes, batch)]
    torch.manual_seed(7)
    layers, optimizer, learning_rate = BUILDERS[case_id]()
    model = layers.to(torch.float64)
    model.train()
    return bc.cycling_case(case_id, label, data, training_step(model, optimizer, learning_rate))


def main():
    settings = bc.Settings(sys.argv[1:])
    cases = bc.measure_all([step_case(case_id, label, shape, classes) for case_id, label, _, shape, classes in NETWORKS],
                           settings)
    config = torch.__config__.show()
    meta = {"torch": torch.__version__, "threads": str(torch.get_num_threads()),
            "blas": config.split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO=" in config else "?"}
    bc.report("PyTorch CNN reference", settings, meta, cases)


if __name__ == "__main__":
    main()
