/// Batch normalisation as its formulas read (see `BatchNorm` for the conventions). x and δ are
/// [N, C] or [N, C, H, W]; channel c's M = N·H·W values (M = N for [N, C]) are summed sample
/// after sample, positions in order.
extension Reference {
  /// In training, the batch's statistics per channel:
  ///
  ///     μ = (1/M) Σ x,  σ² = (1/M) Σ (x − μ)²,  x̂ = (x − μ)/√(σ² + ε),  a = γ·x̂ + β
  ///
  /// Returns a and x̂ (the input's shape), μ and σ² [C].
  public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, epsilon: Double)
    -> (a: Tensor, xhat: Tensor, mean: Tensor, variance: Tensor) {
    let (c, spatial) = channelLayout(x, gamma)
    let n = x.rows, m = Double(n * spatial)
    var mean = Tensor(shape: [c]), variance = Tensor(shape: [c])
    for k in 0..<c {
      var sum = 0.0
      for i in channel(k, c, spatial, n) { sum += x.data[i] }
      mean.data[k] = sum / m
      var squares = 0.0
      for i in channel(k, c, spatial, n) { let d = x.data[i] - mean.data[k]; squares += d * d }
      variance.data[k] = squares / m
    }
    let (a, xhat) = batchNorm(x, gamma: gamma, beta: beta, mean: mean, variance: variance, epsilon: epsilon)
    return (a, xhat, mean, variance)
  }

  /// With given statistics (the running ones at evaluation): x̂ = (x − μ)/√(σ² + ε),
  /// a = γ·x̂ + β per channel. Returns a and x̂, the input's shape.
  public static func batchNorm(_ x: Tensor, gamma: Tensor, beta: Tensor, mean: Tensor, variance: Tensor, epsilon: Double)
    -> (a: Tensor, xhat: Tensor) {
    let (c, spatial) = channelLayout(x, gamma)
    var a = Tensor(shape: x.shape), xhat = Tensor(shape: x.shape)
    for k in 0..<c {
      let root = (variance.data[k] + epsilon).squareRoot()
      for i in channel(k, c, spatial, x.rows) {
        xhat.data[i] = (x.data[i] - mean.data[k]) / root
        a.data[i] = gamma.data[k] * xhat.data[i] + beta.data[k]
      }
    }
    breakIfAsked("norm", &a)
    return (a, xhat)
  }

  /// Backward, with δ = ∂L/∂a and sums over the channel's M values:
  ///
  ///     dβ = Σ δ,  dγ = Σ δ·x̂,  dx = (γ/(M·√(σ² + ε)))·(M·δ − dβ − x̂·dγ)   (training)
  ///     dx = δ·γ/√(σ² + ε)                                                  (evaluation)
  ///
  /// σ² is the batch's variance in training, the running one at evaluation. Returns dx (the
  /// input's shape), dγ and dβ [C].
  public static func batchNormBackward(_ delta: Tensor, xhat: Tensor, gamma: Tensor, variance: Tensor, epsilon: Double,
                                       training: Bool) -> (dx: Tensor, dgamma: Tensor, dbeta: Tensor) {
    let (c, spatial) = channelLayout(delta, gamma)
    let n = delta.rows, m = Double(n * spatial)
    var dgamma = Tensor(shape: [c]), dbeta = Tensor(shape: [c]), dx = Tensor(shape: delta.shape)
    for k in 0..<c {
      var sumDelta = 0.0, sumDeltaXhat = 0.0
      for i in channel(k, c, spatial, n) {
        sumDelta += delta.data[i]
        sumDeltaXhat += delta.data[i] * xhat.data[i]
      }
      (dbeta.data[k], dgamma.data[k]) = (sumDelta, sumDeltaXhat)
      let root = (variance.data[k] + epsilon).squareRoot()
      for i in channel(k, c, spatial, n) {
        dx.data[i] = training
          ? gamma.data[k] / (m * root) * (m * delta.data[i] - dbeta.data[k] - xhat.data[i] * dgamma.data[k])
          : delta.data[i] * gamma.data[k] / root
      }
    }
    return (dx, dgamma, dbeta)
  }

  /// C (γ's count) and the positions per channel of x.
  private static func channelLayout(_ x: Tensor, _ gamma: Tensor) -> (channels: Int, spatial: Int) {
    let c = gamma.count, spatial = x.count / max(x.rows * c, 1)
    precondition(x.rows * c * spatial == x.count, "batchNorm: \(c) channels do not fit \(x.shape)")
    return (c, spatial)
  }

  /// The element indices of channel k, sample after sample, positions in order.
  private static func channel(_ k: Int, _ c: Int, _ spatial: Int, _ n: Int) -> [Int] {
    (0..<n).flatMap { s in ((s * c + k) * spatial)..<((s * c + k) * spatial + spatial) }
  }
}
