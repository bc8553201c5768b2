#!/usr/bin/env python3
"""The convolutional training steps of sheetnet-bench in NumPy, float64, one thread.

    python3 Benchmarks/numpy_cnn.py [--json] [--quick] [--repetitions N] [--wall] [--check]

CNN A: 1×28×28 → conv 8@3×3 → ReLU → max-pool 2 → conv 16@3×3 → ReLU → max-pool 2 → flatten
→ dense 10, softmax cross-entropy, SGD (learning rate 0.01), batch 32.
CNN B (keras-sequential-ascii's README): 3×32×32 → batch norm → conv 16@3×3 ReLU → conv 16@3×3
ReLU → max-pool 2 → conv 16@1×1 tanh → flatten → dense 16 ReLU → dropout 0.5 → dense 3,
softmax cross-entropy, Adam (learning rate 0.001), batch 32.

Written as a NumPy user would, vectorised over the batch: a convolution is im2col (a strided
window view copied once into a patch matrix [N·oh·ow, C·k·k]) and one matrix product each for
z, ∂L/∂W and the patches' gradient, which k·k slice additions fold back onto ∂L/∂x (col2im).
Activations stay in the layout the product gives (channels last in memory, NCHW by index), so
no copy is made just to reorder them. Max pooling takes the first maximum of each window
(argmax), as SheetNet does. Like SheetNet and autograd, it skips ∂L/∂x of the first layer.
Random images and labels from a seeded generator, four batches cycled.

--check compares every gradient of a small instance with central differences and exits.
"""
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import benchcommon as bc  # noqa: E402  (puts BLAS on one thread, before NumPy loads)

import numpy as np  # noqa: E402
from numpy.lib.stride_tricks import sliding_window_view  # noqa: E402


def uniform_init(rng, shape, fan_in, fan_out, he):
    """He (√(6/fan_in)) or Glorot (√(6/(fan_in + fan_out))) uniform, as SheetNet draws."""
    r = np.sqrt(6.0 / fan_in) if he else np.sqrt(6.0 / (fan_in + fan_out))
    return rng.uniform(-r, r, size=shape)


class Conv2D:
    """Valid convolution, stride 1, by im2col; W kept as the patch matrix's partner [F, C·k·k]."""

    def __init__(self, rng, channels, filters, k, he=True):
        self.k = k
        self.W = uniform_init(rng, (filters, channels * k * k), channels * k * k, filters * k * k, he)
        self.b = np.zeros(filters)
        self.params = [self.W, self.b]

    def forward(self, x, training):
        n, c, h, w = x.shape
        k = self.k
        oh, ow = h - k + 1, w - k + 1
        windows = sliding_window_view(x, (k, k), axis=(2, 3))  # (N, C, oh, ow, k, k), a view
        self.cols = windows.transpose(0, 2, 3, 1, 4, 5).reshape(n * oh * ow, c * k * k)  # the copy
        self.shape = x.shape
        z = self.cols @ self.W.T  # (N·oh·ow, F)
        z += self.b
        return z.reshape(n, oh, ow, -1).transpose(0, 3, 1, 2)  # (N, F, oh, ow), channels last in memory

    def backward(self, dz, need_dx):
        n, c, h, w = self.shape
        k = self.k
        oh, ow = h - k + 1, w - k + 1
        d = dz.transpose(0, 2, 3, 1).reshape(n * oh * ow, -1)  # (N·oh·ow, F); no copy when channels last
        self.grads = [d.T @ self.cols, d.sum(axis=0)]
        if not need_dx:
            return None
        dcols = (d @ self.W).reshape(n, oh, ow, c, k, k)
        dx = np.zeros((n, h, w, c))  # channels last, like dcols
        for u in range(k):
            for v in range(k):
                dx[:, u:u + oh, v:v + ow, :] += dcols[:, :, :, :, u, v]
        return dx.transpose(0, 3, 1, 2)  # (N, C, H, W)


class MaxPool2D:
    """s×s windows, stride s, no padding (a last odd row or column is dropped); first max wins."""

    def __init__(self, s=2):
        self.s = s
        self.params = []

    def forward(self, x, training):
        n, c, h, w = x.shape
        s = self.s
        oh, ow = h // s, w // s
        windows = x[:, :, :oh * s, :ow * s].reshape(n, c, oh, s, ow, s).transpose(0, 1, 2, 4, 3, 5)
        windows = windows.reshape(n, c, oh, ow, s * s)  # (N, C, oh, ow, s·s), row-major in the window
        self.winner = windows.argmax(axis=4)[..., None]
        self.shape = x.shape
        return np.take_along_axis(windows, self.winner, axis=4)[..., 0]

    def backward(self, d, need_dx):
        n, c, h, w = self.shape
        s = self.s
        oh, ow = h // s, w // s
        dwin = np.zeros((n, c, oh, ow, s * s))
        np.put_along_axis(dwin, self.winner, d[..., None], axis=4)
        blocks = dwin.reshape(n, c, oh, ow, s, s).transpose(0, 1, 2, 4, 3, 5).reshape(n, c, oh * s, ow * s)
        if (h, w) == (oh * s, ow * s):
            return blocks
        dx = np.zeros((n, c, h, w))
        dx[:, :, :oh * s, :ow * s] = blocks
        return dx


class ReLU:
    params = []

    def forward(self, z, training):
        self.mask = z > 0
        return np.maximum(z, 0.0)

    def backward(self, d, need_dx):
        return d * self.mask


class Tanh:
    params = []

    def forward(self, z, training):
        self.a = np.tanh(z)
        return self.a

    def backward(self, d, need_dx):
        return d * (1.0 - self.a * self.a)


class Flatten:
    """Sample by sample in (c, y, x) order, as SheetNet and PyTorch flatten."""
    params = []

    def forward(self, x, training):
        self.shape = x.shape
        return x.reshape(x.shape[0], -1)

    def backward(self, d, need_dx):
        return d.reshape(self.shape)


class Dense:
    def __init__(self, rng, fan_in, units, he):
        self.W = uniform_init(rng, (units, fan_in), fan_in, units, he)
        self.b = np.zeros(units)
        self.params = [self.W, self.b]

    def forward(self, x, training):
        self.x = x
        z = x @ self.W.T
        z += self.b
        return z

    def backward(self, d, need_dx):
        self.grads = [d.T @ self.x, d.sum(axis=0)]
        return d @ self.W if need_dx else None


class BatchNorm:
    """Per channel over the batch and positions, biased variance, ε = 0.001, momentum 0.9 (Keras)."""

    def __init__(self, channels, momentum=0.9, epsilon=1e-3):
        self.gamma, self.beta = np.ones(channels), np.zeros(channels)
        self.running_mean, self.running_var = np.zeros(channels), np.ones(channels)
        self.momentum, self.epsilon = momentum, epsilon
        self.params = [self.gamma, self.beta]

    def forward(self, x, training):
        mean, var = x.mean(axis=(0, 2, 3)), x.var(axis=(0, 2, 3))
        self.inv = 1.0 / np.sqrt(var + self.epsilon)
        self.xhat = (x - mean[:, None, None]) * self.inv[:, None, None]
        self.running_mean *= self.momentum
        self.running_mean += (1 - self.momentum) * mean
        self.running_var *= self.momentum
        self.running_var += (1 - self.momentum) * var
        return self.gamma[:, None, None] * self.xhat + self.beta[:, None, None]

    def backward(self, d, need_dx):
        dbeta, dgamma = d.sum(axis=(0, 2, 3)), (d * self.xhat).sum(axis=(0, 2, 3))
        self.grads = [dgamma, dbeta]
        if not need_dx:
            return None
        m = d.size // d.shape[1]
        scale = (self.gamma * self.inv / m)[:, None, None]
        return scale * (m * d - dbeta[:, None, None] - self.xhat * dgamma[:, None, None])


class Dropout:
    """Inverted dropout: kept units scaled by 1/(1 − p)."""
    params = []

    def __init__(self, rng, rate):
        self.rng, self.keep = rng, 1.0 - rate

    def forward(self, x, training):
        self.mask = (self.rng.random(x.shape) < self.keep) / self.keep
        return x * self.mask

    def backward(self, d, need_dx):
        return d * self.mask


class Network:
    """Layers, then softmax cross-entropy; SGD or Adam updating the parameters in place."""

    def __init__(self, layers, optimizer, learning_rate):
        self.layers = layers
        self.params = [p for layer in layers for p in layer.params]
        self.optimizer, self.lr, self.t = optimizer, learning_rate, 0
        if optimizer == "adam":
            self.m = [np.zeros_like(p) for p in self.params]
            self.s = [np.zeros_like(p) for p in self.params]

    def loss_and_gradients(self, x, t, labels):
        """Forward, loss and backward; each layer keeps its gradients in `grads`."""
        a = x
        for layer in self.layers:
            a = layer.forward(a, True)
        n = a.shape[0]
        m = a.max(axis=1, keepdims=True)
        e = np.exp(a - m)
        total = e.sum(axis=1, keepdims=True)
        loss = float(np.mean(np.log(total[:, 0]) + m[:, 0] - a[np.arange(n), labels]))
        d = (e / total - t) / n  # ∂L/∂z of the last layer
        for i in range(len(self.layers) - 1, -1, -1):
            d = self.layers[i].backward(d, i > 0)
        return loss

    def step(self, x, t, labels):
        loss = self.loss_and_gradients(x, t, labels)
        grads = [g for layer in self.layers if layer.params for g in layer.grads]
        self.t += 1
        if self.optimizer == "sgd":
            for p, g in zip(self.params, grads):
                p -= self.lr * g
            return loss
        b1, b2, eps = 0.9, 0.999, 1e-8
        c1, c2 = 1 - b1 ** self.t, 1 - b2 ** self.t
        for p, g, m, s in zip(self.params, grads, self.m, self.s):
            m *= b1
            m += (1 - b1) * g
            s *= b2
            s += (1 - b2) * g * g
            p -= self.lr * (m / c1) / (np.sqrt(s / c2) + eps)
        return loss


def cnn_a(rng):
    layers = [Conv2D(rng, 1, 8, 3), ReLU(), MaxPool2D(2),  # 8×26×26 → 8×13×13
              Conv2D(rng, 8, 16, 3), ReLU(), MaxPool2D(2),  # 16×11×11 → 16×5×5
              Flatten(), Dense(rng, 400, 10, he=False)]
    return layers, "sgd", 0.01


def cnn_b(rng):
    layers = [BatchNorm(3),
              Conv2D(rng, 3, 16, 3), ReLU(),  # 16×30×30
              Conv2D(rng, 16, 16, 3), ReLU(), MaxPool2D(2),  # 16×28×28 → 16×14×14
              Conv2D(rng, 16, 16, 1, he=False), Tanh(),
              Flatten(), Dense(rng, 3136, 16, he=True), ReLU(), Dropout(rng, 0.5),
              Dense(rng, 16, 3, he=False)]
    return layers, "adam", 0.001


# (case id, label, network, input shape, classes); ids and labels match sheetnet-bench.
NETWORKS = [
    ("step/cnn-a", "CNN A 1×28×28: conv 8, pool, conv 16, pool, dense 10; batch 32, SGD", cnn_a, (1, 28, 28), 10),
    ("step/cnn-b", "CNN B 3×32×32 (keras-sequential-ascii): BN, conv ×3, dense 16, dropout, dense 3; Adam", cnn_b, (3, 32, 32), 3),
]


def image_batches(shape, classes, batch, count=4, seed=7):
    """`count` batches of uniform [0, 1) images, one-hot targets and labels."""
    rng = np.random.default_rng(seed)
    out = []
    for _ in range(count):
        x = rng.random((batch,) + shape)
        labels = rng.integers(0, classes, size=batch)
        t = np.zeros((batch, classes))
        t[np.arange(batch), labels] = 1.0
        out.append((x, t, labels))
    return out


def step_case(case_id, label, make, shape, classes, batch=32):
    data = image_batches(shape, classes, batch)
    layers, optimizer, learning_rate = make(np.random.default_rng(7))
    model = Network(layers, optimizer, learning_rate)
    return bc.cycling_case(case_id, label, data, model.step)


def gradient_check():
    """Central differences on small instances of both networks (dropout off: rate 0)."""
    rng = np.random.default_rng(3)
    worst = 0.0
    for name, layers, shape, classes in [
        ("A", [Conv2D(rng, 1, 2, 3), ReLU(), MaxPool2D(2), Conv2D(rng, 2, 3, 3), ReLU(), MaxPool2D(2),
               Flatten(), Dense(rng, 3, 4, he=False)], (1, 12, 12), 4),
        ("B", [BatchNorm(2), Conv2D(rng, 2, 3, 3), ReLU(), Conv2D(rng, 3, 3, 3), ReLU(), MaxPool2D(2),
               Conv2D(rng, 3, 2, 1, he=False), Tanh(), Flatten(), Dense(rng, 8, 5, he=True), ReLU(),
               Dropout(rng, 0.0), Dense(rng, 5, 3, he=False)], (2, 8, 8), 3),
    ]:
        x, t, labels = image_batches(shape, classes, 4, count=1, seed=5)[0]
        x = x * 2 - 1
        net = Network(layers, "sgd", 0.0)
        net.loss_and_gradients(x, t, labels)
        analytic = [g.copy() for layer in layers if layer.params for g in layer.grads]
        for p, g in zip(net.params, analytic):
            for i in range(p.size):
                old = p.flat[i]
                p.flat[i] = old + 1e-6
                up = net.loss_and_gradients(x, t, labels)
                p.flat[i] = old - 1e-6
                down = net.loss_and_gradients(x, t, labels)
                p.flat[i] = old
                numeric = (up - down) / 2e-6
                worst = max(worst, abs(numeric - g.flat[i]) / max(1e-6, abs(numeric) + abs(g.flat[i])))
        print(f"CNN {name}: gradients checked, worst relative difference so far {worst:.2e}")
    sys.exit(0 if worst < 1e-5 else 1)


def main():
    if "--check" in sys.argv[1:]:
        gradient_check()
    settings = bc.Settings(sys.argv[1:])
    cases = bc.measure_all([step_case(*network) for network in NETWORKS], settings)
    bc.report("NumPy CNN reference", settings, bc.numpy_meta(np), cases)


if __name__ == "__main__":
    main()
