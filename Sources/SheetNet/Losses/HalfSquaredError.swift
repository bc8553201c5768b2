/// Half the summed squared error per sample, averaged over the batch:
/// L = (1/N) Σₙ Σₖ ½·(tₙₖ − yₙₖ)², with ∂L/∂y = (y − t)/N.
///
/// Matt Mazur's E_total = Σ ½·(target − out)² for a batch of one.
public struct HalfSquaredError: Loss {
  public static let kind = "half_sse"
  public static let formula = "E = (1/N) Σₙ Σₖ ½·(tₙₖ − yₙₖ)²"
  /// The loss.
  public init() {}

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    var total = 0.0
    for i in 0..<y.count { let d = t.data[i] - y.data[i]; total += 0.5 * d * d }
    return total / Double(max(y.rows, 1))
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let inverseN = 1 / Double(max(y.rows, 1))
    Kernels.zip(y, t, into: &delta) { -($1 - $0) * inverseN }
    return false
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let n = Double(y.rows)
    tracer.record("loss", .loss, "t", formula: "t: the targets", t)
    tracer.record("loss", .loss, "L", batched: false, symbol: "E", formula: Self.formula, Tensor([value])) { _ in
      let template = (0..<y.count).map { "½·({\(2 * $0)} − {\(2 * $0 + 1)})²" }.joined(separator: " + ")
      return Arithmetic(lhs: "E", template: n == 1 ? template : "(" + template + ")/\(Int(n))",
                        args: (0..<y.count).flatMap { [t.data[$0], y.data[$0]] }, result: value)
    }
    tracer.record("loss", .loss, "dy", symbol: "∂E/∂y", formula: "∂E/∂yₖ = −(tₖ − yₖ)/N", delta) { i in
      Arithmetic(lhs: elementLabel("∂E/∂y", delta.shape, i), template: n == 1 ? "−({0} − {1})" : "−({0} − {1})/{2}",
                 args: [t.data[i], y.data[i], n], result: delta.data[i])
    }
  }
}

// MARK: Worksheet

extension HalfSquaredError {
  /// E = SUMPRODUCT((t − y)²)/2/N and ∂E/∂y = −(t − y)/N.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (y, t) = (c.input, Tracer.name("loss", .loss, "t")), count = max(c.shape(c.input).reduce(1, *), 1)
    let n = Formula.number(Double(max(c.batch, 1)))
    switch key {
    case "t": return .input
    case "L":
      return SheetCells { _ in .call("SUMPRODUCT", [.pow(.range(t, 0, count - 1) - .range(y, 0, count - 1), .number(2))]) / .number(2) / n }
    case "dy": return SheetCells { i in -(.cell(t, i) - .cell(y, i)) / n }
    default: return nil
    }
  }
}
