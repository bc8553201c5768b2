/// A learnable tensor of a layer with its gradient and its optimizer state.
///
/// `grad` holds ∂L/∂value after a backward pass. `state` holds the optimizer's named tensors
/// (`v` for momentum, `m` and `s` for Adam) so that traces and model files can show them.
public final class Parameter {
  /// The course name: `W`, `b`, `gamma`, `beta`.
  public let name: String
  /// Current value.
  public var value: Tensor
  /// ∂L/∂value from the last backward pass (same shape as `value`).
  public var grad: Tensor
  /// When false the optimizer leaves this parameter unchanged (e.g. Mazur's fixed biases).
  public var trainable: Bool
  /// Optimizer state by name, each of `value`'s shape.
  public var state: [String: Tensor] = [:]

  /// A parameter with zero gradient.
  public init(name: String, value: Tensor, trainable: Bool = true) {
    self.name = name
    self.value = value
    self.grad = Tensor(shape: value.shape)
    self.trainable = trainable
  }
}

/// What one pass through the network needs besides the data: training or evaluation, the
/// tracer (nil when not tracing), and the generator for dropout masks.
public final class Step {
  /// True while training (dropout active, batch norm uses batch statistics).
  public var training: Bool
  #if SHEETNET_NO_TRACE
  /// Always nil: this build has tracing compiled out (`-Xswiftc -DSHEETNET_NO_TRACE`), so the
  /// optimiser removes every `if let t = step.tracer` branch; attaching a tracer does nothing.
  /// Only for measuring what the branches cost (`make bench`); traces come out empty.
  public var tracer: Tracer? {
    get { nil }
    set {}
  }
  #else
  /// Records every value of the step when attached; nil costs one branch per layer.
  public var tracer: Tracer?
  #endif
  /// The seeded stream for random masks.
  public var rng: SeededGenerator
  /// Whether a layer's backward must return ∂L/∂x. Training clears it for the first layer, whose
  /// input gradient nobody reads (a third of an MLP's products); layers then return an empty
  /// tensor. A traced step always computes it, so the trace shows it.
  public var needsInputGradient = true
  /// Which tier computes each layer (`ComputePolicy.route`); `.automatic` unless a test or a
  /// benchmark asks for another.
  package var policy = ComputePolicy.automatic

  /// True when backward should compute ∂L/∂x: it is needed or it is being traced.
  public var computesInputGradient: Bool { needsInputGradient || tracer != nil }

  /// A pass context.
  public init(training: Bool, tracer: Tracer? = nil, rng: SeededGenerator = SeededGenerator(seed: 0)) {
    self.training = training
    self.rng = rng
    self.tracer = tracer
  }

  /// A pass context whose layers follow `policy` (tests and benchmarks choose a tier with it).
  package convenience init(training: Bool, tracer: Tracer? = nil, rng: SeededGenerator = SeededGenerator(seed: 0), policy: ComputePolicy) {
    self.init(training: training, tracer: tracer, rng: rng)
    self.policy = policy
  }
}

/// One layer of a `Sequential` network: its forward pass, its backward pass, its trace and its
/// options, all in the layer's own file.
///
/// Shapes are per sample after `build` (`inputShape` [64], [1, 8, 8]); tensors passed to
/// `forward` and `backward` carry the batch first. `forward` caches what `backward` needs.
public protocol Layer: AnyObject, SheetFormulas {
  /// The word lesson files use, e.g. `dense`.
  static var kind: String { get }
  /// The stem of automatic names (`conv` gives conv1, conv2); the kind unless a layer says.
  static var namePrefix: String { get }
  /// The option keys a lesson may give this layer (besides `type` and `name`).
  static var keys: [String] { get }
  /// A layer from its lesson options.
  init(options: LayerOptions) throws(SheetNetError)
  /// The options that rebuild this layer (weights excluded): what model files store.
  var options: [(key: String, value: Value)] { get }

  /// Unique name in the network, e.g. `dense1`.
  var name: String { get set }
  /// Learnable tensors in a fixed order (empty for parameter-free layers).
  var parameters: [Parameter] { get }
  /// Checks that the input fits, creates the parameters and returns the output shape (per sample).
  func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> [Int]
  /// a = f(x) for a batch; caches what backward needs; records to `step.tracer` when attached.
  func forward(_ x: Tensor, _ step: Step) -> Tensor
  /// Given δ = ∂L/∂a, fills every parameter's `grad` and returns ∂L/∂x.
  func backward(_ delta: Tensor, _ step: Step) -> Tensor
  /// Multiply-adds per sample in the forward pass.
  var multiplyAdds: Int { get }
  /// Numbers a layer keeps per sample besides its output during a step (attention's scores and
  /// weights, h·T² each): what the memory estimate adds to the outputs.
  var cachedNumbersPerSample: Int { get }
  /// The key of the trace entry holding this layer's output (`z` for dense and conv, else `a`).
  var outputKey: String { get }
  /// The key of the trace entry holding ∂L/∂x, this layer's input gradient (`dz` for
  /// activations and softmax, else `dx`).
  var inputGradientKey: String { get }
}

extension Layer {
  /// Automatic names use the kind: dense1, relu1.
  public static var namePrefix: String { kind }
  /// The kind of this layer's type.
  public var kind: String { Self.kind }
  /// Number of scalar parameters, Σ |θ|.
  public var parameterCount: Int { parameters.reduce(0) { $0 + $1.value.count } }
  /// Parameter-free layers by default.
  public var parameters: [Parameter] { [] }
  /// No arithmetic by default.
  public var multiplyAdds: Int { 0 }
  /// Nothing kept besides the output by default.
  public var cachedNumbersPerSample: Int { 0 }
  /// Most layers call their output `a`.
  public var outputKey: String { "a" }
  /// Most layers call their input gradient `dx`.
  public var inputGradientKey: String { "dx" }
}

/// A layer's options as written in a lesson, with the context needed for good error messages.
public struct LayerOptions: Sendable {
  /// The layer kind (`dense`).
  public let kind: String
  /// Position in the network, 1-based.
  public let index: Int
  /// The options map (empty for a bare `- relu`).
  public let values: [(key: String, value: Value)]
  /// Where the layer is written, e.g. `Worksheets/xor.yaml line 12`.
  public let location: String

  /// Options from a plain list (for code and tests).
  public init(kind: String, index: Int = 1, values: [(key: String, value: Value)] = [], location: String = "") {
    self.kind = kind
    self.index = index
    self.values = values
    self.location = location
  }

  /// The error prefix naming the layer: "Worksheets/x.yaml line 12, layer 2 (dense)"; with
  /// index 0, options that belong to no layer: "Worksheets/x.yaml line 20, optimizer (sgd)".
  public var context: String {
    (location.isEmpty ? "" : location + ", ") + (index == 0 ? "optimizer (\(kind))" : "layer \(index) (\(kind))")
  }

  func raw(_ key: String) -> Value? { values.first { $0.key == key }?.value }

  /// An integer option, or `default` when absent.
  public func int(_ key: String, default d: Int? = nil, min lo: Int = 1) throws(SheetNetError) -> Int {
    guard let v = raw(key) else {
      if let d { return d }
      throw .lesson("\(context): needs '\(key)'")
    }
    guard let x = v.number, x == x.rounded(), x >= Double(lo), x < 1e9 else {
      throw .lesson("\(context): '\(key)' must be a whole number ≥ \(lo), got \(describe(v))")
    }
    return Int(x)
  }

  /// One or two integers (`3` or `[3, 2]`) as (height, width).
  public func pair(_ key: String, default d: (Int, Int)? = nil, min lo: Int = 1) throws(SheetNetError) -> (Int, Int) {
    if let list = raw(key)?.list {
      guard list.count == 2, let a = list[0].number, let b = list[1].number,
        a == a.rounded(), b == b.rounded(), a >= Double(lo), b >= Double(lo), a < 1e9, b < 1e9
      else { throw .lesson("\(context): '\(key)' must be a whole number ≥ \(lo) or a pair [height, width]") }
      return (Int(a), Int(b))
    }
    if raw(key) == nil, let d { return d }
    let n = try int(key, min: lo)
    return (n, n)
  }

  /// A real option, or `default` when absent.
  public func double(_ key: String, default d: Double? = nil) throws(SheetNetError) -> Double {
    guard let v = raw(key) else {
      if let d { return d }
      throw .lesson("\(context): needs '\(key)'")
    }
    guard let x = v.number, x.isFinite else { throw .lesson("\(context): '\(key)' must be a number, got \(describe(v))") }
    return x
  }

  /// A true/false option.
  public func bool(_ key: String, default d: Bool) throws(SheetNetError) -> Bool {
    guard let v = raw(key) else { return d }
    guard case .bool(let b) = v else { throw .lesson("\(context): '\(key)' must be true or false, got \(describe(v))") }
    return b
  }

  /// A word from a fixed set.
  public func choice(_ key: String, _ allowed: [String], default d: String) throws(SheetNetError) -> String {
    guard let v = raw(key) else { return d }
    guard let s = v.string, allowed.contains(s) else {
      let got = v.string ?? describe(v)
      throw .lesson("\(context): '\(key)' must be one of \(allowed.joined(separator: ", ")), got '\(got)'\(didYouMean(got, in: allowed))")
    }
    return s
  }

  /// Explicit numbers (a number, a list, or a list of lists), flattened row-major with their shape.
  public func numbers(_ key: String) throws(SheetNetError) -> Tensor? {
    guard let v = raw(key) else { return nil }
    func flatten(_ v: Value) throws(SheetNetError) -> ([Int], [Double]) {
      switch v {
      case .number(let x): return ([], [x])
      case .list(let items):
        var shape: [Int]? = nil
        var data: [Double] = []
        for item in items {
          let (s, d) = try flatten(item)
          if let shape, shape != s { throw .lesson("\(context): '\(key)' has rows of different lengths") }
          shape = s
          data += d
        }
        return ([items.count] + (shape ?? []), data)
      default: throw .lesson("\(context): '\(key)' must hold numbers, got \(v.kindName)")
      }
    }
    let (shape, data) = try flatten(v)
    guard data.allSatisfy(\.isFinite) else { throw .lesson("\(context): '\(key)' holds a number that is not finite") }
    return Tensor(shape: shape, data: data)
  }

  private func describe(_ v: Value) -> String { v.described }
}

/// Shapes printed as a course writes them: [1, 8, 8] → "1×8×8"; [] → "a single number".
public func shapeText(_ shape: [Int]) -> String {
  shape.isEmpty ? "a single number" : shape.map(String.init).joined(separator: "×")
}
