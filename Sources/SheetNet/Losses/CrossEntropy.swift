import Foundation

/// Softmax cross-entropy, L = −(1/N) Σₙ Σₖ tₙₖ·log aₙₖ with a = softmax(z), fused and stable.
///
/// When the network ends in `Softmax`, the loss reads that layer's logits z; otherwise the
/// network's output is taken as the logits. L is computed as (1/N) Σₙ [log Σₖ e^zₙₖ − Σₖ tₙₖ·zₙₖ]
/// (log-sum-exp with the row maximum taken out) and backpropagation starts at
/// ∂L/∂z = (a − t)/N, skipping the softmax's own Jacobian. Targets are one-hot rows (or rows
/// that sum to 1).
public struct CrossEntropy: Loss {
  public static let kind = "cross_entropy"
  public static let formula = "L = −(1/N) Σₙ Σₖ tₙₖ·log aₙₖ,  a = softmax(z)"
  /// The loss.
  public init() {}

  func logits(_ y: Tensor, _ last: (any Layer)?) -> Tensor { (last as? Softmax)?.z ?? y }

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    let z = logits(y, last), k = z.columns
    // After a softmax layer its forward pass has m and Σ e^(z − m) per row already (the same
    // numbers this loop would compute, in the same order).
    let cached = (last as? Softmax).flatMap { $0.maxima.count == z.rows ? ($0.maxima, $0.sums) : nil }
    var total = 0.0
    for n in 0..<z.rows {
      let (m, sum) = cached.map { ($0.0[n], $0.1[n]) } ?? maxAndSum(z, start: n * k, width: k)
      var tz = 0.0, tsum = 0.0
      for j in 0..<k {
        tz += t.data[n * k + j] * z.data[n * k + j]
        tsum += t.data[n * k + j]
      }
      total += tsum * (m + log(sum)) - tz
    }
    return total / Double(z.rows)
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let z = logits(y, last)
    let a = (last as? Softmax)?.a ?? Softmax.probabilities(z)
    let inverseN = 1 / Double(z.rows)
    Kernels.zip(a, t, into: &delta) { ($0 - $1) * inverseN }
    return last is Softmax
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let a = (last as? Softmax)?.a ?? Softmax.probabilities(logits(y, last))
    let n = Double(a.rows)
    tracer.record("loss", .loss, "t", formula: "t: the targets, one-hot", t)
    tracer.record("loss", .loss, "L", batched: false, formula: Self.formula, Tensor([value])) { _ in
      let hot = (0..<t.count).filter { t.data[$0] != 0 }
      let template = "−(1/{0})·(" + hot.enumerated().map { "{\(2 * $0.offset + 1)}·log {\(2 * $0.offset + 2)}" }.joined(separator: " + ") + ")"
      return Arithmetic(lhs: "L", template: template, args: [n] + hot.flatMap { [t.data[$0], a.data[$0]] }, result: value)
    }
    let name = skipsLast ? "dz" : "dy"
    tracer.record("loss", .loss, name, symbol: "∂L/∂z", formula: "∂L/∂zₖ = (aₖ − tₖ)/N  (softmax and cross-entropy together)", delta) { i in
      Arithmetic(lhs: elementLabel("∂L/∂z", delta.shape, i), template: "({0} − {1})/{2}", args: [a.data[i], t.data[i], n], result: delta.data[i])
    }
  }
}

// MARK: Worksheet

extension CrossEntropy {
  /// Per sample ℓₙ = SUM(t)·(MAX(z) + LN(SUMPRODUCT(EXP(z − MAX(z))))) − SUMPRODUCT(t, z) over its
  /// column of logits (log-sum-exp, never the log of 0), L = SUM(ℓ)/N, and
  /// ∂L/∂z = (a − t)/N with a the softmax layer's output (or the softmax of the outputs).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let fused = c.lastKind == Softmax.kind
    let z = fused ? c.lastInput : c.input, k = c.shape(z).last ?? 1, n = c.batch
    let (t, perSample) = (Tracer.name("loss", .loss, "t"), Tracer.name("loss", .loss, "per_sample"))
    switch key {
    case "t": return .input
    case "L":
      let terms = SheetHelper(name: perSample, symbol: "ℓ", formula: "ℓₙ = Σₖ tₙₖ·(m + log Σⱼ e^(zₙⱼ − m)) − Σₖ tₙₖ·zₙₖ, m = maxⱼ zₙⱼ: each sample's loss",
                              shape: [n, 1], batched: true) { s in
        let (zs, ts) = (SheetLayout.column(z, sample: s, length: k), SheetLayout.column(t, sample: s, length: k))
        let m = Formula.call("MAX", [zs])
        return .call("SUM", [ts]) * (m + .call("LN", [.call("SUMPRODUCT", [.exp(zs - m)])])) - .sumProduct(ts, zs)
      }
      return SheetCells(helpers: [terms]) { _ in .call("SUM", [.range(perSample, 0, n - 1)]) / .number(Double(n)) }
    case "dz", "dy":
      let a = fused ? c.input : ""
      return SheetCells { i in
        let ai = fused ? Formula.cell(a, i) : Softmax.cell(logits: z, i, classes: k)
        return (ai - .cell(t, i)) / .number(Double(n))
      }
    default: return nil
    }
  }
}
