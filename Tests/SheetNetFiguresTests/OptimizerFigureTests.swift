import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Optimizers: one seed under SGD, momentum and Adam")
struct OptimizerFigureTests {
  /// ΔW = W′ − W of `layer` in step 1 and that step's loss, from the lesson trained afresh by the
  /// engine's own `LessonRun` and `Trainer.fit` with `optimizer` (independent of the figure).
  static func firstUpdate(_ source: FigureSource, _ layer: String, _ optimizer: any Optimizer) throws -> (delta: Tensor, loss: Double) {
    let fresh = try LessonRun(source.lesson, seed: source.run!.seed)
    fresh.trainer.optimizer = optimizer
    let tracer = Tracer()
    let point = TracePoint(step: 1, tracer: tracer)
    try fresh.train(trace: point)
    let before = tracer.entry("\(layer).forward.W")!.value
    var delta = tracer.entry("\(layer).update.W")!.value
    for i in 0..<delta.count { delta.data[i] -= before.data[i] }
    return (delta, point.loss!)
  }

  /// Colours equal to 10⁻⁹ in every channel.
  static func close(_ a: Raster, _ b: Raster) -> Bool {
    a.width == b.width && a.height == b.height
      && zip(a.pixels, b.pixels).allSatisfy { abs($0.r - $1.r) < 1e-9 && abs($0.g - $1.g) < 1e-9 && abs($0.b - $1.b) < 1e-9 }
  }

  @Test("the first ΔW panels are W′ − W of independent runs on one symmetric scale, and the loss lines start together",
        arguments: [("xor", "dense1"), ("iris-mlp", "dense1"), ("test:small-cnn", "conv1")])
  func firstUpdates(_ lesson: String, _ layer: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    let canvas = try record(try Catalogue.make(.optimizers, source, options())[0])
    let choices = Figure.optimizerChoices(source.lesson.optimizer)
    #expect(choices.map(\.name) == ["SGD", "momentum", "Adam"])
    let updates = try choices.map { try Self.firstUpdate(source, layer, $0.make()) }
    let scale = ColorScale.symmetric(updates.flatMap(\.delta.data))
    let view = Figure.weightView(source.model.layer(named: layer)!, shape: updates[0].delta.shape, in: source.model)
    let maps = canvas.images.filter { $0.raster.width > 1 && $0.raster.height > 1 }
    #expect(maps.count == 3 * view.tiles.count)
    guard maps.count == 3 * view.tiles.count else { return }
    for (k, update) in updates.enumerated() {
      for (i, tile) in view.tiles.enumerated() {
        let expected = Raster(values: tile.indices.map { update.delta.data[$0] }, width: tile.columns, colormap: .diverging, scale: scale)
        #expect(Self.close(maps[k * view.tiles.count + i].raster, expected), "\(choices[k].name), tile \(i + 1)")
      }
    }
    // The rates are stated beside the lines.
    for choice in choices { #expect(canvas.texts(choice.settings).count >= 1, "\(choice.name): \(choice.settings)") }
    // Same initial weights, same first batch: the same first loss, which is where all three lines start.
    #expect(updates.allSatisfy { abs($0.loss - updates[0].loss) < 1e-12 })
    let starts = (0..<3).compactMap { k in
      canvas.operations.compactMap { op -> Point? in
        guard case .stroke(let path, let color, let width, _) = op, color == ClassColors.color(k), abs(width - Theme.slide.lineWidth * 0.8) < 1e-9,
              case .move(let p) = path.elements.first else { return nil }
        return p
      }.first
    }
    #expect(starts.count == 3)
    #expect(starts.allSatisfy { abs($0.x - starts[0].x) < 1e-9 && abs($0.y - starts[0].y) < 1e-9 }, "\(starts)")
    let trials = try Figure.optimizerTrials(source.run!, layer: layer, steps: 3)
    for (trial, update) in zip(trials, updates) { #expect(abs(trial.losses[0] - update.loss) < 1e-12, "\(trial.choice.name)'s first loss") }
  }

  @Test("Adam's first ΔW is ±η, and the page says so under its panel")
  func adamSaturates() throws {
    let source = try lessonSource("iris-mlp", epochs: 0)
    let canvas = try record(try Catalogue.make(.optimizers, source, options())[0])
    let adam = Figure.optimizerChoices(source.lesson.optimizer)[2]
    let (delta, _) = try Self.firstUpdate(source, "dense1", adam.make())
    let eta = adam.make().learningRate
    for d in delta.data where d != 0 { #expect(abs(abs(d) - eta) < 1e-3 * eta) }
    let note = canvas.texts.first { $0.string.contains("−η·sign(dW)") }
    let panel = canvas.images.filter { $0.raster.width > 1 && $0.raster.height > 1 }.last!.rect
    #expect(note != nil)
    if let note { #expect(note.box.y > panel.maxY && note.box.midX > panel.x && note.box.midX < panel.maxX) }
  }

  @Test("refusals: a lesson without data names architecture; --layer must have weights")
  func refusals() throws {
    let vgg = try lessonSource("tiny-vgg", epochs: 0)
    do { try Catalogue.check(.optimizers, vgg, options()); Issue.record("accepted tiny-vgg") } catch {
      #expect(error.description.contains("architecture") && !error.description.contains("\n"))
    }
    let xor = try lessonSource("xor", epochs: 0)
    var o = options()
    o.layer = "sigmoid1"
    o.given = [.layer]
    do { try Catalogue.check(.optimizers, xor, o); Issue.record("accepted --layer sigmoid1") } catch {
      #expect(error.description.contains("dense1, dense2"))
    }
    o.layer = "dense2"
    try Catalogue.check(.optimizers, xor, o)
    let canvas = try record(try Catalogue.make(.optimizers, xor, o)[0])
    #expect(canvas.texts.contains { $0.string.contains("ΔW of dense2") })
  }
}
