import Foundation

// MARK: - Windows over images: im2col, col2im and the channel sums of a convolution

extension Kernels {
  /// Where a window visits an image (the engine's public `SlidingWindow`).
  package typealias Window = SlidingWindow


  /// im2col: cols[r, n·P + p] = x[n, c, iy, ix] for patch row r = (c, ky, kx) and output
  /// position p = oy·outW + ox (0 where the window hangs over the zero padding).
  ///
  /// x is [N, C, H, W]; cols must hold (C·k_h·k_w)·(N·P) elements, P = outH·outW. A convolution
  /// is then one product z = W·cols with W read as [filters, C·k_h·k_w]. Cost: C·k_h·k_w·N·P copies.
  package static func im2col(_ x: Tensor, _ g: Window, into cols: inout Tensor) {
    let n = x.rows, columns = n * g.positions
    precondition(x.count == n * g.inputSize, "im2col: input \(x.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    precondition(cols.count == g.patch * columns, "im2col: cols has \(cols.count) elements, needs \(g.patch)×\(columns)")
    x.data.withUnsafeBufferPointer { px in
      cols.data.withUnsafeMutableBufferPointer { pc in
        for s in 0..<n { windowPatches(px.baseAddress! + s * g.inputSize, g, pc.baseAddress! + s * g.positions, rowStride: columns) }
      }
    }
  }

  /// im2col of sample `s` alone: cols[r, p] = x[s, c, iy, ix], cols of shape [C·k_h·k_w, P].
  package static func im2col(_ x: Tensor, sample s: Int, _ g: Window, into cols: inout Tensor) {
    precondition(x.count == x.rows * g.inputSize && s >= 0 && s < x.rows, "im2col: sample \(s) of \(x.shape) for a \(g.channels)×\(g.height)×\(g.width) window")
    precondition(cols.count == g.patch * g.positions, "im2col: cols has \(cols.count) elements, needs \(g.patch)×\(g.positions)")
    x.data.withUnsafeBufferPointer { px in
      cols.data.withUnsafeMutableBufferPointer { pc in
        windowPatches(px.baseAddress! + s * g.inputSize, g, pc.baseAddress!, rowStride: g.positions)
      }
    }
  }

  /// col2im, the adjoint of `im2col`: dx[n, c, iy, ix] = Σ cols[r, n·P + p] over every
  /// (r, p) that read that input cell (entries over the padding are dropped).
  ///
  /// dx is overwritten, shape [N, C, H, W]. Each cell's terms are added in r = (c, ky, kx) order.
  package static func col2im(_ cols: Tensor, _ g: Window, into dx: inout Tensor) {
    let n = dx.rows, columns = n * g.positions
    precondition(dx.count == n * g.inputSize, "col2im: output \(dx.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    precondition(cols.count == g.patch * columns, "col2im: cols has \(cols.count) elements, needs \(g.patch)×\(columns)")
    dx.data.withUnsafeMutableBufferPointer { pd in
      cols.data.withUnsafeBufferPointer { pc in
        for i in 0..<pd.count { pd[i] = 0 }
        for s in 0..<n { addWindowPatches(pc.baseAddress! + s * g.positions, rowStride: columns, g, pd.baseAddress! + s * g.inputSize) }
      }
    }
  }

  /// col2im of one sample's patches [C·k_h·k_w, P], added into sample `s` of dx [N, C, H, W].
  package static func col2im(_ cols: Tensor, _ g: Window, addingTo dx: inout Tensor, sample s: Int) {
    precondition(dx.count == dx.rows * g.inputSize && s >= 0 && s < dx.rows, "col2im: sample \(s) of \(dx.shape) for a \(g.channels)×\(g.height)×\(g.width) window")
    precondition(cols.count == g.patch * g.positions, "col2im: cols has \(cols.count) elements, needs \(g.patch)×\(g.positions)")
    dx.data.withUnsafeMutableBufferPointer { pd in
      cols.data.withUnsafeBufferPointer { pc in
        addWindowPatches(pc.baseAddress!, rowStride: g.positions, g, pd.baseAddress! + s * g.inputSize)
      }
    }
  }

  /// db[c] ← Σₙ Σ_q δ[n, c, q] for δ read as [N, C, spatial] (spatial 1: db[j] ← Σₙ δ[n, j], a
  /// dense layer's bias gradient). Each channel is summed sample by sample, positions in order;
  /// eight (or four) channels are summed side by side so that their additions overlap.
  package static func sumRows(_ delta: Tensor, into db: inout Tensor, spatial: Int = 1) {
    let channels = db.count, n = delta.count / max(channels * spatial, 1)
    precondition(n * channels * spatial == delta.count, "sumRows: \(db.shape) does not fit \(delta.shape)")
    db.data.withUnsafeMutableBufferPointer { pd in
      delta.data.withUnsafeBufferPointer { px in
        for c in 0..<channels { pd[c] = 0 }
        if spatial == 1 {
          // A dense layer's δ: add row after row, every channel at once (the same order per channel).
          for r in 0..<n {
            let row = px.baseAddress! + r * channels
            for c in 0..<channels { pd[c] += row[c] }
          }
          return
        }
        for r in 0..<n {
          var c = 0
          while c + 8 <= channels {  // eight chains of additions in flight
            let p = px.baseAddress! + (r * channels + c) * spatial
            var s = (pd[c], pd[c + 1], pd[c + 2], pd[c + 3], pd[c + 4], pd[c + 5], pd[c + 6], pd[c + 7])
            for q in 0..<spatial {
              s.0 += p[q]; s.1 += p[spatial + q]; s.2 += p[2 * spatial + q]; s.3 += p[3 * spatial + q]
              s.4 += p[4 * spatial + q]; s.5 += p[5 * spatial + q]; s.6 += p[6 * spatial + q]; s.7 += p[7 * spatial + q]
            }
            (pd[c], pd[c + 1], pd[c + 2], pd[c + 3], pd[c + 4], pd[c + 5], pd[c + 6], pd[c + 7]) = s
            c += 8
          }
          while c + 4 <= channels {
            let base = (r * channels + c) * spatial
            var s0 = pd[c], s1 = pd[c + 1], s2 = pd[c + 2], s3 = pd[c + 3]
            for q in 0..<spatial {
              s0 += px[base + q]
              s1 += px[base + spatial + q]
              s2 += px[base + 2 * spatial + q]
              s3 += px[base + 3 * spatial + q]
            }
            (pd[c], pd[c + 1], pd[c + 2], pd[c + 3]) = (s0, s1, s2, s3)
            c += 4
          }
          while c < channels {
            let base = (r * channels + c) * spatial
            var s = pd[c]
            for q in 0..<spatial { s += px[base + q] }
            pd[c] = s
            c += 1
          }
        }
      }
    }
  }

  /// One sample's patch rows: pc[r·rowStride + p] for r < C·k_h·k_w, p < P.
  private static func windowPatches(_ px: UnsafePointer<Double>, _ g: Window, _ pc: UnsafeMutablePointer<Double>, rowStride: Int) {
    for c in 0..<g.channels {
      let plane = px + c * g.height * g.width
      for ky in 0..<g.kernelH {
        for kx in 0..<g.kernelW {
          let r = (c * g.kernelH + ky) * g.kernelW + kx
          let inside = g.columns(kx: kx)
          var out = pc + r * rowStride
          for oy in 0..<g.outH {
            let iy = oy * g.strideH + ky - g.padTop
            if iy < 0 || iy >= g.height || inside.isEmpty {
              for ox in 0..<g.outW { out[ox] = 0 }
            } else {
              let row = plane + iy * g.width + kx - g.padLeft
              for ox in 0..<inside.lowerBound { out[ox] = 0 }
              if g.strideW == 1 {
                (out + inside.lowerBound).update(from: row + inside.lowerBound, count: inside.count)
              } else {
                for ox in inside { out[ox] = row[ox * g.strideW] }
              }
              for ox in inside.upperBound..<g.outW { out[ox] = 0 }
            }
            out += g.outW
          }
        }
      }
    }
  }

  /// Adds one sample's patch rows back onto its image: pd[c, iy, ix] += pc[r·rowStride + p].
  private static func addWindowPatches(_ pc: UnsafePointer<Double>, rowStride: Int, _ g: Window, _ pd: UnsafeMutablePointer<Double>) {
    for c in 0..<g.channels {
      let plane = pd + c * g.height * g.width
      for ky in 0..<g.kernelH {
        for kx in 0..<g.kernelW {
          let r = (c * g.kernelH + ky) * g.kernelW + kx
          let inside = g.columns(kx: kx)
          if inside.isEmpty { continue }
          var from = pc + r * rowStride
          for oy in 0..<g.outH {
            let iy = oy * g.strideH + ky - g.padTop
            if iy >= 0 && iy < g.height {
              let row = plane + iy * g.width + kx - g.padLeft
              if g.strideW == 1 {
                for ox in inside { row[ox] += from[ox] }
              } else {
                for ox in inside { row[ox * g.strideW] += from[ox] }
              }
            }
            from += g.outW
          }
        }
      }
    }
  }
}

extension SlidingWindow {
  /// The output columns ox whose input column ox·s_w + kx − padLeft lies inside 0..<W.
  @inline(__always) func columns(kx: Int) -> Range<Int> {
    let first = max(0, (padLeft - kx + strideW - 1) / strideW)
    let last = width - 1 + padLeft - kx
    let end = last < 0 ? 0 : min(outW, last / strideW + 1)
    return first < end ? first..<end : 0..<0
  }
}
