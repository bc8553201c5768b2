import Foundation

/// Softmax cross-entropy at every position of a sequence, averaged over the positions that
/// count: L = −(1/M) Σₙ Σₜ log aₙₜ[tₙₜ], with a = softmax(z) over each position's V scores, tₙₜ
/// the id of the token that should come next and M the number of positions with a target
/// (tₙₜ = −1 masks a position out: the reverse task scores only the answer half).
///
/// The targets are ids [N, T], not one-hot rows. Computed as log-sum-exp with the maximum
/// taken out, (1/M) Σ [m + log Σₖ e^(zₖ − m) − z[t]], and backpropagation starts at
/// ∂L/∂zₖ = (aₖ − [k = t])/M at a counted position, 0 at a masked one: the final softmax's
/// Jacobian is skipped, as with `CrossEntropy`.
public struct TokenCrossEntropy: Loss {
  public static let kind = "token_cross_entropy"
  public static let formula = "L = −(1/M) Σₙ Σₜ log aₙₜ[tₙₜ],  a = softmax(z) at each position, M = positions that count"
  /// The loss.
  public init() {}

  func logits(_ y: Tensor, _ last: (any Layer)?) -> Tensor { (last as? Softmax)?.z ?? y }

  /// The number of positions with a target (tₙₜ ≥ 0).
  static func counted(_ t: Tensor) -> Int { t.data.reduce(0) { $0 + ($1 >= 0 ? 1 : 0) } }

  /// The target id at position p, or nil when it is masked out (or not a valid id).
  static func target(_ t: Tensor, _ p: Int, classes v: Int) -> Int? {
    let id = t.data[p]
    return id >= 0 && id < Double(v) && id == id.rounded() ? Int(id) : nil
  }

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    let z = logits(y, last), v = z.shape.last ?? 1, positions = t.count
    let cached = (last as? Softmax).flatMap { $0.maxima.count == positions ? ($0.maxima, $0.sums) : nil }
    var total = 0.0, m = 0
    for p in 0..<positions {
      guard let c = Self.target(t, p, classes: v) else { continue }
      let (top, sum) = cached.map { ($0.0[p], $0.1[p]) } ?? maxAndSum(z, start: p * v, width: v)
      total += top + log(sum) - z.data[p * v + c]
      m += 1
    }
    return m == 0 ? 0 : total / Double(m)
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let z = logits(y, last), v = z.shape.last ?? 1
    let a = (last as? Softmax)?.a ?? Softmax.probabilities(z)
    let inverseM = 1 / Double(max(Self.counted(t), 1))
    for p in 0..<t.count {
      let c = Self.target(t, p, classes: v)
      for k in 0..<v { delta.data[p * v + k] = c == nil ? 0 : (a.data[p * v + k] - (k == c ? 1 : 0)) * inverseM }
    }
    return last is Softmax
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let a = (last as? Softmax)?.a ?? Softmax.probabilities(logits(y, last))
    let v = a.shape.last ?? 1, m = Double(max(Self.counted(t), 1))
    tracer.record("loss", .loss, "t", formula: "t: the next token's id at each position, −1 where the position does not count", t)
    tracer.record("loss", .loss, "L", batched: false, formula: Self.formula, Tensor([value])) { _ in
      let counted = (0..<t.count).compactMap { p in Self.target(t, p, classes: v).map { p * v + $0 } }
      let template = "−(1/{0})·(" + counted.indices.map { "log {\($0 + 1)}" }.joined(separator: " + ") + ")"
      return Arithmetic(lhs: "L", template: template, args: [m] + counted.map { a.data[$0] }, result: value)
    }
    tracer.record("loss", .loss, skipsLast ? "dz" : "dy", symbol: "∂L/∂z",
                  formula: "∂L/∂zₖ = (aₖ − [k = t])/M at a position that counts, 0 where t = −1", delta) { i in
      let (p, k) = (i / v, i % v)
      guard let c = Self.target(t, p, classes: v) else {
        return Arithmetic(lhs: elementLabel("∂L/∂z", delta.shape, i), template: "0 (masked)", args: [], result: delta.data[i])
      }
      return Arithmetic(lhs: elementLabel("∂L/∂z", delta.shape, i), template: "({0} − {1})/{2}", args: [a.data[i], k == c ? 1 : 0, m], result: delta.data[i])
    }
  }

  /// The targets t are editable ids ([N, T], a column per sample). Helpers: the one-hot rows
  /// [t = k] per position (a T × V grid per sample), whether each position counts (t ≥ 0) and
  /// M, their sum; per position ℓ = IF(t ≥ 0, MAX(z) + LN(SUMPRODUCT(EXP(z − MAX(z)))) −
  /// SUMPRODUCT(z, onehot), 0) over its row of logits; L = SUM(ℓ)/M; ∂L/∂zₖ = IF(t ≥ 0, (aₖ −
  /// onehotₖ)/M, 0) with a the softmax layer's output (or the softmax of the outputs).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let fused = c.lastKind == Softmax.kind
    let z = fused ? c.lastInput : c.input
    let shape = c.shape(z)
    guard shape.count == 3 else { return nil }
    let (n, positions, v) = (shape[0], shape[1], shape[2])
    let name = { (key: String) in Tracer.name("loss", .loss, key) }
    let (t, hot, counts, m, perPosition) = (name("t"), name("onehot"), name("counts"), name("M"), name("per_position"))
    func row(_ entry: String, _ p: Int) -> Formula {
      SheetLayout.window(entry, grid: p / positions, height: positions, width: v, row: p % positions, column: 0, rows: 1, columns: v)
    }
    let onehot = SheetHelper(name: hot, symbol: "onehot", formula: "onehotₖ = 1 where k is the target token, else 0",
                             shape: [n, positions, v], batched: true) { i in .when(.equal(.number(Double(i % v)), .cell(t, i / v)), .number(1), .number(0)) }
    let counted = SheetHelper(name: counts, symbol: "counts", formula: "1 where the position has a target (t ≥ 0), 0 where it is masked",
                              shape: [n, positions], batched: true) { p in .when(.greaterOrEqual(.cell(t, p), .number(0)), .number(1), .number(0)) }
    let total = SheetHelper(name: m, symbol: "M", formula: "M = the number of positions that count", shape: [1], batched: false) { _ in
      .call("SUM", [.range(counts, 0, n * positions - 1)])
    }
    switch key {
    case "t": return .input
    case "L":
      let terms = SheetHelper(name: perPosition, symbol: "ℓ", formula: "ℓ = m + log Σₖ e^(zₖ − m) − z[t] at a position that counts, 0 where masked",
                              shape: [n, positions], batched: true) { p in
        let top = Formula.call("MAX", [row(z, p)])
        let loss = top + .call("LN", [.call("SUMPRODUCT", [.exp(row(z, p) - top)])]) - .sumProduct(row(z, p), row(hot, p))
        return .when(.greaterOrEqual(.cell(t, p), .number(0)), loss, .number(0))
      }
      return SheetCells(helpers: [onehot, counted, total, terms]) { _ in .call("SUM", [.range(perPosition, 0, n * positions - 1)]) / .cell(m, 0) }
    case "dz", "dy":
      let a = c.input
      return SheetCells { i in
        let ai = fused ? Formula.cell(a, i) : .exp(.cell(z, i) - .call("MAX", [row(z, i / v)])) / .call("SUMPRODUCT", [.exp(row(z, i / v) - .call("MAX", [row(z, i / v)]))])
        return .when(.greaterOrEqual(.cell(t, i / v), .number(0)), (ai - .cell(hot, i)) / .cell(m, 0), .number(0))
      }
    default: return nil
    }
  }
}

/// How many positions of scores `y` ([N, T, V]) pick their target id (`t`, [N, T], −1 masked), how
/// many positions count, and how many whole sequences are right at every position that counts.
public func tokenScore(_ y: Tensor, _ t: Tensor) -> (right: Int, counted: Int, sequencesRight: Int) {
  let v = y.shape.last ?? 1, positions = t.count, perSample = t.rows == 0 ? 0 : positions / t.rows
  var right = 0, counted = 0, sequences = 0
  for n in 0..<t.rows {
    var all = true
    for p in n * perSample..<(n + 1) * perSample {
      guard let c = TokenCrossEntropy.target(t, p, classes: v) else { continue }
      var best = 0
      for k in 1..<max(v, 1) where y.data[p * v + k] > y.data[p * v + best] { best = k }
      counted += 1
      if best == c { right += 1 } else { all = false }
    }
    if all { sequences += 1 }
  }
  return (right, counted, sequences)
}
