import Foundation
import Testing
@testable import SheetNet

/// The sequence layers: embedding, positional, dense on the last axis and GELU. Central
/// differences (≤ 1e-6 relative) for each, a hand-worked example for each, dense on [T, d] against
/// dense on the same N·T rows (bit for bit, on every tier), and a whole token network built from a
/// lesson, trained one step and saved in a model file that reads back bit for bit.
struct SequenceLayerTests {
  /// Token ids [N, T] in 0 ..< V from a seeded generator (with repeats once N·T > V).
  static func ids(_ n: Int, _ t: Int, vocabulary v: Int, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: [n, t], data: (0..<n * t).map { _ in Double(rng.below(v)) })
  }

  // MARK: Embedding

  @Test(arguments: [(1, 3, 4, 2), (2, 5, 3, 4), (3, 4, 7, 3)])
  func embeddingGradient(batch: Int, positions: Int, vocabulary: Int, size: Int) throws {
    for seed in UInt64(1)...3 {
      let layer = try built(Embedding(size: size, vocabulary: vocabulary), [positions], seed: seed)
      let x = Self.ids(batch, positions, vocabulary: vocabulary, seed: seed + 10)
      // The ids have no gradient (and no central difference: id + h is no token), so E alone.
      let results = GradientCheck.layer(layer, input: x).filter { $0.name.hasSuffix(".E") }
      #expect(results.count == 1)
      for r in results {
        #expect(r.relativeError <= 1e-6, "\(r.name) \(batch)×\(positions), V \(vocabulary), d \(size), seed \(seed): \(r.relativeError)")
      }
    }
  }

  /// Ids [2, 0, 2] read rows 2, 0, 2 of E; dE adds token 2's two δ rows, token 1 gets nothing.
  @Test func embeddingByHand() throws {
    let layer = try built(Embedding(size: 2, vocabulary: 3), [3])
    layer.E.value = Tensor(rows: [[0.1, 0.2], [0.3, 0.4], [0.5, 0.6]])
    let tracer = Tracer()
    let step = Step(training: true, tracer: tracer)
    let a = layer.forward(Tensor(shape: [1, 3], data: [2, 0, 2]), step)
    #expect(a.shape == [1, 3, 2])
    #expect(a.data == [0.5, 0.6, 0.1, 0.2, 0.5, 0.6])
    let dx = layer.backward(Tensor(shape: [1, 3, 2], data: [1, 2, 3, 4, 5, 6]), step)
    // dE[0] = δ row 2 = [3, 4]; dE[1] = 0 (token 1 is absent); dE[2] = δ row 1 + δ row 3 = [1 + 5, 2 + 6].
    #expect(layer.E.grad == Tensor(rows: [[3, 4], [0, 0], [6, 8]]))
    #expect(dx == Tensor(shape: [1, 3]), "ids have no gradient: zeros of x's shape")
    #expect(layer.multiplyAdds == 0 && layer.outputKey == "a")

    let lookup = try #require(tracer.entry("embedding.forward.a")?.explain?(5))
    #expect(lookup.template == "E[token {0}]₂" && lookup.args == [2] && lookup.result == 0.6)
    let scatter = try #require(tracer.entry("embedding.backward.dE")?.explain?(4))  // token 2, element 1
    #expect(scatter.lhs == "∂L/∂E[token 2]₁" && scatter.template == "{0} + {1}" && scatter.args == [1, 5] && scatter.result == 6)
    let absent = try #require(tracer.entry("embedding.backward.dE")?.explain?(2))
    #expect(absent.args.isEmpty && absent.result == 0 && absent.template.contains("not in the batch"))
    #expect(tracer.entry("embedding.forward.E")?.batched == false)
  }

  /// Ids that are no token (too large, negative, fractional, NaN) read zeros and add nothing.
  @Test func embeddingSurvivesIdsOutsideTheTable() throws {
    let layer = try built(Embedding(size: 2, vocabulary: 3), [5])
    let x = Tensor(shape: [1, 5], data: [3, -1, 1.5, .nan, 1])
    let step = Step(training: true, tracer: Tracer())
    let a = layer.forward(x, step)
    #expect(Array(a.data[0..<8]) == Array(repeating: 0, count: 8))
    #expect(Array(a.data[8..<10]) == Array(layer.E.value.data[2..<4]))
    _ = layer.backward(Tensor(shape: [1, 5, 2], repeating: 1), step)
    #expect(layer.E.grad.data == [0, 0, 1, 1, 0, 0])
  }

  @Test func embeddingNeedsItsVocabulary() throws {
    do {
      try built(Embedding(size: 4), [5])
      Issue.record("built without a vocabulary")
    } catch {
      #expect("\(error)".contains("needs 'vocabulary'"), "\(error)")
    }
    let late = Embedding(size: 4)
    late.vocabulary = 9  // as the lesson runner does from the data
    #expect(try built(late, [5]).E.value.shape == [9, 4])
    // E starts with variance 1: uniform in [−√3, √3).
    let big = try built(Embedding(size: 50, vocabulary: 200), [1])
    let values = big.E.value.data
    let mean = values.reduce(0, +) / Double(values.count)
    let variance = values.reduce(0) { $0 + ($1 - mean) * ($1 - mean) } / Double(values.count)
    #expect(abs(mean) < 0.05 && abs(variance - 1) < 0.05 && values.allSatisfy { abs($0) < 3.0.squareRoot() })
  }

  // MARK: Positional

  @Test(arguments: [(1, 2, 3), (3, 4, 5)])
  func positionalGradient(batch: Int, positions: Int, size: Int) throws {
    for seed in UInt64(1)...3 {
      for encoding in Positional.Encoding.allCases {
        let layer = try built(Positional(encoding), [positions, size], seed: seed)
        let results = GradientCheck.layer(layer, input: randomTensor([batch, positions, size], seed: seed + 20))
        #expect(results.map(\.name) == (encoding == .learned ? ["positional.input", "positional.P"] : ["positional.input"]))
        for r in results {
          #expect(r.relativeError <= 1e-6, "\(encoding) \(r.name) \(batch)×\(positions)×\(size) seed \(seed): \(r.relativeError)")
        }
      }
    }
  }

  /// Learned: a = x + P for each sample; dP = δ summed over the samples; dx = δ.
  @Test func learnedPositionalByHand() throws {
    let layer = try built(Positional(), [2, 2])
    layer.P.value = Tensor(rows: [[0.1, 0.2], [0.3, 0.4]])
    let tracer = Tracer()
    let step = Step(training: true, tracer: tracer)
    let a = layer.forward(Tensor(shape: [2, 2, 2], data: [1, 2, 3, 4, 5, 6, 7, 8]), step)
    #expect(a.data == [1.1, 2.2, 3.3, 4.4, 5.1, 6.2, 7.3, 8.4])
    let delta = Tensor(shape: [2, 2, 2], data: [1, 2, 3, 4, 10, 20, 30, 40])
    let dx = layer.backward(delta, step)
    #expect(layer.P.grad == Tensor(rows: [[11, 22], [33, 44]]))
    #expect(dx == delta)
    let sum = try #require(tracer.entry("positional.backward.dP")?.explain?(3))
    #expect(sum.template == "{0} + {1}" && sum.args == [4, 40] && sum.result == 44)
    let add = try #require(tracer.entry("positional.forward.a")?.explain?(6))
    #expect(add.template == "{0} + {1}" && add.args == [7, 0.3] && add.result == 7.3)
    #expect(tracer.entries.map(\.name) == ["positional.forward.P", "positional.forward.a", "positional.backward.delta",
                                           "positional.backward.dP", "positional.backward.dx"])
  }

  /// Sinusoidal, d = 4, t = 1: the angles are 1/10000^(0/4) = 1 (columns 0 and 1) and
  /// 1/10000^(2/4) = 1/100 = 0.01 (columns 2 and 3), so
  /// P[1, :] = [sin 1, cos 1, sin 0.01, cos 0.01] = [0.8414709848078965, 0.5403023058681398,
  /// 0.009999833334166664, 0.9999500004166653]; and P[0, :] = [sin 0, cos 0, sin 0, cos 0] = [0, 1, 0, 1].
  @Test func sinusoidalByHand() throws {
    let layer = try built(Positional(.sinusoidal), [3, 4])
    let p = layer.P.value
    #expect(p.shape == [3, 4] && !layer.P.trainable && layer.parameters.isEmpty)
    #expect(Array(p.data[0..<4]) == [0, 1, 0, 1])
    let expected = [0.8414709848078965, 0.5403023058681398, 0.009999833334166664, 0.9999500004166653]
    for (got, want) in zip(p.data[4..<8], expected) { #expect(abs(got - want) <= 1e-15, "\(got) vs \(want)") }
    let tracer = Tracer()
    let step = Step(training: true, tracer: tracer)
    _ = layer.forward(Tensor(shape: [1, 3, 4]), step)
    let entry = try #require(tracer.entry("positional.forward.P")?.explain?(6))  // t = 1, column 2 (2i = 2)
    #expect(entry.template == "sin({0} / 10000^({1}/{2}))" && entry.args == [1, 2, 4] && entry.result == p.data[6])
    let dx = layer.backward(Tensor(shape: [1, 3, 4], repeating: 2), step)
    #expect(dx.data.allSatisfy { $0 == 2 } && tracer.entry("positional.backward.dP") == nil)
  }

  @Test func positionalNeedsOneVectorPerPosition() {
    do {
      try built(Positional(), [5])
      Issue.record("built on a flat input")
    } catch {
      #expect("\(error)".contains("put an embedding before it"), "\(error)")
    }
    do {
      _ = try Positional(options: LayerOptions(kind: "positional", values: [("kind", .string("sinus"))]))
      Issue.record("accepted kind sinus")
    } catch {
      #expect("\(error)".contains("'kind' must be one of learned, sinusoidal, got 'sinus'"), "\(error)")
    }
  }

  // MARK: Dense on the last axis

  @Test(arguments: [(1, 1, 3, 2), (2, 3, 4, 5), (3, 4, 5, 1)])
  func denseOnSequencesGradient(batch: Int, positions: Int, inputs: Int, units: Int) throws {
    for seed in UInt64(1)...3 {
      let layer = try built(Dense(units), [positions, inputs], seed: seed)
      layer.b.value = randomTensor([units], seed: seed + 10)
      let results = GradientCheck.layer(layer, input: randomTensor([batch, positions, inputs], seed: seed + 20))
      #expect(results.map(\.name) == ["dense.input", "dense.W", "dense.b"])
      for r in results {
        #expect(r.relativeError <= 1e-6, "\(r.name) \(batch)×\(positions)×\(inputs)→\(units) seed \(seed): \(r.relativeError)")
      }
    }
  }

  /// Dense on [N, T, d] is dense on the N·T rows [N·T, d], bit for bit, on every tier: z, dW,
  /// db, dx — the same W at every position, the sums over all N·T rows.
  @Test(arguments: [(2, 3, 4, 5), (3, 33, 17, 9), (4, 20, 64, 64)])
  func denseOnSequencesIsDenseOnRows(batch: Int, positions: Int, inputs: Int, units: Int) throws {
    let policies: [ComputePolicy] = [.automatic, .reference, ComputePolicy(tier: .fast, products: .swift),
                                     ComputePolicy(tier: .fast, products: .fused), ComputePolicy(tier: .fast, products: .blas)]
    let x = randomTensor([batch, positions, inputs], seed: 5)
    let delta = randomTensor([batch, positions, units], seed: 6)
    for policy in policies {
      let sequence = try built(Dense(units), [positions, inputs], seed: 3)
      let flat = try built(Dense(units), [inputs], seed: 3)
      #expect(sequence.multiplyAdds == positions * flat.multiplyAdds)
      for layer in [sequence, flat] { layer.b.value = randomTensor([units], seed: 7) }
      let z = sequence.forward(x, Step(training: true, policy: policy))
      let zRows = flat.forward(x.reshaped([batch * positions, inputs]), Step(training: true, policy: policy))
      let dx = sequence.backward(delta, Step(training: true, policy: policy))
      let dxRows = flat.backward(delta.reshaped([batch * positions, units]), Step(training: true, policy: policy))
      #expect(z.shape == [batch, positions, units] && dx.shape == x.shape)
      #expect(z.data.map(\.bitPattern) == zRows.data.map(\.bitPattern), "z \(policy)")
      #expect(dx.data.map(\.bitPattern) == dxRows.data.map(\.bitPattern), "dx \(policy)")
      #expect(sequence.W.grad.data.map(\.bitPattern) == flat.W.grad.data.map(\.bitPattern), "dW \(policy)")
      #expect(sequence.b.grad.data.map(\.bitPattern) == flat.b.grad.data.map(\.bitPattern), "db \(policy)")
    }
  }

  /// W = [[1, 2], [3, 4]], b = [0.5, −0.5], one sample of two positions x = [[1, 0], [0, 1]]:
  /// z[t] = W·x[t] + b gives [[1.5, 2.5], [2.5, 3.5]]. δ = [[1, 0], [0, 1]]: dW = Σₜ δ[t]ᵀ·x[t]
  /// = [[1, 0], [0, 1]], db = Σₜ δ[t] = [1, 1], dx[t] = δ[t]·W = [[1, 2], [3, 4]].
  @Test func denseOnSequencesByHand() throws {
    let layer = try built(Dense(2, weights: Tensor(rows: [[1, 2], [3, 4]]), bias: Tensor([0.5, -0.5])), [2, 2])
    let tracer = Tracer()
    let step = Step(training: true, tracer: tracer)
    let z = layer.forward(Tensor(shape: [1, 2, 2], data: [1, 0, 0, 1]), step)
    #expect(z == Tensor(shape: [1, 2, 2], data: [1.5, 2.5, 2.5, 3.5]))
    let dx = layer.backward(Tensor(shape: [1, 2, 2], data: [1, 0, 0, 1]), step)
    #expect(layer.W.grad == Tensor(rows: [[1, 0], [0, 1]]) && layer.b.grad == Tensor([1, 1]))
    #expect(dx == Tensor(shape: [1, 2, 2], data: [1, 2, 3, 4]))
    let dW = try #require(tracer.entry("dense.backward.dW")?.explain?(1))  // dW₁,₂ = δ₁₁·x₁₂ + δ₂₁·x₂₂
    #expect(dW.template == "{0}·{1} + {2}·{3}" && dW.args == [1, 0, 0, 1] && dW.result == 0)
    let zt = try #require(tracer.entry("dense.forward.z")?.explain?(3))  // position 2, unit 2: 3·0 + 4·1 + (−0.5)
    #expect(zt.args == [3, 0, 4, 1, -0.5] && zt.result == 3.5 && zt.lhs == "z₂,₂")
    #expect(tracer.entry("dense.backward.dW")?.formula.contains("Σₜ") == true)
  }

  @Test func denseStillRefusesImages() {
    do {
      var rng = SeededGenerator(seed: 1)
      try Sequential { Dense(3) }.build(inputShape: [1, 4, 4], rng: &rng)
      Issue.record("built on an image")
    } catch {
      #expect("\(error)".contains("put a flatten layer before it"), "\(error)")
    }
  }

  // MARK: GELU and the other activations on [T, d]

  @Test func geluValues() {
    let g = GELU()
    #expect(abs(g.apply(1) - 0.8413447460685429) <= 1e-16)
    #expect(abs(g.apply(-1) - -0.15865525393145707) <= 1e-16)
    #expect(g.apply(0) == 0 && g.slope(z: 0, a: 0) == 0.5)
    #expect(g.apply(40) == 40 && g.apply(-40) == 0 && g.slope(z: 40, a: 40) == 1)
    // The slope is Φ(z) + z·φ(z); at 1: 0.8413447460685429 + 0.24197072451914337 = 1.0833154705876864.
    #expect(abs(g.slope(z: 1, a: g.apply(1)) - 1.0833154705876864) <= 1e-15)
    let (template, args) = g.slopeArithmetic(z: 1, a: g.apply(1))
    #expect(template == "({1} + {2}·{3})" && args.count == 3 && args[1] == 1)
  }

  /// GELU's pass keeps u = 1 + erf(z/√2) so that backward needs no second erf: a = ½·z·u and
  /// ∂L/∂z = δ·(½·u + z·φ(z)) must still be `apply` and δ·`slope` bit for bit, in every step.
  @Test func geluPassIsApplyAndSlopeBitForBit() {
    let g = GELU()
    for seed in UInt64(1)...3 {
      let z = randomTensor([4, 5, 17], seed: seed, lo: -6, hi: 6), delta = randomTensor([4, 5, 17], seed: seed + 10)
      let a = g.forward(z, Step(training: true)), dz = g.backward(delta, Step(training: true))
      for i in 0..<z.count {
        #expect(a.data[i].bitPattern == g.apply(z.data[i]).bitPattern, "a at \(z.data[i])")
        #expect(dz.data[i].bitPattern == (delta.data[i] * g.slope(z: z.data[i], a: a.data[i])).bitPattern, "∂L/∂z at \(z.data[i])")
      }
    }
  }

  static let elementWise: [@Sendable () -> any Layer] = [{ GELU() }, { ReLU() }, { Tanh() }, { Sigmoid() }, { LeakyReLU(alpha: 0.1) }]

  @Test(arguments: 0..<5, [[2, 6], [2, 3, 4]])
  func activationsOnSequences(index: Int, shape: [Int]) throws {
    for seed in UInt64(1)...3 {
      let layer = Self.elementWise[index]()
      var rng = SeededGenerator(seed: seed)
      #expect(try layer.build(inputShape: Array(shape.dropFirst()), rng: &rng) == Array(shape.dropFirst()))
      for r in GradientCheck.layer(layer, input: randomTensor(shape, seed: seed, lo: -3, hi: 3)) {
        #expect(r.relativeError <= 1e-6, "\(layer.kind) \(shape) seed \(seed): \(r.relativeError)")
      }
    }
  }

  // MARK: A token network from a lesson, and its model file

  static func lesson(positional: String = "positional", vocabulary: String = ", vocabulary: 6") -> String {
    """
    seed: 1
    data: {dataset: none, shape: [5]}
    network:
      - {type: embedding, size: 4\(vocabulary)}
      - \(positional)
      - {type: dense, units: 8}
      - gelu
      - {type: dense, units: 6}
    loss: mse
    optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}

    """
  }

  static func network(_ text: String) throws -> Sequential {
    let lesson = try Lesson.parse(text, path: "tokens.yaml")
    var rng = SeededGenerator(seed: 1)
    return try lesson.makeModel(inputShape: [5], rng: &rng)
  }

  @Test func tokenNetworkFromALesson() throws {
    let model = try Self.network(Self.lesson())
    #expect(model.layers.map(\.name) == ["embedding1", "positional1", "dense1", "gelu1", "dense2"])
    #expect(model.shapes == [[5, 4], [5, 4], [5, 8], [5, 8], [5, 6]])
    #expect(model.parameterCount == 6 * 4 + 5 * 4 + (8 * 4 + 8) + (6 * 8 + 6))
    let x = Tensor(shape: [2, 5], data: [0, 1, 2, 1, 0, 5, 5, 3, 2, 1])  // token 4 is never used
    let t = randomTensor([2, 5, 6], seed: 9)
    let tracer = Tracer()
    let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
    let (loss, y) = model.trainStep(x, t, loss: MeanSquaredError(), optimizer: optimizer, Step(training: true, tracer: tracer))
    #expect(y.shape == [2, 5, 6] && loss.isFinite)
    let embedding = try #require(model.layers[0] as? Embedding)
    #expect(Array(embedding.E.grad.data[16..<20]) == [0, 0, 0, 0], "token 4 is not in the batch")
    #expect(tracer.entry("embedding1.backward.dE") != nil && tracer.entry("positional1.backward.dP") != nil)
    // Every gradient of the whole network against central differences.
    for r in GradientCheck.network(model, x: x, t: t, loss: MeanSquaredError()) {
      #expect(r.relativeError <= 1e-6, "\(r.name): \(r.relativeError)")
    }
  }

  @Test func tokenNetworkNeedsItsVocabulary() throws {
    do {
      _ = try Self.network(Self.lesson(vocabulary: ""))
      Issue.record("built without a vocabulary")
    } catch {
      #expect("\(error)".contains("needs 'vocabulary'"), "\(error)")
    }
    do {
      _ = try Lesson.parse(Self.lesson(vocabulary: ", vocab: 6"), path: "tokens.yaml")
      Issue.record("accepted the key vocab")
    } catch {
      #expect("\(error)".contains("unknown key 'vocab'  (valid: size, vocabulary)"), "\(error)")
    }
  }

  @Test(arguments: ["positional", "{type: positional, kind: sinusoidal}"])
  func modelFileRoundTripIsBitExact(positional: String) throws {
    let text = Self.lesson(positional: positional)
    let model = try Self.network(text)
    let optimizer = SGD(learningRate: 0.1, momentum: 0.9)
    let x = Tensor(shape: [2, 5], data: [0, 1, 2, 1, 0, 5, 5, 3, 2, 1])
    model.trainStep(x, randomTensor([2, 5, 6], seed: 9), loss: MeanSquaredError(), optimizer: optimizer, Step(training: true))
    let file = ModelFile(model: model, loss: MeanSquaredError(), optimizer: optimizer, preprocess: .none, lessonName: "tokens",
                         lessonPath: "", lessonSource: text, seed: 1, classes: [])
    let json = file.value.json()
    let back = try ModelFile.decode(try Value.parseJSON(json))
    #expect(back.value.json() == json)
    #expect(back.model.shapes == model.shapes)
    for (a, b) in zip(model.layers, back.model.layers) {
      #expect(a.kind == b.kind && a.name == b.name && a.options.map(\.key) == b.options.map(\.key))
      #expect(zip(a.options, b.options).allSatisfy { $0.value == $1.value })
      #expect(a.parameters.map(\.name) == b.parameters.map(\.name))
      for (p, q) in zip(a.parameters, b.parameters) {
        #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern) && p.trainable == q.trainable)
        #expect(p.state.keys.sorted() == q.state.keys.sorted())
        for k in p.state.keys { #expect(p.state[k]!.data.map(\.bitPattern) == q.state[k]!.data.map(\.bitPattern)) }
      }
    }
    #expect(back.mismatch(model: model, loss: MeanSquaredError(), optimizer: optimizer, preprocess: .none, classes: nil) == nil)
    // The same outputs from the file's network.
    let y = model.forward(x, Step(training: false)), z = back.model.forward(x, Step(training: false))
    #expect(y.data.map(\.bitPattern) == z.data.map(\.bitPattern))
    // Another kind of positional encoding, or another vocabulary, is another network.
    let other = positional == "positional" ? "{type: positional, kind: sinusoidal}" : "positional"
    let otherModel = try Self.network(Self.lesson(positional: other))
    let why = back.mismatch(model: otherModel, loss: MeanSquaredError(), optimizer: optimizer, preprocess: .none, classes: nil)
    #expect(why?.hasPrefix("layer 2 (positional1) has kind") == true, "\(why ?? "matched")")
    let bigger = try Self.network(Self.lesson(positional: positional, vocabulary: ", vocabulary: 7"))
    let vocabulary = back.mismatch(model: bigger, loss: MeanSquaredError(), optimizer: optimizer, preprocess: .none, classes: nil)
    #expect(vocabulary == "layer 1 (embedding1) has vocabulary 6, the lesson says 7", "\(vocabulary ?? "matched")")
  }
}
