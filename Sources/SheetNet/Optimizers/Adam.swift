import Foundation

/// Adam (Kingma and Ba), with optional L2 decay λ folded into the gradient.
///
/// With g = dθ + λ·θ and t the step number:
/// m ← β₁·m + (1 − β₁)·g,  s ← β₂·s + (1 − β₂)·g²,
/// m̂ = m / (1 − β₁ᵗ),  ŝ = s / (1 − β₂ᵗ),  θ ← θ − η·m̂ / (√ŝ + ε).
public final class Adam: Optimizer {
  public static let kind = "adam"
  public var learningRate: Double
  /// β₁, decay of the first moment.
  public let beta1: Double
  /// β₂, decay of the second moment.
  public let beta2: Double
  /// ε, keeps the step finite when ŝ is 0.
  public let epsilon: Double
  public let weightDecay: Double
  public var stepCount = 0

  /// Adam with the usual defaults β₁ = 0.9, β₂ = 0.999, ε = 1e-8.
  public init(learningRate: Double = 0.001, beta1: Double = 0.9, beta2: Double = 0.999, epsilon: Double = 1e-8, weightDecay: Double = 0) {
    self.learningRate = learningRate
    self.beta1 = beta1
    self.beta2 = beta2
    self.epsilon = epsilon
    self.weightDecay = weightDecay
  }

  public var options: [(key: String, value: Value)] {
    [("learning_rate", .number(learningRate)), ("beta1", .number(beta1)), ("beta2", .number(beta2)),
     ("epsilon", .number(epsilon)), ("weight_decay", .number(weightDecay))]
  }

  /// m and s, the first and second moments.
  public var stateKeys: [String] { ["m", "s"] }

  public func update(_ p: Parameter, layer: String, tracer: Tracer?) {
    let (b1, b2, eta, eps) = (beta1, beta2, learningRate, epsilon)
    let g = decayedGradient(p)
    let gName = traceGradient(tracer, layer: layer, p, g)
    if let tracer {  // the moments before the step, which a worksheet lets the student edit
      let zero = Tensor(shape: p.value.shape)
      tracer.record(layer, .update, "\(p.name).m.before", symbol: "m", formula: "m before this step (0 at the first)", p.state["m"] ?? zero)
      tracer.record(layer, .update, "\(p.name).s.before", symbol: "s", formula: "s before this step (0 at the first)", p.state["s"] ?? zero)
    }
    // Updated in place inside `state` (a local copy would make every step copy m and s).
    Kernels.update(&p.state["m", default: Tensor(shape: p.value.shape)], with: g) { b1 * $0 + (1 - b1) * $1 }
    Kernels.update(&p.state["s", default: Tensor(shape: p.value.shape)], with: g) { b2 * $0 + (1 - b2) * $1 * $1 }
    let m = p.state["m"]!, s = p.state["s"]!
    let c1 = 1 - pow(b1, Double(stepCount)), c2 = 1 - pow(b2, Double(stepCount))
    let old = tracer == nil ? Tensor(shape: [0]) : p.value
    Kernels.update(&p.value, with: m, s) { $0 - eta * ($1 / c1) / (($2 / c2).squareRoot() + eps) }
    if let tracer {
      let (m, s) = (m, s)
      tracer.record(layer, .update, "\(p.name).m", symbol: "m", formula: "m ← β₁·m + (1 − β₁)·\(gName)", m)
      tracer.record(layer, .update, "\(p.name).s", symbol: "s", formula: "s ← β₂·s + (1 − β₂)·\(gName)²", s)
      traceUpdate(tracer, layer: layer, p, formula: "\(p.name) ← \(p.name) − η·m̂/(√ŝ + ε),  m̂ = m/(1 − β₁ᵗ), ŝ = s/(1 − β₂ᵗ)") { i in
        ("{0} − {1}·({2}/{3})/(√({4}/{5}) + {6})", [old.data[i], eta, m.data[i], c1, s.data[i], c2, eps])
      }
    }
  }
}

// MARK: Worksheet

extension Adam {
  public var sheetNames: [(name: String, value: Double, meaning: String)] {
    [("learning_rate", learningRate, "η, the step size"), ("beta_1", beta1, "β₁, decay of the first moment m"),
     ("beta_2", beta2, "β₂, decay of the second moment s"), ("epsilon", epsilon, "ε, keeps the step finite when ŝ is 0"),
     ("adam_t", Double(stepCount), "t, this step's number, in the bias corrections 1 − β₁ᵗ and 1 − β₂ᵗ"),
     ("weight_decay", weightDecay, "λ, L2 decay added to each gradient: g = dW + λ·W")]
  }

  /// m = beta_1·m₀ + (1 − beta_1)·g, s = beta_2·s₀ + (1 − beta_2)·g², with g = dθ + weight_decay·θ
  /// (the cells of the traced entry `W.g` when weight decay is on),
  /// and θ′ = θ − learning_rate·(m/(1 − beta_1^adam_t))/(SQRT(s/(1 − beta_2^adam_t)) + epsilon).
  /// m₀ and s₀, the moments before the step, are editable.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let parts = key.split(separator: ".").map(String.init)
    let (value, g, inline) = sheetGradient(parts[0], c, decayed: weightDecay != 0)
    let e = { (suffix: String) in c.entry(.update, parts[0] + suffix) }
    let (m, s, m0, s0) = (e(".m"), e(".s"), e(".m.before"), e(".s.before"))
    let one = Formula.number(1)
    switch parts.count {
    case 3 where parts[2] == "before": return .input
    case 2 where parts[1] == "g": return SheetCells { i in inline(i) }
    case 2 where parts[1] == "m": return SheetCells { i in .named("beta_1") * .cell(m0, i) + (one - .named("beta_1")) * g(i) }
    case 2 where parts[1] == "s":
      return SheetCells { i in .named("beta_2") * .cell(s0, i) + (one - .named("beta_2")) * .pow(g(i), .number(2)) }
    case 1:
      return SheetCells { i in
        let mhat = .cell(m, i) / (one - .pow(.named("beta_1"), .named("adam_t")))
        let shat = .cell(s, i) / (one - .pow(.named("beta_2"), .named("adam_t")))
        return .cell(value, i) - .named("learning_rate") * mhat / (.sqrt(shat) + .named("epsilon"))
      }
    default: return nil
    }
  }
}
