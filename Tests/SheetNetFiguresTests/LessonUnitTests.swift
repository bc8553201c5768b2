import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

/// The teaching lessons letters-cnn, momentum-vs-sgd and overfitting do what their first comment
/// says, measured from their real runs.
@Suite("Lessons: letters, momentum against SGD, over-fitting")
struct LessonUnitTests {
  /// A small letters lesson (the shipped one's network, fewer and smaller images) with `renderer`.
  static func letters(count: Int = 300, size: Int = 16, classes: Int = 10, seed: UInt64 = 1,
                      renderer: (any GlyphRenderer)? = LetterRenderer.shared) throws -> LessonRun {
    var lesson = try Lesson.parse("""
      data: {dataset: letters, count: \(count), size: \(size), classes: \(classes), split: {test: 0.2}}
      network:
        - {type: conv2d, filters: 4, kernel: 3, padding: same, init: he}
        - relu
        - {type: max_pool2d, size: 2}
        - flatten
        - {type: dense, units: \(classes)}
        - softmax
      optimizer: {type: adam, learning_rate: 0.01}
      train: {epochs: 3, batch_size: 16}
      """, path: "letters.yaml")
    lesson.glyphRenderer = renderer
    return try LessonRun(lesson, seed: seed)
  }

  /// DejaVu Sans regular, and bold, from the first folder FontFaces searches that has them.
  static func dejaVu(_ file: String) throws -> (path: String, index: Int) {
    let path = try #require(FontFaces.folders.map { $0 + "/" + file }.first { FileManager.default.fileExists(atPath: $0) }, "\(file) is not installed")
    return (path, 0)
  }

  @Test("the machine's fonts are listed sorted, DejaVu Sans among them, upright only")
  func fonts() throws {
    let fonts = LetterRenderer.shared.fonts
    #expect(fonts == fonts.sorted())
    #expect(fonts.contains { $0.hasSuffix("/DejaVuSans.ttf") }, "\(fonts)")
    #expect(!fonts.contains { $0.contains("Oblique") || $0.contains("Italic") }, "\(fonts)")
  }

  @Test("letters are the renderer's drawings of the glyphs the seed's data stream chooses: labels cycle, ink centred, seeds differ")
  func lettersFromTheDataStream() throws {
    let renderer = LetterRenderer.shared
    var streams = Lesson.Streams(seed: 7)
    var lesson = try Lesson.parse("data: {dataset: letters, count: 40, size: 16, classes: 4}\nnetwork: [flatten]\n", path: "l.yaml")
    lesson.glyphRenderer = renderer
    let data = try lesson.loadData(rng: &streams.data)
    #expect(data.x.shape == [40, 1, 16, 16])
    #expect(data.labels == (0..<40).map { $0 % 4 })
    #expect(data.classNames == ["A", "B", "C", "D"])
    // Independently: the same stream's choices, drawn one glyph at a time.
    var again = Lesson.Streams(seed: 7).data
    let glyphs = Letters.glyphs(count: 40, side: 16, classes: 4, fonts: renderer.fonts.count, rng: &again)
    var pixels: [Double] = []
    for g in glyphs { pixels += try renderer.render([g], side: 16) }
    #expect(pixels == data.x.data)
    #expect(Set(glyphs.map(\.font)).count > 1, "one font only: \(glyphs.map(\.font))")
    for (n, g) in glyphs.enumerated() {
      let image = Array(data.x.data[n * 256..<(n + 1) * 256])
      #expect(image.allSatisfy { $0 >= 0 && $0 <= 1 } && image.max()! > 0.9, "sample \(n) has no ink")
      // The ink's centre of mass lies near the image centre plus the glyph's shift (the box is
      // centred, not the mass: allow 3 pixels).
      let mass = image.reduce(0, +)
      let cx = image.indices.reduce(0.0) { $0 + image[$1] * (Double($1 % 16) + 0.5) } / mass
      let cy = image.indices.reduce(0.0) { $0 + image[$1] * (Double($1 / 16) + 0.5) } / mass
      #expect(abs(cx - 8 - g.dx) < 3 && abs(cy - 8 - g.dy) < 3, "sample \(n): centre (\(cx), \(cy)), shift (\(g.dx), \(g.dy))")
    }
    var other = Lesson.Streams(seed: 8)
    #expect(try lesson.loadData(rng: &other.data).x.data != data.x.data)
  }

  @Test("the fingerprint covers the generated letters: other fonts, another fingerprint; the same, the same")
  func fingerprintCoversFonts() throws {
    let regular = try Self.dejaVu("DejaVuSans.ttf"), bold = try Self.dejaVu("DejaVuSans-Bold.ttf")
    let a = try Self.letters(count: 40, renderer: LetterRenderer(faces: [regular]))
    let b = try Self.letters(count: 40, renderer: LetterRenderer(faces: [regular]))
    let c = try Self.letters(count: 40, renderer: LetterRenderer(faces: [bold]))
    #expect(a.fingerprint == b.fingerprint)
    #expect(a.fingerprint != c.fingerprint)
    #expect(a.split.train.x.data != c.split.train.x.data)
    // The lesson text is the same for all three: only the data digest tells them apart.
    #expect(a.lesson.source == c.lesson.source && a.dataDigest != c.dataDigest)
  }

  @Test("a letters lesson with no renderer gives one line saying what to register")
  func missingRenderer() throws {
    #expect(throws: SheetNetError.self) { try Self.letters(renderer: nil) }
    do {
      _ = try Self.letters(renderer: nil)
    } catch {
      let line = String(describing: error)
      #expect(line.hasPrefix("letters.yaml: dataset letters needs a letter renderer") && !line.contains("\n"), "\(line)")
    }
  }

  @Test("a small CNN learns the letters far above chance (10 %) on held-out images")
  func lettersAreLearnable() throws {
    let run = try Self.letters(count: 600)
    try run.train()
    let test = run.evaluate(run.split.test!)
    #expect(test.accuracy! > 0.6, "test accuracy \(test.accuracy!)")
  }

  // MARK: momentum-vs-sgd

  @Test("momentum-vs-sgd: the optimizers figure runs the lesson's two optimizers, and momentum ends far lower")
  func momentumBeatsSGD() throws {
    let source = try lessonSource("momentum-vs-sgd", epochs: 0)
    let run = source.run!
    #expect(run.lesson.compare.count == 2)
    let choices = Figure.optimizerChoices(for: run.lesson)
    #expect(choices.map(\.name) == ["SGD", "momentum"])
    #expect(choices.map(\.settings) == ["η = 0.1", "η = 0.1, β = 0.9"])
    // The lesson's full training under each, by the engine's own LessonRun (not the figure's loop).
    var finals: [Double] = []
    for configuration in run.lesson.compare {
      let fresh = try LessonRun(run.lesson, seed: run.seed)
      fresh.trainer.optimizer = configuration.make()
      try fresh.train()
      finals.append(fresh.history.epochs.last!.trainLoss)
    }
    #expect(finals[1] < finals[0] / 100, "SGD \(finals[0]), momentum \(finals[1])")
    #expect(finals[0] > 0.01, "plain SGD should still be in the valley: \(finals[0])")
    // The figure's own runs agree: the same first loss, momentum's last far below SGD's.
    let trials = try Figure.optimizerTrials(source, run, layer: "dense1", span: Figure.OptimizerSpan(epochs: 200, steps: 200, stepsPerEpoch: 1))
    #expect(trials.count == 2 && trials[0].losses.first == trials[1].losses.first)
    #expect(trials[1].losses.last! < trials[0].losses.last! / 100, "\(trials.map { $0.losses.last! })")
    let canvas = try record(try Catalogue.make(.optimizers, source, options())[0])
    #expect(canvas.texts.contains { $0.string.hasPrefix("SGD and momentum from one seed") }, "\(canvas.texts.map(\.string))")
  }

  @Test("without compare the figure keeps its three: SGD, momentum, Adam")
  func defaultComparison() throws {
    let lesson = try Lesson.load(packagePath("Worksheets/xor.yaml"))
    #expect(lesson.compare.isEmpty)
    #expect(Figure.optimizerChoices(for: lesson).map(\.name) == ["SGD", "momentum", "Adam"])
  }

  // MARK: overfitting

  @Test("overfitting: the validation loss is lowest early and ends far above it, while the training loss keeps falling; the training figure draws it")
  func overfits() throws {
    let source = try lessonSource("overfitting")
    let history = source.run!.history.epochs
    let validation = history.map { $0.validationLoss! }, training = history.map(\.trainLoss)
    let best = validation.indices.min { validation[$0] < validation[$1] }!
    #expect(best < history.count / 4, "validation minimum at epoch \(best + 1) of \(history.count)")
    #expect(validation.last! > 2 * validation[best], "validation \(validation[best]) → \(validation.last!)")
    #expect(training.last! < training[best] / 2, "training \(training[best]) → \(training.last!)")
    // Still falling over the last quarter.
    #expect(training.last! < training[history.count * 3 / 4])
    // The training figure's dashed orange validation line: its lowest point (largest y) lies in
    // the first quarter of the line, its end well above it.
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    let mid = Theme.slide.size.width / 2
    let lines = canvas.operations.compactMap { op -> [Point]? in
      guard case .stroke(let path, let color, _, let dash) = op, color == Color(hex: 0xE69F00), !dash.isEmpty else { return nil }
      let points = path.elements.compactMap { e -> Point? in
        switch e {
        case .move(let p), .line(let p): return p
        default: return nil
        }
      }
      return points.count >= 20 && points[0].x < mid ? points : nil
    }
    let line = try #require(lines.max { $0.count < $1.count }, "no validation loss line")
    let lowest = line.indices.max { line[$0].y < line[$1].y }!
    #expect(lowest < line.count / 4, "lowest point \(lowest) of \(line.count)")
    #expect(line.last!.y < line[lowest].y - 50, "end \(line.last!.y), lowest \(line[lowest].y)")
  }
}
