// MARK: - Batch normalisation

/// The fast tier of `BatchNorm`: the sums of `Reference.batchNorm` in the same order (bit for
/// bit), written into the layer's reused buffers, so a training step allocates nothing once the
/// shapes are known. Tensors are [N, C, spatial] (spatial 1 for feature vectors); every sum runs
/// sample after sample, positions in order, all channels of a sample before the next sample.
extension Kernels {
  /// μ[c] = (1/M) Σ x and σ²[c] = (1/M) Σ (x − μ)², M = N·spatial, into mean and variance [C].
  package static func batchNormStatistics(_ x: Tensor, spatial s: Int, mean: inout Tensor, variance: inout Tensor) {
    let c = mean.count, n = x.rows, m = Double(n * s)
    mean.withElements { mu in
      for k in 0..<c { mu[k] = 0 }
      eachChannelRow(samples: n, channels: c, spatial: s) { k, row in for i in row { mu[k] += x.data[i] } }
      for k in 0..<c { mu[k] /= m }
      let mu = mu
      variance.withElements { sigma2 in
        for k in 0..<c { sigma2[k] = 0 }
        eachChannelRow(samples: n, channels: c, spatial: s) { k, row in for i in row { let d = x.data[i] - mu[k]; sigma2[k] += d * d } }
        for k in 0..<c { sigma2[k] /= m }
      }
    }
  }

  /// x̂ = (x − μ)/√(σ² + ε) and a = γ·x̂ + β per channel, into xhat and a (x's shape, every element written).
  package static func batchNormalize(_ x: Tensor, spatial s: Int, mean mu: [Double], variance sigma2: [Double], gamma: Tensor,
                                     beta: Tensor, epsilon: Double, xhat: inout Tensor, a: inout Tensor) {
    let (g, b, n, c) = (gamma.data, beta.data, x.rows, gamma.count)
    xhat.withElements { xh in
      a.withElements { a in
        eachChannelRow(samples: n, channels: c, spatial: s) { k, row in
          let root = (sigma2[k] + epsilon).squareRoot()
          for i in row {
            xh[i] = (x.data[i] - mu[k]) / root
            a[i] = g[k] * xh[i] + b[k]
          }
        }
      }
    }
  }

  /// dβ = Σ δ and dγ = Σ δ·x̂ per channel, into dgamma and dbeta [C].
  package static func batchNormParameterGradients(_ delta: Tensor, xhat: Tensor, spatial s: Int, dgamma: inout Tensor, dbeta: inout Tensor) {
    let (c, n, xh) = (dgamma.count, delta.rows, xhat.data)
    dgamma.withElements { dgamma in
      dbeta.withElements { dbeta in
        for k in 0..<c { (dgamma[k], dbeta[k]) = (0, 0) }
        eachChannelRow(samples: n, channels: c, spatial: s) { k, row in
          for i in row {
            dbeta[k] += delta.data[i]
            dgamma[k] += delta.data[i] * xh[i]
          }
        }
      }
    }
  }

  /// dx = (γ/(M·√(σ² + ε)))·(M·δ − dβ − x̂·dγ) in training, δ·γ/√(σ² + ε) at evaluation, into dx
  /// (δ's shape, every element written).
  package static func batchNormInputGradient(_ delta: Tensor, xhat: Tensor, spatial s: Int, gamma: Tensor, variance sigma2: [Double],
                                             epsilon: Double, dgamma: [Double], dbeta: [Double], training: Bool, into dx: inout Tensor) {
    let (g, xh, n, c) = (gamma.data, xhat.data, delta.rows, gamma.count)
    let m = Double(n * s)
    dx.withElements { dx in
      eachChannelRow(samples: n, channels: c, spatial: s) { k, row in
        let root = (sigma2[k] + epsilon).squareRoot()
        for i in row {
          dx[i] = training
            ? g[k] / (m * root) * (m * delta.data[i] - dbeta[k] - xh[i] * dgamma[k])
            : delta.data[i] * g[k] / root
        }
      }
    }
  }

  /// Calls body(k, row) for every sample's channel k in memory order, `row` being that channel's
  /// element indices in an [N, C, spatial] tensor: the order every sum above runs in.
  @inline(__always)
  package static func eachChannelRow(samples n: Int, channels: Int, spatial: Int, _ body: (_ k: Int, _ row: Range<Int>) -> Void) {
    for r in 0..<n {
      for k in 0..<channels {
        let start = (r * channels + k) * spatial
        body(k, start..<start + spatial)
      }
    }
  }
}
