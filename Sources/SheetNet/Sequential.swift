/// Every layer kind a lesson or model file may name, by its `kind` word.
nonisolated(unsafe) public let layerKinds: [String: any Layer.Type] = {
  let all: [any Layer.Type] = [
    Dense.self, ReLU.self, LeakyReLU.self, Sigmoid.self, Tanh.self, Softmax.self,
    Conv2D.self, MaxPool2D.self, AvgPool2D.self, Flatten.self, Dropout.self, BatchNorm.self, LayerNorm.self,
    Embedding.self, Positional.self, GELU.self, SelfAttention.self, Skip.self, Residual.self,
  ]
  return Dictionary(uniqueKeysWithValues: all.map { ($0.kind, $0) })
}()

/// Builds a layer list: `Sequential { Dense(32); ReLU(); Dense(10) }`.
@resultBuilder
public enum LayerBuilder {
  /// One layer written in the block.
  public static func buildExpression(_ layer: any Layer) -> [any Layer] { [layer] }
  /// The layers of the block, in order.
  public static func buildBlock(_ parts: [any Layer]...) -> [any Layer] { parts.flatMap { $0 } }
  /// `if` without `else`: its layers, or none.
  public static func buildOptional(_ part: [any Layer]?) -> [any Layer] { part ?? [] }
  /// The `if` branch of an `if`/`else`.
  public static func buildEither(first: [any Layer]) -> [any Layer] { first }
  /// The `else` branch of an `if`/`else`.
  public static func buildEither(second: [any Layer]) -> [any Layer] { second }
  /// A `for` loop's layers, in order.
  public static func buildArray(_ parts: [[any Layer]]) -> [any Layer] { parts.flatMap { $0 } }
}

/// A network that applies its layers in order: a = fₗ(… f₂(f₁(x))).
///
/// Training step: forward through every layer, the loss, backward in reverse order (each layer
/// fills its parameters' gradients), then the optimizer updates every trainable parameter.
public final class Sequential {
  /// The layers, in order; named `dense1`, `relu1`, `dense2`, … once built.
  public private(set) var layers: [any Layer]
  /// Shape of one input sample, e.g. [64] or [1, 8, 8]; set by `build`.
  public private(set) var inputShape: [Int] = []
  /// Output shape of each layer, per sample; set by `build`.
  public private(set) var shapes: [[Int]] = []
  /// Where `trainStep` writes the loss gradient, in turns (see `TensorPair`).
  private var lossGradients = TensorPair()

  /// A network from a layer list.
  public init(_ layers: [any Layer]) { self.layers = layers }

  /// A network written with the builder: `Sequential { Dense(2); Sigmoid() }`.
  public convenience init(@LayerBuilder _ content: () -> [any Layer]) { self.init(content()) }

  /// Names the layers, checks that each one's input fits and draws initial weights.
  /// Layers already named by the lesson keep their names; others become their name stem + count
  /// (dense1, conv1, maxpool1), skipping a name already taken. Every name must then keep the
  /// rule of `Names` and differ from the others (ignoring case), since names become file and
  /// sheet names; lessons and model files check theirs when read, with file and line.
  @discardableResult
  public func build(inputShape: [Int], rng: inout SeededGenerator) throws(SheetNetError) -> Sequential {
    self.inputShape = inputShape
    var counts: [String: Int] = [:]
    var used = Set<String>()
    for layer in layers where layer.name != layer.kind { used.insert(layer.name.lowercased()) }
    for layer in layers where layer.name == layer.kind {
      let stem = type(of: layer).namePrefix
      var n = 0
      repeat { n = counts[stem, default: 0] + 1; counts[stem] = n } while used.contains("\(stem)\(n)")
      layer.name = "\(stem)\(n)"
    }
    var owner: [String: Int] = [:]
    for (i, layer) in layers.enumerated() {
      let label = "layer \(i + 1) (\(layer.kind)): name \(Names.quoted(layer.name))"
      if let problem = Names.problem(layer.name) { throw .lesson("\(label) \(problem); \(Names.rule)") }
      if let earlier = owner.updateValue(i + 1, forKey: layer.name.lowercased()) {
        throw .lesson("\(label) is also the name of layer \(earlier) (names are compared ignoring case); give each layer its own name")
      }
    }
    // Each residual block's end finds its start: the nearest skip not yet closed.
    var open: [Skip] = []
    for layer in layers {
      if let skip = layer as? Skip { open.append(skip) }
      if let residual = layer as? Residual {
        guard let skip = open.popLast() else { throw .lesson("\(residual.name) ends a residual block that never began; write the block as - residual: [layers]") }
        residual.skip = skip
        skip.residual = residual
      }
    }
    if let unclosed = open.first { throw .lesson("\(unclosed.name) begins a residual block that never ends; write the block as - residual: [layers]") }
    shapes = []
    var shape = inputShape
    for (i, layer) in layers.enumerated() {
      do {
        shape = try layer.build(inputShape: shape, rng: &rng)
      } catch {
        let from = i == 0 ? "the input" : "layer \(i) (\(layers[i - 1].name))"
        throw .shape("layer \(i + 1) (\(layer.name)) does not fit \(from), which gives \(shapeText(shape)): \(error.description)")
      }
      shapes.append(shape)
      guard let count = Limits.product(shape), count <= Limits.activationsPerSample, shape.allSatisfy({ $0 >= 1 }) else {
        throw .shape("layer \(i + 1) (\(layer.name)) would output \(shapeText(shape)) numbers per sample, more than \(Limits.grouped(Limits.activationsPerSample)); make it smaller")
      }
      try Limits.checkParameters(parameterCount, "the network", "parameters")
    }
    return self
  }

  /// Shape of one output sample.
  public var outputShape: [Int] { shapes.last ?? inputShape }
  /// Total number of scalar parameters.
  public var parameterCount: Int { layers.reduce(0) { $0 + $1.parameterCount } }
  /// Multiply-adds per sample for a forward pass.
  public var multiplyAdds: Int { layers.reduce(0) { $0 + $1.multiplyAdds } }

  /// Bytes a training run needs by `Limits`' estimate: 8 bytes × (4 × parameters + 6 × batch ×
  /// (the input, every layer's output and what layers keep besides, per sample)).
  public func trainingBytes(batch: Int) -> Int {
    let outputs = ([inputShape] + shapes).reduce(0) { $0 + (Limits.product($1) ?? Int.max / 64) }
    let activations = min(layers.reduce(outputs) { Limits.saturated($0, plus: $1.cachedNumbersPerSample) }, Int.max / 64)
    let (perBatch, o1) = activations.multipliedReportingOverflow(by: max(batch, 1))
    let numbers = o1 ? Int.max / 16 : min(4 * parameterCount + 6 * min(perBatch, Int.max / 16), Int.max / 16)
    return numbers * 8
  }

  /// The output for a batch x (batch first).
  public func forward(_ x: Tensor, _ step: Step) -> Tensor {
    step.tracer?.record("input", .forward, "x", formula: "x: the input, one row per sample", x)
    var a = x
    for layer in layers { a = layer.forward(a, step) }
    return a
  }

  /// Backpropagates δ from layer `from` (exclusive upper bound) down to the first layer and
  /// returns ∂L/∂x for the input (empty when `inputGradient` is false and nothing traces).
  @discardableResult
  public func backward(_ delta: Tensor, from end: Int? = nil, inputGradient: Bool = true, _ step: Step) -> Tensor {
    var d = delta
    let upper = end ?? layers.count
    for i in stride(from: upper - 1, through: 0, by: -1) {
      step.needsInputGradient = inputGradient || i > 0
      d = layers[i].backward(d, step)
    }
    step.needsInputGradient = true
    return d
  }

  /// Outputs for a whole dataset, in batches, in evaluation mode.
  public func predict(_ x: Tensor, batchSize: Int = 256) -> Tensor {
    let step = Step(training: false)
    var rows: [Double] = []
    var outShape = [0] + outputShape
    var start = 0
    while start < x.rows {
      let end = min(start + batchSize, x.rows)
      let batch = x.gathering(rows: Array(start..<end))
      let y = forward(batch, step)
      rows += y.data
      outShape = [0] + y.shape.dropFirst()
      start = end
    }
    outShape[0] = x.rows
    return Tensor(shape: outShape, data: rows)
  }

  /// One training step on a batch: forward, loss, backward, update. Returns the batch loss and
  /// the network's output before the update.
  ///
  /// With `step.tracer` attached every value is recorded in order; the numbers are the same
  /// ones an untraced step computes, because it is the same code.
  @discardableResult
  public func trainStep(_ x: Tensor, _ t: Tensor, loss: any Loss, optimizer: any Optimizer, _ step: Step) -> (loss: Double, output: Tensor) {
    let y = forward(x, step)
    let last = layers.last
    let value = loss.value(output: y, target: t, last: last)
    var skipsLast = false
    let delta = lossGradients.next(y.shape) { skipsLast = loss.gradient(output: y, target: t, last: last, into: &$0) }
    if let tracer = step.tracer {
      loss.trace(tracer, output: y, target: t, last: last, value: value, delta: delta, skipsLast: skipsLast)
    }
    backward(delta, from: skipsLast ? layers.count - 1 : layers.count, inputGradient: false, step)
    optimizer.step(layers, tracer: step.tracer)
    return (value, y)
  }

  /// The layer with this name, if any.
  public func layer(named name: String) -> (any Layer)? { layers.first { $0.name == name } }
}
