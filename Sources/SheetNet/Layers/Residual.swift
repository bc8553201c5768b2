/// A residual block, a = x + f(x): the block's layers f, with the input x added to what they give.
///
/// A lesson writes `- residual: [layer_norm, {type: self_attention, heads: 2}]` (a pre-norm
/// transformer block). The network stays a flat list of layers: the block becomes a `skip`
/// layer, the block's layers, and a `residual` layer. Forward, `skip` keeps x and passes it on;
/// `residual` adds it to f(x). Backward, δ = ∂L/∂a reaches x twice: through the block's layers
/// and straight along the skip path, so the skip layer's input gradient is
/// ∂L/∂x = δ_block + δ (the sum of the two paths) — the reason deep residual networks train.
public final class Skip: Layer {
  public static let kind = "skip"
  public static let keys: [String] = []
  public var name = "skip"
  public var options: [(key: String, value: Value)] { [] }
  /// The block's input x of the last forward pass, which the matching `Residual` adds.
  public private(set) var x = Tensor(shape: [0])
  /// δ = ∂L/∂a of the matching `Residual`: what reaches x along the skip path.
  var skipDelta = Tensor(shape: [0])
  /// The block's input shape, per sample.
  private(set) var shape: [Int] = []
  /// The block's end, linked by `Sequential.build`.
  weak var residual: Residual?
  private var inputGradients = TensorPair()  // dx, in turns

  /// The start of a residual block.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    shape = inputShape
    return inputShape
  }

  /// a = x: the block's input, kept for the sum.
  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    self.x = x
    step.tracer?.record(name, .forward, "a", formula: "a = x: the block's input, kept for the sum x + f(x)", x)
    return x
  }

  /// ∂L/∂x = δ (through the block) + δ_skip (along the skip path).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let dx = inputGradients.next(delta.shape) { Kernels.zip(delta, skipDelta, into: &$0, +) }
    if let t = step.tracer {
      let (delta, skip, dx) = (delta, skipDelta, dx)
      t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂x through the block's layers", delta)
      t.record(name, .backward, "dx", formula: "∂L/∂x = δ (through the block) + δ (along the skip path)", dx) { i in
        Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: "{0} + {1}", args: [delta.data[i], skip.data[i]], result: dx.data[i])
      }
    }
    return dx
  }

  /// a = x (a copy of the input's cell); δ copied from the block's first layer;
  /// ∂L/∂x = δ + the residual layer's δ (the skip path), cell by cell.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    switch (phase, key) {
    case (.forward, "a"): return SheetCells { [x = c.input] i in .cell(x, i) }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dx"):
      guard let residual else { return nil }
      let (delta, skip) = (c.entry(.backward, "delta"), Tracer.name(residual.name, .backward, "delta"))
      return SheetCells { i in .cell(delta, i) + .cell(skip, i) }
    default: return nil
    }
  }
}

/// The end of a residual block: a = x + f(x), x the input its `Skip` kept. Backward it passes δ
/// on into the block unchanged and hands the same δ to the skip path.
public final class Residual: Layer {
  public static let kind = "residual"
  public static let keys: [String] = []
  public var name = "residual"
  public var options: [(key: String, value: Value)] { [] }
  /// The block's start, linked by `Sequential.build` (the nearest open `skip` before it).
  weak var skip: Skip?
  private var outputs = TensorPair()  // a, in turns

  /// The end of a residual block.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard let skip else { throw .shape("\(name) ends a residual block that never began; write the block as - residual: [layers]") }
    guard skip.shape == inputShape else {
      throw .shape("the residual block \(skip.name)…\(name) turns \(shapeText(skip.shape)) into \(shapeText(inputShape)); its layers must give back the shape they take (x + f(x))")
    }
    return inputShape
  }

  /// a = x + f(x).
  public func forward(_ f: Tensor, _ step: Step) -> Tensor {
    let x = skip!.x
    let a = outputs.next(f.shape) { Kernels.zip(f, x, into: &$0, +) }
    if let t = step.tracer {
      t.record(name, .forward, "a", formula: "a = x + f(x): the block's input plus what its layers give", a) { i in
        Arithmetic(lhs: elementLabel("a", a.shape, i), template: "{0} + {1}", args: [x.data[i], f.data[i]], result: a.data[i])
      }
    }
    return a
  }

  /// ∂L/∂f = δ: what goes on into the block.
  public var inputGradientKey: String { "delta" }

  /// δ goes on into the block, and along the skip path to the block's start.
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    skip?.skipDelta = delta
    step.tracer?.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a, passed on into the block and along the skip path", delta)
    return delta
  }

  /// a = x + f(x), the skip layer's cell plus the block's; δ copied from the layer above.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    switch (phase, key) {
    case (.forward, "a"):
      guard let skip else { return nil }
      let (x, f) = (Tracer.name(skip.name, .forward, "a"), c.input)
      return SheetCells { i in .cell(x, i) + .cell(f, i) }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    default: return nil
    }
  }
}
