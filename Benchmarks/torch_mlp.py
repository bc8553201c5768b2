#!/usr/bin/env python3
"""The MLP training steps of sheetnet-bench in PyTorch, float64, one thread.

Written as a PyTorch user would: nn.Linear / nn.ReLU, nn.CrossEntropyLoss on the logits (softmax
and cross-entropy fused), autograd for the backward pass, torch.optim.SGD or Adam for the update,
gradients reset with zero_grad(set_to_none=True) and the loss read back with .item() (SheetNet
returns it too). Autograd skips ∂L/∂x of the first layer, as the NumPy reference does.
Also times torch.matmul at n = 64, 128, 256.

    python3 Benchmarks/torch_mlp.py [--json] [--quick] [--repetitions N] [--wall]

When PyTorch is not installed it says so and exits 0 (with --json: {"skipped": …}).
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchcommon as bc  # noqa: E402  (puts BLAS on one thread, before PyTorch loads)

try:
    import numpy as np
    import torch
    from torch import nn
except ImportError as error:  # torch (or numpy) missing: say so, do not fail the comparison
    bc.skip(f"PyTorch reference skipped: {error.name or error} is not installed (pip install torch to include it)")

torch.set_num_threads(1)
try:
    torch.set_num_interop_threads(1)
except RuntimeError:  # only settable once, before any inter-op work
    pass


def mlp(sizes):
    """Linear → ReLU → … → Linear in float64; the loss applies the softmax."""
    layers = []
    for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
        layers.append(nn.Linear(fan_in, fan_out, dtype=torch.float64))
        if i < len(sizes) - 2:
            layers.append(nn.ReLU())
    return nn.Sequential(*layers)


def training_step(model, optimizer, learning_rate):
    """One optimiser step on a batch (x, labels): zero the gradients, cross-entropy, backward, step."""
    loss_fn = nn.CrossEntropyLoss()
    if optimizer == "sgd":
        opt = torch.optim.SGD(model.parameters(), lr=learning_rate)
    else:
        opt = torch.optim.Adam(model.parameters(), lr=learning_rate, betas=(0.9, 0.999), eps=1e-8)

    def step(xb, lb):
        opt.zero_grad(set_to_none=True)
        loss = loss_fn(model(xb), lb)
        loss.backward()
        opt.step()
        return loss.item()

    return step


def step_case(case_id, label, sizes, batch, digits, optimizer, learning_rate):
    if digits:
        x, labels = bc.load_digits(np)
    else:
        x, labels = bc.random_data(np, features=sizes[0])
    data = [(torch.from_numpy(xb), torch.from_numpy(lb)) for xb, _, lb in bc.batches(np, x, labels, batch, sizes[-1])]
    torch.manual_seed(7)
    model = mlp(sizes)
    return bc.cycling_case(case_id, label, data, training_step(model, optimizer, learning_rate))


def gemm_case(n):
    generator = torch.Generator().manual_seed(11)
    a = torch.rand((n, n), dtype=torch.float64, generator=generator) * 2 - 1
    b = torch.rand((n, n), dtype=torch.float64, generator=generator) * 2 - 1
    c = torch.empty((n, n), dtype=torch.float64)
    return bc.Case(f"gemm/{n}/torch", f"n = {n}, torch.matmul", lambda: torch.matmul(a, b, out=c), flops=2.0 * n ** 3)


def main():
    settings = bc.Settings(sys.argv[1:])
    cases = [step_case(*step) for step in bc.MLP_STEPS] + [gemm_case(n) for n in (64, 128, 256)]  # a and b need no gradient: no autograd graph
    cases = bc.measure_all(cases, settings)
    meta = {"torch": torch.__version__, "threads": str(torch.get_num_threads()),
            "blas": torch.__config__.show().split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO=" in torch.__config__.show() else "?"}
    bc.report("PyTorch reference", settings, meta, cases)


if __name__ == "__main__":
    main()
