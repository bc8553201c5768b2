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

      Figures that show a trained network train the lesson first (the same seed gives the same \
      figure, byte for byte). Files go to Output/<lesson>/figures/<kind>.<format> unless --output \
      names another folder; they are written to temporary files and renamed into place together.
      """)

  /// The figure kinds, plus two hidden ones the benchmark renders without a lesson.
  enum Kind: String, CaseIterable, ExpressibleByArgument {
    case convStep = "conv-step", activations, featureMaps = "feature-maps", filters, gradients, architecture
    case training, decisionBoundary = "decision-boundary", confusion, graph
    /// An 8×8 grid of 28×28 feature maps with a colour bar, from seeded numbers (benchmark).
    case benchFeatureMaps = "bench-feature-maps"
    /// The four activation curves without marks (benchmark).
    case benchActivations = "bench-activations"

    /// The catalogue kind, nil for the benchmark figures.
    var catalogue: FigureKind? { FigureKind(rawValue: rawValue) }
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

  @Option(help: "Pixels per point for PNG (2 gives 1920×1080 for a slide).")
  var scale: Double?

  @Option(help: "Page: slide (16:9, 960×540 pt) or print (6.5 in wide).")
  var size: PageSize = .slide

  @Option(help: "The layer to show, by name (conv1) or position (1 = first), where a kind shows one layer.")
  var layer: String?

  @Option(help: "The sample to show, 1 = first of the evaluation split (the training split for graph).")
  var sample: Int = 1

  @Option(help: "How many window positions conv-step draws.")
  var positions: Int = 3

  @Option(help: "The filter conv-step follows (1 = first).")
  var filter: Int = 1

  @Flag(help: "Draw the network as initialised, before training.")
  var untrained = false

  @Flag(help: "Print the files written as JSON.")
  var json = false

  func validate() throws {
    if let scale, !(scale > 0 && scale <= 16) { throw ValidationError("--scale must be above 0 and at most 16 (2 gives a 1920×1080 slide)") }
    if scale != nil && format != .png { throw ValidationError("--scale applies to PNG only; SVG and PDF are vector formats") }
    if sample < 1 { throw ValidationError("--sample counts from 1 (the first sample)") }
    if !(1...16).contains(positions) { throw ValidationError("--positions must be between 1 and 16") }
    if filter < 1 { throw ValidationError("--filter counts from 1 (the first filter)") }
    if untrained, let k = kind.catalogue, !k.allowsUntrained {
      throw ValidationError("\(k.rawValue) shows \(k == .graph ? "the first training step" : "the result of training"); drop --untrained")
    }
  }

  func run() {
    guarded {
      var figureOptions = FigureOptions()
      figureOptions.theme = size == .slide ? .slide : .print
      figureOptions.layer = layer
      figureOptions.sample = sample
      figureOptions.positions = positions
      figureOptions.filter = filter
      figureOptions.trained = !untrained
      let figures: [SheetNetFigures.Figure]
      let folder: String
      if let kind = kind.catalogue {
        let lesson = try Lesson.load(options.lesson)
        let source: FigureSource
        if lesson.data.dataset == "none" {
          source = try FigureSource(lessonWithoutData: lesson, seed: options.seed)
        } else {
          source = FigureSource(run: try LessonRun(lesson, seed: options.seed))
        }
        try Catalogue.check(kind, source, figureOptions)
        if let run = source.run, kind.needsTraining && !untrained {
          let bar = ProgressBar(enabled: !json && stderrIsTerminal)
          try run.train { bar.update($0) }
          bar.finish()
        }
        figures = try Catalogue.make(kind, source, figureOptions)
        folder = options.output ?? "\(lesson.output ?? "Output/\(lesson.name)")/figures"
      } else {
        figures = [kind == .benchFeatureMaps ? SheetNetFigures.Figure.benchFeatureMaps(theme: figureOptions.theme)
                                            : SheetNetFigures.Figure.activationCurves(theme: figureOptions.theme)]
        folder = options.output ?? "Output/bench/figures"
      }
      // Every figure is encoded before the first file is touched; then they replace the old
      // files together, or none does.
      var batch = OutputBatch(folder: folder)
      for figure in figures {
        batch.add(try FigureFile.render(figure, as: ImageFormat(rawValue: format.rawValue)!, scale: scale ?? 2), as: "\(figure.name).\(format.rawValue)")
      }
      try batch.commit()
      let written = batch.paths
      if json {
        print(Value.map([("kind", .string(kind.rawValue)), ("files", .list(written.map { .string($0) }))]).json())
      } else {
        for path in written { print(path) }
      }
    }
  }
}
