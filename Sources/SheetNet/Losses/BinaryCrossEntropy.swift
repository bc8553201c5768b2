import Foundation

/// Binary cross-entropy, L = −(1/(N·K)) Σ [t·log a + (1 − t)·log(1 − a)] with a = σ(z), fused.
///
/// When the network ends in `Sigmoid` the loss reads its logits z; otherwise the output is taken
/// as logits. Each term is computed as max(z, 0) − z·t + log(1 + e^−|z|), which never takes the
/// log of 0, and backpropagation starts at ∂L/∂z = (a − t)/(N·K).
public struct BinaryCrossEntropy: Loss {
  public static let kind = "binary_cross_entropy"
  public static let formula = "L = −(1/(N·K)) Σ [t·log a + (1 − t)·log(1 − a)],  a = σ(z)"
  /// The loss.
  public init() {}

  func logits(_ y: Tensor, _ last: (any Layer)?) -> Tensor { (last as? Sigmoid)?.z ?? y }

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    let z = logits(y, last)
    var total = 0.0
    for i in 0..<z.count {
      let zi = z.data[i]
      total += max(zi, 0) - zi * t.data[i] + log1p(exp(-abs(zi)))
    }
    return total / Double(max(z.count, 1))
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let z = logits(y, last)
    let scale = 1 / Double(max(z.count, 1))
    Kernels.zip(z, t, into: &delta) { (Sigmoid.sigma($0) - $1) * scale }
    return last is Sigmoid
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let z = logits(y, last), count = Double(z.count)
    tracer.record("loss", .loss, "t", formula: "t: the targets, 0 or 1", t)
    tracer.record("loss", .loss, "L", batched: false, formula: Self.formula, Tensor([value]))
    tracer.record("loss", .loss, skipsLast ? "dz" : "dy", symbol: "∂L/∂z", formula: "∂L/∂z = (σ(z) − t)/(N·K)  (sigmoid and cross-entropy together)", delta) { i in
      Arithmetic(lhs: elementLabel("∂L/∂z", delta.shape, i), template: "(σ({0}) − {1})/{2}", args: [z.data[i], t.data[i], count], result: delta.data[i])
    }
  }
}

// MARK: Worksheet

extension BinaryCrossEntropy {
  /// Each term MAX(z, 0) − z·t + LN(1 + EXP(−ABS(z))) in a block the shape of z, L = SUM(terms)/(N·K),
  /// and ∂L/∂z = (σ(z) − t)/(N·K) with σ in the engine's overflow-free form.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let z = c.lastKind == Sigmoid.kind ? c.lastInput : c.input
    let count = max(c.shape(z).reduce(1, *), 1)
    let (t, terms) = (Tracer.name("loss", .loss, "t"), Tracer.name("loss", .loss, "terms"))
    switch key {
    case "t": return .input
    case "L":
      let block = SheetHelper(name: terms, symbol: "ℓ", formula: "ℓ = max(z, 0) − z·t + log(1 + e^−|z|): each output's loss",
                              shape: c.shape(z), batched: true) { i in
        let (zi, ti) = (Formula.cell(z, i), Formula.cell(t, i))
        return .call("MAX", [zi, .number(0)]) - zi * ti + .call("LN", [.number(1) + .exp(.neg(.call("ABS", [zi])))])
      }
      return SheetCells(helpers: [block]) { _ in .call("SUM", [.range(terms, 0, count - 1)]) / .number(Double(count)) }
    case "dz", "dy": return SheetCells { i in (.sigmoid(.cell(z, i)) - .cell(t, i)) / .number(Double(count)) }
    default: return nil
    }
  }
}
