/// Average pooling over each channel of N×C×H×W images:
/// a[n,c,i,j] = (Σ_u Σ_v x[n, c, i·s_h + u, j·s_w + v]) / k, with k = k_h·k_w the window's count.
///
/// No padding (out = ⌊(in − k)/s⌋ + 1), so every window holds k real inputs and the divisor is
/// always k. The sum runs in row-major window order, then divides once, as a workbook's
/// AVERAGE(window) does. Backward: each input of a window receives δ/k from it,
/// dx[n,c,y,x] = Σ δ[n,c,i,j]/k over the windows (i, j) that hold (y, x).
/// The window is 2×2 unless the lesson gives `size`; the stride defaults to the window size. Cost: no multiply-adds (`multiplyAdds` is 0); k − 1
/// additions and one division per output.
public final class AvgPool2D: Layer {
  public static let kind = "avg_pool2d"
  public static let namePrefix = "avgpool"
  public static let keys = ["size", "stride"]

  /// Window height k_h and width k_w.
  public let size: (height: Int, width: Int)
  /// Step between windows, down s_h and across s_w (default: the window size).
  public let stride: (height: Int, width: Int)
  public var name = "avg_pool2d"
  /// Input size and output size of one sample; set by `build`.
  public private(set) var window: SlidingWindow!

  private var inputShape = [0]  // [N, C, H, W] of the last forward pass
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass

  /// An average pooling layer with a `size` window moved by `stride` (default `size`).
  public init(size: (Int, Int), stride: (Int, Int)? = nil) {
    let s = stride ?? size
    precondition(size.0 > 0 && size.1 > 0 && s.0 > 0 && s.1 > 0, "AvgPool2D needs a positive size and stride, got \(size), \(s)")
    self.size = (size.0, size.1)
    self.stride = (s.0, s.1)
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let size = try o.pair("size", default: (2, 2))
    self.init(size: size, stride: try poolStride(o, default: size))
  }

  public var options: [(key: String, value: Value)] { poolOptions(size, stride) }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    window = try poolWindow(name, inputShape, size, stride)
    return [window.channels, window.outH, window.outW]
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let g = window!, n = x.rows
    precondition(x.count == n * g.inputSize, "\(name): input \(x.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    inputShape = x.shape
    route = step.policy.route(.pooling)
    var result: Tensor  // [N, C, outH, outW]: window sum in row-major order, then ÷ k
    if route == .reference {
      result = Reference.avgPool(x, g)
    } else {
      result = Tensor(shape: [n, g.channels, g.outH, g.outW])
      Kernels.avgPool(x, g, into: &result)
    }
    if let t = step.tracer {
      let (kk, result) = (g.kernelH * g.kernelW, result)
      t.record(name, .forward, "a", formula: "a[c,i,j] = (Σ of the \(g.kernelH)×\(g.kernelW) window at (i·\(g.strideH), j·\(g.strideW)))/\(kk)", result) { o in
        let (args, _) = poolWindowValues(x, g, o)
        return Arithmetic(lhs: elementLabel("a", result.shape, o), template: "(" + args.indices.map { "{\($0)}" }.joined(separator: " + ") + ")/\(kk)",
                          args: args, result: result.data[o])
      }
    }
    return result
  }

  /// Returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let g = window!, n = inputShape[0]
    precondition(delta.count == n * g.channels * g.positions, "\(name): δ \(delta.shape) does not fit output N×\(g.channels)×\(g.outH)×\(g.outW)")
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    var result: Tensor  // [N, C, H, W]: δ/k to every input of each window
    if route == .reference {
      result = Reference.avgPoolBackward(delta, g, batch: n)
    } else {
      result = Tensor(shape: inputShape)
      Kernels.avgPoolBackward(delta, g, addingTo: &result)
    }
    if let t = step.tracer {
      let (kk, result) = (g.kernelH * g.kernelW, result)
      t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
      t.record(name, .backward, "dx", formula: "∂L/∂x = Σ δ/\(kk) over the windows that hold this input (0 if none)", result) { index in
        // Output cells in order whose window holds input `index`.
        let xx = index % g.width, y = index / g.width % g.height, plane = index / (g.width * g.height)
        var args: [Double] = []
        for i in 0..<g.outH where y >= i * g.strideH && y < i * g.strideH + g.kernelH {
          for j in 0..<g.outW where xx >= j * g.strideW && xx < j * g.strideW + g.kernelW {
            args.append(delta.data[(plane * g.outH + i) * g.outW + j])
          }
        }
        return Arithmetic(lhs: elementLabel("∂L/∂x", result.shape, index),
                          template: args.isEmpty ? "0" : args.indices.map { "{\($0)}/\(kk)" }.joined(separator: " + "), args: args, result: result.data[index])
      }
    }
    return result
  }
}

// MARK: Worksheet

extension AvgPool2D {
  /// a = SUM(window)/k; ∂L/∂x = Σ δ/k over the windows holding the cell.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let g = window!, x = c.input, delta = c.entry(.backward, "delta")
    let k = Formula.number(Double(g.kernelH * g.kernelW))
    switch (phase, key) {
    case (.forward, "a"): return SheetCells { o in .call("SUM", [poolWindowRange(x, g, o)]) / k }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dx"): return SheetCells { i in .sum(poolWindowsHolding(g, i).map { o, _ in .cell(delta, o) / k }) }
    default: return nil
    }
  }
}
