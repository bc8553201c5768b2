// MARK: - Pooling

extension Kernels {
  /// Max pooling: a[n,c,i,j] = max of x[n, c, i·s_h + u, j·s_w + v] over u < k_h, v < k_w, and
  /// winners[o] = the flat index into x of the input that won output o. Inputs are compared in
  /// row-major window order with a strict >, so on ties the first one wins.
  /// x [N, C, H, W]; a [N, C, outH, outW]; winners must hold a.count entries. No padding.
  package static func maxPool(_ x: Tensor, _ g: Window, into a: inout Tensor, winners: inout [Int]) {
    let planes = x.rows * g.channels
    precondition(x.count == planes * g.height * g.width && a.count == planes * g.positions && winners.count == a.count,
                 "maxPool: \(x.shape) into \(a.shape) with \(winners.count) winners for a \(g.channels)×\(g.height)×\(g.width) window")
    precondition(g.padTop == 0 && g.padLeft == 0, "maxPool: pooling windows have no padding")
    x.data.withUnsafeBufferPointer { px in
      a.data.withUnsafeMutableBufferPointer { pa in
        winners.withUnsafeMutableBufferPointer { pw in
          // Four neighbouring outputs at a time in SIMD lanes, with a branch-free select (random
          // data would mispredict a branch half the time); past the row's end a lane repeats the
          // last output and is not stored.
          typealias V = SIMD4<Double>
          typealias I = SIMD4<Int64>
          if g.kernelH == 2 && g.kernelW == 2 {
            // The usual 2×2 window, in row-major window order (strictly greater: on ties the
            // first stays). With stride 2, eight outputs at a time: 16 inputs of each row split
            // into even and odd lanes, and branch-free selects.
            typealias V8 = SIMD8<Double>
            typealias I8 = SIMD8<Int64>
            let lanes = I8(0, 2, 4, 6, 8, 10, 12, 14)
            for plane in 0..<planes {
              for i in 0..<g.outH {
                let out = (plane * g.outH + i) * g.outW
                var at = plane * g.height * g.width + i * g.strideH * g.width  // window (i, 0)'s top left
                var j = 0
                if g.strideW == 2 {
                  while j + 8 <= g.outW && at + 16 + g.width <= px.count {
                    let upper = UnsafeRawPointer(px.baseAddress! + at).loadUnaligned(as: SIMD16<Double>.self)
                    let lower = UnsafeRawPointer(px.baseAddress! + at + g.width).loadUnaligned(as: SIMD16<Double>.self)
                    let first = I8(repeating: Int64(at)) &+ lanes
                    var top = upper.evenHalf, best = first
                    @inline(__always) func challenge(_ value: V8, _ offset: Int) {
                      let wins = value .> top
                      top.replace(with: value, where: wins)
                      best.replace(with: first &+ Int64(offset), where: wins)
                    }
                    challenge(upper.oddHalf, 1)
                    challenge(lower.evenHalf, g.width)
                    challenge(lower.oddHalf, g.width + 1)
                    UnsafeMutableRawPointer(pa.baseAddress! + out + j).storeBytes(of: top, as: V8.self)
                    UnsafeMutableRawPointer(pw.baseAddress! + out + j).storeBytes(of: best, as: I8.self)
                    at += 16
                    j += 8
                    if j < g.outW && j + 8 > g.outW && g.outW >= 8 {
                      // The row's last few outputs: the last eight again, overlapping outputs
                      // already written (with the same values), rather than one at a time.
                      let back = j + 8 - g.outW
                      j -= back
                      at -= 2 * back
                    }
                  }
                }
                while j < g.outW {
                  // One at a time, with selects rather than branches (random data would
                  // mispredict them half the time).
                  var top = px[at], best = at
                  let b = px[at + 1], c = px[at + g.width], d = px[at + g.width + 1]
                  (top, best) = b > top ? (b, at + 1) : (top, best)
                  (top, best) = c > top ? (c, at + g.width) : (top, best)
                  (top, best) = d > top ? (d, at + g.width + 1) : (top, best)
                  pa[out + j] = top
                  pw[out + j] = best
                  at += g.strideW
                  j += 1
                }
              }
            }
            return
          }
          for plane in 0..<planes {
            for i in 0..<g.outH {
              let out = (plane * g.outH + i) * g.outW
              let corner = plane * g.height * g.width + i * g.strideH * g.width  // window (i, 0)'s top left
              var j = 0
              while j < g.outW {
                let lanes = min(4, g.outW - j)
                let i0 = corner + j * g.strideW
                let i1 = i0 + min(1, lanes - 1) * g.strideW, i2 = i0 + min(2, lanes - 1) * g.strideW
                let i3 = i0 + min(3, lanes - 1) * g.strideW
                let first = I(Int64(i0), Int64(i1), Int64(i2), Int64(i3))
                var top = V(px[i0], px[i1], px[i2], px[i3]), best = first
                for u in 0..<g.kernelH {
                  for v in 0..<g.kernelW where u > 0 || v > 0 {
                    let d = u * g.width + v
                    let value = V(px[i0 + d], px[i1 + d], px[i2 + d], px[i3 + d])
                    let wins = value .> top  // strictly greater: on ties the first stays
                    top.replace(with: value, where: wins)
                    best.replace(with: first &+ Int64(d), where: wins)
                  }
                }
                for l in 0..<lanes {
                  pa[out + j + l] = top[l]
                  pw[out + j + l] = Int(best[l])
                }
                j += 4
              }
            }
          }
        }
      }
    }
  }

  /// Max pooling's backward: dx[winners[o]] += δ[o] for every output o in order (dx holds zeros,
  /// or whatever it should be added to).
  package static func maxPoolBackward(_ delta: Tensor, winners: [Int], addingTo dx: inout Tensor) {
    precondition(delta.count == winners.count, "maxPoolBackward: δ \(delta.shape) for \(winners.count) winners")
    dx.data.withUnsafeMutableBufferPointer { pd in
      delta.data.withUnsafeBufferPointer { pδ in
        winners.withUnsafeBufferPointer { pw in
          for o in 0..<pw.count {
            precondition(pw[o] >= 0 && pw[o] < pd.count, "maxPoolBackward: winner \(pw[o]) outside dx \(dx.shape)")
            pd[pw[o]] += pδ[o]
          }
        }
      }
    }
  }

  /// Average pooling: a[n,c,i,j] = (Σ_u Σ_v x[n, c, i·s_h + u, j·s_w + v]) / (k_h·k_w), the window
  /// summed in row-major order, then divided once. No padding.
  package static func avgPool(_ x: Tensor, _ g: Window, into a: inout Tensor) {
    let planes = x.rows * g.channels, k = Double(g.kernelH * g.kernelW)
    precondition(x.count == planes * g.height * g.width && a.count == planes * g.positions,
                 "avgPool: \(x.shape) into \(a.shape) for a \(g.channels)×\(g.height)×\(g.width) window")
    precondition(g.padTop == 0 && g.padLeft == 0, "avgPool: pooling windows have no padding")
    x.data.withUnsafeBufferPointer { px in
      a.data.withUnsafeMutableBufferPointer { pa in
        var out = 0
        for plane in 0..<planes {
          let base = plane * g.height * g.width
          for i in 0..<g.outH {
            for j in 0..<g.outW {
              let first = base + i * g.strideH * g.width + j * g.strideW
              var sum = 0.0
              for u in 0..<g.kernelH {
                for v in 0..<g.kernelW { sum += px[first + u * g.width + v] }
              }
              pa[out] = sum / k
              out += 1
            }
          }
        }
      }
    }
  }

  /// Average pooling's backward: every input of output o's window gets δ[o]/(k_h·k_w) added,
  /// outputs taken in order (dx holds zeros, or whatever it should be added to).
  package static func avgPoolBackward(_ delta: Tensor, _ g: Window, addingTo dx: inout Tensor) {
    let planes = dx.rows * g.channels, k = Double(g.kernelH * g.kernelW)
    precondition(dx.count == planes * g.height * g.width && delta.count == planes * g.positions,
                 "avgPoolBackward: δ \(delta.shape) into \(dx.shape) for a \(g.channels)×\(g.height)×\(g.width) window")
    dx.data.withUnsafeMutableBufferPointer { pd in
      delta.data.withUnsafeBufferPointer { pδ in
        var out = 0
        for plane in 0..<planes {
          let base = plane * g.height * g.width
          for i in 0..<g.outH {
            for j in 0..<g.outW {
              let share = pδ[out] / k, first = base + i * g.strideH * g.width + j * g.strideW
              for u in 0..<g.kernelH {
                for v in 0..<g.kernelW { pd[first + u * g.width + v] += share }
              }
              out += 1
            }
          }
        }
      }
    }
  }
}
