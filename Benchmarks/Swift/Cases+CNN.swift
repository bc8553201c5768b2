import SheetNet

// The convolutional training steps of issue 3, in the same shapes as Benchmarks/numpy_cnn.py and
// Benchmarks/torch_cnn.py (case ids match).

/// CNN A: 1×28×28 → conv 8@3×3 (valid) → ReLU → max-pool 2 → conv 16@3×3 → ReLU → max-pool 2
/// → flatten (16×5×5 = 400) → dense 10 → softmax, cross-entropy, SGD (learning rate 0.01),
/// batch 32. 5,258 parameters; 192,064 multiply-adds per sample forward.
func cnnA() -> BenchCase {
  imageStep(id: "step/cnn-a", label: "CNN A 1×28×28: conv 8, pool, conv 16, pool, dense 10; batch 32, SGD",
            inputShape: [1, 28, 28], classes: 10, batch: 32, optimizer: { SGD(learningRate: 0.01) }) {
    Conv2D(filters: 8, kernel: (3, 3), initializer: .he)  // → 8×26×26
    ReLU()
    MaxPool2D(size: (2, 2))  // → 8×13×13
    Conv2D(filters: 16, kernel: (3, 3), initializer: .he)  // → 16×11×11
    ReLU()
    MaxPool2D(size: (2, 2))  // → 16×5×5 (the last row and column dropped)
    Flatten()  // → 400
    Dense(10)
    Softmax()
  }
}

/// CNN B, the "proof of principle" network of keras-sequential-ascii's README: 3×32×32 → batch
/// norm (per channel) → conv 16@3×3 ReLU → conv 16@3×3 ReLU → max-pool 2 → conv 16@1×1 tanh
/// → flatten (3,136) → dense 16 ReLU → dropout 0.5 → dense 3 → softmax, cross-entropy, Adam
/// (learning rate 0.001), batch 32. 53,289 trainable parameters; 2.3 M multiply-adds per sample forward.
func cnnB() -> BenchCase {
  imageStep(id: "step/cnn-b", label: "CNN B 3×32×32 (keras-sequential-ascii): BN, conv ×3, dense 16, dropout, dense 3; Adam",
            inputShape: [3, 32, 32], classes: 3, batch: 32, optimizer: { Adam(learningRate: 0.001) }) {
    BatchNorm()
    Conv2D(filters: 16, kernel: (3, 3), initializer: .he)  // → 16×30×30
    ReLU()
    Conv2D(filters: 16, kernel: (3, 3), initializer: .he)  // → 16×28×28
    ReLU()
    MaxPool2D(size: (2, 2))  // → 16×14×14
    Conv2D(filters: 16, kernel: (1, 1))  // → 16×14×14
    Tanh()
    Flatten()  // → 3,136
    Dense(16, initializer: .he)
    ReLU()
    Dropout(rate: 0.5)
    Dense(3)
    Softmax()
  }
}

/// A training step of `layers` (ending in a softmax) with cross-entropy on random images:
/// uniform [0, 1) pixels and uniform labels from `SeededGenerator(seed: 7)`, four pre-made
/// batches cycled so that the timing holds the step alone. Dropout masks come from the step's
/// own seeded generator.
func imageStep(id: String, label: String, inputShape: [Int], classes: Int, batch: Int,
               optimizer: @escaping () -> any Optimizer, @LayerBuilder layers: @escaping () -> [any Layer]) -> BenchCase {
  BenchCase(id: id, group: .step, label: label) {
    var rng = SeededGenerator(seed: 7)
    let size = inputShape.reduce(1, *)
    let batches = (0..<4).map { _ in
      let x = Tensor(shape: [batch] + inputShape, data: (0..<batch * size).map { _ in rng.unit() })  // [N, C, H, W]
      var t = Tensor(shape: [batch, classes])  // one-hot
      for n in 0..<batch { t.data[n * classes + rng.below(classes)] = 1 }
      return (x: x, t: t)
    }
    let model = try Sequential(layers()).build(inputShape: inputShape, rng: &rng)
    let loss = CrossEntropy(), opt = optimizer(), step = Step(training: true, rng: SeededGenerator(seed: 5))
    var next = 0
    return {
      let (x, t) = batches[next]
      next = (next + 1) % batches.count
      model.trainStep(x, t, loss: loss, optimizer: opt, step)
    }
  }
}
