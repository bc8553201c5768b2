import Testing
@testable import SheetNet

/// The kernels against plain loops: both pure-Swift products bit for bit against naive k-ordered
/// triple loops (s ← s + x·y, and s ← fma(x, y, s) for the fused path; every transpose,
/// accumulate on and off), the OpenBLAS path within 1e-12 of them, and the bias, row-sum and
/// gather helpers.
struct KernelTests {
  /// op(A) is M×K, op(B) is K×N.
  struct Shape: Sendable, CustomTestStringConvertible {
    var m: Int, n: Int, k: Int
    var testDescription: String { "\(m)×\(k)·\(k)×\(n)" }
  }

  /// A matrix of uniform values in [−1, 1) from a seeded generator.
  static func matrix(_ rows: Int, _ columns: Int, seed: UInt64) -> Tensor {
    var rng = SeededGenerator(seed: seed)
    return Tensor(shape: [rows, columns], data: (0..<rows * columns).map { _ in rng.uniform(-1, 1) })
  }

  /// C ← op(A)·op(B) (or C + op(A)·op(B)) by the definition: s = ((a₀b₀ + a₁b₁) + a₂b₂) + …,
  /// k = 0…K−1, a separate multiply and add each step (or one fma when `fused`), then C ← s or
  /// C ← C + s.
  static func naive(_ a: Tensor, _ ta: Bool, _ b: Tensor, _ tb: Bool, _ c: inout Tensor, _ s: Shape, accumulate: Bool, fused: Bool = false) {
    for i in 0..<s.m {
      for j in 0..<s.n {
        var sum = 0.0
        for kk in 0..<s.k {
          let x = ta ? a.data[kk * s.m + i] : a.data[i * s.k + kk]
          let y = tb ? b.data[j * s.k + kk] : b.data[kk * s.n + j]
          if fused {
            sum = sum.addingProduct(x, y)  // one rounding
          } else {
            let product = x * y
            sum = sum + product
          }
        }
        c.data[i * s.n + j] = accumulate ? c.data[i * s.n + j] + sum : sum
      }
    }
  }

  /// Operands stored for the given transposes, and a starting C.
  static func operands(_ s: Shape, _ ta: Bool, _ tb: Bool, seed: UInt64) -> (a: Tensor, b: Tensor, c: Tensor) {
    let a = ta ? matrix(s.k, s.m, seed: seed) : matrix(s.m, s.k, seed: seed)
    let b = tb ? matrix(s.n, s.k, seed: seed + 1) : matrix(s.k, s.n, seed: seed + 1)
    return (a, b, matrix(s.m, s.n, seed: seed + 2))
  }

  static let exactShapes: [Shape] = [
    Shape(m: 1, n: 1, k: 1), Shape(m: 3, n: 7, k: 5), Shape(m: 4, n: 8, k: 8), Shape(m: 4, n: 8, k: 1),
    Shape(m: 5, n: 9, k: 3), Shape(m: 3, n: 7, k: 9), Shape(m: 8, n: 16, k: 4), Shape(m: 33, n: 17, k: 65),
    Shape(m: 32, n: 10, k: 32), Shape(m: 10, n: 32, k: 70), Shape(m: 70, n: 9, k: 100),
    Shape(m: 1, n: 40, k: 64), Shape(m: 40, n: 1, k: 64), Shape(m: 12, n: 20, k: 128),
    // The fused path's 8×16 tile and its edges: 1…8 rows, 9…16 columns, packed panels.
    Shape(m: 8, n: 16, k: 64), Shape(m: 13, n: 25, k: 70), Shape(m: 5, n: 9, k: 2), Shape(m: 17, n: 33, k: 66),
    Shape(m: 7, n: 31, k: 65), Shape(m: 64, n: 48, k: 100),
  ]

  @Test(arguments: exactShapes, [Kernels.Path.swift, .fused])
  func swiftPathsEqualTheirNaiveLoopsBitForBit(shape s: Shape, path: Kernels.Path) {
    for ta in [false, true] {
      for tb in [false, true] {
        for accumulate in [false, true] {
          let (a, b, c0) = KernelTests.operands(s, ta, tb, seed: UInt64(s.m * 10_000 + s.n * 100 + s.k))
          var expected = c0, got = c0
          KernelTests.naive(a, ta, b, tb, &expected, s, accumulate: accumulate, fused: path == .fused)
          Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &got, accumulate: accumulate, path: path)
          let mismatch = (0..<got.count).first { got.data[$0].bitPattern != expected.data[$0].bitPattern }
          #expect(mismatch == nil, "\(path) \(s.testDescription) ta \(ta) tb \(tb) accumulate \(accumulate): element \(mismatch ?? -1) is \(mismatch.map { got.data[$0] } ?? 0), the loop gives \(mismatch.map { expected.data[$0] } ?? 0)")
        }
      }
    }
  }

  @Test func fusedAndPlainDifferOnlyInRounding() {
    // Same terms, same order: the two pure-Swift paths agree to a few ulps of the sum's terms,
    // and do differ somewhere (the fused path is really fused).
    let s = Shape(m: 37, n: 41, k: 300)
    let (a, b, c0) = KernelTests.operands(s, false, false, seed: 9)
    var plain = c0, fused = c0
    Kernels.gemm(a, b, into: &plain, path: .swift)
    Kernels.gemm(a, b, into: &fused, path: .fused)
    let worst = zip(plain.data, fused.data).map { abs($0 - $1) }.max() ?? 0
    #expect(worst <= 1e-12 * Double(s.k))
    #expect(plain != fused)
  }

  @Test(arguments: [Kernels.Path.swift, .fused])
  func signedZerosFollowTheLoop(path: Kernels.Path) {
    // 0·(−1) = −0; −0 + −0 = −0; a C of −0 plus an empty or −0 sum must match the loop too.
    for s in [Shape(m: 4, n: 8, k: 2), Shape(m: 8, n: 16, k: 2)] {
      let a = Tensor(shape: [s.m, 2], repeating: 0), b = Tensor(shape: [2, s.n], repeating: -1)
      for accumulate in [false, true] {
        var expected = Tensor(shape: [s.m, s.n], repeating: -0.0), got = expected
        KernelTests.naive(a, false, b, false, &expected, s, accumulate: accumulate, fused: path == .fused)
        Kernels.gemm(a, b, into: &got, accumulate: accumulate, path: path)
        #expect(got.data.map(\.bitPattern) == expected.data.map(\.bitPattern), "\(path) \(s.testDescription) accumulate \(accumulate)")
      }
    }
    // K = 0 (an empty sum); written A·Bᵀ because a [0, N] tensor reports 0 columns.
    let empty = Shape(m: 3, n: 2, k: 0)
    for accumulate in [false, true] {
      var expected = Tensor(shape: [3, 2], data: [-0.0, 1, -2, 0, -0.0, 3]), got = expected
      KernelTests.naive(Tensor(shape: [3, 0]), false, Tensor(shape: [2, 0]), true, &expected, empty, accumulate: accumulate)
      Kernels.gemm(Tensor(shape: [3, 0]), Tensor(shape: [2, 0]), transposeB: true, into: &got, accumulate: accumulate, path: .swift)
      #expect(got.data.map(\.bitPattern) == expected.data.map(\.bitPattern), "K = 0, accumulate \(accumulate)")
    }
  }

  static let blasShapes: [Shape] = [
    Shape(m: 64, n: 64, k: 64), Shape(m: 128, n: 128, k: 128), Shape(m: 256, n: 256, k: 256),
    Shape(m: 37, n: 131, k: 300), Shape(m: 65, n: 7, k: 129), Shape(m: 1, n: 300, k: 50), Shape(m: 200, n: 3, k: 1),
  ]

  @Test(arguments: blasShapes)
  func allPathsAgreeTo1e12(shape s: Shape) {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      for accumulate in [false, true] {
        let (a, b, c0) = KernelTests.operands(s, ta, tb, seed: UInt64(s.m + s.n + s.k))
        var pure = c0, fused = c0, blas = c0
        Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &pure, accumulate: accumulate, path: .swift)
        Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &fused, accumulate: accumulate, path: .fused)
        Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &blas, accumulate: accumulate, path: .blas)
        // Relative to the largest element: max |Δ| ≤ 1e-12 · max |C|.
        let scale = pure.data.map(abs).max() ?? 0
        for (name, other) in [("OpenBLAS", blas), ("fused", fused)] {
          let worst = zip(pure.data, other.data).map { abs($0 - $1) }.max() ?? 0
          #expect(worst <= 1e-12 * scale, "\(name) \(s.testDescription) ta \(ta) tb \(tb) accumulate \(accumulate): max |Δ| \(worst), max |C| \(scale)")
        }
      }
    }
  }

  @Test func automaticPathFollowsTheThreshold() {
    // README: products of at least 64³ multiply-adds take the fast path (OpenBLAS where it is fast
    // on this CPU, else fused multiply-adds); smaller ones sum in spreadsheet order. The sizes
    // are written out here, not read from the policy, so a changed threshold fails.
    let fast: Kernels.Path = Kernels.blasIsFast ? .blas : .fused
    for (multiplyAdds, expected) in [(1, Kernels.Path.swift), (16 * 16 * 16, .swift), (64 * 64 * 64 - 1, .swift),
                                     (64 * 64 * 64, fast), (256 * 256 * 256, fast)] {
      #expect(ComputePolicy.automatic.route(.product(multiplyAdds: multiplyAdds)) == .fast(products: expected), "\(multiplyAdds) multiply-adds")
    }
    // A dense layer under the automatic policy gives the path's numbers, bit for bit: below 64³
    // those of the naive loop (the reference tier), at 64³ those of the fast product.
    for (s, expected) in [(Shape(m: 16, n: 16, k: 16), Kernels.Path.swift), (Shape(m: 64, n: 64, k: 64), fast)] {
      var rng = SeededGenerator(seed: 5)
      let layer = Dense(s.n, useBias: false)
      _ = try? layer.build(inputShape: [s.k], rng: &rng)
      let x = KernelTests.matrix(s.m, s.k, seed: 6)
      let z = layer.forward(x, Step(training: true))
      var chosen = Tensor(shape: [s.m, s.n])
      Kernels.gemm(x, layer.W.value, transposeB: true, into: &chosen, path: expected)
      #expect(z.data.map(\.bitPattern) == chosen.data.map(\.bitPattern), "\(s.testDescription)")
      if expected == .swift {
        let naive = Reference.matrixProduct(x, layer.W.value, transposeB: true)
        #expect(z.data.map(\.bitPattern) == naive.data.map(\.bitPattern), "\(s.testDescription): the reference loop")
      } else {
        var other = Tensor(shape: [s.m, s.n])
        Kernels.gemm(x, layer.W.value, transposeB: true, into: &other, path: .swift)
        #expect(z.data != other.data, "\(s.testDescription): the fast path was not taken")
      }
    }
  }

  @Test(arguments: [(3, 5, 1), (2, 4, 6), (1, 1, 1), (4, 3, 9)])
  func addBias(rows: Int, channels: Int, spatial: Int) {
    let y0 = Tensor(shape: [rows, channels * spatial], data: KernelTests.matrix(rows, channels * spatial, seed: 21).data)
    let bias = Tensor(KernelTests.matrix(1, channels, seed: 22).data)
    var y = y0
    Kernels.addBias(bias, to: &y, spatial: spatial)
    for r in 0..<rows {
      for ch in 0..<channels {
        for s in 0..<spatial {
          let i = (r * channels + ch) * spatial + s
          #expect(y.data[i] == y0.data[i] + bias.data[ch], "row \(r) channel \(ch) position \(s)")
        }
      }
    }
  }

  @Test(arguments: [(3, 5, 1), (2, 4, 6), (1, 1, 1), (7, 3, 9), (2, 11, 3), (5, 8, 1)])
  func sumRows(rows: Int, channels: Int, spatial: Int) {
    let delta = KernelTests.matrix(rows, channels * spatial, seed: 31)
    var db = Tensor(shape: [channels], repeating: 42)  // overwritten, not added to
    Kernels.sumRows(delta, into: &db, spatial: spatial)
    for ch in 0..<channels {
      var s = 0.0  // rows in order, and within a row the positions in order
      for r in 0..<rows {
        for q in 0..<spatial { s += delta.data[(r * channels + ch) * spatial + q] }
      }
      #expect(db.data[ch].bitPattern == s.bitPattern, "channel \(ch): \(db.data[ch]) vs \(s)")
    }
  }

  @Test func gatherCopiesRowsInOrder() {
    let x = Tensor(shape: [4, 2, 3], data: (0..<24).map(Double.init))  // rows of 6
    let indices = [3, 0, 3, 1]
    var out = Tensor(shape: [4, 2, 3], repeating: -1)
    Kernels.gather(x, rows: indices, into: &out)
    for (r, i) in indices.enumerated() {
      #expect(Array(out.data[r * 6..<(r + 1) * 6]) == Array(x.data[i * 6..<(i + 1) * 6]), "row \(r) ← \(i)")
    }
    #expect(x.gathering(rows: indices) == out)
    #expect(x.gathering(rows: []).shape == [0, 2, 3])
  }
}
