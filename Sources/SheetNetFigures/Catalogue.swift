import SheetNet

/// The figures `sheetnet figure` can draw.
public enum FigureKind: String, CaseIterable, Sendable {
  /// One convolution window at several positions, its products and sum written out.
  case convStep = "conv-step"
  /// ReLU, LeakyReLU, sigmoid and tanh with their slopes and the lesson's pre-activations.
  case activations
  /// A sample through every conv and pool layer, one map per channel.
  case featureMaps = "feature-maps"
  /// First-layer kernels as images, and the inputs that most excite each class.
  case filters
  /// Saliency, each weight grid beside its gradient and update, gradient norms over training.
  case gradients
  /// Neurons and edges coloured by the weights (dense), or a block diagram (conv).
  case architecture
  /// Loss and accuracy per epoch, training and validation.
  case training
  /// The classifier's regions over a 2-D input, with one small map per hidden neuron.
  case decisionBoundary = "decision-boundary"
  /// The confusion matrix on the test split.
  case confusion
  /// A tiny network's traced step as a computation graph, value and gradient in every node (a
  /// token network's a token vector at a time).
  case graph
  /// A CNN as one sample flows through it: each layer's real feature maps as thumbnails, with
  /// shapes, parameter counts and the predicted class probabilities at the end; or a token
  /// network as one sequence flows through it: each layer's [T, d] output, a row per token, the
  /// attention heads, and each position's prediction.
  case overview
  /// The same seed and batches under SGD, momentum and Adam: loss against step, and each one's
  /// first ΔW of one layer.
  case optimizers
  /// The decision boundary and the hidden neurons' maps at chosen epochs (default 0, 1, 10, end).
  case filmstrip
  /// The confusion matrix with the misclassified test images drawn inside their cells.
  case mistakes
  /// An embedding layer's token vectors (rows of E) projected on their two principal
  /// directions, each point labelled with its token.
  case embeddings
  /// One sample's attention weights: a heat map per head of each self-attention layer, query
  /// tokens by key tokens, labelled with the tokens' characters.
  case attention
  /// A trained token lesson continuing a question by greedy decoding: the tokens coloured by the
  /// network's probability, and the least sure step's alternatives.
  case generation
  /// The loss over the plane through the weights that best fits the optimizers' paths (Li et al.
  /// 2018), as filled contours, with SGD's, momentum's and Adam's paths (or the `compare:` list's).
  case landscape

  /// One line for `--help`.
  public var summary: String {
    switch self {
    case .convStep: "a conv window's products and sum at several positions"
    case .activations: "activation functions, slopes and the lesson's z values"
    case .featureMaps: "a sample through each conv and pool layer, per channel"
    case .filters: "first-layer kernels; inputs that most excite each class"
    case .gradients: "saliency; weights beside gradients and updates; norms"
    case .architecture: "neurons and edges coloured by weight, or conv blocks"
    case .training: "loss and accuracy curves, training and validation"
    case .decisionBoundary: "class regions of a 2-D input; a map per hidden neuron"
    case .confusion: "the confusion matrix on the test split"
    case .graph: "a tiny network's step as a computation graph (token networks: token by token)"
    case .overview: "one sample through a CNN, or one sequence through a token network: every layer, then p"
    case .optimizers: "SGD, momentum and Adam (or the lesson's compare: list) from one seed: loss and first ΔW"
    case .filmstrip: "decision boundary and hidden maps at chosen epochs"
    case .mistakes: "the confusion matrix with its misclassified images"
    case .embeddings: "token vectors of an embedding layer on their 2 principal axes"
    case .attention: "one sample's attention weights, a map per head, tokens on both axes"
    case .generation: "greedy decoding from a question: each token's probability, the least sure step's alternatives"
    case .landscape: "the loss over a plane through the weights, with each optimizer's path on it"
    }
  }

  /// The options this kind reads; any other given to it is refused (`Catalogue.check`).
  public var options: Set<FigureOption> {
    switch self {
    case .convStep: [.layer, .sample, .at, .positions, .filter]
    case .featureMaps, .attention: [.layer, .sample]
    case .gradients: [.layer, .sample]
    case .graph, .overview, .generation: [.sample]
    case .optimizers, .embeddings: [.layer]
    case .filmstrip: [.epochs]
    case .activations, .filters, .architecture, .training, .decisionBoundary, .confusion, .mistakes, .landscape: []
    }
  }

  /// Whether the figure shows the trained network (false: it shows the first step or needs no
  /// weights at all).
  public var needsTraining: Bool {
    switch self {
    case .graph, .optimizers, .filmstrip, .landscape: false
    default: true
    }
  }

  /// Whether `--untrained` makes sense (figures of a history need the training itself).
  public var allowsUntrained: Bool { ![.training, .confusion, .graph, .optimizers, .filmstrip, .mistakes, .landscape].contains(self) }
}

/// The kind-specific options of `sheetnet figure`, so a kind can refuse one it does not read.
public enum FigureOption: String, CaseIterable, Sendable {
  /// `--layer NAME|N`.
  case layer
  /// `--sample N`.
  case sample
  /// `--at ROW,COL`.
  case at
  /// `--positions N`.
  case positions
  /// `--filter N`.
  case filter
  /// `--epochs E,E,…`.
  case epochs
}

/// A cell of an output map, 1-based as a lecturer counts: row 1 is the top, column 1 the left.
public struct GridPosition: Equatable, Sendable {
  /// The row, from 1.
  public var row: Int
  /// The column, from 1.
  public var column: Int

  /// A position.
  public init(row: Int, column: Int) {
    self.row = row
    self.column = column
  }
}

/// What a figure is drawn for and how: the page, and the kind-specific choices.
public struct FigureOptions: Sendable {
  /// Slide or print.
  public var theme: Theme = .slide
  /// A layer by name (`conv1`) or 1-based position, for kinds that show one layer.
  public var layer: String? = nil
  /// The sample shown (1-based, in the evaluation split; for `graph`, in step 1's batch).
  public var sample: Int = 1
  /// How many window positions `conv-step` draws (from `at`, or from the position with the
  /// largest |z| on the sample's strokes).
  public var positions: Int = 1
  /// The output position `conv-step` starts at; nil picks the largest |z| on the strokes.
  public var at: GridPosition? = nil
  /// The epochs `filmstrip` shows (0 = as initialised); nil gives 0, 1, 10 and the last.
  public var epochs: [Int]? = nil
  /// The kind-specific options the user gave (on the command line), checked against
  /// `FigureKind.options`.
  public var given: Set<FigureOption> = []
  /// The filter `conv-step` follows (1-based).
  public var filter: Int = 1
  /// False with `--untrained`: draw the network as initialised.
  public var trained = true

  /// Default options.
  public init() {}
}

/// A lesson as the figures see it: the lesson, its run (nil for a summary-only lesson without
/// data) and its network.
public struct FigureSource {
  /// The lesson.
  public let lesson: Lesson
  /// Data, split, model, history; nil when the lesson has no data (`dataset: none`).
  public let run: LessonRun?
  /// The network (the run's, or built from the lesson alone).
  public let model: Sequential
  /// What the run recorded for the figures while it trained (`Catalogue.prepare`).
  public let recording = FigureRecording()

  /// A source with data.
  public init(run: LessonRun) {
    self.lesson = run.lesson
    self.run = run
    self.model = run.model
  }

  /// A lesson without data: only its network, built with `seed` (or the lesson's).
  public init(lessonWithoutData lesson: Lesson, seed: UInt64?) throws(FigureError) {
    self.lesson = lesson
    self.run = nil
    var rng = SeededGenerator(seed: seed ?? lesson.seed)
    do {
      self.model = try lesson.makeModel(inputShape: lesson.data.shape ?? [], rng: &rng)
    } catch {
      throw .lesson(error.description)
    }
  }

  /// The run, or a refusal naming what the figure needs.
  func requireRun(_ kind: FigureKind) throws(FigureError) -> LessonRun {
    guard let run else {
      throw .notApplicable("\(kind.rawValue) needs data, but \(lesson.path) has none (dataset: none); only `architecture` draws it")
    }
    return run
  }

  /// The lesson's name for titles: `xor`.
  var name: String { lesson.name }
}

/// Checks and builds figures of each kind.
public enum Catalogue {
  /// Throws when `kind` does not apply to the lesson, before any training is spent on it.
  public static func check(_ kind: FigureKind, _ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    if !options.trained && !kind.allowsUntrained {
      throw .option("\(kind.rawValue) shows \(kind == .graph ? "the first training step" : "the result of training"); drop --untrained")
    }
    if let unused = FigureOption.allCases.first(where: { options.given.contains($0) && !kind.options.contains($0) }) {
      let users = FigureKind.allCases.filter { $0.options.contains(unused) }.map(\.rawValue)
      throw .option("\(kind.rawValue) does not use --\(unused.rawValue); it is read by \(users.joined(separator: ", ")) only")
    }
    if kind != .architecture { _ = try source.requireRun(kind) }
    switch kind {
    case .activations: try Figure.checkActivations(source)
    case .training: try Figure.checkTraining(source)
    case .confusion: try Figure.checkConfusion(source)
    case .architecture: break
    case .decisionBoundary: try Figure.checkDecisionBoundary(source)
    case .gradients: try Figure.checkGradients(source, options)
    case .filters: try Figure.checkFilters(source)
    case .graph: try Figure.checkGraph(source, options)
    case .convStep: try Figure.checkConvStep(source, options)
    case .featureMaps: try Figure.checkFeatureMaps(source, options)
    case .overview: try Figure.checkOverview(source, options)
    case .optimizers: try Figure.checkOptimizers(source, options)
    case .filmstrip: try Figure.checkFilmstrip(source, options)
    case .mistakes: try Figure.checkMistakes(source)
    case .embeddings: try Figure.checkEmbeddings(source, options)
    case .attention: try Figure.checkAttention(source, options)
    case .generation: try Figure.checkGeneration(source, options)
    case .landscape: try Figure.checkLandscape(source)
    }
  }

  /// The figures of `kind` (one or several pages), from the source as it is now (trained or not),
  /// reading what `prepare` had the run record; what it did not record is replayed from the seed.
  public static func make(_ kind: FigureKind, _ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    try check(kind, source, options)
    switch kind {
    case .activations: return [try Figure.activations(source, options)]
    case .training: return [try Figure.training(source, options)]
    case .confusion: return [try Figure.confusion(source, options)]
    case .architecture: return [Figure.architecture(source, options)]
    case .decisionBoundary: return [try Figure.decisionBoundary(source, options)]
    case .gradients: return try Figure.gradients(source, options)
    case .filters: return try Figure.filters(source, options)
    case .graph: return [try Figure.graph(source, options)]
    case .convStep: return try Figure.convSteps(source, options)
    case .featureMaps: return [try Figure.featureMaps(source, options)]
    case .overview: return [try Figure.overview(source, options)]
    case .optimizers: return [try Figure.optimizers(source, options)]
    case .filmstrip: return [try Figure.filmstrip(source, options)]
    case .mistakes: return [try Figure.mistakes(source, options)]
    case .embeddings: return [try Figure.embeddings(source, options)]
    case .attention: return try Figure.attention(source, options)
    case .generation: return [try Figure.generation(source, options)]
    case .landscape: return [try Figure.landscapeFigure(source, options)]
    }
  }
}

// MARK: Helpers shared by the catalogue

extension Figure {
  /// "try gradients or architecture": the first two of `candidates` that accept the lesson, so a
  /// refusal never sends the lecturer to a kind that refuses too (architecture always accepts).
  static func suggestion(_ candidates: [FigureKind], for source: FigureSource) -> String {
    var options = FigureOptions()
    options.trained = true
    let accepted = candidates.filter { (try? Catalogue.check($0, source, options)) != nil }.prefix(2).map(\.rawValue)
    return "try " + (accepted.isEmpty ? ["architecture"] : accepted).joined(separator: " or ")
  }

  /// The title suffix naming the lesson and its state: "xor, trained 1000 epochs".
  static func state(_ source: FigureSource, _ options: FigureOptions) -> String {
    guard let run = source.run else { return source.name }
    let epochs = run.history.epochs.count
    if !options.trained || epochs == 0 { return "\(source.name), as initialised (seed \(run.seed))" }
    return "\(source.name), after \(NumberFormat.integer(epochs)) epoch\(epochs == 1 ? "" : "s")"
  }

  /// Channels, height and width when one sample is an image: a C×H×W input, or a flat input of
  /// a square number (≥ 16) of pixels such as the 8×8 digits.
  static func imageShape(_ inputShape: [Int]) -> (channels: Int, height: Int, width: Int)? {
    if inputShape.count == 3 { return (inputShape[0], inputShape[1], inputShape[2]) }
    if inputShape.count == 2 { return (1, inputShape[0], inputShape[1]) }
    if inputShape.count == 1, inputShape[0] >= 16 {
      let side = Int(Double(inputShape[0]).squareRoot().rounded())
      if side * side == inputShape[0] { return (1, side, side) }
    }
    return nil
  }

  /// The layer named by `--layer` (a name or a 1-based position) among `candidates`, or the
  /// first candidate.
  static func pick(_ layer: String?, in model: Sequential, among candidates: [any Layer], what: String) throws(FigureError) -> any Layer {
    guard let first = candidates.first else { throw .notApplicable("the network has no \(what)") }
    guard let layer else { return first }
    let found = model.layer(named: layer) ?? Int(layer).flatMap { $0 >= 1 && $0 <= model.layers.count ? model.layers[$0 - 1] : nil }
    guard let found, candidates.contains(where: { $0 === found }) else {
      let names = candidates.map(\.name).joined(separator: ", ")
      throw .option("--layer \(layer) is not one of the \(what) of this network; choose one of \(names)")
    }
    return found
  }

  /// The activations with the course's names, in the order figures show them.
  static let activationPanels: [(kind: String, title: String)] = [
    ("relu", "ReLU"), ("leaky_relu", "LeakyReLU"), ("sigmoid", "σ (sigmoid)"), ("tanh", "tanh"),
  ]

  /// Class probabilities of network outputs: softmax rows as they are, a single sigmoid output as
  /// (1 − p, p), raw scores through softmax (or σ for one output).
  static func probabilities(_ y: Tensor, model: Sequential) -> [[Double]] {
    let k = y.columns
    let last = model.layers.last
    return (0..<y.rows).map { n in
      let row = Array(y.data[n * k..<(n + 1) * k])
      if k == 1 {
        let p = last is Sigmoid ? row[0] : Sigmoid.sigma(row[0])
        return [1 - p, p]
      }
      if last is Softmax { return row }
      return Softmax.probabilities(Tensor(shape: [1, k], data: row)).data
    }
  }

  /// The network's outputs for `x` in evaluation mode, with every layer's cache holding this batch.
  static func forwardAll(_ model: Sequential, _ x: Tensor) -> Tensor {
    model.forward(x, Step(training: false))
  }

  /// The sample `--sample` (1-based) of `data`, or an option error naming the range.
  static func sampleIndex(_ options: FigureOptions, in data: Dataset, split: String) throws(FigureError) -> Int {
    guard options.sample >= 1 && options.sample <= data.count else {
      throw .option("--sample must be between 1 and \(data.count), the samples of the \(split) split")
    }
    return options.sample - 1
  }
}
