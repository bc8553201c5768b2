import Testing
@testable import SheetNet

/// Losses against central differences, and optimizers against updates worked by hand.
struct LossOptimizerTests {
  /// ∂L/∂(input of the loss): for fused losses the logits before the final softmax/sigmoid.
  func check(_ loss: any Loss, last: (any Layer)?, shape: [Int], seed: UInt64, targets t: Tensor) -> Double {
    let z = randomTensor(shape, seed: seed, lo: -3, hi: 3)
    let step = Step(training: true)
    func output(_ z: Tensor) -> Tensor { last?.forward(z, step) ?? z }
    let y = output(z)
    let (delta, skipsLast) = loss.gradient(output: y, target: t, last: last)
    let analytic = skipsLast || last == nil ? delta : last!.backward(delta, step)
    var numeric = Tensor(shape: z.shape)
    let h = 1e-5
    for i in 0..<z.count {
      var up = z, down = z
      up.data[i] += h
      down.data[i] -= h
      let lu = loss.value(output: output(up), target: t, last: last)
      let ld = loss.value(output: output(down), target: t, last: last)
      numeric.data[i] = (lu - ld) / (2 * h)
    }
    return GradientCheck.relativeError(analytic, numeric)
  }

  func oneHot(_ rows: Int, _ k: Int, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    var t = Tensor(shape: [rows, k])
    for r in 0..<rows { t.data[r * k + rng.below(k)] = 1 }
    return t
  }

  @Test(arguments: [[1, 2], [4, 3], [7, 10]])
  func lossesPassTheGradientCheck(shape: [Int]) {
    for seed in UInt64(1)...3 {
      let (n, k) = (shape[0], shape[1])
      let hot = oneHot(n, k, seed: seed + 50)
      let real = randomTensor(shape, seed: seed + 60, lo: 0, hi: 1)
      let bits = Tensor(shape: shape, data: real.data.map { $0 > 0.5 ? 1 : 0 })
      let cases: [(String, Double)] = [
        ("cross_entropy + softmax", check(CrossEntropy(), last: Softmax(), shape: shape, seed: seed, targets: hot)),
        ("cross_entropy on logits", check(CrossEntropy(), last: nil, shape: shape, seed: seed, targets: hot)),
        ("binary_cross_entropy + sigmoid", check(BinaryCrossEntropy(), last: Sigmoid(), shape: shape, seed: seed, targets: bits)),
        ("binary_cross_entropy on logits", check(BinaryCrossEntropy(), last: nil, shape: shape, seed: seed, targets: bits)),
        ("mse", check(MeanSquaredError(), last: nil, shape: shape, seed: seed, targets: real)),
        ("half_sse", check(HalfSquaredError(), last: nil, shape: shape, seed: seed, targets: real)),
        ("mse after sigmoid", check(MeanSquaredError(), last: Sigmoid(), shape: shape, seed: seed, targets: real)),
      ]
      for (name, error) in cases { #expect(error <= 1e-6, "\(name) \(shape) seed \(seed): \(error)") }
    }
  }

  @Test func crossEntropyIsStableForHugeLogits() {
    let z = Tensor(rows: [[1000, -1000, 0]]), t = Tensor(rows: [[0, 1, 0]])
    let l = CrossEntropy().value(output: z, target: t, last: nil)
    #expect(l == 2000)  // log Σ e^z − z_target = 1000 − (−1000)
    #expect(BinaryCrossEntropy().value(output: Tensor(rows: [[800]]), target: Tensor(rows: [[0]]), last: nil) == 800)
  }

  /// One parameter w = 1 with gradient g = 0.5, by hand.
  func parameter() -> Parameter {
    let p = Parameter(name: "W", value: Tensor([1.0]))
    p.grad = Tensor([0.5])
    return p
  }

  @Test func sgdMomentumNesterovAndDecayByHand() {
    let plain = parameter()
    SGD(learningRate: 0.1).update(plain, layer: "l", tracer: nil)
    #expect(plain.value.data == [1 - 0.1 * 0.5])
    let momentum = parameter(), sgd = SGD(learningRate: 0.1, momentum: 0.9)
    sgd.update(momentum, layer: "l", tracer: nil)  // v = 0.5, w = 1 − 0.05
    sgd.update(momentum, layer: "l", tracer: nil)  // v = 0.9·0.5 + 0.5 = 0.95, w = 0.95 − 0.095
    #expect(momentum.state["v"]!.data == [0.9 * 0.5 + 0.5])
    #expect(momentum.value.data == [(1 - 0.1 * 0.5) - 0.1 * (0.9 * 0.5 + 0.5)])
    let nesterov = parameter()
    SGD(learningRate: 0.1, momentum: 0.9, nesterov: true).update(nesterov, layer: "l", tracer: nil)
    #expect(nesterov.value.data == [1 - 0.1 * (0.5 + 0.9 * 0.5)])  // g + μ·v with v = g
    let decay = parameter()
    SGD(learningRate: 0.1, weightDecay: 0.01).update(decay, layer: "l", tracer: nil)
    #expect(decay.value.data == [1 - 0.1 * (0.5 + 0.01 * 1)])
  }

  @Test func adamFirstStepsByHand() {
    let p = parameter(), adam = Adam(learningRate: 0.01)
    adam.stepCount = 1
    adam.update(p, layer: "l", tracer: nil)
    // m = 0.1·0.5 = 0.05, s = 0.001·0.25; m̂ = 0.5, ŝ = 0.25; step = 0.01·0.5/(0.5 + 1e-8)
    let m = (1 - 0.9) * 0.5, s = (1 - 0.999) * (0.5 * 0.5)
    #expect(p.state["m"]!.data == [m] && p.state["s"]!.data == [s])
    let expected = 1 - 0.01 * (m / (1 - 0.9)) / ((s / (1 - 0.999)).squareRoot() + 1e-8)
    #expect(p.value.data == [expected])
    #expect(abs(p.value.data[0] - (1 - 0.01)) < 1e-9)  // Adam's first step is about η·sign(g)
  }

  @Test func frozenParametersDoNotMove() {
    let layer = Dense(1, weights: Tensor(rows: [[2]]), bias: Tensor([3]), trainableBias: false)
    var rng = SeededGenerator(seed: 1)
    _ = try? layer.build(inputShape: [1], rng: &rng)
    layer.W.grad = Tensor(shape: [1, 1], data: [1])
    layer.b.grad = Tensor([1])
    SGD(learningRate: 0.5).step([layer], tracer: nil)
    #expect(layer.W.value.data == [1.5] && layer.b.value.data == [3])
  }
}

/// Lessons reach the accuracies the issues ask for, deterministically.
struct LessonAccuracyTests {
  func accuracy(_ name: String, seed: UInt64) throws -> Double {
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/\(name).yaml")), seed: seed)
    try run.train()
    return run.evaluate(run.evaluationSet.data).accuracy ?? 0
  }

  @Test func digitsMLPMeanTestAccuracyOverFiveSeeds() throws {
    let accuracies = try (1...5).map { try accuracy("digits-mlp", seed: UInt64($0)) }
    let mean = accuracies.reduce(0, +) / 5
    #expect(mean >= 0.97, "digits-mlp test accuracies \(accuracies), mean \(mean)")
  }

  @Test func irisMLPMeanTestAccuracyOverFiveSeeds() throws {
    let accuracies = try (1...5).map { try accuracy("iris-mlp", seed: UInt64($0)) }
    let mean = accuracies.reduce(0, +) / 5
    #expect(mean >= 0.95, "iris-mlp test accuracies \(accuracies), mean \(mean)")
  }

  @Test func xorClassifiesAllFourPoints() throws {
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/xor.yaml")))
    try run.train()
    let e = run.evaluate(run.split.train)
    #expect(run.split.train.count == 4 && e.accuracy == 1, "\(e.predictions)")
  }

  @Test func resultBuilderBuildsTheSameNetworkAsALesson() throws {
    let model = Sequential {
      Dense(64, initializer: .he)
      ReLU()
      Dense(10)
      Softmax()
    }
    var rng = SeededGenerator(seed: 3)
    try model.build(inputShape: [64], rng: &rng)
    #expect(model.layers.map(\.name) == ["dense1", "relu1", "dense2", "softmax1"])
    #expect(model.parameterCount == 64 * 64 + 64 + 64 * 10 + 10 && model.outputShape == [10])
  }

  @Test func generatedSetsAreSeededAndShaped() {
    for kind in Generated.kinds {
      var a = SeededGenerator(seed: 9), b = SeededGenerator(seed: 9)
      let d1 = Generated.make(kind, count: 100, noise: 0.2, rng: &a), d2 = Generated.make(kind, count: 100, noise: 0.2, rng: &b)
      #expect(d1.x == d2.x && d1.labels == d2.labels, "\(kind)")
      #expect(d1.x.shape == [100, 2] && Set(d1.labels!) == [0, 1], "\(kind)")
    }
  }

  @Test func csvHeaderAndLabelColumn() throws {
    let (x, labels, header) = try CSVData.parse("a,label,b\n1,0,2\n3,1,4\n", file: "t.csv", labelColumn: 1)
    #expect(header == ["a", "label", "b"] && labels == [0, 1] && x == Tensor(rows: [[1, 2], [3, 4]]))
    let iris = try Builtin.iris(), digits = try Builtin.digits()
    #expect(iris.x.shape == [150, 4] && iris.classes == 3)
    #expect(digits.x.shape == [1797, 64] && digits.classes == 10 && digits.x.data.max() == 16)
  }
}
