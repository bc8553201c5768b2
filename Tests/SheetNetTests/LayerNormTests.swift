import Testing
@testable import SheetNet

/// Layer normalisation: central-difference checks on [d] and [T, d] samples, a hand-worked row,
/// the same numbers in training and evaluation, γ and β through a model file, a lesson that
/// learns with it, and its traced arithmetic.
struct LayerNormTests {
  /// |a − b| ≤ `tolerance`·|b|.
  func near(_ a: Double, _ b: Double, _ tolerance: Double = 1e-15) -> Bool { abs(a - b) <= tolerance * abs(b) }

  /// The one line an error says (or "no error").
  func message(_ body: () throws -> Void) -> String {
    do { try body() } catch let e as SheetNetError { return e.description } catch { return "\(error)" }
    return "no error"
  }

  /// Layer options as a lesson gives them.
  func options(_ kind: String, _ values: [(String, Value)] = []) -> LayerOptions {
    LayerOptions(kind: kind, index: 2, values: values.map { (key: $0.0, value: $0.1) }, location: "lesson.yaml line 9")
  }

  @Test(arguments: [[1, 4], [5, 3], [3, 8], [2, 3, 4], [3, 1, 5], [2, 4, 2]])
  func gradients(shape: [Int]) throws {
    for seed in UInt64(1)...3 {
      let layer = try built(LayerNorm(), Array(shape.dropFirst()))
      let d = shape.last!
      layer.gamma.value = randomTensor([d], seed: seed + 30, lo: 0.5, hi: 2)
      layer.beta.value = randomTensor([d], seed: seed + 40)
      let x = randomTensor(shape, seed: seed, lo: -2, hi: 3)
      for r in GradientCheck.layer(layer, input: x) {
        #expect(r.relativeError <= 1e-6, "\(r.name) \(shape) seed \(seed): \(r.relativeError)")
      }
      for r in GradientCheck.layer(layer, input: x, training: false) {
        #expect(r.relativeError <= 1e-6, "\(r.name) \(shape) seed \(seed), evaluation: \(r.relativeError)")
      }
    }
  }

  /// x = [1, 2, 3, 6], ε = 1e-5, γ = [1, 2, 0.5, −1], β = [0, 0, 0.25, 0], worked by hand:
  ///
  ///     μ  = (1 + 2 + 3 + 6)/4 = 3
  ///     σ² = ((−2)² + (−1)² + 0² + 3²)/4 = 14/4 = 3.5
  ///     s  = √(3.5 + 0.00001) = √3.50001 = 1.87083136599748081089…
  ///     x̂  = [−2, −1, 0, 3]/s = [−1.06904344044587347515…, −0.53452172022293673757…, 0, 1.60356516066881021273…]
  ///     a  = γ·x̂ + β = [−1.06904344044587347515…, −1.06904344044587347515…, 0.25, −1.60356516066881021273…]
  ///
  /// Backward with δ = [1, 0, 0, 0]: ∂L/∂γ = δ·x̂ = [x̂₁, 0, 0, 0], ∂L/∂β = δ = [1, 0, 0, 0],
  /// ∂L/∂x̂ = δ·γ = [1, 0, 0, 0], mean(∂L/∂x̂) = 1/4, mean(∂L/∂x̂·x̂) = x̂₁/4 = −1/(2s), so
  /// ∂L/∂xⱼ = (1/s)·(∂L/∂x̂ⱼ − 1/4 + x̂ⱼ/(2s)) = (1/s)·(∂L/∂x̂ⱼ − 1/4 + (xⱼ − μ)/7.00002):
  ///
  ///     ∂L/∂x = [(1 − 0.25 − 2/7.00002)/s, (−0.25 − 1/7.00002)/s, −0.25/s, (−0.25 + 3/7.00002)/s]
  ///           = [0.24817123501794962602…, −0.20999045763036064797…, −0.13363043005573418439…, 0.09544965266814520634…]
  ///
  /// (Σⱼ ∂L/∂xⱼ = 0: shifting every x moves nothing.)
  @Test func handWorkedRow() throws {
    let layer = try built(LayerNorm(), [4])
    layer.gamma.value = Tensor([1, 2, 0.5, -1])
    layer.beta.value = Tensor([0, 0, 0.25, 0])
    let a = layer.forward(Tensor(rows: [[1, 2, 3, 6]]), Step(training: true))
    #expect(layer.mean.shape == [1, 1] && layer.mean.data == [3])
    #expect(layer.variance.data == [3.5])
    let xhat = [-1.0690434404458734751569674601967853084539, -0.5345217202229367375784837300983926542269, 0,
                1.6035651606688102127354511902951779626808]
    let want = [-1.0690434404458734751569674601967853084539, -1.0690434404458734751569674601967853084539, 0.25,
                -1.6035651606688102127354511902951779626808]
    for j in 0..<4 {
      #expect(near(layer.xhat.data[j], xhat[j]), "x̂\(j + 1) = \(layer.xhat.data[j]), by hand \(xhat[j])")
      #expect(near(a.data[j], want[j]), "a\(j + 1) = \(a.data[j]), by hand \(want[j])")
    }
    let dx = layer.backward(Tensor(rows: [[1, 0, 0, 0]]), Step(training: true))
    #expect(layer.gamma.grad.data == [layer.xhat.data[0], 0, 0, 0] && layer.beta.grad.data == [1, 0, 0, 0])
    #expect(layer.dxhat.data == [1, 0, 0, 0])
    let dxByHand = [0.2481712350179496260269450373107116268421, -0.2099904576303606479730798126561395954707,
                    -0.1336304300557341843946209325245981635567, 0.0954496526681452063407557078700261321853]
    for j in 0..<4 { #expect(near(dx.data[j], dxByHand[j]), "∂L/∂x\(j + 1) = \(dx.data[j]), by hand \(dxByHand[j])") }
  }

  @Test func rowsAreIndependentAndEvaluationIsTraining() throws {
    // [2, 3, 4]: six rows of four; row (n, t) alone gives the numbers it gives among the others.
    let layer = try built(LayerNorm(), [3, 4])
    layer.gamma.value = randomTensor([4], seed: 3, lo: 0.5, hi: 2)
    layer.beta.value = randomTensor([4], seed: 4)
    let x = randomTensor([2, 3, 4], seed: 5, lo: -2, hi: 3)
    let training = layer.forward(x, Step(training: true))
    #expect(layer.mean.shape == [2, 3, 1] && layer.variance.shape == [2, 3, 1])
    let evaluation = layer.forward(x, Step(training: false))
    #expect(training.data == evaluation.data)
    let second = layer.forward(Tensor(shape: [1, 3, 4], data: Array(x.data[12..<24])), Step(training: false))
    #expect(second.data == Array(training.data[12..<24]))
  }

  @Test func refusesImagesAndBadEpsilon() throws {
    let image = message { try built(LayerNorm(), [1, 8, 8]) }
    #expect(image.contains("1×8×8") && image.contains("flatten"), "\(image)")
    let epsilon = message { _ = try LayerNorm(options: options("layer_norm", [("epsilon", .number(0))])) }
    #expect(epsilon.contains("'epsilon' must be greater than 0"), "\(epsilon)")
    #expect(try LayerNorm(options: options("layer_norm")).epsilon == 1e-5)
  }

  static let lesson = """
    seed: 3
    data:
      dataset: inline
      x: [[0.1, 0.9], [0.2, 0.7], [0.3, 0.8], [0.8, 0.2], [0.9, 0.3], [0.7, 0.1], [0.5, 0.6], [0.6, 0.4]]
      labels: [0, 0, 0, 1, 1, 1, 0, 1]
    network:
      - {type: dense, units: 4}
      - {type: layer_norm, epsilon: 0.0001}
      - relu
      - {type: dense, units: 2}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.3}
    train: {epochs: 40, batch_size: 4}

    """

  @Test func lessonLearnsWithLayerNorm() throws {
    let run = try LessonRun(try Lesson.parse(Self.lesson, path: "layernorm.yaml"))
    let norm = try #require(run.model.layers[1] as? LayerNorm)
    #expect(norm.name == "layernorm1" && norm.epsilon == 1e-4)
    try run.train()
    let losses = run.history.epochs.map(\.trainLoss)
    #expect(losses.count == 40)
    #expect(losses.last! < 0.5 * losses.first!, "loss \(losses.first!) → \(losses.last!)")
    #expect(norm.gamma.value.data != [1, 1, 1, 1] && norm.beta.value.data != [0, 0, 0, 0], "γ and β are trained")
  }

  @Test func gammaAndBetaRoundTripThroughAModelFile() throws {
    let run = try LessonRun(try Lesson.parse(Self.lesson, path: "layernorm.yaml"))
    run.trainer.epochs = 3
    try run.train()
    let text = ModelFile(run: run).value.json()
    let back = try ModelFile.decode(try Value.parseJSON(text))
    let (mine, theirs) = (try #require(run.model.layers[1] as? LayerNorm), try #require(back.model.layers[1] as? LayerNorm))
    #expect(theirs.name == mine.name && theirs.epsilon == mine.epsilon)
    #expect(theirs.parameters.map(\.name) == ["gamma", "beta"] && theirs.parameters.allSatisfy(\.trainable))
    for (p, q) in zip(mine.parameters, theirs.parameters) {
      #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern), "\(p.name)")
      #expect(p.state.keys.sorted() == q.state.keys.sorted())
    }
    #expect(back.value.json() == text)
    #expect(back.mismatch(with: run) == nil)
    // The lesson with another ε is not the file's network, and the line says so.
    let other = try LessonRun(try Lesson.parse(Self.lesson.replacingOccurrences(of: "epsilon: 0.0001", with: "epsilon: 0.001"), path: "layernorm.yaml"))
    let why = back.mismatch(model: other.model, loss: other.loss, optimizer: other.optimizer, preprocess: other.preprocess, classes: nil)
    #expect(why == "layer 2 (layernorm1) has epsilon 0.0001, the lesson says 0.001", "\(why ?? "matched")")
  }

  @Test func traceWritesTheArithmetic() throws {
    let model = Sequential { Dense(3); LayerNorm(); ReLU(); Dense(2) }
    var rng = SeededGenerator(seed: 2)
    try model.build(inputShape: [4], rng: &rng)
    let tracer = Tracer()
    model.trainStep(randomTensor([5, 4], seed: 1), Tensor(rows: [[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]]),
                    loss: CrossEntropy(), optimizer: SGD(learningRate: 0.1), Step(training: true, tracer: tracer))
    let ln = model.layers[1].name
    let keys = ["forward.gamma", "forward.beta", "forward.mean", "forward.var", "forward.xhat", "forward.a",
                "backward.delta", "backward.dgamma", "backward.dbeta", "backward.dxhat", "backward.dx"]
    #expect(tracer.entries.filter { $0.layer == ln && $0.phase != .update }.map { $0.name.dropFirst(ln.count + 1) } == keys.map { Substring($0) })
    for key in keys where !["forward.gamma", "forward.beta", "backward.delta"].contains(key) {
      let e = try #require(tracer.entry("\(ln).\(key)"))
      let explain = try #require(e.explain, "\(key) has no arithmetic")
      for i in 0..<e.value.count { #expect(explain(i).result == e.value.data[i], "\(key)[\(i)]") }
    }
    let mean = try #require(tracer.entry("\(ln).forward.mean"))
    #expect(mean.value.shape == [5, 1] && mean.batched)
    for r in 0..<5 {
      let m = mean.explain!(r)
      #expect(m.args.count == 3 && abs(m.args.reduce(0, +) / 3 - m.result) <= 1e-15 * abs(m.result) + 1e-300)
    }
    let a = try #require(tracer.entry("\(ln).forward.a"))
    for i in 0..<a.value.count {
      let e = a.explain!(i)
      #expect(e.args[0] * e.args[1] + e.args[2] == e.result)
    }
    // ∂L/∂x from its own numbers: (1/√(σ² + ε))·(dx̂ᵢ − mean(dx̂) − x̂ᵢ·mean(dx̂·x̂)).
    let dx = try #require(tracer.entry("\(ln).backward.dx"))
    for i in 0..<dx.value.count {
      let e = dx.explain!(i), j = i % 3
      let (dxhat, xhat) = (Array(e.args[2..<5]), Array(e.args[5..<8]))
      let m1 = dxhat.reduce(0, +) / 3, m2 = zip(dxhat, xhat).map(*).reduce(0, +) / 3
      let value = 1 / (e.args[0] + e.args[1]).squareRoot() * (dxhat[j] - m1 - xhat[j] * m2)
      #expect(abs(value - e.result) <= 1e-14 * max(abs(e.result), 1e-3), "∂L/∂x[\(i)]")
      #expect(e.template.hasPrefix("(1/√({0} + {1}))·({\(2 + j)} − "), "\(e.template)")
    }
    #expect(tracer.firstNonFinite == nil)
  }
}
