/// The fast tier of one `Conv2D` layer: the same convolution as `Reference.convolution` and its
/// gradients, computed with matrix products and the memory kept between steps.
///
/// `.fast(products:)` works one sample at a time so that everything stays in cache: it copies
/// every window of the sample into a column of a patch matrix (`Kernels.im2col`, cols
/// [C·k_h·k_w, P]), then z = W·cols, dW += δ·colsᵀ and dcols = Wᵀ·δ with `Kernels.gemm`, and
/// `Kernels.col2im` adds dcols back onto dx. With `.swift` products it sums the same terms in the
/// same order as the reference loops, bit for bit; with fused products or OpenBLAS it may differ
/// in the last bits (≤ 1e-12 relative in tests). `.inPlace` (stride 1, fused products) never
/// writes the patches: `Kernels.ImplicitConvolution` reads row r of the patch matrix straight from
/// a zero-padded copy of the sample, with the numbers of `.fast(products: .fused)` bit for bit.
package final class FastConvolution {
  /// The layer's window sweep.
  package let window: SlidingWindow
  /// Filters F.
  package let filters: Int
  /// The in-place geometry when the stride is 1 and reading in place computes at most 20 % more
  /// positions than there are (else nil: the patches are written out).
  package let inPlace: Kernels.ImplicitConvolution?

  private let sampleShape: [Int]  // one sample's output, [F, outH, outW]
  private var outputs = TensorPair(), inputGradients = TensorPair()  // z and dx, written in turns (no allocation per step)
  private var patches: [Tensor] = []  // each sample's patches, [C·k_h·k_w, P]
  private var keptPatches = false  // whether `patches` holds every sample of the last forward pass
  private var dcols = Tensor(shape: [0])  // Wᵀ·δ for one sample, [C·k_h·k_w, P]

  /// The fast tier for a convolution of `filters` filters over `window`.
  package init(_ window: SlidingWindow, filters: Int) {
    self.window = window
    self.filters = filters
    sampleShape = [filters, window.outH, window.outW]
    inPlace = Kernels.ImplicitConvolution(window).flatMap { $0.overhead <= 1.2 ? $0 : nil }
  }

  /// z = W·cols + b for a batch x [N, C, H, W] on `route` (the layer's, never `.reference`): the
  /// next of two buffers, [N, F, outH, outW]. A training step keeps the patches for `backward`
  /// within the policy's `patchCacheBytes`; an evaluation pass keeps none.
  package func forward(_ x: Tensor, _ w: Tensor, bias: Tensor?, route: ComputePolicy.Route, _ step: Step) -> Tensor {
    let budget = step.training ? step.policy.patchCacheBytes : 0
    return outputs.next(rows: x.rows, sampleShape) { forward(x, w, bias: bias, route: route, patchBudget: budget, into: &$0) }
  }

  /// Fills dW and db (when `wantsDb`) for δ [N, F, outH, outW] and returns dx [N, C, H, W], or an
  /// empty tensor unless `wantsDx`; `route` and `x` are those of the forward pass.
  package func backward(_ delta: Tensor, _ x: Tensor, _ w: Tensor, route: ComputePolicy.Route,
                        weightGradient dW: inout Tensor, biasGradient db: inout Tensor, wantsDb: Bool, wantsDx: Bool) -> Tensor {
    inputGradients.next(wantsDx ? x.shape : [0], zeroed: route != .inPlace) { dx in
      backward(delta, x, w, route: route, weightGradient: &dW, biasGradient: &db, wantsDb: wantsDb, inputGradient: &dx, wantsDx: wantsDx)
    }
  }

  /// z = W·cols + b for every sample into z [N, F, outH, outW] (every element written).
  /// Every sample's patches are kept for `backward` while they take at most `patchBudget` bytes
  /// (N·C·k_h·k_w·outH·outW·8; training passes the policy's budget, evaluation 0); otherwise one
  /// buffer is reused and backward copies the windows again.
  private func forward(_ x: Tensor, _ w: Tensor, bias: Tensor?, route: ComputePolicy.Route, patchBudget: Int, into z: inout Tensor) {
    let g = window, n = x.rows
    if route == .inPlace, let inPlace {
      inPlace.forward(x, w, bias: bias, into: &z)
      return
    }
    guard case .fast(let product) = route else { preconditionFailure("FastConvolution: route \(route)") }
    keptPatches = n * g.patch * g.positions * 8 <= patchBudget && patchBudget > 0
    prepareScratch(patches: keptPatches ? n : 1)
    for s in 0..<n {
      let slot = keptPatches ? s : 0
      Kernels.im2col(x, sample: s, g, into: &patches[slot])  // cols, [C·k_h·k_w, P]
      Kernels.gemm(w, patches[slot], into: &z, at: s * filters * g.positions, path: product)  // W·cols, [F, P]
    }
    if let bias { Kernels.addBias(bias, to: &z, spatial: g.positions) }  // W·cols + b
  }

  /// dW = Σₙ δₙ·colsₙᵀ (samples added in order), db = Σₙ Σᵢⱼ δ when `wantsDb`, and dx (zeroed
  /// first on the im2col route) gains col2im(Wᵀ·δₙ) when `wantsDx`. `route` must be the one
  /// `forward` took.
  private func backward(_ delta: Tensor, _ x: Tensor, _ w: Tensor, route: ComputePolicy.Route,
                        weightGradient dW: inout Tensor, biasGradient db: inout Tensor, wantsDb: Bool,
                        inputGradient dx: inout Tensor, wantsDx: Bool) {
    let g = window, n = x.rows, size = filters * g.positions
    if route == .inPlace, let inPlace {
      inPlace.backward(delta, x, w, weightGradient: &dW, biasGradient: &db, wantsDb: wantsDb,
                       inputGradient: &dx, wantsDx: wantsDx)  // db = Σₙ Σᵢⱼ δ on the way, as sumRows adds
      return
    }
    guard case .fast(let product) = route else { preconditionFailure("FastConvolution: route \(route)") }
    prepareScratch(patches: keptPatches ? n : 1)
    if n == 0 { dW = Tensor(shape: w.shape) }
    for s in 0..<n {
      let slot = keptPatches ? s : 0
      if !keptPatches { Kernels.im2col(x, sample: s, g, into: &patches[0]) }  // not kept: copy the windows again
      let deltaS = (offset: s * size, rows: filters, columns: g.positions)  // δ of sample s, [F, P], in place
      Kernels.gemm(delta, block: deltaS, patches[slot], block: (0, g.patch, g.positions), transposeB: true,
                   into: &dW, accumulate: s > 0, path: product)  // dW += δ·colsᵀ
      guard wantsDx else { continue }
      Kernels.gemm(w, block: (0, filters, g.patch), transposeA: true, delta, block: deltaS,
                   into: &dcols, path: product)  // Wᵀ·δ, [C·k_h·k_w, P]
      Kernels.col2im(dcols, g, addingTo: &dx, sample: s)
    }
    if wantsDb { Kernels.sumRows(delta, into: &db, spatial: g.positions) }  // db = Σₙ Σᵢⱼ δ, [F]
  }

  /// Sizes the per-sample buffers (allocated once, reused every step).
  private func prepareScratch(patches count: Int) {
    let g = window
    if patches.count < count { patches += (patches.count..<count).map { _ in Tensor(shape: [g.patch, g.positions]) } }
    if dcols.count != g.patch * g.positions { dcols = Tensor(shape: [g.patch, g.positions]) }
  }
}
