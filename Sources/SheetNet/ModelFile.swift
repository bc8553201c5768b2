import Foundation

/// A trained model as JSON: architecture, weights, optimizer state and the lesson it came from.
///
/// Layout (documented in README): `format`, `version`, `lesson` {name, path, seed, source},
/// `input_shape`, `loss`, `optimizer` {type, step, options}, `preprocess`, `classes`, and
/// `layers`, each {type, name, options, parameters: {W: {shape, trainable, values, state}}}.
/// Numbers are written in shortest round-trip form, so load(save(m)) is bit-exact.
public struct ModelFile {
  /// The network with its weights.
  public var model: Sequential
  /// The loss it was trained with.
  public var loss: any Loss
  /// The optimizer with its state (velocities, moments, step count).
  public var optimizer: any Optimizer
  /// The input scaling fitted on the training split.
  public var preprocess: Preprocess
  /// The lesson it came from (name, path, seed, full text).
  public var lessonName: String, lessonPath: String, lessonSource: String, seed: UInt64
  /// Class names, index = label.
  public var classes: [String]

  /// A model file for a finished lesson run.
  public init(run: LessonRun) {
    model = run.model
    loss = run.loss
    optimizer = run.optimizer
    preprocess = run.preprocess
    lessonName = run.lesson.name
    lessonPath = run.lesson.path
    lessonSource = run.lesson.source
    seed = run.seed
    classes = run.split.train.classNames
  }

  static func tensor(_ t: Tensor) -> Value {
    .map([("shape", .list(t.shape.map { .number(Double($0)) })), ("values", .list(t.data.map { .number($0) }))])
  }

  /// The JSON document.
  public var value: Value {
    var layers: [Value] = []
    for layer in model.layers {
      var params: [(key: String, value: Value)] = []
      for p in layer.parameters {
        var entry = Self.tensor(p.value)
        if case .map(var pairs) = entry {
          pairs.insert(("trainable", .bool(p.trainable)), at: 1)
          if !p.state.isEmpty {
            pairs.append(("state", .map(p.state.keys.sorted().map { ($0, Self.tensor(p.state[$0]!)) })))
          }
          entry = .map(pairs)
        }
        params.append((p.name, entry))
      }
      layers.append(.map([("type", .string(layer.kind)), ("name", .string(layer.name)), ("options", .map(layer.options)),
                          ("parameters", .map(params))]))
    }
    let pre: Value
    switch preprocess {
    case .none: pre = .map([("type", .string("none"))])
    case .divide(let d): pre = .map([("type", .string("divide")), ("by", .number(d))])
    case .standardize(let m, let s):
      pre = .map([("type", .string("standardize")), ("mean", .list(m.map { .number($0) })), ("std", .list(s.map { .number($0) }))])
    }
    return .map([
      ("format", .string("sheetnet-model")), ("version", .number(1)),
      ("lesson", .map([("name", .string(lessonName)), ("path", .string(lessonPath)), ("seed", .number(Double(seed))), ("source", .string(lessonSource))])),
      ("input_shape", .list(model.inputShape.map { .number(Double($0)) })),
      ("loss", .string(loss.kind)),
      ("optimizer", .map([("type", .string(optimizer.kind)), ("step", .number(Double(optimizer.stepCount))), ("options", .map(optimizer.options))])),
      ("preprocess", pre),
      ("classes", .list(classes.map { .string($0) })),
      ("layers", .list(layers)),
    ])
  }

  /// Writes the model atomically.
  public func save(to path: String) throws(SheetNetError) {
    try AtomicFile.write(value.json() + "\n", to: path)
  }

  /// Reads a model file written by `save`.
  public static func load(_ path: String) throws(SheetNetError) -> ModelFile {
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .model("\(path): no such model file; train a lesson first (sheetnet train Worksheets/…), which writes Output/<lesson>/model.json")
    }
    do {
      return try decode(Value.parseJSON(String(decoding: data, as: UTF8.self)))
    } catch {
      throw .model("\(path): \(error.description)")
    }
  }

  /// Rebuilds a model from its JSON document.
  public static func decode(_ doc: Value) throws(SheetNetError) -> ModelFile {
    guard doc["format"]?.string == "sheetnet-model" else { throw .model("not a SheetNet model file (no \"format\": \"sheetnet-model\")") }
    func need(_ v: Value?, _ what: String) throws(SheetNetError) -> Value {
      guard let v else { throw .model("missing \(what)") }
      return v
    }
    func ints(_ v: Value?, _ what: String) throws(SheetNetError) -> [Int] {
      guard let list = v?.list else { throw .model("missing \(what)") }
      var out: [Int] = []
      for item in list {
        guard let x = item.number, x >= 0, x == x.rounded(), x < 1e9 else { throw .model("\(what) must hold whole numbers") }
        out.append(Int(x))
      }
      return out
    }
    func tensor(_ v: Value?, _ what: String) throws(SheetNetError) -> Tensor {
      let shape = try ints(v?["shape"], "\(what).shape")
      guard let values = v?["values"]?.list else { throw .model("missing \(what).values") }
      var data: [Double] = []
      data.reserveCapacity(values.count)
      for item in values {
        guard let x = item.number else { throw .model("\(what).values must hold numbers") }
        data.append(x)
      }
      guard shape.reduce(1, *) == data.count else { throw .model("\(what) has shape \(shapeText(shape)) but \(data.count) values") }
      return Tensor(shape: shape, data: data)
    }
    let inputShape = try ints(doc["input_shape"], "input_shape")
    guard let layerList = doc["layers"]?.list else { throw .model("missing layers") }
    var layers: [any Layer] = []
    for (i, entry) in layerList.enumerated() {
      let kind = try need(entry["type"], "layers[\(i)].type").string ?? ""
      guard let type = layerKinds[kind] else { throw .model("layer \(i + 1) has unknown type '\(kind)'") }
      var options: [(key: String, value: Value)] = []
      if case .map(let pairs)? = entry["options"] { options = pairs }
      let layer = try type.init(options: LayerOptions(kind: kind, index: i + 1, values: options))
      if let name = entry["name"]?.string { layer.name = name }
      layers.append(layer)
    }
    var rng = SeededGenerator(seed: 0)
    let model = Sequential(layers)
    try model.build(inputShape: inputShape, rng: &rng)
    for (i, layer) in model.layers.enumerated() {
      let params = layerList[i]["parameters"]
      for p in layer.parameters {
        let what = "\(layer.name).\(p.name)"
        let stored = try need(params?[p.name], what)
        let value = try tensor(stored, what)
        guard value.shape == p.value.shape else {
          throw .model("\(what) is \(shapeText(value.shape)) in the file but the architecture needs \(shapeText(p.value.shape))")
        }
        p.value = value
        if case .bool(let t)? = stored["trainable"] { p.trainable = t }
        if case .map(let states)? = stored["state"] {
          for (key, s) in states { p.state[key] = try tensor(s, "\(what).state.\(key)") }
        }
      }
    }
    let lossKind = doc["loss"]?.string ?? ""
    guard let loss = lossKinds[lossKind] else { throw .model("unknown loss '\(lossKind)'") }
    let opt = try need(doc["optimizer"], "optimizer")
    var optOptions: [(key: String, value: Value)] = []
    if case .map(let pairs)? = opt["options"] { optOptions = pairs }
    var lesson = Lesson(name: "model", path: "", source: "", title: "", seed: 0, data: .init(dataset: "inline"), layers: [], loss: lossKind,
                        optimizer: (opt["type"]?.string ?? "sgd", optOptions), epochs: 0, batchSize: 1, output: nil)
    guard optimizerKeys[lesson.optimizer.kind] != nil else { throw .model("unknown optimizer '\(lesson.optimizer.kind)'") }
    let optimizer = try lesson.makeOptimizer()
    optimizer.stepCount = Int(opt["step"]?.number ?? 0)
    let pre: Preprocess
    switch doc["preprocess"]?["type"]?.string ?? "none" {
    case "divide": pre = .divide(doc["preprocess"]?["by"]?.number ?? 1)
    case "standardize":
      pre = .standardize(mean: (doc["preprocess"]?["mean"]?.list ?? []).compactMap(\.number), std: (doc["preprocess"]?["std"]?.list ?? []).compactMap(\.number))
    default: pre = .none
    }
    let l = doc["lesson"]
    lesson.name = l?["name"]?.string ?? "model"
    return ModelFile(model: model, loss: loss, optimizer: optimizer, preprocess: pre, lessonName: lesson.name,
                     lessonPath: l?["path"]?.string ?? "", lessonSource: l?["source"]?.string ?? "",
                     seed: UInt64(l?["seed"]?.number ?? 0), classes: (doc["classes"]?.list ?? []).compactMap(\.string))
  }

  /// A model file from its parts.
  public init(model: Sequential, loss: any Loss, optimizer: any Optimizer, preprocess: Preprocess, lessonName: String,
              lessonPath: String, lessonSource: String, seed: UInt64, classes: [String]) {
    self.model = model
    self.loss = loss
    self.optimizer = optimizer
    self.preprocess = preprocess
    self.lessonName = lessonName
    self.lessonPath = lessonPath
    self.lessonSource = lessonSource
    self.seed = seed
    self.classes = classes
  }
}
