/// Max pooling over each channel of N×C×H×W images: a[n,c,i,j] = max over the k_h×k_w window
/// x[n, c, i·s_h + u, j·s_w + v], u < k_h, v < k_w (no padding; out = ⌊(in − k)/s⌋ + 1).
///
/// The layer keeps which input won each window (`winners`). Backward sends each output's δ to its
/// winner only: dx[winner(n,c,i,j)] += δ[n,c,i,j], every other input of the window gets 0, and an
/// input that wins several overlapping windows adds their δ up. On ties the FIRST input in
/// row-major window order (top row first, then left to right) wins and gets the whole gradient,
/// as NumPy's argmax breaks ties; a workbook writes the same rule with MATCH(MAX(window), window, 0).
/// Inputs are compared with a strict >, so a NaN wins only when it is first in its window.
/// The window is 2×2 unless the lesson gives `size`; the stride defaults to the window size
/// (windows that do not overlap).
/// Cost: no multiply-adds (`multiplyAdds` is 0); (k_h·k_w − 1) comparisons per output.
public final class MaxPool2D: Layer {
  public static let kind = "max_pool2d"
  public static let namePrefix = "maxpool"
  public static let keys = ["size", "stride"]

  /// Window height k_h and width k_w.
  public let size: (height: Int, width: Int)
  /// Step between windows, down s_h and across s_w (default: the window size).
  public let stride: (height: Int, width: Int)
  public var name = "max_pool2d"
  /// Input size and output size of one sample; set by `build`.
  public private(set) var window: SlidingWindow!
  /// For every output of the last forward pass, the flat index into that pass's input x of the
  /// input that won (row-major over [N, C, H, W]); same order as the output.
  public private(set) var winners: [Int] = []

  private var inputShape = [0]  // [N, C, H, W] of the last forward pass
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass
  private var outputs = TensorPair(), inputGradients = TensorPair()  // a and dx, in turns
  private var sampleShape: [Int] = []  // one sample's output, [C, outH, outW]; set by `build`

  /// A max pooling layer with a `size` window moved by `stride` (default `size`).
  public init(size: (Int, Int), stride: (Int, Int)? = nil) {
    let s = stride ?? size
    precondition(size.0 > 0 && size.1 > 0 && s.0 > 0 && s.1 > 0, "MaxPool2D needs a positive size and stride, got \(size), \(s)")
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
    sampleShape = [window.channels, window.outH, window.outW]
    return sampleShape
  }

  /// The position (0-based, row-major in the window) of each output's winner: 0…k_h·k_w − 1.
  public var winnerPositions: Tensor {
    let g = window!
    var out = Tensor(shape: [winners.count / max(g.channels * g.positions, 1), g.channels, g.outH, g.outW])
    for (o, w) in winners.enumerated() {
      let y = w / g.width % g.height, x = w % g.width
      let i = o / g.outW % g.outH, j = o % g.outW
      out.data[o] = Double((y - i * g.strideH) * g.kernelW + (x - j * g.strideW))
    }
    return out
  }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let g = window!, n = x.rows
    precondition(x.count == n * g.inputSize, "\(name): input \(x.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    inputShape = x.shape
    route = step.policy.route(.pooling)
    let a: Tensor  // [N, C, outH, outW]
    if route == .reference {
      (a, winners) = Reference.maxPool(x, g)  // the first of equals wins
    } else {
      let count = n * g.channels * g.positions
      if winners.count != count { winners = [Int](repeating: 0, count: count) }
      a = outputs.next(rows: n, sampleShape) {
        Kernels.maxPool(x, g, into: &$0, winners: &winners)  // strictly greater: the first of equals stays
      }
    }
    if let t = step.tracer { traceForward(t, x, a) }
    return a
  }

  /// Returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    precondition(delta.count == winners.count, "\(name): δ \(delta.shape) does not fit the last output (\(winners.count) values)")
    guard step.computesInputGradient else { return Tensor(shape: [0]) }
    let (winners, inputShape) = (winners, inputShape)
    let dx = route == .reference ? Reference.maxPoolBackward(delta, winners: winners, inputShape: inputShape)
      : inputGradients.next(inputShape, zeroed: true) { Kernels.maxPoolBackward(delta, winners: winners, addingTo: &$0) }  // dx[winner] += δ
    if let t = step.tracer { traceBackward(t, delta, dx) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ a: Tensor) {
    let g = window!
    t.record(name, .forward, "a", formula: "a[c,i,j] = max over the \(g.kernelH)×\(g.kernelW) window at (i·\(g.strideH), j·\(g.strideW))", a) { o in
      let (args, _) = poolWindowValues(x, g, o)
      return Arithmetic(lhs: elementLabel("a", a.shape, o), template: "max(" + args.indices.map { "{\($0)}" }.joined(separator: ", ") + ")",
                        args: args, result: a.data[o])
    }
    t.record(name, .forward, "winner", formula: "which input won: its place in the window, 0-based row-major (the first on ties)", winnerPositions)
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor, _ dx: Tensor) {
    let winners = winners
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂a (from the layer above)", delta)
    t.record(name, .backward, "dx", formula: "∂L/∂x = Σ δ of the windows this input won (0 if none)", dx) { i in
      let won = winners.indices.filter { winners[$0] == i }.map { delta.data[$0] }
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, i), template: won.isEmpty ? "0" : won.indices.map { "{\($0)}" }.joined(separator: " + "),
                        args: won, result: dx.data[i])
    }
  }
}

// MARK: Shared by the pooling layers

/// The stride option of a pooling layer, defaulting to its window size.
func poolStride(_ o: LayerOptions, default size: (Int, Int)) throws(SheetNetError) -> (Int, Int) {
  do { return try o.pair("stride", default: size) } catch {
    throw .lesson("\(o.context): 'stride' must be a whole number ≥ 1 or a pair [down, across], the pixels the window moves each step; leave it out to move by the window size")
  }
}

/// The options that rebuild a pooling layer.
func poolOptions(_ size: (height: Int, width: Int), _ stride: (height: Int, width: Int)) -> [(key: String, value: Value)] {
  [("size", .list([.number(Double(size.height)), .number(Double(size.width))])),
   ("stride", .list([.number(Double(stride.height)), .number(Double(stride.width))]))]
}

/// The window sweep of a pooling layer (no padding), or a shape error that says what to change.
func poolWindow(_ name: String, _ shape: [Int], _ size: (height: Int, width: Int), _ stride: (height: Int, width: Int)) throws(SheetNetError) -> SlidingWindow {
  guard shape.count == 3 else {
    throw .shape("\(name) pools images shaped channels×height×width but receives \(shapeText(shape)); put it after a conv2d layer, or give the data a shape such as 'shape: [1, 8, 8]'")
  }
  let (c, h, w) = (shape[0], shape[1], shape[2])
  guard size.height <= h && size.width <= w else {
    throw .shape("\(name)'s \(size.height)×\(size.width) window is larger than its \(h)×\(w) input; use a smaller 'size' or remove a pooling layer before it")
  }
  return SlidingWindow(channels: c, height: h, width: w, kernelH: size.height, kernelW: size.width, strideH: stride.height,
                        strideW: stride.width, padTop: 0, padLeft: 0, outH: (h - size.height) / stride.height + 1,
                        outW: (w - size.width) / stride.width + 1)
}

/// The inputs of output `o`'s window in row-major window order, with their flat indices into x.
func poolWindowValues(_ x: Tensor, _ g: SlidingWindow, _ o: Int) -> (values: [Double], indices: [Int]) {
  let j = o % g.outW, i = o / g.outW % g.outH, plane = o / g.positions
  let first = plane * g.height * g.width + i * g.strideH * g.width + j * g.strideW
  var values: [Double] = [], indices: [Int] = []
  for u in 0..<g.kernelH {
    for v in 0..<g.kernelW {
      indices.append(first + u * g.width + v)
      values.append(x.data[first + u * g.width + v])
    }
  }
  return (values, indices)
}

// MARK: Worksheet

extension MaxPool2D {
  /// a = MAX(window); the winner is the first cell of the window (row-major) equal to a, written
  /// as nested IFs (IF(x₀ = a, 0, IF(x₁ = a, 1, …))), so ties go to the first maximum as in the
  /// engine; ∂L/∂x = Σ IF(winner = this cell's place, δ, 0) over the windows holding the cell.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let g = window!, x = c.input
    let (a, winner, delta) = (c.entry(.forward, "a"), c.entry(.forward, "winner"), c.entry(.backward, "delta"))
    switch (phase, key) {
    case (.forward, "a"):
      return SheetCells { o in .call("MAX", [poolWindowRange(x, g, o)]) }
    case (.forward, "winner"):
      return SheetCells { o in
        let indices = poolWindowIndices(g, o)
        var f = Formula.number(Double(indices.count - 1))
        for (p, i) in indices.enumerated().dropLast().reversed() { f = .when(.equal(.cell(x, i), .cell(a, o)), .number(Double(p)), f) }
        return f
      }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dx"):
      return SheetCells { i in
        .sum(poolWindowsHolding(g, i).map { o, p in .when(.equal(.cell(winner, o), .number(Double(p))), .cell(delta, o), .number(0)) })
      }
    default: return nil
    }
  }
}

/// The range of output `o`'s window in the input entry `x` (one grid per sample and channel).
func poolWindowRange(_ x: String, _ g: SlidingWindow, _ o: Int) -> Formula {
  let j = o % g.outW, i = o / g.outW % g.outH, plane = o / g.positions
  return SheetLayout.window(x, grid: plane, height: g.height, width: g.width, row: i * g.strideH, column: j * g.strideW,
                            rows: g.kernelH, columns: g.kernelW)
}

/// The flat input indices of output `o`'s window, in row-major window order.
func poolWindowIndices(_ g: SlidingWindow, _ o: Int) -> [Int] {
  let j = o % g.outW, i = o / g.outW % g.outH, plane = o / g.positions
  let first = plane * g.height * g.width + i * g.strideH * g.width + j * g.strideW
  return (0..<g.kernelH).flatMap { u in (0..<g.kernelW).map { v in first + u * g.width + v } }
}

/// The outputs whose window holds input `index`, each with the input's place in that window
/// (0-based, row-major), in output order.
func poolWindowsHolding(_ g: SlidingWindow, _ index: Int) -> [(output: Int, place: Int)] {
  let xx = index % g.width, y = index / g.width % g.height, plane = index / (g.width * g.height)
  var out: [(Int, Int)] = []
  for i in 0..<g.outH where y >= i * g.strideH && y < i * g.strideH + g.kernelH {
    for j in 0..<g.outW where xx >= j * g.strideW && xx < j * g.strideW + g.kernelW {
      out.append(((plane * g.outH + i) * g.outW + j, (y - i * g.strideH) * g.kernelW + (xx - j * g.strideW)))
    }
  }
  return out
}
