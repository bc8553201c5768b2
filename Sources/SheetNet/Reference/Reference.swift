import Foundation

/// The textbook tier: every operation that has a fast path, written as the plain loops of its
/// formula, in the order a spreadsheet sums. These are the numbers the trace explains; the fast
/// tier (`Kernels`, `FastConvolution`) must give the same ones (bit for bit where it sums in the
/// same order, else within 1e-12 relative), and the two-tier tests hold it to that. A layer runs
/// this tier when `ComputePolicy.route` says `.reference`.
///
/// Nothing here touches a raw buffer or reuses memory: each function returns new tensors.
public enum Reference {
  /// Which reference operation to break on purpose (`pool`, `conv`, `product`, `norm`, and
  /// `attention`, self-attention's heads H): its first output element gains 1e-9, so a two-tier
  /// comparison must fail. Off (nil) unless the environment sets SHEETNET_BREAK_TIER; a test
  /// binds it for one task only (`Reference.$brokenTier.withValue("pool") { … }`).
  @TaskLocal package static var brokenTier: String? = ProcessInfo.processInfo.environment["SHEETNET_BREAK_TIER"]

  /// Adds 1e-9 to the first element of `t` when `brokenTier` names `operation`.
  @inline(__always)
  static func breakIfAsked(_ operation: String, _ t: inout Tensor) {
    if let broken = brokenTier, broken == operation, t.count > 0 { t.data[0] += 1e-9 }
  }

  /// C = op(A)·op(B) (+ b), op(X) being X or Xᵀ: every element summed in k order,
  ///
  ///     C[i,j] = ((A[i,0]·B[0,j] + A[i,1]·B[1,j]) + …) + A[i,K−1]·B[K−1,j]   (then + b[j])
  ///
  /// a multiply then an add each term, never regrouped, as SUMPRODUCT reads a row; the bias is
  /// added after the sum. A and B are read as matrices [rows, columns] (axes after the first
  /// folded into columns). Returns C [M, N]. Cost: M·N·K multiply-adds.
  public static func matrixProduct(_ a: Tensor, transposeA: Bool = false, _ b: Tensor, transposeB: Bool = false,
                                   plus bias: Tensor? = nil) -> Tensor {
    let (m, k) = transposeA ? (a.columns, a.rows) : (a.rows, a.columns)
    let (k2, n) = transposeB ? (b.columns, b.rows) : (b.rows, b.columns)
    precondition(k == k2, "matrixProduct: op(A) is \(m)×\(k) but op(B) is \(k2)×\(n) (A \(a.shape), B \(b.shape))")
    precondition(bias == nil || bias!.count == n, "matrixProduct: bias \(bias!.shape) for \(n) columns")
    var c = Tensor(shape: [m, n])
    for i in 0..<m {
      for j in 0..<n {
        var sum = 0.0
        for kk in 0..<k {
          let x = transposeA ? a.data[kk * m + i] : a.data[i * k + kk]  // op(A)[i, kk]
          let y = transposeB ? b.data[j * k + kk] : b.data[kk * n + j]  // op(B)[kk, j]
          sum += x * y
        }
        if let bias { sum += bias.data[j] }
        c.data[i * n + j] = sum
      }
    }
    breakIfAsked("product", &c)
    return c
  }

  /// db[c] = Σₙ Σ_q δ[n, c, q] for δ read as [N, C, spatial]: sample after sample, positions in
  /// order (spatial 1: db[j] = Σₙ δ[n, j], a dense layer's bias gradient). Returns db [C].
  public static func biasGradient(_ delta: Tensor, channels: Int, spatial: Int = 1) -> Tensor {
    let n = delta.count / max(channels * spatial, 1)
    precondition(n * channels * spatial == delta.count, "biasGradient: \(channels)×\(spatial) does not fit \(delta.shape)")
    var db = Tensor(shape: [channels])
    for c in 0..<channels {
      var sum = 0.0
      for s in 0..<n {
        for q in 0..<spatial { sum += delta.data[(s * channels + c) * spatial + q] }
      }
      db.data[c] = sum
    }
    return db
  }
}
