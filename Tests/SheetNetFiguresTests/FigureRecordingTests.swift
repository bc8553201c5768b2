import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// `Catalogue.prepare` before training, then `Catalogue.make`: the figures that show moments of
/// training (step 1, the network as initialised, the epochs of a filmstrip, the graph's step)
/// read them from the run the caller trained. `Trainer.$stepCounter` counts every training step
/// taken anywhere inside its scope, so a figure that trained a second run would be seen.
@Suite("Figures read the run that trained: no second training")
struct FigureRecordingTests {
  /// The lesson's run, with `epochs` instead of the lesson's when given.
  func run(_ lesson: String, _ epochs: Int?) throws -> LessonRun {
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/\(lesson).yaml")))
    if let epochs { run.trainer.epochs = epochs }
    return run
  }

  @Test("prepared, trained once, drawn: drawing trains no step, and draws the bytes a replay from the seed draws", arguments: [
    ("xor", nil as Int?, [FigureKind.filmstrip, .training, .gradients]),
    ("mazur", nil, [FigureKind.graph, .gradients, .training]),
    ("digits-mlp", 2, [FigureKind.training, .gradients]),
    ("digits-cnn", 1, [FigureKind.gradients, .training]),
  ])
  func noSecondTraining(_ lesson: String, _ epochs: Int?, _ kinds: [FigureKind]) throws {
    let run = try run(lesson, epochs)
    let source = FigureSource(run: run)
    for kind in kinds { try Catalogue.prepare(kind, source, options()) }
    let training = StepCounter()
    try Trainer.$stepCounter.withValue(training) { try run.train() }
    let stepsPerEpoch = (run.split.train.count + run.lesson.batchSize - 1) / run.lesson.batchSize
    #expect(training.steps == run.trainer.epochs * stepsPerEpoch, "the recorded run trained \(training.steps) steps")
    let drawing = StepCounter()
    let figures = try Trainer.$stepCounter.withValue(drawing) { try kinds.flatMap { try Catalogue.make($0, source, options()) } }
    #expect(drawing.steps == 0, "drawing \(kinds.map(\.rawValue)) from \(lesson) trained \(drawing.steps) steps")

    // The same run trained without `prepare`: recording changed no number of the training, and
    // the figures, which now replay what they lack from the seed (the counter sees those steps),
    // are the same bytes.
    let plain = try self.run(lesson, epochs)
    try plain.train()
    #expect(ModelFile(run: plain).text == ModelFile(run: run).text)
    let replay = StepCounter()
    let replayed = try Trainer.$stepCounter.withValue(replay) { try kinds.flatMap { try Catalogue.make($0, FigureSource(run: plain), options()) } }
    #expect(replay.steps > 0, "the replay of \(kinds.map(\.rawValue)) took no step: the counter would miss a second training")
    try #require(figures.count == replayed.count)
    for (a, b) in zip(figures, replayed) {
      #expect(a.name == b.name)
      #expect(try FigureFile.render(a, as: .svg, scale: 1) == FigureFile.render(b, as: .svg, scale: 1), "\(a.name) of \(lesson) differs from its replay")
    }
  }

  @Test("filmstrips for a slide and for print, prepared together, come from one training")
  func filmstripsOfTwoPages() throws {
    let run = try run("xor", nil)
    let source = FigureSource(run: run)
    var print = options(.print)
    print.epochs = [0, 2, 5]
    for o in [options(), print] { try Catalogue.prepare(.filmstrip, source, o) }
    try run.train()
    let drawing = StepCounter()
    let figures = try Trainer.$stepCounter.withValue(drawing) { try [options(), print].map { try Catalogue.make(.filmstrip, source, $0)[0] } }
    #expect(drawing.steps == 0, "the filmstrips trained \(drawing.steps) steps")
    let plain = try self.run("xor", nil)
    try plain.train()
    let replayed = try [options(), print].map { try Catalogue.make(.filmstrip, FigureSource(run: plain), $0)[0] }
    for (a, b) in zip(figures, replayed) {
      #expect(try FigureFile.render(a, as: .svg, scale: 1) == FigureFile.render(b, as: .svg, scale: 1))
    }
  }

  @Test("a run restored from a saved model records nothing; its figures replay step 1 alone from the seed")
  func restoredRunReplaysOnlyStepOne() throws {
    let trained = try run("digits-mlp", 2)
    try trained.train()
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-recording-\(UUID().uuidString)").path
    defer { try? FileManager.default.removeItem(atPath: folder) }
    var batch = OutputBatch(folder: folder)
    try batch.add(ModelFile(run: trained).text, as: "model.json")
    try batch.add(trained.history.csv(layers: trained.model.layers.map(\.name)), as: "history.csv")
    try batch.commit()

    let restored = try run("digits-mlp", 2)
    let source = FigureSource(run: restored)
    guard case .reused = try restored.restoreSaved(modelPath: "\(folder)/model.json") else {
      Issue.record("the saved model was not reused")
      return
    }
    #expect(!restored.isInitial)
    try Catalogue.prepare(.gradients, source, options())
    let drawing = StepCounter()
    _ = try Trainer.$stepCounter.withValue(drawing) { try Catalogue.make(.gradients, source, options()) }
    #expect(drawing.steps == 1, "gradients of a restored run took \(drawing.steps) steps, not step 1 alone")
  }
}
