/// Which tier computes each layer's numbers: the one place that decides it.
///
/// The engine has two tiers behind one seam. `Reference` holds the textbook loops (the numbers
/// the trace explains); `Kernels` and `FastConvolution` hold the fast tier (SIMD tiles, OpenBLAS,
/// im2col, the in-place convolution, scratch memory). Every layer asks `route(_:)` once per pass
/// and calls the tier it names; nothing else chooses. A `Step` carries the policy, so a test or a
/// benchmark picks a path by passing a policy (`Step(training: true, policy: .reference)`), never
/// by changing a global.
///
/// `.automatic` (every step's default) keeps the numbers a spreadsheet gives wherever a lesson's
/// products are small: products below `fastThreshold` multiply-adds sum in k order (`.swift`,
/// bit for bit the reference loops), larger ones take `fastProducts` (OpenBLAS where it is fast on
/// this CPU, else fused multiply-adds; ≤ 1e-12 relative from the spreadsheet order), and the
/// tiniest convolutions (below `directThreshold`) run the reference loops, which are quicker there.
package struct ComputePolicy: Sendable, Equatable {
  /// A tier forced for every layer.
  package enum Tier: Sendable, Equatable {
    /// The textbook loops of `Reference`.
    case reference
    /// The fast tier, whatever the size.
    case fast
  }

  /// What a layer is about to compute.
  package enum Operation: Sendable {
    /// A dense layer's products: M·N·K = `multiplyAdds` (z, dW and dx have the same).
    case product(multiplyAdds: Int)
    /// A convolution of a batch of `batch` samples, `multiplyAdds` per sample; `readableInPlace`
    /// when its stride is 1 and reading the patches in place computes at most 20 % extra positions.
    case convolution(batch: Int, multiplyAdds: Int, readableInPlace: Bool)
    /// Max or average pooling.
    case pooling
    /// Batch normalisation.
    case normalization
  }

  /// Where an operation runs.
  package enum Route: Sendable, Equatable {
    /// The textbook loops of `Reference`.
    case reference
    /// The fast tier, its matrix products (if it has any) summed by `products`.
    case fast(products: Kernels.Path)
    /// A stride-1 convolution whose fused products read the patch matrix in place
    /// (`Kernels.ImplicitConvolution`; the same numbers as `.fast(products: .fused)`, bit for bit).
    case inPlace
  }

  /// A tier for every layer, or nil to choose by size (see the type's comment).
  package var tier: Tier?
  /// One product path for every product, or nil to choose by size.
  package var products: Kernels.Path?
  /// The path of products at or above `fastThreshold`: `.blas` where OpenBLAS is fast here, else `.fused`.
  package var fastProducts: Kernels.Path = Kernels.blasIsFast ? .blas : .fused
  /// Products of at least this many multiply-adds (M·N·K; a convolution's whole batch) go fast (64³).
  package var fastThreshold = 64 * 64 * 64
  /// Convolutions of fewer multiply-adds per batch than this run the reference loops when the
  /// tier is chosen by size (im2col costs more than it saves there).
  package var directThreshold = 2048
  /// The fast convolution keeps every sample's patches from forward for backward while they take
  /// at most this many bytes (N·C·k_h·k_w·outH·outW·8); above it backward copies them again.
  package var patchCacheBytes = 4 << 20
  /// Whether a stride-1 convolution with fused products reads its patches in place.
  package var readsPatchesInPlace = true

  /// A policy; every setting not given keeps the default above.
  package init(tier: Tier? = nil, products: Kernels.Path? = nil) {
    self.tier = tier
    self.products = products
  }

  /// By size: the fast tier where it pays, the spreadsheet's order below `fastThreshold`.
  package static let automatic = ComputePolicy()
  /// Every layer through the textbook loops.
  package static let reference = ComputePolicy(tier: .reference)
  /// Every layer through the fast tier; products still chosen by size.
  package static let fast = ComputePolicy(tier: .fast)

  /// The route of one operation: the only place the engine chooses between its tiers.
  package func route(_ operation: Operation) -> Route {
    if tier == .reference { return .reference }
    switch operation {
    case .product(let multiplyAdds):
      return .fast(products: productPath(multiplyAdds))
    case .convolution(let n, let multiplyAdds, let readableInPlace):
      if tier == nil && n * multiplyAdds < directThreshold { return .reference }
      let path = productPath(n * multiplyAdds)  // what one batch-wide product would take
      return path == .fused && readsPatchesInPlace && readableInPlace ? .inPlace : .fast(products: path)
    case .pooling, .normalization:
      return .fast(products: .swift)  // no products: the path is not read
    }
  }

  /// `products` when forced, else `.swift` below `fastThreshold` and `fastProducts` from it on.
  private func productPath(_ multiplyAdds: Int) -> Kernels.Path {
    products ?? (multiplyAdds >= fastThreshold ? fastProducts : .swift)
  }
}
