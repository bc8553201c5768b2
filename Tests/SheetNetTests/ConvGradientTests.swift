import Testing
@testable import SheetNet

/// One convolution case: batch, input C×H×W, filters, kernel, stride, padding.
struct ConvCase: Sendable, CustomTestStringConvertible {
  var n: Int, c: Int, h: Int, w: Int, filters: Int, kernel: (Int, Int), stride: (Int, Int), padding: Conv2D.Padding
  var useBias = true
  var testDescription: String {
    "N\(n) \(c)×\(h)×\(w) → \(filters)@\(kernel.0)×\(kernel.1) stride \(stride.0)×\(stride.1) \(padding.rawValue)\(useBias ? "" : " no bias")"
  }
  /// The layer, built with seeded weights (and a random bias); its tier comes from each step's policy.
  func layer(seed: UInt64 = 1) throws -> Conv2D {
    let conv = Conv2D(filters: filters, kernel: kernel, stride: stride, padding: padding, useBias: useBias)
    try built(conv, [c, h, w], seed: seed)
    if useBias { conv.b.value = randomTensor([filters], seed: seed + 10) }
    return conv
  }
  var input: Tensor { randomTensor([n, c, h, w], seed: UInt64(n * 100 + h * 10 + w)) }
}

/// Convolution cases: square and rectangular kernels, several channels, strides that do and do
/// not divide the input, valid and TensorFlow-style same padding (symmetric and uneven).
let convCases: [ConvCase] = [
  ConvCase(n: 2, c: 1, h: 5, w: 5, filters: 2, kernel: (3, 3), stride: (1, 1), padding: .valid),
  ConvCase(n: 2, c: 2, h: 5, w: 6, filters: 3, kernel: (3, 2), stride: (1, 1), padding: .same),
  ConvCase(n: 1, c: 3, h: 7, w: 7, filters: 2, kernel: (3, 3), stride: (2, 2), padding: .valid),
  ConvCase(n: 2, c: 2, h: 7, w: 6, filters: 2, kernel: (2, 3), stride: (3, 2), padding: .valid),  // rows 5, 6 never read
  ConvCase(n: 2, c: 2, h: 7, w: 7, filters: 2, kernel: (3, 3), stride: (2, 2), padding: .same),  // out 4, pad 1 + 1
  ConvCase(n: 1, c: 1, h: 5, w: 5, filters: 1, kernel: (2, 2), stride: (1, 1), padding: .same),  // pad 0 above, 1 below
  ConvCase(n: 1, c: 2, h: 6, w: 5, filters: 2, kernel: (4, 4), stride: (2, 3), padding: .same),
  ConvCase(n: 3, c: 2, h: 4, w: 4, filters: 2, kernel: (3, 3), stride: (1, 1), padding: .valid, useBias: false),
]

/// Central-difference checks (relative error ≤ 1e-6, for the input and every parameter) for the
/// convolutional layers, pooling, flatten, dropout and batch norm.
struct ConvGradientTests {
  static let tolerance = 1e-6

  func expectPasses(_ results: [GradientCheck.Result], _ what: String) {
    for r in results {
      #expect(r.relativeError <= Self.tolerance, "\(r.name) \(what): \(r.relativeError)")
    }
  }

  @Test(arguments: convCases, [ComputePolicy.Tier.reference, .fast])
  func conv2d(_ c: ConvCase, tier: ComputePolicy.Tier) throws {
    let conv = try c.layer(), policy = ComputePolicy(tier: tier)
    #expect(conv.route(batch: c.n, policy) == (tier == .reference ? .reference : .fast(products: .swift)))
    expectPasses(GradientCheck.layer(conv, input: c.input, fresh: { Step(training: true, rng: SeededGenerator(seed: 7), policy: policy) }),
                 "\(c.testDescription) \(tier)")
  }

  @Test(arguments: [
    ([2, 2, 4, 4], (2, 2), (2, 2)),
    ([1, 2, 5, 5], (2, 2), (2, 2)),  // stride does not divide 5: last row and column unused
    ([1, 1, 5, 4], (3, 2), (1, 1)),  // overlapping windows
    ([2, 1, 6, 7], (3, 3), (2, 3)),
  ])
  func pooling(shape: [Int], size: (Int, Int), stride: (Int, Int)) throws {
    for seed in UInt64(1)...2 {
      let x = randomTensor(shape, seed: seed)
      let what = "\(shape) size \(size) stride \(stride) seed \(seed)"
      expectPasses(GradientCheck.layer(try built(MaxPool2D(size: size, stride: stride), Array(shape.dropFirst())), input: x), what)
      expectPasses(GradientCheck.layer(try built(AvgPool2D(size: size, stride: stride), Array(shape.dropFirst())), input: x), what)
    }
  }

  @Test func flatten() throws {
    let layer = try built(Flatten(), [3, 2, 2])
    let x = randomTensor([2, 3, 2, 2], seed: 3)
    #expect(layer.forward(x, Step(training: true)).shape == [2, 12])
    expectPasses(GradientCheck.layer(layer, input: x), "flatten")
  }

  @Test(arguments: [0.0, 0.3, 0.5, 0.9], [[3, 10], [2, 2, 3, 3]])
  func dropout(rate: Double, shape: [Int]) throws {
    // GradientCheck re-seeds the pass generator before every forward pass: the mask is fixed.
    let layer = try built(Dropout(rate: rate), Array(shape.dropFirst()))
    expectPasses(GradientCheck.layer(layer, input: randomTensor(shape, seed: 4)), "dropout \(rate) \(shape)")
    expectPasses(GradientCheck.layer(layer, input: randomTensor(shape, seed: 4), training: false), "dropout \(rate) \(shape) evaluation")
  }

  @Test(arguments: [[4, 3], [6, 5], [3, 2, 3, 3], [2, 3, 2, 2]])
  func batchNorm(shape: [Int]) throws {
    for seed in UInt64(1)...2 {
      let layer = try built(BatchNorm(), Array(shape.dropFirst()))
      let channels = shape[1]
      layer.gamma.value = randomTensor([channels], seed: seed + 30, lo: 0.5, hi: 2)
      layer.beta.value = randomTensor([channels], seed: seed + 40)
      let x = randomTensor(shape, seed: seed, lo: -2, hi: 3)
      expectPasses(GradientCheck.layer(layer, input: x), "batch norm \(shape) training seed \(seed)")
      // Evaluation: the running statistics (moved by the passes above) are constants.
      expectPasses(GradientCheck.layer(layer, input: x, training: false), "batch norm \(shape) evaluation seed \(seed)")
    }
  }

  @Test func networkOfEveryLayer() throws {
    let model = Sequential {
      Conv2D(filters: 3, kernel: (3, 3), padding: .same)
      BatchNorm()
      ReLU()
      MaxPool2D(size: (2, 2))
      Conv2D(filters: 2, kernel: (2, 2), stride: (2, 2))
      AvgPool2D(size: (1, 1))
      Flatten()
      Dropout(rate: 0.25)
      Dense(3)
    }
    var rng = SeededGenerator(seed: 2)
    try model.build(inputShape: [2, 6, 6], rng: &rng)
    #expect(model.outputShape == [3])
    let x = randomTensor([4, 2, 6, 6], seed: 5)
    var t = Tensor(shape: [4, 3])
    for n in 0..<4 { t.data[n * 3 + n % 3] = 1 }
    for r in GradientCheck.network(model, x: x, t: t, loss: CrossEntropy()) {
      #expect(r.relativeError <= Self.tolerance, "\(r.name): \(r.relativeError)")
    }
  }
}

/// Max pooling's winners, ties and hand-worked convolutions small enough to check on paper.
struct ConvExampleTests {
  @Test func maxPoolTiesGoToTheFirstInRowMajorOrder() throws {
    let pool = try built(MaxPool2D(size: (2, 2)), [1, 2, 4])
    // Window 1 holds 1, 3 / 3, 2: the 3 in the top row wins. Window 2 is all 7s: its first wins.
    let x = Tensor(shape: [1, 1, 2, 4], data: [1, 3, 7, 7,
                                               3, 2, 7, 7])
    let a = pool.forward(x, Step(training: true))
    #expect(a.data == [3, 7])
    #expect(pool.winners == [1, 2])
    #expect(pool.winnerPositions.data == [1, 0])
    let dx = pool.backward(Tensor(shape: [1, 1, 1, 2], data: [0.5, -2]), Step(training: true))
    #expect(dx.data == [0, 0.5, -2, 0,
                        0, 0, 0, 0])
  }

  @Test func maxPoolOverlappingTiesShareNothing() throws {
    // Windows of two over 5, 5, 5, 5 (stride 1): each window's first 5 wins (three outputs,
    // so the kernel's pair of lanes and its odd last output are both used).
    let pool = try built(MaxPool2D(size: (1, 2), stride: (1, 1)), [1, 1, 4])
    _ = pool.forward(Tensor(shape: [1, 1, 1, 4], data: [5, 5, 5, 5]), Step(training: true))
    #expect(pool.winners == [0, 1, 2])
    let dx = pool.backward(Tensor(shape: [1, 1, 1, 3], data: [1, 10, 100]), Step(training: true))
    #expect(dx.data == [1, 10, 100, 0])
  }

  @Test func maxPoolMatchesAScalarScan() throws {
    // Small integers make many ties; compare with a plain scan in row-major window order.
    for (shape, size, stride) in [([2, 3, 7, 9], (2, 2), (2, 2)), ([1, 2, 5, 6], (2, 2), (1, 1)), ([1, 2, 6, 5], (3, 2), (1, 2)), ([1, 1, 5, 7], (2, 3), (3, 1))] {
      let pool = try built(MaxPool2D(size: size, stride: stride), Array(shape.dropFirst()))
      var rng = SeededGenerator(seed: 12)
      let x = Tensor(shape: shape, data: (0..<shape.reduce(1, *)).map { _ in Double(rng.below(4)) })
      let a = pool.forward(x, Step(training: true))
      for o in 0..<a.count {
        let (values, indices) = poolWindowValues(x, pool.window, o)
        let first = values.firstIndex(of: values.max()!)!
        #expect(a.data[o] == values[first] && pool.winners[o] == indices[first], "\(shape) output \(o)")
      }
    }
  }

  @Test func convolutionByHand() throws {
    // x = 1…9 in a 3×3 image, W = [[1, 2], [3, 4]], b = 0.5.
    let x = Tensor(shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let w = Tensor(rows: [[1, 2], [3, 4]])
    for policy in [ComputePolicy.reference, .fast] {
      let valid = Conv2D(filters: 1, kernel: (2, 2), weights: w, bias: Tensor([0.5]))
      try built(valid, [1, 3, 3])
      // z₁₁ = 1·1 + 2·2 + 4·3 + 5·4 + 0.5 = 37.5
      #expect(valid.forward(x, Step(training: true, policy: policy)).data == [37.5, 47.5, 67.5, 77.5])
      // same: out 3×3, one zero row below and one zero column right (TensorFlow's split).
      let same = Conv2D(filters: 1, kernel: (2, 2), padding: .same, weights: w, bias: Tensor([0.5]))
      try built(same, [1, 3, 3])
      #expect(same.window.padTop == 0 && same.window.padLeft == 0)
      #expect(same.forward(x, Step(training: true, policy: policy)).data == [37.5, 47.5, 21.5, 67.5, 77.5, 33.5, 23.5, 26.5, 9.5])
    }
  }

  @Test func samePaddingFollowsTensorFlow() {
    // out = ⌈in/s⌉, p = max((out − 1)·s + k − in, 0), ⌊p/2⌋ before.
    #expect(SlidingWindow.outputSize(4, kernel: 3, stride: 2, padding: .same)! == (2, 0))
    #expect(SlidingWindow.outputSize(5, kernel: 3, stride: 2, padding: .same)! == (3, 1))
    #expect(SlidingWindow.outputSize(7, kernel: 4, stride: 1, padding: .same)! == (7, 1))
    #expect(SlidingWindow.outputSize(28, kernel: 3, stride: 1, padding: .valid)! == (26, 0))
    #expect(SlidingWindow.outputSize(7, kernel: 2, stride: 3, padding: .valid)! == (2, 0))
    #expect(SlidingWindow.outputSize(2, kernel: 3, stride: 1, padding: .valid) == nil)
  }

  @Test func dropoutMaskIsSeededInvertedAndOffAtEvaluation() throws {
    let layer = try built(Dropout(rate: 0.25), [1000])
    let x = Tensor(shape: [2, 1000], repeating: 2)
    let a = layer.forward(x, Step(training: true, rng: SeededGenerator(seed: 9)))
    let kept = layer.mask.data.filter { $0 != 0 }
    #expect(Set(layer.mask.data).isSubset(of: [0, 1 / 0.75]))
    #expect(abs(Double(kept.count) / 2000 - 0.75) < 0.03)
    #expect(a.data.allSatisfy { $0 == 0 || abs($0 - 2 / 0.75) < 1e-15 })
    let mask = layer.mask
    _ = layer.forward(x, Step(training: true, rng: SeededGenerator(seed: 9)))
    #expect(layer.mask == mask)
    #expect(layer.forward(x, Step(training: false)) == x)
    #expect(layer.backward(x, Step(training: false)) == x)
  }

  @Test func batchNormStatisticsAndRunningAverages() throws {
    let layer = try built(BatchNorm(momentum: 0.9, epsilon: 1e-3), [1, 1, 2])
    // One channel, values 1, 2, 3, 6: μ = 3, σ² = (4 + 1 + 0 + 9)/4 = 3.5.
    let x = Tensor(shape: [2, 1, 1, 2], data: [1, 2, 3, 6])
    let a = layer.forward(x, Step(training: true))
    #expect(layer.mean.data == [3] && layer.variance.data == [3.5])
    #expect(abs(a.data[3] - 3 / (3.5 + 1e-3).squareRoot()) < 1e-15)
    #expect(abs(layer.runningMean.value.data[0] - 0.3) < 1e-15)  // 0.9·0 + 0.1·3
    #expect(abs(layer.runningVar.value.data[0] - 1.25) < 1e-15)  // 0.9·1 + 0.1·3.5
    #expect(layer.parameters.map(\.name) == ["gamma", "beta", "running_mean", "running_var"])
    #expect(layer.parameters.map(\.trainable) == [true, true, false, false])
    let running = (layer.runningMean.value, layer.runningVar.value)
    let e = layer.forward(x, Step(training: false))
    #expect(abs(e.data[0] - (1 - running.0.data[0]) / (running.1.data[0] + 1e-3).squareRoot()) < 1e-15)
    #expect(layer.runningMean.value == running.0 && layer.runningVar.value == running.1)  // evaluation leaves them
  }

  @Test func batchNormRunningStatisticsAreNotTrained() throws {
    let model = Sequential { Dense(4); BatchNorm(); ReLU(); Dense(2) }
    var rng = SeededGenerator(seed: 3)
    try model.build(inputShape: [3], rng: &rng)
    let bn = model.layers[1] as! BatchNorm
    let x = randomTensor([5, 3], seed: 8)
    let t = Tensor(rows: [[1, 0], [0, 1], [1, 0], [0, 1], [1, 0]])
    let adam = Adam(learningRate: 0.1, beta1: 0.9, beta2: 0.999, epsilon: 1e-8, weightDecay: 0)
    model.trainStep(x, t, loss: CrossEntropy(), optimizer: adam, Step(training: true))
    // The running mean moved only by the momentum rule, never by the optimizer.
    let expected = bn.mean.data.map { 0.1 * $0 }
    for (r, e) in zip(bn.runningMean.value.data, expected) { #expect(abs(r - e) < 1e-15) }
    #expect(bn.runningMean.state.isEmpty)
  }
}
