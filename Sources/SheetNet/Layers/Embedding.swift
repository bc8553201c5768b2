/// A table of token vectors: a[n, t, :] = E[x[n, t], :], the row of E of the token at position t.
///
/// E has shape [V, d]: row v is the d numbers that stand for token v (V = `vocabulary`,
/// d = `size`). A sample is a sequence of T token ids 0 … V − 1 stored as numbers, so the input
/// is [N, T] and the output [N, T, d]. Forward is a lookup, not arithmetic (no multiply-adds):
/// the same as multiplying a one-hot row by E, without the zeros.
///
/// Backward is a scatter-add, the one thing this layer teaches: each position hands its δ row
/// back to the row of E it read, so with δ = ∂L/∂a
///
///     dE[v, :] = Σ_{(n, t) : x[n, t] = v} δ[n, t, :]
///
/// summed in index order (n, then t). A token used twice gets both rows added; a token absent
/// from the batch gets 0. The ids themselves have no gradient (a token id cannot be nudged by
/// h): ∂L/∂x is returned as zeros of x's shape, and nothing reads it (an embedding comes first).
///
/// Ids outside 0 … V − 1 never reach a lesson's network: the data loader refuses them with a line
/// naming the sample. The layer itself cannot throw during a pass, so it stays safe on any input
/// instead: an id that is not a whole number in 0 … V − 1 (negative, too large, fractional, NaN)
/// reads a row of zeros and adds nothing to dE.
public final class Embedding: Layer {
  public static let kind = "embedding"
  public static let keys = ["size", "vocabulary"]

  /// d, the length of each token's vector.
  public let size: Int
  /// V, the number of tokens (ids 0 … V − 1). A lesson may leave it out: the lesson runner sets
  /// it from the data before `build`, which refuses a layer whose vocabulary is still unknown.
  public var vocabulary: Int?
  public var name = "embedding"
  /// E, shape [V, d]: row v is token v's vector; set by `build`.
  public private(set) var E: Parameter!

  /// The row of E each position read in the last forward pass (−1: an id outside the table).
  public private(set) var rows: [Int] = []
  private var inputShape = [0]  // [N, T] of the last forward pass
  private var sampleShape = [0, 0]  // [T, d], one sample's output; set by `build`
  private var outputs = TensorPair(), inputGradients = TensorPair()  // a and dx, in turns

  /// An embedding of `vocabulary` tokens as vectors of `size` numbers.
  public init(size: Int, vocabulary: Int? = nil) {
    self.size = size
    self.vocabulary = vocabulary
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let vocabulary: Int? = o.raw("vocabulary") == nil ? nil : try o.int("vocabulary")
    self.init(size: try o.int("size"), vocabulary: vocabulary)
  }

  /// `size`, and `vocabulary` once known (a model file always holds it: it is saved after build).
  public var options: [(key: String, value: Value)] {
    [("size", .number(Double(size)))] + (vocabulary.map { [("vocabulary", .number(Double($0)))] } ?? [])
  }

  /// E alone; set by `build`.
  public private(set) var parameters: [Parameter] = []

  /// The initial E: each number uniform in [−√3, √3), that is mean 0 and variance 1, the
  /// variance of PyTorch's nn.Embedding (N(0, 1)). Uniform rather than normal because a uniform
  /// draw needs only √, so every platform draws the same bits (see `Initializer`); variance 1
  /// is what the Glorot or He initialised layer after it assumes of its inputs.
  public static func initialValues(count: Int, rng: inout SeededGenerator) -> [Double] {
    let r = 3.0.squareRoot()
    return (0..<count).map { _ in rng.uniform(-r, r) }
  }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard let vocabulary else {
      throw .shape("\(name) needs 'vocabulary', the number of tokens (ids 0 … V − 1); give it in the layer or use token data that states it")
    }
    guard inputShape.count == 1 else {
      throw .shape("\(name) expects one sequence of token ids per sample (shape T) but receives \(shapeText(inputShape))")
    }
    try Limits.checkParameters(Limits.product([vocabulary, size]), name, "numbers in E (\(vocabulary) tokens × \(size))")
    E = Parameter(name: "E", value: Tensor(shape: [vocabulary, size], data: Embedding.initialValues(count: vocabulary * size, rng: &rng)))
    parameters = [E]
    sampleShape = [inputShape[0], size]
    return sampleShape
  }

  /// The row of E for an id, or −1 when the id is not a whole number in 0 … V − 1.
  private func row(_ id: Double) -> Int {
    let v = E.value.rows
    return id >= 0 && id < Double(v) && id == id.rounded(.down) ? Int(id) : -1
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    // x: [N, T] token ids
    inputShape = x.shape
    rows.removeAll(keepingCapacity: true)
    for id in x.data { rows.append(row(id)) }
    let (d, e, rows) = (size, E.value, rows)
    let a = outputs.next(rows: x.rows, sampleShape) { a in  // [N, T, d]
      for (p, v) in rows.enumerated() {
        for j in 0..<d { a.data[p * d + j] = v >= 0 ? e.data[v * d + j] : 0 }  // a[n, t, :] = E[x[n, t], :]
      }
    }
    if let t = step.tracer { traceForward(t, x, a) }
    return a
  }

  /// Fills dE by the scatter-add; returns zeros of x's shape (ids have no gradient) unless `step`
  /// says nobody needs them (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    // delta: [N, T, d] = ∂L/∂a
    let d = size
    E.grad.withElements { dE in  // [V, d]
      for k in dE.indices { dE[k] = 0 }
      for (p, v) in rows.enumerated() where v >= 0 {
        for j in 0..<d { dE[v * d + j] += delta.data[p * d + j] }  // dE[x[n,t], :] += δ[n, t, :], p = n·T + t in order
      }
    }
    if let t = step.tracer { traceBackward(t, delta) }
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    return inputGradients.next(inputShape, zeroed: true) { _ in }  // ∂L/∂x = 0: ids are not variables
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ a: Tensor) {
    let (e, d, rows, ids) = (E.value, size, rows, x)
    t.record(name, .forward, "E", batched: false, formula: "E: \(e.rows)×\(d), one row per token id 0 … \(e.rows - 1)", e)
    t.record(name, .forward, "a", formula: "a[n,t,:] = E[x[n,t], :], the row of the token at t", a) { i in
      let (p, j) = (i / d, i % d)
      let lhs = elementLabel("a", a.shape, i)
      guard rows[p] >= 0 else {
        return Arithmetic(lhs: lhs, template: "0  (id {0} is not a token 0 … \(e.rows - 1))", args: [ids.data[p]], result: a.data[i])
      }
      return Arithmetic(lhs: lhs, template: "E[token {0}]\(subscripted(j + 1))", args: [ids.data[p]], result: a.data[i])
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor) {
    let (dE, d, rows) = (E.grad, size, rows)
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
    t.record(name, .backward, "dE", batched: false, formula: "∂L/∂E[v,:] = Σ δ[n,t,:] over the positions holding token v (a scatter-add)", dE) { i in
      let (v, j) = (i / d, i % d)
      let args = rows.indices.filter { rows[$0] == v }.map { delta.data[$0 * d + j] }  // positions in order n, then t
      let template = args.isEmpty ? "0  (token \(v) is not in the batch)" : args.indices.map { "{\($0)}" }.joined(separator: " + ")
      return Arithmetic(lhs: "∂L/∂E[token \(v)]\(subscripted(j + 1))", template: template, args: args, result: dE.data[i])
    }
  }
}

// MARK: Worksheet

extension Embedding {
  /// The lookup as a one-hot row times E: a helper column lists the token ids 0 … V − 1, and
  /// a[n,t,j] = SUMPRODUCT((ids = x[n,t])·E column j), which picks row x[n,t] of E (and gives 0
  /// for an id that is no token, as the engine does). The scatter-add: dE[v,j] =
  /// Σₙ SUMPRODUCT((x column n = v)·δ column j of sample n's grid), the δ of the positions holding
  /// token v. E is editable; δ is copied from the layer above.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (V, d, n, x) = (E.value.rows, size, c.batch, c.input)
    let T = sampleShape[0]
    let (e, ids, delta) = (c.entry(.forward, "E"), c.entry(.forward, "ids"), c.entry(.backward, "delta"))
    let tokens = Formula.range(ids, 0, V - 1)
    switch (phase, key) {
    case (.forward, "E"): return .input
    case (.forward, "a"):
      let helper = SheetHelper(name: ids, symbol: "ids", formula: "the token ids 0 … \(V - 1), one per row of E", shape: [V], batched: false) { v in
        .number(Double(v))
      }
      return SheetCells(helpers: [helper]) { i in
        let (p, j) = (i / d, i % d)  // position p = n·T + t, column j
        return .call("SUMPRODUCT", [.equal(tokens, .cell(x, p)) * .range(e, j, (V - 1) * d + j)])
      }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dE"):
      return SheetCells { i in
        let (v, j) = (i / d, i % d)
        return .sum((0..<n).map { s in
          .call("SUMPRODUCT", [.equal(SheetLayout.column(x, sample: s, length: T), .number(Double(v)))
                                 * .range(delta, s * T * d + j, (s * T + T - 1) * d + j)])
        })
      }
    default: return nil
    }
  }
}

extension Embedding: TokenInput {}
