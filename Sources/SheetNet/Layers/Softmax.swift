import Foundation

/// Softmax over each sample's values: aₖ = e^(zₖ − m) / Σⱼ e^(zⱼ − m), m = maxⱼ zⱼ. For a
/// sequence ([T, K] per sample) it is taken over the last axis: one distribution per position.
///
/// Subtracting the row maximum m changes nothing mathematically and keeps every exponent ≤ 0.
/// Backward on its own: ∂L/∂zₖ = aₖ·(∂L/∂aₖ − Σⱼ aⱼ·∂L/∂aⱼ). Followed by the cross-entropy loss,
/// the two are fused and ∂L/∂z = (a − t)/N is taken straight from the loss (see `CrossEntropy`).
public final class Softmax: Layer {
  public static let kind = "softmax"
  public static let keys: [String] = []
  public var name = "softmax"
  public var options: [(key: String, value: Value)] { [] }
  /// The cached logits z and probabilities a of the last forward pass.
  public private(set) var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  /// Per sample of the last forward pass: m = maxₖ zₖ and s = Σₖ e^(zₖ − m) (the cross-entropy
  /// loss reads log Σₖ e^zₖ = m + log s from them instead of exponentiating again).
  public private(set) var maxima: [Double] = [], sums: [Double] = []
  private var outputs = TensorPair(), inputGradients = TensorPair()  // a and dz, in turns

  /// A softmax layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 1 || inputShape.count == 2 else {
      throw .shape("\(name) expects a vector of scores (or one per position, [T, K]) but receives \(shapeText(inputShape)); put a flatten and a dense layer before it")
    }
    return inputShape
  }

  /// Row-wise softmax of logits [N, K].
  public static func probabilities(_ z: Tensor) -> Tensor {
    var a = Tensor(overwrittenShape: z.shape), m: [Double] = [], s: [Double] = []
    Kernels.softmax(z, into: &a, maxima: &m, sums: &s)
    return a
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    z = x
    a = outputs.next(x.shape) { Kernels.softmax(x, into: &$0, maxima: &maxima, sums: &sums) }
    if let t = step.tracer {
      let (z, a, k) = (z, a, x.shape.last ?? 1)
      t.record(name, .forward, "a", formula: "aₖ = e^(zₖ − m) / Σⱼ e^(zⱼ − m), m = maxⱼ zⱼ", a) { i in
        let n = i / k
        let m = (0..<k).map { z.data[n * k + $0] }.max()!
        let denominator = (0..<k).map { "e^({\($0 + 2)} − {1})" }.joined(separator: " + ")
        return Arithmetic(lhs: elementLabel("a", a.shape, i), template: "e^({0} − {1}) / (\(denominator))",
                          args: [z.data[i], m] + (0..<k).map { z.data[n * k + $0] }, result: a.data[i])
      }
    }
    return a
  }

  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    var dz = Tensor(shape: delta.shape)
    let k = delta.shape.last ?? 1
    for n in 0..<(k == 0 ? 0 : delta.count / k) {  // one row per sample, or per position
      var dot = 0.0
      for j in 0..<k { dot += a.data[n * k + j] * delta.data[n * k + j] }
      for j in 0..<k { dz.data[n * k + j] = a.data[n * k + j] * (delta.data[n * k + j] - dot) }
    }
    step.tracer?.record(name, .backward, "dz", symbol: "∂L/∂z", formula: "∂L/∂zₖ = aₖ·(∂L/∂aₖ − Σⱼ aⱼ·∂L/∂aⱼ)", dz)
    return dz
  }
}

// MARK: Worksheet

extension Softmax {
  /// ∂L/∂z (used only when no cross-entropy loss takes the fused shortcut).
  public var inputGradientKey: String { "dz" }

  /// aₖ = EXP(zₖ − MAX(z)) / SUMPRODUCT(EXP(z − MAX(z))) over the sample's column;
  /// ∂L/∂zₖ = aₖ·(∂L/∂aₖ − SUMPRODUCT(a, ∂L/∂a)).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (z, a, delta) = (c.input, c.entry(.forward, "a"), c.delta)
    let k = c.shape(z).last ?? 1
    if c.shape(z).count == 3 { return perPosition(phase, key, z: z, a: a, delta: delta, shape: c.shape(z)) }
    switch (phase, key) {
    case (.forward, "a"):
      return SheetCells { i in Softmax.cell(logits: z, i, classes: k) }
    case (.backward, "dz"):
      return SheetCells { i in
        let s = i / k
        let dot = Formula.sumProduct(SheetLayout.column(a, sample: s, length: k), SheetLayout.column(delta, sample: s, length: k))
        return .cell(a, i) * (.cell(delta, i) - dot)
      }
    default: return nil
    }
  }

  /// For a sequence ([N, T, K]: a T × K grid per sample) each position's row of K scores:
  /// aₖ = EXP(zₖ − MAX(row)) / SUMPRODUCT(EXP(row − MAX(row))); ∂L/∂zₖ = aₖ·(∂L/∂aₖ − SUMPRODUCT(a row, ∂L/∂a row)).
  func perPosition(_ phase: Phase, _ key: String, z: String, a: String, delta: String, shape: [Int]) -> SheetCells? {
    let (t, k) = (shape[1], shape[2])
    func row(_ entry: String, _ i: Int) -> Formula {
      SheetLayout.window(entry, grid: i / (t * k), height: t, width: k, row: (i % (t * k)) / k, column: 0, rows: 1, columns: k)
    }
    switch (phase, key) {
    case (.forward, "a"):
      return SheetCells { i in
        let m = Formula.call("MAX", [row(z, i)])
        return .exp(.cell(z, i) - m) / .call("SUMPRODUCT", [.exp(row(z, i) - m)])
      }
    case (.backward, "dz"): return SheetCells { i in .cell(a, i) * (.cell(delta, i) - .sumProduct(row(a, i), row(delta, i))) }
    default: return nil
    }
  }

  /// Element i of softmax over the logits `z` ([N, K], one column per sample), max subtracted:
  /// EXP(zᵢ − MAX(column)) / SUMPRODUCT(EXP(column − MAX(column))).
  public static func cell(logits z: String, _ i: Int, classes k: Int) -> Formula {
    let column = SheetLayout.column(z, sample: i / k, length: k)
    let m = Formula.call("MAX", [column])
    return .exp(.cell(z, i) - m) / .call("SUMPRODUCT", [.exp(column - m)])
  }
}
