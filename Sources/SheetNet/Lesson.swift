import Foundation
import Yams

/// A lesson file: data and split, network, loss, optimizer, training, seed and output folder.
///
/// Read from YAML; every key is documented in README. Errors name the file and line and suggest
/// the nearest valid key.
public struct Lesson: Sendable {
  /// The lesson's name (defaults to the file name without `.yaml`): `Output/<name>/`.
  public var name: String
  /// The file it was read from ("" for lessons built in code).
  public var path: String
  /// The YAML text itself (kept in model files).
  public var source: String
  /// One-line description.
  public var title: String
  /// The seed for the split, initial weights, shuffles and dropout.
  public var seed: UInt64
  /// Where the data comes from.
  public var data: DataSpec
  /// The layers in order.
  public var layers: [LayerOptions]
  /// The loss kind.
  public var loss: String
  /// Optimizer kind and hyper-parameters.
  /// The optimizer's hyper-parameters, checked when the lesson is read (plain SGD, η = 0.01, when
  /// the lesson names none).
  public var optimizer: OptimizerConfiguration
  /// Passes over the training data.
  public var epochs: Int
  /// Samples per step.
  public var batchSize: Int
  /// The output folder (default `Output/<name>` beside the project's Worksheets/), relative to the lesson file.
  public var output: String?
  /// What `sheetnet build` makes of the lesson (its `build:` section; defaults without one).
  public var build = BuildSpec()
  /// The optimizers the `optimizers` figure compares (`compare:`); empty: SGD, momentum and Adam.
  public var compare: [OptimizerConfiguration] = []
  /// What draws `dataset: letters` (see `Letters`): the registered renderer when the lesson was
  /// read; nil when none is, which a letters lesson reports when it loads its data.
  public var glyphRenderer: (any GlyphRenderer)? = nil

  /// What a lesson may say about its data.
  public struct DataSpec: Sendable {
    /// `digits`, `iris`, a generated set (`xor`, `circle`, `gauss`, `spiral`, `moons`), `csv`,
    /// `inline`, or `none` (a network described for `summary` only; `shape` gives the input).
    public var dataset: String
    /// CSV path, relative to the lesson file.
    public var file: String?
    /// IDX (MNIST-format) image and label files, relative to the lesson file, and how many to read.
    public var images: String?, labelsFile: String?, limit: Int?
    /// The CSV column holding the class, counted from 0; −1 (the default) is the last.
    public var labelColumn: Int = -1
    /// Whether the CSV's first line is a header; nil detects it (a field that is not a number).
    public var header: Bool? = nil
    /// Generated sets: number of points, noise 0…1, number of classes.
    public var count = 200, noise = 0.0, classes = 2
    /// `dataset: letters`: the images' side in pixels.
    public var size = 20
    /// `dataset: sequences`: the task (reverse, sort, copy), the symbols per sample (L) and how
    /// many distinct symbols; `dataset: text`: the window's length, the step between windows
    /// (default: the context), the text inline instead of a `file`. `count` given or not.
    public var task = "reverse", length = 4, vocabulary = 10, context = 32
    public var stride: Int?, text: String?, countGiven = false
    /// True for the datasets of token sequences (`sequences`, `text`).
    public var isTokens: Bool { dataset == "sequences" || dataset == "text" }
    /// Inline inputs and targets or labels.
    public var x: Tensor?, y: Tensor?, labels: [Int]?
    /// Shape of one sample, e.g. [1, 8, 8]; default flat.
    public var shape: [Int]?
    /// `none`, `standardize`, or divide by a number.
    public var preprocess: String = "none"
    /// N of `preprocess: {divide: N}`: x ← x / N.
    public var divisor: Double = 1
    /// Fractions held out.
    /// The fractions held out for validation and test (0 each: train on everything).
    public var validation = 0.0, test = 0.0
  }

  static let topKeys = ["name", "title", "seed", "data", "network", "loss", "optimizer", "train", "output", "compare", "build"]
  static let dataKeys = ["dataset", "file", "label_column", "header", "count", "noise", "classes", "x", "y", "labels", "shape", "preprocess", "split", "images", "label_file", "limit", "size",
                         "task", "length", "vocabulary", "context", "stride", "text"]
  static let datasets = Builtin.real + Generated.kinds + [Letters.kind, "sequences", "text", "csv", "idx", "inline", "none"]
  /// The most tokens (samples × positions) a sequence or text dataset may hold.
  static let maxTokens = 10_000_000

  /// `file` as the lesson wrote it, refused unless it resolves (symbolic links followed) inside
  /// the lesson's folder, the folder above it (the project, for lessons in Worksheets/) or the
  /// current folder: a shared lesson cannot read elsewhere, and the message never shows a
  /// foreign file's content. Returns the path unchanged.
  func confined(_ file: String, _ location: String, what: String) throws(SheetNetError) -> String {
    let lessonFolder = URL(fileURLWithPath: path.isEmpty ? "./lesson.yaml" : path).deletingLastPathComponent()
    let target = Project.resolvingLinks(URL(fileURLWithPath: file, relativeTo: lessonFolder).standardizedFileURL.path)
    let roots = [lessonFolder, lessonFolder.deletingLastPathComponent(), URL(fileURLWithPath: FileManager.default.currentDirectoryPath)]
      .map { Project.resolvingLinks($0.standardizedFileURL.path) }
    guard roots.contains(where: { target == $0 || Project.isInside(target, $0) }) else {
      throw .lesson("\(location): the \(what) '\(file)' lies outside the lesson's project and the current folder; move it inside")
    }
    return file
  }

  /// Reads a lesson file.
  public static func load(_ path: String) throws(SheetNetError) -> Lesson {
    guard FileManager.default.fileExists(atPath: path) else {
      throw .lesson("\(path): no such lesson file; lessons live in Worksheets/, e.g. Worksheets/xor.yaml")
    }
    guard let text = try? String(contentsOfFile: path, encoding: .utf8) else {
      throw .lesson("\(path): cannot read it as UTF-8 text")
    }
    return try parse(text, path: path)
  }

  /// Parses lesson YAML; `path` names it in errors and anchors relative data paths.
  public static func parse(_ text: String, path: String) throws(SheetNetError) -> Lesson {
    let root: Node
    do {
      guard let node = try Yams.compose(yaml: text) else { throw SheetNetError.lesson("\(path): the file is empty") }
      root = node
    } catch let e as SheetNetError {
      throw e
    } catch let e as YamlError {
      throw .lesson("\(path): not valid YAML: \(String(describing: e).split(separator: "\n").first ?? "")")
    } catch {
      throw .lesson("\(path): not valid YAML")
    }
    let r = Reader(path: path)
    try r.checkSize(root)
    let top = try r.map(root, "the lesson", allowed: topKeys)
    let base = ((path as NSString).lastPathComponent as NSString).deletingPathExtension
    var lesson = Lesson(
      name: try r.string(optional: top["name"], "name") ?? base, path: path, source: text,
      title: try r.string(optional: top["title"], "title") ?? "",
      seed: UInt64(try r.int(optional: top["seed"], "seed", min: 0, max: Int.max) ?? 1),
      data: DataSpec(dataset: "inline"), layers: [], loss: "cross_entropy", optimizer: OptimizerConfiguration(kind: .sgd),
      epochs: 10, batchSize: 32, output: try r.string(optional: top["output"], "output"))
    // The name names the output folder: data, never a path (`..` would be the project itself).
    if let problem = Names.problem(lesson.name) {
      let given = top["name"].map { "\(r.at($0)): name" } ?? "\(path): the lesson's name (its file name without .yaml)"
      throw .lesson("\(given) \(Names.quoted(lesson.name)) \(problem); it names the output folder, so \(Names.rule)")
    }
    guard let dataNode = top["data"] else { throw .lesson("\(path): needs a 'data' section (e.g. data: {dataset: digits})") }
    lesson.data = try parseData(dataNode, r)
    guard let network = top["network"] else { throw .lesson("\(path): needs a 'network' list of layers") }
    lesson.layers = try parseLayers(network, r)
    if let l = top["loss"] {
      let kind = try r.string(l, "loss")
      guard lossKinds[kind] != nil else {
        throw .lesson("\(r.at(l)): unknown loss '\(kind)'\(didYouMean(kind, in: Array(lossKinds.keys)))  (valid: \(lossKinds.keys.sorted().joined(separator: ", ")))")
      }
      lesson.loss = kind
    }
    if let o = top["optimizer"] {
      let (kind, options) = try parseOptimizer(o, r)
      lesson.optimizer = try OptimizerConfiguration(kind: kind, options: options, location: r.at(o))
    }
    if let t = top["train"] {
      let train = try r.map(t, "train", allowed: ["epochs", "batch_size"])
      lesson.epochs = try r.int(optional: train["epochs"], "epochs", min: 0, max: Limits.epochs) ?? 10
      lesson.batchSize = try r.int(optional: train["batch_size"], "batch_size", min: 1, max: Limits.batchSize) ?? 32
    }
    if let o = lesson.output { try lesson.checkOutput(o, r.at(top["output"]!)) }
    if let b = top["build"] { lesson.build = try BuildSpec.parse(b, r) }
    if let c = top["compare"] { lesson.compare = try parseCompare(c, r) }
    if lesson.data.dataset == Letters.kind { lesson.glyphRenderer = Letters.registered }
    return lesson
  }

  static func parseData(_ node: Node, _ r: Reader) throws(SheetNetError) -> DataSpec {
    let m = try r.map(node, "data", allowed: dataKeys)
    var d = DataSpec(dataset: "inline")
    if let ds = m["dataset"] {
      d.dataset = try r.string(ds, "dataset")
      guard datasets.contains(d.dataset) else {
        throw .lesson("\(r.at(ds)): unknown dataset '\(d.dataset)'\(didYouMean(d.dataset, in: datasets))  (valid: \(datasets.joined(separator: ", ")))")
      }
    } else if m["file"] != nil { d.dataset = "csv" }
    if let f = m["file"] { d.file = try r.string(f, "file") }
    if let f = m["images"] { d.images = try r.string(f, "images") }
    if let f = m["label_file"] { d.labelsFile = try r.string(f, "label_file") }
    if let v = m["limit"] { d.limit = try r.int(v, "limit", min: 1, max: 10_000_000) }
    if d.dataset == "idx" && (d.images == nil || d.labelsFile == nil) {
      throw .lesson("\(r.at(node)): dataset idx needs 'images' and 'label_file', e.g. images: data/train-images-idx3-ubyte.gz, label_file: data/train-labels-idx1-ubyte.gz")
    }
    if let v = m["label_column"] { d.labelColumn = try r.int(v, "label_column", min: Int.min / 2) }
    if let v = m["header"] { d.header = try r.bool(v, "header") }
    if let v = m["count"] { d.count = try r.int(v, "count", min: 4, max: 1_000_000) }
    if let v = m["noise"] { d.noise = try r.number(v, "noise", min: 0, max: 1) }
    if let v = m["classes"] { d.classes = try r.int(v, "classes", min: 2, max: 10) }
    if let v = m["x"] {
      let x = try r.matrix(v, "x")
      guard x.rank == 2, x.rows >= 1, x.columns >= 1 else { throw .lesson("\(r.at(v)): 'x' needs at least one sample of at least one number, one row per sample") }
      d.x = x
    }
    if let v = m["y"] {
      let y = try r.matrix(v, "y")
      guard y.count >= 1, y.data.allSatisfy({ abs($0) <= 1e100 }) else { throw .lesson("\(r.at(v)): 'y' needs numbers between -1e100 and 1e100, one row of targets per sample") }
      d.y = y
    }
    if let v = m["labels"] {
      let labels = try r.matrix(v, "labels").data
      for (i, l) in labels.enumerated() where !(l >= 0 && l < Double(Limits.classes) && l == l.rounded()) {
        throw .lesson("\(r.at(v)): label \(i + 1) is \(l); labels are class numbers 0, 1, 2, … (whole, at most \(Limits.classes - 1))")
      }
      d.labels = labels.map { Int($0) }
    }
    if let v = m["shape"] {
      let shape = try r.matrix(v, "shape").data
      guard (1...3).contains(shape.count), shape.allSatisfy({ $0 >= 1 && $0 <= 1e7 && $0 == $0.rounded() }) else {
        throw .lesson("\(r.at(v)): 'shape' is one sample's extents, 1 to 3 whole numbers ≥ 1 such as [1, 8, 8] (channels, height, width)")
      }
      d.shape = shape.map { Int($0) }
    }
    if let v = m["preprocess"] {
      if let s = v.string, ["none", "standardize"].contains(s) {
        d.preprocess = s
      } else if let pm = v.mapping, pm.count == 1, pm.first?.key.string == "divide", let div = pm.first?.value {
        d.preprocess = "divide"
        d.divisor = try r.number(div, "divide", min: 1e-12, max: 1e12)
      } else {
        throw .lesson("\(r.at(v)): 'preprocess' must be none, standardize or {divide: N}")
      }
    }
    if let s = m["split"] {
      let split = try r.map(s, "split", allowed: ["validation", "test"])
      d.validation = try r.number(optional: split["validation"], "validation", min: 0, max: 0.9) ?? 0
      d.test = try r.number(optional: split["test"], "test", min: 0, max: 0.9) ?? 0
      guard d.validation + d.test < 0.95 else { throw .lesson("\(r.at(s)): validation + test must leave some data to train on") }
    }
    try parseLetters(&d, m, node, r)
    try parseSequences(&d, m, node, r)
    if d.dataset == "none" && d.shape == nil { throw .lesson("\(r.at(node)): dataset none needs 'shape', the input of one sample, e.g. [3, 64, 64]") }
    if d.dataset == "csv" && d.file == nil { throw .lesson("\(r.at(node)): dataset csv needs 'file: path/to/data.csv'") }
    if d.dataset == "inline" {
      guard let x = d.x else { throw .lesson("\(r.at(node)): inline data needs 'x' (one row per sample) and 'y' or 'labels'") }
      if let y = d.y, y.rows != x.rows { throw .lesson("\(r.at(node)): 'x' has \(x.rows) rows but 'y' has \(y.rows)") }
      if let l = d.labels, l.count != x.rows { throw .lesson("\(r.at(node)): 'x' has \(x.rows) rows but 'labels' has \(l.count)") }
      if d.y == nil && d.labels == nil { throw .lesson("\(r.at(node)): inline data needs 'y' (target rows) or 'labels' (classes)") }
    }
    return d
  }

  /// The keys of `dataset: sequences` (task, length, vocabulary) and `dataset: text` (file or
  /// text, context, stride), refused on other datasets.
  static func parseSequences(_ d: inout DataSpec, _ m: [String: Node], _ node: Node, _ r: Reader) throws(SheetNetError) {
    let own: [String: [String]] = ["sequences": ["task", "length", "vocabulary"], "text": ["context", "stride", "text"]]
    for (dataset, keys) in own where d.dataset != dataset {
      if let k = keys.first(where: { m[$0] != nil }) { throw .lesson("\(r.at(m[k]!)): '\(k)' belongs to dataset \(dataset), not \(d.dataset)") }
    }
    d.countGiven = m["count"] != nil
    guard d.isTokens else { return }
    if d.dataset == "sequences" {
      guard let t = m["task"] else { throw .lesson("\(r.at(node)): dataset sequences needs 'task' (\(Sequences.tasks.joined(separator: ", ")))") }
      d.task = try r.string(t, "task")
      guard Sequences.tasks.contains(d.task) else {
        throw .lesson("\(r.at(t)): unknown task '\(d.task)'\(didYouMean(d.task, in: Sequences.tasks))  (valid: \(Sequences.tasks.joined(separator: ", ")))")
      }
      if let v = m["length"] { d.length = try r.int(v, "length", min: 1, max: 64) }
      if let v = m["vocabulary"] { d.vocabulary = try r.int(v, "vocabulary", min: 2, max: Sequences.maxSymbols) }
      if !d.countGiven { d.count = 2000 }
    } else {
      if let v = m["text"] { d.text = try r.string(v, "text") }
      guard (d.file == nil) != (d.text == nil) else { throw .lesson("\(r.at(node)): dataset text needs 'file: a UTF-8 text file' or 'text: \"…\"', one of the two") }
      if let v = m["context"] { d.context = try r.int(v, "context", min: 1, max: 512) }
      if let v = m["stride"] { d.stride = try r.int(v, "stride", min: 1, max: 1_000_000) }
    }
    let positions = d.dataset == "sequences" ? 2 * d.length - 1 : d.context
    if d.countGiven, d.count * positions > maxTokens {
      throw .lesson("\(r.at(m["count"]!)): \(d.count) samples of \(positions) tokens are more than the \(Limits.grouped(maxTokens)) tokens a lesson may hold; use fewer")
    }
    if d.preprocess != "none" { throw .lesson("\(r.at(m["preprocess"]!)): token ids are not scaled; drop 'preprocess'") }
    if d.shape != nil { throw .lesson("\(r.at(m["shape"]!)): a token sequence's shape is its length; drop 'shape'") }
  }

  static func parseLayers(_ node: Node, _ r: Reader) throws(SheetNetError) -> [LayerOptions] {
    guard case .sequence(let seq) = node, seq.count > 0 else {
      throw .lesson("\(r.at(node)): 'network' must be a list of layers, e.g. - {type: dense, units: 10}")
    }
    var layers: [LayerOptions] = []
    var named: [(layer: Int, name: String, location: String)] = []
    for (i, (item, marker)) in try flattenedResiduals(Array(seq), r).enumerated() {
      var kind: String
      var values: [(key: String, value: Value)] = []
      if let marker {
        kind = marker
      } else if let s = item.string {
        kind = s
      } else if let m = item.mapping {
        guard let t = m["type"]?.string else {
          throw .lesson("\(r.at(item)): layer \(i + 1) needs 'type' (one of \(layerKinds.keys.sorted().joined(separator: ", ")))")
        }
        kind = t
        for (k, v) in m where k.string != "type" { values.append((k.string ?? "", try r.value(v))) }
      } else {
        throw .lesson("\(r.at(item)): layer \(i + 1) must be a word (relu) or a map with 'type'")
      }
      kind = kind.lowercased()
      guard let type = layerKinds[kind] else {
        throw .lesson("\(r.at(item)): layer \(i + 1): unknown layer type '\(kind)'\(didYouMean(kind, in: Array(layerKinds.keys)))  (valid: \(layerKinds.keys.sorted().joined(separator: ", ")))")
      }
      for (k, _) in values where !type.keys.contains(k) && k != "name" {
        let hint = type.keys.isEmpty ? "; \(kind) takes no options" : didYouMean(k, in: type.keys) + "  (valid: \(type.keys.joined(separator: ", ")))"
        throw .lesson("\(r.at(item)): layer \(i + 1) (\(kind)): unknown key '\(k)'\(hint)")
      }
      if let node = item.mapping?["name"] {
        let location = "\(r.at(node)): layer \(i + 1) (\(kind))"
        let name = try r.string(node, "name")
        try Names.check(name, location)
        values = values.map { $0.key == "name" ? ("name", .string(name)) : $0 }  // `name: 12` is the name "12"
        if name != kind { named.append((i + 1, name, location)) }  // a layer named its kind is named as if unnamed
      }
      layers.append(LayerOptions(kind: kind, index: i + 1, values: values, location: r.at(item)))
    }
    try checkUnique(named, layers)
    return layers
  }

  /// The network's items with each `- residual: [layers]` written out as a `skip` marker, its
  /// layers (blocks may nest) and a `residual` marker (`Skip`, `Residual`), each marker carrying
  /// the block's node for its line.
  static func flattenedResiduals(_ items: [Node], _ r: Reader, depth: Int = 0) throws(SheetNetError) -> [(Node, String?)] {
    var out: [(Node, String?)] = []
    for item in items {
      guard let m = item.mapping, m["residual"] != nil else { out.append((item, nil)); continue }
      guard m.count == 1, case .sequence(let inner) = m["residual"]!, !inner.isEmpty else {
        throw .lesson("\(r.at(item)): a residual block is '- residual: [layers]', a list of the block's layers and nothing else")
      }
      guard depth < 16 else { throw .lesson("\(r.at(item)): residual blocks nest more than 16 deep; flatten them") }
      out.append((item, Skip.kind))
      out += try flattenedResiduals(Array(inner), r, depth: depth + 1)
      out.append((item, Residual.kind))
    }
    return out
  }

  /// Refuses two layers of one name and a name that is the automatic name of another layer
  /// (`dense2` given to a relu while the second unnamed dense layer is dense2), comparing names
  /// without regard to case (file systems and spreadsheets that ignore case would mix `H` and `h`).
  static func checkUnique(_ named: [(layer: Int, name: String, location: String)], _ layers: [LayerOptions]) throws(SheetNetError) {
    let explicit = Set(named.map(\.layer))
    var automatic: [String: Int] = [:], counts: [String: Int] = [:]
    for l in layers where !explicit.contains(l.index) {
      let stem = layerKinds[l.kind]!.namePrefix
      counts[stem, default: 0] += 1
      automatic["\(stem)\(counts[stem]!)"] = l.index
    }
    var seen: [String: (layer: Int, name: String)] = [:]
    for n in named {
      let key = n.name.lowercased()
      if let earlier = seen[key] {
        let same = earlier.name == n.name ? "is also the name of" : "differs only in case from '\(earlier.name)' of"
        throw .lesson("\(n.location): name \(Names.quoted(n.name)) \(same) layer \(earlier.layer); give each layer its own name")
      }
      if let other = automatic[key] {
        throw .lesson("\(n.location): name \(Names.quoted(n.name)) is the automatic name of layer \(other) (\(layers[other - 1].kind)); choose another name, or name layer \(other) too")
      }
      seen[key] = (n.layer, n.name)
    }
  }

  static func parseOptimizer(_ node: Node, _ r: Reader) throws(SheetNetError) -> (String, [(key: String, value: Value)]) {
    let kinds = optimizerKeys.keys.sorted()
    if let s = node.string {
      guard optimizerKeys[s] != nil else { throw .lesson("\(r.at(node)): unknown optimizer '\(s)'\(didYouMean(s, in: kinds))  (valid: \(kinds.joined(separator: ", ")))") }
      return (s, [])
    }
    guard let m = node.mapping, let kind = m["type"]?.string else {
      throw .lesson("\(r.at(node)): 'optimizer' needs 'type' (\(kinds.joined(separator: ", "))) and its settings, e.g. {type: adam, learning_rate: 0.01}")
    }
    guard let keys = optimizerKeys[kind] else { throw .lesson("\(r.at(node)): unknown optimizer '\(kind)'\(didYouMean(kind, in: kinds))  (valid: \(kinds.joined(separator: ", ")))") }
    var options: [(key: String, value: Value)] = []
    for (k, v) in m where k.string != "type" {
      let key = k.string ?? ""
      guard keys.contains(key) else { throw .lesson("\(r.at(k)): unknown optimizer key '\(key)'\(didYouMean(key, in: keys))  (valid for \(kind): \(keys.joined(separator: ", ")))") }
      options.append((key, try r.value(v)))
    }
    return (kind, options)
  }
}

/// Walks YAML nodes, turning them into values and errors that carry `file line N`.
struct Reader {
  let path: String

  /// Refuses anchors and aliases (a few lines of aliases can stand for billions of nodes), more
  /// than `Limits.yamlNodes` nodes, and nesting deeper than `Limits.yamlDepth`, before anything
  /// walks the document.
  func checkSize(_ root: Node) throws(SheetNetError) {
    var count = 0
    func walk(_ node: Node, _ depth: Int) throws(SheetNetError) {
      count += 1
      guard node.anchor == nil else {
        throw .lesson("\(at(node)): YAML anchors (&name) and aliases (*name) are not supported in lessons; write the value out")
      }
      guard depth <= Limits.yamlDepth else { throw .lesson("\(at(node)): the lesson nests deeper than \(Limits.yamlDepth) levels") }
      guard count <= Limits.yamlNodes else {
        throw .lesson("\(path): the lesson holds more than \(Limits.grouped(Limits.yamlNodes)) values (a YAML alias counts each time it is used; lessons should not use them); put large data in a CSV file (dataset: csv)")
      }
      switch node {
      case .sequence(let seq): for item in seq { try walk(item, depth + 1) }
      case .mapping(let m):
        for (k, v) in m {
          try walk(k, depth + 1)
          try walk(v, depth + 1)
        }
      default: break
      }
    }
    try walk(root, 0)
  }

  func at(_ node: Node) -> String { node.mark.map { "\(path) line \($0.line)" } ?? path }

  func map(_ node: Node, _ what: String, allowed: [String]) throws(SheetNetError) -> [String: Node] {
    guard let m = node.mapping else { throw .lesson("\(at(node)): '\(what)' must be a map of keys") }
    var out: [String: Node] = [:]
    for (k, v) in m {
      let key = k.string ?? ""
      guard allowed.contains(key) else {
        throw .lesson("\(at(k)): unknown key '\(key)' in \(what)\(didYouMean(key, in: allowed))  (valid: \(allowed.joined(separator: ", ")))")
      }
      out[key] = v
    }
    return out
  }

  func string(optional node: Node?, _ key: String) throws(SheetNetError) -> String? {
    guard let node else { return nil }
    return try string(node, key)
  }

  func int(optional node: Node?, _ key: String, min lo: Int, max hi: Int = 1_000_000_000) throws(SheetNetError) -> Int? {
    guard let node else { return nil }
    return try int(node, key, min: lo, max: hi)
  }

  func number(optional node: Node?, _ key: String, min lo: Double, max hi: Double) throws(SheetNetError) -> Double? {
    guard let node else { return nil }
    return try number(node, key, min: lo, max: hi)
  }

  func string(_ node: Node, _ key: String) throws(SheetNetError) -> String {
    guard case .scalar(let s) = node else { throw .lesson("\(at(node)): '\(key)' must be a word") }
    return s.string
  }

  func number(_ node: Node, _ key: String, min lo: Double, max hi: Double) throws(SheetNetError) -> Double {
    guard let x = node.float ?? node.int.map(Double.init), x.isFinite else {
      throw .lesson("\(at(node)): '\(key)' must be a number, got '\(node.string ?? "a list or map")'")
    }
    guard x >= lo && x <= hi else { throw .lesson("\(at(node)): '\(key)' must be between \(lo) and \(hi), got \(x)") }
    return x
  }

  func int(_ node: Node, _ key: String, min lo: Int, max hi: Int = 1_000_000_000) throws(SheetNetError) -> Int {
    guard let x = node.int else { throw .lesson("\(at(node)): '\(key)' must be a whole number, got '\(node.string ?? "a list or map")'") }
    guard x >= lo && x <= hi else { throw .lesson("\(at(node)): '\(key)' must be between \(lo) and \(hi), got \(x)") }
    return x
  }

  func bool(_ node: Node, _ key: String) throws(SheetNetError) -> Bool {
    guard let b = node.bool else { throw .lesson("\(at(node)): '\(key)' must be true or false") }
    return b
  }

  func value(_ node: Node) throws(SheetNetError) -> Value {
    switch node {
    case .scalar(let s):
      if s.style == .plain || s.style == .any {
        if node.null != nil { return .null }
        if let b = node.bool { return .bool(b) }
        if let i = node.int { return .number(Double(i)) }
        if let f = node.float { return .number(f) }
      }
      return .string(s.string)
    case .sequence(let seq):
      var items: [Value] = []
      for item in seq { items.append(try value(item)) }
      return .list(items)
    case .mapping(let m):
      var pairs: [(key: String, value: Value)] = []
      for (k, v) in m { pairs.append((k.string ?? "", try value(v))) }
      return .map(pairs)
    case .alias:
      throw .lesson("\(at(node)): YAML aliases are not supported in lessons; write the value out")
    }
  }

  /// A number, a list of numbers or a list of equal-length lists.
  func matrix(_ node: Node, _ key: String) throws(SheetNetError) -> Tensor {
    let options = LayerOptions(kind: "data", values: [(key, try value(node))], location: at(node))
    do {
      guard let t = try options.numbers(key) else { throw SheetNetError.lesson("") }
      return t.rank == 1 && key != "labels" && key != "shape" ? t.reshaped([1, t.count]) : t
    } catch {
      throw .lesson("\(at(node)): '\(key)' must be numbers: a list, or a list of equal-length rows")
    }
  }
}
