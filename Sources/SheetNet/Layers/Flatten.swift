/// Lays each sample out as one vector: a[n, (c·H + y)·W + x] = x[n, c, y, x], row-major.
///
/// No arithmetic: forward and backward only change the shape ([N, C, H, W] ↔ [N, C·H·W]), so a
/// dense layer can follow a convolution. Element order is the tensor's own row-major order:
/// channel first, then row, then column (PyTorch's `flatten`; Keras, being channels-last, orders
/// the same numbers differently).
public final class Flatten: Layer {
  public static let kind = "flatten"
  public static let keys: [String] = []
  public var name = "flatten"
  public var options: [(key: String, value: Value)] { [] }

  private var inputShape = [0]  // [N, C, H, W] (any rank) of the last forward pass
  private var outputShape = [0, 0]  // [N, C·H·W] of the last forward pass (kept: no new array a step)

  /// A flatten layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard !inputShape.isEmpty else { throw .shape("\(name) needs an input with at least one axis") }
    return [inputShape.reduce(1, *)]
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    inputShape = x.shape
    if outputShape[0] != x.rows || outputShape[1] != x.columns { outputShape = [x.rows, x.columns] }
    let a = x.reshaped(outputShape)  // [N, C·H·W]
    if let t = step.tracer {
      let shape = shapeText(Array(x.shape.dropFirst()))
      t.record(name, .forward, "a", formula: "a: each \(shape) sample as one row, index (c·H + y)·W + x", a) { i in
        Arithmetic(lhs: elementLabel("a", a.shape, i), template: "{0}", args: [x.data[i]], result: a.data[i])
      }
    }
    return a
  }

  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let dx = delta.reshaped(inputShape)  // [N, C, H, W]
    if let t = step.tracer {
      t.record(name, .backward, "dx", formula: "∂L/∂x: δ laid back out as \(shapeText(Array(inputShape.dropFirst()))) per sample", dx)
    }
    return dx
  }
}

// MARK: Worksheet

extension Flatten {
  /// Each cell of a refers to the same element of x (flatten keeps row-major order), and each
  /// cell of ∂L/∂x to the same element of δ.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    switch (phase, key) {
    case (.forward, "a"): return SheetCells { [x = c.input] i in .cell(x, i) }
    case (.backward, "dx"): return SheetCells { [delta = c.delta] i in .cell(delta, i) }
    default: return nil
    }
  }
}
