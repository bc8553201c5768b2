import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Optimizers: one seed under SGD, momentum and Adam")
struct OptimizerFigureTests {
  /// ΔW = W′ − W of `layer` in step 1, from the lesson trained afresh by the engine's own
  /// `LessonRun` and `Trainer.fit` with `optimizer` (independent of the figure).
  static func firstUpdate(_ source: FigureSource, _ layer: String, _ optimizer: any Optimizer) throws -> Tensor {
    let fresh = try LessonRun(source.lesson, seed: source.run!.seed)
    fresh.trainer.optimizer = optimizer
    let tracer = Tracer()
    try fresh.train(trace: TracePoint(step: 1, tracer: tracer))
    let before = tracer.entry("\(layer).forward.W")!.value
    var delta = tracer.entry("\(layer).update.W")!.value
    for i in 0..<delta.count { delta.data[i] -= before.data[i] }
    return delta
  }

  @Test("each line is the engine's own run for whole epochs: at every epoch's end the lesson's History mean, and step 1's distance is ‖ΔW‖",
        arguments: [("xor", "dense1"), ("iris-mlp", "dense1"), ("test:small-cnn", "conv1")])
  func linesAreTheEnginesRuns(_ lesson: String, _ layer: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    let run = source.run!
    var o = options()
    o.layer = layer
    o.given = [.layer]
    let canvas = try record(try Catalogue.make(.optimizers, source, o)[0])
    let choices = Figure.optimizerChoices(source.lesson.optimizer)
    #expect(choices.map(\.name) == ["SGD", "momentum", "Adam"])
    let span = Figure.optimizerSpan(run, runs: 3)
    let epochs = try #require(span.epochs, "whole epochs")
    let trials = try Figure.optimizerTrials(source, run, layer: layer, span: span)
    for (choice, trial) in zip(choices, trials) {
      // The engine's own training for the same epochs: its History is what the line meets at each epoch's end.
      let fresh = try LessonRun(source.lesson, seed: run.seed)
      fresh.trainer.optimizer = choice.make()
      fresh.trainer.epochs = epochs
      try fresh.train()
      let smoothed = Figure.runningMean(trial.losses, sizes: trial.sizes, window: span.stepsPerEpoch)
      for (e, record) in fresh.history.epochs.enumerated() {
        #expect(abs(smoothed[(e + 1) * span.stepsPerEpoch - 1] - record.trainLoss) < 1e-9 * max(1, record.trainLoss), "\(lesson) \(choice.name), epoch \(e + 1)")
      }
      let delta = try Self.firstUpdate(source, layer, choice.make())
      #expect(abs(trial.distances[0] - delta.norm) < 1e-12, "\(choice.name): step 1 moves W by ‖ΔW‖")
      #expect(canvas.texts(choice.settings).count >= 1, "\(choice.name): \(choice.settings)")
    }
    #expect(canvas.texts("loss (log scale)").count == 1 && canvas.texts("‖θ − θ₀‖").count == 1)
    // The same first batch from the same weights: all three lines start at one point.
    let starts = (0..<3).compactMap { k in
      canvas.operations.compactMap { op -> Point? in
        guard case .stroke(let path, let color, let width, _) = op, color == ClassColors.color(k), abs(width - Theme.slide.lineWidth * 0.8) < 1e-9,
              case .move(let p) = path.elements.first else { return nil }
        return p
      }.first
    }
    #expect(starts.count == 3)
    #expect(starts.allSatisfy { abs($0.x - starts[0].x) < 1e-9 && abs($0.y - starts[0].y) < 1e-9 }, "\(starts)")
  }

  @Test("the CNNs train whole epochs within the budget (they ran 14 and 10 steps)", arguments: ["digits-cnn", "letters-cnn"])
  func cnnsTrainWholeEpochs(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    let run = source.run!
    let span = Figure.optimizerSpan(run, runs: 3)
    let epochs = try #require(span.epochs)
    #expect(epochs >= 1 && span.steps == epochs * span.stepsPerEpoch)
    let batch = min(run.lesson.batchSize, run.split.train.count)
    let estimate = 3 * Limits.trainingSeconds(run.model, trainedSamples: Double(run.split.train.count * epochs), evaluatedSamples: 0, batch: batch)
    #expect(estimate <= Figure.optimizerBudget, "\(lesson): \(estimate) s by the estimate")
    if epochs < run.lesson.epochs {  // one more epoch would not fit
      let more = 3 * Limits.trainingSeconds(run.model, trainedSamples: Double(run.split.train.count * (epochs + 1)), evaluatedSamples: 0, batch: batch)
      #expect(more > Figure.optimizerBudget)
    }
  }

  @Test("what replaced the first ΔW differs between SGD and momentum: their first steps are equal by construction, their distances part after")
  func distancesDiffer() throws {
    let source = try lessonSource("xor", epochs: 0)
    let span = Figure.optimizerSpan(source.run!, runs: 3)
    let trials = try Figure.optimizerTrials(source, source.run!, layer: nil, span: span)
    let (sgd, momentum, adam) = (trials[0].distances, trials[1].distances, trials[2].distances)
    #expect(abs(sgd[0] - momentum[0]) < 1e-15, "v starts at 0: step 1 is SGD's")
    #expect(abs(sgd[1] - momentum[1]) > 1e-6 && abs(sgd.last! - momentum.last!) > 0.1 * sgd.last!)
    #expect(abs(adam[0] - sgd[0]) > 1e-6)
    // The right panel draws them: three lines, not on top of each other.
    let canvas = try record(try Catalogue.make(.optimizers, source, options())[0])
    let mid = Theme.slide.size.width / 2
    let ends = (0..<3).compactMap { k in
      canvas.operations.compactMap { op -> Point? in
        guard case .stroke(let path, let color, _, _) = op, color == ClassColors.color(k), (path.bounds?.x ?? 0) > mid, case .line(let p)? = path.elements.last else { return nil }
        return p
      }.last
    }
    #expect(ends.count == 3)
    #expect(Set(ends.map { Int($0.y.rounded()) }).count == 3, "\(ends)")
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
    #expect(canvas.texts.contains { $0.string.contains("how far dense2's W has moved") })
  }
}
