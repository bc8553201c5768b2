import Foundation

/// A trained model as JSON: architecture, weights, optimizer state and the lesson it came from.
///
/// Layout (documented in README): `format`, `version`, `lesson` {name, path, seed, source,
/// fingerprint, sheetnet},
/// `input_shape`, `loss`, `optimizer` {type, step, options}, `preprocess`, `classes`, and
/// `layers`, each {type, name, options, parameters: {W: {shape, trainable, values, state}}}.
/// Numbers are written in shortest round-trip form, so load(save(m)) is bit-exact; a seed above
/// 2⁵³ (which a Double cannot hold exactly) is written as its digits in quotes.
public struct ModelFile {
  /// The network with its weights.
  public var model: Sequential
  /// The loss it was trained with.
  public var loss: any Loss
  /// The optimizer with its state (velocities, moments, step count).
  public var optimizer: any Optimizer
  /// The input scaling fitted on the training split.
  public var preprocess: Preprocess
  /// The lesson it came from (name, path, seed, full text). `lessonPath` is relative to the
  /// model file's folder when the run knew where it was saved (`init(run:savedIn:)`), so a model
  /// evaluated from any folder finds its lesson and the lesson's data; see `lessonFile(modelPath:)`.
  public var lessonName: String, lessonPath: String, lessonSource: String, seed: UInt64
  /// Class names, index = label.
  public var classes: [String]
  /// What the run was made from (`LessonRun.fingerprint`): nil in a file written before it was
  /// recorded, which is then never reused.
  public var fingerprint: String? = nil
  /// The SheetNet version that wrote the file (`SheetNetVersion.current`).
  public var writtenBy: String? = nil

  /// A model file for a finished lesson run, to be saved in `folder`: the lesson's path is
  /// recorded relative to it (as given when `folder` is nil).
  public init(run: LessonRun, savedIn folder: String? = nil) {
    model = run.model
    loss = run.loss
    optimizer = run.optimizer
    preprocess = run.preprocess
    lessonName = run.lesson.name
    lessonPath = folder.map { run.lesson.path.isEmpty ? "" : Project.relativePath(run.lesson.path, from: $0) } ?? run.lesson.path
    lessonSource = run.lesson.source
    seed = run.seed
    classes = run.split.train.classNames
    fingerprint = run.fingerprint
    writtenBy = SheetNetVersion.current
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
    let seedValue: Value = seed <= 1 << 53 ? .number(Double(seed)) : .string(String(seed))
    var lessonPairs: [(key: String, value: Value)] = [
      ("name", .string(lessonName)), ("path", .string(lessonPath)), ("seed", seedValue), ("source", .string(lessonSource)),
    ]
    if let fingerprint { lessonPairs.append(("fingerprint", .string(fingerprint))) }
    if let writtenBy { lessonPairs.append(("sheetnet", .string(writtenBy))) }
    return .map([
      ("format", .string("sheetnet-model")), ("version", .number(1)),
      ("lesson", .map(lessonPairs)),
      ("input_shape", .list(model.inputShape.map { .number(Double($0)) })),
      ("loss", .string(loss.kind)),
      ("optimizer", .map([("type", .string(optimizer.kind)), ("step", .number(Double(optimizer.stepCount))), ("options", .map(optimizer.options))])),
      ("preprocess", pre),
      ("classes", .list(classes.map { .string($0) })),
      ("layers", .list(layers)),
    ])
  }

  /// The file's text: the JSON document and a final newline.
  public var text: String { value.json() + "\n" }

  /// Writes the model atomically.
  public func save(to path: String) throws(SheetNetError) {
    try AtomicFile.write(text, to: path)
  }

  /// The model-file version this code writes and reads.
  public static let formatVersion = 1

  /// Where the lesson of the model file at `modelPath` lies: `lessonPath` taken from the model
  /// file's folder (or as written, for a file saved before paths were relative to it).
  public func lessonFile(modelPath: String) -> String {
    guard !lessonPath.isEmpty, !lessonPath.hasPrefix("/") else { return lessonPath }
    let beside = ((modelPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent(lessonPath)
    return FileManager.default.fileExists(atPath: beside) || !FileManager.default.fileExists(atPath: lessonPath) ? beside : lessonPath
  }

  /// Reads a model file written by `save`, checking all of it first (see `decode`); errors name
  /// the file.
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

  /// Rebuilds a model from its JSON document, after checking the whole of it: the format and
  /// version, every key, the loss, the optimizer and its settings, the preprocessing, each
  /// layer's type and options (through the same constructors lessons use), and every parameter:
  /// finite values, a shape of whole numbers ≥ 1 that holds as many values as it lists (at most
  /// `Limits.parameters` in all) and that the layer builds from its options and input.
  /// Errors name the layer and parameter ("layer 2 (dense2) parameter W has shape 3×4 but 11 values").
  public static func decode(_ doc: Value) throws(SheetNetError) -> ModelFile {
    guard case .map = doc, doc["format"]?.string == "sheetnet-model" else {
      throw .model("not a SheetNet model file (no \"format\": \"sheetnet-model\")")
    }
    guard let version = doc["version"] else {
      throw .model("the model file has no \"version\"; it was not written by `sheetnet train` — train the lesson again")
    }
    guard version.number == Double(formatVersion) else {
      throw .model("the model file is version \(Self.describe(version)), but this SheetNet reads version \(formatVersion); use the SheetNet that wrote it, or train the lesson again")
    }

    try Self.keys(of: doc, "the model file", allowed: ["format", "version", "lesson", "input_shape", "loss", "optimizer", "preprocess", "classes", "layers"])
    // Input, loss, optimizer, preprocessing, classes, lesson: checked before anything is built.
    let inputShape = try Self.shape(doc["input_shape"], "input_shape", limit: Limits.activationsPerSample, unit: "numbers per sample")
    let inputCount = inputShape.reduce(1, *)
    guard let lossKind = try Self.text(doc["loss"], "loss") else { throw .model("the model file has no \"loss\"") }
    guard let loss = lossKinds[lossKind] else {
      throw .model("unknown loss '\(lossKind)'\(didYouMean(lossKind, in: Array(lossKinds.keys)))  (valid: \(lossKinds.keys.sorted().joined(separator: ", ")))")
    }
    guard let opt = doc["optimizer"] else { throw .model("the model file has no \"optimizer\"") }
    try Self.keys(of: opt, "\"optimizer\"", allowed: ["type", "step", "options"])
    let optKind = try Self.text(opt["type"], "optimizer type") ?? ""
    guard let optKeys = optimizerKeys[optKind] else {
      throw .model("unknown optimizer '\(optKind)'\(didYouMean(optKind, in: Array(optimizerKeys.keys)))  (valid: \(optimizerKeys.keys.sorted().joined(separator: ", ")))")
    }
    var optOptions: [(key: String, value: Value)] = []
    if let o = opt["options"] {
      try Self.keys(of: o, "the optimizer's \"options\"", allowed: optKeys)
      if case .map(let pairs) = o { optOptions = pairs }
    }
    let step = try Self.whole(opt["step"], "the optimizer's \"step\"", max: 1 << 53) ?? 0
    let pre = try Self.preprocess(doc["preprocess"], features: inputCount)
    var classes: [String] = []
    if let c = doc["classes"] {
      guard let list = c.list else { throw .model("\"classes\" must be a list of class names, got \(Self.describe(c))") }
      guard list.count <= Limits.classes else {
        throw .model("\"classes\" names \(Limits.grouped(list.count)) classes, more than the \(Limits.grouped(Limits.classes)) SheetNet handles")
      }
      for (k, item) in list.enumerated() {
        guard let name = item.string else { throw .model("\"classes\" item \(k + 1) must be a name in quotes, got \(Self.describe(item))") }
        classes.append(name)
      }
    }
    var lessonName = "model", lessonPath = "", lessonSource = "", seed: UInt64 = 0
    var fingerprint: String? = nil, writtenBy: String? = nil
    if let l = doc["lesson"] {
      try Self.keys(of: l, "\"lesson\"", allowed: ["name", "path", "seed", "source", "fingerprint", "sheetnet"])
      fingerprint = try Self.text(l["fingerprint"], "the lesson's \"fingerprint\"")
      writtenBy = try Self.text(l["sheetnet"], "the lesson's \"sheetnet\" version")
      lessonName = try Self.text(l["name"], "the lesson's \"name\"") ?? lessonName
      if let problem = Names.problem(lessonName) { throw .model("the lesson's \"name\" \(Names.quoted(lessonName)) \(problem); \(Names.rule)") }
      lessonPath = try Self.text(l["path"], "the lesson's \"path\"") ?? ""
      lessonSource = try Self.text(l["source"], "the lesson's \"source\"") ?? ""
      seed = try Self.seed(l["seed"])
    }
    let optimizer: any Optimizer
    do {
      optimizer = try OptimizerConfiguration(kind: optKind, options: optOptions, location: "\"optimizer\"").make()
    } catch {
      throw .model(error.description)
    }
    optimizer.stepCount = step

    // Layers: types, names, options and the parameters as stored, all checked before building.
    guard let layerValue = doc["layers"] else { throw .model("the model file has no \"layers\"") }
    guard let layerList = layerValue.list, !layerList.isEmpty else {
      throw .model("\"layers\" must be a list of at least one layer, got \(Self.describe(layerValue))")
    }
    let stateKeys = optKind == Adam.kind ? ["m", "s"] : ["v"]
    var layers: [any Layer] = []
    var stored: [[(name: String, value: Tensor, trainable: Bool, state: [String: Tensor])]] = []
    var total = 0
    var layerNames: [String: Int] = [:]
    for (i, entry) in layerList.enumerated() {
      guard case .map = entry else { throw .model("layer \(i + 1) must be a map with \"type\", \"name\", \"options\" and \"parameters\", got \(Self.describe(entry))") }
      try Self.keys(of: entry, "layer \(i + 1)", allowed: ["type", "name", "options", "parameters"])
      let kind = try Self.text(entry["type"], "layer \(i + 1)'s \"type\"") ?? ""
      guard let type = layerKinds[kind] else {
        throw .model("layer \(i + 1) has unknown type '\(kind)'\(didYouMean(kind, in: Array(layerKinds.keys)))  (valid: \(layerKinds.keys.sorted().joined(separator: ", ")))")
      }
      let name = try Self.text(entry["name"], "layer \(i + 1)'s \"name\"")
      if let name {
        // Names become file and sheet names: the lesson's rule, and each its own (ignoring case).
        if let problem = Names.problem(name) { throw .model("layer \(i + 1) (\(kind)): name \(Names.quoted(name)) \(problem); \(Names.rule)") }
        if let earlier = layerNames.updateValue(i + 1, forKey: name.lowercased()) {
          throw .model("layer \(i + 1) (\(kind)): name \(Names.quoted(name)) is also the name of layer \(earlier); the file is damaged, train the lesson again")
        }
      }
      let label = "layer \(i + 1) (\(name ?? kind))"
      var options: [(key: String, value: Value)] = []
      if let o = entry["options"] {
        try Self.keys(of: o, "\(label)'s \"options\"", allowed: type.keys, none: "\(kind) takes no options")
        if case .map(let pairs) = o { options = pairs }
      }
      let layer: any Layer
      do { layer = try type.init(options: LayerOptions(kind: kind, index: i + 1, values: options)) } catch {
        throw .model(error.description)  // names the layer: "layer 2 (dense): 'units' must be …"
      }
      if let name { layer.name = name }
      layers.append(layer)
      var params: [(name: String, value: Tensor, trainable: Bool, state: [String: Tensor])] = []
      if let p = entry["parameters"] {
        guard case .map(let pairs) = p else { throw .model("\(label)'s \"parameters\" must be a map, got \(Self.describe(p))") }
        for (key, value) in pairs {
          let what = "\(label) parameter \(key)"
          guard case .map = value else { throw .model("\(what) must be a map with \"shape\" and \"values\", got \(Self.describe(value))") }
          try Self.keys(of: value, what, allowed: ["shape", "trainable", "values", "state"])
          let tensor = try Self.tensor(value, what)
          total += tensor.count
          guard total <= Limits.parameters else {
            throw .model("\(what) brings the parameters to more than the \(Limits.grouped(Limits.parameters)) a network may hold; the file is damaged")
          }
          var trainable = true
          if let t = value["trainable"] {
            guard case .bool(let b) = t else { throw .model("\(what) \"trainable\" must be true or false, got \(Self.describe(t))") }
            trainable = b
          }
          var state: [String: Tensor] = [:]
          if let s = value["state"] {
            try Self.keys(of: s, "\(what) \"state\"", allowed: stateKeys, none: "")
            if case .map(let states) = s {
              for (sk, sv) in states {
                let st = try Self.tensor(sv, "\(what) state \(sk)")
                guard st.shape == tensor.shape else {
                  throw .model("\(what) state \(sk) has shape \(shapeText(st.shape)) but the parameter has \(shapeText(tensor.shape)); they must match")
                }
                state[sk] = st
              }
            }
          }
          params.append((key, tensor, trainable, state))
        }
      }
      stored.append(params)
    }

    // Build (each layer checks its input and its size), then every parameter against what was built.
    var rng = SeededGenerator(seed: 0)
    let model = Sequential(layers)
    try model.build(inputShape: inputShape, rng: &rng)
    for (i, layer) in model.layers.enumerated() {
      let label = "layer \(i + 1) (\(layer.name))"
      let names = layer.parameters.map(\.name)
      for s in stored[i] where !names.contains(s.name) {
        let has = names.isEmpty ? "it has none" : "it has \(names.joined(separator: ", "))"
        throw .model("\(label) has no parameter \(s.name) (\(has)); the file does not match its architecture")
      }
      for p in layer.parameters {
        guard let s = stored[i].first(where: { $0.name == p.name }) else {
          throw .model("\(label) parameter \(p.name) is missing; a \(layer.kind) layer with these options needs it")
        }
        guard s.value.shape == p.value.shape else {
          let input = i == 0 ? inputShape : model.shapes[i - 1]
          throw .model("\(label) parameter \(p.name) has shape \(shapeText(s.value.shape)) but the layer builds \(shapeText(p.value.shape)) from its options and its input \(shapeText(input))")
        }
        p.value = s.value
        p.trainable = s.trainable
        p.state = s.state
      }
    }
    var file = ModelFile(model: model, loss: loss, optimizer: optimizer, preprocess: pre, lessonName: lessonName,
                         lessonPath: lessonPath, lessonSource: lessonSource, seed: seed, classes: classes)
    file.fingerprint = fingerprint
    file.writtenBy = writtenBy
    return file
  }

  /// Refuses keys of a map other than `allowed` (and anything that is not a map).
  private static func keys(of v: Value, _ what: String, allowed: [String], none: String? = nil) throws(SheetNetError) {
    guard case .map(let pairs) = v else { throw .model("\(what) must be a map, got \(describe(v))") }
    for (key, _) in pairs where !allowed.contains(key) {
      let hint = allowed.isEmpty ? (none.map { $0.isEmpty ? "" : "; \($0)" } ?? "") : didYouMean(key, in: allowed) + "  (valid: \(allowed.joined(separator: ", ")))"
      throw .model("\(what) has an unknown key '\(key.prefix(40))'\(hint)")
    }
  }

  /// Text, nil when absent; anything else is refused.
  private static func text(_ v: Value?, _ what: String) throws(SheetNetError) -> String? {
    guard let v else { return nil }
    guard let s = v.string else { throw .model("\(what) must be text in quotes, got \(describe(v))") }
    return s
  }

  /// A whole number 0 … `max`, nil when absent.
  private static func whole(_ v: Value?, _ what: String, max: Int) throws(SheetNetError) -> Int? {
    guard let v else { return nil }
    guard let x = v.number, x >= 0, x == x.rounded(), x <= Double(max) else {
      throw .model("\(what) must be a whole number from 0 to \(Limits.grouped(max)), got \(describe(v))")
    }
    return Int(x)
  }

  /// The seed: a whole number (exact up to 2⁵³) or, for larger seeds, its digits in quotes.
  private static func seed(_ v: Value?) throws(SheetNetError) -> UInt64 {
    guard let v else { return 0 }
    if let s = v.string, let n = UInt64(s) { return n }
    guard let x = v.number, x >= 0, x == x.rounded(), x < 18_446_744_073_709_551_616.0 else {
      throw .model("the lesson's \"seed\" must be a whole number from 0 to 18446744073709551615, got \(describe(v))")
    }
    return UInt64(x)
  }

  /// A shape: a non-empty list of whole numbers ≥ 1 whose product is at most `limit`.
  private static func shape(_ v: Value?, _ what: String, limit: Int, unit noun: String) throws(SheetNetError) -> [Int] {
    guard let v else { throw .model("\(what) is missing") }
    guard let list = v.list, !list.isEmpty else { throw .model("\(what) must be a list of sizes such as [3, 4], got \(describe(v))") }
    var dims: [Double] = []
    for item in list {
      guard let x = item.number, x >= 1, x == x.rounded() else {
        throw .model("\(what) must hold whole numbers ≥ 1, got \(describe(item))")
      }
      dims.append(x)
    }
    let product = dims.reduce(1, *)
    guard product <= Double(limit) else {
      let text = dims.map { $0 < 1e15 ? String(Int64($0)) : "\($0)" }.joined(separator: "×")
      let count = product < 1e18 ? Limits.grouped(Int(product)) : "\(product)"
      throw .model("\(what) is \(text) = \(count) \(noun), more than the \(Limits.grouped(limit)) SheetNet accepts; the file is damaged")
    }
    return dims.map { Int($0) }
  }

  /// A stored tensor {shape, values}: a bounded shape and as many finite values as it lists.
  private static func tensor(_ v: Value, _ what: String) throws(SheetNetError) -> Tensor {
    guard case .map = v else { throw .model("\(what) must be a map with \"shape\" and \"values\", got \(describe(v))") }
    let shape = try shape(v["shape"], "\(what) shape", limit: Limits.parameters, unit: "values")
    guard let values = v["values"]?.list else { throw .model("\(what) has no \"values\" list") }
    let count = shape.reduce(1, *)
    guard values.count == count else { throw .model("\(what) has shape \(shapeText(shape)) but \(values.count) values") }
    var data: [Double] = []
    data.reserveCapacity(count)
    for (k, item) in values.enumerated() {
      guard let x = item.number, x.isFinite else {
        throw .model("\(what) value \(k + 1) is \(describe(item)), not a finite number; a model saved from a diverged run cannot be used — train again")
      }
      data.append(x)
    }
    return Tensor(shape: shape, data: data)
  }

  /// The preprocessing: none, divide by a finite non-zero number, or standardize with one finite
  /// mean and one finite σ ≥ 0 per input feature.
  private static func preprocess(_ v: Value?, features: Int) throws(SheetNetError) -> Preprocess {
    guard let v else { return .none }
    guard case .map = v else { throw .model("\"preprocess\" must be a map with \"type\", got \(describe(v))") }
    let type = try text(v["type"], "the preprocess \"type\"") ?? "none"
    switch type {
    case "none":
      try keys(of: v, "\"preprocess\"", allowed: ["type"])
      return .none
    case "divide":
      try keys(of: v, "\"preprocess\"", allowed: ["type", "by"])
      guard let by = v["by"]?.number, by.isFinite, by != 0 else {
        throw .model("the preprocess \"by\" must be a finite number other than 0, got \(v["by"].map(describe) ?? "nothing")")
      }
      return .divide(by)
    case "standardize":
      try keys(of: v, "\"preprocess\"", allowed: ["type", "mean", "std"])
      func numbers(_ key: String) throws(SheetNetError) -> [Double] {
        guard let list = v[key]?.list else { throw .model("the preprocess \"\(key)\" must be a list of \(features) numbers") }
        guard list.count == features else {
          throw .model("the preprocess \"\(key)\" has \(list.count) numbers but the input has \(features) features")
        }
        var out: [Double] = []
        for (k, item) in list.enumerated() {
          guard let x = item.number, x.isFinite, key != "std" || x >= 0 else {
            throw .model("the preprocess \"\(key)\" item \(k + 1) is \(describe(item)); it must be a finite number\(key == "std" ? " ≥ 0" : "")")
          }
          out.append(x)
        }
        return out
      }
      return .standardize(mean: try numbers("mean"), std: try numbers("std"))
    default:
      let kinds = ["none", "divide", "standardize"]
      throw .model("unknown preprocess type '\(type)'\(didYouMean(type, in: kinds))  (valid: \(kinds.joined(separator: ", ")))")
    }
  }

  /// A value as a message shows it: 99, 'text', a list.
  private static func describe(_ v: Value) -> String { v.described }

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
