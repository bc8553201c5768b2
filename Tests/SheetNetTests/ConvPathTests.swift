import Testing
@testable import SheetNet

/// The reference loops and the fast tier (im2col + gemm) compute the same convolution: equal to
/// 1e-12 relative (‖a − b‖∞ / ‖a‖∞) in general, and bit for bit where the product stays on the
/// pure-Swift path. (TwoTierTests holds every product path on generated shapes.)
struct ConvPathTests {
  /// ‖a − b‖∞ / max(‖a‖∞, 1e-300).
  func difference(_ a: Tensor, _ b: Tensor) -> Double {
    precondition(a.shape == b.shape, "\(a.shape) vs \(b.shape)")
    var worst = 0.0, scale = 0.0
    for i in 0..<a.count {
      worst = max(worst, abs(a.data[i] - b.data[i]))
      scale = max(scale, abs(a.data[i]))
    }
    return worst / max(scale, 1e-300)
  }

  /// Forward z and backward dx, dW, db of both tiers for the same weights, input and δ.
  func bothPaths(_ c: ConvCase) throws -> [(name: String, direct: Tensor, im2col: Tensor)] {
    var out: [String: [Tensor]] = [:]
    for policy in [ComputePolicy.reference, .fast] {
      let conv = try c.layer()
      let x = c.input
      let z = conv.forward(x, Step(training: true, policy: policy))
      let delta = randomTensor(z.shape, seed: 77)
      let dx = conv.backward(delta, Step(training: true, policy: policy))
      out["z", default: []].append(z)
      out["dx", default: []].append(dx)
      out["dW", default: []].append(conv.W.grad)
      if c.useBias { out["db", default: []].append(conv.b.grad) }
    }
    return out.keys.sorted().map { ($0, out[$0]![0], out[$0]![1]) }
  }

  @Test(arguments: convCases + [
    // Large enough that the products go to OpenBLAS (M·N·K ≥ 64³).
    ConvCase(n: 8, c: 3, h: 16, w: 16, filters: 8, kernel: (3, 3), stride: (1, 1), padding: .valid),
    ConvCase(n: 4, c: 4, h: 15, w: 13, filters: 6, kernel: (5, 3), stride: (2, 1), padding: .same),
  ])
  func pathsAgree(_ c: ConvCase) throws {
    for (name, direct, im2col) in try bothPaths(c) {
      #expect(difference(direct, im2col) <= 1e-12, "\(name) \(c.testDescription): \(difference(direct, im2col))")
    }
  }

  @Test(arguments: convCases)
  func pureSwiftProductIsBitIdentical(_ c: ConvCase) throws {
    // Below the BLAS threshold both paths add the same terms in the same order: z over (c, u, v)
    // then + b; dW per sample over (i, j), then the samples; dx per kernel cell over f, then the
    // cells in (u, v) order; db by the same kernel.
    let conv = try c.layer()
    #expect(conv.route(batch: c.n, .fast) == .fast(products: .swift))
    for (name, direct, im2col) in try bothPaths(c) {
      #expect(direct == im2col, "\(name) \(c.testDescription)")
    }
  }

  @Test func evaluationPassThenBackward() throws {
    // An evaluation pass keeps one sample's patches only; backward then rebuilds them.
    let c = convCases[4]
    let (a, b) = (try c.layer(), try c.layer())
    let delta = randomTensor([c.n, c.filters, a.window.outH, a.window.outW], seed: 3)
    let (fast, reference) = (Step(training: false, policy: .fast), Step(training: false, policy: .reference))
    #expect(a.forward(c.input, fast) == b.forward(c.input, reference))
    #expect(a.backward(delta, fast) == b.backward(delta, reference))
    #expect(a.W.grad == b.W.grad)
  }

  @Test(arguments: [ComputePolicy.Tier.reference, .fast])
  func firstLayerSkipsItsInputGradient(tier: ComputePolicy.Tier) throws {
    // Training asks the first layer for no ∂L/∂x: it returns an empty tensor, same dW and db.
    let c = convCases[1], policy = ComputePolicy(tier: tier)
    let (full, skip) = (try c.layer(), try c.layer())
    let delta = randomTensor([c.n, c.filters, c.h, c.w], seed: 5)  // same padding keeps H×W
    _ = full.forward(c.input, Step(training: true, policy: policy))
    _ = skip.forward(c.input, Step(training: true, policy: policy))
    let dx = full.backward(delta, Step(training: true, policy: policy))
    let step = Step(training: true, policy: policy)
    step.needsInputGradient = false
    #expect(skip.backward(delta, step).count == 0)
    #expect(dx.count == c.input.count)
    #expect(skip.W.grad == full.W.grad && skip.b.grad == full.b.grad)
    // A traced step still computes it.
    let traced = Step(training: true, tracer: Tracer(), policy: policy)
    traced.needsInputGradient = false
    #expect(skip.backward(delta, traced) == dx)
  }

  @Test func automaticChoosesBySize() throws {
    // The automatic policy (every lesson's) runs the reference loops below 2048 multiply-adds per
    // batch, then the fast tier with spreadsheet-order products up to 64³, then the fast products
    // (OpenBLAS where it is fast here, else fused multiply-adds: read in place at stride 1 when
    // that computes ≤ 20 % extra positions). The numbers are the README's, not the policy's own.
    let small = try ConvCase(n: 1, c: 1, h: 5, w: 5, filters: 2, kernel: (3, 3), stride: (1, 1), padding: .valid).layer()
    #expect(small.multiplyAdds == 9 * 2 * 9)  // 162 per sample
    #expect(small.route(batch: 1, .automatic) == .reference)
    #expect(small.route(batch: 12, .automatic) == .reference)  // 1,944
    #expect(small.route(batch: 13, .automatic) == .fast(products: .swift))  // 2,106
    #expect(small.route(batch: 1618, .automatic) == .fast(products: .swift))  // 262,116 < 64³
    let fastProducts: Kernels.Path = Kernels.blasIsFast ? .blas : .fused
    #expect(small.route(batch: 1619, .automatic) == .fast(products: fastProducts))  // 5×5 → 3×3 would read 1.8× in place: written out
    let wide = try ConvCase(n: 1, c: 1, h: 28, w: 28, filters: 8, kernel: (3, 3), stride: (1, 1), padding: .valid).layer()
    #expect(wide.route(batch: 64, .automatic) == (fastProducts == .fused ? .inPlace : .fast(products: .blas)))
    #expect(wide.route(batch: 64, ComputePolicy(products: .fused)) == .inPlace)
    var written = ComputePolicy(products: .fused)
    written.readsPatchesInPlace = false
    #expect(wide.route(batch: 64, written) == .fast(products: .fused))
    // A forced tier wins over size.
    #expect(small.route(batch: 1_000_000, .reference) == .reference)
    #expect(small.route(batch: 1, .fast) == .fast(products: .swift))
    #expect(small.route(batch: 1, ComputePolicy(tier: .fast, products: .blas)) == .fast(products: .blas))
  }

  @Test func im2colLaysOutWindowsAsColumns() {
    // One 3×3 image, 2×2 windows, stride 1, valid: four columns, one per output cell.
    let x = Tensor(shape: [1, 1, 3, 3], data: [1, 2, 3, 4, 5, 6, 7, 8, 9])
    let g = SlidingWindow(channels: 1, height: 3, width: 3, kernelH: 2, kernelW: 2, strideH: 1, strideW: 1,
                           padTop: 0, padLeft: 0, outH: 2, outW: 2)
    var cols = Tensor(shape: [4, 4])
    Kernels.im2col(x, g, into: &cols)
    #expect(cols.data == [1, 2, 4, 5,  // u = 0, v = 0 of each window
                          2, 3, 5, 6,
                          4, 5, 7, 8,
                          5, 6, 8, 9])
    // col2im adds every copy back: the centre 5 was read by all four windows.
    var back = Tensor(shape: [1, 1, 3, 3])
    Kernels.col2im(Tensor(shape: [4, 4], repeating: 1), g, into: &back)
    #expect(back.data == [1, 2, 1, 2, 4, 2, 1, 2, 1])
  }

  @Test func im2colPadsWithZeros() {
    // 2×2 image, 3×3 window, same padding (one zero all round), stride 2: one window.
    let x = Tensor(shape: [1, 1, 2, 2], data: [1, 2, 3, 4])
    let g = SlidingWindow(channels: 1, height: 2, width: 2, kernelH: 3, kernelW: 3, strideH: 2, strideW: 2,
                           padTop: 0, padLeft: 0, outH: 1, outW: 1)
    var cols = Tensor(shape: [9, 1])
    Kernels.im2col(x, g, into: &cols)
    #expect(cols.data == [1, 2, 0, 3, 4, 0, 0, 0, 0])
    let h = SlidingWindow(channels: 1, height: 2, width: 2, kernelH: 3, kernelW: 3, strideH: 1, strideW: 1,
                           padTop: 1, padLeft: 1, outH: 2, outW: 2)
    var cols2 = Tensor(shape: [9, 4])
    Kernels.im2col(x, h, into: &cols2)
    #expect(Array(cols2.data[0..<4]) == [0, 0, 0, 1])  // u = 0, v = 0: only the last window sees x₁₁
    #expect(Array(cols2.data[16..<20]) == [1, 2, 3, 4])  // the centre tap sees every pixel
  }

  @Test func onePatchMatrixPerSample() {
    // Sample 2 of two: the same columns as the batch im2col's second half.
    let x = randomTensor([2, 2, 4, 3], seed: 8)
    let g = SlidingWindow(channels: 2, height: 4, width: 3, kernelH: 2, kernelW: 2, strideH: 2, strideW: 1,
                           padTop: 0, padLeft: 1, outH: 2, outW: 3)
    var all = Tensor(shape: [8, 12]), one = Tensor(shape: [8, 6])
    Kernels.im2col(x, g, into: &all)
    Kernels.im2col(x, sample: 1, g, into: &one)
    for r in 0..<8 { #expect(Array(all.data[r * 12 + 6 ..< r * 12 + 12]) == Array(one.data[r * 6 ..< r * 6 + 6])) }
    var back = Tensor(shape: [2, 2, 4, 3]), backAll = Tensor(shape: [2, 2, 4, 3])
    Kernels.col2im(one, g, addingTo: &back, sample: 1)
    Kernels.col2im(all, g, into: &backAll)
    #expect(Array(back.data[24...]) == Array(backAll.data[24...]) && back.data[..<24].allSatisfy { $0 == 0 })
  }
}

/// Stride-1 convolutions on the fused fast path read the patch matrix in place
/// (`Kernels.ImplicitConvolution`); they must give exactly what writing it out gives.
struct InPlacePatchTests {
  static let cases: [ConvCase] = [
    ConvCase(n: 3, c: 1, h: 28, w: 28, filters: 8, kernel: (3, 3), stride: (1, 1), padding: .valid),  // CNN A's first layer
    ConvCase(n: 2, c: 8, h: 13, w: 13, filters: 16, kernel: (3, 3), stride: (1, 1), padding: .valid),  // and its second
    ConvCase(n: 2, c: 3, h: 9, w: 11, filters: 5, kernel: (3, 2), stride: (1, 1), padding: .same),  // uneven padding
    ConvCase(n: 2, c: 2, h: 6, w: 7, filters: 20, kernel: (4, 4), stride: (1, 1), padding: .same),  // filters past 16
    ConvCase(n: 1, c: 7, h: 5, w: 5, filters: 3, kernel: (1, 1), stride: (1, 1), padding: .valid),  // 1×1
    ConvCase(n: 2, c: 2, h: 8, w: 3, filters: 9, kernel: (5, 3), stride: (1, 1), padding: .valid),  // one output column
    ConvCase(n: 2, c: 1, h: 7, w: 9, filters: 12, kernel: (3, 4), stride: (1, 1), padding: .same),  // 12 patch rows: 8 + 4
  ]

  @Test("in place = im2col + fused products + col2im, bit for bit: z, dW, dx", arguments: cases)
  func sameNumbers(_ c: ConvCase) throws {
    let conv = try c.layer()
    let g = conv.window!, f = c.filters
    let inPlace = try #require(Kernels.ImplicitConvolution(g))
    let x = c.input, w = conv.W.value, b = conv.b.value
    let delta = randomTensor([c.n, f, g.outH, g.outW], seed: 91)

    // Written out: im2col, then the fused products, sample by sample (as Conv2D did).
    var z = Tensor(shape: [c.n, f, g.outH, g.outW]), dW = Tensor(shape: w.shape), dx = Tensor(shape: x.shape)
    var cols = Tensor(shape: [g.patch, g.positions]), dcols = Tensor(shape: [g.patch, g.positions])
    for s in 0..<c.n {
      Kernels.im2col(x, sample: s, g, into: &cols)
      Kernels.gemm(w, cols, into: &z, at: s * f * g.positions, path: .fused)
      let ds = (offset: s * f * g.positions, rows: f, columns: g.positions)
      Kernels.gemm(delta, block: ds, cols, block: (0, g.patch, g.positions), transposeB: true, into: &dW, accumulate: s > 0, path: .fused)
      Kernels.gemm(w, block: (0, f, g.patch), transposeA: true, delta, block: ds, into: &dcols, path: .fused)
      Kernels.col2im(dcols, g, addingTo: &dx, sample: s)
    }
    Kernels.addBias(b, to: &z, spatial: g.positions)

    var db = Tensor(shape: [f])
    Kernels.sumRows(delta, into: &db, spatial: g.positions)

    var z2 = Tensor(shape: z.shape), dW2 = Tensor(shape: w.shape), dx2 = Tensor(shape: x.shape), db2 = Tensor(shape: [f])
    inPlace.forward(x, w, bias: b, into: &z2)
    inPlace.backward(delta, x, w, weightGradient: &dW2, biasGradient: &db2, wantsDb: true, inputGradient: &dx2, wantsDx: true)
    #expect(z2 == z)
    // Without a bias: the products alone, as stored (−0 stays −0).
    var z3 = Tensor(shape: z.shape), z4 = Tensor(shape: z.shape)
    for s in 0..<c.n {
      Kernels.im2col(x, sample: s, g, into: &cols)
      Kernels.gemm(w, cols, into: &z4, at: s * f * g.positions, path: .fused)
    }
    inPlace.forward(x, w, bias: nil, into: &z3)
    #expect(z3.data.map(\.bitPattern) == z4.data.map(\.bitPattern))
    #expect(dW2 == dW)
    #expect(dx2 == dx)
    #expect(db2 == db)
    // Without dx and db, dW is the same.
    var dW3 = Tensor(shape: w.shape), none = Tensor(shape: [0]), noDb = Tensor(shape: [0])
    inPlace.backward(delta, x, w, weightGradient: &dW3, biasGradient: &noDb, wantsDb: false, inputGradient: &none, wantsDx: false)
    #expect(dW3 == dW)
  }

  @Test("a stride other than 1 is not read in place")
  func strideTwo() throws {
    let conv = try ConvCase(n: 1, c: 1, h: 7, w: 7, filters: 2, kernel: (3, 3), stride: (2, 2), padding: .valid).layer()
    #expect(Kernels.ImplicitConvolution(conv.window) == nil)
  }

  @Test("the layer: in place or written out, the same step")
  func layer() throws {
    // Both layers take fused products (on every CPU, whatever the automatic policy would take);
    // only the first may read its patches in place.
    let c = InPlacePatchTests.cases[1]
    let (a, b) = (try c.layer(), try c.layer())
    let inPlace = ComputePolicy(tier: .fast, products: .fused)
    var written = inPlace
    written.readsPatchesInPlace = false
    let delta = randomTensor([c.n, c.filters, a.window.outH, a.window.outW], seed: 4)
    #expect(a.forward(c.input, Step(training: true, policy: inPlace)) == b.forward(c.input, Step(training: true, policy: written)))
    #expect(a.usedInPlace && !b.usedInPlace)
    #expect(a.backward(delta, Step(training: true, policy: inPlace)) == b.backward(delta, Step(training: true, policy: written)))
    #expect(a.W.grad == b.W.grad && a.b.grad == b.b.grad)
    // A 4×4 image would compute twice the positions in place: it writes its patches instead.
    let small = try ConvCase(n: 64, c: 32, h: 4, w: 4, filters: 32, kernel: (3, 3), stride: (1, 1), padding: .same).layer()
    _ = small.forward(randomTensor([64, 32, 4, 4], seed: 2), Step(training: true, policy: inPlace))
    #expect(!small.usedInPlace)
  }
}
