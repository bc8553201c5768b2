/// Mean squared error, L = (1/(N·K)) Σₙ Σₖ (yₙₖ − tₙₖ)², with ∂L/∂y = 2·(y − t)/(N·K).
public struct MeanSquaredError: Loss {
  public static let kind = "mse"
  public static let formula = "L = (1/(N·K)) Σₙ Σₖ (yₙₖ − tₙₖ)²"
  /// The loss.
  public init() {}

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    var total = 0.0
    for i in 0..<y.count { let d = y.data[i] - t.data[i]; total += d * d }
    return total / Double(max(y.count, 1))
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let scale = 2 / Double(max(y.count, 1))
    Kernels.zip(y, t, into: &delta) { ($0 - $1) * scale }
    return false
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let count = Double(y.count)
    tracer.record("loss", .loss, "t", formula: "t: the targets", t)
    tracer.record("loss", .loss, "L", batched: false, formula: Self.formula, Tensor([value])) { _ in
      let template = "(" + (0..<y.count).map { "({\(2 * $0 + 1)} − {\(2 * $0 + 2)})²" }.joined(separator: " + ") + ")/{0}"
      return Arithmetic(lhs: "L", template: template, args: [count] + (0..<y.count).flatMap { [y.data[$0], t.data[$0]] }, result: value)
    }
    tracer.record("loss", .loss, "dy", symbol: "∂L/∂y", formula: "∂L/∂y = 2·(y − t)/(N·K)", delta) { i in
      Arithmetic(lhs: elementLabel("∂L/∂y", delta.shape, i), template: "({0} − {1})·2/{2}", args: [y.data[i], t.data[i], count], result: delta.data[i])
    }
  }
}

// MARK: Worksheet

extension MeanSquaredError {
  /// L = SUMPRODUCT((y − t)²)/(N·K) and ∂L/∂y = (y − t)·2/(N·K).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (y, t) = (c.input, Tracer.name("loss", .loss, "t")), count = max(c.shape(c.input).reduce(1, *), 1)
    switch key {
    case "t": return .input
    case "L":
      return SheetCells { _ in .call("SUMPRODUCT", [.pow(.range(y, 0, count - 1) - .range(t, 0, count - 1), .number(2))]) / .number(Double(count)) }
    case "dy": return SheetCells { i in (.cell(y, i) - .cell(t, i)) * .number(2) / .number(Double(count)) }
    default: return nil
    }
  }
}
