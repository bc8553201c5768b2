import Foundation
import Testing
@testable import SheetNet
@testable import SheetNetTrace

/// Self-attention: central differences for every parameter and the input (causal or not, one or
/// two heads), a hand-worked example, the causal mask, the permutation and softmax-shift
/// properties, a traced step (its arithmetic recomputes, --unit, JSON) and the model file.
struct SelfAttentionTests {
  /// A built layer on [T, d] tokens with random weights and biases.
  func layer(heads: Int, headSize: Int? = nil, causal: Bool, useBias: Bool = true, tokens: Int, width: Int, seed: UInt64) throws -> SelfAttention {
    let l = try built(SelfAttention(heads: heads, headSize: headSize, causal: causal, useBias: useBias), [tokens, width], seed: seed)
    for (i, p) in l.parameters.enumerated() where p.name.hasPrefix("b") {
      p.value = randomTensor(p.value.shape, seed: seed + 100 + UInt64(i), lo: -0.5, hi: 0.5)
    }
    return l
  }

  func close(_ a: Tensor, _ b: Tensor, _ tolerance: Double = 1e-12) -> Bool {
    a.shape == b.shape && zip(a.data, b.data).allSatisfy { abs($0 - $1) <= tolerance * max(1, abs($0)) }
  }

  // MARK: Gradients

  @Test("central differences: every parameter and the input", arguments: [
    (1, nil, false), (1, nil, true), (2, nil, false), (2, nil, true), (2, 3, true),
  ] as [(Int, Int?, Bool)])
  func gradients(heads: Int, headSize: Int?, causal: Bool) throws {
    for seed in UInt64(1)...3 {
      for useBias in [true, false] {
        let l = try layer(heads: heads, headSize: headSize, causal: causal, useBias: useBias, tokens: 4, width: 4, seed: seed)
        let x = randomTensor([2, 4, 4], seed: seed + 20, lo: -2, hi: 2)
        let results = GradientCheck.layer(l, input: x)
        #expect(results.count == 1 + (useBias ? 8 : 4))
        for r in results {
          #expect(r.relativeError <= 1e-6, "\(r.name) heads \(heads) head_size \(headSize ?? 0) causal \(causal) bias \(useBias) seed \(seed): \(r.relativeError)")
        }
      }
    }
  }

  // MARK: Hand-worked

  /// T = 3 tokens of d = 2, one head (dₖ = 2), Wq = Wk = Wv = Wo = I, no bias contribution:
  ///
  ///     x = q = k = v = [1 0; 0 1; 1 1],  x·xᵀ = [1 0 1; 0 1 1; 1 1 2],  s = x·xᵀ/√2
  ///     row 1: s = (0.7071, 0, 0.7071), e^(s − 0.7071) = (1, 0.4931, 1), Σ = 2.4931
  ///            A = (0.401112, 0.197776, 0.401112)
  ///     row 2: A = (0.197776, 0.401112, 0.401112)           (row 1 with keys 1 and 2 swapped)
  ///     row 3: s = (0.7071, 0.7071, 1.4142), e^(s − 1.4142) = (0.4931, 0.4931, 1), Σ = 1.9862
  ///            A = (0.248255, 0.248255, 0.503490)
  ///     o = A·v: row 1 = 0.401112·(1, 0) + 0.197776·(0, 1) + 0.401112·(1, 1) = (0.802224, 0.598888)
  ///              row 2 = (0.598888, 0.802224),  row 3 = (0.751745, 0.751745);  y = o·Iᵀ + 0 = o
  ///
  /// Causal: row 1 sees key 1 alone (A = 1, 0, 0; y = x₁ = (1, 0)); row 2 sees keys 1 and 2:
  /// s = (0, 0.7071), A = (1/(1 + e^0.7071), e^0.7071/(1 + e^0.7071)) = (0.330238, 0.669762, 0),
  /// y = (0.330238, 0.669762); row 3 as without the mask.
  @Test("a hand-worked example: T = 3, d = 2, one head, identity weights")
  func handWorked() throws {
    for causal in [false, true] {
      let l = try built(SelfAttention(heads: 1, causal: causal), [3, 2])
      #expect(l.headSize == 2)
      let identity = Tensor(rows: [[1, 0], [0, 1]])
      for p in [l.Wq!, l.Wk!, l.Wv!, l.Wo!] { p.value = identity }
      let x = Tensor(shape: [1, 3, 2], data: [1, 0, 0, 1, 1, 1])
      let tracer = Tracer()
      let y = l.forward(x, Step(training: true, tracer: tracer))
      let s = try #require(tracer.entry("self_attention.forward.s")).value
      let A = try #require(tracer.entry("self_attention.forward.A")).value
      let r = 0.5.squareRoot()  // 1/√2
      #expect(close(s, Tensor(shape: [1, 1, 3, 3], data: [r, 0, r, 0, r, r, r, r, 2 * r])))
      let e = exp(-r)  // e^(0 − 0.7071) = 0.4931
      let wanted: [Double] = causal
        ? [1, 0, 0, e / (1 + e), 1 / (1 + e), 0, e / (2 * e + 1), e / (2 * e + 1), 1 / (2 * e + 1)]
        : [1 / (2 + e), e / (2 + e), 1 / (2 + e), e / (2 + e), 1 / (2 + e), 1 / (2 + e), e / (2 * e + 1), e / (2 * e + 1), 1 / (2 * e + 1)]
      #expect(close(A, Tensor(shape: [1, 1, 3, 3], data: wanted)), "\(A.data)")
      #expect(abs(A.data[0] - (causal ? 1 : 0.401112)) < 1e-6 && abs(A.data[8] - 0.503490) < 1e-6)
      for row in 0..<3 { #expect(abs(A.data[3 * row ..< 3 * row + 3].reduce(0, +) - 1) < 1e-15) }
      let o: [Double] = causal
        ? [1, 0, 0.330238, 0.669762, 0.751745, 0.751745]
        : [0.802224, 0.598888, 0.598888, 0.802224, 0.751745, 0.751745]
      #expect(y.shape == [1, 3, 2])
      for (got, want) in zip(y.data, o) { #expect(abs(got - want) < 1e-6, "\(y.data)") }
      if causal {
        #expect(A.data[0] == 1 && A.data[1] == 0 && A.data[2] == 0 && A.data[5] == 0)  // exactly
        #expect(y.data[0] == 1 && y.data[1] == 0)  // the first token attends to itself alone
        #expect(tracer.entry("self_attention.forward.mask")?.value.data == [1, 0, 0, 1, 1, 0, 1, 1, 1])
      } else {
        #expect(tracer.entry("self_attention.forward.mask") == nil)
      }
    }
  }

  /// Masked weights are exactly 0 for any input, the first token's output is its own projected
  /// value, and a later token cannot change an earlier token's output.
  @Test("causal: the first token attends only to itself, masked weights exactly 0")
  func causalMask() throws {
    let l = try layer(heads: 2, causal: true, tokens: 5, width: 4, seed: 4)
    let x = randomTensor([2, 5, 4], seed: 5, lo: -3, hi: 3)
    let tracer = Tracer()
    let y = l.forward(x, Step(training: true, tracer: tracer))
    let A = try #require(tracer.entry("self_attention.forward.A")).value
    for n in 0..<2 {
      for head in 0..<2 {
        for i in 0..<5 {
          for j in 0..<5 {
            let a = A[n, head, i, j]
            if j > i { #expect(a == 0 && a.sign == .plus) } else { #expect(a > 0) }
          }
        }
        #expect(A[n, head, 0, 0] == 1)
      }
    }
    // Changing the last token leaves the outputs of the tokens before it as they were, bit for bit.
    var later = x
    for j in 0..<4 { later[0, 4, j] += 0.5 }
    let y2 = l.forward(later, Step(training: true))
    #expect(Array(y.data[0..<16]) == Array(y2.data[0..<16]))
    #expect(Array(y.data[16..<20]) != Array(y2.data[16..<20]))
  }

  // MARK: Properties

  @Test("without the mask, permuting the tokens permutes the outputs")
  func permutation() throws {
    let l = try layer(heads: 2, causal: false, tokens: 4, width: 4, seed: 8)
    let x = randomTensor([1, 4, 4], seed: 9, lo: -2, hi: 2)
    let order = [2, 0, 3, 1]
    var permuted = x
    for (t, from) in order.enumerated() { for j in 0..<4 { permuted[0, t, j] = x[0, from, j] } }
    let y = l.forward(x, Step(training: true)), yp = l.forward(permuted, Step(training: true))
    var expected = y
    for (t, from) in order.enumerated() { for j in 0..<4 { expected[0, t, j] = y[0, from, j] } }
    #expect(close(yp, expected), "\(yp.data) vs \(expected.data)")
    #expect(!close(yp, y))
  }

  /// Softmax is unchanged by a constant added to a row's scores. A key bias adds exactly that:
  /// s[i,j] = q_i·(k_j + u)/√dₖ = q_i·k_j/√dₖ + q_i·u/√dₖ, the same for every key of row i.
  /// So y does not move when bk does, and ∂L/∂bk = 0 (up to rounding).
  @Test("adding a constant to every score of a row changes nothing", arguments: [false, true])
  func rowShift(causal: Bool) throws {
    let l = try layer(heads: 2, causal: causal, tokens: 4, width: 4, seed: 11)
    let x = randomTensor([2, 4, 4], seed: 12, lo: -2, hi: 2)
    let tracer = Tracer()
    let y = l.forward(x, Step(training: true, tracer: tracer))
    let s = try #require(tracer.entry("self_attention.forward.s")).value
    l.bk.value = randomTensor([4], seed: 13, lo: -3, hi: 3)
    let shifted = Tracer()
    let y2 = l.forward(x, Step(training: true, tracer: shifted))
    let s2 = try #require(shifted.entry("self_attention.forward.s")).value
    // The scores did move, by one constant per row (head, query) …
    var moved = false
    for row in 0..<(2 * 2 * 4) {
      let shift = s2.data[row * 4] - s.data[row * 4]
      moved = moved || abs(shift) > 1e-3
      for j in 0..<4 { #expect(abs(s2.data[row * 4 + j] - s.data[row * 4 + j] - shift) < 1e-12) }
    }
    #expect(moved)
    // … and the output did not.
    #expect(close(y, y2))
    _ = l.backward(randomTensor([2, 4, 4], seed: 14), Step(training: true))
    #expect(l.bk.grad.data.allSatisfy { abs($0) < 1e-12 }, "\(l.bk.grad.data)")
  }

  @Test("options: head_size defaults to d/h, is required when h does not divide d; the input must be [T, d]")
  func options() throws {
    #expect(try built(SelfAttention(heads: 2), [3, 6]).headSize == 3)
    #expect(try built(SelfAttention(heads: 2, headSize: 5), [3, 6]).Wq.value.shape == [10, 6])
    #expect(try built(SelfAttention(heads: 2, headSize: 5), [3, 6]).Wo.value.shape == [6, 10])
    do { _ = try built(SelfAttention(heads: 4), [3, 6]); Issue.record("4 heads on d = 6 built") } catch {
      #expect("\(error)".contains("head_size"), "\(error)")
    }
    do { _ = try built(SelfAttention(heads: 1), [12]); Issue.record("a flat input built") } catch {
      #expect("\(error)".contains("[T, d]"), "\(error)")
    }
    let o = try SelfAttention(options: LayerOptions(kind: "self_attention", values: [("heads", .number(2)), ("causal", .bool(true))]))
    #expect(o.heads == 2 && o.causal && o.useBias && o.headSize == nil)
    do { _ = try SelfAttention(options: LayerOptions(kind: "self_attention", values: [("heads", .number(0))])); Issue.record("0 heads") } catch {
      #expect("\(error)".contains("heads"))
    }
    let l = try built(SelfAttention(heads: 2, causal: true), [5, 4])
    #expect(l.parameters.map(\.name) == ["Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo"])
    #expect(l.bq.value.data.allSatisfy { $0 == 0 } && l.bo.value.data.allSatisfy { $0 == 0 })
    let r = (6.0 / 8).squareRoot()  // Glorot: √(6/(fan_in + fan_out)) = √(6/(4 + 4))
    #expect(l.Wq.value.data.allSatisfy { abs($0) <= r } && Set(l.Wq.value.data).count == 16)
    // projections 4·T·d·h·dₖ, scores h·T²·dₖ, weighted sums h·dₖ·T(T+1)/2 when causal
    #expect(l.multiplyAdds == 4 * 5 * 4 * 4 + 2 * 25 * 2 + 2 * 15 * 2)
    #expect(try built(SelfAttention(heads: 2), [5, 4]).multiplyAdds == 4 * 5 * 4 * 4 + 2 * 2 * 25 * 2)
    #expect(try built(SelfAttention(useBias: false), [5, 4]).parameters.map(\.name) == ["Wq", "Wk", "Wv", "Wo"])
  }

  // MARK: A lesson: trace and model file

  static let lessonText = """
    seed: 1
    data:
      dataset: inline
      shape: [3, 4]
      x: [[0.5, -1, 0.25, 2, 1, 0, -0.5, 1, 0, 1, 1, -1], [1, 1, 0, 0, -1, 0.5, 0.5, 0, 2, -1, 0, 1],
          [0, 0, 1, 1, 0.5, 0.5, -1, 2, 1, 0, 0, -1], [-1, 2, 0, 1, 1, 1, 0.5, -0.5, 0, 0, 2, 1]]
      labels: [0, 1, 0, 1]
    network:
      - {type: self_attention, heads: 2, causal: true}
      - flatten
      - {type: dense, units: 2}
      - softmax
    optimizer: {type: adam, learning_rate: 0.01}
    train: {epochs: 3, batch_size: 2}

    """

  func run() throws -> LessonRun { try LessonRun(try Lesson.parse(Self.lessonText, path: "attention.yaml")) }

  @Test("a traced step: every equation recomputes the engine's number, --unit expands one token of one head, JSON holds rank 4")
  func traced() throws {
    let traced = try TracedStep(try run(), .init(batch: 2, check: true))
    for r in try #require(traced.check) { #expect(r.relativeError <= 1e-6, "\(r.name): \(r.relativeError)") }
    let keys = traced.tracer.entries.filter { $0.layer == "attention1" && $0.phase != .update }
      .map { Tracer.key(of: $0.name, layer: "attention1", phase: $0.phase) }
    #expect(keys == ["Wq", "bq", "Wk", "bk", "Wv", "bv", "Wo", "bo", "q", "k", "v", "s", "mask", "A", "o", "h", "y",
                     "delta", "dWo", "dbo", "dH", "dA", "dS", "dq", "dk", "dv", "dWq", "dbq", "dWk", "dbk", "dWv", "dbv", "dx"], "\(keys)")
    func entry(_ phase: Phase, _ key: String) throws -> TraceEntry { try #require(traced.tracer.entry(Tracer.name("attention1", phase, key))) }
    #expect(try entry(.forward, "s").value.shape == [2, 2, 3, 3] && entry(.forward, "o").value.shape == [2, 2, 3, 2])
    #expect(try entry(.forward, "q").value.shape == [2, 3, 4] && entry(.forward, "y").value.shape == [2, 3, 4])
    #expect(try entry(.backward, "dS").formula == "dS = A ⊙ (dA − rowsum(dA ⊙ A))")

    // Every element's arithmetic, evaluated from its template and numbers, is the engine's value.
    var checked = 0
    for e in traced.tracer.entries where e.layer == "attention1" && e.phase != .update && e.explain != nil {
      for i in 0..<e.value.count {
        let a = e.explain!(i)
        #expect(a.result.bitPattern == e.value.data[i].bitPattern, "\(e.name) \(i)")
        if let value = Self.evaluate(a) {
          #expect(value.bitPattern == a.result.bitPattern, "\(e.name) \(i): \(a.lhs) = \(a.template) \(a.args) gives \(value), not \(a.result)")
          checked += 1
        } else {
          #expect(a.template.hasPrefix("masked") || a.template.hasPrefix("kept") || a.template.hasPrefix("o["), "\(e.name): \(a.template)")
          if a.template.hasPrefix("masked") { #expect(a.result == 0) }
        }
      }
    }
    #expect(checked > 300, "\(checked)")

    // One token of one head: head 2, query token 3 against key 1 (s, A, dA, dS) and column 1 (o).
    let text = TraceText()
    let unit = try text.unit(traced, layer: "attention1", index: [2, 3, 1], sample: 2)
    for key in ["forward.s", "forward.A", "forward.o", "backward.dA", "backward.dS"] { #expect(unit.contains("attention1.\(key)  "), "\(key)\n\(unit)") }
    #expect(unit.contains("A[2,2,3,1] = e^("), "\(unit)")
    let masked = try text.unit(traced, layer: "attention1", index: [1, 1, 2], sample: 1)
    #expect(masked.contains("A[1,1,1,2] = masked (key 2 > query 1) = 0"), "\(masked)")
    let whole = text.render(traced)
    #expect(whole.contains("attention1.backward.dS  dS = A ⊙ (dA − rowsum(dA ⊙ A))  [2×2×3×3]"))
    #expect(whole.contains("sample 2: "), "a [2, 3, 4] value shows each sample's tokens as a grid")
    let token = try text.unit(traced, layer: "attention1", index: [2, 3], sample: 1)
    #expect(token.contains("H[1,2,3] = o[1,2,2,1] (head 2) = "), "\(token)")

    let doc = try Value.parseJSON(TraceJSON.document(traced).json())
    let entries = try #require(doc["entries"]?.list)
    let s = try #require(entries.first { $0["name"]?.string == "attention1.forward.A" })
    #expect(s["shape"]?.list?.compactMap(\.number) == [2, 2, 3, 3])
    #expect(s["arithmetic"]?.list?.count == 36)
    #expect(s["values"]?.list?.compactMap(\.number).map(\.bitPattern) == (try entry(.forward, "A")).value.data.map(\.bitPattern))
  }

  @Test("the default trace of attention-reverse labels token rows with their characters and writes out head 1's last query row")
  func tracedLesson() throws {
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/attention-reverse.yaml")))
    let traced = try TracedStep(run, .init(sample: 1))
    let text = TraceText().render(traced)
    let data = run.split.train
    let n = traced.samples[0], t = data.x.columns
    let tokens = (0..<t).map { Sequences.shown(id: data.x.data[n * t + $0], data.vocabulary) }
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    // The A map: a row per query, led by its token; head 1 and head 2 side by side.
    let a = try #require(lines.firstIndex { $0.hasPrefix("attention1.forward.A  ") })
    for (i, token) in tokens.enumerated() { #expect(lines[a + 2 + i].hasPrefix("    \(token) "), "row \(i + 1): \(lines[a + 2 + i])") }
    #expect(lines[a + 2 + t].contains("sample 1, head 1: ") && lines[a + 2 + t].contains("sample 1, head 2: "), "\(lines[a + 2 + t])")
    // Worked out under it: head 1's row of the last query, one equation per key, the engine's weights summing to 1.
    let worked = try #require(lines[a...].firstIndex { $0.hasPrefix("    worked out for head 1, query \(t) ‘\(tokens[t - 1])’") })
    let A = try #require(traced.tracer.entry(Tracer.name("attention1", .forward, "A"))).value
    let row = (0..<t).map { A.data[(t - 1) * t + $0] }  // sample 1, head 1, query T
    #expect(abs(row.reduce(0, +) - 1) < 1e-15)
    let body = lines[worked...].prefix(60).joined(separator: " ")
    for (j, weight) in row.enumerated() {
      #expect(body.contains("A[1,\(t),\(j + 1)] = e^(") && body.contains("= \(TraceText.format(weight, digits: 9))"), "key \(j + 1)")
    }
    // q of the last token: head 1's columns written out, d products each.
    #expect(text.contains("worked out for token \(t) ‘\(tokens[t - 1])’, head 1's 8 columns:"))
  }

  /// The value of an equation whose template is a sum of products over (…) / √n, a softmax
  /// e^(a − m) / (e^(b − m) + …) or A·(dA − (…)), with SheetNet's grouping; nil for text.
  static func evaluate(_ a: Arithmetic) -> Double? {
    let t = a.template, x = a.args
    if t.hasPrefix("e^({0} − {1}) / (") {
      var sum = 0.0
      for k in 2..<x.count { sum += exp(x[k] - x[1]) }
      return exp(x[0] - x[1]) / sum
    }
    if t.hasPrefix("{0}·({1} − (") {
      var dot = 0.0
      for k in stride(from: 2, to: x.count, by: 2) { dot += x[k] * x[k + 1] }
      return x[0] * (x[1] - dot)
    }
    if t.contains("masked") || t.contains("kept") || t.hasPrefix("o[") { return nil }
    // Groups "(…) + (…)" summed each, then added; "/ √{n}" divides by √n.
    var body = t, divisor: Double? = nil
    if let r = body.range(of: " / √{") {
      divisor = x[Int(body[r.upperBound...].dropLast())!].squareRoot()
      body = String(body[..<r.lowerBound])
    }
    func hole(_ s: Substring) -> Int { Int(s.drop { $0 == "(" || $0 == "{" }.prefix { $0.isNumber })! }
    let groups = body.hasPrefix("(") ? body.components(separatedBy: ") + (") : [body]
    var total = 0.0
    for (g, group) in groups.enumerated() {
      var sum = 0.0
      for term in group.components(separatedBy: " + ") {
        let factors = term.split(separator: "·")
        sum += factors.count == 2 ? x[hole(factors[0])] * x[hole(factors[1])] : x[hole(factors[0])]
      }
      total = g == 0 ? sum : total + sum
    }
    return divisor.map { total / $0 } ?? total
  }

  /// An option's value as the mismatch line writes it.
  static func shown(_ v: Value) -> String {
    switch v {
    case .number(let x): Value.jsonNumber(x)
    case .bool(let b): "\(b)"
    default: "?"
    }
  }

  @Test("model file: options and parameters round-trip, and each option is compared")
  func modelFile() throws {
    let run = try run()
    try run.train()
    let text = ModelFile(run: run).value.json()
    let back = try ModelFile.decode(try Value.parseJSON(text))
    #expect(back.value.json() == text)
    #expect(back.mismatch(with: run) == nil)
    let (a, b) = (run.model.layers[0], back.model.layers[0])
    #expect(b is SelfAttention && a.name == "attention1" && b.name == "attention1")
    #expect(b.options.map(\.key) == ["heads", "head_size", "causal", "use_bias"])
    #expect(b.options.map(\.value) == a.options.map(\.value))
    #expect(a.parameters.count == 8 && b.parameters.map(\.name) == a.parameters.map(\.name))
    for (p, q) in zip(a.parameters, b.parameters) {
      #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern), "\(p.name)")
      #expect(p.state.keys.sorted() == ["m", "s"] && q.state.keys.sorted() == ["m", "s"])
      for k in p.state.keys { #expect(p.state[k]!.data.map(\.bitPattern) == q.state[k]!.data.map(\.bitPattern)) }
    }
    // The same network with one option changed: the file differs there, and says so.
    let file = try ModelFile.decode(ModelFile(run: run).value)
    var checked: [String] = []
    for (key, value) in a.options {
      let other: Value = switch value {
      case .number(let x): .number(x == 1 ? 2 : x / 2)
      case .bool(let b): .bool(!b)
      default: value
      }
      let options = a.options.map { ($0.key, $0.key == key ? other : $0.value) }
      let changed = try SelfAttention(options: LayerOptions(kind: SelfAttention.kind, values: options))
      changed.name = a.name
      var layers: [any Layer] = [changed]
      for l in run.model.layers.dropFirst() {
        let made = try layerKinds[l.kind]!.init(options: LayerOptions(kind: l.kind, values: l.options))
        made.name = l.name
        layers.append(made)
      }
      var rng = SeededGenerator(seed: 1)
      let lesson = try Sequential(layers).build(inputShape: run.model.inputShape, rng: &rng)
      let why = file.mismatch(model: lesson, loss: run.loss, optimizer: run.optimizer, preprocess: run.preprocess, classes: nil)
      #expect(why == "layer 1 (attention1) has \(key) \(Self.shown(value)), the lesson says \(Self.shown(other))", "\(key): \(why ?? "matched")")
      checked.append(key)
    }
    #expect(checked == ["heads", "head_size", "causal", "use_bias"])
  }

  @Test("a traced step leaves the same weights as an untraced one, bit for bit")
  func tracedEqualsUntraced() throws {
    let a = try run()
    _ = try TracedStep(a, .init(step: 2))
    let b = try run()
    try b.train(trace: TracePoint(step: 2, tracer: nil))
    let pa = a.model.layers.flatMap(\.parameters), pb = b.model.layers.flatMap(\.parameters)
    #expect(pa.count == 10)
    for (p, q) in zip(pa, pb) { #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern), "\(p.name)") }
  }
}
