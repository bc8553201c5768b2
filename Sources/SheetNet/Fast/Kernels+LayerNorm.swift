// MARK: - Layer normalisation

/// The fast tier of `LayerNorm`: its reference loops' arithmetic, term for term and in the same
/// order (bit for bit), over raw buffers. x, x̂, a, δ, dx̂ and dx are rows of d features (N or N·T
/// rows, row-major); μ and σ² one number per row; γ, β, dγ, dβ one per feature. Each row's sums
/// run over its features in order; dγ and dβ add the rows in order, every feature at once.
extension Kernels {
  /// μ = (1/d) Σⱼ xⱼ, σ² = (1/d) Σⱼ (xⱼ − μ)², x̂ = (x − μ)/√(σ² + ε), a = γ·x̂ + β for every row;
  /// writes every element of mean, variance [rows] and xhat, a (x's count).
  package static func layerNorm(
    _ x: Tensor, features d: Int, gamma: Tensor, beta: Tensor, epsilon: Double,
    mean: inout Tensor, variance: inout Tensor, xhat: inout Tensor, a: inout Tensor
  ) {
    let rows = d == 0 ? 0 : x.count / d, size = Double(d)
    precondition(rows * d == x.count && gamma.count == d && beta.count == d && mean.count == rows && variance.count == rows
                 && xhat.count == x.count && a.count == x.count,
                 "layerNorm: x \(x.shape) in rows of \(d), γ \(gamma.shape), β \(beta.shape), μ \(mean.shape), σ² \(variance.shape), x̂ \(xhat.shape), a \(a.shape)")
    x.data.withUnsafeBufferPointer { px in
      gamma.data.withUnsafeBufferPointer { g in
        beta.data.withUnsafeBufferPointer { b in
          mean.data.withUnsafeMutableBufferPointer { mu in
            variance.data.withUnsafeMutableBufferPointer { sigma2 in
              xhat.data.withUnsafeMutableBufferPointer { pxh in
                a.data.withUnsafeMutableBufferPointer { pa in
                  for r in 0..<rows {
                    let (row, xh, out) = (px.baseAddress! + r * d, pxh.baseAddress! + r * d, pa.baseAddress! + r * d)
                    var sum = 0.0
                    for j in 0..<d { sum += row[j] }
                    let m = sum / size  // μ
                    var squares = 0.0
                    for j in 0..<d {
                      let deviation = row[j] - m
                      squares += deviation * deviation
                    }
                    let v = squares / size  // σ²
                    let root = (v + epsilon).squareRoot()
                    for j in 0..<d { xh[j] = (row[j] - m) / root }  // x̂
                    for j in 0..<d { out[j] = g[j] * xh[j] + b[j] }  // a = γ·x̂ + β
                    (mu[r], sigma2[r]) = (m, v)
                  }
                }
              }
            }
          }
        }
      }
    }
  }

  /// dγ = Σ_rows δ⊙x̂ and dβ = Σ_rows δ (rows in order, from 0), into dgamma and dbeta [d].
  package static func layerNormParameterGradients(_ delta: Tensor, xhat: Tensor, features d: Int, dgamma: inout Tensor, dbeta: inout Tensor) {
    let rows = d == 0 ? 0 : delta.count / d
    precondition(rows * d == delta.count && xhat.count == delta.count && dgamma.count == d && dbeta.count == d,
                 "layerNormParameterGradients: δ \(delta.shape), x̂ \(xhat.shape) in rows of \(d), dγ \(dgamma.shape), dβ \(dbeta.shape)")
    delta.data.withUnsafeBufferPointer { pd in
      xhat.data.withUnsafeBufferPointer { pxh in
        dgamma.data.withUnsafeMutableBufferPointer { dg in
          dbeta.data.withUnsafeMutableBufferPointer { db in
            dg.update(repeating: 0)
            db.update(repeating: 0)
            for r in 0..<rows {
              let (row, xh) = (pd.baseAddress! + r * d, pxh.baseAddress! + r * d)
              for j in 0..<d {
                dg[j] += row[j] * xh[j]  // dγ = Σ_rows δ⊙x̂
                db[j] += row[j]  // dβ = Σ_rows δ
              }
            }
          }
        }
      }
    }
  }

  /// dx̂ = δ⊙γ and dx = (1/√(σ² + ε))·(dx̂ − mean(dx̂) − x̂·mean(dx̂⊙x̂)) for every row; writes
  /// every element of dxhat and dx (δ's count).
  package static func layerNormInputGradient(
    _ delta: Tensor, xhat: Tensor, features d: Int, gamma: Tensor, variance: Tensor, epsilon: Double,
    dxhat: inout Tensor, dx: inout Tensor
  ) {
    let rows = d == 0 ? 0 : delta.count / d, size = Double(d)
    precondition(rows * d == delta.count && xhat.count == delta.count && gamma.count == d && variance.count == rows
                 && dxhat.count == delta.count && dx.count == delta.count,
                 "layerNormInputGradient: δ \(delta.shape), x̂ \(xhat.shape) in rows of \(d), γ \(gamma.shape), σ² \(variance.shape), dx̂ \(dxhat.shape), dx \(dx.shape)")
    delta.data.withUnsafeBufferPointer { pd in
      xhat.data.withUnsafeBufferPointer { pxh in
        gamma.data.withUnsafeBufferPointer { g in
          variance.data.withUnsafeBufferPointer { sigma2 in
            dxhat.data.withUnsafeMutableBufferPointer { pdxh in
              dx.data.withUnsafeMutableBufferPointer { pdx in
                for r in 0..<rows {
                  let (row, xh) = (pd.baseAddress! + r * d, pxh.baseAddress! + r * d)
                  let (dxh, out) = (pdxh.baseAddress! + r * d, pdx.baseAddress! + r * d)
                  for j in 0..<d { dxh[j] = row[j] * g[j] }  // dx̂ = δ⊙γ
                  var sum = 0.0, sumTimesXhat = 0.0
                  for j in 0..<d {
                    sum += dxh[j]
                    sumTimesXhat += dxh[j] * xh[j]
                  }
                  let (meanDxhat, meanDxhatXhat) = (sum / size, sumTimesXhat / size)  // mean(dx̂), mean(dx̂⊙x̂)
                  let scale = 1 / (sigma2[r] + epsilon).squareRoot()
                  for j in 0..<d { out[j] = scale * (dxh[j] - meanDxhat - xh[j] * meanDxhatXhat) }
                }
              }
            }
          }
        }
      }
    }
  }
}
