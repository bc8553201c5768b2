/// Batch normalisation (Ioffe and Szegedy, 2015) per feature of [N, F] inputs or per channel of
/// [N, C, H, W] inputs (statistics over the batch and every position of the channel):
///
///     μ = (1/M) Σ x,  σ² = (1/M) Σ (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  a = γ·x̂ + β
///
/// with M = N (dense inputs) or N·H·W (images) values per channel and the biased variance (÷M).
/// In training the batch's μ and σ² are used and the running averages move towards them as in
/// Keras: running = momentum·running + (1 − momentum)·batch (momentum 0.9 and ε = 0.001 unless
/// the lesson says; the running variance averages the same biased σ²). At evaluation
/// (`step.training == false`) x̂ uses the running mean and variance instead.
///
/// Backward in training, with δ = ∂L/∂a and sums over the channel's M values:
/// dβ = Σ δ, dγ = Σ δ·x̂, dx = (γ/(M·√(σ² + ε)))·(M·δ − dβ − x̂·dγ).
/// At evaluation the statistics are constants: dx = δ·γ/√(running_var + ε).
///
/// Parameters: `gamma` and `beta` are learned. The running statistics are parameters too, named
/// `running_mean` and `running_var` with `trainable: false`, so a model file saves them with the
/// weights and summaries count them (as Keras' "non-trainable params"); the optimizer skips them.
/// Their gradient is the true one, so gradient checks pass in both modes: 0 after a training
/// pass (the output does not depend on them), and after an evaluation pass
/// ∂L/∂μ = −Σ δ·γ/√(σ² + ε), ∂L/∂σ² = −½ Σ δ·γ·x̂/(σ² + ε).
public final class BatchNorm: Layer {
  public static let kind = "batch_norm"
  public static let namePrefix = "batchnorm"
  public static let keys = ["momentum", "epsilon"]

  /// Weight of the old running value in each update, 0 ≤ momentum < 1.
  public let momentum: Double
  /// ε, added to the variance before the square root.
  public let epsilon: Double
  public var name = "batch_norm"
  /// γ, one scale per channel, starts at 1.
  public private(set) var gamma: Parameter!
  /// β, one shift per channel, starts at 0.
  public private(set) var beta: Parameter!
  /// Running mean per channel (not trained; starts at 0).
  public private(set) var runningMean: Parameter!
  /// Running variance per channel (not trained; starts at 1).
  public private(set) var runningVar: Parameter!
  /// μ of the last training batch, per channel.
  public private(set) var mean = Tensor(shape: [0])
  /// σ² (biased) of the last training batch, per channel.
  public private(set) var variance = Tensor(shape: [0])
  /// x̂ of the last forward pass, the input's shape.
  public private(set) var xhat = Tensor(shape: [0])

  private var channels = 0, spatial = 1  // C and the positions per channel (H·W, or 1)
  private var training = false  // whether the last forward pass used batch statistics
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass
  private var xhats = TensorPair(), outputs = TensorPair(), inputGradients = TensorPair()  // x̂, a, dx in turns

  /// A batch normalisation layer.
  public init(momentum: Double = 0.9, epsilon: Double = 1e-3) {
    precondition(momentum >= 0 && momentum < 1 && epsilon > 0, "BatchNorm needs 0 ≤ momentum < 1 and ε > 0, got \(momentum), \(epsilon)")
    self.momentum = momentum
    self.epsilon = epsilon
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let momentum = try o.double("momentum", default: 0.9), epsilon = try o.double("epsilon", default: 1e-3)
    guard momentum >= 0 && momentum < 1 else {
      throw .lesson("\(o.context): 'momentum' is the weight of the old running average and must be at least 0 and below 1 (e.g. 0.9), got \(momentum)")
    }
    guard epsilon > 0 else { throw .lesson("\(o.context): 'epsilon' must be greater than 0 (e.g. 0.001), got \(epsilon)") }
    self.init(momentum: momentum, epsilon: epsilon)
  }

  public var options: [(key: String, value: Value)] { [("momentum", .number(momentum)), ("epsilon", .number(epsilon))] }

  /// γ, β, then the running mean and variance (not trainable); set by `build`.
  public private(set) var parameters: [Parameter] = []
  /// One multiply-add per input value (γ·x̂ + β).
  public var multiplyAdds: Int { channels * spatial }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 1 || inputShape.count == 3 else {
      throw .shape("\(name) normalises feature vectors or channels×height×width images but receives \(shapeText(inputShape)); give the data one of those shapes")
    }
    channels = inputShape[0]
    spatial = inputShape.dropFirst().reduce(1, *)
    gamma = Parameter(name: "gamma", value: Tensor(shape: [channels], repeating: 1))
    beta = Parameter(name: "beta", value: Tensor(shape: [channels]))
    runningMean = Parameter(name: "running_mean", value: Tensor(shape: [channels]), trainable: false)
    runningVar = Parameter(name: "running_var", value: Tensor(shape: [channels], repeating: 1), trainable: false)
    parameters = [gamma, beta, runningMean, runningVar]
    (mean, variance) = (Tensor(shape: [channels]), Tensor(shape: [channels]))
    return inputShape
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let (c, s, n) = (channels, spatial, x.rows)
    precondition(x.count == n * c * s, "\(name): input \(x.shape) does not have \(c)×\(s) values per sample")
    training = step.training
    route = step.policy.route(.normalization)
    let a: Tensor  // the input's shape
    if route == .reference {
      let (g, b, eps) = (gamma.value, beta.value, epsilon)
      if training {
        let r = Reference.batchNorm(x, gamma: g, beta: b, epsilon: eps)  // μ, σ², x̂, a
        (a, xhat, mean, variance) = (r.a, r.xhat, r.mean, r.variance)
      } else {
        (a, xhat) = Reference.batchNorm(x, gamma: g, beta: b, mean: runningMean.value, variance: runningVar.value, epsilon: eps)
      }
    } else {
      a = fastForward(x)
    }
    let (mu, sigma2) = training ? (mean.data, variance.data) : (runningMean.value.data, runningVar.value.data)
    let (oldMean, oldVar) = step.tracer == nil ? (mean, variance) : (runningMean.value, runningVar.value)  // for the trace
    if training {
      let mom = momentum
      runningMean.value.withElements { running in for k in 0..<c { running[k] = mom * running[k] + (1 - mom) * mu[k] } }
      runningVar.value.withElements { running in for k in 0..<c { running[k] = mom * running[k] + (1 - mom) * sigma2[k] } }
    }
    if let t = step.tracer { traceForward(t, x, a, mu, sigma2, oldMean, oldVar) }
    return a
  }

  /// The fast tier's forward (`Kernels.batchNorm…`, the reference's sums in reused buffers).
  /// Sets x̂ (and μ, σ² in training).
  private func fastForward(_ x: Tensor) -> Tensor {
    if training { Kernels.batchNormStatistics(x, spatial: spatial, mean: &mean, variance: &variance) }  // μ, σ²
    let (mu, sigma2) = training ? (mean.data, variance.data) : (runningMean.value.data, runningVar.value.data)
    let (g, b, eps, s) = (gamma.value, beta.value, epsilon, spatial)
    var output: Tensor?
    xhat = xhats.next(x.shape) { xh in  // the input's shape
      output = outputs.next(x.shape) { a in
        Kernels.batchNormalize(x, spatial: s, mean: mu, variance: sigma2, gamma: g, beta: b, epsilon: eps, xhat: &xh, a: &a)  // x̂, a
      }
    }
    return output!
  }

  /// Fills dγ, dβ (and the running statistics' gradients); returns dx unless `step` says nobody
  /// needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let (c, s, n) = (channels, spatial, delta.rows)
    precondition(delta.count == xhat.count, "\(name): δ \(delta.shape) does not fit the last input \(xhat.shape)")
    let xh = xhat.data
    var referenceDx: Tensor? = nil
    if route == .reference {
      let r = Reference.batchNormBackward(delta, xhat: xhat, gamma: gamma.value, variance: training ? variance : runningVar.value,
                                          epsilon: epsilon, training: training)  // dγ, dβ, dx
      (gamma.grad, beta.grad, referenceDx) = (r.dgamma, r.dbeta, r.dx)
    } else {
      Kernels.batchNormParameterGradients(delta, xhat: xhat, spatial: s, dgamma: &gamma.grad, dbeta: &beta.grad)  // dγ, dβ
    }
    let (dgamma, dbeta) = (gamma.grad.data, beta.grad.data)
    // The running statistics matter only at evaluation: ∂a/∂μ = −γ/√(σ² + ε), ∂a/∂σ² = −½·γ·x̂/(σ² + ε).
    let training = training, epsilon = epsilon
    runningMean.grad.withElements { dMean in
      runningVar.grad.withElements { dVar in
        for k in 0..<c { (dMean[k], dVar[k]) = (0, 0) }
        guard !training else { return }
        let (g, v) = (gamma.value.data, runningVar.value.data)
        Kernels.eachChannelRow(samples: n, channels: c, spatial: s) { k, row in
          for i in row {
            dMean[k] -= delta.data[i] * g[k] / (v[k] + epsilon).squareRoot()
            dVar[k] -= 0.5 * delta.data[i] * g[k] * xh[i] / (v[k] + epsilon)
          }
        }
      }
    }
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    let sigma2 = training ? variance.data : runningVar.value.data
    let xhat = xhat, g = gamma.value
    let dx = referenceDx ?? inputGradients.next(delta.shape) { dx in  // the input's shape
      Kernels.batchNormInputGradient(delta, xhat: xhat, spatial: s, gamma: g, variance: sigma2, epsilon: epsilon, dgamma: dgamma,
                                     dbeta: dbeta, training: training, into: &dx)
    }
    if let t = step.tracer { traceBackward(t, delta, dx, sigma2, dgamma, dbeta) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ a: Tensor, _ mu: [Double], _ sigma2: [Double], _ oldMean: Tensor, _ oldVar: Tensor) {
    let (c, s, n, eps, xh) = (channels, spatial, x.rows, epsilon, xhat)
    let (g, b) = (gamma.value, beta.value)
    let per = s == 1 ? "feature" : "channel"
    t.record(name, .forward, "gamma", batched: false, symbol: "γ", formula: "γ: one scale per \(per)", g)
    t.record(name, .forward, "beta", batched: false, symbol: "β", formula: "β: one shift per \(per)", b)
    let muT = Tensor(mu), varT = Tensor(sigma2)
    if training {
      t.record(name, .forward, "mean", batched: false, symbol: "μ", formula: "μ = (1/M) Σ x over the batch\(s == 1 ? "" : " and positions"), M = \(n * s)", muT) { k in
        let args = (0..<n).flatMap { r in (0..<s).map { x.data[(r * c + k) * s + $0] } }
        return Arithmetic(lhs: elementLabel("μ", muT.shape, k, batch: false),
                          template: "(" + args.indices.map { "{\($0)}" }.joined(separator: " + ") + ")/\(n * s)", args: args, result: muT.data[k])
      }
      t.record(name, .forward, "var", batched: false, symbol: "σ²", formula: "σ² = (1/M) Σ (x − μ)², M = \(n * s)", varT) { k in
        let values = (0..<n).flatMap { r in (0..<s).map { x.data[(r * c + k) * s + $0] } }
        let template = "(" + values.indices.map { "({\($0 + 1)} − {0})²" }.joined(separator: " + ") + ")/\(n * s)"
        return Arithmetic(lhs: elementLabel("σ²", varT.shape, k, batch: false), template: template, args: [mu[k]] + values, result: varT.data[k])
      }
    } else {
      t.record(name, .forward, "running_mean", batched: false, symbol: "μ", formula: "μ: the running mean (evaluation)", muT)
      t.record(name, .forward, "running_var", batched: false, symbol: "σ²", formula: "σ²: the running variance (evaluation)", varT)
    }
    t.record(name, .forward, "xhat", symbol: "x̂", formula: "x̂ = (x − μ)/√(σ² + ε)", xh) { i in
      let k = i / s % c
      return Arithmetic(lhs: elementLabel("x̂", xh.shape, i), template: "({0} − {1})/√({2} + {3})",
                        args: [x.data[i], mu[k], sigma2[k], eps], result: xh.data[i])
    }
    t.record(name, .forward, "a", formula: "a = γ·x̂ + β", a) { i in
      let k = i / s % c
      return Arithmetic(lhs: elementLabel("a", a.shape, i), template: "{0}·{1} + {2}", args: [g.data[k], xh.data[i], b.data[k]], result: a.data[i])
    }
    if training {
      let (newMean, newVar, mom) = (runningMean.value, runningVar.value, momentum)
      t.record(name, .forward, "running_mean.before", batched: false, symbol: "running_mean", formula: "the running mean before this step", oldMean)
      t.record(name, .forward, "running_var.before", batched: false, symbol: "running_var", formula: "the running variance before this step", oldVar)
      t.record(name, .forward, "running_mean", batched: false, formula: "running_mean ← \(mom)·running_mean + (1 − \(mom))·μ", newMean) { k in
        Arithmetic(lhs: elementLabel("running_mean", newMean.shape, k, batch: false), template: "{0}·{1} + (1 − {0})·{2}",
                   args: [mom, oldMean.data[k], mu[k]], result: newMean.data[k])
      }
      t.record(name, .forward, "running_var", batched: false, formula: "running_var ← \(mom)·running_var + (1 − \(mom))·σ²", newVar) { k in
        Arithmetic(lhs: elementLabel("running_var", newVar.shape, k, batch: false), template: "{0}·{1} + (1 − {0})·{2}",
                   args: [mom, oldVar.data[k], sigma2[k]], result: newVar.data[k])
      }
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor, _ dx: Tensor, _ sigma2: [Double], _ dgamma: [Double], _ dbeta: [Double]) {
    let (c, s, n, eps, xh, g, training) = (channels, spatial, delta.rows, epsilon, xhat, gamma.value, training)
    let dg = Tensor(dgamma), db = Tensor(dbeta)
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
    t.record(name, .backward, "dgamma", batched: false, symbol: "∂L/∂γ", formula: "∂L/∂γ = Σ δ·x̂", dg) { k in
      var parts: [String] = [], args: [Double] = []
      for r in 0..<n {
        for q in 0..<s {
          let i = (r * c + k) * s + q
          parts.append("{\(args.count)}·{\(args.count + 1)}")
          args += [delta.data[i], xh.data[i]]
        }
      }
      return Arithmetic(lhs: elementLabel("∂L/∂γ", dg.shape, k, batch: false), template: parts.joined(separator: " + "), args: args, result: dg.data[k])
    }
    t.record(name, .backward, "dbeta", batched: false, symbol: "∂L/∂β", formula: "∂L/∂β = Σ δ", db) { k in
      let args = (0..<n).flatMap { r in (0..<s).map { delta.data[(r * c + k) * s + $0] } }
      return Arithmetic(lhs: elementLabel("∂L/∂β", db.shape, k, batch: false), template: args.indices.map { "{\($0)}" }.joined(separator: " + "),
                        args: args, result: db.data[k])
    }
    let m = Double(n * s)
    t.record(name, .backward, "dx",
             formula: training ? "∂L/∂x = (γ/(M·√(σ² + ε)))·(M·δ − ∂L/∂β − x̂·∂L/∂γ)" : "∂L/∂x = δ·γ/√(σ² + ε)", dx) { i in
      let k = i / s % c
      if training {
        return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: "({0}/({1}·√({2} + {3})))·({1}·{4} − {5} − {6}·{7})",
                          args: [g.data[k], m, sigma2[k], eps, delta.data[i], dbeta[k], xh.data[i], dgamma[k]], result: dx.data[i])
      }
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: "{0}·{1}/√({2} + {3})",
                        args: [delta.data[i], g.data[k], sigma2[k], eps], result: dx.data[i])
    }
  }
}

// MARK: Worksheet

extension BatchNorm {
  /// In training: μ = SUM(the channel's cells)/M, σ² = Σ SUMPRODUCT((cells − μ)²)/M,
  /// x̂ = (x − μ)/SQRT(σ² + ε), a = γ·x̂ + β, running ← m·running + (1 − m)·batch;
  /// backward ∂L/∂β = Σ SUM(δ), ∂L/∂γ = Σ SUMPRODUCT(δ, x̂),
  /// ∂L/∂x = (γ/(M·SQRT(σ² + ε)))·(M·δ − ∂L/∂β − x̂·∂L/∂γ). At evaluation x̂ uses the running
  /// statistics and ∂L/∂x = δ·γ/SQRT(σ² + ε). γ, β and the running statistics before the step
  /// are editable.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (channels, spatial, n, eps, mom, training) = (channels, spatial, c.batch, epsilon, momentum, training)
    let m = Double(n * spatial), x = c.input
    let e = { (p: Phase, k: String) in c.entry(p, k) }
    let (gamma, beta, xhat, delta) = (e(.forward, "gamma"), e(.forward, "beta"), e(.forward, "xhat"), e(.backward, "delta"))
    let (mu, sigma2) = training ? (e(.forward, "mean"), e(.forward, "var")) : (e(.forward, "running_mean"), e(.forward, "running_var"))
    let (dgamma, dbeta) = (e(.backward, "dgamma"), e(.backward, "dbeta"))
    /// The cells of channel k in `entry`: one grid per sample (images) or the row across samples.
    let cells = { (entry: String, k: Int) -> [Formula] in
      spatial == 1 ? [.range(entry, k, (n - 1) * channels + k)]
        : (0..<n).map { SheetLayout.grid(entry, $0 * channels + k, height: 1, width: spatial) }
    }
    let root = { (k: Int) in Formula.sqrt(.cell(sigma2, k) + .number(eps)) }
    switch (phase, key) {
    case (.forward, "gamma"), (.forward, "beta"), (.forward, "running_mean.before"), (.forward, "running_var.before"): return .input
    case (.forward, "running_mean"), (.forward, "running_var"):
      guard training else { return .input }
      let (old, batch) = key == "running_mean" ? (e(.forward, "running_mean.before"), mu) : (e(.forward, "running_var.before"), sigma2)
      return SheetCells { k in .number(mom) * .cell(old, k) + (.number(1) - .number(mom)) * .cell(batch, k) }
    case (.forward, "mean"): return SheetCells { k in .sum(cells(x, k).map { .call("SUM", [$0]) }) / .number(m) }
    case (.forward, "var"):
      return SheetCells { k in .sum(cells(x, k).map { .call("SUMPRODUCT", [.pow($0 - .cell(mu, k), .number(2))]) }) / .number(m) }
    case (.forward, "xhat"): return SheetCells { i in (.cell(x, i) - .cell(mu, i / spatial % channels)) / root(i / spatial % channels) }
    case (.forward, "a"):
      return SheetCells { i in .cell(gamma, i / spatial % channels) * .cell(xhat, i) + .cell(beta, i / spatial % channels) }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dbeta"): return SheetCells { k in .sum(cells(delta, k).map { .call("SUM", [$0]) }) }
    case (.backward, "dgamma"):
      return SheetCells { k in .sum(zip(cells(delta, k), cells(xhat, k)).map { Formula.sumProduct($0, $1) }) }
    case (.backward, "dx"):
      return SheetCells { i in
        let k = i / spatial % channels
        guard training else { return .cell(delta, i) * .cell(gamma, k) / root(k) }
        return (.cell(gamma, k) / (.number(m) * root(k)))
          * (.number(m) * .cell(delta, i) - .cell(dbeta, k) - .cell(xhat, i) * .cell(dgamma, k))
      }
    default: return nil
    }
  }
}
