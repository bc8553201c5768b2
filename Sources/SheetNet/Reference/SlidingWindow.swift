/// Where a k_h×k_w window visits an image of C×H×W with strides (s_h, s_w) and zero padding,
/// as a convolution or a pooling layer sweeps it: output cell (i, j) reads input rows
/// y = i·s_h + u − p_top and columns x = j·s_w + v − p_left for u < k_h, v < k_w; cells outside
/// 0..<H, 0..<W read 0 (the padding). Both tiers (`Reference` and the fast kernels) read it.
public struct SlidingWindow: Sendable, Equatable {
  /// How a layer pads its input: none (`valid`) or enough for out = ⌈in/s⌉ (`same`).
  public enum Padding: String, Sendable, CaseIterable {
    /// No padding: out = ⌊(n − k)/s⌋ + 1, every window inside the input.
    case valid
    /// Zeros around the input so that out = ⌈n/s⌉ (n itself at stride 1); an odd extra row or
    /// column of zeros goes after, as Keras pads.
    case same
  }

  /// Input channels C, height H and width W of one sample.
  public var channels: Int, height: Int, width: Int
  /// Window height k_h and width k_w.
  public var kernelH: Int, kernelW: Int
  /// Step between windows down (s_h) and across (s_w).
  public var strideH: Int, strideW: Int
  /// Zero rows above (p_top) and zero columns left (p_left) of the image; the rest of the
  /// padding is below and to the right.
  public var padTop: Int, padLeft: Int
  /// Output height and width.
  public var outH: Int, outW: Int

  /// A window sweep; the output size must already account for padding and stride.
  public init(channels: Int, height: Int, width: Int, kernelH: Int, kernelW: Int, strideH: Int, strideW: Int,
              padTop: Int, padLeft: Int, outH: Int, outW: Int) {
    precondition(channels > 0 && height > 0 && width > 0 && kernelH > 0 && kernelW > 0 && strideH > 0 && strideW > 0,
                 "SlidingWindow: every extent must be positive (C \(channels), H \(height), W \(width), k \(kernelH)×\(kernelW), s \(strideH)×\(strideW))")
    precondition(outH > 0 && outW > 0, "SlidingWindow: output \(outH)×\(outW) is empty")
    (self.channels, self.height, self.width) = (channels, height, width)
    (self.kernelH, self.kernelW, self.strideH, self.strideW) = (kernelH, kernelW, strideH, strideW)
    (self.padTop, self.padLeft, self.outH, self.outW) = (padTop, padLeft, outH, outW)
  }

  /// Values under one window: C·k_h·k_w (the rows of a patch matrix, r = (c·k_h + u)·k_w + v).
  public var patch: Int { channels * kernelH * kernelW }
  /// Output positions per sample: outH·outW.
  public var positions: Int { outH * outW }
  /// Input elements per sample: C·H·W.
  public var inputSize: Int { channels * height * width }

  /// The output cell i (along one axis) whose window puts kernel index u on input index y:
  /// i = (y + p − u)/s when that divides evenly and 0 ≤ i < out, else nil.
  @inline(__always)
  public static func cover(_ y: Int, _ u: Int, pad: Int, stride: Int, out: Int) -> Int? {
    let t = y + pad - u
    guard t >= 0, t % stride == 0, t / stride < out else { return nil }
    return t / stride
  }

  /// Output size and padding before (above or left) along one axis, or nil when the kernel does
  /// not fit: valid out = ⌊(in − k)/s⌋ + 1; same out = ⌈in/s⌉, before = ⌊max((out−1)·s + k − in, 0)/2⌋.
  public static func outputSize(_ size: Int, kernel k: Int, stride s: Int, padding: Padding) -> (out: Int, before: Int)? {
    switch padding {
    case .valid: return size >= k ? ((size - k) / s + 1, 0) : nil
    case .same:
      let out = (size + s - 1) / s
      return (out, max((out - 1) * s + k - size, 0) / 2)
    }
  }

  /// The sweep of a k_h×k_w kernel at `stride` over one sample of `input` = [C, H, W], padded as
  /// `padding` says (`outputSize` along each axis); nil when the kernel does not fit.
  public init?(input: [Int], kernel: (height: Int, width: Int), stride: (height: Int, width: Int), padding: Padding) {
    guard input.count == 3,
      let rows = SlidingWindow.outputSize(input[1], kernel: kernel.height, stride: stride.height, padding: padding),
      let columns = SlidingWindow.outputSize(input[2], kernel: kernel.width, stride: stride.width, padding: padding)
    else { return nil }
    self.init(channels: input[0], height: input[1], width: input[2], kernelH: kernel.height, kernelW: kernel.width,
              strideH: stride.height, strideW: stride.width, padTop: rows.before, padLeft: columns.before, outH: rows.out, outW: columns.out)
  }

  /// Where x[s, c, y, x] sits in a batch [N, C, H, W], or nil in the padding (the cell reads 0).
  @inline(__always)
  public func input(_ s: Int, _ c: Int, _ y: Int, _ x: Int) -> Int? {
    y >= 0 && y < height && x >= 0 && x < width ? ((s * channels + c) * height + y) * width + x : nil
  }

  /// The cells window (i, j) reads, in the order its sum runs (channel c, then kernel row u, then
  /// column v): input row y = i·s_h + u − p_top and column x = j·s_w + v − p_left, padding included.
  public func taps(_ i: Int, _ j: Int) -> [(c: Int, u: Int, v: Int, y: Int, x: Int)] {
    (0..<channels).flatMap { c in
      (0..<kernelH).flatMap { u in (0..<kernelW).map { v in (c, u, v, i * strideH + u - padTop, j * strideW + v - padLeft) } }
    }
  }

  /// The windows that read input cell (y, x), in kernel order (u, then v): each with the kernel
  /// cell (u, v) that lands on it and the window's output position (i, j).
  public func covers(_ y: Int, _ x: Int) -> [(u: Int, v: Int, i: Int, j: Int)] {
    (0..<kernelH).flatMap { u -> [(u: Int, v: Int, i: Int, j: Int)] in
      guard let i = SlidingWindow.cover(y, u, pad: padTop, stride: strideH, out: outH) else { return [] }
      return (0..<kernelW).compactMap { v in SlidingWindow.cover(x, v, pad: padLeft, stride: strideW, out: outW).map { (u, v, i, $0) } }
    }
  }

  /// Where W[f, c, u, v] sits in the kernels [F, C, k_h, k_w].
  @inline(__always)
  public func kernel(_ f: Int, _ c: Int, _ u: Int, _ v: Int) -> Int { ((f * channels + c) * kernelH + u) * kernelW + v }

  /// Rows and columns of the zero-padded input a worksheet lays out: the padding above and to the
  /// left, the image, and zeros below and to the right as far as the last window reaches.
  public var paddedSize: (rows: Int, columns: Int) {
    (max(padTop + height, (outH - 1) * strideH + kernelH), max(padLeft + width, (outW - 1) * strideW + kernelW))
  }

  /// Rows and columns of δ spread out for the backward pass: δ[i,j] at (k_h − 1 + i·s_h,
  /// k_w − 1 + j·s_w), zeros between (the stride) and a border of k − 1 zeros around, as far as
  /// the padded input reaches.
  public var spreadSize: (rows: Int, columns: Int) {
    (max((outH - 1) * strideH + 1 + 2 * (kernelH - 1), padTop + height + kernelH - 1),
     max((outW - 1) * strideW + 1 + 2 * (kernelW - 1), padLeft + width + kernelW - 1))
  }
}
