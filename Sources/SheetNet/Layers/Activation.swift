/// An element-wise activation a = f(z), with backward ∂L/∂z = ∂L/∂a · f′(z).
///
/// Each activation's file gives its function, its slope and how both are written out; the
/// shared forward, backward and trace live here so every activation traces the same way.
public protocol Activation: Layer {
  /// The function's name in formulas: `σ`, `tanh`, `ReLU`.
  static var symbol: String { get }
  /// The forward formula, e.g. `a = σ(z) = 1 / (1 + e⁻ᶻ)`.
  static var formula: String { get }
  /// The backward formula, e.g. `∂L/∂z = ∂L/∂a · a·(1 − a)`.
  static var slopeFormula: String { get }
  /// f(z).
  func apply(_ z: Double) -> Double
  /// f′(z), given z and a = f(z).
  func slope(z: Double, a: Double) -> Double
  /// a[i] = f(z[i]) for every element (by default `apply` element by element; an activation
  /// whose slope reuses part of f keeps that part here).
  func activate(_ z: Tensor, into a: inout Tensor)
  /// dz[i] = δ[i]·f′(z[i]) for every element (by default from z and a in one pass; an
  /// activation whose slope needs only a reads less).
  func slopes(_ delta: Tensor, into dz: inout Tensor)
  /// The backward arithmetic for one element: a template over {0} = ∂L/∂a and the args after it.
  func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double])
  /// The worksheet formula of one cell of a = f(z).
  func cellForward(_ z: Formula) -> Formula
  /// The worksheet formula of one cell of ∂L/∂z = ∂L/∂a · f′(z).
  func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula
  /// The cached pre-activation of the last forward pass.
  var z: Tensor { get set }
  /// The cached activation of the last forward pass.
  var a: Tensor { get set }
  /// Where a and ∂L/∂z are written, in turns (see `TensorPair`).
  var buffers: (outputs: TensorPair, inputGradients: TensorPair) { get set }
}

extension Activation {
  public var options: [(key: String, value: Value)] { [] }

  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int] { inputShape }

  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    z = x
    let out = buffers.outputs.next(x.shape) { activate(x, into: &$0) }
    a = out
    if let t = step.tracer {
      let (z, a, symbol) = (z, a, Self.symbol)
      t.record(name, .forward, "a", formula: Self.formula, a) { i in
        Arithmetic(lhs: elementLabel("a", a.shape, i), template: "\(symbol)({0})", args: [z.data[i]], result: a.data[i])
      }
    }
    return out
  }

  public func activate(_ z: Tensor, into a: inout Tensor) {
    Kernels.map(z, into: &a) { apply($0) }
  }

  public func slopes(_ delta: Tensor, into dz: inout Tensor) {
    Kernels.zip(delta, z, a, into: &dz) { $0 * slope(z: $1, a: $2) }  // one pass: ∂L/∂a · f′(z)
  }
  public func backward(_ delta: Tensor, _ step: Step) -> Tensor {
    let (z, a) = (z, a)
    let dz = buffers.inputGradients.next(delta.shape) { slopes(delta, into: &$0) }
    if let t = step.tracer {
      let (z, a, da, dzc) = (z, a, delta, dz)
      let pieces = (0..<z.count).map { slopeArithmetic(z: z.data[$0], a: a.data[$0]) }
      t.record(name, .backward, "dz", symbol: "∂L/∂z", formula: Self.slopeFormula, dz) { i in
        Arithmetic(lhs: elementLabel("∂L/∂z", dzc.shape, i), template: "{0}·" + pieces[i].template,
                   args: [da.data[i]] + pieces[i].args, result: dzc.data[i])
      }
    }
    return dz
  }
}

// MARK: Worksheet

extension Activation {
  /// ∂L/∂z, the input gradient of every activation.
  public var inputGradientKey: String { "dz" }

  /// a = f(z) cell by cell from the input's cell; ∂L/∂z from δ of the layer above, z and a.
  public func sheetCells(_ phase: Phase, _ key: String, _ c: SheetContext) -> SheetCells? {
    let (z, a, delta) = (c.input, c.entry(.forward, "a"), c.delta)
    switch (phase, key) {
    case (.forward, "a"): return SheetCells { i in self.cellForward(.cell(z, i)) }
    case (.backward, "dz"): return SheetCells { i in self.cellBackward(delta: .cell(delta, i), z: .cell(z, i), a: .cell(a, i)) }
    default: return nil
    }
  }
}
