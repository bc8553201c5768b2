/// Layer normalisation (Ba, Kiros and Hinton, 2016): each row is normalised over its own d
/// features, a row being one sample of [d] inputs or one token of one sample of [T, d] inputs:
///
///     μ = (1/d) Σⱼ xⱼ,  σ² = (1/d) Σⱼ (xⱼ − μ)²,  x̂ⱼ = (xⱼ − μ)/√(σ² + ε),  aⱼ = γⱼ·x̂ⱼ + βⱼ
///
/// with the biased variance (÷d) and ε = 1e-5 unless the lesson says, as PyTorch's
/// `nn.LayerNorm`. γ and β hold one number per feature (starting at 1 and 0), shared by every row.
/// Unlike batch norm the statistics belong to the row, not to the batch: training and evaluation
/// compute the same thing, no running averages are kept, and a sample's output does not depend
/// on the other samples of its batch.
///
/// Backward, with δ = ∂L/∂a, sums over the rows for γ and β, over the row's d features for x:
/// dγ = Σ_rows δ⊙x̂, dβ = Σ_rows δ, dx̂ = δ⊙γ, dx = (1/√(σ² + ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂⊙x̂)).
///
/// A batch [N, d] or [N, T, d] (row-major) is N or N·T rows of d numbers. Every sum runs in index
/// order (features in order within a row; rows in order for dγ and dβ), as the trace writes it.
/// Two tiers (`ComputePolicy.route(.normalization)`): the loops below, or `Kernels.layerNorm…`
/// (Kernels+LayerNorm.swift), the same arithmetic in the same order over raw buffers, bit for bit.
/// μ and σ² have the input's shape with the last axis 1 ([N, 1], [N, T, 1]), as PyTorch's
/// `x.mean(-1, keepdim=True)`. Images [C, H, W] are refused: flatten them, or use batch norm.
public final class LayerNorm: Layer {
  public static let kind = "layer_norm"
  public static let namePrefix = "layernorm"
  public static let keys = ["epsilon"]

  /// ε, added to the variance before the square root.
  public let epsilon: Double
  public var name = "layer_norm"
  /// γ, one scale per feature, starts at 1.
  public private(set) var gamma: Parameter!
  /// β, one shift per feature, starts at 0.
  public private(set) var beta: Parameter!
  /// μ of each row in the last forward pass, [N, 1] or [N, T, 1].
  public private(set) var mean = Tensor(shape: [0])
  /// σ² (biased) of each row in the last forward pass, [N, 1] or [N, T, 1].
  public private(set) var variance = Tensor(shape: [0])
  /// x̂ of the last forward pass, the input's shape.
  public private(set) var xhat = Tensor(shape: [0])
  /// dx̂ = δ⊙γ of the last backward pass that computed ∂L/∂x, the input's shape.
  public private(set) var dxhat = Tensor(shape: [0])

  private var features = 0, tokens = 1  // d, and T (1 for [d] inputs)
  private var sequence = false  // whether a sample is [T, d] (a stack of grids in a worksheet)
  private var means = TensorPair(), variances = TensorPair(), xhats = TensorPair(), outputs = TensorPair()  // μ, σ², x̂, a in turns
  private var dxhats = TensorPair(), inputGradients = TensorPair()  // dx̂, dx in turns
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass

  /// A layer normalisation layer.
  public init(epsilon: Double = 1e-5) {
    precondition(epsilon > 0, "LayerNorm needs ε > 0, got \(epsilon)")
    self.epsilon = epsilon
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let epsilon = try o.double("epsilon", default: 1e-5)
    guard epsilon > 0 else { throw .lesson("\(o.context): 'epsilon' must be greater than 0 (e.g. 0.00001), got \(epsilon)") }
    self.init(epsilon: epsilon)
  }

  public var options: [(key: String, value: Value)] { [("epsilon", .number(epsilon))] }

  /// γ then β; set by `build`.
  public private(set) var parameters: [Parameter] = []
  /// One multiply-add per input value (γ·x̂ + β).
  public var multiplyAdds: Int { tokens * features }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 1 || inputShape.count == 2 else {
      throw .shape("\(name) normalises the last axis of a vector [d] or a sequence [T, d] but receives \(shapeText(inputShape)); put a flatten layer before it, or use batch_norm to normalise channels")
    }
    (features, tokens, sequence) = (inputShape.last!, inputShape.count == 2 ? inputShape[0] : 1, inputShape.count == 2)
    gamma = Parameter(name: "gamma", value: Tensor(shape: [features], repeating: 1))
    beta = Parameter(name: "beta", value: Tensor(shape: [features]))
    parameters = [gamma, beta]
    return inputShape
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let d = features, rows = x.count / max(features, 1)  // N·T rows of d
    precondition(rows * d == x.count && x.count == x.rows * tokens * d, "\(name): input \(x.shape) is not rows of \(tokens)×\(d) values per sample")
    let statistics = Array(x.shape.dropLast()) + [1]  // [N, 1] or [N, T, 1]
    route = step.policy.route(.normalization)
    if case .fast = route {  // the same arithmetic in the same order over raw buffers (Kernels+LayerNorm.swift)
      var output: Tensor?
      mean = means.next(statistics) { mu in
        variance = variances.next(statistics) { sigma2 in
          xhat = xhats.next(x.shape) { xh in
            output = outputs.next(x.shape) { a in
              Kernels.layerNorm(x, features: d, gamma: gamma.value, beta: beta.value, epsilon: epsilon,
                                mean: &mu, variance: &sigma2, xhat: &xh, a: &a)  // μ, σ², x̂, a
            }
          }
        }
      }
      if let t = step.tracer { traceForward(t, x, output!) }
      return output!
    }
    let (g, b, eps, size) = (gamma.value.data, beta.value.data, epsilon, Double(d))
    let mu = means.next(statistics) { mu in
      for r in 0..<rows {
        var sum = 0.0
        for j in 0..<d { sum += x.data[r * d + j] }
        mu.data[r] = sum / size  // μ = (1/d) Σⱼ xⱼ
      }
    }
    let sigma2 = variances.next(statistics) { v in
      for r in 0..<rows {
        var squares = 0.0
        for j in 0..<d {
          let deviation = x.data[r * d + j] - mu.data[r]
          squares += deviation * deviation
        }
        v.data[r] = squares / size  // σ² = (1/d) Σⱼ (xⱼ − μ)²
      }
    }
    let xh = xhats.next(x.shape) { xh in
      for r in 0..<rows {
        let root = (sigma2.data[r] + eps).squareRoot()
        for j in 0..<d { xh.data[r * d + j] = (x.data[r * d + j] - mu.data[r]) / root }  // x̂ = (x − μ)/√(σ² + ε)
      }
    }
    let a = outputs.next(x.shape) { a in
      for r in 0..<rows {
        for j in 0..<d { a.data[r * d + j] = g[j] * xh.data[r * d + j] + b[j] }  // a = γ·x̂ + β
      }
    }
    (mean, variance, xhat) = (mu, sigma2, xh)
    if let t = step.tracer { traceForward(t, x, a) }
    return a
  }

  /// Fills dγ and dβ; returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let d = features, rows = delta.count / max(features, 1)
    precondition(delta.count == xhat.count, "\(name): δ \(delta.shape) does not fit the last input \(xhat.shape)")
    if case .fast = route {  // as below, over raw buffers (Kernels+LayerNorm.swift)
      Kernels.layerNormParameterGradients(delta, xhat: xhat, features: d, dgamma: &gamma.grad, dbeta: &beta.grad)  // dγ, dβ
      guard step.computesInputGradient else { return Tensor(shape: [0]) }
      var dx: Tensor?
      dxhat = dxhats.next(delta.shape) { dxh in
        dx = inputGradients.next(delta.shape) {
          Kernels.layerNormInputGradient(delta, xhat: xhat, features: d, gamma: gamma.value, variance: variance, epsilon: epsilon,
                                         dxhat: &dxh, dx: &$0)  // dx̂, dx
        }
      }
      if let t = step.tracer { traceBackward(t, delta, dx!) }
      return dx!
    }
    let xh = xhat
    gamma.grad.withElements { dgamma in
      beta.grad.withElements { dbeta in
        for j in 0..<d { (dgamma[j], dbeta[j]) = (0, 0) }
        for r in 0..<rows {
          for j in 0..<d {
            dgamma[j] += delta.data[r * d + j] * xh.data[r * d + j]  // dγ = Σ_rows δ⊙x̂
            dbeta[j] += delta.data[r * d + j]  // dβ = Σ_rows δ
          }
        }
      }
    }
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    let (g, sigma2, eps, size) = (gamma.value.data, variance, epsilon, Double(d))
    let dxh = dxhats.next(delta.shape) { dxh in
      for r in 0..<rows {
        for j in 0..<d { dxh.data[r * d + j] = delta.data[r * d + j] * g[j] }  // dx̂ = δ⊙γ
      }
    }
    let dx = inputGradients.next(delta.shape) { dx in
      for r in 0..<rows {
        var sum = 0.0, sumTimesXhat = 0.0
        for j in 0..<d {
          sum += dxh.data[r * d + j]
          sumTimesXhat += dxh.data[r * d + j] * xh.data[r * d + j]
        }
        let (meanDxhat, meanDxhatXhat) = (sum / size, sumTimesXhat / size)  // mean(dx̂), mean(dx̂⊙x̂)
        let scale = 1 / (sigma2.data[r] + eps).squareRoot()
        for j in 0..<d {
          let i = r * d + j
          dx.data[i] = scale * (dxh.data[i] - meanDxhat - xh.data[i] * meanDxhatXhat)  // dx = (1/√(σ² + ε))·(…)
        }
      }
    }
    dxhat = dxh
    if let t = step.tracer { traceBackward(t, delta, dx) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ a: Tensor) {
    let (d, eps, mu, sigma2, xh, g, b) = (features, epsilon, mean, variance, xhat, gamma.value, beta.value)
    let row: @Sendable (Int) -> [Double] = { r in Array(x.data[r * d..<(r + 1) * d]) }
    t.record(name, .forward, "gamma", batched: false, symbol: "γ", formula: "γ: one scale per feature", g)
    t.record(name, .forward, "beta", batched: false, symbol: "β", formula: "β: one shift per feature", b)
    t.record(name, .forward, "mean", symbol: "μ", formula: "μ = (1/d) Σⱼ xⱼ over each row's d = \(d) features", mu) { r in
      Arithmetic(lhs: elementLabel("μ", mu.shape, r), template: "(" + (0..<d).map { "{\($0)}" }.joined(separator: " + ") + ")/\(d)",
                 args: row(r), result: mu.data[r])
    }
    t.record(name, .forward, "var", symbol: "σ²", formula: "σ² = (1/d) Σⱼ (xⱼ − μ)², d = \(d)", sigma2) { r in
      let template = "(" + (0..<d).map { "({\($0 + 1)} − {0})²" }.joined(separator: " + ") + ")/\(d)"
      return Arithmetic(lhs: elementLabel("σ²", sigma2.shape, r), template: template, args: [mu.data[r]] + row(r), result: sigma2.data[r])
    }
    t.record(name, .forward, "xhat", symbol: "x̂", formula: "x̂ = (x − μ)/√(σ² + ε)", xh) { i in
      Arithmetic(lhs: elementLabel("x̂", xh.shape, i), template: "({0} − {1})/√({2} + {3})",
                 args: [x.data[i], mu.data[i / d], sigma2.data[i / d], eps], result: xh.data[i])
    }
    t.record(name, .forward, "a", formula: "a = γ·x̂ + β", a) { i in
      Arithmetic(lhs: elementLabel("a", a.shape, i), template: "{0}·{1} + {2}", args: [g.data[i % d], xh.data[i], b.data[i % d]], result: a.data[i])
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor, _ dx: Tensor) {
    let (d, rows, eps, sigma2, xh, dxh, g) = (features, delta.count / features, epsilon, variance, xhat, dxhat, gamma.value)
    let (dg, db) = (gamma.grad, beta.grad)
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
    t.record(name, .backward, "dgamma", batched: false, symbol: "∂L/∂γ", formula: "∂L/∂γ = Σ δ·x̂ over the rows", dg) { j in
      Arithmetic(lhs: elementLabel("∂L/∂γ", dg.shape, j, batch: false), template: (0..<rows).map { "{\(2 * $0)}·{\(2 * $0 + 1)}" }.joined(separator: " + "),
                 args: (0..<rows).flatMap { [delta.data[$0 * d + j], xh.data[$0 * d + j]] }, result: dg.data[j])
    }
    t.record(name, .backward, "dbeta", batched: false, symbol: "∂L/∂β", formula: "∂L/∂β = Σ δ over the rows", db) { j in
      Arithmetic(lhs: elementLabel("∂L/∂β", db.shape, j, batch: false), template: (0..<rows).map { "{\($0)}" }.joined(separator: " + "),
                 args: (0..<rows).map { delta.data[$0 * d + j] }, result: db.data[j])
    }
    t.record(name, .backward, "dxhat", symbol: "∂L/∂x̂", formula: "∂L/∂x̂ = δ·γ", dxh) { i in
      Arithmetic(lhs: elementLabel("∂L/∂x̂", dxh.shape, i), template: "{0}·{1}", args: [delta.data[i], g.data[i % d]], result: dxh.data[i])
    }
    // Holes: {0} σ², {1} ε, {2…d+1} the row's ∂L/∂x̂, {d+2…2d+1} the row's x̂.
    t.record(name, .backward, "dx", formula: "∂L/∂x = (1/√(σ² + ε))·(∂L/∂x̂ − mean(∂L/∂x̂) − x̂·mean(∂L/∂x̂·x̂)) over the row", dx) { i in
      let (r, j) = (i / d, i % d)
      let average = "(" + (0..<d).map { "{\(2 + $0)}" }.joined(separator: " + ") + ")/\(d)"
      let meanTimesXhat = "(" + (0..<d).map { "{\(2 + $0)}·{\(2 + d + $0)}" }.joined(separator: " + ") + ")/\(d)"
      let template = "(1/√({0} + {1}))·({\(2 + j)} − \(average) − {\(2 + d + j)}·\(meanTimesXhat))"
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: template,
                        args: [sigma2.data[r], eps] + Array(dxh.data[r * d..<(r + 1) * d]) + Array(xh.data[r * d..<(r + 1) * d]),
                        result: dx.data[i])
    }
  }
}

// MARK: Worksheet

extension LayerNorm {
  /// Row r (a sample's column of d cells for [d] inputs, a row of a sample's T × d grid for
  /// [T, d] inputs): μ = AVERAGE(row), σ² = SUMPRODUCT((row − μ)^2)/d, x̂ = (x − μ)/SQRT(σ² + ε),
  /// a = γ·x̂ + β; backward ∂L/∂γ = SUMPRODUCT(δ, x̂) and ∂L/∂β = SUM(δ) across the rows of
  /// feature j (one term per sample's grid for [T, d]), ∂L/∂x̂ = δ·γ,
  /// ∂L/∂x = (1/SQRT(σ² + ε))·(∂L/∂x̂ − AVERAGE(∂L/∂x̂ row) − x̂·SUMPRODUCT(∂L/∂x̂ row, x̂ row)/d).
  /// γ and β are editable.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (d, tokens, sequence, n, eps, x) = (features, tokens, sequence, c.batch, epsilon, c.input)
    let e = { (p: Phase, k: String) in c.entry(p, k) }
    let (gamma, beta, mu, sigma2, xhat) = (e(.forward, "gamma"), e(.forward, "beta"), e(.forward, "mean"), e(.forward, "var"), e(.forward, "xhat"))
    let (delta, dxhat) = (e(.backward, "delta"), e(.backward, "dxhat"))
    /// Row r's d cells: contiguous in both layouts (a column of samples, a row of a grid).
    let row = { (entry: String, r: Int) in Formula.range(entry, r * d, r * d + d - 1) }
    /// Feature j's cells across every row: one rectangle per sample's grid, or one row across the samples.
    let feature = { (entry: String, j: Int) -> [Formula] in
      sequence ? (0..<n).map { SheetLayout.window(entry, grid: $0, height: tokens, width: d, row: 0, column: j, rows: tokens, columns: 1) }
        : [.range(entry, j, (n - 1) * d + j)]
    }
    let root = { (r: Int) in Formula.sqrt(.cell(sigma2, r) + .number(eps)) }
    switch (phase, key) {
    case (.forward, "gamma"), (.forward, "beta"): return .input
    case (.forward, "mean"): return SheetCells { r in .call("AVERAGE", [row(x, r)]) }
    case (.forward, "var"): return SheetCells { r in .call("SUMPRODUCT", [.pow(row(x, r) - .cell(mu, r), .number(2))]) / .number(Double(d)) }
    case (.forward, "xhat"): return SheetCells { i in (.cell(x, i) - .cell(mu, i / d)) / root(i / d) }
    case (.forward, "a"): return SheetCells { i in .cell(gamma, i % d) * .cell(xhat, i) + .cell(beta, i % d) }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dgamma"): return SheetCells { j in .sum(zip(feature(delta, j), feature(xhat, j)).map { Formula.sumProduct($0, $1) }) }
    case (.backward, "dbeta"): return SheetCells { j in .sum(feature(delta, j).map { .call("SUM", [$0]) }) }
    case (.backward, "dxhat"): return SheetCells { i in .cell(delta, i) * .cell(gamma, i % d) }
    case (.backward, "dx"):
      return SheetCells { i in
        let r = i / d
        return (.number(1) / root(r))
          * (.cell(dxhat, i) - .call("AVERAGE", [row(dxhat, r)]) - .cell(xhat, i) * (.sumProduct(row(dxhat, r), row(xhat, r)) / .number(Double(d))))
      }
    default: return nil
    }
  }
}
