/// Stochastic gradient descent, with optional momentum μ (heavy ball or Nesterov) and L2 decay λ.
///
/// With g = dθ + λ·θ:
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

  public func update(_ p: Parameter, layer: String, tracer: Tracer?) {
    let eta = learningRate, mu = momentum
    let g = decayedGradient(p)
    let old = tracer == nil ? Tensor(shape: [0]) : p.value
    if mu == 0 {
      Kernels.update(&p.value, with: g) { $0 - eta * $1 }
      if let tracer {
        traceUpdate(tracer, layer: layer, p, formula: "\(p.name) ← \(p.name) − η·d\(p.name)") { i in
          ("{0} − {1}·{2}", [old.data[i], eta, g.data[i]])
        }
      }
      return
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
      tracer.record(layer, .update, "\(p.name).v", symbol: "v", formula: "v ← μ·v + d\(p.name)", v)
      let formula = nesterov ? "\(p.name) ← \(p.name) − η·(d\(p.name) + μ·v)" : "\(p.name) ← \(p.name) − η·v"
      let nesterov = nesterov
      traceUpdate(tracer, layer: layer, p, formula: formula) { i in
        nesterov ? ("{0} − {1}·({2} + {3}·{4})", [old.data[i], eta, g.data[i], mu, v.data[i]])
          : ("{0} − {1}·{2}", [old.data[i], eta, v.data[i]])
      }
    }
  }
}
