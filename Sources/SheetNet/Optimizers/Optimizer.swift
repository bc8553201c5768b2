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
/// before the step (`forward.W`), its gradient (`backward.dW`), and g = dW + weight_decay·W.
func sheetGradient(_ key: String, _ c: SheetContext) -> (value: String, g: (Int) -> Formula) {
  let (value, grad) = (c.entry(.forward, key), c.entry(.backward, "d" + key))
  return (value, { i in .cell(grad, i) + .named("weight_decay") * .cell(value, i) })
}

/// Optimizer kinds a lesson may name, with their hyper-parameter keys.
public let optimizerKeys: [String: [String]] = [
  SGD.kind: ["learning_rate", "momentum", "nesterov", "weight_decay"],
  Adam.kind: ["learning_rate", "beta1", "beta2", "epsilon", "weight_decay"],
]
