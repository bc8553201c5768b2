import Testing
@testable import SheetNet

/// Self-attention's two tiers (`SelfAttention`'s reference loops; `Kernels.gemm` projections
/// around `Kernels.attentionForward` / `attentionBackward`), alone and inside small networks
/// shaped as the attention-reverse lesson, held to what `TwoTierTests` holds every fast layer to:
///
/// - bit for bit with products in spreadsheet order (`.swift`, and `.automatic` on these small
///   shapes): the output, dx, every gradient, and, for whole training steps, every number the
///   trace records (q, k, v, s, A, o, H, dA, dS, dq, dk, dv, each layer's values and gradients,
///   Adam's state and the updated weights), over three steps so that kept memory is reused;
/// - within 1e-12 relative with fused or OpenBLAS projections.
///
/// Cases: one and three heads, causal or not, with and without biases, head_size given ≠ d/h,
/// T past 16 (two passes of a row's 16-wide sums), batches of 1 and several.
struct AttentionTwoTierTests {
  struct Shape: Sendable, CustomTestStringConvertible {
    var n: Int, tokens: Int, width: Int, heads: Int, headSize: Int?, causal: Bool, useBias: Bool
    var testDescription: String {
      "N\(n) T\(tokens) d\(width) h\(heads)\(headSize.map { " dₖ\($0)" } ?? "")\(causal ? " causal" : "")\(useBias ? "" : " no bias")"
    }
  }

  static let layerShapes: [Shape] = [
    Shape(n: 1, tokens: 1, width: 1, heads: 1, headSize: nil, causal: false, useBias: true),  // one token of one number
    Shape(n: 1, tokens: 1, width: 2, heads: 1, headSize: nil, causal: true, useBias: false),
    Shape(n: 2, tokens: 5, width: 6, heads: 3, headSize: nil, causal: true, useBias: true),
    Shape(n: 3, tokens: 7, width: 16, heads: 1, headSize: nil, causal: false, useBias: false),
    Shape(n: 2, tokens: 17, width: 8, heads: 3, headSize: 5, causal: true, useBias: false),  // dₖ 5 ≠ 8/3
    Shape(n: 1, tokens: 33, width: 12, heads: 2, headSize: 17, causal: false, useBias: true),  // rows of 33 and 17
    Shape(n: 2, tokens: 16, width: 20, heads: 1, headSize: 16, causal: true, useBias: true),  // exactly 16 wide
    Shape(n: 4, tokens: 32, width: 64, heads: 4, headSize: nil, causal: true, useBias: true),  // past 64³ per projection
  ]

  /// A built layer with random biases (built ones are 0), so every bias term counts.
  static func layer(_ s: Shape) throws -> SelfAttention {
    let l = try built(SelfAttention(heads: s.heads, headSize: s.headSize, causal: s.causal, useBias: s.useBias), [s.tokens, s.width], seed: 3)
    for (i, p) in l.parameters.enumerated() where p.name.hasPrefix("b") { p.value = randomTensor(p.value.shape, seed: 50 + UInt64(i)) }
    return l
  }

  @Test("self-attention alone: both tiers (y, dx, every gradient)", arguments: layerShapes)
  func alone(_ s: Shape) throws {
    let make = { try Self.layer(s) as any Layer }
    let x = randomTensor([s.n, s.tokens, s.width], seed: UInt64(s.tokens * 100 + s.width), lo: -2, hi: 2)
    for (name, policy, agreement) in TwoTierTests.productPolicies {
      var found = try TwoTierTests.check(make, x, policy: policy, agreement)
      if case .relative = agreement { found.removeAll { $0.hasPrefix("dbk:") } }  // rounding noise (see `stepDifferences`)
      #expect(found.isEmpty, "\(s.testDescription), \(name) (\(agreement)): \(found)")
    }
    let multiplyAdds = s.n * s.tokens * s.width * s.heads * (s.headSize ?? s.width / s.heads)
    if multiplyAdds < 64 * 64 * 64 {  // the spreadsheet's order under the automatic policy
      let found = try TwoTierTests.check(make, x, policy: .automatic, .bitForBit)
      #expect(found.isEmpty, "\(s.testDescription), automatic: \(found)")
    }
  }

  // MARK: Training steps of a small transformer

  /// embedding, positional, residual [layer_norm, self_attention], residual [layer_norm, dense
  /// 2d, gelu, dense d], layer_norm, dense V, softmax: the attention-reverse lesson's network.
  static func network(_ s: Shape, vocabulary: Int) throws -> Sequential {
    var rng = SeededGenerator(seed: 5)
    let d = s.width
    return try Sequential {
      Embedding(size: d, vocabulary: vocabulary)
      Positional()
      Skip()
      LayerNorm()
      SelfAttention(heads: s.heads, headSize: s.headSize, causal: s.causal, useBias: s.useBias)
      Residual()
      Skip()
      LayerNorm()
      Dense(2 * d)
      GELU()
      Dense(d)
      Residual()
      LayerNorm()
      Dense(vocabulary)
      Softmax()
    }.build(inputShape: [s.tokens], rng: &rng)
  }

  static let networkShapes: [Shape] = [
    Shape(n: 3, tokens: 7, width: 16, heads: 2, headSize: nil, causal: true, useBias: false),  // attention-reverse's block
    Shape(n: 3, tokens: 7, width: 8, heads: 1, headSize: nil, causal: false, useBias: true),
    Shape(n: 2, tokens: 17, width: 12, heads: 3, headSize: 5, causal: true, useBias: true),
    Shape(n: 4, tokens: 9, width: 12, heads: 3, headSize: 2, causal: false, useBias: false),
    Shape(n: 1, tokens: 5, width: 6, heads: 1, headSize: 4, causal: true, useBias: true),
  ]

  /// Three batches of token ids [N, T] and their next-token targets (about a fifth masked, −1).
  static func batches(_ s: Shape, vocabulary: Int) -> [(x: Tensor, t: Tensor)] {
    var rng = SeededGenerator(seed: UInt64(s.tokens * 31 + s.width))
    return (0..<3).map { _ in
      let count = s.n * s.tokens
      let x = Tensor(shape: [s.n, s.tokens], data: (0..<count).map { _ in Double(rng.below(vocabulary)) })
      let t = Tensor(shape: [s.n, s.tokens], data: (0..<count).map { _ in rng.below(5) == 0 ? -1 : Double(rng.below(vocabulary)) })
      return (x, t)
    }
  }

  /// Every number of three Adam steps of `network` under `policy`, by name: per step the loss,
  /// the output, and either every trace entry (`traced`) or every parameter's gradient and value.
  static func steps(_ s: Shape, policy: ComputePolicy, traced: Bool) throws -> [(String, Tensor)] {
    let vocabulary = 11
    let model = try network(s, vocabulary: vocabulary)
    let optimizer = Adam(learningRate: 0.005)
    var numbers: [(String, Tensor)] = []
    for (index, batch) in batches(s, vocabulary: vocabulary).enumerated() {
      let step = Step(training: true, policy: policy)
      let tracer = traced ? Tracer() : nil
      step.tracer = tracer
      let (loss, y) = model.trainStep(batch.x, batch.t, loss: TokenCrossEntropy(), optimizer: optimizer, step)
      let label = "step \(index + 1) "
      numbers += [(label + "loss", Tensor([loss])), (label + "output", y)]
      if let tracer {
        numbers += tracer.entries.map { (label + $0.name, $0.value) }
      } else {
        for layer in model.layers {
          for p in layer.parameters { numbers += [(label + "\(layer.name).d\(p.name)", p.grad), (label + "\(layer.name).\(p.name)", p.value)] }
        }
      }
    }
    return numbers
  }

  /// Where `policy`'s steps differ from the reference tier's beyond `agreement`.
  ///
  /// Within a bound only the first step counts, without the key bias bk (its value, gradient and
  /// Adam state): ∂L/∂bk is 0 but for rounding (~1e-17, see `SelfAttention`), so its relative
  /// difference means nothing, and Adam turns it into a step of ~lr·1e-17/ε ≈ 5e-12 that moves
  /// k and s (not A: a row's softmax ignores it) by as much in the steps after.
  static func stepDifferences(_ s: Shape, policy: ComputePolicy, _ agreement: TwoTierTests.Agreement, traced: Bool) throws -> [String] {
    let reference = try steps(s, policy: .reference, traced: traced), fast = try steps(s, policy: policy, traced: traced)
    guard reference.map(\.0) == fast.map(\.0) else { return ["the entries differ: \(reference.map(\.0)) against \(fast.map(\.0))"] }
    #expect(reference.count > (traced ? 150 : 40), "\(s.testDescription): only \(reference.count) numbers compared")
    return zip(reference, fast).flatMap { r, f -> [String] in
      if case .relative = agreement, r.0.contains("bk") || !r.0.hasPrefix("step 1 ") { return [] }
      return TwoTierTests.differences(r.0, r.1, f.1, agreement)
    }
  }

  @Test("training steps of a small transformer: both tiers (every traced number; every gradient and weight)", arguments: networkShapes)
  func trainingSteps(_ s: Shape) throws {
    let policies: [(String, ComputePolicy, TwoTierTests.Agreement)] = [
      ("spreadsheet order", ComputePolicy(tier: .fast, products: .swift), .bitForBit),
      ("automatic", .automatic, .bitForBit),
      ("OpenBLAS", ComputePolicy(tier: .fast, products: .blas), .relative(1e-12)),
    ]
    for (name, policy, agreement) in policies {
      for traced in [true, false] {
        let found = try Self.stepDifferences(s, policy: policy, agreement, traced: traced)
        #expect(found.isEmpty, "\(s.testDescription), \(name), \(traced ? "traced" : "untraced"): \(found.prefix(5))")
      }
    }
  }

  // MARK: The comparison can fail

  @Test("a broken tier is caught: SHEETNET_BREAK_TIER=attention, and fused products compared bit for bit")
  func brokenTierIsCaught() throws {
    let s = Self.networkShapes[0]
    let spreadsheet = ComputePolicy(tier: .fast, products: .swift)
    #expect(try Self.stepDifferences(s, policy: spreadsheet, .bitForBit, traced: true).isEmpty)
    // 1e-9 added to the reference's first head output: every later number of the step moves.
    let broken = try Reference.$brokenTier.withValue("attention") {
      try Self.stepDifferences(s, policy: spreadsheet, .bitForBit, traced: true)
    }
    #expect(broken.contains { $0.hasPrefix("step 1 attention1.forward.h: element 0") }, "\(broken.prefix(3))")
    #expect(broken.contains { $0.hasPrefix("step 1 attention1.backward.dWo") } && broken.contains { $0.hasPrefix("step 1 loss:") })
    // The same layer alone, within 1e-12: a 1e-9 break is far outside it.
    let alone = try Reference.$brokenTier.withValue("attention") {
      try TwoTierTests.check({ try Self.layer(Self.layerShapes[2]) as any Layer }, randomTensor([2, 5, 6], seed: 9),
                             policy: ComputePolicy(tier: .fast, products: .blas), .relative(1e-12))
    }
    #expect(alone.contains { $0.hasPrefix("a:") }, "\(alone)")
    // Last-bit differences are caught too: fused projections round differently from the
    // spreadsheet's order, so bit for bit they must not pass.
    let fused = try Self.stepDifferences(s, policy: ComputePolicy(tier: .fast, products: .fused), .bitForBit, traced: true)
    #expect(fused.contains { $0.hasPrefix("step 1 attention1.forward.q:") }, "\(fused.prefix(3))")
  }
}
