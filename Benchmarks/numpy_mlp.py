#!/usr/bin/env python3
"""The MLP training steps of sheetnet-bench in NumPy, float64, one thread.

One step = forward (z = x·Wᵀ + b, ReLU, softmax), the softmax cross-entropy loss, backward
(δ = (a − t)/N, dW = δᵀ·x, db = Σₙ δ, dx = δ·W and the ReLU mask) and the update, all
vectorised, parameters updated in place. As any NumPy user would, it skips ∂L/∂x of the
first layer (nothing uses it). Also times NumPy's matrix product at n = 64, 128, 256.

    python3 Benchmarks/numpy_mlp.py [--json] [--quick] [--repetitions N] [--wall]

Runs BLAS on one thread (OPENBLAS_NUM_THREADS=1, set before NumPy loads); OPENBLAS_CORETYPE
is left as the environment has it.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchcommon as bc  # noqa: E402  (puts BLAS on one thread, before NumPy loads)

import numpy as np  # noqa: E402


class MLP:
    """Dense → ReLU → … → Dense → softmax with cross-entropy; SGD or Adam."""

    def __init__(self, sizes, optimizer, learning_rate, seed=7):
        rng = np.random.default_rng(seed)
        self.W, self.b = [], []
        for i, (fan_in, fan_out) in enumerate(zip(sizes[:-1], sizes[1:])):
            last = i == len(sizes) - 2
            r = np.sqrt(6.0 / (fan_in + fan_out)) if last else np.sqrt(6.0 / fan_in)  # Glorot / He
            self.W.append(rng.uniform(-r, r, size=(fan_out, fan_in)))
            self.b.append(np.zeros(fan_out))
        self.optimizer, self.lr, self.t = optimizer, learning_rate, 0
        if optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.W + self.b]
            self.s = [np.zeros_like(p) for p in self.W + self.b]

    def step(self, x, t, labels):
        """One training step on a batch; returns the loss before the update."""
        n = x.shape[0]
        # Forward: z = a·Wᵀ + b, ReLU between layers, keep every input for backward.
        inputs, zs, a = [], [], x
        for i, (W, b) in enumerate(zip(self.W, self.b)):
            inputs.append(a)
            z = a @ W.T
            z += b
            zs.append(z)
            a = np.maximum(z, 0.0) if i < len(self.W) - 1 else z
        # Softmax cross-entropy, stable: L = mean(log Σ e^(z − m) + m − z_label).
        z = zs[-1]
        m = z.max(axis=1, keepdims=True)
        e = np.exp(z - m)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) + m[:, 0] - z[np.arange(n), labels]))
        delta = (e / total - t) / n  # ∂L/∂z of the last layer
        # Backward, last layer first; no ∂L/∂x for the first layer.
        grads_W, grads_b = [None] * len(self.W), [None] * len(self.W)
        for i in range(len(self.W) - 1, -1, -1):
            grads_W[i] = delta.T @ inputs[i]
            grads_b[i] = delta.sum(axis=0)
            if i > 0:
                delta = (delta @ self.W[i]) * (zs[i - 1] > 0)
        self.update(grads_W + grads_b)
        return loss

    def update(self, grads):
        params = self.W + self.b
        self.t += 1
        if self.optimizer == "sgd":
            for p, g in zip(params, grads):
                p -= self.lr * g
            return
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, s in zip(params, grads, self.m, self.s):
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(s / c2) + eps)


def step_case(case_id, label, sizes, batch, digits, optimizer, learning_rate):
    if digits:
        x, labels = bc.load_digits(np)
    else:
        x, labels = bc.random_data(np, features=sizes[0])
    data = bc.batches(np, x, labels, batch, sizes[-1])
    model = MLP(sizes, optimizer, learning_rate)
    return bc.cycling_case(case_id, label, data, model.step)


def gemm_case(n):
    rng = np.random.default_rng(11)
    a, b = rng.uniform(-1, 1, (n, n)), rng.uniform(-1, 1, (n, n))
    c = np.empty((n, n))
    return bc.Case(f"gemm/{n}/numpy", f"n = {n}, NumPy matmul", lambda: np.matmul(a, b, out=c), flops=2.0 * n ** 3)


def main():
    settings = bc.Settings(sys.argv[1:])
    cases = bc.measure_all([step_case(*step) for step in bc.MLP_STEPS] + [gemm_case(n) for n in (64, 128, 256)], settings)
    bc.report("NumPy reference", settings, bc.numpy_meta(np), cases)


if __name__ == "__main__":
    main()
