import Foundation
import Testing
@testable import SheetNet

/// The CNN worksheets, the errors a lesson writer meets, and what a traced CNN step records.
struct ConvLessonTests {
  @Test func digitsCNNBuildsAndLearns() throws {
    var lesson = try Lesson.load(packagePath("Worksheets/digits-cnn.yaml"))
    lesson.epochs = 4  // the full lesson trains 20 epochs (mean test accuracy over seeds 1…5 ≈ 98.6 %)
    let run = try LessonRun(lesson, seed: 1)
    #expect(run.model.shapes == [[32, 8, 8], [32, 8, 8], [32, 8, 8], [32, 4, 4], [32, 4, 4], [32, 4, 4], [32, 4, 4], [512], [10], [10]])
    #expect(run.model.parameterCount == 14_890)
    #expect(run.model.layers.flatMap(\.parameters).filter { !$0.trainable }.map(\.value.count).reduce(0, +) == 128)
    try run.train()
    let accuracy = run.evaluate(run.evaluationSet.data).accuracy ?? 0
    #expect(run.evaluationSet.name == "test")
    #expect(accuracy >= 0.95, "digits-cnn after 4 epochs, seed 1: test accuracy \(accuracy)")
    #expect(run.history.epochs.count == 4)
    #expect(run.history.epochs.last!.trainLoss < run.history.epochs.first!.trainLoss)
  }

  /// CNN Explainer's Tiny VGG, built in code.
  static func tinyVGG() -> Sequential {
    Sequential {
      Conv2D(filters: 10, kernel: (3, 3)); ReLU()
      Conv2D(filters: 10, kernel: (3, 3)); ReLU()
      MaxPool2D(size: (2, 2))
      Conv2D(filters: 10, kernel: (3, 3)); ReLU()
      Conv2D(filters: 10, kernel: (3, 3)); ReLU()
      MaxPool2D(size: (2, 2))
      Flatten()
      Dense(10); Softmax()
    }
  }

  @Test func tinyVGGShapes() throws {
    var rng = SeededGenerator(seed: 1)
    let model = try Self.tinyVGG().build(inputShape: [3, 64, 64], rng: &rng)
    #expect(model.parameterCount == 19_920)
    let spatial = model.shapes.filter { $0.count == 3 }.map { $0[1] }
    #expect(spatial == [62, 62, 60, 60, 30, 28, 28, 26, 26, 13])
    #expect(model.shapes[model.shapes.count - 3] == [1_690])
    #expect(model.layers.compactMap { $0 as? Conv2D }.map(\.parameterCount) == [280, 910, 910, 910])
  }

  @Test func tinyVGGWorksheetMatches() throws {
    // The worksheet names no data (`dataset: none`); swap in a one-sample inline set to read its network.
    let path = packagePath("Worksheets/tiny-vgg.yaml")
    let text = try String(contentsOfFile: path, encoding: .utf8)
      .replacingOccurrences(of: "data: {dataset: none, shape: [3, 64, 64]}", with: "data: {x: [[0]], labels: [0]}")
    let lesson = try Lesson.parse(text, path: path)
    var rng = SeededGenerator(seed: 1)
    let model = try lesson.makeModel(inputShape: [3, 64, 64], rng: &rng)
    var reference = SeededGenerator(seed: 1)
    let code = try Self.tinyVGG().build(inputShape: [3, 64, 64], rng: &reference)
    #expect(model.shapes == code.shapes)
    #expect(model.parameterCount == 19_920)
  }

  // MARK: Errors that say what to change

  func message(_ body: () throws -> Void) -> String {
    do { try body() } catch let e as SheetNetError { return e.description } catch { return "\(error)" }
    return "no error"
  }

  func options(_ kind: String, _ values: [(String, Value)]) -> LayerOptions {
    LayerOptions(kind: kind, index: 2, values: values.map { (key: $0.0, value: $0.1) }, location: "lesson.yaml line 9")
  }

  @Test func kernelLargerThanInput() {
    let text = message {
      var rng = SeededGenerator(seed: 1)
      try Sequential { Conv2D(filters: 2, kernel: (5, 5)) }.build(inputShape: [1, 4, 4], rng: &rng)
    }
    #expect(text.contains("5×5 kernel is larger than its 4×4 input"), "\(text)")
    #expect(text.contains("padding: same"), "\(text)")
    let pool = message { try built(MaxPool2D(size: (3, 3)), [2, 2, 2]) }
    #expect(pool.contains("3×3 window is larger than its 2×2 input"), "\(pool)")
  }

  @Test func zeroOrNegativeStride() {
    for bad in [0.0, -1] {
      let conv = message { _ = try Conv2D(options: options("conv2d", [("filters", .number(2)), ("kernel", .number(3)), ("stride", .number(bad))])) }
      #expect(conv.contains("lesson.yaml line 9, layer 2 (conv2d): 'stride' must be a whole number ≥ 1"), "\(conv)")
      let pool = message { _ = try MaxPool2D(options: options("max_pool2d", [("size", .number(2)), ("stride", .number(bad))])) }
      #expect(pool.contains("'stride' must be a whole number ≥ 1"), "\(pool)")
    }
    let padding = message { _ = try Conv2D(options: options("conv2d", [("filters", .number(2)), ("kernel", .number(3)), ("padding", .string("sam"))])) }
    #expect(padding.contains("did you mean 'same'") || padding.contains("same"), "\(padding)")
  }

  @Test func explicitWeightsMustFitTheChannels() {
    let w = Tensor(shape: [2, 1, 3, 3], repeating: 0.1)
    let text = message { try built(Conv2D(filters: 2, kernel: (3, 3), weights: w), [3, 5, 5]) }
    #expect(text.contains("weights must be 2×3×3×3"), "\(text)")
    #expect(text.contains("gives 2×1×3×3"), "\(text)")
    // A single 3×3 kernel over one channel may be written as a plain 3×3 matrix.
    #expect((try? built(Conv2D(filters: 1, kernel: (3, 3), weights: Tensor(shape: [3, 3], repeating: 1)), [1, 4, 4])) != nil)
  }

  @Test func denseAfterConvNeedsFlatten() {
    let text = message {
      var rng = SeededGenerator(seed: 1)
      try Sequential { Conv2D(filters: 2, kernel: (3, 3)); Dense(10) }.build(inputShape: [1, 8, 8], rng: &rng)
    }
    #expect(text.contains("put a flatten layer before it"), "\(text)")
    let flat = message { try built(Conv2D(filters: 2, kernel: (3, 3)), [64]) }
    #expect(flat.contains("shape: [1, 8, 8]"), "\(flat)")
  }

  @Test func dropoutAndBatchNormOptions() {
    let rate = message { _ = try Dropout(options: options("dropout", [("rate", .number(1))])) }
    #expect(rate.contains("'rate' is the fraction of units dropped"), "\(rate)")
    let momentum = message { _ = try BatchNorm(options: options("batch_norm", [("momentum", .number(1.5))])) }
    #expect(momentum.contains("'momentum'"), "\(momentum)")
  }

  // MARK: Traces

  /// Σ args[2k]·args[2k+1] (+ a last odd arg): the value a `{0}·{1} + … + {bias}` template shows.
  func productSum(_ a: Arithmetic) -> Double {
    var s = 0.0
    for k in stride(from: 0, to: a.args.count - 1, by: 2) { s += a.args[k] * a.args[k + 1] }
    if a.args.count % 2 == 1 { s += a.args.last! }
    return s
  }

  @Test func tracedCNNStepWritesOutItsArithmetic() throws {
    let model = Sequential {
      Conv2D(filters: 2, kernel: (3, 3), padding: .same); ReLU()
      MaxPool2D(size: (2, 2))
      AvgPool2D(size: (2, 1), stride: (1, 1))
      Flatten(); Dense(3); Softmax()
    }
    var rng = SeededGenerator(seed: 4)
    try model.build(inputShape: [2, 4, 4], rng: &rng)
    let x = randomTensor([2, 2, 4, 4], seed: 6)
    let t = Tensor(rows: [[1, 0, 0], [0, 0, 1]])
    let tracer = Tracer()
    model.trainStep(x, t, loss: CrossEntropy(), optimizer: SGD(learningRate: 0.1), Step(training: true, tracer: tracer))
    let names = Set(tracer.entries.map(\.name))
    let (conv, maxPool, avgPool, flatten) = (model.layers[0].name, model.layers[2].name, model.layers[3].name, model.layers[4].name)
    for name in ["\(conv).forward.W", "\(conv).forward.b", "\(conv).forward.z", "\(maxPool).forward.a",
                 "\(maxPool).forward.winner", "\(avgPool).forward.a", "\(flatten).forward.a", "\(conv).backward.delta",
                 "\(conv).backward.dW", "\(conv).backward.db", "\(conv).backward.dx", "\(maxPool).backward.dx"] {
      #expect(names.contains(name), "missing \(name)")
    }
    // Every z cell: 2 channels × 3×3 window products, then the bias; their sum is the value.
    let z = try #require(tracer.entry("\(conv).forward.z"))
    for i in 0..<z.value.count {
      let a = z.explain!(i)
      #expect(a.args.count == 2 * 2 * 9 + 1)
      #expect(a.template.hasPrefix("{0}·{1} + {2}·{3} + ") && a.template.hasSuffix(" + {36}"))
      #expect(a.result == z.value.data[i] && abs(productSum(a) - a.result) <= 1e-12 * max(1, abs(a.result)))
    }
    // Corner cell of sample 1, filter 1: the window's top row and left column read the zero padding.
    #expect(z.explain!(0).args[0] == 0 && z.explain!(0).args[8] == x.data[0])
    let pool = try #require(tracer.entry("\(maxPool).forward.a"))
    for i in 0..<pool.value.count {
      let a = pool.explain!(i)
      #expect(a.template == "max({0}, {1}, {2}, {3})" && a.args.max() == a.result)
    }
    let avg = try #require(tracer.entry("\(avgPool).forward.a"))
    for i in 0..<avg.value.count {
      let a = avg.explain!(i)
      #expect(a.template == "({0} + {1})/2" && (a.args[0] + a.args[1]) / 2 == a.result)
    }
    for key in ["dW", "dx"] {
      let e = try #require(tracer.entry("\(conv).backward.\(key)"))
      for i in 0..<e.value.count {
        let a = e.explain!(i)
        #expect(abs(productSum(a) - a.result) <= 1e-12 * max(1, abs(a.result)), "\(key) \(i): \(a.template)")
      }
    }
    let db = try #require(tracer.entry("\(conv).backward.db"))
    #expect(abs(db.explain!(1).args.reduce(0, +) - db.value.data[1]) <= 1e-12)
    #expect(tracer.firstNonFinite == nil)
  }

  @Test func tracedBatchNormAndDropout() throws {
    let model = Sequential { Dense(3); BatchNorm(); Dropout(rate: 0.5); Dense(2) }
    var rng = SeededGenerator(seed: 2)
    try model.build(inputShape: [4], rng: &rng)
    let tracer = Tracer()
    model.trainStep(randomTensor([5, 4], seed: 1), Tensor(rows: [[1, 0], [0, 1], [1, 0], [1, 0], [0, 1]]),
                    loss: CrossEntropy(), optimizer: SGD(learningRate: 0.1), Step(training: true, tracer: tracer))
    let (bn, dropout) = (model.layers[1].name, model.layers[2].name)
    for name in ["\(bn).forward.mean", "\(bn).forward.var", "\(bn).forward.xhat", "\(bn).forward.a",
                 "\(bn).forward.running_mean", "\(bn).backward.dgamma", "\(bn).backward.dx",
                 "\(dropout).forward.mask", "\(dropout).forward.a", "\(dropout).backward.dx"] {
      #expect(tracer.entry(name) != nil, "missing \(name)")
    }
    let a = try #require(tracer.entry("\(bn).forward.a"))
    for i in 0..<a.value.count {
      let e = a.explain!(i)
      #expect(e.args[0] * e.args[1] + e.args[2] == e.result)
    }
    let mean = try #require(tracer.entry("\(bn).forward.mean")).explain!(0)
    #expect(abs(mean.args.reduce(0, +) / 5 - mean.result) <= 1e-15)
  }
}
