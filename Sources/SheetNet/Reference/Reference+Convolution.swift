/// A 2-D convolution as its formulas read (see `Conv2D` for the conventions), any stride and
/// padding. x is [N, C, H, W], W is [F, C, k_h, k_w], δ = ∂L/∂z is [N, F, outH, outW].
extension Reference {
  /// z[n,f,i,j] = Σ_c Σ_u Σ_v x[n, c, i·s_h + u − p_t, j·s_w + v − p_l]·W[f,c,u,v] + b[f]: summed
  /// over c, then u, then v (cells over the padding left out: they add 0), then + b[f].
  /// Returns z [N, F, outH, outW]. Cost: N·F·outH·outW·C·k_h·k_w multiply-adds.
  public static func convolution(_ x: Tensor, _ w: Tensor, _ b: Tensor?, _ g: SlidingWindow) -> Tensor {
    let n = x.rows, f = w.rows
    precondition(x.count == n * g.inputSize && w.count == f * g.patch, "convolution: x \(x.shape), W \(w.shape) for \(g)")
    var z = Tensor(shape: [n, f, g.outH, g.outW])
    var out = 0
    for s in 0..<n {
      for k in 0..<f {
        for i in 0..<g.outH {
          for j in 0..<g.outW {
            var sum = 0.0
            for c in 0..<g.channels {
              for u in 0..<g.kernelH {
                let y = i * g.strideH + u - g.padTop
                if y < 0 || y >= g.height { continue }
                for v in 0..<g.kernelW {
                  let xx = j * g.strideW + v - g.padLeft
                  if xx < 0 || xx >= g.width { continue }
                  sum += x.data[((s * g.channels + c) * g.height + y) * g.width + xx] * w.data[g.kernel(k, c, u, v)]
                }
              }
            }
            if let b { sum += b.data[k] }
            z.data[out] = sum
            out += 1
          }
        }
      }
    }
    breakIfAsked("conv", &z)
    return z
  }

  /// dW[f,c,u,v] = Σ_n (Σ_i Σ_j δ[n,f,i,j]·x[n, c, i·s_h + u − p_t, j·s_w + v − p_l]): each
  /// sample's sum in (i, j) order, then the samples' sums added in order. Returns dW [F, C, k_h, k_w].
  public static func convolutionWeightGradient(_ delta: Tensor, _ x: Tensor, _ g: SlidingWindow, filters f: Int) -> Tensor {
    let n = x.rows
    precondition(delta.count == n * f * g.positions, "convolutionWeightGradient: δ \(delta.shape) for \(n)×\(f)×\(g.outH)×\(g.outW)")
    var dW = Tensor(shape: [f, g.channels, g.kernelH, g.kernelW])
    for k in 0..<f {
      for c in 0..<g.channels {
        for u in 0..<g.kernelH {
          for v in 0..<g.kernelW {
            var sum = 0.0
            for s in 0..<n {
              var part = 0.0  // sample s's own sum
              for i in 0..<g.outH {
                let y = i * g.strideH + u - g.padTop
                if y < 0 || y >= g.height { continue }
                for j in 0..<g.outW {
                  let xx = j * g.strideW + v - g.padLeft
                  if xx < 0 || xx >= g.width { continue }
                  part += delta.data[((s * f + k) * g.outH + i) * g.outW + j] * x.data[((s * g.channels + c) * g.height + y) * g.width + xx]
                }
              }
              sum = s == 0 ? part : sum + part
            }
            dW.data[g.kernel(k, c, u, v)] = sum
          }
        }
      }
    }
    return dW
  }

  /// db[f] = Σ_n Σ_i Σ_j δ[n,f,i,j], sample after sample, positions in order. Returns db [F].
  public static func convolutionBiasGradient(_ delta: Tensor, filters f: Int, _ g: SlidingWindow) -> Tensor {
    biasGradient(delta, channels: f, spatial: g.positions)
  }

  /// dx[n,c,y,x] = Σ_u Σ_v (Σ_f δ[n,f,i,j]·W[f,c,u,v]) over the kernel cells (u, v) whose window
  /// (i, j) covers (y, x), i = (y + p_t − u)/s_h and j = (x + p_l − v)/s_w when whole: the
  /// filters' products per cell, then the cells in (u, v) order. Returns dx [N, C, H, W].
  public static func convolutionInputGradient(_ delta: Tensor, _ w: Tensor, _ g: SlidingWindow, batch n: Int) -> Tensor {
    let f = w.rows
    precondition(delta.count == n * f * g.positions, "convolutionInputGradient: δ \(delta.shape) for \(n)×\(f)×\(g.outH)×\(g.outW)")
    var dx = Tensor(shape: [n, g.channels, g.height, g.width])
    var out = 0
    for s in 0..<n {
      for c in 0..<g.channels {
        for y in 0..<g.height {
          for xx in 0..<g.width {
            var sum = 0.0
            for u in 0..<g.kernelH {
              guard let i = SlidingWindow.cover(y, u, pad: g.padTop, stride: g.strideH, out: g.outH) else { continue }
              for v in 0..<g.kernelW {
                guard let j = SlidingWindow.cover(xx, v, pad: g.padLeft, stride: g.strideW, out: g.outW) else { continue }
                var cell = 0.0
                for k in 0..<f {
                  cell += delta.data[((s * f + k) * g.outH + i) * g.outW + j] * w.data[g.kernel(k, c, u, v)]
                }
                sum += cell
              }
            }
            dx.data[out] = sum
            out += 1
          }
        }
      }
    }
    return dx
  }
}
