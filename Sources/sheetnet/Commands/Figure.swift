import ArgumentParser
import CairoKit
import Foundation
import SheetNet
import SheetNetFigures

/// `sheetnet figure KIND LESSON`: draws one of the catalogue's figures from a lesson's real
/// numbers and writes it as PNG, SVG or PDF to Output/<lesson>/figures/.
struct Figure: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "figure",
    abstract: "Draw a figure from a lesson's real numbers (PNG, SVG or PDF).",
    discussion: """
      Kinds:
      \(FigureKind.allCases.map { "  \($0.rawValue.padding(toLength: 18, withPad: " ", startingAt: 0)) \($0.summary)" }.joined(separator: "\n"))

      Figures that show a trained network reuse Output/<lesson>/model.json and history.csv when \
      they were made from the same lesson text, data, seed and SheetNet version and hold the \
      lesson's very network (layers, options, shapes, loss, optimizer); otherwise the \
      lesson is trained first and both are saved for the next figure (--retrain forces training, \
      --model names another model file). The same seed gives the same figure, byte for byte. \
      Files go to Output/<lesson>/figures/<kind>.<format> unless --output names another folder; \
      they are written to temporary files and renamed into place together. PNGs are 144 dpi for \
      a slide (1920×1080) and 300 dpi for print unless --scale says otherwise.
      """)

  /// A catalogue kind (`FigureKind`, the one list of kinds), or one of two hidden figures the
  /// benchmark renders without a lesson.
  struct Kind: ExpressibleByArgument {
    /// The hidden benchmark figures.
    enum Bench: String {
      /// 64 feature maps of 28×28 in a 11×6 grid with a colour bar, from seeded numbers.
      case featureMaps = "bench-feature-maps"
      /// The four activation curves without marks.
      case activations = "bench-activations"
    }

    /// The catalogue kind, nil for a benchmark figure.
    let catalogue: FigureKind?
    /// The benchmark figure, nil for a catalogue kind.
    let bench: Bench?

    init?(argument: String) {
      catalogue = FigureKind(rawValue: argument)
      bench = catalogue == nil ? Bench(rawValue: argument) : nil
      if catalogue == nil && bench == nil { return nil }
    }

    /// The name as typed.
    var rawValue: String { catalogue?.rawValue ?? bench!.rawValue }
    /// `--help` lists the catalogue only.
    static var allValueStrings: [String] { FigureKind.allCases.map(\.rawValue) }
  }

  /// Output formats.
  enum Format: String, CaseIterable, ExpressibleByArgument {
    case png, svg, pdf
  }

  /// Page sizes.
  enum PageSize: String, CaseIterable, ExpressibleByArgument {
    /// 960 × 540 pt, a 16:9 slide.
    case slide
    /// 468 × 288 pt, 6.5 in wide, for handouts.
    case print
  }

  @Argument(help: "The figure to draw.")
  var kind: Kind

  @OptionGroup var options: LessonOptions

  @Option(help: "File format: png, svg or pdf.")
  var format: Format = .png

  @Option(help: "Pixels per point for PNG (default 2 for a slide: 1920×1080, 144 dpi; 300/72 for print: 300 dpi).")
  var scale: Double?

  @Option(help: "Page: slide (16:9, 960×540 pt) or print (6.5 in wide).")
  var size: PageSize = .slide

  @Option(help: "The layer to show, by name (conv1) or position (1 = first): conv-step, feature-maps, gradients, optimizers.")
  var layer: String?

  @Option(help: "The sample to show, 1 = first of the evaluation split (the training split for graph): conv-step, feature-maps, gradients, graph, overview.")
  var sample: Int?

  @Option(help: "The output position conv-step shows, ROW,COL from 1,1 at the top left (default: the largest |z| on the sample's strokes).")
  var at: String?

  @Option(help: "How many window positions conv-step draws, one page each (default 1).")
  var positions: Int?

  @Option(help: "The filter conv-step follows (1 = first).")
  var filter: Int?

  @Option(help: "The epochs filmstrip shows, e.g. 0,1,10,end (0 = as initialised; default 0,1,10,end).")
  var epochs: String?

  @OptionGroup var models: ModelOptions

  @OptionGroup var timeLimit: TimeLimitOptions

  @Flag(help: "Draw the network as initialised, before training.")
  var untrained = false

  @Flag(help: "Print the files written as JSON.")
  var json = false

  func validate() throws {
    if let scale, !(scale > 0 && scale <= 16) { throw ValidationError("--scale must be above 0 and at most 16 (2 gives a 1920×1080 slide)") }
    if scale != nil && format != .png { throw ValidationError("--scale applies to PNG only; SVG and PDF are vector formats") }
    if let sample, !(1...1_000_000_000).contains(sample) { throw ValidationError("--sample counts from 1 (the first sample)") }
    if let positions, !(1...64).contains(positions) { throw ValidationError("--positions must be between 1 and 64 (one page each)") }
    if let filter, !(1...1_000_000_000).contains(filter) { throw ValidationError("--filter counts from 1 (the first filter)") }
    if let at, Self.position(at) == nil { throw ValidationError("--at takes ROW,COL counted from 1, e.g. --at 3,4; got '\(at.prefix(40))'") }
    if let epochs, Self.epochList(epochs) == nil {
      throw ValidationError("--epochs takes up to 6 epochs separated by commas, each a whole number or 'end', e.g. 0,1,10,end; got '\(epochs.prefix(40))'")
    }
    if untrained, let k = kind.catalogue, !k.allowsUntrained {
      throw ValidationError("\(k.rawValue) shows \(k == .graph ? "the first training step" : "the result of training"); drop --untrained")
    }
  }

  /// `ROW,COL` as a position, nil when it is not two whole numbers ≥ 1.
  static func position(_ text: String) -> GridPosition? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false)
    guard parts.count == 2, let r = Int(parts[0].trimmingCharacters(in: .whitespaces)), let c = Int(parts[1].trimmingCharacters(in: .whitespaces)),
          (1...1_000_000).contains(r), (1...1_000_000).contains(c) else { return nil }
    return GridPosition(row: r, column: c)
  }

  /// `0,1,10,end` as epochs (`end` is -1 until the lesson is known); nil when malformed.
  static func epochList(_ text: String) -> [Int]? {
    let parts = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    guard (1...6).contains(parts.count) else { return nil }
    var list: [Int] = []
    for p in parts {
      if p == "end" { list.append(-1) } else if let e = Int(p), (0...Limits.epochs).contains(e) { list.append(e) } else { return nil }
    }
    return list
  }

  /// The figure options this command's flags give (`lastEpoch` stands for `end` in --epochs): the
  /// one translation, which `sheetnet build` uses too for a lesson's figure entries.
  func figureOptions(lastEpoch: Int) -> FigureOptions {
    var figureOptions = FigureOptions()
    figureOptions.theme = size == .slide ? .slide : .print
    figureOptions.layer = layer
    if let sample { figureOptions.sample = sample }
    if let positions { figureOptions.positions = positions }
    if let filter { figureOptions.filter = filter }
    figureOptions.at = at.flatMap(Self.position)
    if let epochs, let list = Self.epochList(epochs) { figureOptions.epochs = list.map { $0 < 0 ? lastEpoch : $0 } }
    figureOptions.trained = !untrained
    let given: [(FigureOption, Bool)] = [(.layer, layer != nil), (.sample, sample != nil), (.at, at != nil), (.positions, positions != nil),
                                         (.filter, filter != nil), (.epochs, epochs != nil)]
    figureOptions.given = Set(given.filter(\.1).map(\.0))
    return figureOptions
  }

  func run() {
    guarded {
      var figureOptions = figureOptions(lastEpoch: 0)
      var reused: Bool? = nil
      let figures: [SheetNetFigures.Figure]
      let folder: String
      var sourceRun: LessonRun? = nil
      if let kind = kind.catalogue {
        let lesson = try options.loadLesson()
        let source: FigureSource
        if lesson.data.dataset == "none" {
          source = try FigureSource(lessonWithoutData: lesson, seed: options.seed)
        } else {
          source = FigureSource(run: try LessonRun(lesson, seed: options.seed))
        }
        if epochs != nil { figureOptions = self.figureOptions(lastEpoch: source.run?.trainer.epochs ?? lesson.epochs) }
        // Checked, and the run asked to record what the figure reads from its training (step 1,
        // the network as initialised, …), so drawing it below trains nothing a second time.
        try Catalogue.check(kind, source, figureOptions)
        if let run = source.run {
          try Budget.checkFigure(kind, run, figureOptions, scale: scale ?? figureOptions.theme.defaultScale)
          if kind == .filmstrip {  // trains a network of its own up to its last epoch
            let last = figureOptions.epochs?.max() ?? run.trainer.epochs
            try timeLimit.check(run, epochs: last, "training \(Limits.grouped(last)) epoch\(last == 1 ? "" : "s") for the filmstrip")
          }
        }
        try Catalogue.prepare(kind, source, figureOptions)
        if let run = source.run, kind.needsTraining && !untrained {
          reused = try models.prepare(run, progress: !json, timeLimit: timeLimit)
          sourceRun = run
        }
        figures = try Catalogue.make(kind, source, figureOptions)
        folder = options.output ?? "\(lesson.outputFolder)/figures"
      } else {
        figures = [kind.bench == .featureMaps ? SheetNetFigures.Figure.benchFeatureMaps(theme: figureOptions.theme)
                                            : SheetNetFigures.Figure.activationCurves(theme: figureOptions.theme)]
        folder = options.output ?? "Output/bench/figures"
      }
      // Every figure is encoded before the first file is touched; then they replace the old
      // files together, or none does.
      var batch = OutputBatch(folder: folder)
      for figure in figures {
        try batch.add(FigureFile.render(figure, as: ImageFormat(rawValue: format.rawValue)!, scale: scale ?? figureOptions.theme.defaultScale),
                  as: "\(figure.name).\(format.rawValue)")
      }
      try batch.commit()
      if reused == false, let run = sourceRun { try models.save(run, commandOutput: options.output) }
      let written = batch.paths
      if json {
        var pairs: [(key: String, value: Value)] = [("kind", .string(kind.rawValue)), ("files", .list(written.map { .string($0) }))]
        if let reused { pairs.append(("model", .string(reused ? "reused" : "trained"))) }
        print(Value.map(pairs).json())
      } else {
        for path in written { printEscaped(path) }
      }
    }
  }
}
