import Foundation

/// Where each token stands: a = x + P, one vector P[t, :] added to every sample's position t.
///
/// The input is one vector per position, [T, d] per sample (an embedding's output); P has the
/// same [T, d] shape and is added to each sample of the batch alike. Without it, a layer that
/// mixes positions (attention) could not tell "dog bites man" from "man bites dog".
///
/// - `learned` (default, as GPT-2): P is a parameter trained like any weight. Backward, with
///   δ = ∂L/∂a: dP = Σₙ δ[n] (every sample used the same P; summed n = 0, 1, … in order) and
///   dx = δ (x is added, so its gradient passes through unchanged).
/// - `sinusoidal` (Vaswani et al. 2017, "Attention is all you need"): a fixed table,
///   P[t, 2i] = sin(t / 10000^(2i/d)), P[t, 2i+1] = cos(t / 10000^(2i/d)), t = 0, 1, …, T − 1:
///   each pair of columns a clock of its own speed, fast in the first columns, slow in the last.
///   Nothing is learned: P is not a parameter (it follows from T and d, so a model file stores
///   only the kind) and backward gives dx = δ alone.
public final class Positional: Layer {
  public static let kind = "positional"
  public static let keys = ["kind"]

  /// How P is made.
  public enum Encoding: String, Sendable, CaseIterable {
    /// P trained, starting small.
    case learned
    /// P from sines and cosines, fixed.
    case sinusoidal
  }

  /// Learned or sinusoidal (the lesson's `kind`).
  public let encoding: Encoding
  public var name = "positional"
  /// P, shape [T, d]: a trainable parameter (learned) or the fixed sinusoidal table; set by `build`.
  public private(set) var P: Parameter!

  private var outputs = TensorPair()  // a, in turns

  /// A positional layer.
  public init(_ encoding: Encoding = .learned) { self.encoding = encoding }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let kind = try o.choice("kind", Encoding.allCases.map(\.rawValue), default: Encoding.learned.rawValue)
    self.init(Encoding(rawValue: kind)!)
  }

  public var options: [(key: String, value: Value)] { [("kind", .string(encoding.rawValue))] }

  /// P when learned; none when sinusoidal (a fixed table, not a weight).
  public var parameters: [Parameter] { encoding == .learned && P != nil ? [P] : [] }

  /// The sinusoidal table [T, d]: P[t, 2i] = sin(t / 10000^(2i/d)), P[t, 2i+1] = cos(t / 10000^(2i/d)).
  public static func sinusoid(positions T: Int, size d: Int) -> Tensor {
    var p = Tensor(shape: [T, d])
    for t in 0..<T {
      for j in 0..<d {
        let angle = Double(t) / pow(10000, Double(j - j % 2) / Double(d))  // 2i = j rounded down to even
        p.data[t * d + j] = j % 2 == 0 ? sin(angle) : cos(angle)
      }
    }
    return p
  }

  /// The initial learned P: uniform in [−0.02·√3, 0.02·√3), standard deviation 0.02 as GPT-2's
  /// N(0, 0.02²) (uniform so that every platform draws the same bits, see `Initializer`): small
  /// beside the embedding's unit-variance vectors, so training decides how much position matters.
  public static func initialValues(count: Int, rng: inout SeededGenerator) -> [Double] {
    let r = 0.02 * 3.0.squareRoot()
    return (0..<count).map { _ in rng.uniform(-r, r) }
  }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 2 else {
      throw .shape("\(name) expects one vector per position (T×d) but receives \(shapeText(inputShape)); put an embedding before it")
    }
    let (T, d) = (inputShape[0], inputShape[1])
    switch encoding {
    case .learned:
      try Limits.checkParameters(Limits.product([T, d]), name, "numbers in P (\(T) positions × \(d))")
      P = Parameter(name: "P", value: Tensor(shape: [T, d], data: Positional.initialValues(count: T * d, rng: &rng)))
    case .sinusoidal:
      P = Parameter(name: "P", value: Positional.sinusoid(positions: T, size: d), trainable: false)
    }
    return inputShape
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    // x: [N, T, d]; P: [T, d]
    let p = P.value
    let a = outputs.next(x.shape) { a in
      for sample in 0..<x.rows {
        let first = sample * p.count  // a[n, t, j] = x[n, t, j] + P[t, j]
        for k in 0..<p.count { a.data[first + k] = x.data[first + k] + p.data[k] }
      }
    }
    if let t = step.tracer { traceForward(t, x, a) }
    return a
  }

  /// Fills dP (learned); returns dx = δ.
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    // delta: [N, T, d] = ∂L/∂a
    if encoding == .learned { Kernels.sumRows(delta, into: &P.grad) }  // dP = Σₙ δ[n], [T, d], n in order
    if let t = step.tracer { traceBackward(t, delta) }
    return delta  // dx = δ
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ a: Tensor) {
    let p = P.value
    let d = p.shape[1]
    if encoding == .learned {
      t.record(name, .forward, "P", batched: false, formula: "P: one learned vector per position, \(shapeText(p.shape))", p)
    } else {
      t.record(name, .forward, "P", batched: false, formula: "P[t,2i] = sin(t / 10000^(2i/d)), P[t,2i+1] = cos(t / 10000^(2i/d)), t from 0", p) { k in
        let (pos, j) = (k / d, k % d)
        let template = (j % 2 == 0 ? "sin" : "cos") + "({0} / 10000^({1}/{2}))"
        return Arithmetic(lhs: elementLabel("P", p.shape, k, batch: false), template: template,
                          args: [Double(pos), Double(j - j % 2), Double(d)], result: p.data[k])
      }
    }
    t.record(name, .forward, "a", formula: "a[n,t,:] = x[n,t,:] + P[t,:]", a) { k in
      Arithmetic(lhs: elementLabel("a", a.shape, k), template: "{0} + {1}", args: [x.data[k], p.data[k % p.count]], result: a.data[k])
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor) {
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
    if encoding == .learned {
      let dP = P.grad
      let (n, count) = (delta.rows, dP.count)
      t.record(name, .backward, "dP", batched: false, formula: "∂L/∂P[t,:] = Σₙ δ[n,t,:]", dP) { k in
        Arithmetic(lhs: elementLabel("∂L/∂P", dP.shape, k, batch: false), template: (0..<n).map { "{\($0)}" }.joined(separator: " + "),
                   args: (0..<n).map { delta.data[$0 * count + k] }, result: dP.data[k])
      }
    }
    t.record(name, .backward, "dx", formula: "∂L/∂x = δ (P is added, so the gradient passes through)", delta) { k in
      Arithmetic(lhs: elementLabel("∂L/∂x", delta.shape, k), template: "{0}", args: [delta.data[k]], result: delta.data[k])
    }
  }
}

// MARK: Worksheet

extension Positional {
  /// P is editable (a weight, or the fixed table); a = x + P cell by cell; δ copied from the
  /// layer above; dP = the sum of δ over the samples; dx refers to δ.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (x, p, delta, upstream) = (c.input, c.entry(.forward, "P"), c.entry(.backward, "delta"), c.delta)
    let (count, n) = (P.value.count, c.batch)
    switch (phase, key) {
    case (.forward, "P"): return .input
    case (.forward, "a"): return SheetCells { k in .cell(x, k) + .cell(p, k % count) }
    case (.backward, "delta"): return SheetCells { k in .cell(upstream, k) }
    case (.backward, "dP"): return SheetCells { k in .sum((0..<n).map { .cell(delta, $0 * count + k) }) }
    case (.backward, "dx"): return SheetCells { k in .cell(delta, k) }
    default: return nil
    }
  }
}
