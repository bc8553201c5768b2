import CBLAS

/// The only code that touches raw buffers or BLAS: matrix products, bias broadcast, element-wise
/// maps and reductions.
///
/// Summation order: the pure-Swift product sums every output element in a fixed order,
/// c = ((a₀b₀ + a₁b₁) + a₂b₂) + … over k = 0, 1, …, K−1, exactly as a spreadsheet's
/// SUMPRODUCT reads a row left to right, and adds a bias after the sum. Products at or above
/// `blasThreshold` multiply-adds go to OpenBLAS `cblas_dgemm`, which blocks and vectorises the
/// k loop, so its results may differ from the pure path in the last bits (the tests bound it by
/// 1e-12 relative). A traced step of a small network never reaches that threshold.
public enum Kernels {
  /// Products with M·N·K at or above this many multiply-adds go to OpenBLAS (64³).
  nonisolated(unsafe) public static var blasThreshold = 64 * 64 * 64

  /// OpenBLAS runs on one thread: tiny products gain nothing from threads, and one thread keeps
  /// every run's numbers identical.
  private static let blasSetUp: Void = { openblas_set_num_threads(1) }()

  /// Which implementation a product uses.
  public enum Path: Sendable { case automatic, swift, blas }

  /// C ← op(A)·op(B), or C ← C + op(A)·op(B) when `accumulate`, where op(X) is X or Xᵀ.
  ///
  /// A and B are read as matrices [rows, columns] (every axis after the first folded into
  /// columns). C must already have shape M×N (any rank with that many elements).
  /// Cost: 2·M·N·K flops.
  public static func gemm(
    _ a: Tensor, transposeA: Bool = false, _ b: Tensor, transposeB: Bool = false,
    into c: inout Tensor, accumulate: Bool = false, path: Path = .automatic
  ) {
    let (ar, ac) = (a.rows, a.columns), (br, bc) = (b.rows, b.columns)
    let m = transposeA ? ac : ar, k = transposeA ? ar : ac
    let k2 = transposeB ? bc : br, n = transposeB ? br : bc
    precondition(k == k2, "gemm: op(A) is \(m)×\(k) but op(B) is \(k2)×\(n) (A \(a.shape), B \(b.shape))")
    precondition(c.count == m * n, "gemm: C has shape \(c.shape) but the product is \(m)×\(n)")
    let useBLAS: Bool
    switch path {
    case .automatic: useBLAS = m * n * k >= blasThreshold
    case .swift: useBLAS = false
    case .blas: useBLAS = true
    }
    if m == 0 || n == 0 { return }
    if useBLAS {
      blasGEMM(a, transposeA, b, transposeB, &c, m, n, k, ac, bc, accumulate)
    } else {
      swiftGEMM(a, transposeA, b, transposeB, &c, m, n, k, ac, bc, accumulate)
    }
  }

  @inline(never)
  private static func blasGEMM(
    _ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool, _ c: inout Tensor,
    _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ accumulate: Bool
  ) {
    _ = blasSetUp
    a.data.withUnsafeBufferPointer { pa in
      b.data.withUnsafeBufferPointer { pb in
        c.data.withUnsafeMutableBufferPointer { pc in
          cblas_dgemm(
            CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), 1.0, pa.baseAddress, Int32(max(lda, 1)),
            pb.baseAddress, Int32(max(ldb, 1)), accumulate ? 1.0 : 0.0, pc.baseAddress, Int32(max(n, 1)))
        }
      }
    }
  }

  /// Pure-Swift product: op(B) packed into panels of 8 columns (K×8 each, contiguous), op(A)
  /// packed row-major, then a 4×8 register block per step of k, summed in k order.
  private static func swiftGEMM(
    _ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool, _ c: inout Tensor,
    _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ accumulate: Bool
  ) {
    let panels = (n + 7) / 8
    withUnsafeTemporaryAllocation(of: Double.self, capacity: max(panels * 8 * k, 1)) { bp in
      withUnsafeTemporaryAllocation(of: Double.self, capacity: ta ? max(m * k, 1) : 1) { at in
        b.data.withUnsafeBufferPointer { pb in
          // Pack op(B)[kk, j] into bp[(j/8)·8K + kk·8 + j%8], zero-padded past n.
          for p in 0..<panels {
            let base = p * 8 * k
            for kk in 0..<k {
              for jj in 0..<8 {
                let j = p * 8 + jj
                bp[base + kk * 8 + jj] = j < n ? (tb ? pb[j * ldb + kk] : pb[kk * ldb + j]) : 0
              }
            }
          }
        }
        a.data.withUnsafeBufferPointer { pa in
          // op(A) row-major with row stride K.
          var aBase = pa.baseAddress!
          if ta {
            for i in 0..<m { for kk in 0..<k { at[i * k + kk] = pa[kk * lda + i] } }
            aBase = UnsafePointer(at.baseAddress!)
          }
          c.data.withUnsafeMutableBufferPointer { pc in
            microKernels(aBase, UnsafePointer(bp.baseAddress!), pc.baseAddress!, m, n, k, accumulate)
          }
        }
      }
    }
  }

  @inline(__always)
  private static func microKernels(
    _ a: UnsafePointer<Double>, _ bp: UnsafePointer<Double>, _ c: UnsafeMutablePointer<Double>,
    _ m: Int, _ n: Int, _ k: Int, _ accumulate: Bool
  ) {
    typealias V = SIMD4<Double>
    let panels = (n + 7) / 8
    var i = 0
    while i < m {
      let rowsHere = min(4, m - i)
      let a0 = a + i * k
      let a1 = a0 + (rowsHere > 1 ? k : 0), a2 = a0 + (rowsHere > 2 ? 2 * k : 0)
      let a3 = a0 + (rowsHere > 3 ? 3 * k : 0)
      for p in 0..<panels {
        let b = bp + p * 8 * k
        var c00 = V(), c01 = V(), c10 = V(), c11 = V(), c20 = V(), c21 = V(), c30 = V(), c31 = V()
        for kk in 0..<k {
          let bl = UnsafeRawPointer(b + kk * 8).loadUnaligned(as: V.self)
          let bh = UnsafeRawPointer(b + kk * 8 + 4).loadUnaligned(as: V.self)
          let x0 = V(repeating: a0[kk]), x1 = V(repeating: a1[kk])
          let x2 = V(repeating: a2[kk]), x3 = V(repeating: a3[kk])
          c00 = c00 + x0 * bl; c01 = c01 + x0 * bh
          c10 = c10 + x1 * bl; c11 = c11 + x1 * bh
          c20 = c20 + x2 * bl; c21 = c21 + x2 * bh
          c30 = c30 + x3 * bl; c31 = c31 + x3 * bh
        }
        let j0 = p * 8, width = min(8, n - j0)
        @inline(__always) func store(_ r: Int, _ lo: V, _ hi: V) {
          let out = c + (i + r) * n + j0
          for jj in 0..<width {
            let v = jj < 4 ? lo[jj] : hi[jj - 4]
            out[jj] = accumulate ? out[jj] + v : v
          }
        }
        store(0, c00, c01)
        if rowsHere > 1 { store(1, c10, c11) }
        if rowsHere > 2 { store(2, c20, c21) }
        if rowsHere > 3 { store(3, c30, c31) }
      }
      i += 4
    }
  }

  /// Y[n, j] ← Y[n, j] + b[j]: a bias broadcast over rows (and over the trailing `spatial`
  /// positions when Y is [N, C, spatial] and b is [C]).
  public static func addBias(_ b: Tensor, to y: inout Tensor, spatial: Int = 1) {
    let channels = b.count, n = y.count / max(channels * spatial, 1)
    precondition(n * channels * spatial == y.count, "addBias: bias \(b.shape) does not fit \(y.shape)")
    y.data.withUnsafeMutableBufferPointer { py in
      b.data.withUnsafeBufferPointer { pb in
        for r in 0..<n {
          for ch in 0..<channels {
            let base = (r * channels + ch) * spatial, bias = pb[ch]
            for s in 0..<spatial { py[base + s] += bias }
          }
        }
      }
    }
  }

  /// db[j] ← Σₙ δ[n, j] (summed over rows in order, and over `spatial` positions per channel).
  public static func sumRows(_ delta: Tensor, into db: inout Tensor, spatial: Int = 1) {
    let channels = db.count, n = delta.count / max(channels * spatial, 1)
    precondition(n * channels * spatial == delta.count, "sumRows: \(db.shape) does not fit \(delta.shape)")
    db.data.withUnsafeMutableBufferPointer { pd in
      delta.data.withUnsafeBufferPointer { px in
        for ch in 0..<channels { pd[ch] = 0 }
        for r in 0..<n {
          for ch in 0..<channels {
            let base = (r * channels + ch) * spatial
            var s = pd[ch]
            for q in 0..<spatial { s += px[base + q] }
            pd[ch] = s
          }
        }
      }
    }
  }

  /// y[i] ← f(x[i]) for every element; y must have x's element count.
  @inlinable
  public static func map(_ x: Tensor, into y: inout Tensor, _ f: (Double) -> Double) {
    precondition(x.count == y.count, "map: \(x.shape) into \(y.shape)")
    y.data.withUnsafeMutableBufferPointer { py in
      x.data.withUnsafeBufferPointer { px in
        for i in 0..<px.count { py[i] = f(px[i]) }
      }
    }
  }

  /// z[i] ← f(x[i], y[i]) for every element; all three share one element count.
  @inlinable
  public static func zip(_ x: Tensor, _ y: Tensor, into z: inout Tensor, _ f: (Double, Double) -> Double) {
    precondition(x.count == y.count && y.count == z.count, "zip: \(x.shape), \(y.shape) into \(z.shape)")
    z.data.withUnsafeMutableBufferPointer { pz in
      x.data.withUnsafeBufferPointer { px in
        y.data.withUnsafeBufferPointer { py in
          for i in 0..<px.count { pz[i] = f(px[i], py[i]) }
        }
      }
    }
  }

  /// x[i] ← f(x[i], y[i]) in place.
  @inlinable
  public static func update(_ x: inout Tensor, with y: Tensor, _ f: (Double, Double) -> Double) {
    precondition(x.count == y.count, "update: \(x.shape) with \(y.shape)")
    x.data.withUnsafeMutableBufferPointer { px in
      y.data.withUnsafeBufferPointer { py in
        for i in 0..<px.count { px[i] = f(px[i], py[i]) }
      }
    }
  }

  /// Σᵢ x[i], summed in index order.
  public static func sum(_ x: Tensor) -> Double {
    x.data.withUnsafeBufferPointer { p in
      var s = 0.0
      for v in p { s += v }
      return s
    }
  }

  /// Copies rows `indices` of `x` into `out` (shape [indices.count, …]) without allocating.
  public static func gather(_ x: Tensor, rows indices: [Int], into out: inout Tensor) {
    let n = x.columns
    precondition(out.count == indices.count * n, "gather: \(out.shape) cannot hold \(indices.count) rows of \(n)")
    out.data.withUnsafeMutableBufferPointer { o in
      x.data.withUnsafeBufferPointer { d in
        for (r, i) in indices.enumerated() {
          precondition(i >= 0 && i < x.rows, "gather: row \(i) outside \(x.rows) rows")
          for col in 0..<n { o[r * n + col] = d[i * n + col] }
        }
      }
    }
  }
}

// MARK: - Windows over images (convolution and pooling)

extension Kernels {
  /// Where a k_h×k_w window visits an image of C×H×W with strides (s_h, s_w) and zero padding:
  /// output cell (oy, ox) reads input rows iy = oy·s_h + ky − padTop and columns
  /// ix = ox·s_w + kx − padLeft; cells outside 0..<H, 0..<W read 0.
  public struct Window: Sendable, Equatable {
    /// Input channels C, height H and width W of one sample.
    public var channels: Int, height: Int, width: Int
    /// Window height k_h and width k_w.
    public var kernelH: Int, kernelW: Int
    /// Step between windows down (s_h) and across (s_w).
    public var strideH: Int, strideW: Int
    /// Zero rows above and zero columns left of the image (the rest of the padding is below/right).
    public var padTop: Int, padLeft: Int
    /// Output height and width.
    public var outH: Int, outW: Int

    /// A window sweep; the output size must already account for padding and stride.
    public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
                padTop: Int, padLeft: Int, outH: Int, outW: Int) {
      precondition(channels > 0 && height > 0 && width > 0 && kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0,
                   "Window: every extent must be positive (C \(channels), H \(height), W \(width), k \(kernelH)×\(kernelW), s \(strideH)×\(strideW))")
      precondition(outH > 0 && outW > 0, "Window: output \(outH)×\(outW) is empty")
      (self.channels, self.height, self.width) = (channels, height, width)
      (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
      (self.padTop, self.padLeft, self.outH, self.outW) = (padTop, padLeft, outH, outW)
    }

    /// Rows of the patch matrix: C·k_h·k_w, row r = (c·k_h + ky)·k_w + kx.
    public var patch: Int { channels * kernelH * kernelW }
    /// Output positions per sample: outH·outW.
    public var positions: Int { outH * outW }
    /// Input elements per sample: C·H·W.
    public var inputSize: Int { channels * height * width }
  }

  /// im2col: cols[r, n·P + p] = x[n, c, iy, ix] for patch row r = (c, ky, kx) and output
  /// position p = oy·outW + ox (0 where the window hangs over the zero padding).
  ///
  /// x is [N, C, H, W]; cols must hold (C·k_h·k_w)·(N·P) elements, P = outH·outW. A convolution
  /// is then one product z = W·cols with W read as [filters, C·k_h·k_w]. Cost: C·k_h·k_w·N·P copies.
  public static func im2col(_ x: Tensor, _ g: Window, into cols: inout Tensor) {
    let n = x.rows, p = g.positions, columns = n * p
    precondition(x.count == n * g.inputSize, "im2col: input \(x.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    precondition(cols.count == g.patch * columns, "im2col: cols has \(cols.count) elements, needs \(g.patch)×\(columns)")
    x.data.withUnsafeBufferPointer { px in
      cols.data.withUnsafeMutableBufferPointer { pc in
        for c in 0..<g.channels {
          for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
              let r = (c * g.kernelH + ky) * g.kernelW + kx
              // Output columns ox whose input column ix = ox·s_w + kx − padLeft lies in 0..<W.
              let firstX = max(0, (g.padLeft - kx + g.strideW - 1) / g.strideW)
              let lastX = g.width - 1 + g.padLeft - kx
              let endX = lastX < 0 ? 0 : min(g.outW, lastX / g.strideW + 1)
              for s in 0..<n {
                let plane = (s * g.channels + c) * g.height * g.width
                var out = r * columns + s * p
                for oy in 0..<g.outH {
                  let iy = oy * g.strideH + ky - g.padTop
                  if iy < 0 || iy >= g.height || firstX >= endX {
                    for ox in 0..<g.outW { pc[out + ox] = 0 }
                  } else {
                    let row = plane + iy * g.width + kx - g.padLeft
                    for ox in 0..<firstX { pc[out + ox] = 0 }
                    if g.strideW == 1 {
                      for ox in firstX..<endX { pc[out + ox] = px[row + ox] }
                    } else {
                      for ox in firstX..<endX { pc[out + ox] = px[row + ox * g.strideW] }
                    }
                    for ox in endX..<g.outW { pc[out + ox] = 0 }
                  }
                  out += g.outW
                }
              }
            }
          }
        }
      }
    }
  }

  /// col2im, the adjoint of `im2col`: dx[n, c, iy, ix] = Σ dcols[r, n·P + p] over every
  /// (r, p) that read that input cell (entries over the padding are dropped).
  ///
  /// dx is overwritten, shape [N, C, H, W]. Sums run over r = (c, ky, kx), then p, in order.
  public static func col2im(_ cols: Tensor, _ g: Window, into dx: inout Tensor) {
    let n = dx.rows, p = g.positions, columns = n * p
    precondition(dx.count == n * g.inputSize, "col2im: output \(dx.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    precondition(cols.count == g.patch * columns, "col2im: cols has \(cols.count) elements, needs \(g.patch)×\(columns)")
    dx.data.withUnsafeMutableBufferPointer { pd in
      cols.data.withUnsafeBufferPointer { pc in
        for i in 0..<pd.count { pd[i] = 0 }
        for c in 0..<g.channels {
          for ky in 0..<g.kernelH {
            for kx in 0..<g.kernelW {
              let r = (c * g.kernelH + ky) * g.kernelW + kx
              let firstX = max(0, (g.padLeft - kx + g.strideW - 1) / g.strideW)
              let lastX = g.width - 1 + g.padLeft - kx
              let endX = lastX < 0 ? 0 : min(g.outW, lastX / g.strideW + 1)
              if firstX >= endX { continue }
              for s in 0..<n {
                let plane = (s * g.channels + c) * g.height * g.width
                var from = r * columns + s * p
                for oy in 0..<g.outH {
                  let iy = oy * g.strideH + ky - g.padTop
                  if iy >= 0 && iy < g.height {
                    let row = plane + iy * g.width + kx - g.padLeft
                    for ox in firstX..<endX { pd[row + ox * g.strideW] += pc[from + ox] }
                  }
                  from += g.outW
                }
              }
            }
          }
        }
      }
    }
  }

  /// y[b, a, i] ← x[a, b, i]: swaps the two leading axes of x read as [A, B, inner]
  /// (e.g. [N, F, P] ↔ [F, N, P]). y must hold A·B·inner elements and may not be x.
  public static func swapLeadingAxes(_ x: Tensor, _ a: Int, _ b: Int, into y: inout Tensor) {
    let inner = a * b == 0 ? 0 : x.count / (a * b)
    precondition(a * b * inner == x.count && y.count == x.count, "swapLeadingAxes: \(x.shape) is not \(a)×\(b)×…, or \(y.shape) does not fit")
    x.data.withUnsafeBufferPointer { px in
      y.data.withUnsafeMutableBufferPointer { py in
        for i in 0..<a {
          for j in 0..<b {
            let from = (i * b + j) * inner, to = (j * a + i) * inner
            for k in 0..<inner { py[to + k] = px[from + k] }
          }
        }
      }
    }
  }
}
