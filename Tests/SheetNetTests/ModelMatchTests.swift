import Foundation
import Testing
@testable import SheetNet

/// A saved model stands for a lesson only when it is the lesson's very network. Each case takes
/// a real trained `model.json` (xor, and a small CNN with an option of every kind), keeps its
/// fingerprint and alters one thing: `restoreSaved` never reuses it (and copies no weight),
/// `evaluate`, `summary` and `figure --model` refuse it in one line naming that difference, and
/// `figure` and `build` train the lesson again, to the very model a fresh training gives.
@Suite(.serialized) struct ModelMatchTests {
  /// xor as shipped, built cheaply (one figure, no worksheets, no exercise sheet).
  static var xorText: String {
    get throws { try String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8) + cheapBuild }
  }

  static let cheapBuild = "build: {worksheets: none, figures: [training], exercise: none}\n"

  /// A small CNN with a convolution, batch norm, pooling and dropout, trained with Adam.
  /// Layers: conv1 (2@3×3 same), batchnorm1, relu1, maxpool1 (2×2), dropout1, flatten1, dense1 (10), softmax1.
  static let cnnText = """
    seed: 1
    data: {dataset: digits, shape: [1, 8, 8], preprocess: {divide: 16}, split: {test: 0.2}}
    network:
      - {type: conv2d, filters: 2, kernel: 3, padding: same}
      - batch_norm
      - relu
      - {type: max_pool2d, size: 2}
      - {type: dropout, rate: 0.25}
      - flatten
      - {type: dense, units: 10}
      - softmax
    loss: cross_entropy
    optimizer: {type: adam, learning_rate: 0.01}
    train: {epochs: 1, batch_size: 64}

    """ + cheapBuild

  /// One step of a path into a JSON document: a map key or a list index.
  enum Hop: ExpressibleByStringLiteral, ExpressibleByIntegerLiteral, Sendable {
    case key(String), index(Int)
    init(stringLiteral s: String) { self = .key(s) }
    init(integerLiteral i: Int) { self = .index(i) }
  }

  /// `doc` with the value at `path` replaced by `change` of it (nil: removed; a missing key is added).
  static func edit(_ doc: Value, _ path: ArraySlice<Hop>, _ change: (Value?) -> Value?) -> Value {
    guard let hop = path.first else { return change(doc) ?? .null }
    switch (doc, hop) {
    case (.map(var pairs), .key(let key)):
      if let i = pairs.firstIndex(where: { $0.key == key }) {
        if path.count > 1 { pairs[i].value = edit(pairs[i].value, path.dropFirst(), change) }
        else if let new = change(pairs[i].value) { pairs[i].value = new } else { pairs.remove(at: i) }
      } else if path.count == 1, let new = change(nil) {
        pairs.append((key, new))
      }
      return .map(pairs)
    case (.list(var items), .index(let i)) where items.indices.contains(i):
      if path.count > 1 { items[i] = edit(items[i], path.dropFirst(), change) }
      else if let new = change(items[i]) { items[i] = new } else { items.remove(at: i) }
      return .list(items)
    default:
      Issue.record("no \(hop) in \(doc.kindName)")
      return doc
    }
  }

  typealias Edit = @Sendable (Value) -> Value

  static func set(_ path: [Hop], _ value: Value) -> Edit { { edit($0, path[...]) { _ in value } } }
  static func remove(_ path: [Hop]) -> Edit { { edit($0, path[...]) { _ in nil } } }
  static func numbers(_ xs: [Double]) -> Value { .list(xs.map { .number($0) }) }
  static func all(_ edits: Edit...) -> Edit { { doc in edits.reduce(doc) { $1($0) } } }

  /// Layer `layer`'s parameter `name` (and its optimizer state) given `shape`, filled with 0.1.
  static func resize(_ layer: Int, _ name: String, _ shape: [Double]) -> Edit {
    { doc in
      let count = Int(shape.reduce(1, *))
      let tensor = { (t: Value) -> Value in
        edit(edit(t, ["shape"]) { _ in numbers(shape) }, ["values"]) { _ in numbers(Array(repeating: 0.1, count: count)) }
      }
      var out = edit(doc, ["layers", .index(layer), "parameters", .key(name)]) { $0.map(tensor) }
      for key in doc["layers"]?.list?[layer]["parameters"]?[name]?["state"]?.keys ?? [] {
        out = edit(out, ["layers", .index(layer), "parameters", .key(name), "state", .key(key)]) { $0.map(tensor) }
      }
      return out
    }
  }

  /// One alteration of a trained model.json, its fingerprint kept: the lesson it is made on, what
  /// the one error line must name, and whether the file still reads as a model (a parameter
  /// shape its own layer does not build is refused as damaged, before any comparison).
  struct Alteration: Sendable, CustomStringConvertible {
    var label: String
    var lesson: String
    var mentions: String
    var readable = true
    var edit: Edit
    var description: String { "\(lesson): \(label)" }
  }

  static func xor(_ label: String, _ mentions: String, readable: Bool = true, _ edit: @escaping Edit) -> Alteration {
    Alteration(label: label, lesson: "xor", mentions: mentions, readable: readable, edit: edit)
  }

  static func cnn(_ label: String, _ mentions: String, _ edit: @escaping Edit) -> Alteration {
    Alteration(label: label, lesson: "cnn", mentions: mentions, edit: edit)
  }

  static let alterations: [Alteration] = [
    // xor: dense1 (2 units), sigmoid1, dense2 (1 unit), sigmoid2; SGD η = 0.5, μ = 0.9.
    xor("a dense layer's units", "layer 1 (dense1) has units 3, the lesson says 2",
        all(set(["layers", 0, "options", "units"], .number(3)), resize(0, "W", [3, 2]), resize(0, "b", [3]), resize(2, "W", [1, 3]))),
    xor("a layer's kind", "layer 2 (sigmoid1) is tanh, the lesson's layer 2 is sigmoid (sigmoid1)",
        set(["layers", 1, "type"], .string("tanh"))),
    xor("the output activation", "layer 4 (sigmoid2) is relu, the lesson's layer 4 is sigmoid (sigmoid2)",
        set(["layers", 3, "type"], .string("relu"))),
    xor("a parameter's shape", "layer 1 (dense1) parameter W has shape 1×4", readable: false, resize(0, "W", [1, 4])),
    xor("the input shape", "the input shape is 3, the lesson says 2",
        all(set(["input_shape"], numbers([3])), resize(0, "W", [2, 3]))),
    xor("a layer added", "the model has 5 layers, the lesson 4: layer 5 (sigmoid3) is not in the lesson",
        { Self.edit($0, ["layers"]) { layers in
          .list((layers?.list ?? []) + [.map([("type", .string("sigmoid")), ("name", .string("sigmoid3")), ("options", .map([])), ("parameters", .map([]))])])
        } }),
    xor("a layer removed", "the model has 3 layers, the lesson 4: it lacks layer 4 (sigmoid2)", remove(["layers", 3])),
    xor("a layer's name", "layer 1 is named hidden, the lesson names it dense1", set(["layers", 0, "name"], .string("hidden"))),
    xor("the learning rate", "the optimizer (sgd) has learning_rate 0.4, the lesson says 0.5",
        set(["optimizer", "options", "learning_rate"], .number(0.4))),
    xor("the momentum", "the optimizer (sgd) has momentum 0, the lesson says 0.9", set(["optimizer", "options", "momentum"], .number(0))),
    xor("the optimizer's kind", "the optimizer is adam, the lesson says sgd",
        all(set(["optimizer", "type"], .string("adam")), set(["optimizer", "options"], .map([("learning_rate", .number(0.5))])),
            remove(["layers", 0, "parameters", "W", "state"]), remove(["layers", 0, "parameters", "b", "state"]),
            remove(["layers", 2, "parameters", "W", "state"]), remove(["layers", 2, "parameters", "b", "state"]))),
    xor("a weight frozen", "layer 1 (dense1) parameter W is frozen, the lesson trains it",
        set(["layers", 0, "parameters", "W", "trainable"], .bool(false))),
    xor("an optimizer state dropped", "layer 1 (dense1) parameter W holds optimizer state none, the lesson's sgd after 1000 steps keeps v",
        remove(["layers", 0, "parameters", "W", "state"])),
    xor("the loss", "the loss is mse, the lesson says binary_cross_entropy", set(["loss"], .string("mse"))),
    xor("the preprocessing", "the preprocessing is divide by 2, the lesson says none",
        set(["preprocess"], .map([("type", .string("divide")), ("by", .number(2))]))),
    // cnn: conv1, batchnorm1, relu1, maxpool1, dropout1, flatten1, dense1 ([10, 32]), softmax1; Adam η = 0.01.
    cnn("a convolution's kernel", "layer 1 (conv1) has kernel [5, 5], the lesson says [3, 3]",
        all(set(["layers", 0, "options", "kernel"], numbers([5, 5])), resize(0, "W", [2, 1, 5, 5]))),
    cnn("a convolution's filters", "layer 1 (conv1) has filters 3, the lesson says 2",
        all(set(["layers", 0, "options", "filters"], .number(3)), resize(0, "W", [3, 1, 3, 3]), resize(0, "b", [3]),
            resize(1, "gamma", [3]), resize(1, "beta", [3]), resize(1, "running_mean", [3]), resize(1, "running_var", [3]),
            resize(6, "W", [10, 48]))),
    cnn("a convolution's padding", "layer 1 (conv1) has padding 'valid', the lesson says 'same'",
        all(set(["layers", 0, "options", "padding"], .string("valid")), resize(6, "W", [10, 18]))),
    cnn("a convolution's stride", "layer 1 (conv1) has stride [2, 2], the lesson says [1, 1]",
        all(set(["layers", 0, "options", "stride"], numbers([2, 2])), resize(6, "W", [10, 8]))),
    cnn("a convolution's initializer", "layer 1 (conv1) has init 'he', the lesson says 'glorot'",
        set(["layers", 0, "options", "init"], .string("he"))),
    cnn("batch norm's momentum", "layer 2 (batchnorm1) has momentum 0.99, the lesson says 0.9",
        set(["layers", 1, "options", "momentum"], .number(0.99))),
    cnn("batch norm's epsilon", "layer 2 (batchnorm1) has epsilon 0.01, the lesson says 0.001",
        set(["layers", 1, "options", "epsilon"], .number(0.01))),
    cnn("an activation", "layer 3 (relu1) is tanh, the lesson's layer 3 is relu (relu1)", set(["layers", 2, "type"], .string("tanh"))),
    cnn("the pooling size", "layer 4 (maxpool1) has size [4, 4], the lesson says [2, 2]",
        all(set(["layers", 3, "options", "size"], numbers([4, 4])), resize(6, "W", [10, 18]))),
    cnn("max pooling made average", "layer 4 (maxpool1) is avg_pool2d, the lesson's layer 4 is max_pool2d (maxpool1)",
        set(["layers", 3, "type"], .string("avg_pool2d"))),
    cnn("the dropout rate", "layer 5 (dropout1) has rate 0.5, the lesson says 0.25", set(["layers", 4, "options", "rate"], .number(0.5))),
    cnn("Adam's β₁", "the optimizer (adam) has beta1 0.8, the lesson says 0.9", set(["optimizer", "options", "beta1"], .number(0.8))),
    cnn("the preprocessing's divisor", "the preprocessing is divide by 255, the lesson says divide by 16", set(["preprocess", "by"], .number(255))),
  ]

  /// A scratch project holding xor and cnn, with `lesson` trained by `sheetnet train`: the
  /// project, the model.json bytes and what `evaluate --json` says of them.
  func trainedProject(_ lesson: String) throws -> (root: String, model: Data, evaluation: String) {
    let root = NSTemporaryDirectory() + "sheetnet-match-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    try Self.xorText.write(toFile: "\(root)/Worksheets/xor.yaml", atomically: true, encoding: .utf8)
    try Self.cnnText.write(toFile: "\(root)/Worksheets/cnn.yaml", atomically: true, encoding: .utf8)
    let trained = try runSheetnet(["train", lesson], in: root)
    #expect(trained.0 == 0, "\(trained.2)")
    let model = try Data(contentsOf: URL(fileURLWithPath: "\(root)/Output/\(lesson)/model.json"))
    let evaluation = try runSheetnet(["evaluate", "Output/\(lesson)/model.json", "--json"], in: root)
    #expect(evaluation.0 == 0, "\(evaluation.2)")
    return (root, model, evaluation.1)
  }


  /// Every parameter's values, bit for bit.
  func weights(_ run: LessonRun) -> [[UInt64]] { run.model.layers.flatMap(\.parameters).map { $0.value.data.map(\.bitPattern) } }

  /// `--json` output's "model" (figure) or the lesson's "model" (build).
  func said(_ json: String, lesson: String? = nil) -> String? {
    guard let v = try? Value.parseJSON(json) else { return nil }
    if let lesson { return v["lessons"]?.list?.first { $0["lesson"]?.string == lesson }?["model"]?.string }
    return v["model"]?.string
  }

  @Test(arguments: alterations)
  func anAlteredModelIsNeverReused(_ a: Alteration) throws {
    let (root, pristine, evaluation) = try trainedProject(a.lesson)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let modelPath = "Output/\(a.lesson)/model.json"
    let altered = a.edit(try Value.parseJSON(String(decoding: pristine, as: UTF8.self))).json() + "\n"
    #expect(altered.contains("\"fingerprint\""))
    func writeAltered() throws { try altered.write(toFile: "\(root)/\(modelPath)", atomically: true, encoding: .utf8) }
    try writeAltered()
    if a.readable { #expect(throws: Never.self, "the altered file still reads as a model") { try ModelFile.load("\(root)/\(modelPath)") } }

    // The engine: stale (or damaged), never reused, and not one weight copied.
    let lesson = try Lesson.load("\(root)/Worksheets/\(a.lesson).yaml")
    let run = try LessonRun(lesson)
    let initial = weights(run)
    do {
      let outcome = try run.restoreSaved(modelPath: "\(root)/\(modelPath)")
      guard case .stale(let why) = outcome else { Issue.record("\(a): \(outcome)"); return }
      #expect(why == "\(root)/\(modelPath): \(a.mentions)")
      #expect(a.readable)
    } catch {
      #expect(!a.readable, "\(a): \(error)")
      #expect(error.description.contains(a.mentions), "\(error)")
    }
    #expect(run.isInitial && weights(run) == initial && run.history.epochs.isEmpty, "a mismatched file restored something")

    // The commands that take a model file refuse it, in one line, touching nothing.
    let before = snapshot(root)
    let commands: [(arguments: [String], prefix: String, remedy: String)] = [
      (["evaluate", modelPath], "\(modelPath): ", a.readable ? "sheetnet train \(a.lesson)" : ""),
      (["summary", modelPath], "\(modelPath): ", a.readable ? "sheetnet train \(a.lesson)" : ""),
      (["figure", "training", a.lesson, "--model", modelPath], a.readable ? "--model \(modelPath): " : "\(modelPath): ",
       a.readable ? "or --retrain" : ""),
    ]
    for c in commands {
      let (status, _, err) = try runSheetnet(c.arguments, in: root)
      #expect(status == 1, "\(c.arguments[0]): \(err)")
      let lines = err.split(separator: "\n")
      #expect(lines.count == 1 && lines[0].hasPrefix("sheetnet: error: \(c.prefix)"), "\(c.arguments[0]): \(err)")
      #expect(err.contains(a.mentions) && (c.remedy.isEmpty || err.contains(c.remedy)), "\(c.arguments[0]): \(err)")
    }
    #expect(snapshot(root) == before, "a refused model changed files")

    // The commands that reuse the default model train the lesson again: the fresh model, bytes and accuracy.
    let figure = try runSheetnet(["figure", "training", a.lesson, "--json"], in: root)
    #expect(figure.0 == 0 && said(figure.1) == "trained", "\(figure.2)")
    #expect(FileManager.default.contents(atPath: "\(root)/\(modelPath)") == pristine)
    try writeAltered()
    let build = try runSheetnet(["build", "--json", a.lesson], in: root)
    #expect(build.0 == 0 && said(build.1, lesson: a.lesson) == "trained", "\(build.2)")
    #expect(FileManager.default.contents(atPath: "\(root)/\(modelPath)") == pristine)
    #expect(try runSheetnet(["evaluate", modelPath, "--json"], in: root).1 == evaluation, "the rebuilt model's accuracy is the fresh training's")
  }

  @Test("an unaltered model, read and written back, is still reused byte for byte", arguments: ["xor", "cnn"])
  func anUnalteredModelIsReused(_ lesson: String) throws {
    let (root, pristine, evaluation) = try trainedProject(lesson)
    defer { try? FileManager.default.removeItem(atPath: root) }
    let modelPath = "Output/\(lesson)/model.json"
    // Through the same reader and writer the alterations use: nothing but the document itself.
    let rewritten = try Value.parseJSON(String(decoding: pristine, as: UTF8.self)).json() + "\n"
    #expect(Data(rewritten.utf8) == pristine)
    let run = try LessonRun(try Lesson.load("\(root)/Worksheets/\(lesson).yaml"))
    #expect(try run.restoreSaved(modelPath: "\(root)/\(modelPath)") == .reused("\(root)/\(modelPath)"))
    #expect(try ModelFile.load("\(root)/\(modelPath)").mismatch(with: run) == nil)
    #expect(try runSheetnet(["summary", modelPath], in: root).0 == 0)
    let figure = try runSheetnet(["figure", "training", lesson, "--model", modelPath, "--json"], in: root)
    #expect(figure.0 == 0 && said(figure.1) == "reused", "\(figure.2)")
    let build = try runSheetnet(["build", "--json", lesson], in: root)
    #expect(build.0 == 0 && said(build.1, lesson: lesson) == "reused", "\(build.2)")
    #expect(FileManager.default.contents(atPath: "\(root)/\(modelPath)") == pristine)
    #expect(try runSheetnet(["evaluate", modelPath, "--json"], in: root).1 == evaluation)
  }

  @Test("every option every layer kind stores is compared, and named when it differs")
  func everyOptionIsCompared() throws {
    // A network holding every layer kind that has options, saved as a file (in memory).
    let text = """
      seed: 1
      data: {dataset: digits, shape: [1, 8, 8], preprocess: {divide: 16}}
      network:
        - {type: conv2d, filters: 2, kernel: 3}
        - batch_norm
        - {type: leaky_relu, alpha: 0.1}
        - {type: avg_pool2d, size: 2}
        - {type: max_pool2d, size: 1}
        - {type: dropout, rate: 0.1}
        - flatten
        - {type: dense, units: 10}
        - layer_norm
        - softmax
      train: {epochs: 1}

      """
    let run = try LessonRun(try Lesson.parse(text, path: "every.yaml"))
    let file = try ModelFile.decode(ModelFile(run: run).value)
    #expect(file.mismatch(with: run) == nil)
    // The lesson's network with one option of one layer changed: the file differs there first.
    var checked: [String] = []
    for (i, layer) in run.model.layers.enumerated() {
      for (key, value) in layer.options {
        let other: Value
        switch value {
        case .number(let x): other = .number(x == 1 ? 2 : x / 2)
        case .bool(let b): other = .bool(!b)
        case .list(let items): other = .list(items.map { $0 == .number(1) ? .number(2) : .number(1) })
        case .string(let s): other = .string(s == "valid" ? "same" : s == "glorot" ? "he" : "glorot")
        default: Issue.record("\(key): \(value)"); continue
        }
        let layers = try run.model.layers.enumerated().map { j, l in
          let options = j == i ? l.options.map { ($0.key, $0.key == key ? other : $0.value) } : l.options
          let made = try layerKinds[l.kind]!.init(options: LayerOptions(kind: l.kind, index: j + 1, values: options))
          made.name = l.name
          return made
        }
        var rng = SeededGenerator(seed: 1)
        let lesson = try Sequential(layers).build(inputShape: run.model.inputShape, rng: &rng)
        let why = file.mismatch(model: lesson, loss: run.loss, optimizer: run.optimizer, preprocess: run.preprocess, classes: nil)
        #expect(why == "layer \(i + 1) (\(layer.name)) has \(key) \(Self.shown(value)), the lesson says \(Self.shown(other))",
                "\(layer.name).\(key): \(why ?? "matched")")
        checked.append("\(layer.kind).\(key)")
      }
    }
    // conv2d: filters, kernel, stride, padding, init, use_bias; batch_norm: momentum, epsilon;
    // leaky_relu: alpha; the poolings: size, stride; dropout: rate; dense: units, init, use_bias;
    // layer_norm: epsilon.
    #expect(checked.count == 18, "\(checked)")
  }

  /// An option's value as the error line writes it.
  static func shown(_ v: Value) -> String {
    switch v {
    case .number(let x): Value.jsonNumber(x)
    case .string(let s): "'\(s)'"
    case .bool(let b): "\(b)"
    case .list(let items): "[" + items.map(shown).joined(separator: ", ") + "]"
    default: "?"
    }
  }
}
