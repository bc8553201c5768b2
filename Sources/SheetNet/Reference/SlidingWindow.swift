/// Where a k_h×k_w window visits an image of C×H×W with strides (s_h, s_w) and zero padding,
/// as a convolution or a pooling layer sweeps it: output cell (i, j) reads input rows
/// y = i·s_h + u − p_top and columns x = j·s_w + v − p_left for u < k_h, v < k_w; cells outside
/// 0..<H, 0..<W read 0 (the padding). Both tiers (`Reference` and the fast kernels) read it.
public struct SlidingWindow: Sendable, Equatable {
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
}
