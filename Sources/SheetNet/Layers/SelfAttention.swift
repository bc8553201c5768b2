import Foundation

/// Multi-head self-attention (Vaswani et al., 2017) over each sample's T tokens x [T, d]:
///
///     q = x·Wqᵀ + bq,  k = x·Wkᵀ + bk,  v = x·Wvᵀ + bv             [T, h·dₖ]
///     per head:  s = q·kᵀ/√dₖ [T, T],  A = softmax of each row,  o = A·v [T, dₖ]
///     H = [o₁ … o_h]  (the heads side by side, in head order)      [T, h·dₖ]
///     y = H·Woᵀ + bo                                               [T, d]
///
/// Head `head` owns the columns head·dₖ ..< (head + 1)·dₖ of q, k, v and H (consecutive blocks).
/// Row i of s and A belongs to query token i, column j to key token j. The softmax subtracts the
/// row maximum m: A[i,j] = e^(s[i,j] − m) / Σⱼ′ e^(s[i,j′] − m). With `causal` a query sees only
/// itself and the tokens before it: the keys j > i are left out of its softmax altogether (their
/// weight is exactly 0; no −∞ or −1e9 is added), so the first token attends to itself alone.
///
/// Backward, with δ = ∂L/∂y [T, d] and sums over the batch and its tokens in index order:
///
///     dWo = Σ δᵀ·H,  dbo = Σ δ,  dH = δ·Wo;  per head, dO = dH's columns of the head:
///     dA = dO·vᵀ,  dv = Aᵀ·dO,  dS = A ⊙ (dA − rowsum(dA ⊙ A))  (0 where masked),
///     dq = dS·k/√dₖ,  dk = dSᵀ·q/√dₖ;
///     dWq = Σ dqᵀ·x, dbq = Σ dq (k, v alike),  dx = dq·Wq + dk·Wk + dv·Wv
///
/// Orientation as in `Dense`: row c of Wq, Wk, Wv [h·dₖ, d] feeds column c of q, k, v; row j of
/// Wo [d, h·dₖ] feeds output j. PyTorch's `nn.MultiheadAttention(d, h, batch_first=True)` (which
/// needs h·dₖ = d) holds the same numbers as in_proj_weight = [Wq; Wk; Wv] (stacked rows,
/// [3d, d]), in_proj_bias = [bq; bk; bv], out_proj.weight = Wo, out_proj.bias = bo; its scaling
/// is 1/√dₖ and its heads are the same consecutive dₖ-blocks; `causal` is its boolean
/// attn_mask = triu(ones(T, T), diagonal 1). Without `use_bias` there are no biases (bias=False).
/// Only the initial weights differ (SheetNet draws each matrix Glorot-uniform by itself).
///
/// The key bias bk never changes y: it adds q·bk/√dₖ to every score of a query's row, which the
/// softmax ignores, so ∂L/∂bk is 0 but for rounding (~1e-17); kept because PyTorch has it.
///
/// Two tiers, chosen once per pass by `ComputePolicy.route(.product(…))` (as `Dense`): the
/// reference loops below (index order, no BLAS: the numbers the trace explains), or the fast
/// tier, whose four projections and their gradients are `Kernels.gemm` products on the route's
/// path and whose per-head core is `Kernels.attentionForward` / `attentionBackward`
/// (Kernels+Attention.swift), writing into memory kept between steps. The core always sums as
/// the loops do, so with `.swift` products (every product below 64³ multiply-adds under
/// `.automatic`) the fast tier gives the reference's numbers bit for bit; with fused or OpenBLAS
/// products the projections may differ in the last bits (≤ 1e-12 relative in the tests).
/// Cost per sample: 4·T·d·h·dₖ multiply-adds for the projections, T²·dₖ per head for the scores
/// and T²·dₖ per head for the weighted sums (T(T+1)/2·dₖ when causal).
public final class SelfAttention: Layer {
  public static let kind = "self_attention"
  public static let namePrefix = "attention"
  public static let keys = ["heads", "head_size", "causal", "use_bias"]

  /// h, the number of heads.
  public let heads: Int
  /// dₖ, the width of each head's query, key and value; d/h when the lesson gives none (set by `build`).
  public private(set) var headSize: Int?
  /// Whether query i sees only keys j ≤ i.
  public let causal: Bool
  /// Whether the four projections add biases.
  public let useBias: Bool
  public var name = "self_attention"

  /// Wq, Wk, Wv [h·dₖ, d]; Wo [d, h·dₖ].
  public private(set) var Wq: Parameter!, Wk: Parameter!, Wv: Parameter!, Wo: Parameter!
  /// bq, bk, bv [h·dₖ]; bo [d].
  public private(set) var bq: Parameter!, bk: Parameter!, bv: Parameter!, bo: Parameter!
  /// Wq, bq, Wk, bk, Wv, bv, Wo, bo (without the biases when `useBias` is false); set by `build`.
  public private(set) var parameters: [Parameter] = []

  private var tokens = 0, width = 0, modelWidth = 0  // T, h·dₖ and d, set by `build`
  // The last forward pass: x, q, k, v and H [N, T, ·]; s and A [N, h, T, T]; o [N, h, T, dₖ].
  private var x = Tensor(shape: [0]), q = Tensor(shape: [0]), k = Tensor(shape: [0]), v = Tensor(shape: [0])
  private var s = Tensor(shape: [0]), A = Tensor(shape: [0]), o = Tensor(shape: [0]), joined = Tensor(shape: [0])
  // The fast tier's backward values, kept so that the next step writes into the same memory:
  // dH, dq, dk, dv [N, T, h·dₖ]; dA, dS [N, h, T, T].
  private var dH = Tensor(shape: [0]), dA = Tensor(shape: [0]), dS = Tensor(shape: [0])
  private var dq = Tensor(shape: [0]), dk = Tensor(shape: [0]), dv = Tensor(shape: [0])
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass
  private var outputs = TensorPair(), inputGradients = TensorPair()  // the fast tier's y and dx, in turns
  private var sampleShape = [0, 0]  // one sample's output [T, d], set by `build`

  /// The attention weights A of the last forward pass, [N, h, T, T]: row i of a head's grid is
  /// query token i's softmax over the keys (0 for a masked key). For figures, which show the
  /// engine's numbers rather than recompute them.
  public var attentionWeights: Tensor { A }

  /// A self-attention layer of `heads` heads of `headSize` columns (d/h when nil).
  public init(heads: Int = 1, headSize: Int? = nil, causal: Bool = false, useBias: Bool = true) {
    precondition(heads >= 1 && (headSize ?? 1) >= 1, "SelfAttention needs heads ≥ 1 and head_size ≥ 1, got \(heads), \(headSize ?? 0)")
    self.heads = heads
    self.headSize = headSize
    self.causal = causal
    self.useBias = useBias
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let headSize: Int? = o.raw("head_size") == nil ? nil : try o.int("head_size")
    self.init(heads: try o.int("heads", default: 1), headSize: headSize, causal: try o.bool("causal", default: false),
              useBias: try o.bool("use_bias", default: true))
  }

  /// heads, head_size (once known), causal, use_bias.
  public var options: [(key: String, value: Value)] {
    [("heads", .number(Double(heads)))] + (headSize.map { [("head_size", .number(Double($0)))] } ?? [])
      + [("causal", .bool(causal)), ("use_bias", .bool(useBias))]
  }

  /// 4·T·d·h·dₖ (projections) + h·T²·dₖ (scores) + h·dₖ·(T² or T(T+1)/2 when causal) (weighted sums).
  /// s, A and, backward, dA and dS (h·T² each), o (h·T·dₖ), and x, q, k, v, H (T × d or h·dₖ each).
  public var cachedNumbersPerSample: Int {
    let grids = Limits.product([4, heads, tokens, tokens]) ?? Int.max / 64
    return min(grids + heads * tokens * (headSize ?? 0) + 5 * tokens * max(width, modelWidth), Int.max / 64)
  }

  public var multiplyAdds: Int {
    let dk = headSize ?? 0, seen = causal ? tokens * (tokens + 1) / 2 : tokens * tokens
    return 4 * tokens * modelWidth * width + heads * tokens * tokens * dk + heads * seen * dk
  }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 2 else {
      throw .shape("\(name) expects tokens [T, d] (one row of d numbers per token) but receives \(shapeText(inputShape)); put an embedding layer before it or give the data the shape [T, d]")
    }
    let (t, d) = (inputShape[0], inputShape[1])
    if headSize == nil {
      guard d % heads == 0 else {
        throw .shape("\(name) has \(heads) heads but tokens of \(d) numbers, which \(heads) does not divide; give 'head_size' or another number of heads")
      }
      headSize = d / heads
    }
    let dk = headSize!
    guard let w = Limits.product([heads, dk]), let scores = Limits.product([heads, t, t]), scores <= Limits.activationsPerSample else {
      throw .shape("\(name) would hold \(heads) heads × \(t)×\(t) attention weights per sample, more than the \(Limits.grouped(Limits.activationsPerSample)) a layer may; use fewer tokens or heads")
    }
    try Limits.checkParameters(Limits.product([4, w, d]), name, "weights (4 matrices of \(w)×\(d))")
    (tokens, width, modelWidth, sampleShape) = (t, w, d, [t, d])
    func matrix(_ name: String, _ rows: Int, _ columns: Int) -> Parameter {
      Parameter(name: name, value: Tensor(shape: [rows, columns], data: Initializer.glorot.sample(count: rows * columns, fanIn: columns, fanOut: rows, rng: &rng)))
    }
    (Wq, Wk, Wv, Wo) = (matrix("Wq", w, d), matrix("Wk", w, d), matrix("Wv", w, d), matrix("Wo", d, w))
    (bq, bk, bv, bo) = (Parameter(name: "bq", value: Tensor(shape: [w])), Parameter(name: "bk", value: Tensor(shape: [w])),
                        Parameter(name: "bv", value: Tensor(shape: [w])), Parameter(name: "bo", value: Tensor(shape: [d])))
    parameters = useBias ? [Wq, bq, Wk, bk, Wv, bv, Wo, bo] : [Wq, Wk, Wv, Wo]
    return [t, d]
  }

  /// How many keys query i sees: i + 1 when causal (keys 0…i), else all T.
  @inline(__always) func visible(_ i: Int) -> Int { causal ? i + 1 : tokens }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let (n, t, d, w) = (x.rows, tokens, modelWidth, width)
    precondition(x.count == n * t * d, "\(name): input \(x.shape) is not [N, \(t), \(d)]")
    self.x = x
    route = step.policy.route(.product(multiplyAdds: n * t * w * d))  // each projection: M·N·K = N·T·h·dₖ·d
    let y = if case .fast(let products) = route { fastForward(x, products) } else { referenceForward(x) }
    if let tracer = step.tracer { traceForward(tracer, y) }
    return y
  }

  /// The reference tier: the projections by `Reference.matrixProduct`, the heads in plain loops.
  private func referenceForward(_ x: Tensor) -> Tensor {
    let (n, t, d, w, dk, h) = (x.rows, tokens, modelWidth, width, headSize!, heads)
    let rows = x.reshaped([n * t, d])  // every token a row
    func project(_ W: Parameter, _ b: Parameter) -> Tensor {  // x·Wᵀ + b, [N, T, h·dₖ]
      Reference.matrixProduct(rows, W.value, transposeB: true, plus: useBias ? b.value : nil).reshaped([n, t, w])
    }
    (q, k, v) = (project(Wq, bq), project(Wk, bk), project(Wv, bv))
    s = Tensor(shape: [n, h, t, t])
    A = Tensor(shape: [n, h, t, t])
    o = Tensor(shape: [n, h, t, dk])
    joined = Tensor(shape: [n, t, w])
    let root = Double(dk).squareRoot()
    for sample in 0..<n {
      for head in 0..<h {
        let column = head * dk, grid = (sample * h + head) * t * t  // head's first column; its s and A
        func token(_ i: Int) -> Int { (sample * t + i) * w + column }  // where token i's head block starts in q, k, v
        for i in 0..<t {
          for j in 0..<t {  // s = q·kᵀ/√dₖ, every key (a masked score is shown, never used)
            var dot = 0.0
            for c in 0..<dk { dot += q.data[token(i) + c] * k.data[token(j) + c] }
            s.data[grid + i * t + j] = dot / root
          }
          let seen = visible(i)
          var m = s.data[grid + i * t]
          for j in 1..<seen { m = max(m, s.data[grid + i * t + j]) }
          var sum = 0.0
          for j in 0..<seen { sum += exp(s.data[grid + i * t + j] - m) }
          for j in 0..<seen { A.data[grid + i * t + j] = exp(s.data[grid + i * t + j] - m) / sum }  // masked keys stay 0
          for c in 0..<dk {  // o = A·v over the keys query i sees
            var total = 0.0
            for j in 0..<seen { total += A.data[grid + i * t + j] * v.data[token(j) + c] }
            o.data[((sample * h + head) * t + i) * dk + c] = total
            joined.data[token(i) + c] = total  // H = [o₁ … o_h]
          }
        }
      }
    }
    Reference.breakIfAsked("attention", &joined)
    return Reference.matrixProduct(joined.reshaped([n * t, w]), Wo.value, transposeB: true, plus: useBias ? bo.value : nil)
      .reshaped([n, t, d])  // y = H·Woᵀ + bo
  }

  /// The fast tier: q, k, v and y by `Kernels.gemm` on `products` (biases added after each sum),
  /// the heads by `Kernels.attentionForward`, into the memory of the last pass.
  private func fastForward(_ x: Tensor, _ products: Kernels.Path) -> Tensor {
    let (n, t, d, w, dk, h) = (x.rows, tokens, modelWidth, width, headSize!, heads)
    let tokenRows = (offset: 0, rows: n * t, columns: d)  // x [N, T, d] as N·T rows
    func project(_ W: Parameter, _ b: Parameter, into out: inout Tensor) {  // x·Wᵀ + b, [N, T, h·dₖ]
      Self.reuse(&out, [n, t, w])
      Kernels.gemm(x, block: tokenRows, W.value, block: (0, w, d), transposeB: true, into: &out, path: products)
      if useBias { Kernels.addBias(b.value, to: &out) }
    }
    project(Wq, bq, into: &q)
    project(Wk, bk, into: &k)
    project(Wv, bv, into: &v)
    Self.reuse(&s, [n, h, t, t])
    Self.reuse(&A, [n, h, t, t])
    Self.reuse(&o, [n, h, t, dk])
    Self.reuse(&joined, [n, t, w])
    Kernels.attentionForward(q: q, k: k, v: v, heads: h, headSize: dk, causal: causal, scores: &s, weights: &A, heads: &o, joined: &joined)
    return outputs.next(rows: n, sampleShape) { y in  // y = H·Woᵀ + bo
      Kernels.gemm(joined, block: (0, n * t, w), Wo.value, block: (0, d, w), transposeB: true, into: &y, path: products)
      if useBias { Kernels.addBias(bo.value, to: &y) }
    }
  }

  /// `t` as a tensor of `shape` whose every element the caller overwrites: itself when it has
  /// that shape already (no allocation; copied first only if a trace still holds it).
  private static func reuse(_ t: inout Tensor, _ shape: [Int]) {
    if t.shape != shape { t = Tensor(overwrittenShape: shape) }
  }

  /// Fills every parameter's gradient; returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    if case .fast(let products) = route { return fastBackward(delta, step, products) }
    let (n, t, d, w, size, h) = (x.rows, tokens, modelWidth, width, headSize!, heads)
    let deltaRows = delta.reshaped([n * t, d]), joinedRows = joined.reshaped([n * t, w])
    Wo.grad = Reference.matrixProduct(deltaRows, transposeA: true, joinedRows)  // dWo = Σ δᵀ·H, [d, h·dₖ]
    if useBias { bo.grad = Reference.biasGradient(deltaRows, channels: d) }  // dbo = Σ δ, [d]
    let dH = Reference.matrixProduct(deltaRows, Wo.value).reshaped([n, t, w])  // dH = δ·Wo
    var dA = Tensor(shape: [n, h, t, t]), dS = Tensor(shape: [n, h, t, t])
    var dq = Tensor(shape: [n, t, w]), dk = Tensor(shape: [n, t, w]), dv = Tensor(shape: [n, t, w])
    let root = Double(size).squareRoot()
    for sample in 0..<n {
      for head in 0..<h {
        let column = head * size, grid = (sample * h + head) * t * t
        func token(_ i: Int) -> Int { (sample * t + i) * w + column }
        for i in 0..<t {
          for j in 0..<visible(i) {  // dA = dO·vᵀ (masked entries stay 0)
            var dot = 0.0
            for c in 0..<size { dot += dH.data[token(i) + c] * v.data[token(j) + c] }
            dA.data[grid + i * t + j] = dot
          }
        }
        for j in 0..<t {
          for c in 0..<size {  // dv = Aᵀ·dO over the queries that see key j
            var total = 0.0
            for i in (causal ? j : 0)..<t { total += A.data[grid + i * t + j] * dH.data[token(i) + c] }
            dv.data[token(j) + c] = total
          }
        }
        for i in 0..<t {  // dS = A ⊙ (dA − rowsum(dA ⊙ A))
          var dot = 0.0
          for j in 0..<visible(i) { dot += dA.data[grid + i * t + j] * A.data[grid + i * t + j] }
          for j in 0..<visible(i) { dS.data[grid + i * t + j] = A.data[grid + i * t + j] * (dA.data[grid + i * t + j] - dot) }
        }
        for i in 0..<t {
          for c in 0..<size {  // dq = dS·k/√dₖ
            var total = 0.0
            for j in 0..<visible(i) { total += dS.data[grid + i * t + j] * k.data[token(j) + c] }
            dq.data[token(i) + c] = total / root
          }
        }
        for j in 0..<t {
          for c in 0..<size {  // dk = dSᵀ·q/√dₖ
            var total = 0.0
            for i in (causal ? j : 0)..<t { total += dS.data[grid + i * t + j] * q.data[token(i) + c] }
            dk.data[token(j) + c] = total / root
          }
        }
      }
    }
    let rows = x.reshaped([n * t, d])
    let (dqRows, dkRows, dvRows) = (dq.reshaped([n * t, w]), dk.reshaped([n * t, w]), dv.reshaped([n * t, w]))
    Wq.grad = Reference.matrixProduct(dqRows, transposeA: true, rows)  // dWq = Σ dqᵀ·x, [h·dₖ, d]
    Wk.grad = Reference.matrixProduct(dkRows, transposeA: true, rows)
    Wv.grad = Reference.matrixProduct(dvRows, transposeA: true, rows)
    if useBias {
      bq.grad = Reference.biasGradient(dqRows, channels: w)  // dbq = Σ dq, [h·dₖ]
      bk.grad = Reference.biasGradient(dkRows, channels: w)
      bv.grad = Reference.biasGradient(dvRows, channels: w)
    }
    var dx = Tensor(shape: [0])
    if step.computesInputGradient {  // dx = dq·Wq + dk·Wk + dv·Wv, three sums added in that order
      let (fromQ, fromK, fromV) = (Reference.matrixProduct(dqRows, Wq.value), Reference.matrixProduct(dkRows, Wk.value),
                                   Reference.matrixProduct(dvRows, Wv.value))
      dx = Tensor(shape: x.shape, data: (0..<x.count).map { fromQ.data[$0] + fromK.data[$0] + fromV.data[$0] })
    }
    if let tracer = step.tracer { traceBackward(tracer, delta, dH, dA, dS, dq, dk, dv, dx) }
    return dx
  }

  /// The fast tier of `backward`: the projections' gradients by `Kernels.gemm` on the forward
  /// pass's path, the heads by `Kernels.attentionBackward`; dx = dq·Wq + dk·Wk + dv·Wv added in
  /// that order (each product summed whole, then added, as the reference does).
  private func fastBackward(_ delta: Tensor, _ step: Step, _ products: Kernels.Path) -> Tensor {
    let (n, t, d, w, size, h) = (x.rows, tokens, modelWidth, width, headSize!, heads)
    let (tokenRows, headRows) = ((offset: 0, rows: n * t, columns: d), (offset: 0, rows: n * t, columns: w))
    Kernels.gemm(delta, block: tokenRows, transposeA: true, joined, block: headRows, into: &Wo.grad, path: products)  // dWo = Σ δᵀ·H
    if useBias { Kernels.sumRows(delta, into: &bo.grad) }  // dbo = Σ δ, [d]
    Self.reuse(&dH, [n, t, w])
    Kernels.gemm(delta, block: tokenRows, Wo.value, block: (0, d, w), into: &dH, path: products)  // dH = δ·Wo
    Self.reuse(&dA, [n, h, t, t])
    Self.reuse(&dS, [n, h, t, t])
    Self.reuse(&dq, [n, t, w])
    Self.reuse(&dk, [n, t, w])
    Self.reuse(&dv, [n, t, w])
    Kernels.attentionBackward(dH: dH, q: q, k: k, v: v, weights: A, heads: h, headSize: size, causal: causal,
                              dA: &dA, dS: &dS, dq: &dq, dk: &dk, dv: &dv)
    Kernels.gemm(dq, block: headRows, transposeA: true, x, block: tokenRows, into: &Wq.grad, path: products)  // dWq = Σ dqᵀ·x
    Kernels.gemm(dk, block: headRows, transposeA: true, x, block: tokenRows, into: &Wk.grad, path: products)
    Kernels.gemm(dv, block: headRows, transposeA: true, x, block: tokenRows, into: &Wv.grad, path: products)
    if useBias {
      Kernels.sumRows(dq, into: &bq.grad)  // dbq = Σ dq, [h·dₖ]
      Kernels.sumRows(dk, into: &bk.grad)
      Kernels.sumRows(dv, into: &bv.grad)
    }
    var dx = Tensor(shape: [0])
    if step.computesInputGradient {  // dx = dq·Wq + dk·Wk + dv·Wv
      dx = inputGradients.next(x.shape) { g in
        Kernels.gemm(dq, block: headRows, Wq.value, block: (0, w, d), into: &g, path: products)
        Kernels.gemm(dk, block: headRows, Wk.value, block: (0, w, d), into: &g, accumulate: true, path: products)
        Kernels.gemm(dv, block: headRows, Wv.value, block: (0, w, d), into: &g, accumulate: true, path: products)
      }
    }
    if let tracer = step.tracer { traceBackward(tracer, delta, dH, dA, dS, dq, dk, dv, dx) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ tracer: Tracer, _ y: Tensor) {
    let (x, q, k, v, s, A, o, joined) = (x, q, k, v, s, A, o, joined)
    let (t, d, w, dk, h, useBias, causal) = (tokens, modelWidth, width, headSize!, heads, useBias, causal)
    let (wq, wk, wv, wo) = (Wq.value, Wk.value, Wv.value, Wo.value)
    let (bq, bk, bv, bo) = (self.bq.value, self.bk.value, self.bv.value, self.bo.value)
    let blocks = "columns \(dk == 1 ? "" : "in blocks of \(dk), ")one block per head"
    for (key, value) in [("Wq", wq), ("Wk", wk), ("Wv", wv)] {
      tracer.record(name, .forward, key, batched: false, formula: "\(key): \(w)×\(d) weights, row c feeds column c of \(key.dropFirst()) (\(blocks))", value)
      if useBias { tracer.record(name, .forward, "b" + key.dropFirst(), batched: false, formula: "b\(key.dropFirst()): one bias per column of \(key.dropFirst())", key == "Wq" ? bq : key == "Wk" ? bk : bv) }
    }
    tracer.record(name, .forward, "Wo", batched: false, formula: "Wo: \(d)×\(w) weights, row j feeds output j", wo)
    if useBias { tracer.record(name, .forward, "bo", batched: false, formula: "bo: one bias per output", bo) }
    let plus = useBias ? " + b" : ""
    for (key, value, weights, bias) in [("q", q, wq, bq), ("k", k, wk, bk), ("v", v, wv, bv)] {
      tracer.record(name, .forward, key, formula: "\(key)[t,c] = Σᵢ W\(key)[c,i]·x[t,i]\(plus)\(useBias ? key + "[c]" : "") (head h: columns (h−1)·\(dk)+1 … h·\(dk))", value) { i in
        let (row, c) = (i / w, i % w)
        return Arithmetic(lhs: elementLabel(key, value.shape, i), products: (0..<d).map { (weights.data[c * d + $0], x.data[row * d + $0]) },
                          plus: useBias ? [bias.data[c]] : [], result: value.data[i])
      }
    }
    /// (sample, head, query, key) of element `i` of an [N, h, T, T] value, and where the head's
    /// block of query i and key j starts in q, k, v.
    @Sendable func place(_ i: Int) -> (sample: Int, head: Int, query: Int, key: Int, qAt: Int, kAt: Int) {
      let (sample, head, query, key) = (i / (h * t * t), i / (t * t) % h, i / t % t, i % t)
      return (sample, head, query, key, (sample * t + query) * w + head * dk, (sample * t + key) * w + head * dk)
    }
    tracer.record(name, .forward, "s", formula: "s[h,i,j] = Σ_c q[i,c]·k[j,c] / √dₖ over head h's \(dk) columns (query i, key j)", s) { i in
      let p = place(i)
      let products = (0..<dk).map { "{\(2 * $0)}·{\(2 * $0 + 1)}" }.joined(separator: " + ")
      return Arithmetic(lhs: elementLabel("s", s.shape, i), template: (dk == 1 ? products : "(\(products))") + " / √{\(2 * dk)}",
                        args: (0..<dk).flatMap { [q.data[p.qAt + $0], k.data[p.kAt + $0]] } + [Double(dk)], result: s.data[i])
    }
    if causal {
      let mask = Tensor(shape: [t, t], data: (0..<t * t).map { $0 % t <= $0 / t ? 1 : 0 })
      tracer.record(name, .forward, "mask", batched: false, formula: "mask[i,j] = 1 when key j ≤ query i (kept), 0 when j > i (masked: left out of the softmax, weight exactly 0)", mask) { i in
        let (query, key) = (i / t, i % t)
        return Arithmetic(lhs: elementLabel("mask", mask.shape, i, batch: false),
                          template: key <= query ? "kept (key \(key + 1) ≤ query \(query + 1))" : "masked (key \(key + 1) > query \(query + 1))",
                          args: [], result: mask.data[i])
      }
    }
    let seeing = causal ? " over the keys j ≤ i (masked keys: exactly 0)" : ""
    tracer.record(name, .forward, "A", formula: "A[h,i,j] = e^(s[h,i,j] − m) / Σⱼ′ e^(s[h,i,j′] − m), m = maxⱼ′ s[h,i,j′]\(seeing)", A) { i in
      let p = place(i), seen = causal ? p.query + 1 : t, row = i - p.key
      if p.key >= seen {
        return Arithmetic(lhs: elementLabel("A", A.shape, i), template: "masked (key \(p.key + 1) > query \(p.query + 1))", args: [], result: A.data[i])
      }
      let scores = (0..<seen).map { s.data[row + $0] }
      let denominator = (0..<seen).map { "e^({\($0 + 2)} − {1})" }.joined(separator: " + ")
      return Arithmetic(lhs: elementLabel("A", A.shape, i), template: "e^({0} − {1}) / (\(denominator))",
                        args: [s.data[i], scores.max()!] + scores, result: A.data[i])
    }
    tracer.record(name, .forward, "o", formula: "o[h,i,c] = Σⱼ A[h,i,j]·v[j,c]\(causal ? " over the keys j ≤ i" : "") (c among head h's columns)", o) { i in
      let (cell, c) = (i / dk, i % dk)  // cell = (sample·h + head)·T + query
      let (sample, head, query) = (cell / (h * t), cell / t % h, cell % t)
      let row = cell * t  // A[sample, head, query, 0]
      return Arithmetic(lhs: elementLabel("o", o.shape, i),
                        products: (0..<(causal ? query + 1 : t)).map { (A.data[row + $0], v.data[(sample * t + $0) * w + head * dk + c]) },
                        result: o.data[i])
    }
    tracer.record(name, .forward, "h", symbol: "H", formula: "H = [o₁ … o_h]: the heads side by side, head h in columns (h−1)·\(dk)+1 … h·\(dk)", joined) { i in
      let (row, column) = (i / w, i % w)
      let (sample, query, head, c) = (row / t, row % t, column / dk, column % dk)
      let from = ((sample * h + head) * t + query) * dk + c
      return Arithmetic(lhs: elementLabel("H", joined.shape, i), template: "\(elementLabel("o", o.shape, from)) (head \(head + 1))",
                        args: [], result: joined.data[i])
    }
    tracer.record(name, .forward, "y", formula: "y[t,j] = Σ_c Wo[j,c]·H[t,c]\(useBias ? " + bo[j]" : "")", y) { i in
      let (row, j) = (i / d, i % d)
      return Arithmetic(lhs: elementLabel("y", y.shape, i), products: (0..<w).map { (wo.data[j * w + $0], joined.data[row * w + $0]) },
                        plus: useBias ? [bo.data[j]] : [], result: y.data[i])
    }
  }

  private func traceBackward(_ tracer: Tracer, _ delta: Tensor, _ dH: Tensor, _ dA: Tensor, _ dS: Tensor,
                             _ dq: Tensor, _ dk: Tensor, _ dv: Tensor, _ dx: Tensor) {
    let (x, q, k, v, A, joined) = (x, q, k, v, A, joined)
    let (t, d, w, size, h, causal, rows) = (tokens, modelWidth, width, headSize!, heads, causal, x.rows * tokens)
    let (wq, wk, wv, wo) = (Wq.value, Wk.value, Wv.value, Wo.value)
    /// ∂L/∂W[c,i] = Σ over every token of every sample of g[·,c]·input[·,i], for g [N, T, out] and input [N, T, in].
    func weightGradient(_ key: String, _ grad: Tensor, _ g: Tensor, _ gName: String, _ input: Tensor, _ inputName: String) {
      let (outs, ins) = (grad.shape[0], grad.shape[1])
      tracer.record(name, .backward, key, batched: false, formula: "∂L/∂\(key.dropFirst())[c,i] = Σₙ Σₜ \(gName)[n,t,c]·\(inputName)[n,t,i]", grad) { i in
        let (c, j) = (i / ins, i % ins)
        return Arithmetic(lhs: elementLabel("∂L/∂\(key.dropFirst())", grad.shape, i, batch: false),
                          products: (0..<rows).map { (g.data[$0 * outs + c], input.data[$0 * ins + j]) }, result: grad.data[i])
      }
    }
    func biasGradient(_ key: String, _ grad: Tensor, _ g: Tensor, _ gName: String) {
      tracer.record(name, .backward, key, batched: false, formula: "∂L/∂\(key.dropFirst())[c] = Σₙ Σₜ \(gName)[n,t,c]", grad) { c in
        Arithmetic(lhs: elementLabel("∂L/∂\(key.dropFirst())", grad.shape, c, batch: false), products: [],
                   plus: (0..<rows).map { g.data[$0 * grad.count + c] }, result: grad.data[c])
      }
    }
    tracer.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂y (from the layer above)", delta)
    weightGradient("dWo", Wo.grad, delta, "δ", joined, "H")
    if useBias { biasGradient("dbo", bo.grad, delta, "δ") }
    tracer.record(name, .backward, "dH", formula: "dH[t,c] = Σⱼ δ[t,j]·Wo[j,c]", dH) { i in
      let (row, c) = (i / w, i % w)
      return Arithmetic(lhs: elementLabel("dH", dH.shape, i), products: (0..<d).map { (delta.data[row * d + $0], wo.data[$0 * w + c]) }, result: dH.data[i])
    }
    @Sendable func place(_ i: Int) -> (head: Int, query: Int, key: Int, qAt: Int, kAt: Int, row: Int) {
      let (sample, head, query, key) = (i / (h * t * t), i / (t * t) % h, i / t % t, i % t)
      return (head, query, key, (sample * t + query) * w + head * size, (sample * t + key) * w + head * size, i - key)
    }
    @Sendable func masked(_ symbol: String, _ value: Tensor, _ i: Int, _ p: (head: Int, query: Int, key: Int, qAt: Int, kAt: Int, row: Int)) -> Arithmetic? {
      p.key > p.query && causal
        ? Arithmetic(lhs: elementLabel(symbol, value.shape, i), template: "masked (key \(p.key + 1) > query \(p.query + 1))", args: [], result: value.data[i])
        : nil
    }
    tracer.record(name, .backward, "dA", formula: "dA[h,i,j] = Σ_c dH[i,c]·v[j,c] over head h's columns (dA = dO·vᵀ)\(causal ? "; 0 where masked" : "")", dA) { i in
      let p = place(i)
      return masked("dA", dA, i, p) ?? Arithmetic(lhs: elementLabel("dA", dA.shape, i), products: (0..<size).map { (dH.data[p.qAt + $0], v.data[p.kAt + $0]) }, result: dA.data[i])
    }
    tracer.record(name, .backward, "dS", formula: "dS = A ⊙ (dA − rowsum(dA ⊙ A))", dS) { i in
      let p = place(i)
      if let m = masked("dS", dS, i, p) { return m }
      let seen = causal ? p.query + 1 : t
      let sum = (0..<seen).map { "{\(2 * $0 + 2)}·{\(2 * $0 + 3)}" }.joined(separator: " + ")
      return Arithmetic(lhs: elementLabel("dS", dS.shape, i), template: "{0}·({1} − (\(sum)))",
                        args: [A.data[i], dA.data[i]] + (0..<seen).flatMap { [dA.data[p.row + $0], A.data[p.row + $0]] }, result: dS.data[i])
    }
    /// g[t, c] = Σ over `others` of weight·other[·, c] (/ √dₖ), for the head that owns column c.
    func perHead(_ key: String, _ value: Tensor, formula: String, scaled: Bool, _ terms: @escaping @Sendable (_ sample: Int, _ token: Int, _ column: Int) -> [(Double, Double)]) {
      tracer.record(name, .backward, key, formula: formula, value) { i in
        let (row, column) = (i / w, i % w)
        let products = terms(row / t, row % t, column)
        guard scaled else { return Arithmetic(lhs: elementLabel(key, value.shape, i), products: products, result: value.data[i]) }
        let sum = Arithmetic(lhs: "", products: products, result: 0)
        return Arithmetic(lhs: elementLabel(key, value.shape, i), template: (products.count == 1 ? sum.template : "(\(sum.template))") + " / √{\(sum.args.count)}",
                          args: sum.args + [Double(size)], result: value.data[i])
      }
    }
    // Element (sample, head, query, key) of an [N, h, T, T] value, and token `token`'s column in q, k, v, dH.
    @Sendable func grid(_ sample: Int, _ head: Int, _ query: Int, _ key: Int) -> Int { ((sample * h + head) * t + query) * t + key }
    @Sendable func at(_ sample: Int, _ token: Int, _ column: Int) -> Int { (sample * t + token) * w + column }
    let over = causal ? " over the keys j ≤ i" : "", overQueries = causal ? " over the queries i ≥ j" : ""
    perHead("dq", dq, formula: "dq[i,c] = Σⱼ dS[h,i,j]·k[j,c] / √dₖ\(over) (h the head of column c)", scaled: true) { sample, i, c in
      (0..<(causal ? i + 1 : t)).map { (dS.data[grid(sample, c / size, i, $0)], k.data[at(sample, $0, c)]) }
    }
    perHead("dk", dk, formula: "dk[j,c] = Σᵢ dS[h,i,j]·q[i,c] / √dₖ\(overQueries) (h the head of column c)", scaled: true) { sample, j, c in
      ((causal ? j : 0)..<t).map { (dS.data[grid(sample, c / size, $0, j)], q.data[at(sample, $0, c)]) }
    }
    perHead("dv", dv, formula: "dv[j,c] = Σᵢ A[h,i,j]·dH[i,c]\(overQueries) (dv = Aᵀ·dO; h the head of column c)", scaled: false) { sample, j, c in
      ((causal ? j : 0)..<t).map { (A.data[grid(sample, c / size, $0, j)], dH.data[at(sample, $0, c)]) }
    }
    weightGradient("dWq", Wq.grad, dq, "dq", x, "x")
    if useBias { biasGradient("dbq", bq.grad, dq, "dq") }
    weightGradient("dWk", Wk.grad, dk, "dk", x, "x")
    if useBias { biasGradient("dbk", bk.grad, dk, "dk") }
    weightGradient("dWv", Wv.grad, dv, "dv", x, "x")
    if useBias { biasGradient("dbv", bv.grad, dv, "dv") }
    tracer.record(name, .backward, "dx", formula: "∂L/∂x[t,i] = Σ_c dq[t,c]·Wq[c,i] + Σ_c dk[t,c]·Wk[c,i] + Σ_c dv[t,c]·Wv[c,i]", dx) { i in
      let (row, j) = (i / d, i % d)
      var parts: [String] = [], args: [Double] = []
      for (g, weights) in [(dq, wq), (dk, wk), (dv, wv)] {
        let sum = (0..<w).map { "{\(args.count + 2 * $0)}·{\(args.count + 2 * $0 + 1)}" }.joined(separator: " + ")
        parts.append(w == 1 ? sum : "(\(sum))")
        args += (0..<w).flatMap { [g.data[row * w + $0], weights.data[$0 * d + j]] }
      }
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: parts.joined(separator: " + "), args: args, result: dx.data[i])
    }
  }
}

// MARK: Worksheet

extension SelfAttention {
  /// The output entry is y.
  public var outputKey: String { "y" }

  /// Each sample's tokens [T, ·] are a grid with a row per token, s and A a T × T grid per sample
  /// and head (a row per query, a column per key), so a head's block of a token is part of a row:
  ///
  ///     q[n,t,c] = SUMPRODUCT(Wq row c, x row t) + bq[c]          (k, v alike)
  ///     s = SUMPRODUCT(q row i, k row j of the head's columns) / SQRT(dₖ)
  ///     A = EXP(s − MAX(row)) / SUMPRODUCT(EXP(row − MAX(row)))   over the keys the query sees; 0 where masked
  ///     o = SUMPRODUCT(TRANSPOSE(A row i), v column c),  H = o,  y = SUMPRODUCT(Wo row j, H row t) + bo[j]
  ///     dA = SUMPRODUCT(dH row i, v row j),  dS = A·(dA − SUMPRODUCT(dA row, A row))
  ///     dq = SUMPRODUCT(TRANSPOSE(dS row i), k column c)/SQRT(dₖ),  dk = SUMPRODUCT(dS column j, q column c)/SQRT(dₖ)
  ///     dv = SUMPRODUCT(A column j, dH column c);  dW = Σₙ SUMPRODUCT(g column c, input column i);  db = SUM(g columns)
  ///     dx = SUMPRODUCT(dq row t, TRANSPOSE(Wq column i)) + … (k) + … (v)
  ///
  /// The weights and biases are editable; the mask is constants (1 kept, 0 masked).
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (n, t, d, w, size, h, causal, useBias) = (c.batch, tokens, modelWidth, width, headSize!, heads, causal, useBias)
    let x = c.input, delta = c.entry(.backward, "delta")
    func e(_ key: String) -> String { c.entry(.forward, key) }
    func g(_ key: String) -> String { c.entry(.backward, key) }
    /// Token `token` of sample `sample` in a [N, T, width] entry: `count` cells from column `first`.
    func tokenRow(_ entry: String, _ sample: Int, _ token: Int, from first: Int = 0, _ count: Int, width: Int) -> Formula {
      let start = (sample * t + token) * width + first
      return .range(entry, start, start + count - 1)
    }
    /// Column `column` of sample `sample`'s tokens `rows` in a [N, T, width] entry.
    func tokenColumn(_ entry: String, _ sample: Int, _ column: Int, _ rows: Range<Int>, width: Int) -> Formula {
      .range(entry, (sample * t + rows.lowerBound) * width + column, (sample * t + rows.upperBound - 1) * width + column)
    }
    /// Row `query` (the keys `keys`) of grid `grid` = sample·h + head in an [N, h, T, T] entry.
    func scoreRow(_ entry: String, _ grid: Int, _ query: Int, _ keys: Range<Int>) -> Formula {
      .range(entry, (grid * t + query) * t + keys.lowerBound, (grid * t + query) * t + keys.upperBound - 1)
    }
    /// Column `key` (the queries `queries`) of grid `grid` in an [N, h, T, T] entry.
    func scoreColumn(_ entry: String, _ grid: Int, _ key: Int, _ queries: Range<Int>) -> Formula {
      .range(entry, (grid * t + queries.lowerBound) * t + key, (grid * t + queries.upperBound - 1) * t + key)
    }
    /// Column `column` of an unbatched [rows, columns] matrix.
    func matrixColumn(_ entry: String, _ column: Int, rows: Int, columns: Int) -> Formula {
      .range(entry, column, (rows - 1) * columns + column)
    }
    func seen(_ query: Int) -> Range<Int> { 0..<(causal ? query + 1 : t) }  // the keys a query sees
    func seeing(_ key: Int) -> Range<Int> { (causal ? key : 0)..<t }  // the queries that see a key
    let root = Formula.sqrt(.number(Double(size)))
    /// Element i of an [N, h, T, T] value as (grid, query, key, sample, head).
    func place(_ i: Int) -> (grid: Int, query: Int, key: Int, sample: Int, head: Int) {
      let grid = i / (t * t)
      return (grid, i / t % t, i % t, grid / h, grid % h)
    }
    /// x·Wᵀ + b for a projection of a [N, T, inputs] entry: element i of [N, T, outputs].
    func projection(_ weights: String, _ bias: String, _ input: String, inputs: Int, outputs: Int) -> SheetCells {
      SheetCells { i in
        let (row, column) = (i / outputs, i % outputs)
        let dot = Formula.sumProduct(SheetLayout.row(weights, column, length: inputs), tokenRow(input, row / t, row % t, inputs, width: inputs))
        return useBias ? dot + .cell(bias, column) : dot
      }
    }
    /// Σₙ SUMPRODUCT(g column c, input column i) for a weight gradient [outputs, inputs].
    func weightGradient(_ grad: String, _ input: String, outputs: Int, inputs: Int) -> SheetCells {
      SheetCells { i in
        let (column, j) = (i / inputs, i % inputs)
        return .sum((0..<n).map { .sumProduct(tokenColumn(grad, $0, column, 0..<t, width: outputs), tokenColumn(input, $0, j, 0..<t, width: inputs)) })
      }
    }
    /// SUM over every sample's column c of g.
    func biasGradient(_ grad: String, outputs: Int) -> SheetCells {
      SheetCells { column in .call("SUM", (0..<n).map { tokenColumn(grad, $0, column, 0..<t, width: outputs) }) }
    }
    switch (phase, key) {
    case (.forward, "Wq"), (.forward, "Wk"), (.forward, "Wv"), (.forward, "Wo"),
      (.forward, "bq"), (.forward, "bk"), (.forward, "bv"), (.forward, "bo"):
      return .input
    case (.forward, "q"): return projection(e("Wq"), e("bq"), x, inputs: d, outputs: w)
    case (.forward, "k"): return projection(e("Wk"), e("bk"), x, inputs: d, outputs: w)
    case (.forward, "v"): return projection(e("Wv"), e("bv"), x, inputs: d, outputs: w)
    case (.forward, "s"):
      return SheetCells { i in
        let p = place(i)
        return .sumProduct(tokenRow(e("q"), p.sample, p.query, from: p.head * size, size, width: w),
                           tokenRow(e("k"), p.sample, p.key, from: p.head * size, size, width: w)) / root
      }
    case (.forward, "mask"): return SheetCells { i in .number(i % t <= i / t ? 1 : 0) }
    case (.forward, "A"):
      return SheetCells { i in
        let p = place(i)
        guard seen(p.query).contains(p.key) else { return .number(0) }
        let row = scoreRow(e("s"), p.grid, p.query, seen(p.query))
        let m = Formula.call("MAX", [row])
        return .exp(.cell(e("s"), i) - m) / .call("SUMPRODUCT", [.exp(row - m)])
      }
    case (.forward, "o"):
      return SheetCells { i in
        let (cell, column) = (i / size, i % size)  // cell = grid·T + query
        let (grid, query) = (cell / t, cell % t)
        return .sumProduct(.call("TRANSPOSE", [scoreRow(e("A"), grid, query, seen(query))]),
                           tokenColumn(e("v"), grid / h, grid % h * size + column, seen(query), width: w))
      }
    case (.forward, "h"):
      return SheetCells { i in
        let (row, column) = (i / w, i % w)
        return .cell(e("o"), (((row / t) * h + column / size) * t + row % t) * size + column % size)
      }
    case (.forward, "y"): return projection(e("Wo"), e("bo"), e("h"), inputs: w, outputs: d)
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dWo"): return weightGradient(delta, e("h"), outputs: d, inputs: w)
    case (.backward, "dbo"): return biasGradient(delta, outputs: d)
    case (.backward, "dH"):
      return SheetCells { i in
        let (row, column) = (i / w, i % w)
        return .sumProduct(tokenRow(delta, row / t, row % t, d, width: d), .call("TRANSPOSE", [matrixColumn(e("Wo"), column, rows: d, columns: w)]))
      }
    case (.backward, "dA"):
      return SheetCells { i in
        let p = place(i)
        guard seen(p.query).contains(p.key) else { return .number(0) }
        return .sumProduct(tokenRow(g("dH"), p.sample, p.query, from: p.head * size, size, width: w),
                           tokenRow(e("v"), p.sample, p.key, from: p.head * size, size, width: w))
      }
    case (.backward, "dS"):
      return SheetCells { i in
        let p = place(i)
        guard seen(p.query).contains(p.key) else { return .number(0) }
        let rowsum = Formula.sumProduct(scoreRow(g("dA"), p.grid, p.query, seen(p.query)), scoreRow(e("A"), p.grid, p.query, seen(p.query)))
        return .cell(e("A"), i) * (.cell(g("dA"), i) - rowsum)
      }
    case (.backward, "dq"):
      return SheetCells { i in
        let (row, column) = (i / w, i % w)
        let (sample, query) = (row / t, row % t)
        return .sumProduct(.call("TRANSPOSE", [scoreRow(g("dS"), sample * h + column / size, query, seen(query))]),
                           tokenColumn(e("k"), sample, column, seen(query), width: w)) / root
      }
    case (.backward, "dk"):
      return SheetCells { i in
        let (row, column) = (i / w, i % w)
        let (sample, key) = (row / t, row % t)
        return .sumProduct(scoreColumn(g("dS"), sample * h + column / size, key, seeing(key)),
                           tokenColumn(e("q"), sample, column, seeing(key), width: w)) / root
      }
    case (.backward, "dv"):
      return SheetCells { i in
        let (row, column) = (i / w, i % w)
        let (sample, key) = (row / t, row % t)
        return .sumProduct(scoreColumn(e("A"), sample * h + column / size, key, seeing(key)),
                           tokenColumn(g("dH"), sample, column, seeing(key), width: w))
      }
    case (.backward, "dWq"): return weightGradient(g("dq"), x, outputs: w, inputs: d)
    case (.backward, "dWk"): return weightGradient(g("dk"), x, outputs: w, inputs: d)
    case (.backward, "dWv"): return weightGradient(g("dv"), x, outputs: w, inputs: d)
    case (.backward, "dbq"): return biasGradient(g("dq"), outputs: w)
    case (.backward, "dbk"): return biasGradient(g("dk"), outputs: w)
    case (.backward, "dbv"): return biasGradient(g("dv"), outputs: w)
    case (.backward, "dx"):
      return SheetCells { i in
        let (row, column) = (i / d, i % d)
        return .sum(["dq", "dk", "dv"].map { key in
          .sumProduct(tokenRow(g(key), row / t, row % t, w, width: w),
                      .call("TRANSPOSE", [matrixColumn(e("W" + key.dropFirst()), column, rows: w, columns: d)]))
        })
      }
    default: return nil
    }
  }
}

extension SelfAttention: TokenGrids {
  /// s, the mask, A, dA and dS: row i is query token i, column j key token j.
  public var queryKeyEntries: Set<String> { ["s", "mask", "A", "dA", "dS"] }
  /// A: each row is a softmax over the keys the query sees, Σⱼ A[h,i,j] = 1.
  public var distributionEntries: Set<String> { ["A"] }
}

extension SelfAttention: CausalityReporting {
  /// True with `causal: true`: query t reads keys 1 … t only.
  public var isCausal: Bool { causal }
}
