/// Stride-1 convolutions whose products read the patch matrix where it lies ("implicit GEMM"),
/// for the fast path with fused multiply-adds.
///
/// With stride 1, patch row r = (c, k_y, k_x) of output position (o_y, o_x) is the padded input
/// at c·Hp·Wp + (o_y + k_y)·Wp + (o_x + k_x) = off[r] + q, where q = o_y·Wp + o_x. Counting
/// positions q over whole padded rows (Wp per output row, of which the first outW are real),
/// row r of the patch matrix is simply the padded sample read from off[r]: nothing is copied
/// but the sample itself (into a zero-padded buffer) and the product runs over Q = (outH − 1)·Wp
/// + outW positions, the few extra ones (Wp − outW per row) computed and dropped. δ is spread
/// over the same positions with zeros at the extra ones, so they add exact zeros.
///
/// Every number equals the materialized im2col path's with fused multiply-adds, bit for bit
/// (a test holds it): z sums W·x in k order, then adds b; dW sums each sample's terms in
/// position order and adds the samples in order; dx adds each cell's terms in patch-row order.
extension Kernels {
  /// The geometry of one stride-1 convolution read in place.
  package struct ImplicitConvolution: Sendable {
    /// The window sweep (stride 1).
    package let window: Window
    /// Padded sample height Hp = outH + k_h − 1 and width Wp = outW + k_w − 1.
    let hp: Int, wp: Int
    /// Positions Q = (outH − 1)·Wp + outW, and Q rounded up to whole tiles of 16.
    let q: Int, qp: Int
    /// Doubles of a padded sample, C·Hp·Wp, plus room for a tile that reads past the last position.
    let paddedCount: Int
    /// off[r] = c·Hp·Wp + k_y·Wp + k_x for patch row r = (c·k_h + k_y)·k_w + k_x.
    let offsets: [Int]

    /// Positions computed per real output position, Qp / (outH·outW): the price of reading in
    /// place (1.07 for a 3×3 kernel on 28×28, 2 on 4×4, where writing the patches out is cheaper).
    package var overhead: Double { Double(qp) / Double(window.positions) }

    /// The in-place geometry of `window`, or nil when its stride is not 1.
    package init?(_ window: Window) {
      guard window.strideH == 1 && window.strideW == 1 else { return nil }
      let g = window
      self.window = g
      hp = g.outH + g.kernelH - 1
      wp = g.outW + g.kernelW - 1
      q = (g.outH - 1) * wp + g.outW
      qp = (q + 15) / 16 * 16
      paddedCount = g.channels * hp * wp + 16
      let (hp, wp) = (hp, wp)
      offsets = (0..<g.patch).map { r in
        (r / (g.kernelH * g.kernelW) * hp + r / g.kernelW % g.kernelH) * wp + r % g.kernelW
      }
    }

    /// Copies one sample [C, H, W] into `xp` [C, Hp, Wp] with its zero padding (and zeros after).
    func pad(_ x: UnsafePointer<Double>, into xp: UnsafeMutablePointer<Double>) {
      let g = window
      if hp == g.height && wp == g.width {
        xp.update(from: x, count: g.inputSize)
        (xp + g.inputSize).update(repeating: 0, count: paddedCount - g.inputSize)
        return
      }
      xp.update(repeating: 0, count: paddedCount)
      for c in 0..<g.channels {
        for y in 0..<g.height {
          (xp + (c * hp + y + g.padTop) * wp + g.padLeft).update(from: x + (c * g.height + y) * g.width, count: g.width)
        }
      }
    }

    /// The sample back from its padded copy: x[c, y, ·] ← xp[c, y + padTop, padLeft ..< padLeft + W].
    func unpad(_ xp: UnsafePointer<Double>, into x: UnsafeMutablePointer<Double>) {
      let g = window
      for c in 0..<g.channels {
        for y in 0..<g.height {
          (x + (c * g.height + y) * g.width).update(from: xp + (c * hp + y + g.padTop) * wp + g.padLeft, count: g.width)
        }
      }
    }

    /// One sample's δ [F, outH·outW] spread over the positions: out[f·Qp + o_y·Wp + o_x] = δ[f, p],
    /// zeros at the positions between rows and past Q.
    func spread(_ ds: UnsafePointer<Double>, filters f: Int, into out: UnsafeMutablePointer<Double>) {
      let g = window
      out.update(repeating: 0, count: f * qp)
      for filter in 0..<f {
        for oy in 0..<g.outH {
          (out + filter * qp + oy * wp).update(from: ds + (filter * g.outH + oy) * g.outW, count: g.outW)
        }
      }
    }

    /// One sample's δ spread over the positions and transposed: out[q·stride + f] (zeros for
    /// f ≥ F, between rows and past Q, with 16 more zeros after), written position by position,
    /// reading the filters' rows side by side. `sums[f]` gains δ[f, p] position after position.
    func spreadTransposed(_ ds: UnsafePointer<Double>, filters f: Int, stride: Int, into out: UnsafeMutablePointer<Double>,
                          sums: UnsafeMutablePointer<Double>) {
      let g = window, P = g.positions
      var t = out
      for oy in 0..<g.outH {
        for ox in 0..<wp where oy < g.outH - 1 || ox < g.outW {
          if ox >= g.outW {
            t.update(repeating: 0, count: stride)
          } else if f == stride {  // eight filters at a time, one vector store each
            for f0 in Swift.stride(from: 0, to: f, by: 8) {
              let p = ds + f0 * P + oy * g.outW + ox
              let v = SIMD8(p[0], p[P], p[2 &* P], p[3 &* P], p[4 &* P], p[5 &* P], p[6 &* P], p[7 &* P])
              UnsafeMutableRawPointer(t + f0).storeBytes(of: v, as: SIMD8<Double>.self)
              let sum = UnsafeMutableRawPointer(sums + f0)
              sum.storeBytes(of: sum.load(as: SIMD8<Double>.self) + v, as: SIMD8<Double>.self)
            }
          } else {
            let p = ds + oy * g.outW + ox
            for filter in 0..<f {
              t[filter] = p[filter * P]
              sums[filter] += t[filter]
            }
            for filter in f..<stride { t[filter] = 0 }
          }
          t += stride
        }
      }
      t.update(repeating: 0, count: (qp - q) * stride + 16)
    }

    /// One sample's dWᵀ tiles (rows r of the patch matrix by columns the filters) from the padded
    /// sample `xp` and its transposed δ: written into `dWT` for the first sample, added onto the
    /// running total after.
    @inline(never)
    func addWeightGradient(_ xp: UnsafePointer<Double>, _ deltaT: UnsafePointer<Double>, stride: Int,
                           onto dWT: UnsafeMutablePointer<Double>, rowStride: Int, first: Bool, offsets: UnsafePointer<Int>) {
      let g = window, k = g.patch
      for block in 0..<(k + 7) / 8 {
        for j0 in Swift.stride(from: 0, to: stride, by: 16) {
          Kernels.rowTile(xp, offsets + block * 8, rows: min(8, k - block * 8), positions: (g.outH, g.outW, wp),
                          y: deltaT + j0, yStride: stride, wide: stride - j0 > 8,
                          c: dWT + block * 8 * rowStride + j0, cRow: rowStride, accumulate: !first)
        }
      }
    }

    /// One sample's padded dx = col2im(Wᵀ·δ) from δ spread over the positions and Wᵀ packed 8
    /// patch rows a block: eight rows of Wᵀ·δ at a time into `rows8`, then added onto `padded`
    /// row by row, so each cell receives its terms in patch-row order r, as col2im adds them
    /// (and each row's additions run along contiguous memory).
    @inline(never)
    func inputGradient(_ deltaQ: UnsafePointer<Double>, _ wT: UnsafePointer<Double>, filters f: Int,
                       rows8: UnsafeMutablePointer<Double>, padded: UnsafeMutablePointer<Double>, offsets: UnsafePointer<Int>) {
      let k = window.patch
      padded.update(repeating: 0, count: paddedCount)
      for block in 0..<(k + 7) / 8 {
        let rows = min(8, k - block * 8)
        for q0 in Swift.stride(from: 0, to: qp, by: 16) {
          Kernels.packedTile(wT + block * 8 * f, k: f, y: deltaQ + q0, yOffsets: nil, yStride: qp,
                             c: rows8 + q0, cRow: qp, cOffsets: nil, rows: rows, accumulate: false)
        }
        for r in 0..<rows { Kernels.addRow(rows8 + r * qp, onto: padded + offsets[block * 8 + r], count: qp) }
      }
    }

    /// z[n] = W·cols(x[n]) + b for every sample: x [N, C, H, W], W [F, C·k_h·k_w], z [N, F, outH, outW].
    package func forward(_ x: Tensor, _ w: Tensor, bias: Tensor?, into z: inout Tensor) {
      let g = window, n = x.rows, f = w.rows, k = g.patch
      precondition(x.count == n * g.inputSize && w.count == f * k && z.count == n * f * g.positions && (bias?.count ?? f) == f,
                   "implicit convolution: x \(x.shape), W \(w.shape), z \(z.shape) do not fit \(g)")
      let blocks = (f + 7) / 8
      let b = bias?.data
      x.data.withUnsafeBufferPointer { px in
        w.data.withUnsafeBufferPointer { pw in
          z.data.withUnsafeMutableBufferPointer { pz in
            offsets.withUnsafeBufferPointer { off in
              // Working memory: W packed 8 filters a block, the padded sample, the products over all Q.
              withScratch(blocks * 8 * k + paddedCount + blocks * 8 * qp) { scratch in
                let packed = scratch, xp = packed + blocks * 8 * k, zq = xp + paddedCount
                packBlocks(pw.baseAddress!, iStride: k, kStride: 1, m: f, k: k, width: 8, into: packed)
                for s in 0..<n {
                  pad(px.baseAddress! + s * g.inputSize, into: xp)
                  for block in 0..<blocks {
                    for q0 in Swift.stride(from: 0, to: qp, by: 16) {
                      Kernels.packedTile(packed + block * 8 * k, k: k, y: xp + q0, yOffsets: off.baseAddress!, yStride: 0,
                                         c: zq + block * 8 * qp + q0, cRow: qp, cOffsets: nil, rows: min(8, f - block * 8), accumulate: false)
                    }
                  }
                  // The real positions of each output row, + b.
                  let zs = pz.baseAddress! + s * f * g.positions
                  for filter in 0..<f {
                    for oy in 0..<g.outH {
                      let from = zq + filter * qp + oy * wp, to = zs + (filter * g.outH + oy) * g.outW
                      if let b {
                        let bias = b[filter]
                        for ox in 0..<g.outW { to[ox] = from[ox] + bias }
                      } else {
                        to.update(from: from, count: g.outW)
                      }
                    }
                  }
                }
              }
            }
          }
        }
      }
    }

    /// dW = Σₙ δ[n]·cols(x[n])ᵀ, each sample's sum added to the running total in order; when
    /// `wantsDb`, db[f] = Σₙ Σ_p δ[n, f, p] in that order, from 0 (as `Kernels.sumRows` adds);
    /// and when `wantsDx`, dx[n] = col2im(Wᵀ·δ[n]) (overwritten). δ [N, F, outH, outW].
    package func backward(_ delta: Tensor, _ x: Tensor, _ w: Tensor, weightGradient dW: inout Tensor,
                         biasGradient db: inout Tensor, wantsDb: Bool, inputGradient dx: inout Tensor, wantsDx: Bool) {
      let g = window, n = x.rows, f = w.rows, k = g.patch
      precondition(x.count == n * g.inputSize && w.count == f * k && delta.count == n * f * g.positions && dW.count == f * k
                   && (!wantsDx || dx.count == n * g.inputSize),
                   "implicit convolution: δ \(delta.shape), x \(x.shape), W \(w.shape), dW \(dW.shape), dx \(dx.shape) do not fit \(g)")
      precondition(!wantsDb || db.count == f, "implicit convolution: db \(db.shape) for \(f) filters")
      if wantsDb { db.data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) } }
      if n == 0 { dW.data.withUnsafeMutableBufferPointer { $0.update(repeating: 0) }; return }
      let fPad = (f + 7) / 8 * 8  // δ's rows, transposed, padded to whole vectors
      let dWTRow = (fPad + 15) / 16 * 16  // dWᵀ's row stride: whole tiles of 16
      let rowBlocks = (k + 7) / 8
      // Working memory, one block: the padded sample, δ transposed, dWᵀ's running total, db's
      // running sums; for dx also δ spread, Wᵀ packed 8 patch rows a block, the padded dx and
      // eight rows of Wᵀ·δ.
      let dxParts = wantsDx ? (f * qp, rowBlocks * 8 * f, paddedCount, 8 * qp) : (0, 0, 0, 0)
      let total = paddedCount + qp * fPad + 16 + rowBlocks * 8 * dWTRow + fPad + dxParts.0 + dxParts.1 + dxParts.2 + dxParts.3
      delta.data.withUnsafeBufferPointer { pd in
        x.data.withUnsafeBufferPointer { px in
          w.data.withUnsafeBufferPointer { pw in
            offsets.withUnsafeBufferPointer { off in
              withScratch(total) { scratch in
                let xp = scratch, deltaT = xp + paddedCount, dWT = deltaT + qp * fPad + 16, sums = dWT + rowBlocks * 8 * dWTRow
                let deltaQ = sums + fPad, wT = deltaQ + dxParts.0, dxp = wT + dxParts.1, rows8 = dxp + dxParts.2
                sums.update(repeating: 0, count: fPad)
                if wantsDx { packBlocks(pw.baseAddress!, iStride: 1, kStride: k, m: k, k: f, width: 8, into: wT) }
                for s in 0..<n {
                  let ds = pd.baseAddress! + s * f * g.positions
                  pad(px.baseAddress! + s * g.inputSize, into: xp)
                  spreadTransposed(ds, filters: f, stride: fPad, into: deltaT, sums: sums)
                  addWeightGradient(xp, deltaT, stride: fPad, onto: dWT, rowStride: dWTRow, first: s == 0, offsets: off.baseAddress!)
                  guard wantsDx else { continue }
                  spread(ds, filters: f, into: deltaQ)
                  inputGradient(deltaQ, wT, filters: f, rows8: rows8, padded: dxp, offsets: off.baseAddress!)
                  dx.data.withUnsafeMutableBufferPointer { unpad(dxp, into: $0.baseAddress! + s * g.inputSize) }
                }
                // dW[f, r] ← dWT[r, f]; db from its sums.
                dW.data.withUnsafeMutableBufferPointer { pdW in
                  for r in 0..<k { for filter in 0..<f { pdW[filter * k + r] = dWT[r * dWTRow + filter] } }
                }
                if wantsDb { db.data.withUnsafeMutableBufferPointer { for filter in 0..<f { $0[filter] = sums[filter] } } }
              }
            }
          }
        }
      }
    }
  }

  /// to[i] ← to[i] + from[i] for i < count, eight at a time.
  @inline(__always)
  static func addRow(_ from: UnsafePointer<Double>, onto to: UnsafeMutablePointer<Double>, count: Int) {
    typealias V = SIMD8<Double>
    var i = 0
    while i + 8 <= count {
      let p = UnsafeMutableRawPointer(to + i)
      p.storeBytes(of: p.loadUnaligned(as: V.self) + UnsafeRawPointer(from + i).loadUnaligned(as: V.self), as: V.self)
      i += 8
    }
    while i < count {
      to[i] += from[i]
      i += 1
    }
  }

  /// T(r, j) = Σ_kk X(r, kk)·Y(kk, j) for r < 8 and j < 16, s ← fma(x, y, s) in kk order, with X
  /// packed (X(r, kk) = x[kk·8 + r]) and Y(kk, 0..<16) at y + yOffsets[kk] (or y + kk·yStride).
  /// Then for r < `rows`: C(r, j) ← T(r, j), or C(r, j) + T(r, j) when `accumulate`, at
  /// c + cOffsets[r] + j (or c + r·cRow + j), row after row.
  @inline(__always)
  static func packedTile(
    _ x: UnsafePointer<Double>, k: Int, y: UnsafePointer<Double>, yOffsets: UnsafePointer<Int>?, yStride: Int,
    c: UnsafeMutablePointer<Double>, cRow: Int, cOffsets: UnsafePointer<Int>?, rows: Int, accumulate: Bool
  ) {
    typealias V = SIMD8<Double>
    var s0 = V(), s1 = V(), s2 = V(), s3 = V(), s4 = V(), s5 = V(), s6 = V(), s7 = V()
    var t0 = V(), t1 = V(), t2 = V(), t3 = V(), t4 = V(), t5 = V(), t6 = V(), t7 = V()
    var px = x
    @inline(__always) func term(_ row: UnsafeRawPointer) {
      let ya = row.loadUnaligned(as: V.self), yb = row.loadUnaligned(fromByteOffset: 64, as: V.self)
      var b = V(repeating: px[0]); s0.addProduct(b, ya); t0.addProduct(b, yb)
      b = V(repeating: px[1]); s1.addProduct(b, ya); t1.addProduct(b, yb)
      b = V(repeating: px[2]); s2.addProduct(b, ya); t2.addProduct(b, yb)
      b = V(repeating: px[3]); s3.addProduct(b, ya); t3.addProduct(b, yb)
      b = V(repeating: px[4]); s4.addProduct(b, ya); t4.addProduct(b, yb)
      b = V(repeating: px[5]); s5.addProduct(b, ya); t5.addProduct(b, yb)
      b = V(repeating: px[6]); s6.addProduct(b, ya); t6.addProduct(b, yb)
      b = V(repeating: px[7]); s7.addProduct(b, ya); t7.addProduct(b, yb)
      px += 8
    }
    if let yOffsets {
      for kk in 0..<k { term(UnsafeRawPointer(y + yOffsets[kk])) }
    } else {
      var row = UnsafeRawPointer(y)
      let step = yStride * MemoryLayout<Double>.stride
      for _ in 0..<k {
        term(row)
        row += step
      }
    }
    @inline(__always) func put(_ r: Int, _ s: V, _ t: V) {
      let p = UnsafeMutableRawPointer(c + (cOffsets.map { $0[r] } ?? r * cRow))
      if accumulate {
        p.storeBytes(of: p.loadUnaligned(as: V.self) + s, as: V.self)
        p.storeBytes(of: p.loadUnaligned(fromByteOffset: 64, as: V.self) + t, toByteOffset: 64, as: V.self)
      } else {
        p.storeBytes(of: s, as: V.self)
        p.storeBytes(of: t, toByteOffset: 64, as: V.self)
      }
    }
    storeRows(rows, (s0, s1, s2, s3, s4, s5, s6, s7), (t0, t1, t2, t3, t4, t5, t6, t7), put)
  }

  /// T(r, j) = Σ_q X_r(q)·Y(q, j) for r < 8 and j < 16 (j < 8 unless `wide`), s ← fma(x, y, s)
  /// in q order over the real positions q = o_y·Wp + o_x (o_y < `positions.rows`, o_x <
  /// `positions.columns`, Wp = `positions.stride`; the positions between rows have δ = 0, so
  /// skipping them changes nothing), where X_r(q) = x[offsets[r] + q] (rows past `rows` repeat the
  /// last) and Y(q, j) = y[q·yStride + j]. Then for r < `rows`, C(r, j) ← T(r, j), or C(r, j) +
  /// T(r, j) when `accumulate`, at c[r·cRow + j], whole vectors (the columns past the filters
  /// are written too).
  @inline(__always)
  static func rowTile(
    _ x: UnsafePointer<Double>, _ offsets: UnsafePointer<Int>, rows: Int, positions: (rows: Int, columns: Int, stride: Int),
    y: UnsafePointer<Double>, yStride: Int, wide: Bool, c: UnsafeMutablePointer<Double>, cRow: Int, accumulate: Bool
  ) {
    typealias V = SIMD8<Double>
    let last = rows - 1
    let x0 = x + offsets[0], x1 = x + offsets[min(1, last)], x2 = x + offsets[min(2, last)], x3 = x + offsets[min(3, last)]
    let x4 = x + offsets[min(4, last)], x5 = x + offsets[min(5, last)], x6 = x + offsets[min(6, last)], x7 = x + offsets[min(7, last)]
    var s0 = V(), s1 = V(), s2 = V(), s3 = V(), s4 = V(), s5 = V(), s6 = V(), s7 = V()
    var t0 = V(), t1 = V(), t2 = V(), t3 = V(), t4 = V(), t5 = V(), t6 = V(), t7 = V()
    let step = yStride * MemoryLayout<Double>.stride
    for oy in 0..<positions.rows {
    let first = oy * positions.stride, end = first + positions.columns
    var row = UnsafeRawPointer(y + first * yStride)
    if rows <= 4 {  // a short block (the last few patch rows): four sums per column vector
      for q in first..<end {
        let ya = row.loadUnaligned(as: V.self)
        var b = V(repeating: x0[q]); s0.addProduct(b, ya)
        b = V(repeating: x1[q]); s1.addProduct(b, ya)
        b = V(repeating: x2[q]); s2.addProduct(b, ya)
        b = V(repeating: x3[q]); s3.addProduct(b, ya)
        if wide {
          let yb = row.loadUnaligned(fromByteOffset: 64, as: V.self)
          t0.addProduct(V(repeating: x0[q]), yb)
          t1.addProduct(V(repeating: x1[q]), yb)
          t2.addProduct(V(repeating: x2[q]), yb)
          t3.addProduct(V(repeating: x3[q]), yb)
        }
        row += step
      }
    } else if wide {
      for q in first..<end {
        let ya = row.loadUnaligned(as: V.self), yb = row.loadUnaligned(fromByteOffset: 64, as: V.self)
        var b = V(repeating: x0[q]); s0.addProduct(b, ya); t0.addProduct(b, yb)
        b = V(repeating: x1[q]); s1.addProduct(b, ya); t1.addProduct(b, yb)
        b = V(repeating: x2[q]); s2.addProduct(b, ya); t2.addProduct(b, yb)
        b = V(repeating: x3[q]); s3.addProduct(b, ya); t3.addProduct(b, yb)
        b = V(repeating: x4[q]); s4.addProduct(b, ya); t4.addProduct(b, yb)
        b = V(repeating: x5[q]); s5.addProduct(b, ya); t5.addProduct(b, yb)
        b = V(repeating: x6[q]); s6.addProduct(b, ya); t6.addProduct(b, yb)
        b = V(repeating: x7[q]); s7.addProduct(b, ya); t7.addProduct(b, yb)
        row += step
      }
    } else {
      for q in first..<end {
        let ya = row.loadUnaligned(as: V.self)
        s0.addProduct(V(repeating: x0[q]), ya)
        s1.addProduct(V(repeating: x1[q]), ya)
        s2.addProduct(V(repeating: x2[q]), ya)
        s3.addProduct(V(repeating: x3[q]), ya)
        s4.addProduct(V(repeating: x4[q]), ya)
        s5.addProduct(V(repeating: x5[q]), ya)
        s6.addProduct(V(repeating: x6[q]), ya)
        s7.addProduct(V(repeating: x7[q]), ya)
        row += step
      }
    }
    }
    @inline(__always) func put(_ r: Int, _ s: V, _ t: V) {
      let p = UnsafeMutableRawPointer(c + r * cRow)
      p.storeBytes(of: accumulate ? p.loadUnaligned(as: V.self) + s : s, as: V.self)
      guard wide else { return }
      p.storeBytes(of: accumulate ? p.loadUnaligned(fromByteOffset: 64, as: V.self) + t : t, toByteOffset: 64, as: V.self)
    }
    storeRows(rows, (s0, s1, s2, s3, s4, s5, s6, s7), (t0, t1, t2, t3, t4, t5, t6, t7), put)
  }

  /// Eight rows of tile sums, columns 0..<8 and 8..<16.
  typealias TileRows = (SIMD8<Double>, SIMD8<Double>, SIMD8<Double>, SIMD8<Double>,
                        SIMD8<Double>, SIMD8<Double>, SIMD8<Double>, SIMD8<Double>)

  /// Calls put(r, s_r, t_r) for r < `rows`, in order.
  @inline(__always)
  static func storeRows(_ rows: Int, _ s: TileRows, _ t: TileRows, _ put: (Int, SIMD8<Double>, SIMD8<Double>) -> Void) {
    put(0, s.0, t.0)
    if rows > 1 { put(1, s.1, t.1) }
    if rows > 2 { put(2, s.2, t.2) }
    if rows > 3 { put(3, s.3, t.3) }
    if rows > 4 { put(4, s.4, t.4) }
    if rows > 5 { put(5, s.5, t.5) }
    if rows > 6 { put(6, s.6, t.6) }
    if rows > 7 { put(7, s.7, t.7) }
  }
}
