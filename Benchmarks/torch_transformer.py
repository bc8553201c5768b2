#!/usr/bin/env python3
"""The transformer training step of sheetnet-bench (step/transformer) in PyTorch, float64, one thread.

    python3 Benchmarks/torch_transformer.py [--json] [--quick] [--repetitions N] [--wall]

The network of Benchmarks/Swift/Cases+Transformer.swift, written as a PyTorch user would: token
embedding (V = 65, d = 64) plus a learned position table (T = 32), two pre-norm blocks
x + attention(layer_norm(x)) and x + dense(gelu(dense(layer_norm(x)))) with
nn.MultiheadAttention(64, 4, batch_first=True) under the causal boolean mask triu(ones, 1)
(need_weights=False, so PyTorch may take its fused attention path), exact GELU, nn.LayerNorm
(ε = 1e-5, SheetNet's default), a final layer norm and nn.Linear(64, 65), nn.CrossEntropyLoss
on the logits at every position, Adam (learning rate 0.001, β 0.9, 0.999, ε 1e-8), batch 16.
Uniform random token ids (the first 32 of 33 as input, the last 32 as targets), four batches
cycled; zero_grad(set_to_none=True), the loss read back with .item().

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
    bc.skip(f"PyTorch transformer reference skipped: {error.name or error} is not installed (pip install torch to include it)")

from torch_mlp import training_step  # noqa: E402  (also puts torch on one thread)

VOCABULARY, WIDTH, TOKENS, HEADS, BATCH = 65, 64, 32, 4, 16
CASE = ("step/transformer", "Transformer V 65, d 64, T 32, 2 blocks of 4 causal heads; batch 16, Adam")


class Block(nn.Module):
    """x + attention(layer_norm(x)), then x + dense(gelu(dense(layer_norm(x))))."""

    def __init__(self):
        super().__init__()
        self.norm1 = nn.LayerNorm(WIDTH, eps=1e-5)
        self.attention = nn.MultiheadAttention(WIDTH, HEADS, batch_first=True)
        self.norm2 = nn.LayerNorm(WIDTH, eps=1e-5)
        self.mlp = nn.Sequential(nn.Linear(WIDTH, 4 * WIDTH), nn.GELU(), nn.Linear(4 * WIDTH, WIDTH))

    def forward(self, x, mask):
        h = self.norm1(x)
        x = x + self.attention(h, h, h, attn_mask=mask, need_weights=False)[0]
        return x + self.mlp(self.norm2(x))


class Transformer(nn.Module):
    """Token ids [N, T] → logits [N·T, V] (one row per position, as nn.CrossEntropyLoss takes them)."""

    def __init__(self):
        super().__init__()
        self.embedding = nn.Embedding(VOCABULARY, WIDTH)
        self.positions = nn.Parameter(torch.randn(TOKENS, WIDTH) * 0.02)
        self.blocks = nn.ModuleList([Block(), Block()])
        self.norm = nn.LayerNorm(WIDTH, eps=1e-5)
        self.head = nn.Linear(WIDTH, VOCABULARY)
        self.register_buffer("mask", torch.triu(torch.ones(TOKENS, TOKENS, dtype=torch.bool), diagonal=1))  # True: masked

    def forward(self, ids):
        x = self.embedding(ids) + self.positions
        for block in self.blocks:
            x = block(x, self.mask)
        return self.head(self.norm(x)).reshape(-1, VOCABULARY)


def step_case():
    rng = np.random.default_rng(7)
    data = []
    for _ in range(4):
        ids = torch.from_numpy(rng.integers(0, VOCABULARY, size=(BATCH, TOKENS + 1)))
        data.append((ids[:, :-1].contiguous(), ids[:, 1:].reshape(-1).contiguous()))  # input [N, T], targets [N·T]
    torch.manual_seed(7)
    model = Transformer().to(torch.float64)
    model.train()
    return bc.cycling_case(CASE[0], CASE[1], data, training_step(model, "adam", 0.001))


def main():
    settings = bc.Settings(sys.argv[1:])
    cases = bc.measure_all([step_case()], settings)
    config = torch.__config__.show()
    meta = {"torch": torch.__version__, "threads": str(torch.get_num_threads()),
            "blas": config.split("BLAS_INFO=")[-1].split(",")[0] if "BLAS_INFO=" in config else "?"}
    bc.report("PyTorch transformer reference", settings, meta, cases)


if __name__ == "__main__":
    main()
