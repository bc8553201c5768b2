/// A fully connected layer: z = x·Wᵀ + b, that is zⱼ = Σᵢ Wⱼᵢ·xᵢ + bⱼ for each sample.
///
/// W has shape [units, inputs] as a textbook writes it (row j holds the weights into neuron j);
/// the batch is the first axis of x and z. Backward, with δ = ∂L/∂z:
/// dW = δᵀ·x, db = Σₙ δₙ, dx = δ·W. Sums run in index order (`Reference.matrixProduct`; the fast
/// tier sums the same way below 64³ multiply-adds, see `ComputePolicy`).
///
/// On a sequence (one vector per position, [T, inputs] per sample) the layer acts on the last
/// axis, the same W and b at every position: z[n,t,:] = x[n,t,:]·Wᵀ + b, [T, units] per sample.
/// The batch is then read as N·T rows of `inputs` numbers (row n·T + t), so every formula above
/// holds with the rows in place of the samples: dW = Σₙ Σₜ δ[n,t,:]ᵀ·x[n,t,:], db = Σₙ Σₜ δ[n,t,:].
public final class Dense: Layer {
  public static let kind = "dense"
  public static let keys = ["units", "init", "weights", "bias", "use_bias", "labels"]

  /// Width of the layer (number of neurons).
  public let units: Int
  /// How W is drawn when the lesson gives no weights.
  public let initializer: Initializer
  /// Whether the layer adds b.
  public let useBias: Bool
  public var name = "dense"
  /// The lesson's own names for the elements of W (row by row) and of b, by parameter: Mazur's
  /// `labels: {W: [[w1, w2], [w3, w4]], b: [b1, b1]}`. Shown beside the indices in a workbook;
  /// empty when the lesson gives none. Checked against W's and b's shapes by `build`.
  public private(set) var labels: [String: [String]] = [:]
  private var labelRows: [String: Int] = [:]  // rows of the nested list given for W
  private var labelContext = ""  // where the layer is written, for build's errors
  /// W, shape [units, inputs].
  public private(set) var W: Parameter!
  /// b, shape [units].
  public private(set) var b: Parameter!

  private var givenW: (Tensor?, Bool)
  private var givenB: (Tensor?, Bool)
  private var x = Tensor(shape: [0])  // cached input, [N, inputs] or [N, T, inputs]
  private var positions = 1  // T: vectors per sample (1 for a flat input)
  private var isSequence = false  // whether one sample is [T, inputs] rather than [inputs]
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass
  private var outputs = TensorPair(), inputGradients = TensorPair()  // z and dx, reused in turns
  private lazy var sampleShape = [units]  // one sample's output: [units] or [T, units]

  /// A dense layer of `units` neurons.
  public init(_ units: Int, initializer: Initializer = .glorot, useBias: Bool = true,
              weights: Tensor? = nil, bias: Tensor? = nil, trainableWeights: Bool = true, trainableBias: Bool = true) {
    self.units = units
    self.initializer = initializer
    self.useBias = useBias
    self.givenW = (weights, trainableWeights)
    self.givenB = (bias, trainableBias)
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let units = try o.int("units")
    let initName = try o.choice("init", Initializer.allCases.map(\.rawValue), default: "glorot")
    let (w, wt) = try Dense.parameterOption(o, "weights")
    let (b, bt) = try Dense.parameterOption(o, "bias")
    self.init(units, initializer: Initializer(rawValue: initName)!, useBias: try o.bool("use_bias", default: true),
              weights: w, bias: b, trainableWeights: wt, trainableBias: bt)
    (labels, labelRows) = try Dense.labelsOption(o)
    labelContext = o.context
  }

  /// `labels: {W: [[w1, w2], [w3, w4]], b: [b1, b2]}`: names of up to 24 characters, W's as a
  /// list of rows (one per unit) and b's as a list; the counts are checked when the layer is built.
  static func labelsOption(_ o: LayerOptions) throws(SheetNetError) -> (names: [String: [String]], rows: [String: Int]) {
    guard let v = o.raw("labels") else { return ([:], [:]) }
    let example = "e.g. labels: {W: [[w1, w2], [w3, w4]], b: [b1, b2]}"
    guard case .map(let pairs) = v else { throw .lesson("\(o.context): 'labels' must map a parameter (W, b) to its names, \(example)") }
    var names: [String: [String]] = [:], rows: [String: Int] = [:]
    for (key, value) in pairs {
      guard ["W", "b"].contains(key) else {
        throw .lesson("\(o.context): unknown parameter '\(key)' under 'labels'\(didYouMean(key, in: ["W", "b"])); a dense layer names W and b, \(example)")
      }
      func name(_ item: Value) throws(SheetNetError) -> String {
        let text: String
        switch item {
        case .string(let s): text = s
        case .number(let x): text = x == x.rounded() && abs(x) < 1e15 ? String(Int(x)) : Value.jsonNumber(x)
        default: throw .lesson("\(o.context): labels.\(key) holds something that is not a name; \(example)")
        }
        guard !text.isEmpty, text.count <= 24, !text.contains(where: { $0.isNewline }) else {
          throw .lesson("\(o.context): labels.\(key): '\(text.prefix(30))' is not a name of 1 to 24 characters on one line")
        }
        return text
      }
      guard case .list(let items) = value, !items.isEmpty else { throw .lesson("\(o.context): labels.\(key) must be a list of names; \(example)") }
      var flat: [String] = []
      if key == "W", items.allSatisfy({ if case .list = $0 { return true }; return false }) {
        var width: Int? = nil
        for item in items {
          guard case .list(let row) = item else { continue }
          if let width, row.count != width {
            throw .lesson("\(o.context): labels.W has rows of \(width) and \(row.count) names; give one row per unit, one name per input")
          }
          width = row.count
          for n in row { flat.append(try name(n)) }
        }
        rows[key] = items.count
      } else {
        for n in items { flat.append(try name(n)) }
      }
      names[key] = flat
    }
    return (names, rows)
  }

  /// `weights: [[…]]` or `weights: {values: [[…]], trainable: false}`.
  static func parameterOption(_ o: LayerOptions, _ key: String) throws(SheetNetError) -> (Tensor?, Bool) {
    guard let v = o.raw(key) else { return (nil, true) }
    if case .map(let pairs) = v {
      for p in pairs where !["values", "trainable"].contains(p.key) {
        throw .lesson("\(o.context): unknown key '\(p.key)' under '\(key)'\(didYouMean(p.key, in: ["values", "trainable"])); use 'values' and 'trainable'")
      }
      let inner = LayerOptions(kind: o.kind, index: o.index, values: pairs, location: o.location)
      return (try inner.numbers("values"), try inner.bool("trainable", default: true))
    }
    return (try o.numbers(key), true)
  }

  /// b of `count` numbers: zeros, the lesson's one number repeated, or its `count` numbers.
  static func bias(_ given: Tensor?, count: Int, _ layer: String, _ what: String) throws(SheetNetError) -> Tensor {
    guard let given else { return Tensor(shape: [count]) }
    if given.count == 1 { return Tensor(shape: [count], repeating: given.data[0]) }
    guard given.count == count else {
      throw .shape("\(layer) has \(count) \(what), so its bias needs \(count) numbers (or one), but the lesson gives \(given.count)")
    }
    return given.reshaped([count])
  }

  public var options: [(key: String, value: Value)] {
    [("units", .number(Double(units))), ("init", .string(initializer.rawValue)), ("use_bias", .bool(useBias))]
  }

  /// W, then b when used; set by `build`.
  public private(set) var parameters: [Parameter] = []
  public var multiplyAdds: Int { positions * W.value.count }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 1 || inputShape.count == 2 else {
      throw .shape("\(name) expects a flat vector (or one vector per position, T×inputs) but receives \(shapeText(inputShape)); put a flatten layer before it")
    }
    let inputs = inputShape[inputShape.count - 1]
    isSequence = inputShape.count == 2
    positions = isSequence ? inputShape[0] : 1
    try Limits.checkParameters(Limits.product([units, inputs]), name, "weights (\(units) units × \(inputs) inputs)")
    if let w = givenW.0 {
      let want = [units, inputs]
      let fits = w.shape == want || (w.count == units * inputs && units == 1)
      guard fits else {
        throw .shape("\(name) has \(units) units and \(inputs) inputs, so its weights must be \(units)×\(inputs) (one row per unit), but the lesson gives \(shapeText(w.shape))")
      }
      W = Parameter(name: "W", value: w.reshaped(want), trainable: givenW.1)
    } else {
      W = Parameter(name: "W", value: Tensor(shape: [units, inputs], data: initializer.sample(count: units * inputs, fanIn: inputs, fanOut: units, rng: &rng)), trainable: givenW.1)
    }
    b = Parameter(name: "b", value: try Dense.bias(givenB.0, count: units, name, "units"), trainable: givenB.1)
    parameters = useBias ? [W, b] : [W]
    if let w = labels["W"], w.count != units * inputs || (labelRows["W"] ?? units) != units {
      throw .lesson("\(labelContext.isEmpty ? name : labelContext): labels.W gives \(labelRows["W"].map { "\($0) rows of \(w.count / max($0, 1))" } ?? "\(w.count)") names, but W is \(units)×\(inputs) (units × inputs); give one name per weight, one row per unit")
    }
    if let bNames = labels["b"] {
      guard useBias else { throw .lesson("\(labelContext.isEmpty ? name : labelContext): labels.b names a bias, but the layer has use_bias: false") }
      guard bNames.count == units else {
        throw .lesson("\(labelContext.isEmpty ? name : labelContext): labels.b gives \(bNames.count) names, but b has \(units) (one per unit)")
      }
    }
    sampleShape = isSequence ? [positions, units] : [units]
    return sampleShape
  }

  /// x as rows of `inputs` numbers: itself when flat [N, inputs], else [N·T, inputs] (the same
  /// storage under another shape, no copy).
  private func asRows(_ t: Tensor, _ width: Int) -> Tensor {
    t.rank == 2 ? t : t.reshaped([t.count / width, width])
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    self.x = x  // [N, inputs] or [N, T, inputs]
    let rows = asRows(x, W.value.shape[1])  // [N·T, inputs]
    route = step.policy.route(.product(multiplyAdds: rows.rows * W.value.count))  // M·N·K = N·T·units·inputs
    let z: Tensor  // [N, units] or [N, T, units]
    if case .fast(let products) = route {
      z = outputs.next(rows: x.rows, sampleShape) { z in
        Kernels.gemm(rows, W.value, transposeB: true, into: &z, path: products)
        if useBias { Kernels.addBias(b.value, to: &z) }
      }
    } else {
      let product = Reference.matrixProduct(rows, W.value, transposeB: true, plus: useBias ? b.value : nil)  // x·Wᵀ + b
      z = x.rank == 2 ? product : product.reshaped([x.rows] + sampleShape)
    }
    if let t = step.tracer { traceForward(t, x, z) }
    return z
  }

  /// Fills dW and db; returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    // delta: [N, units] or [N, T, units] = ∂L/∂z; as rows [N·T, units] beside x's rows [N·T, inputs]
    let (deltaRows, xRows) = (asRows(delta, units), asRows(x, W.value.shape[1]))
    let fast: Kernels.Path? = if case .fast(let products) = route { products } else { nil }
    if let fast {
      Kernels.gemm(deltaRows, transposeA: true, xRows, into: &W.grad, path: fast)  // dW = δᵀ·x, [units, inputs]
      if useBias { Kernels.sumRows(delta, into: &b.grad) }  // db = Σₙ δₙ, [units]
    } else {
      W.grad = Reference.matrixProduct(deltaRows, transposeA: true, xRows)  // dW = δᵀ·x
      if useBias { b.grad = Reference.biasGradient(delta, channels: units) }  // db = Σₙ δₙ
    }
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    let dx = fast.map { path in inputGradients.next(x.shape) { Kernels.gemm(deltaRows, W.value, into: &$0, path: path) } }
      ?? Reference.matrixProduct(deltaRows, W.value).reshaped(x.shape)  // dx = δ·W, [N, inputs] or [N, T, inputs]
    if let t = step.tracer { traceBackward(t, delta, dx) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ z: Tensor) {
    let (w, bias, n, units, useBias) = (W.value, b.value, W.value.shape[1], units, useBias)  // n = inputs
    t.record(name, .forward, "W", batched: false, formula: "W: \(units)×\(n) weights, row j feeds neuron j", w)
    if useBias { t.record(name, .forward, "b", batched: false, formula: "b: one bias per neuron", bias) }
    let each = isSequence ? " at each position t" : ""
    t.record(name, .forward, "z", formula: (useBias ? "zⱼ = Σᵢ Wⱼᵢ·xᵢ + bⱼ" : "zⱼ = Σᵢ Wⱼᵢ·xᵢ") + each, z) { i in
      let (s, j) = (i / units, i % units)  // s: the row, sample n (flat) or n·T + t
      var args: [Double] = []
      var parts: [String] = []
      for k in 0..<n {
        parts.append("{\(2 * k)}·{\(2 * k + 1)}")
        args += [w.data[j * n + k], x.data[s * n + k]]
      }
      if useBias { parts.append("{\(2 * n)}"); args.append(bias.data[j]) }
      return Arithmetic(lhs: elementLabel("z", z.shape, i), template: parts.joined(separator: " + "), args: args, result: z.data[i])
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor, _ dx: Tensor) {
    let (x, w, dW, n, units) = (x, W.value, W.grad, W.value.shape[1], units)  // n = inputs
    let (rows, sum) = (x.count / max(n, 1), isSequence ? "Σₙ Σₜ" : "Σₙ")  // N·T rows: (n, t) at n·T + t
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂z (from the layer above)", delta)
    t.record(name, .backward, "dW", batched: false, formula: isSequence ? "∂L/∂Wⱼᵢ = Σₙ Σₜ δₙₜⱼ·xₙₜᵢ" : "∂L/∂Wⱼᵢ = Σₙ δₙⱼ·xₙᵢ", dW) { i in
      let (j, k) = (i / n, i % n)
      let parts = (0..<rows).map { "{\(2 * $0)}·{\(2 * $0 + 1)}" }
      let args = (0..<rows).flatMap { [delta.data[$0 * units + j], x.data[$0 * n + k]] }
      return Arithmetic(lhs: elementLabel("∂L/∂W", dW.shape, i, batch: false), template: parts.joined(separator: " + "), args: args, result: dW.data[i])
    }
    if useBias {
      let db = b.grad
      t.record(name, .backward, "db", batched: false, formula: "∂L/∂bⱼ = \(sum) δ\(isSequence ? "ₙₜⱼ" : "ₙⱼ")", db) { j in
        Arithmetic(lhs: elementLabel("∂L/∂b", db.shape, j, batch: false), template: (0..<rows).map { "{\($0)}" }.joined(separator: " + "),
                   args: (0..<rows).map { delta.data[$0 * units + j] }, result: db.data[j])
      }
    }
    t.record(name, .backward, "dx", formula: "∂L/∂xᵢ = Σⱼ δⱼ·Wⱼᵢ" + (isSequence ? " at each position t" : ""), dx) { i in
      let (s, k) = (i / n, i % n)  // s: the row n or n·T + t
      let parts = (0..<units).map { "{\(2 * $0)}·{\(2 * $0 + 1)}" }
      let args = (0..<units).flatMap { [delta.data[s * units + $0], w.data[$0 * n + k]] }
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: parts.joined(separator: " + "), args: args, result: dx.data[i])
    }
  }
}

// MARK: Worksheet

extension Dense {
  public var outputKey: String { "z" }

  /// z[n,j] = SUMPRODUCT(TRANSPOSE(W row j), x column n) + b[j]; δ copied from the layer above;
  /// dW[j,i] = SUMPRODUCT(δ row j, x row i) (both across the samples); db[j] = SUM(δ row j);
  /// dx[n,i] = SUMPRODUCT(δ column n, W column i). W and b are editable.
  ///
  /// On a sequence ([T, inputs] per sample, each sample a T × inputs grid, see `SheetLayout`):
  /// z[n,t,j] = SUMPRODUCT(W row j, x row t of grid n) + b[j]; dW[j,i] = Σₙ SUMPRODUCT(δ column j,
  /// x column i) of grid n; db[j] = SUM of δ column j of every grid; dx[n,t,i] =
  /// SUMPRODUCT(TRANSPOSE(δ row t of grid n), W column i).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    if isSequence { return sequenceCells(phase, key, c) }
    let (units, inputs, n) = (units, W.value.shape[1], c.batch)
    let (w, bias, x) = (c.entry(.forward, "W"), c.entry(.forward, "b"), c.input)
    let delta = c.entry(.backward, "delta"), useBias = useBias
    switch (phase, key) {
    case (.forward, "W"), (.forward, "b"): return .input
    case (.forward, "z"):
      return SheetCells { i in
        let (s, j) = (i / units, i % units)
        let dot = Formula.sumProduct(.call("TRANSPOSE", [SheetLayout.row(w, j, length: inputs)]),
                                     SheetLayout.column(x, sample: s, length: inputs))
        return useBias ? dot + .cell(bias, j) : dot
      }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dW"):
      return SheetCells { i in
        let (j, k) = (i / inputs, i % inputs)
        return .sumProduct(.range(delta, j, (n - 1) * units + j), .range(x, k, (n - 1) * inputs + k))
      }
    case (.backward, "db"): return SheetCells { j in .call("SUM", [.range(delta, j, (n - 1) * units + j)]) }
    case (.backward, "dx"):
      return SheetCells { i in
        let (s, k) = (i / inputs, i % inputs)
        return .sumProduct(SheetLayout.column(delta, sample: s, length: units), .range(w, k, (units - 1) * inputs + k))
      }
    default: return nil
    }
  }

  /// The cells on a sequence: row r = n·T + t of x, z, δ and dx is row t of sample n's grid.
  private func sequenceCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (units, inputs, n, T) = (units, W.value.shape[1], c.batch, positions)
    let (w, bias, x) = (c.entry(.forward, "W"), c.entry(.forward, "b"), c.input)
    let delta = c.entry(.backward, "delta"), useBias = useBias
    // Column j of sample s's T × width grid of a value [N, T, width].
    func column(_ entry: String, _ s: Int, _ j: Int, width: Int) -> Formula { .range(entry, s * T * width + j, (s * T + T - 1) * width + j) }
    switch (phase, key) {
    case (.forward, "W"), (.forward, "b"): return .input
    case (.forward, "z"):
      return SheetCells { i in
        let (r, j) = (i / units, i % units)
        let dot = Formula.sumProduct(SheetLayout.row(w, j, length: inputs), SheetLayout.row(x, r, length: inputs))
        return useBias ? dot + .cell(bias, j) : dot
      }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dW"):
      return SheetCells { i in
        let (j, k) = (i / inputs, i % inputs)
        return .sum((0..<n).map { s in .sumProduct(column(delta, s, j, width: units), column(x, s, k, width: inputs)) })
      }
    case (.backward, "db"): return SheetCells { j in .call("SUM", (0..<n).map { column(delta, $0, j, width: units) }) }
    case (.backward, "dx"):
      return SheetCells { i in
        let (r, k) = (i / inputs, i % inputs)
        return .sumProduct(.call("TRANSPOSE", [SheetLayout.row(delta, r, length: units)]), .range(w, k, (units - 1) * inputs + k))
      }
    default: return nil
    }
  }
}
