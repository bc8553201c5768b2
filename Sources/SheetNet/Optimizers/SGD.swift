/// Stochastic gradient descent, with optional momentum μ (heavy ball or Nesterov) and L2 decay λ.
///
/// With g = dθ + λ·θ (traced as its own entry `W.g` when λ ≠ 0; the formulas then say g):
/// - plain (μ = 0): θ ← θ − η·g
/// - momentum: v ← μ·v + g, θ ← θ − η·v
/// - Nesterov: v ← μ·v + g, θ ← θ − η·(g + μ·v)
/// (PyTorch's formulation; v starts at 0, so the first momentum step equals plain SGD.)
public final class SGD: Optimizer {
  public static let kind = "sgd"
  public var learningRate: Double
  /// μ, the momentum coefficient (0 for plain SGD).
  public let momentum: Double
  /// Whether to use Nesterov's look-ahead form.
  public let nesterov: Bool
  public let weightDecay: Double
  public var stepCount = 0

  /// SGD with step size η = `learningRate`.
  public init(learningRate: Double, momentum: Double = 0, nesterov: Bool = false, weightDecay: Double = 0) {
    self.learningRate = learningRate
    self.momentum = momentum
    self.nesterov = nesterov
    self.weightDecay = weightDecay
  }

  public var options: [(key: String, value: Value)] {
    [("learning_rate", .number(learningRate)), ("momentum", .number(momentum)), ("nesterov", .bool(nesterov)),
     ("weight_decay", .number(weightDecay))]
  }

  /// v, the velocity, with momentum; none for plain SGD.
  public var stateKeys: [String] { momentum == 0 ? [] : ["v"] }

  public func update(_ p: Parameter, layer: String, tracer: Tracer?) {
    let eta = learningRate, mu = momentum
    let g = decayedGradient(p)
    let old = tracer == nil ? Tensor(shape: [0]) : p.value
    let gName = traceGradient(tracer, layer: layer, p, g)
    if mu == 0 {
      Kernels.update(&p.value, with: g) { $0 - eta * $1 }
      if let tracer {
        traceUpdate(tracer, layer: layer, p, formula: "\(p.name) ← \(p.name) − η·\(gName)") { i in
          ("{0} − {1}·{2}", [old.data[i], eta, g.data[i]])
        }
      }
      return
    }
    if let tracer {  // v before the step, which a worksheet lets the student edit
      tracer.record(layer, .update, "\(p.name).v.before", symbol: "v", formula: "v before this step (0 at the first)",
                    p.state["v"] ?? Tensor(shape: p.value.shape))
    }
    // Updated in place inside `state` (a local copy would make every step copy v).
    Kernels.update(&p.state["v", default: Tensor(shape: p.value.shape)], with: g) { mu * $0 + $1 }
    let v = p.state["v"]!
    if nesterov {
      var look = g
      Kernels.update(&look, with: v) { $0 + mu * $1 }
      Kernels.update(&p.value, with: look) { $0 - eta * $1 }
    } else {
      Kernels.update(&p.value, with: v) { $0 - eta * $1 }
    }
    if let tracer {
      let v = v
      tracer.record(layer, .update, "\(p.name).v", symbol: "v", formula: "v ← μ·v + \(gName)", v)
      let formula = nesterov ? "\(p.name) ← \(p.name) − η·(\(gName) + μ·v)" : "\(p.name) ← \(p.name) − η·v"
      let nesterov = nesterov
      traceUpdate(tracer, layer: layer, p, formula: formula) { i in
        nesterov ? ("{0} − {1}·({2} + {3}·{4})", [old.data[i], eta, g.data[i], mu, v.data[i]])
          : ("{0} − {1}·{2}", [old.data[i], eta, v.data[i]])
      }
    }
  }
}

// MARK: Worksheet

extension SGD {
  public var sheetNames: [(name: String, value: Double, meaning: String)] {
    [("learning_rate", learningRate, "η, the step size")]
      + (momentum == 0 ? [] : [("momentum", momentum, "μ, how much of the last velocity each step keeps")])
      + [("weight_decay", weightDecay, "λ, L2 decay added to each gradient: g = dW + λ·W")]
  }

  /// θ′ = θ − learning_rate·g with g = dθ + weight_decay·θ; with momentum v = momentum·v₀ + g and
  /// θ′ = θ − learning_rate·v (Nesterov: θ′ = θ − learning_rate·(g + momentum·v)). v₀, the
  /// velocity before the step, is editable.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let parts = key.split(separator: ".").map(String.init)
    let (value, g, inline) = sheetGradient(parts[0], c, decayed: weightDecay != 0)
    let (v, v0, nesterov) = (c.entry(.update, parts[0] + ".v"), c.entry(.update, parts[0] + ".v.before"), nesterov)
    switch parts.count {
    case 3 where parts[1] == "v" && parts[2] == "before": return .input
    case 2 where parts[1] == "g": return SheetCells { i in inline(i) }
    case 2 where parts[1] == "v": return SheetCells { i in .named("momentum") * .cell(v0, i) + g(i) }
    case 1 where momentum == 0: return SheetCells { i in .cell(value, i) - .named("learning_rate") * g(i) }
    case 1 where nesterov:
      return SheetCells { i in .cell(value, i) - .named("learning_rate") * (g(i) + .named("momentum") * .cell(v, i)) }
    case 1: return SheetCells { i in .cell(value, i) - .named("learning_rate") * .cell(v, i) }
    default: return nil
    }
  }
}
