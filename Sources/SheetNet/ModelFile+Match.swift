/// Whether a model file holds the network a lesson makes.
///
/// A file matches when everything training does not change is the lesson's: the input shape,
/// the loss, the optimizer's kind and hyper-parameters, the preprocessing, the classes, the
/// number of layers, and layer by layer its kind, name, every option (`Layer.options`, the very
/// list the file stores), its parameters (names, shapes, trainable or frozen) and their optimizer
/// state (which tensors the optimizer keeps once it has stepped, each of the parameter's shape).
/// Only the weights, the state's values and the step count may differ. The fingerprint says
/// what a run was made from; this says the file is that network — both are needed before a
/// saved model stands for a lesson, and a file that differs is used in no part.
extension ModelFile {
  /// The first difference between this file and the network of `run` as one phrase naming it
  /// ("layer 2 (dense2) has units 3, the lesson says 1"); nil when the file matches. The
  /// preprocessing and the classes are compared exactly (the run fitted them on its data).
  public func mismatch(with run: LessonRun) -> String? {
    mismatch(model: run.model, loss: run.loss, optimizer: run.optimizer, preprocess: run.preprocess,
             classes: run.split.train.classNames)
  }

  /// The first difference between this file and the lesson it records (`lessonSource`, read as
  /// the file at `lessonFile(modelPath:)`): its input shape and its network built on it, its loss
  /// and optimizer, and the kind of its preprocessing (with the divisor; fitted statistics need
  /// the split). `inputShape` is the lesson's samples' shape when the caller has it; nil reads the
  /// lesson's data to learn it (when the data cannot be read, the file's own shape stands in).
  /// Nil when the file matches or records no lesson. Throws when the recorded lesson does not parse.
  public func mismatchWithItsLesson(modelPath: String, inputShape: [Int]? = nil) throws(SheetNetError) -> String? {
    guard !lessonSource.isEmpty else { return nil }
    let lesson = try Lesson.parse(lessonSource, path: lessonFile(modelPath: modelPath))
    var streams = Lesson.Streams(seed: seed)
    let shape = inputShape ?? (try? lesson.loadData(rng: &streams.data)).map { Array($0.x.shape.dropFirst()) } ?? model.inputShape
    if shape != model.inputShape { return Self.differs("the input shape", shapeText(model.inputShape), shapeText(shape)) }
    var rng = SeededGenerator(seed: seed)
    let network: Sequential
    // Token data size an embedding the lesson leaves unsized from their vocabulary, which a model
    // file records as its classes (no second reading of the data).
    let vocabulary = lesson.data.isTokens && !classes.isEmpty ? classes.count : nil
    do { network = try lesson.makeModel(inputShape: shape, vocabulary: vocabulary, rng: &rng) } catch {
      return "the lesson's network does not build on the input shape \(shapeText(shape)) (\(error.description))"
    }
    let expected: Preprocess
    switch lesson.data.preprocess {
    case "standardize":
      if case .standardize = preprocess { expected = preprocess } else { expected = .standardize(mean: [], std: []) }
    case "divide": expected = .divide(lesson.data.divisor)
    default: expected = .none
    }
    return mismatch(model: network, loss: lossKinds[lesson.loss]!, optimizer: lesson.optimizer.make(), preprocess: expected, classes: nil)
  }

  /// The first difference between this file and a network as a lesson makes it, in the file's
  /// order: input shape, loss, optimizer, preprocessing, classes (when given), then layer by
  /// layer, then the number of layers. Nil when they match.
  public func mismatch(model lessonModel: Sequential, loss lessonLoss: any Loss, optimizer lessonOptimizer: any Optimizer,
                       preprocess lessonPreprocess: Preprocess, classes lessonClasses: [String]?) -> String? {
    if model.inputShape != lessonModel.inputShape {
      return Self.differs("the input shape", shapeText(model.inputShape), shapeText(lessonModel.inputShape))
    }
    if loss.kind != lessonLoss.kind { return Self.differs("the loss", loss.kind, lessonLoss.kind) }
    if optimizer.kind != lessonOptimizer.kind { return Self.differs("the optimizer", optimizer.kind, lessonOptimizer.kind) }
    if let why = Self.optionMismatch(optimizer.options, lessonOptimizer.options, owner: "the optimizer (\(optimizer.kind))") { return why }
    if preprocess != lessonPreprocess {
      if case .standardize = preprocess, case .standardize = lessonPreprocess {
        return "the preprocessing's mean and σ are not those the lesson fits on its training split"
      }
      return Self.differs("the preprocessing", Self.describe(preprocess), Self.describe(lessonPreprocess))
    }
    if let lessonClasses, classes != lessonClasses {
      guard classes.count == lessonClasses.count else { return Self.differs("the number of classes", "\(classes.count)", "\(lessonClasses.count)") }
      let k = classes.indices.first { classes[$0] != lessonClasses[$0] }!
      return Self.differs("class \(k)", "'\(Self.shown(classes[k]))'", "'\(Self.shown(lessonClasses[k]))'")
    }
    let stateKeys = optimizer.stepCount == 0 ? [] : lessonOptimizer.stateKeys.sorted()
    for (i, (mine, theirs)) in zip(model.layers, lessonModel.layers).enumerated() {
      let label = "layer \(i + 1) (\(Self.shown(mine.name)))"
      if mine.kind != theirs.kind { return "\(label) is \(mine.kind), the lesson's layer \(i + 1) is \(theirs.kind) (\(Self.shown(theirs.name)))" }
      if mine.name != theirs.name { return "layer \(i + 1) is named \(Self.shown(mine.name)), the lesson names it \(Self.shown(theirs.name))" }
      if let why = Self.optionMismatch(mine.options, theirs.options, owner: label) { return why }
      let names = mine.parameters.map(\.name), lessonNames = theirs.parameters.map(\.name)
      if names != lessonNames {
        return "\(label) has parameters \(Self.list(names)), the lesson's has \(Self.list(lessonNames))"
      }
      for (p, q) in zip(mine.parameters, theirs.parameters) {
        let what = "\(label) parameter \(p.name)"
        if p.value.shape != q.value.shape { return Self.differs("\(what)'s shape", shapeText(p.value.shape), shapeText(q.value.shape)) }
        if p.trainable != q.trainable {
          return "\(what) is \(p.trainable ? "trained" : "frozen"), the lesson \(q.trainable ? "trains" : "freezes") it"
        }
        let keys = q.trainable ? stateKeys : []
        if p.state.keys.sorted() != keys {
          return "\(what) holds optimizer state \(Self.list(p.state.keys.sorted())), the lesson's \(lessonOptimizer.kind) after \(optimizer.stepCount) steps keeps \(Self.list(keys))"
        }
        for key in keys where p.state[key]!.shape != p.value.shape {
          return "\(what)'s optimizer state \(key) has shape \(shapeText(p.state[key]!.shape)), the parameter \(shapeText(p.value.shape))"
        }
      }
    }
    let (n, m) = (model.layers.count, lessonModel.layers.count)
    if n > m { return "the model has \(n) layers, the lesson \(m): layer \(m + 1) (\(Self.shown(model.layers[m].name))) is not in the lesson" }
    if n < m { return "the model has \(n) layers, the lesson \(m): it lacks layer \(n + 1) (\(Self.shown(lessonModel.layers[n].name)))" }
    return nil
  }

  /// "the loss is mse, the lesson says cross_entropy".
  private static func differs(_ what: String, _ mine: String, _ lesson: String) -> String {
    "\(what) is \(mine), the lesson says \(lesson)"
  }

  /// The first option of `lesson` that `mine` lacks or holds with another value, then any option
  /// only `mine` has: "layer 2 (dense2) has units 3, the lesson says 1".
  private static func optionMismatch(_ mine: [(key: String, value: Value)], _ lesson: [(key: String, value: Value)], owner: String) -> String? {
    for (key, want) in lesson {
      guard let have = mine.first(where: { $0.key == key })?.value else { return "\(owner) has no \(key), the lesson says \(text(want))" }
      if have != want { return "\(owner) has \(key) \(text(have)), the lesson says \(text(want))" }
    }
    if let extra = mine.first(where: { pair in !lesson.contains { $0.key == pair.key } }) {
      return "\(owner) has \(extra.key) \(text(extra.value)), which the lesson does not"
    }
    return nil
  }

  /// An option's value as the file writes it: 3, 0.1, true, 'same', [3, 3].
  private static func text(_ v: Value) -> String {
    switch v {
    case .number(let x): Value.jsonNumber(x)
    case .string(let s): "'\(s.prefix(40))'"
    case .bool(let b): b ? "true" : "false"
    case .list(let items): "[" + items.map(text).joined(separator: ", ") + "]"
    case .map, .null: v.described
    }
  }

  private static func list(_ names: [String]) -> String { names.isEmpty ? "none" : names.map(shown).joined(separator: ", ") }

  /// A name from a file as one line shows it: at most 40 characters, control characters as '?'.
  private static func shown(_ name: String) -> String {
    String(String.UnicodeScalarView(name.unicodeScalars.prefix(40).map { $0.properties.generalCategory == .control ? "?" : $0 }))
  }

  private static func describe(_ p: Preprocess) -> String {
    switch p {
    case .none: "none"
    case .divide(let d): "divide by \(Value.jsonNumber(d))"
    case .standardize: "standardize"
    }
  }
}
