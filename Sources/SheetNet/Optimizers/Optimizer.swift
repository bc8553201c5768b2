/// Updates every trainable parameter from its gradient; its state tensors are named and kept in
/// `Parameter.state` so traces and model files show them.
public protocol Optimizer: AnyObject, SheetFormulas {
  /// The word lesson files use (`sgd`, `adam`).
  static var kind: String { get }
  /// η, the step size.
  var learningRate: Double { get set }
  /// λ for L2 weight decay, added to the gradient as g ← dθ + λ·θ (0 for none).
  var weightDecay: Double { get }
  /// Number of updates made so far (Adam's t).
  var stepCount: Int { get set }
  /// The hyper-parameters that rebuild this optimizer (for model files and summaries).
  var options: [(key: String, value: Value)] { get }
  /// The state tensors it keeps in every trainable parameter once it has stepped (what a model
  /// file saved after training holds; `ModelFile.mismatch` checks them).
  var stateKeys: [String] { get }
  /// Applies one update to `parameter` of layer `layer`, recording it when `tracer` is attached.
  func update(_ parameter: Parameter, layer: String, tracer: Tracer?)
  /// The hyper-parameters a worksheet puts in named cells, with the value of the traced step and
  /// what each means: `learning_rate`, `momentum`, `beta_1`, `beta_2`, `epsilon`, `adam_t`, `weight_decay`.
  var sheetNames: [(name: String, value: Double, meaning: String)] { get }
}

extension Optimizer {
  /// The kind of this optimizer.
  public var kind: String { Self.kind }

  /// One update of every trainable parameter, layer by layer in network order.
  public func step(_ layers: [any Layer], tracer: Tracer?) {
    stepCount += 1
    for layer in layers {
      for p in layer.parameters where p.trainable { update(p, layer: layer.name, tracer: tracer) }
    }
  }

  /// g = dθ + λ·θ: the gradient with L2 weight decay folded in (dθ itself when λ = 0).
  func decayedGradient(_ p: Parameter) -> Tensor {
    guard weightDecay != 0 else { return p.grad }
    var g = p.grad
    let lambda = weightDecay
    Kernels.update(&g, with: p.value) { $0 + lambda * $1 }
    return g
  }

  /// The gradient the update formulas use: with weight decay, g = dθ + λ·θ is recorded as its
  /// own entry (`W.g`, with each element's arithmetic) and the formulas say `g`; without, they
  /// say `dW`, which is then the very number used. Call before θ changes.
  func traceGradient(_ tracer: Tracer?, layer: String, _ p: Parameter, _ g: Tensor) -> String {
    guard weightDecay != 0 else { return "d\(p.name)" }
    if let tracer {
      let (grad, value, lambda, name) = (p.grad, p.value, weightDecay, p.name)
      tracer.record(layer, .update, "\(name).g", symbol: "g", formula: "g = d\(name) + λ·\(name)", g) { i in
        Arithmetic(lhs: elementLabel("g", g.shape, i, batch: false), template: "{0} + {1}·{2}", args: [grad.data[i], lambda, value.data[i]],
                   result: g.data[i])
      }
    }
    return "g"
  }

  /// Records a parameter's new value and its update arithmetic.
  func traceUpdate(_ tracer: Tracer, layer: String, _ p: Parameter, formula: String,
                   explain: @escaping @Sendable (Int) -> (String, [Double])) {
    let value = p.value, symbol = p.name
    tracer.record(layer, .update, p.name, formula: formula, value) { i in
      let (template, args) = explain(i)
      return Arithmetic(lhs: elementLabel(symbol, value.shape, i, batch: false) + "′", template: template, args: args, result: value.data[i])
    }
  }
}

/// The worksheet entries of parameter `key` (`W`, `b`, `gamma`) of the context's layer: its value
/// before the step (`forward.W`), and the gradient its update reads. With weight decay that is
/// the cell of the traced entry `W.g`; without, g = dW + weight_decay·W written inline (the named
/// cell is 0, and a student who sets it sees the decay act). `inline` is that formula, the `W.g`
/// entry's own cells.
func sheetGradient(_ key: String, _ c: SheetContext, decayed: Bool)
  -> (value: String, g: (Int) -> Formula, inline: (Int) -> Formula) {
  let (value, grad, traced) = (c.entry(.forward, key), c.entry(.backward, "d" + key), c.entry(.update, key + ".g"))
  let inline: (Int) -> Formula = { i in .cell(grad, i) + .named("weight_decay") * .cell(value, i) }
  return (value, decayed ? { i in .cell(traced, i) } : inline, inline)
}

/// Optimizer kinds a lesson may name, with their hyper-parameter keys.
public let optimizerKeys: [String: [String]] = [
  SGD.kind: ["learning_rate", "momentum", "nesterov", "weight_decay"],
  Adam.kind: ["learning_rate", "beta1", "beta2", "epsilon", "weight_decay"],
]
