import Foundation

/// Everything a lesson produces from its data, network and seed, before anything is written.
public final class LessonRun {
  /// The lesson.
  public let lesson: Lesson
  /// The seed actually used (`--seed` overrides the lesson's).
  public let seed: UInt64
  /// The network, built and initialised.
  public let model: Sequential
  /// The split data, preprocessed.
  public let split: Split
  /// The input scaling fitted on the training split.
  public let preprocess: Preprocess
  /// The loss.
  public let loss: any Loss
  /// The optimizer with its state.
  public let optimizer: any Optimizer
  /// Per-epoch losses and accuracies.
  public var history = History()
  /// The trainer (its generator drives shuffles and masks).
  public var trainer: Trainer
  /// For data generated outside the engine (letters): a digest of the samples and the fonts,
  /// which the fingerprint covers; nil for every other dataset.
  public let dataDigest: String?
  /// Bytes the data takes as the run holds it (`Limits.dataBytes`).
  public let dataBytes: Int
  /// Whether the weights, optimizer state and history came from a saved model (`restoreSaved`).
  package internal(set) var restored = false
  /// What the next `train` records for views drawn afterwards (`recordFirstStep`, `observe`).
  private var firstStep: TracePoint?
  private var observers: [(epochs: Set<Int>, body: (Int) -> Void)] = []

  /// Loads the data, splits it, builds the network: seed → (split, init, shuffle) streams.
  public init(_ lesson: Lesson, seed: UInt64? = nil) throws(SheetNetError) {
    self.lesson = lesson
    self.seed = seed ?? lesson.seed
    var streams = Lesson.Streams(seed: self.seed)
    if let (samples, features) = lesson.generatedSize {
      try Limits.checkMemory(Limits.saturated(Limits.processBytes, plus: Limits.dataBytes(samples: samples, features: features)),
                             "\(lesson.path): the data", "\(Limits.grouped(samples)) samples of \(Limits.grouped(features)) numbers, loaded, split and scaled",
                             "ask for fewer samples with 'count'")
    }
    let data = try lesson.loadData(rng: &streams.data)
    dataBytes = Limits.dataBytes(samples: data.count, features: data.x.count / max(data.count, 1))
    dataDigest = lesson.data.dataset == Letters.kind ? Letters.digest(data, fonts: lesson.glyphRenderer?.fonts ?? []) : nil
    var split = lesson.split(data, rng: &streams.split)
    guard split.train.count >= 1 else {
      throw .lesson("\(lesson.path): the split leaves no samples to train on (\(data.count) samples, validation \(lesson.data.validation), test \(lesson.data.test)); hold out less")
    }
    var initRNG = streams.initial
    let shuffleRNG = streams.shuffle
    switch lesson.data.preprocess {
    case "standardize": preprocess = .standardized(split.train.x)
    case "divide": preprocess = .divide(lesson.data.divisor)
    default: preprocess = .none
    }
    split.train.x = preprocess.apply(split.train.x)
    if let v = split.validation { split.validation!.x = preprocess.apply(v.x) }
    if let t = split.test { split.test!.x = preprocess.apply(t.x) }
    self.split = split
    model = try lesson.makeModel(inputShape: Array(data.x.shape.dropFirst()), vocabulary: data.isTokens ? data.vocabulary.count : nil, rng: &initRNG)
    let outputs = model.outputShape.reduce(1, *)
    if data.isTokens {
      let (T, V) = (data.x.columns, data.vocabulary.count)
      guard lesson.loss == TokenCrossEntropy.kind else {
        throw .lesson("\(lesson.path): token sequences are scored at every position; use loss: token_cross_entropy")
      }
      guard model.outputShape == [T, V] else {
        throw .shape("\(lesson.path): the data has sequences of \(T) tokens from a vocabulary of \(V), so the network must give \(T)×\(V) scores (one per token at each position), but the last layer (\(model.layers.last!.name)) gives \(shapeText(model.outputShape)); end with a dense layer of \(V) units and a softmax")
      }
    } else if lesson.loss == TokenCrossEntropy.kind {
      throw .lesson("\(lesson.path): loss token_cross_entropy scores token sequences; use it with dataset: sequences or text")
    } else if let labels = data.labels, data.explicitTargets == nil {
      let classes = (labels.max() ?? 0) + 1
      guard outputs == classes || (outputs == 1 && classes <= 2) else {
        throw .shape("\(lesson.path): the data has \(classes) classes but the last layer (\(model.layers.last!.name)) gives \(outputs) outputs; give the last dense layer \(classes) units")
      }
    } else if let t = data.explicitTargets, t.columns != outputs {
      throw .shape("\(lesson.path): the targets 'y' have \(t.columns) columns but the last layer (\(model.layers.last!.name)) gives \(outputs) outputs")
    }
    let batch = min(lesson.batchSize, split.train.count)
    try Limits.checkMemory(Limits.saturated(Limits.processBytes + dataBytes, plus: model.trainingBytes(batch: batch)), "\(lesson.path): training",
                           "\(Limits.grouped(model.parameterCount)) parameters, batches of \(Limits.grouped(batch)), \(Limits.grouped(data.count)) samples",
                           "use a smaller batch_size or network")
    loss = lossKinds[lesson.loss]!
    optimizer = lesson.optimizer.make()
    trainer = Trainer(model: model, loss: loss, optimizer: optimizer, epochs: lesson.epochs, batchSize: lesson.batchSize, rng: shuffleRNG)
  }

  /// The network is as initialised: no step trained in this process and nothing restored.
  package var isInitial: Bool { trainer.stepsTaken == 0 && !restored }

  /// Bytes the run needs to train, by `Limits`' estimate: the process, the data and training.
  public var memoryBytes: Int {
    Limits.saturated(Limits.processBytes + dataBytes, plus: model.trainingBytes(batch: min(trainer.batchSize, split.train.count)))
  }

  /// Bytes of this run's model.json, written or read (`Limits.savedModelBytes`).
  public var savedModelBytes: Int { Limits.savedModelBytes(model, optimizer: optimizer) }

  /// Seconds training `epochs` epochs takes by `Limits.trainingSeconds(…)` (default: the trainer's),
  /// the held-out sets measured after each.
  public func trainingSeconds(epochs: Int? = nil) -> Double {
    let epochs = Double(epochs ?? trainer.epochs)
    return Limits.trainingSeconds(model, trainedSamples: Double(split.train.count) * epochs, evaluatedSamples: Double(heldOutCount) * epochs,
                                  batch: min(trainer.batchSize, split.train.count))
  }

  /// Seconds training up to and including step `step` takes (full batches; the epochs it
  /// completes measure the held-out sets).
  public func trainingSeconds(steps step: Int) -> Double {
    let batch = max(trainer.batchSize, 1), samples = split.train.count
    let perEpoch = max(1, (samples + batch - 1) / batch)
    return Limits.trainingSeconds(model, trainedSamples: Double(step) * Double(min(batch, samples)),
                                  evaluatedSamples: Double(step / perEpoch) * Double(heldOutCount), batch: min(batch, samples))
  }

  /// Samples in the validation and test splits.
  var heldOutCount: Int { (split.validation?.count ?? 0) + (split.test?.count ?? 0) }

  /// The samples a traced step `step` runs on: the step's planned batch (the last of an epoch may
  /// be short), its first `prefix`, or one sample.
  public func tracedBatch(step: Int, sample: Int?, prefix: Int?) -> Int {
    if sample != nil { return 1 }
    let batch = max(trainer.batchSize, 1), samples = split.train.count
    let perEpoch = max(1, (samples + batch - 1) / batch)
    let index = (max(step, 1) - 1) % perEpoch
    let planned = max(1, min(batch, samples - index * batch))
    return min(planned, prefix ?? planned)
  }

  /// Trains for the lesson's epochs. With `trace`, as `Trainer.fit` says (a stopping trace ends
  /// training there). Without one, a run still `isInitial` also makes what was asked for before:
  /// step 1 traced (`recordFirstStep`) and the observers called at their epochs (`observe`).
  public func train(trace: TracePoint? = nil, progress: ((TrainingProgress) -> Void)? = nil) throws(SheetNetError) {
    guard trace == nil, isInitial, firstStep != nil || !observers.isEmpty else {
      try trainer.fit(split.train, validation: split.validation, test: split.test, history: &history, trace: trace, progress: progress)
      return
    }
    let observers = observers
    for o in observers where o.epochs.contains(0) { o.body(0) }
    try trainer.fit(split.train, validation: split.validation, test: split.test, history: &history, trace: firstStep) { p in
      progress?(p)
      guard p.step == p.stepsPerEpoch else { return }
      for o in observers where o.epochs.contains(p.epoch) { o.body(p.epoch) }
    }
  }

  /// Asks the next `train` to trace its step 1 (the planned batch: the same step as without a
  /// tracer) and to go on training; the point's tracer, location and loss hold the step once it
  /// has run. Every call returns the same point. Call it while the run `isInitial`: a view then
  /// reads step 1 from this run instead of training a second one.
  package func recordFirstStep() -> TracePoint {
    if let firstStep { return firstStep }
    let point = TracePoint(step: 1, tracer: Tracer(), continues: true)
    firstStep = point
    return point
  }

  /// Asks the next `train` to call `body(e)` for each epoch e of `epochs` while the network is as
  /// that epoch left it: e = 0 before the first step, e ≥ 1 after the epoch's last step (before its
  /// validation and test passes, which change no weight). `body` may run evaluation-mode passes.
  package func observe(epochs: Set<Int>, _ body: @escaping (Int) -> Void) {
    observers.append((epochs, body))
  }

  /// The set a lesson is judged on: test, else validation, else training.
  public var evaluationSet: (name: String, data: Dataset) {
    if let t = split.test { return ("test", t) }
    if let v = split.validation { return ("validation", v) }
    return ("train", split.train)
  }

  /// Loss and accuracy on a dataset.
  public func evaluate(_ data: Dataset) -> Evaluation { trainer.evaluate(data) }

  /// V for token data (what sizes an embedding the lesson leaves unsized), else nil.
  public var vocabularySize: Int? { split.train.isTokens ? split.train.vocabulary.count : nil }

  /// Where the lesson's files go (`Lesson.outputFolder`).
  public var outputFolder: String { lesson.outputFolder }

}

extension Lesson {
  /// The independent generators a seed gives, one per purpose, always forked in this order.
  public struct Streams {
    /// Generated datasets' points.
    public var data: SeededGenerator
    /// The train/validation/test split.
    public var split: SeededGenerator
    /// Initial weights.
    public var initial: SeededGenerator
    /// Mini-batch shuffles and dropout masks.
    public var shuffle: SeededGenerator

    /// The streams of `seed`.
    public init(seed: UInt64) {
      var root = SeededGenerator(seed: seed)
      data = root.fork()
      split = root.fork()
      initial = root.fork()
      shuffle = root.fork()
    }
  }

  /// Samples and features of a data set the lesson generates (`count` points of a Playground
  /// set, `count` letters of `size`²), known before it is drawn; nil for data read from files.
  public var generatedSize: (samples: Int, features: Int)? {
    if data.dataset == Letters.kind { return (data.count, data.size * data.size) }
    if Generated.kinds.contains(data.dataset) { return (data.count, 2) }
    return nil
  }

  /// The lesson's split of `data` (validation and test fractions from the lesson).
  public func split(_ data: Dataset, rng: inout SeededGenerator) -> Split {
    Split(data, validation: self.data.validation, test: self.data.test, rng: &rng)
  }

  /// A data path as the lesson wrote it, relative to the lesson's folder unless absolute.
  func resolve(_ file: String) throws(SheetNetError) -> String {
    let resolved = file.hasPrefix("/") ? file : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(file)
    return try confined(resolved, path, what: "data file")
  }

  /// The lesson's dataset, reshaped per `data.shape`, not yet split or scaled.
  public func loadData(rng: inout SeededGenerator) throws(SheetNetError) -> Dataset {
    var d: Dataset
    switch data.dataset {
    case "none":
      throw .lesson("\(path) describes a network without data (dataset: none); use it with `sheetnet summary`")
    case "digits": d = try Builtin.digits()
    case "iris": d = try Builtin.iris()
    case "csv":
      d = try CSVData.load(try resolve(data.file!), labelColumn: data.labelColumn, header: data.header)
    case "idx":
      d = try IDX.load(images: try resolve(data.images!), labels: try resolve(data.labelsFile!), limit: data.limit)
    case "inline":
      let x = data.x!
      var y = data.y
      if let t = y, t.rows == 1, x.rows > 1, t.count == x.rows { y = t.reshaped([x.rows, 1]) }
      d = Dataset(name: "inline", x: x, labels: data.labels, targets: y)
    case "sequences":
      d = Sequences.task(data.task, length: data.length, vocabulary: data.vocabulary, count: data.count, rng: &rng)
    case "text":
      var text = data.text ?? ""
      var name = "\(path): text"
      if let file = data.file {
        let resolved = try resolve(file)
        guard let bytes = FileManager.default.contents(atPath: resolved) else { throw .data("\(resolved): cannot read it; check the path in 'file'") }
        guard bytes.count <= 8 << 20, let decoded = String(data: bytes, encoding: .utf8) else {
          throw .data("\(resolved): not UTF-8 text of at most 8 MB; give a plain UTF-8 text file")
        }
        (text, name) = (decoded, resolved)
      }
      d = try Sequences.text(text, name: name, context: data.context, count: data.countGiven ? data.count : nil,
                             stride: data.stride ?? data.context, rng: &rng)
      guard d.count * data.context <= Lesson.maxTokens else {
        throw .data("\(name): \(d.count) windows of \(data.context) characters are more than the \(Limits.grouped(Lesson.maxTokens)) tokens a lesson may hold; give 'count' or a larger 'stride'")
      }
    case Letters.kind:
      guard let renderer = glyphRenderer else { throw Letters.missingRenderer(path) }
      d = try Letters.make(count: data.count, side: data.size, classes: data.classes, renderer: renderer, rng: &rng)
    default:
      d = Generated.make(data.dataset, count: data.count, noise: data.noise, classes: data.classes, rng: &rng)
    }
    if let shape = data.shape { d = try d.reshaped(sample: shape) }
    return d
  }

  /// The network this lesson describes, built for `inputShape` with weights drawn from `rng`;
  /// `vocabulary` (token data) sizes the layers that read token ids when the lesson does not.
  public func makeModel(inputShape: [Int], vocabulary: Int? = nil, rng: inout SeededGenerator) throws(SheetNetError) -> Sequential {
    var built: [any Layer] = []
    for options in layers {
      let layer = try layerKinds[options.kind]!.init(options: options)
      if let vocabulary, let reader = layer as? any TokenInput, reader.vocabulary == nil { reader.vocabulary = vocabulary }
      if let name = options.values.first(where: { $0.key == "name" })?.value.string { layer.name = name }
      built.append(layer)
    }
    do {
      return try Sequential(built).build(inputShape: inputShape, rng: &rng)
    } catch {
      throw .shape("\(path): \(error.description)")
    }
  }


}
