/// Inverted dropout: in training a = x ⊙ m with mᵢ = 1/(1 − p) kept with probability 1 − p and
/// mᵢ = 0 dropped with probability p (the rate); at evaluation a = x.
///
/// Scaling the kept units by 1/(1 − p) keeps E[a] = x, so evaluation needs no rescaling (Keras
/// and PyTorch do the same). The mask is drawn from `step.rng`, SheetNet's seeded generator, one
/// uniform u per element in row-major order, kept when u < 1 − p; the same seed gives the same
/// mask on every platform. Backward uses the same mask: dx = δ ⊙ m (δ itself at evaluation).
/// A lesson that gives no `rate` drops half the units (p = 0.5).
public final class Dropout: Layer {
  public static let kind = "dropout"
  public static let keys = ["rate"]

  /// p, the fraction of units dropped, 0 ≤ p < 1.
  public let rate: Double
  public var name = "dropout"
  /// The mask m of the last training pass (same shape as x: 0 or 1/(1 − p)); empty after an
  /// evaluation pass.
  public private(set) var mask = Tensor(shape: [0])

  private var training = false  // whether the last forward pass dropped units
  private var masks = TensorPair(), outputs = TensorPair(), inputGradients = TensorPair()  // m, a, dx in turns

  /// A dropout layer dropping a fraction `rate` of its inputs in training.
  public init(rate: Double) {
    precondition(rate >= 0 && rate < 1, "Dropout rate must be in [0, 1), got \(rate)")
    self.rate = rate
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let rate = try o.double("rate", default: 0.5)
    guard rate >= 0 && rate < 1 else {
      throw .lesson("\(o.context): 'rate' is the fraction of units dropped and must be at least 0 and below 1 (e.g. 0.5), got \(rate)")
    }
    self.init(rate: rate)
  }

  public var options: [(key: String, value: Value)] { [("rate", .number(rate))] }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] { inputShape }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    training = step.training
    guard step.training else {
      mask = Tensor(shape: [0])
      if let t = step.tracer { t.record(name, .forward, "a", formula: "a = x (no dropout at evaluation)", x) }
      return x
    }
    let keep = 1 - rate, scale = 1 / keep
    let m = masks.next(x.shape) { m in  // same shape as x
      for i in 0..<m.count { m.data[i] = step.rng.unit() < keep ? scale : 0 }
    }
    mask = m
    let a = outputs.next(x.shape) { Kernels.zip(x, m, into: &$0) { $0 * $1 } }
    if let t = step.tracer {
      let (m, a) = (m, a)
      t.record(name, .forward, "mask", symbol: "m", formula: "m = 1/(1 − \(rate)) with probability \(keep), else 0", m)
      t.record(name, .forward, "a", formula: "a = x ⊙ m", a) { i in
        Arithmetic(lhs: elementLabel("a", a.shape, i), template: "{0}·{1}", args: [x.data[i], m.data[i]], result: a.data[i])
      }
    }
    return a
  }

  /// Returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    guard training else {
      if let t = step.tracer { t.record(name, .backward, "dx", formula: "∂L/∂x = δ (no dropout at evaluation)", delta) }
      return delta
    }
    precondition(delta.count == mask.count, "\(name): δ \(delta.shape) does not fit the mask \(mask.shape)")
    let mask = mask
    let dx = inputGradients.next(delta.shape) { Kernels.zip(delta, mask, into: &$0) { $0 * $1 } }
    if let t = step.tracer {
      let (m, dx) = (mask, dx)
      t.record(name, .backward, "dx", formula: "∂L/∂x = δ ⊙ m", dx) { i in
        Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: "{0}·{1}", args: [delta.data[i], m.data[i]], result: dx.data[i])
      }
    }
    return dx
  }
}

// MARK: Worksheet

extension Dropout {
  /// The mask is editable; a = x·m and ∂L/∂x = δ·m (x and δ themselves at evaluation).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (x, delta, m, training) = (c.input, c.delta, c.entry(.forward, "mask"), training)
    switch (phase, key) {
    case (.forward, "mask"): return .input
    case (.forward, "a"): return SheetCells { i in training ? .cell(x, i) * .cell(m, i) : .cell(x, i) }
    case (.backward, "dx"): return SheetCells { i in training ? .cell(delta, i) * .cell(m, i) : .cell(delta, i) }
    default: return nil
    }
  }
}
