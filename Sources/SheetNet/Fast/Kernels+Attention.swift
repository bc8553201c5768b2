import Foundation

/// The fast tier of `SelfAttention`'s per-head core: scores, softmax and weighted sums forward,
/// and dA, dv, dS, dq, dk backward, for a whole batch at once. The four projections around it
/// are ordinary matrix products (`Kernels.gemm`, on the route the policy gives).
///
/// Every number equals the reference loops of `SelfAttention` bit for bit, on every product
/// path: each sum runs over the same terms in the same order (the heads' keys or queries in
/// index order, the causal triangle never entered), s ← s + x·y a multiply then an add as in the
/// pure-Swift product (`.swift`), never fused, and the same divisions by √dₖ afterwards. Speed
/// comes from working across the output row, never across a sum: one head's operands are copied
/// into contiguous zero-padded panels, and 16 outputs of a row (two SIMD8 sums) advance together
/// while the sum's index walks in order.
///
/// Layouts as in `SelfAttention`: q, k, v, H and their gradients [N, T, h·dₖ], head `head` the
/// columns head·dₖ ..< (head + 1)·dₖ; s, A, dA, dS [N, h, T, T], row i a query, column j a key;
/// o [N, h, T, dₖ].
extension Kernels {
  /// Which terms of a sum, or which columns of a row, row i of a per-head product takes.
  package enum Span: Sendable {
    /// All of them.
    case all
    /// 0 … i: the keys query i sees under the causal mask.
    case upTo
    /// i … last: the queries that see key i under the causal mask.
    case from

    /// The indices of `count` that row `i` takes.
    @inline(__always)
    func range(_ i: Int, _ count: Int) -> Range<Int> {
      switch self {
      case .all: 0..<count
      case .upTo: 0..<min(i + 1, count)
      case .from: min(i, count)..<count
      }
    }
  }

  /// The forward core for a batch: per sample and head,
  ///
  ///     s = q·kᵀ/√dₖ [T, T] (every key),  A = softmax of each row over the keys the query sees
  ///     (0 at a masked key),  o = A·v [T, dₖ],  H = [o₁ … o_h]
  ///
  /// q, k, v [N, T, h·dₖ]; writes every element of s, A [N, h, T, T], o [N, h, T, dₖ] and H
  /// [N, T, h·dₖ], which must have those element counts. Cost per sample and head: T²·dₖ
  /// multiply-adds for s, T²·dₖ (T(T+1)/2·dₖ causal) for o, T² exponentials (T(T+1)/2 causal).
  package static func attentionForward(
    q: Tensor, k: Tensor, v: Tensor, heads h: Int, headSize dk: Int, causal: Bool,
    scores s: inout Tensor, weights A: inout Tensor, heads o: inout Tensor, joined H: inout Tensor
  ) {
    let w = h * dk, t = w == 0 ? 0 : q.columns / w, n = q.rows
    precondition(k.count == q.count && v.count == q.count && q.count == n * t * w, "attention: q \(q.shape), k \(k.shape), v \(v.shape) for \(h) heads of \(dk)")
    precondition(s.count == n * h * t * t && A.count == s.count && o.count == n * h * t * dk && H.count == q.count,
                 "attention: s \(s.shape), A \(A.shape), o \(o.shape), H \(H.shape) for [\(n), \(t), \(w)]")
    guard n > 0 && t > 0 && dk > 0 else { return }
    let keys: Span = causal ? .upTo : .all
    let (tPad, dkPad) = (padded(t), padded(dk))
    let root = Double(dk).squareRoot()
    q.data.withUnsafeBufferPointer { pq in
      k.data.withUnsafeBufferPointer { pk in
        v.data.withUnsafeBufferPointer { pv in
          s.data.withUnsafeMutableBufferPointer { ps in
            A.data.withUnsafeMutableBufferPointer { pA in
              o.data.withUnsafeMutableBufferPointer { po in
                H.data.withUnsafeMutableBufferPointer { pH in
                  withScratch(dk * tPad + t * dkPad) { scratch in
                    let (kT, vPanel) = (scratch, scratch + dk * tPad)  // kᵀ [dₖ, T], v [T, dₖ], padded
                    for sample in 0..<n {
                      for head in 0..<h {
                        let block = sample * t * w + head * dk  // the head's first column of token 0
                        let grid = (sample * h + head) * t * t  // its s and A
                        let (q0, s0, A0) = (pq.baseAddress! + block, ps.baseAddress! + grid, pA.baseAddress! + grid)
                        packTransposed(pk.baseAddress! + block, rowStride: w, rows: t, width: dk, into: kT, rowStride: tPad)
                        pack(pv.baseAddress! + block, rowStride: w, rows: t, width: dk, into: vPanel, rowStride: dkPad)
                        // s = q·kᵀ/√dₖ: row i sums over the head's columns c in order.
                        rowProducts(x: q0, xRow: w, xK: 1, y: kT, yRow: tPad, rows: t, depth: dk, terms: .all,
                                    width: t, columns: .all, dividedBy: root, into: s0, cRow: t)
                        for i in 0..<t { softmaxRow(s0 + i * t, into: A0 + i * t, seen: keys.range(i, t).count, count: t) }
                        // o = A·v over the keys query i sees, into o and H.
                        let o0 = po.baseAddress! + (sample * h + head) * t * dk
                        rowProducts(x: A0, xRow: t, xK: 1, y: vPanel, yRow: dkPad, rows: t, depth: t, terms: keys,
                                    width: dk, columns: .all, dividedBy: nil, into: o0, cRow: dk)
                        for i in 0..<t { (pH.baseAddress! + block + i * w).update(from: o0 + i * dk, count: dk) }  // H = [o₁ … o_h]
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// The backward core for a batch: per sample and head, with dO the head's columns of dH,
  ///
  ///     dA = dO·vᵀ,  dv = Aᵀ·dO,  dS = A ⊙ (dA − rowsum(dA ⊙ A)),  dq = dS·k/√dₖ,  dk = dSᵀ·q/√dₖ
  ///
  /// each sum over the keys a query sees (or the queries that see a key) in index order; dA and
  /// dS are 0 at masked entries. dH, q, k, v [N, T, h·dₖ], A [N, h, T, T]; writes every element
  /// of dA, dS [N, h, T, T] and dq, dk, dv [N, T, h·dₖ]. Cost per sample and head: 4·T²·dₖ
  /// multiply-adds (about half of that causal).
  package static func attentionBackward(
    dH: Tensor, q: Tensor, k: Tensor, v: Tensor, weights A: Tensor, heads h: Int, headSize dk: Int, causal: Bool,
    dA: inout Tensor, dS: inout Tensor, dq: inout Tensor, dk dK: inout Tensor, dv: inout Tensor
  ) {
    let w = h * dk, t = w == 0 ? 0 : q.columns / w, n = q.rows
    precondition(dH.count == q.count && k.count == q.count && v.count == q.count && q.count == n * t * w && A.count == n * h * t * t,
                 "attention backward: dH \(dH.shape), q \(q.shape), k \(k.shape), v \(v.shape), A \(A.shape) for \(h) heads of \(dk)")
    precondition(dA.count == A.count && dS.count == A.count && dq.count == q.count && dK.count == q.count && dv.count == q.count,
                 "attention backward: dA \(dA.shape), dS \(dS.shape), dq \(dq.shape), dk \(dK.shape), dv \(dv.shape)")
    guard n > 0 && t > 0 && dk > 0 else { return }
    let (keys, queries): (Span, Span) = causal ? (.upTo, .from) : (.all, .all)
    let (tPad, dkPad) = (padded(t), padded(dk))
    let root = Double(dk).squareRoot()
    dH.data.withUnsafeBufferPointer { pdH in
      q.data.withUnsafeBufferPointer { pq in
        k.data.withUnsafeBufferPointer { pk in
          v.data.withUnsafeBufferPointer { pv in
            A.data.withUnsafeBufferPointer { pA in
              dA.data.withUnsafeMutableBufferPointer { pdA in
                dS.data.withUnsafeMutableBufferPointer { pdS in
                  dq.data.withUnsafeMutableBufferPointer { pdq in
                    dK.data.withUnsafeMutableBufferPointer { pdk in
                      dv.data.withUnsafeMutableBufferPointer { pdv in
                        withScratch(dk * tPad + 3 * t * dkPad) { scratch in
                          // vᵀ [dₖ, T] for dA; dO, k, q [T, dₖ] for dv, dq, dk; all padded.
                          let (vT, dO, kPanel, qPanel) = (scratch, scratch + dk * tPad, scratch + dk * tPad + t * dkPad,
                                                          scratch + dk * tPad + 2 * t * dkPad)
                          for sample in 0..<n {
                            for head in 0..<h {
                              let block = sample * t * w + head * dk, grid = (sample * h + head) * t * t
                              let (A0, dA0, dS0) = (pA.baseAddress! + grid, pdA.baseAddress! + grid, pdS.baseAddress! + grid)
                              packTransposed(pv.baseAddress! + block, rowStride: w, rows: t, width: dk, into: vT, rowStride: tPad)
                              pack(pdH.baseAddress! + block, rowStride: w, rows: t, width: dk, into: dO, rowStride: dkPad)
                              pack(pk.baseAddress! + block, rowStride: w, rows: t, width: dk, into: kPanel, rowStride: dkPad)
                              pack(pq.baseAddress! + block, rowStride: w, rows: t, width: dk, into: qPanel, rowStride: dkPad)
                              // dA = dO·vᵀ at the keys each query sees (0 elsewhere).
                              rowProducts(x: pdH.baseAddress! + block, xRow: w, xK: 1, y: vT, yRow: tPad, rows: t, depth: dk,
                                          terms: .all, width: t, columns: keys, dividedBy: nil, into: dA0, cRow: t)
                              // dv = Aᵀ·dO: key j sums over the queries that see it (A's column j).
                              rowProducts(x: A0, xRow: 1, xK: t, y: dO, yRow: dkPad, rows: t, depth: t, terms: queries,
                                          width: dk, columns: .all, dividedBy: nil, into: pdv.baseAddress! + block, cRow: w)
                              for i in 0..<t {  // dS = A ⊙ (dA − rowsum(dA ⊙ A))
                                softmaxGradientRow(A0 + i * t, dA0 + i * t, into: dS0 + i * t, seen: keys.range(i, t).count, count: t)
                              }
                              // dq = dS·k/√dₖ over the keys query i sees; dk = dSᵀ·q/√dₖ over the queries that see key j.
                              rowProducts(x: dS0, xRow: t, xK: 1, y: kPanel, yRow: dkPad, rows: t, depth: t, terms: keys,
                                          width: dk, columns: .all, dividedBy: root, into: pdq.baseAddress! + block, cRow: w)
                              rowProducts(x: dS0, xRow: 1, xK: t, y: qPanel, yRow: dkPad, rows: t, depth: t, terms: queries,
                                          width: dk, columns: .all, dividedBy: root, into: pdk.baseAddress! + block, cRow: w)
                            }
                          }
                        }
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// `count` rounded up to whole pairs of SIMD8 (16), the padded row length of a panel.
  @inline(__always)
  private static func padded(_ count: Int) -> Int { (count + 15) / 16 * 16 }

  /// C(i, j) = Σ_{κ ∈ terms(i)} X(i, κ)·Y(κ, j) for i < rows and j ∈ columns(i) of `width`, κ
  /// ascending, each term s ← s + x·y (a multiply, then an add: the reference loop's rounding),
  /// then C(i, j) = s / divisor when a divisor is given; other columns of row i are set to 0.
  /// X(i, κ) = x[i·xRow + κ·xK]; Y is a panel of `depth` rows `yRow` apart (a multiple of 16),
  /// zero past `width`, so 16 columns load at once; C(i, j) = c[i·cRow + j].
  ///
  /// Sixteen outputs of a row advance together in two SIMD8 sums while κ walks in order, the
  /// tile of `Kernels.gemm`'s pure-Swift product cut down to one row, since each row's sum may
  /// have its own range here.
  @inline(__always)
  private static func rowProducts(
    x: UnsafePointer<Double>, xRow: Int, xK: Int, y: UnsafePointer<Double>, yRow: Int, rows: Int, depth: Int, terms: Span,
    width: Int, columns: Span, dividedBy divisor: Double?, into c: UnsafeMutablePointer<Double>, cRow: Int
  ) {
    typealias V = SIMD8<Double>
    assert(yRow % 16 == 0 && yRow >= width, "rowProducts: panel rows of \(yRow) for \(width) columns")
    for i in 0..<rows {
      let sum = terms.range(i, depth), used = columns.range(i, width).count, out = c + i * cRow
      var j = 0
      while j < used {
        var s0 = V(), s1 = V()
        var px = x + i * xRow + sum.lowerBound * xK, py = UnsafeRawPointer(y + sum.lowerBound * yRow + j)
        let yStep = yRow * MemoryLayout<Double>.stride
        for _ in sum {
          let b = V(repeating: px.pointee)
          s0 = s0 + b * py.loadUnaligned(as: V.self)
          s1 = s1 + b * py.loadUnaligned(fromByteOffset: 8 * MemoryLayout<Double>.stride, as: V.self)
          px += xK
          py += yStep
        }
        if let divisor {
          s0 = s0 / V(repeating: divisor)
          s1 = s1 / V(repeating: divisor)
        }
        let lanes = min(16, used - j)
        if lanes == 16 {
          UnsafeMutableRawPointer(out + j).storeBytes(of: s0, as: V.self)
          UnsafeMutableRawPointer(out + j + 8).storeBytes(of: s1, as: V.self)
        } else {
          for l in 0..<lanes { out[j + l] = l < 8 ? s0[l] : s1[l - 8] }
        }
        j += 16
      }
      for j in used..<width { out[j] = 0 }
    }
  }

  /// A = softmax of one row of scores over its first `seen` of `count` entries, 0 after them:
  /// m = the maximum, e = e^(s − m), A = e / Σ e (summed in order), as the reference loops.
  @inline(__always)
  private static func softmaxRow(_ s: UnsafePointer<Double>, into a: UnsafeMutablePointer<Double>, seen: Int, count: Int) {
    var m = s[0]
    for j in 1..<seen { m = max(m, s[j]) }
    var sum = 0.0
    for j in 0..<seen {
      let e = exp(s[j] - m)
      a[j] = e
      sum += e
    }
    for j in 0..<seen { a[j] = a[j] / sum }
    for j in seen..<count { a[j] = 0 }
  }

  /// dS = A ⊙ (dA − Σⱼ dA[j]·A[j]) over one row's first `seen` of `count` entries, 0 after them.
  @inline(__always)
  private static func softmaxGradientRow(
    _ a: UnsafePointer<Double>, _ dA: UnsafePointer<Double>, into dS: UnsafeMutablePointer<Double>, seen: Int, count: Int
  ) {
    var dot = 0.0
    for j in 0..<seen { dot += dA[j] * a[j] }
    for j in 0..<seen { dS[j] = a[j] * (dA[j] - dot) }
    for j in seen..<count { dS[j] = 0 }
  }

  /// `rows` rows of `width` values (`rowStride` apart) into a panel, rows `panelRow` apart, zero past `width`.
  @inline(__always)
  private static func pack(
    _ from: UnsafePointer<Double>, rowStride: Int, rows: Int, width: Int, into panel: UnsafeMutablePointer<Double>, rowStride panelRow: Int
  ) {
    for r in 0..<rows {
      (panel + r * panelRow).update(from: from + r * rowStride, count: width)
      (panel + r * panelRow + width).update(repeating: 0, count: panelRow - width)
    }
  }

  /// The transpose of `rows` rows of `width` values (`rowStride` apart) into a panel of `width`
  /// rows, `panelRow` apart, zero past `rows`: panel[c·panelRow + r] = from[r·rowStride + c].
  @inline(__always)
  private static func packTransposed(
    _ from: UnsafePointer<Double>, rowStride: Int, rows: Int, width: Int, into panel: UnsafeMutablePointer<Double>, rowStride panelRow: Int
  ) {
    for c in 0..<width {
      let line = panel + c * panelRow
      for r in 0..<rows { line[r] = from[r * rowStride + c] }
      (line + rows).update(repeating: 0, count: panelRow - rows)
    }
  }
}
