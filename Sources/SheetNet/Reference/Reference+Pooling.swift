/// Max and average pooling as their formulas read: windows without padding over each channel of
/// x [N, C, H, W]; window (i, j) holds x[n, c, i·s_h + u, j·s_w + v] for u < k_h, v < k_w.
extension Reference {
  /// a[n,c,i,j] = max over the window, and winners[o] = the flat index into x of the input that
  /// won output o. The window is read in row-major order (top row first, left to right) and a
  /// value wins only when strictly greater, so on ties the FIRST maximum wins (as NumPy's argmax).
  /// Returns a [N, C, outH, outW] and one winner per output.
  public static func maxPool(_ x: Tensor, _ g: SlidingWindow) -> (a: Tensor, winners: [Int]) {
    let n = x.rows
    precondition(x.count == n * g.inputSize && g.padTop == 0 && g.padLeft == 0, "maxPool: \(x.shape) for \(g)")
    var a = Tensor(shape: [n, g.channels, g.outH, g.outW])
    var winners = [Int](repeating: 0, count: a.count)
    var out = 0
    for plane in 0..<n * g.channels {
      for i in 0..<g.outH {
        for j in 0..<g.outW {
          let first = (plane * g.height + i * g.strideH) * g.width + j * g.strideW  // the window's top left
          var best = first
          for u in 0..<g.kernelH {
            for v in 0..<g.kernelW where x.data[first + u * g.width + v] > x.data[best] { best = first + u * g.width + v }
          }
          a.data[out] = x.data[best]
          winners[out] = best
          out += 1
        }
      }
    }
    breakIfAsked("pool", &a)
    return (a, winners)
  }

  /// dx[winners[o]] += δ[o] for every output o in order: each window's δ goes to its winner
  /// alone, and an input that won several windows adds their δ. Returns dx of `inputShape`.
  public static func maxPoolBackward(_ delta: Tensor, winners: [Int], inputShape: [Int]) -> Tensor {
    precondition(delta.count == winners.count, "maxPoolBackward: δ \(delta.shape) for \(winners.count) winners")
    var dx = Tensor(shape: inputShape)
    for o in 0..<winners.count { dx.data[winners[o]] += delta.data[o] }
    return dx
  }

  /// a[n,c,i,j] = (Σ_u Σ_v x[n, c, i·s_h + u, j·s_w + v]) / (k_h·k_w): the window summed in
  /// row-major order, then divided once (a workbook's SUM(window)/k). Returns a [N, C, outH, outW].
  public static func avgPool(_ x: Tensor, _ g: SlidingWindow) -> Tensor {
    let n = x.rows, k = Double(g.kernelH * g.kernelW)
    precondition(x.count == n * g.inputSize && g.padTop == 0 && g.padLeft == 0, "avgPool: \(x.shape) for \(g)")
    var a = Tensor(shape: [n, g.channels, g.outH, g.outW])
    var out = 0
    for plane in 0..<n * g.channels {
      for i in 0..<g.outH {
        for j in 0..<g.outW {
          let first = (plane * g.height + i * g.strideH) * g.width + j * g.strideW
          var sum = 0.0
          for u in 0..<g.kernelH {
            for v in 0..<g.kernelW { sum += x.data[first + u * g.width + v] }
          }
          a.data[out] = sum / k
          out += 1
        }
      }
    }
    breakIfAsked("pool", &a)
    return a
  }

  /// dx[n,c,y,x] = Σ δ[n,c,i,j]/(k_h·k_w) over the windows (i, j) that hold (y, x), outputs taken
  /// in order, each adding its share δ/k to every input of its window. Returns dx [N, C, H, W].
  public static func avgPoolBackward(_ delta: Tensor, _ g: SlidingWindow, batch n: Int) -> Tensor {
    let k = Double(g.kernelH * g.kernelW)
    precondition(delta.count == n * g.channels * g.positions, "avgPoolBackward: δ \(delta.shape) for \(g)")
    var dx = Tensor(shape: [n, g.channels, g.height, g.width])
    var out = 0
    for plane in 0..<n * g.channels {
      for i in 0..<g.outH {
        for j in 0..<g.outW {
          let share = delta.data[out] / k, first = (plane * g.height + i * g.strideH) * g.width + j * g.strideW
          for u in 0..<g.kernelH {
            for v in 0..<g.kernelW { dx.data[first + u * g.width + v] += share }
          }
          out += 1
        }
      }
    }
    return dx
  }
}
