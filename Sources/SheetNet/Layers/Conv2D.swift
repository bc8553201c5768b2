/// A 2-D convolution over images N×C×H×W (a cross-correlation, as every framework computes it):
///
///     z[n,f,i,j] = Σ_c Σ_u Σ_v x[n, c, i·s_h + u − p_t, j·s_w + v − p_l]·W[f,c,u,v] + b[f]
///
/// summed over input channel c, then kernel row u, then kernel column v, then + b[f], exactly as
/// a spreadsheet reads the window; input cells outside the image (the zero padding) read 0.
/// W has shape [filters, channels, k_h, k_w] and b [filters]. Backward, with δ = ∂L/∂z:
/// dW[f,c,u,v] = Σ_n (Σ_i Σ_j δ[n,f,i,j]·x[n,c,i·s_h+u−p_t, j·s_w+v−p_l]) (each sample's sum, then
/// the samples added in order), db[f] = Σ_n Σ_i Σ_j δ[n,f,i,j], and
/// dx[n,c,y,x] = Σ_u Σ_v (Σ_f δ[n,f,i,j]·W[f,c,u,v]) over the kernel cells (u, v) whose window
/// (i, j) covers (y, x): for each such cell the filters' products are summed, then the cells added.
///
/// Padding: `valid` adds none, out = ⌊(in − k)/s⌋ + 1 (the kernel must fit the input). `same`
/// gives out = ⌈in/s⌉ and pads p = max((out − 1)·s + k − in, 0) zeros, ⌊p/2⌋ above/left and the
/// rest below/right, as TensorFlow and Keras do (PyTorch's `padding='same'` agrees at stride 1).
///
/// Two tiers compute it (`ComputePolicy.route` picks one per pass): `Reference.convolution` and
/// its gradients run the loops above, and `FastConvolution` runs the same sums as matrix products
/// over patch matrices (im2col), bit for bit the loops' numbers below the fast-product size and
/// within 1e-12 relative above it (fused multiply-adds or OpenBLAS; see `ComputePolicy`).
/// Cost per sample: outH·outW·filters·C·k_h·k_w multiply-adds.
public final class Conv2D: Layer {
  public static let kind = "conv2d"
  public static let namePrefix = "conv"
  public static let keys = ["filters", "kernel", "stride", "padding", "init", "weights", "bias", "use_bias"]

  /// `valid` (no padding: out = ⌊(n − k)/s⌋ + 1) or `same` (out = ⌈n/s⌉), see `SlidingWindow.Padding`.
  public typealias Padding = SlidingWindow.Padding
  /// Number of filters, the output channels F.
  public let filters: Int
  /// Kernel height k_h and width k_w.
  public let kernel: (height: Int, width: Int)
  /// Step between windows, down s_h and across s_w.
  public let stride: (height: Int, width: Int)
  /// `valid` or `same`.
  public let padding: Padding
  /// How W is drawn when the lesson gives no weights (fan_in = C·k_h·k_w, fan_out = F·k_h·k_w).
  public let initializer: Initializer
  /// Whether the layer adds b.
  public let useBias: Bool
  public var name = "conv2d"
  /// W, shape [filters, channels, k_h, k_w].
  public private(set) var W: Parameter!
  /// b, shape [filters].
  public private(set) var b: Parameter!
  /// Input size, output size and padding of one sample; set by `build`.
  public private(set) var window: SlidingWindow!

  private var givenW: (Tensor?, Bool)
  private var givenB: (Tensor?, Bool)
  private var x = Tensor(shape: [0])  // cached input, [N, C, H, W]
  private var route = ComputePolicy.Route.reference  // the tier of the last forward pass
  private var fast: FastConvolution!  // the fast tier's buffers and scratch; set by `build`

  /// A convolution with `filters` kernels of `kernel` = (k_h, k_w).
  public init(filters: Int, kernel: (Int, Int), stride: (Int, Int) = (1, 1), padding: Padding = .valid,
              initializer: Initializer = .glorot, useBias: Bool = true, weights: Tensor? = nil, bias: Tensor? = nil,
              trainableWeights: Bool = true, trainableBias: Bool = true) {
    precondition(filters > 0 && kernel.0 > 0 && kernel.1 > 0 && stride.0 > 0 && stride.1 > 0,
                 "Conv2D needs positive filters, kernel and stride, got \(filters), \(kernel), \(stride)")
    self.filters = filters
    self.kernel = (kernel.0, kernel.1)
    self.stride = (stride.0, stride.1)
    self.padding = padding
    self.initializer = initializer
    self.useBias = useBias
    self.givenW = (weights, trainableWeights)
    self.givenB = (bias, trainableBias)
  }

  public convenience init(options o: LayerOptions) throws(SheetNetError) {
    let filters = try o.int("filters")
    let kernel = try o.pair("kernel")
    let stride: (Int, Int)
    do { stride = try o.pair("stride", default: (1, 1)) } catch {
      throw .lesson("\(o.context): 'stride' must be a whole number ≥ 1 or a pair [down, across], the pixels the window moves each step; 1 visits every position")
    }
    let padding = try o.choice("padding", Padding.allCases.map(\.rawValue), default: "valid")
    let initName = try o.choice("init", Initializer.allCases.map(\.rawValue), default: "glorot")
    let (w, wt) = try Dense.parameterOption(o, "weights")
    let (b, bt) = try Dense.parameterOption(o, "bias")
    self.init(filters: filters, kernel: kernel, stride: stride, padding: Padding(rawValue: padding)!,
              initializer: Initializer(rawValue: initName)!, useBias: try o.bool("use_bias", default: true),
              weights: w, bias: b, trainableWeights: wt, trainableBias: bt)
  }

  public var options: [(key: String, value: Value)] {
    [("filters", .number(Double(filters))),
     ("kernel", .list([.number(Double(kernel.height)), .number(Double(kernel.width))])),
     ("stride", .list([.number(Double(stride.height)), .number(Double(stride.width))])),
     ("padding", .string(padding.rawValue)), ("init", .string(initializer.rawValue)), ("use_bias", .bool(useBias))]
  }

  /// W, then b when used; set by `build`.
  public private(set) var parameters: [Parameter] = []
  /// outH·outW·filters·C·k_h·k_w per sample.
  public var multiplyAdds: Int { window.map { $0.positions * filters * $0.patch } ?? 0 }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] {
    guard inputShape.count == 3 else {
      throw .shape("\(name) expects images shaped channels×height×width but receives \(shapeText(inputShape)); give the data a shape such as 'shape: [1, 8, 8]'")
    }
    let (c, h, w) = (inputShape[0], inputShape[1], inputShape[2])
    let (kh, kw) = kernel
    guard let g = SlidingWindow(input: inputShape, kernel: kernel, stride: stride, padding: padding) else {
      throw .shape("\(name)'s \(kh)×\(kw) kernel is larger than its \(h)×\(w) input (padding valid); use a smaller 'kernel', 'padding: same', or fewer pooling layers before it")
    }
    window = g
    let want = [filters, c, kh, kw]
    try Limits.checkParameters(Limits.product(want), name, "weights (\(shapeText(want)))")
    guard let out = Limits.product([filters, g.outH, g.outW]), out <= Limits.activationsPerSample else {
      throw .shape("\(name) would output \(filters)×\(g.outH)×\(g.outW) numbers per sample, more than \(Limits.grouped(Limits.activationsPerSample)); use fewer filters or a larger stride")
    }
    if let given = givenW.0 {
      // The exact shape, or the same with axes of extent 1 left out ([k_h, k_w] for one filter on one channel).
      let fits = given.count == want.reduce(1, *) && given.shape.filter { $0 != 1 } == want.filter { $0 != 1 }
      guard fits else {
        throw .shape("\(name) has \(filters) filter\(filters == 1 ? "" : "s") over \(c) input channel\(c == 1 ? "" : "s") with \(kh)×\(kw) kernels, so its weights must be \(shapeText(want)) (filters × channels × height × width), but the lesson gives \(shapeText(given.shape)); change 'filters' or 'kernel', or give weights for \(c) channel\(c == 1 ? "" : "s")")
      }
      W = Parameter(name: "W", value: given.reshaped(want), trainable: givenW.1)
    } else {
      let values = initializer.sample(count: want.reduce(1, *), fanIn: c * kh * kw, fanOut: filters * kh * kw, rng: &rng)
      W = Parameter(name: "W", value: Tensor(shape: want, data: values), trainable: givenW.1)
    }
    b = Parameter(name: "b", value: try Dense.bias(givenB.0, count: filters, name, "filters"), trainable: givenB.1)
    parameters = useBias ? [W, b] : [W]
    fast = FastConvolution(g, filters: filters)
    return [filters, g.outH, g.outW]
  }

  /// The tier a batch of `n` samples takes under `policy` (asked of `ComputePolicy.route`).
  package func route(batch n: Int, _ policy: ComputePolicy) -> ComputePolicy.Route {
    policy.route(.convolution(batch: n, multiplyAdds: multiplyAdds, readableInPlace: fast.inPlace != nil))
  }

  /// Whether the last forward pass read its patches in place (`Kernels.ImplicitConvolution`).
  package var usedInPlace: Bool { route == .inPlace }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    let g = window!, n = x.rows
    precondition(x.count == n * g.inputSize, "\(name): input \(x.shape) is not N×\(g.channels)×\(g.height)×\(g.width)")
    self.x = x  // [N, C, H, W]
    route = route(batch: n, step.policy)
    let bias = useBias ? b.value : nil
    let z = route == .reference  // [N, F, outH, outW]
      ? Reference.convolution(x, W.value, bias, g)  // the loops of the formula
      : fast.forward(x, W.value, bias: bias, route: route, step)  // im2col or in place, then products
    if let t = step.tracer { traceForward(t, x, z) }
    return z
  }

  /// Fills dW and db; returns dx unless `step` says nobody needs it (then an empty tensor).
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let g = window!, n = x.rows, wantsDx = step.computesInputGradient
    precondition(delta.count == n * filters * g.positions, "\(name): δ \(delta.shape) does not fit output N×\(filters)×\(g.outH)×\(g.outW)")
    let dx: Tensor  // [N, C, H, W], or empty when not wanted
    if route == .reference {
      W.grad = Reference.convolutionWeightGradient(delta, x, g, filters: filters)  // dW, [F, C, k_h, k_w]
      if useBias { b.grad = Reference.convolutionBiasGradient(delta, filters: filters, g) }  // db = Σₙ Σᵢⱼ δ, [F]
      dx = wantsDx ? Reference.convolutionInputGradient(delta, W.value, g, batch: n) : Tensor(shape: [0])
    } else {
      dx = fast.backward(delta, x, W.value, route: route, weightGradient: &W.grad, biasGradient: &b.grad, wantsDb: useBias, wantsDx: wantsDx)
    }
    if let t = step.tracer { traceBackward(t, delta, dx) }
    return dx
  }

  // MARK: Trace

  private func traceForward(_ t: Tracer, _ x: Tensor, _ z: Tensor) {
    let (w, bias, g, f, useBias) = (W.value, b.value, window!, filters, useBias)
    t.record(name, .forward, "W", batched: false, formula: "W: \(f) filters × \(g.channels) channels × \(g.kernelH)×\(g.kernelW) kernel", w)
    if useBias { t.record(name, .forward, "b", batched: false, formula: "b: one bias per filter", bias) }
    let formula = "z[f,i,j] = Σ_c Σ_u Σ_v x[c, i·\(g.strideH)+u−\(g.padTop), j·\(g.strideW)+v−\(g.padLeft)]·W[f,c,u,v]"
      + (useBias ? " + b[f]" : "") + (padding == .same ? "  (0 outside the image)" : "")
    t.record(name, .forward, "z", formula: formula, z) { index in
      // index → (sample, filter, i, j); the window's products over c, u, v, padding included.
      let j = index % g.outW, i = index / g.outW % g.outH, k = index / g.positions % f, s = index / (g.positions * f)
      let products = g.taps(i, j).map { p in (g.input(s, p.c, p.y, p.x).map { x.data[$0] } ?? 0, w.data[g.kernel(k, p.c, p.u, p.v)]) }
      return Arithmetic(lhs: elementLabel("z", z.shape, index), products: products, plus: useBias ? [bias.data[k]] : [], result: z.data[index])
    }
  }

  private func traceBackward(_ t: Tracer, _ delta: Tensor, _ dx: Tensor) {
    let (x, w, dW, g, f, n) = (x, W.value, W.grad, window!, filters, x.rows)
    t.record(name, .backward, "delta", symbol: "δ", formula: "δ = ∂L/∂z (from the layer above)", delta)
    t.record(name, .backward, "dW", batched: false, formula: "∂L/∂W[f,c,u,v] = Σₙ Σᵢ Σⱼ δ[n,f,i,j]·x[n,c,i·s+u−p,j·s+v−p]", dW) { index in
      let v = index % g.kernelW, u = index / g.kernelW % g.kernelH
      let c = index / (g.kernelW * g.kernelH) % g.channels, k = index / g.patch
      var products: [(Double, Double)] = []
      for s in 0..<n {
        for i in 0..<g.outH {
          for j in 0..<g.outW {
            guard let cell = g.input(s, c, i * g.strideH + u - g.padTop, j * g.strideW + v - g.padLeft) else { continue }
            products.append((delta.data[(s * f + k) * g.positions + i * g.outW + j], x.data[cell]))
          }
        }
      }
      return Arithmetic(lhs: elementLabel("∂L/∂W", dW.shape, index, batch: false), products: products, result: dW.data[index])
    }
    if useBias {
      let db = b.grad
      t.record(name, .backward, "db", batched: false, formula: "∂L/∂b[f] = Σₙ Σᵢ Σⱼ δ[n,f,i,j]", db) { k in
        let terms = (0..<n).flatMap { s in (0..<g.positions).map { delta.data[(s * f + k) * g.positions + $0] } }
        return Arithmetic(lhs: elementLabel("∂L/∂b", db.shape, k, batch: false), products: [], plus: terms, result: db.data[k])
      }
    }
    t.record(name, .backward, "dx", formula: "∂L/∂x[c,y,x] = Σ_u Σ_v Σ_f δ[f,i,j]·W[f,c,u,v] over the windows (i,j) covering (y,x)", dx) { index in
      let xx = index % g.width, y = index / g.width % g.height
      let c = index / (g.width * g.height) % g.channels, s = index / g.inputSize
      let products = g.covers(y, xx).flatMap { p in
        (0..<f).map { k in (delta.data[(s * f + k) * g.positions + p.i * g.outW + p.j], w.data[g.kernel(k, c, p.u, p.v)]) }
      }
      return Arithmetic(lhs: elementLabel("∂L/∂x", dx.shape, index), products: products, result: dx.data[index])
    }
  }
}

// MARK: Worksheet

extension Conv2D {
  public var outputKey: String { "z" }

  /// The cells of a convolution, built from three helper blocks:
  /// - `xpad`, the input with its zero padding, so every window is a rectangle:
  ///   z[n,f,i,j] = Σ_c SUMPRODUCT(xpad window at (i·s_h, j·s_w), W[f,c]) + b[f];
  /// - `dspread`, δ with s − 1 zeros between neighbours and k − 1 zeros around, so that
  ///   dW[f,c,u,v] = Σ_n SUMPRODUCT(dspread's δ part, xpad window at (u, v)) and
  ///   dx[n,c,y,x] = Σ_f SUMPRODUCT(dspread window at (y + p_t, x + p_l), Wflip[f,c]);
  /// - `Wflip`, each kernel turned by 180°.
  /// db[f] = Σ_n SUM(δ[n,f]). W and b are editable.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let g = window!, f = filters, n = c.batch, x = c.input, useBias = useBias
    let (xpad, w, bias) = (c.entry(.forward, "xpad"), c.entry(.forward, "W"), c.entry(.forward, "b"))
    let (delta, spread, wflip) = (c.entry(.backward, "delta"), c.entry(.backward, "dspread"), c.entry(.backward, "Wflip"))
    let (hp, wp) = g.paddedSize, (he, we) = g.spreadSize  // the padded input, δ spread
    let (dh, dw) = ((g.outH - 1) * g.strideH + 1, (g.outW - 1) * g.strideW + 1)  // δ spread, without its border
    let kernel = { (k: Int, ch: Int, entry: String) in SheetLayout.grid(entry, k * g.channels + ch, height: g.kernelH, width: g.kernelW) }
    switch (phase, key) {
    case (.forward, "W"), (.forward, "b"): return .input
    case (.forward, "z"):
      let padded = SheetHelper(name: xpad, symbol: "x padded", formula: "the input with \(padding.rawValue) zero padding (p_top \(g.padTop), p_left \(g.padLeft)): every window is a rectangle",
                               shape: [n, g.channels, hp, wp], batched: true) { i in
        let (q, r, plane) = (i % wp, i / wp % hp, i / (wp * hp))  // plane = n·C + c
        return g.input(0, plane, r - g.padTop, q - g.padLeft).map { .cell(x, $0) } ?? .number(0)
      }
      return SheetCells(helpers: [padded]) { o in
        let (j, i, k, s) = (o % g.outW, o / g.outW % g.outH, o / g.positions % f, o / (g.positions * f))
        let terms = (0..<g.channels).map { ch in
          Formula.sumProduct(SheetLayout.window(xpad, grid: s * g.channels + ch, height: hp, width: wp, row: i * g.strideH, column: j * g.strideW,
                                                rows: g.kernelH, columns: g.kernelW), kernel(k, ch, w))
        }
        return useBias ? .sum(terms) + .cell(bias, k) : .sum(terms)
      }
    case (.backward, "delta"): return SheetCells { [upstream = c.delta] i in .cell(upstream, i) }
    case (.backward, "dW"):
      let spreadBlock = SheetHelper(name: spread, symbol: "δ spread", formula: "δ with \(g.strideH - 1)/\(g.strideW - 1) zeros between neighbours (the stride) and \(g.kernelH - 1)/\(g.kernelW - 1) around",
                                    shape: [n, f, he, we], batched: true) { i in
        let (q, r, plane) = (i % we - (g.kernelW - 1), i / we % he - (g.kernelH - 1), i / (we * he))
        guard r >= 0, q >= 0, r % g.strideH == 0, q % g.strideW == 0, r / g.strideH < g.outH, q / g.strideW < g.outW else { return .number(0) }
        return .cell(delta, (plane * g.outH + r / g.strideH) * g.outW + q / g.strideW)
      }
      return SheetCells(helpers: [spreadBlock]) { i in
        let (v, u, ch, k) = (i % g.kernelW, i / g.kernelW % g.kernelH, i / (g.kernelW * g.kernelH) % g.channels, i / (g.kernelW * g.kernelH * g.channels))
        return .sum((0..<n).map { s in
          Formula.sumProduct(
            SheetLayout.window(spread, grid: s * f + k, height: he, width: we, row: g.kernelH - 1, column: g.kernelW - 1, rows: dh, columns: dw),
            SheetLayout.window(xpad, grid: s * g.channels + ch, height: hp, width: wp, row: u, column: v, rows: dh, columns: dw))
        })
      }
    case (.backward, "db"):
      return SheetCells { k in .sum((0..<n).map { .call("SUM", [SheetLayout.grid(delta, $0 * f + k, height: g.outH, width: g.outW)]) }) }
    case (.backward, "dx"):
      let flipped = SheetHelper(name: wflip, symbol: "W turned", formula: "each kernel turned by 180°: Wflip[f,c,u,v] = W[f,c,k_h−1−u,k_w−1−v]",
                                shape: [f, g.channels, g.kernelH, g.kernelW], batched: false) { i in
        let (v, u, plane) = (i % g.kernelW, i / g.kernelW % g.kernelH, i / (g.kernelW * g.kernelH))
        return .cell(w, (plane * g.kernelH + g.kernelH - 1 - u) * g.kernelW + g.kernelW - 1 - v)
      }
      return SheetCells(helpers: [flipped]) { i in
        let (xx, y, ch, s) = (i % g.width, i / g.width % g.height, i / (g.width * g.height) % g.channels, i / g.inputSize)
        return .sum((0..<f).map { k in
          Formula.sumProduct(
            SheetLayout.window(spread, grid: s * f + k, height: he, width: we, row: y + g.padTop, column: xx + g.padLeft,
                               rows: g.kernelH, columns: g.kernelW),
            kernel(k, ch, wflip))
        })
      }
    default: return nil
    }
  }
}
