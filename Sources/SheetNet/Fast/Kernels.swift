import CBLAS
import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// The fast tier: matrix products in SIMD tiles (or OpenBLAS), bias broadcast, element-wise
/// maps and reductions, with Kernels+Im2col.swift (patch matrices), Kernels+Convolution.swift
/// (the in-place convolution products), Kernels+Pooling.swift and FastConvolution.swift the only
/// code that touches raw buffers or BLAS. Package access: the engine's layers, its tests, the
/// benchmarks and the figures call it; a program that depends on SheetNet sees `Reference`.
///
/// Summation order: the pure-Swift product (`.swift`) sums every output element in a fixed
/// order, c = ((a₀b₀ + a₁b₁) + a₂b₂) + … over k = 0, 1, …, K−1, exactly as a spreadsheet's
/// SUMPRODUCT reads a row left to right (and as `Reference.matrixProduct` loops), and adds a bias
/// after the sum. `ComputePolicy` decides which path a product takes: by default products of
/// 64³ multiply-adds or more take OpenBLAS `cblas_dgemm` where its kernels are fast on this CPU,
/// else the pure-Swift product with fused multiply-adds (s ← fma(a, b, s), still in k order, one
/// rounding per term). Either may differ from the spreadsheet order in the last bits (the tests
/// bound it by 1e-12 relative). A traced step of a small network never reaches that size, so
/// every number it shows is the spreadsheet's.
package enum Kernels {
  /// The vector instructions this build was compiled for (Package.swift reads /proc/cpuinfo; the
  /// environment variable SHEETNET_TARGET_CPU overrides it). The numbers do not depend on it.
  package static let instructionSet: String = {
    #if SHEETNET_CPU_AVX512
    return "AVX-512 (-target-cpu skylake-avx512)"
    #elseif SHEETNET_CPU_AVX2
    return "AVX2 and FMA (-target-cpu haswell)"
    #elseif SHEETNET_CPU_NAMED
    return "as SHEETNET_TARGET_CPU named"
    #else
    return "baseline (fma from the C library)"
    #endif
  }()

  /// OpenBLAS runs on one thread: tiny products gain nothing from threads, and one thread keeps
  /// every run's numbers identical. A threaded OpenBLAS starts its helper threads when it loads
  /// (before any of our code runs), and they spin on `sched_yield` for a while even when told to
  /// use one thread, taking a core from a short process (a figure, a trace); its own
  /// `blas_thread_shutdown_` stops them. It is looked up at run time: OpenBLAS builds without
  /// threads do not have it, and need nothing.
  private static let blasSetUp: Void = {
    openblas_set_num_threads(1)
    if let symbol = dlsym(UnsafeMutableRawPointer(bitPattern: 0), "blas_thread_shutdown_") {  // RTLD_DEFAULT
      _ = unsafeBitCast(symbol, to: (@convention(c) () -> Int32).self)()
    }
  }()

  /// Puts OpenBLAS on one thread now. Programs call it first thing: OpenBLAS starts its thread
  /// pool when it loads, and those threads spin (using a core) until told otherwise.
  package static func useOneThread() { _ = blasSetUp }

  /// Whether OpenBLAS runs vector kernels here. OpenBLAS names the kernels it picked for this
  /// CPU; on a CPU it does not recognise it falls back to pre-AVX ones ("Prescott", "Core2", …),
  /// which the pure-Swift product outruns at every size, so the fast path then stays in Swift.
  package static let blasIsFast: Bool = {
    _ = blasSetUp
    guard let name = openblas_get_corename() else { return false }
    let core = String(cString: name).lowercased()
    let slow = ["prescott", "core2", "penryn", "dunnington", "nehalem", "atom", "katmai", "coppermine",
                "northwood", "banias", "opteron", "barcelona", "unknown"]
    return !slow.contains(core)
  }()

  /// How a matrix product sums its terms (`ComputePolicy` chooses one per product).
  package enum Path: Sendable, Equatable {
    /// Pure Swift, s ← s + a·b in k order: the naive loop's (and a spreadsheet's) numbers.
    case swift
    /// Pure Swift, s ← fma(a, b, s) in k order: twice the throughput, one rounding per term.
    case fused
    /// OpenBLAS `cblas_dgemm`.
    case blas
  }

  /// C ← op(A)·op(B), or C ← C + op(A)·op(B) when `accumulate`, where op(X) is X or Xᵀ.
  ///
  /// A and B are read as matrices [rows, columns] (every axis after the first folded into
  /// columns). C must already have shape M×N (any rank with that many elements), or, given `at`
  /// an element offset, hold the M×N matrix in its elements offset ..< offset + M·N (one
  /// sample's block of a batch-wide output). Cost: 2·M·N·K flops.
  package static func gemm(
    _ a: Tensor, transposeA: Bool = false, _ b: Tensor, transposeB: Bool = false,
    into c: inout Tensor, at block: Int? = nil, accumulate: Bool = false, path: Path
  ) {
    gemm(a, block: (0, a.rows, a.columns), transposeA: transposeA, b, block: (0, b.rows, b.columns), transposeB: transposeB,
         into: &c, at: block, accumulate: accumulate, path: path)
  }

  /// The same product with A and B read from blocks of their tensors: `block` = (element
  /// offset, rows, columns) is the matrix stored row-major in elements offset ..< offset +
  /// rows·columns (one sample's [F, P] slice of a batch, read in place).
  package static func gemm(
    _ a: Tensor, block ab: (offset: Int, rows: Int, columns: Int), transposeA: Bool = false,
    _ b: Tensor, block bb: (offset: Int, rows: Int, columns: Int), transposeB: Bool = false,
    into c: inout Tensor, at block: Int? = nil, accumulate: Bool = false, path: Path
  ) {
    precondition(ab.offset >= 0 && ab.rows >= 0 && ab.columns >= 0 && ab.offset + ab.rows * ab.columns <= a.count,
                 "gemm: A block \(ab) does not fit \(a.shape)")
    precondition(bb.offset >= 0 && bb.rows >= 0 && bb.columns >= 0 && bb.offset + bb.rows * bb.columns <= b.count,
                 "gemm: B block \(bb) does not fit \(b.shape)")
    let (ar, ac) = (ab.rows, ab.columns), (br, bc) = (bb.rows, bb.columns)
    let m = transposeA ? ac : ar, k = transposeA ? ar : ac
    let k2 = transposeB ? bc : br, n = transposeB ? br : bc
    precondition(k == k2, "gemm: op(A) is \(m)×\(k) but op(B) is \(k2)×\(n) (A \(a.shape), B \(b.shape))")
    let offset = block ?? 0
    precondition(block == nil ? c.count == m * n : offset >= 0 && offset + m * n <= c.count,
                 "gemm: C has shape \(c.shape) but the product is \(m)×\(n)\(block.map { " from element \($0)" } ?? "")")
    if m == 0 || n == 0 { return }
    let operands = (a: a, aOffset: ab.offset, b: b, bOffset: bb.offset)
    switch path {
    case .blas: blasGEMM(operands, transposeA, transposeB, &c, offset, m, n, k, ac, bc, accumulate)
    case .fused: swiftGEMM(operands, transposeA, transposeB, &c, offset, m, n, k, ac, bc, accumulate, fused: true)
    case .swift: swiftGEMM(operands, transposeA, transposeB, &c, offset, m, n, k, ac, bc, accumulate, fused: false)
    }
  }

  /// A product's operands: A and B with the element offsets their matrices start at.
  private typealias Operands = (a: Tensor, aOffset: Int, b: Tensor, bOffset: Int)

  @inline(never)
  private static func blasGEMM(
    _ operands: Operands, _ ta: Bool, _ tb: Bool, _ c: inout Tensor, _ offset: Int,
    _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ accumulate: Bool
  ) {
    _ = blasSetUp
    operands.a.data.withUnsafeBufferPointer { pa in
      operands.b.data.withUnsafeBufferPointer { pb in
        c.data.withUnsafeMutableBufferPointer { pc in
          cblas_dgemm(
            CblasRowMajor, ta ? CblasTrans : CblasNoTrans, tb ? CblasTrans : CblasNoTrans,
            Int32(m), Int32(n), Int32(k), 1.0, pa.baseAddress! + operands.aOffset, Int32(max(lda, 1)),
            pb.baseAddress! + operands.bOffset, Int32(max(ldb, 1)), accumulate ? 1.0 : 0.0, pc.baseAddress! + offset, Int32(max(n, 1)))
        }
      }
    }
  }

  /// Pure-Swift product, every element summed in k order: s ← s + a·b for k = 0, 1, …, K−1, one
  /// multiply then one add (never regrouped), or s ← fma(a, b, s) when `fused`; then C ← s or
  /// C ← C + s. The result equals the naive triple loop (with fma when fused) bit for bit, on any
  /// build: fma is exact to one rounding whether the CPU or the C library computes it.
  ///
  /// Speed comes from working across j, never across k: a tile of 4 rows × 8 columns keeps its
  /// 32 running sums in four SIMD8 registers while k advances, so one step of k costs one load
  /// of 8 values, four broadcasts, four vector multiplies and four vector adds. The tile reads
  /// "Y", a K×cols matrix whose row k holds the 8 values it vectorises over, and "X", whose
  /// values it broadcasts; each case of transposes maps onto that:
  ///
  ///     A·B    Y = B              X = A                       C as computed
  ///     Aᵀ·B   Y = B              X = Aᵀ (copied into 4-row blocks when K ≥ 64)
  ///     Aᵀ·Bᵀ  Y = A              X = B                       C transposed (Cᵀ = B·A)
  ///     A·Bᵀ   Y = panels of Bᵀ, or of Aᵀ with C transposed when that pads less
  ///
  /// Y is copied into contiguous K×8 panels when K ≥ 64 and more than 8 rows reuse it (power-of-two
  /// strides would otherwise fight over the same cache sets); smaller products read it in place.
  /// Without fma the 4×8 tile already keeps both vector units busy (a multiply and an add per
  /// term). A fused multiply-add does both in one instruction, but each sum must wait for its
  /// previous fma, so the fused path uses 8×16 tiles: sixteen independent SIMD8 sums, two panels
  /// of Y side by side, eight broadcasts of X per step of k.
  /// Cost: 2·M·N·K flops plus at most one copy of each operand (M·K + K·N moves), into per-thread
  /// scratch memory (`withScratch`), so a product allocates nothing.
  private static func swiftGEMM(
    _ operands: Operands, _ ta: Bool, _ tb: Bool, _ c: inout Tensor, _ offset: Int,
    _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ accumulate: Bool, fused: Bool
  ) {
    guard k > 0 else {
      // Empty sums: s = 0, so C ← C + 0 (which turns −0 into +0, as the naive loop does) or 0.
      c.data.withUnsafeMutableBufferPointer { pc in
        for i in offset..<offset + m * n { pc[i] = accumulate ? pc[i] + 0 : 0 }
      }
      return
    }
    operands.a.data.withUnsafeBufferPointer { pa in
      operands.b.data.withUnsafeBufferPointer { pb in
        c.data.withUnsafeMutableBufferPointer { pc in
          microKernels(pa.baseAddress! + operands.aOffset, ta, pb.baseAddress! + operands.bOffset, tb, pc.baseAddress! + offset, m, n, k, lda, ldb, accumulate, fused: fused)
        }
      }
    }
  }

  /// Chooses Y, X and the store order for one product (the table above) and runs the tiles.
  /// Pointers cover op(A) M×K (row stride lda of A as stored), op(B) K×N and C M×N (stride N).
  private static func microKernels(
    _ a: UnsafePointer<Double>, _ ta: Bool, _ b: UnsafePointer<Double>, _ tb: Bool, _ c: UnsafeMutablePointer<Double>,
    _ m: Int, _ n: Int, _ k: Int, _ lda: Int, _ ldb: Int, _ accumulate: Bool, fused: Bool
  ) {
    switch (ta, tb) {
    case (false, false):  // C = A·B: X(i, k) = A[i, k], Y = B
      tiles(x: a, xRow: lda, xK: 1, y: b, ldy: ldb, rows: m, columns: n, k: k, c: c, cRow: n, cColumn: 1, accumulate, fused: fused)
    case (true, false):  // C = Aᵀ·B: X(i, k) = A[k, i], Y = B
      if k >= 64 && n > 8 {
        // A's column walk strides by lda per k; 4-row blocks make it contiguous.
        withScratch((m + 3) / 4 * 4 * k) { xb in
          packBlocks(a, iStride: 1, kStride: lda, m: m, k: k, width: 4, into: xb)
          tiles(x: xb, xRow: 1, xK: 4, xBlock: 4 * k, y: b, ldy: ldb, rows: m, columns: n, k: k, c: c, cRow: n, cColumn: 1, accumulate, fused: fused)
        }
      } else {
        tiles(x: a, xRow: 1, xK: lda, y: b, ldy: ldb, rows: m, columns: n, k: k, c: c, cRow: n, cColumn: 1, accumulate, fused: fused)
      }
    case (true, true):  // Cᵀ = B·A: X(j, k) = B[j, k], Y = A (row k of A holds op(A)[·, k])
      tiles(x: b, xRow: ldb, xK: 1, y: a, ldy: lda, rows: n, columns: m, k: k, c: c, cRow: 1, cColumn: n, accumulate, fused: fused)
    case (false, true):  // C = A·Bᵀ: neither operand has k as its row; transpose one into panels.
      // Tiles pad rows to 4 and columns to 8: vectorise over the side that wastes less (on a tie,
      // over B, whose tiles store C rows whole rather than transposed).
      let padB = (n + 7) / 8 * 8 * ((m + 3) / 4 * 4), padA = (m + 7) / 8 * 8 * ((n + 3) / 4 * 4)
      if padA < padB {
        // Cᵀ = B·Aᵀ: Y = panels of Aᵀ, X(j, k) = B[j, k].
        withScratch((m + 7) / 8 * 8 * k) { panels in
          packTransposedPanels(a, lda, m, k, panels)
          tiles(x: b, xRow: ldb, xK: 1, y: panels, ldy: 0, packed: true, rows: n, columns: m, k: k,
                c: c, cRow: 1, cColumn: n, accumulate, fused: fused)
        }
      } else {
        // Y = panels of Bᵀ, X(i, k) = A[i, k].
        withScratch((n + 7) / 8 * 8 * k) { panels in
          packTransposedPanels(b, ldb, n, k, panels)
          tiles(x: a, xRow: lda, xK: 1, y: panels, ldy: 0, packed: true, rows: m, columns: n, k: k,
                c: c, cRow: n, cColumn: 1, accumulate, fused: fused)
        }
      }
    }
  }

  /// T = X·Y over all tiles, panel by panel (a K×8 panel of Y stays in cache while every 4-row
  /// block of X passes it; fused products take two panels, 16 columns, at a time). X(r, k) =
  /// x[r·xRow + k·xK], or in 4-row blocks `xBlock` apart; Y is row-major K×columns with row
  /// stride `ldy`, or already in K×8 panels when `packed`. T(r, j) goes to c[r·cRow + j·cColumn].
  private static func tiles(
    x: UnsafePointer<Double>, xRow: Int, xK: Int, xBlock: Int? = nil, y: UnsafePointer<Double>, ldy: Int,
    packed: Bool = false, rows: Int, columns: Int, k: Int,
    c: UnsafeMutablePointer<Double>, cRow: Int, cColumn: Int, _ accumulate: Bool, fused: Bool
  ) {
    let copyPanels = !packed && rows > 8 && k >= 64
    let step = fused ? 16 : 8
    withScratch(packed ? 1 : step * k) { buffer in
      /// Panel `j` (8 columns from j) as a pointer and a row stride, copied when it must be.
      func panel(_ j: Int, into copy: UnsafeMutablePointer<Double>) -> (UnsafePointer<Double>, Int) {
        let width = min(8, columns - j)
        if packed { return (y + j * k, 8) }
        if copyPanels || width < 8 {
          copyPanel(y + j, ldy, k, width, copy)
          return (UnsafePointer(copy), 8)
        }
        return (y + j, ldy)
      }
      for j0 in stride(from: 0, to: columns, by: step) {
        let width = min(step, columns - j0)
        let (y0, stride0) = panel(j0, into: buffer)
        if fused && width > 8 {
          let (y1, stride1) = panel(j0 + 8, into: buffer + 8 * k)
          let block = xBlock ?? 4 * xRow  // from row i to row i + 4
          for i in stride(from: 0, to: rows, by: 8) {
            tile8x16(x + (xBlock.map { i / 4 * $0 } ?? i * xRow), xRow, block, xK, y0, stride0, y1, stride1, k,
                     c + i * cRow + j0 * cColumn, cRow, cColumn, min(8, rows - i), width, accumulate)
          }
        } else {
          for i in stride(from: 0, to: rows, by: 4) {
            tile4x8(x + (xBlock.map { i / 4 * $0 } ?? i * xRow), xRow, xK, y0, stride0, k,
                    c + i * cRow + j0 * cColumn, cRow, cColumn, min(4, rows - i), width, accumulate, fused: fused)
          }
        }
      }
    }
  }

  /// The register kernel: T(r, j) = Σₖ X(r, k)·Y(k, j) for r < 4, j < 8, k in order, four SIMD8
  /// sums: s ← s + x·y (rounded twice) or, when `fused`, s ← fma(x, y, s) (rounded once). Rows
  /// past `rows` repeat the last row (computed, never stored); columns past `width` are never
  /// stored. Y(k, 0..<8) = y[k·yStride ..< k·yStride + 8].
  @inline(__always)
  private static func tile4x8(
    _ x: UnsafePointer<Double>, _ xRow: Int, _ xK: Int, _ y: UnsafePointer<Double>, _ yStride: Int, _ k: Int,
    _ c: UnsafeMutablePointer<Double>, _ cRow: Int, _ cColumn: Int, _ rows: Int, _ width: Int, _ accumulate: Bool,
    fused: Bool
  ) {
    typealias V = SIMD8<Double>
    assert(rows >= 1 && rows <= 4 && width >= 1 && width <= 8 && k >= 1, "tile4x8: \(rows) rows, \(width) columns, K \(k)")
    let x1 = min(1, rows - 1) * xRow, x2 = min(2, rows - 1) * xRow, x3 = min(3, rows - 1) * xRow
    var s0 = V(), s1 = V(), s2 = V(), s3 = V()
    var px = x, py = UnsafeRawPointer(y)
    let yStep = yStride * MemoryLayout<Double>.stride
    if fused {
      for _ in 0..<k {
        let yk = py.loadUnaligned(as: V.self)  // Y(k, 0..<8)
        s0.addProduct(V(repeating: px[0]), yk)
        s1.addProduct(V(repeating: px[x1]), yk)
        s2.addProduct(V(repeating: px[x2]), yk)
        s3.addProduct(V(repeating: px[x3]), yk)
        px += xK
        py += yStep
      }
    } else {
      for _ in 0..<k {
        let yk = py.loadUnaligned(as: V.self)  // Y(k, 0..<8)
        s0 = s0 + V(repeating: px[0]) * yk
        s1 = s1 + V(repeating: px[x1]) * yk
        s2 = s2 + V(repeating: px[x2]) * yk
        s3 = s3 + V(repeating: px[x3]) * yk
        px += xK
        py += yStep
      }
    }
    store(s0, s1, s2, s3, c, cRow, cColumn, rows, width, accumulate)
  }

  /// The fused register kernel for 8 rows × 16 columns: sixteen SIMD8 sums s ← fma(x, y, s), k in
  /// order, so each vector unit has eight independent sums to interleave. Rows 4..<8 start at
  /// x + `block` (4 rows on, or the next 4-row block). Rows past `rows` (1…8) repeat the last
  /// row (computed, never stored); columns 0..<8 read Y from `y0`, 8..<16 from `y1` (each with
  /// its own row stride), and `width` is 9…16.
  @inline(__always)
  private static func tile8x16(
    _ x: UnsafePointer<Double>, _ xRow: Int, _ block: Int, _ xK: Int, _ y0: UnsafePointer<Double>, _ stride0: Int,
    _ y1: UnsafePointer<Double>, _ stride1: Int, _ k: Int,
    _ c: UnsafeMutablePointer<Double>, _ cRow: Int, _ cColumn: Int, _ rows: Int, _ width: Int, _ accumulate: Bool
  ) {
    typealias V = SIMD8<Double>
    assert(rows >= 1 && rows <= 8 && width > 8 && width <= 16 && k >= 1, "tile8x16: \(rows) rows, \(width) columns, K \(k)")
    let (upper, lower) = (min(rows, 4), rows - 4)  // rows in each half (lower ≤ 0: none)
    let x1 = min(1, upper - 1) * xRow, x2 = min(2, upper - 1) * xRow, x3 = min(3, upper - 1) * xRow
    let last = max(lower, 1) - 1  // the last row's index within the second half
    let x5 = min(1, last) * xRow, x6 = min(2, last) * xRow, x7 = min(3, last) * xRow
    var s0 = V(), s1 = V(), s2 = V(), s3 = V(), s4 = V(), s5 = V(), s6 = V(), s7 = V()
    var t0 = V(), t1 = V(), t2 = V(), t3 = V(), t4 = V(), t5 = V(), t6 = V(), t7 = V()
    // Without rows of its own, the second half repeats the first half's last row.
    var px = x, qx = lower > 0 ? x + block : x + x3, p0 = UnsafeRawPointer(y0), p1 = UnsafeRawPointer(y1)
    let step0 = stride0 * MemoryLayout<Double>.stride, step1 = stride1 * MemoryLayout<Double>.stride
    for _ in 0..<k {
      let ya = p0.loadUnaligned(as: V.self), yb = p1.loadUnaligned(as: V.self)  // Y(k, 0..<16)
      var b = V(repeating: px[0]); s0.addProduct(b, ya); t0.addProduct(b, yb)
      b = V(repeating: px[x1]); s1.addProduct(b, ya); t1.addProduct(b, yb)
      b = V(repeating: px[x2]); s2.addProduct(b, ya); t2.addProduct(b, yb)
      b = V(repeating: px[x3]); s3.addProduct(b, ya); t3.addProduct(b, yb)
      b = V(repeating: qx[0]); s4.addProduct(b, ya); t4.addProduct(b, yb)
      b = V(repeating: qx[x5]); s5.addProduct(b, ya); t5.addProduct(b, yb)
      b = V(repeating: qx[x6]); s6.addProduct(b, ya); t6.addProduct(b, yb)
      b = V(repeating: qx[x7]); s7.addProduct(b, ya); t7.addProduct(b, yb)
      px += xK
      qx += xK
      p0 += step0
      p1 += step1
    }
    store(s0, s1, s2, s3, c, cRow, cColumn, upper, 8, accumulate)
    store(t0, t1, t2, t3, c + 8 * cColumn, cRow, cColumn, upper, width - 8, accumulate)
    guard lower > 0 else { return }
    let c4 = c + 4 * cRow
    store(s4, s5, s6, s7, c4, cRow, cColumn, lower, 8, accumulate)
    store(t4, t5, t6, t7, c4 + 8 * cColumn, cRow, cColumn, lower, width - 8, accumulate)
  }

  /// Writes a 4×8 tile of sums: C(r, j) ← s_r[j], or C(r, j) + s_r[j] when `accumulate`, for
  /// r < rows and j < width, at c[r·cRow + j·cColumn].
  @inline(__always)
  private static func store(
    _ s0: SIMD8<Double>, _ s1: SIMD8<Double>, _ s2: SIMD8<Double>, _ s3: SIMD8<Double>,
    _ c: UnsafeMutablePointer<Double>, _ cRow: Int, _ cColumn: Int, _ rows: Int, _ width: Int, _ accumulate: Bool
  ) {
    typealias V = SIMD8<Double>
    if rows == 4 && width == 8 && cColumn == 1 {
      @inline(__always) func put(_ p: UnsafeMutablePointer<Double>, _ s: V) {
        let raw = UnsafeMutableRawPointer(p)
        raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: V.self) + s : s, as: V.self)
      }
      put(c, s0); put(c + cRow, s1); put(c + 2 * cRow, s2); put(c + 3 * cRow, s3)
    } else if rows == 4 && width == 8 && cRow == 1 {
      for j in 0..<8 {  // transposed: column j of the tile is 4 consecutive elements of C
        let s = SIMD4(s0[j], s1[j], s2[j], s3[j])
        let raw = UnsafeMutableRawPointer(c + j * cColumn)
        raw.storeBytes(of: accumulate ? raw.loadUnaligned(as: SIMD4<Double>.self) + s : s, as: SIMD4<Double>.self)
      }
    } else {
      @inline(__always) func put(_ r: Int, _ s: V) {
        for j in 0..<width {
          let p = c + r * cRow + j * cColumn
          p.pointee = accumulate ? p.pointee + s[j] : s[j]
        }
      }
      put(0, s0)
      if rows > 1 { put(1, s1) }
      if rows > 2 { put(2, s2) }
      if rows > 3 { put(3, s3) }
    }
  }

  /// Runs `body` with `count` Doubles of working memory (contents undefined) for the products'
  /// packed copies. The memory is kept per thread and reused, so a training step allocates none
  /// once it has run; calls may nest, each level with its own buffer.
  @inline(__always)
  static func withScratch<R>(_ count: Int, _ body: (UnsafeMutablePointer<Double>) -> R) -> R {
    let scratch = Scratch.current
    let level = scratch.depth
    scratch.depth += 1
    defer { scratch.depth -= 1 }
    return body(scratch.buffer(level: level, count: count))
  }

  /// Columns 0..<width (≤ 8) of K rows with stride `ld` into a K×8 panel, zero-padded.
  @inline(__always)
  private static func copyPanel(
    _ y: UnsafePointer<Double>, _ ld: Int, _ k: Int, _ width: Int, _ out: UnsafeMutablePointer<Double>
  ) {
    if width == 8 {
      for kk in 0..<k {
        UnsafeMutableRawPointer(out + kk * 8).storeBytes(
          of: UnsafeRawPointer(y + kk * ld).loadUnaligned(as: SIMD8<Double>.self), as: SIMD8<Double>.self)
      }
    } else {
      for kk in 0..<k {
        for j in 0..<8 { out[kk * 8 + j] = j < width ? y[kk * ld + j] : 0 }
      }
    }
  }

  /// Panels of Sᵀ for S with `count` rows of K (row stride ld): out[p·8K + k·8 + j] = S[8p + j, k],
  /// zero past `count`. Reads 8 rows 4 values at a time and writes whole panel rows.
  private static func packTransposedPanels(
    _ s: UnsafePointer<Double>, _ ld: Int, _ count: Int, _ k: Int, _ out: UnsafeMutablePointer<Double>
  ) {
    typealias V4 = SIMD4<Double>
    for j0 in stride(from: 0, to: count, by: 8) {
      let panel = out + j0 * k, width = min(8, count - j0)
      var kk = 0
      if width == 8 {
        @inline(__always) func load(_ j: Int) -> V4 { UnsafeRawPointer(s + (j0 + j) * ld + kk).loadUnaligned(as: V4.self) }
        while kk + 4 <= k {
          let (r0, r1, r2, r3, r4, r5, r6, r7) = (load(0), load(1), load(2), load(3), load(4), load(5), load(6), load(7))
          for q in 0..<4 {
            UnsafeMutableRawPointer(panel + (kk + q) * 8).storeBytes(
              of: SIMD8(r0[q], r1[q], r2[q], r3[q], r4[q], r5[q], r6[q], r7[q]), as: SIMD8<Double>.self)
          }
          kk += 4
        }
      }
      while kk < k {
        for j in 0..<8 { panel[kk * 8 + j] = j < width ? s[(j0 + j) * ld + kk] : 0 }
        kk += 1
      }
    }
  }

  /// Blocks of `width` rows of a matrix X (M×K, X(i, kk) = x[i·iStride + kk·kStride]) laid out
  /// for the tiles' broadcasts: out[(i/width)·width·K + kk·width + r] = X(i + r, kk), zero past
  /// M, so a tile walks its block in memory order. (Aᵀ of A stored K×M: iStride 1, kStride ld;
  /// a convolution's W [F, K]: iStride K, kStride 1; its Wᵀ: iStride 1, kStride K.)
  @inline(__always)
  static func packBlocks(
    _ x: UnsafePointer<Double>, iStride: Int, kStride: Int, m: Int, k: Int, width: Int, into out: UnsafeMutablePointer<Double>
  ) {
    for i in stride(from: 0, to: m, by: width) {
      let rows = min(width, m - i), block = out + i * k
      for kk in 0..<k {
        let from = x + i * iStride + kk * kStride, to = block + kk * width
        for r in 0..<width { to[r] = r < rows ? from[r * iStride] : 0 }
      }
    }
  }

  /// Y[n, j] ← Y[n, j] + b[j]: a bias broadcast over rows (and over the trailing `spatial`
  /// positions when Y is [N, C, spatial] and b is [C]).
  package static func addBias(_ b: Tensor, to y: inout Tensor, spatial: Int = 1) {
    let channels = b.count, n = y.count / max(channels * spatial, 1)
    precondition(n * channels * spatial == y.count, "addBias: bias \(b.shape) does not fit \(y.shape)")
    y.data.withUnsafeMutableBufferPointer { py in
      b.data.withUnsafeBufferPointer { pb in
        var row = py.baseAddress!  // one plane (or one row's element) after another
        for _ in 0..<n {
          for ch in 0..<channels {
            let bias = pb[ch]
            for s in 0..<spatial { row[s] += bias }  // a pointer walk, so it vectorises
            row += spatial
          }
        }
      }
    }
  }

  /// x[i] ← value for every element.
  package static func fill(_ x: inout Tensor, with value: Double) {
    x.data.withUnsafeMutableBufferPointer { p in p.update(repeating: value) }
  }

  /// y[i] ← f(x[i]) for every element; y must have x's element count.
  @inlinable
  package static func map(_ x: Tensor, into y: inout Tensor, _ f: (Double) -> Double) {
    precondition(x.count == y.count, "map: \(x.shape) into \(y.shape)")
    y.data.withUnsafeMutableBufferPointer { py in
      x.data.withUnsafeBufferPointer { px in
        for i in 0..<px.count { py[i] = f(px[i]) }
      }
    }
  }

  /// z[i] ← f(x[i], y[i]) for every element; all three share one element count.
  @inlinable
  package static func zip(_ x: Tensor, _ y: Tensor, into z: inout Tensor, _ f: (Double, Double) -> Double) {
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
  package static func update(_ x: inout Tensor, with y: Tensor, _ f: (Double, Double) -> Double) {
    precondition(x.count == y.count, "update: \(x.shape) with \(y.shape)")
    x.data.withUnsafeMutableBufferPointer { px in
      y.data.withUnsafeBufferPointer { py in
        for i in 0..<px.count { px[i] = f(px[i], py[i]) }
      }
    }
  }

  /// z[i] ← f(x[i], y[i], w[i]) for every element, in one pass; all four share one count.
  @inlinable
  package static func zip(_ x: Tensor, _ y: Tensor, _ w: Tensor, into z: inout Tensor, _ f: (Double, Double, Double) -> Double) {
    precondition(x.count == y.count && y.count == w.count && w.count == z.count, "zip: \(x.shape), \(y.shape), \(w.shape) into \(z.shape)")
    z.data.withUnsafeMutableBufferPointer { pz in
      x.data.withUnsafeBufferPointer { px in
        y.data.withUnsafeBufferPointer { py in
          w.data.withUnsafeBufferPointer { pw in
            for i in 0..<px.count { pz[i] = f(px[i], py[i], pw[i]) }
          }
        }
      }
    }
  }

  /// x[i] ← f(x[i], y[i], w[i]) in place.
  @inlinable
  package static func update(_ x: inout Tensor, with y: Tensor, _ w: Tensor, _ f: (Double, Double, Double) -> Double) {
    precondition(x.count == y.count && y.count == w.count, "update: \(x.shape) with \(y.shape), \(w.shape)")
    x.data.withUnsafeMutableBufferPointer { px in
      y.data.withUnsafeBufferPointer { py in
        w.data.withUnsafeBufferPointer { pw in
          for i in 0..<px.count { px[i] = f(px[i], py[i], pw[i]) }
        }
      }
    }
  }

  /// Row-wise softmax of z [N, K]: a[n, k] = e^(z[n,k] − m[n]) / s[n] with m[n] = maxₖ z[n, k] and
  /// s[n] = Σₖ e^(z[n,k] − m[n]) summed in k order; m and s are returned per row, so that the
  /// cross-entropy loss reuses them (its log-sum-exp is m + log s, bit for bit).
  package static func softmax(_ z: Tensor, into a: inout Tensor, maxima m: inout [Double], sums s: inout [Double]) {
    let k = z.rank >= 3 ? z.shape.last! : z.columns, rows = k == 0 ? 0 : z.count / k  // over the last axis
    precondition(a.count == z.count, "softmax: \(z.shape) into \(a.shape)")
    m.removeAll(keepingCapacity: true)
    s.removeAll(keepingCapacity: true)
    z.data.withUnsafeBufferPointer { pz in
      a.data.withUnsafeMutableBufferPointer { pa in
        for n in 0..<rows {
          let row = n * k
          var top = -Double.infinity
          for j in 0..<k { top = max(top, pz[row + j]) }
          var sum = 0.0
          for j in 0..<k { let e = exp(pz[row + j] - top); pa[row + j] = e; sum += e }
          for j in 0..<k { pa[row + j] /= sum }
          m.append(top)
          s.append(sum)
        }
      }
    }
  }

  /// Σᵢ x[i], summed in index order.
  package static func sum(_ x: Tensor) -> Double {
    x.data.withUnsafeBufferPointer { p in
      var s = 0.0
      for v in p { s += v }
      return s
    }
  }

  /// Copies rows `indices` of `x` into `out` (shape [indices.count, …]) without allocating.
  package static func gather(_ x: Tensor, rows indices: [Int], into out: inout Tensor) {
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


extension Tensor {
  /// A tensor of `shape` for a kernel that writes every element (map, zip, a product without
  /// accumulate, max pooling): its storage is not zeroed first, which saves a pass over memory
  /// per layer and step. Every bit pattern is a valid Double, so nothing unsafe can be read, but
  /// only pass it to kernels that overwrite it whole.
  package init(overwrittenShape shape: [Int]) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative extent")
    let count = shape.reduce(1, *)
    self.init(shape: shape, data: [Double](unsafeUninitializedCapacity: count) { _, initialized in initialized = count })
  }
}

/// One thread's working memory for `Kernels.withScratch`: a buffer per nesting level, grown (to
/// at least twice its size) when too small, freed when the thread ends.
private final class Scratch {
  private var buffers: [(start: UnsafeMutablePointer<Double>, capacity: Int)] = []
  /// How many `withScratch` calls are running on this thread.
  var depth = 0

  /// Level `level`'s buffer, holding at least `count` Doubles.
  func buffer(level: Int, count: Int) -> UnsafeMutablePointer<Double> {
    while buffers.count <= level { buffers.append((.allocate(capacity: 64), 64)) }
    if buffers[level].capacity < count {
      buffers[level].start.deallocate()
      let capacity = max(count, 2 * buffers[level].capacity)
      buffers[level] = (.allocate(capacity: capacity), capacity)
    }
    return buffers[level].start
  }

  deinit { for b in buffers { b.start.deallocate() } }

  /// The key of each thread's `Scratch`, released when the thread exits.
  private static let key: pthread_key_t = {
    var key = pthread_key_t()
    pthread_key_create(&key) { raw in if let raw { Unmanaged<Scratch>.fromOpaque(raw).release() } }
    return key
  }()

  /// This thread's scratch, made on first use.
  static var current: Scratch {
    if let raw = pthread_getspecific(key) { return Unmanaged<Scratch>.fromOpaque(raw).takeUnretainedValue() }
    let scratch = Scratch()
    pthread_setspecific(key, Unmanaged.passRetained(scratch).toOpaque())
    return scratch
  }
}
