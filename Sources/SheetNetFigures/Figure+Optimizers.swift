import Foundation
import SheetNet

/// `optimizers`: the same seed, the same initial weights and the same mini-batches trained under
/// SGD, SGD with momentum and Adam, or under the optimizers the lesson lists in `compare:`, for
/// whole epochs (as many of the lesson's as fit `optimizerBudget`; a network too large for one
/// epoch in it gets as many steps as fit, at least 10). Left: the training loss on a log scale,
/// each step's value the mean of the last epoch's batch losses (so it meets the `training`
/// figure's epoch means at whole epochs). Right: how far each optimizer has moved the weights,
/// ‖θₜ − θ₀‖ over the trainable parameters (or `--layer`'s W), which differs from step 1 on
/// (Adam's first step is ±η in every weight) and shows momentum gathering speed where SGD creeps;
/// the first update ΔW it replaces is the same for SGD and momentum by construction (v starts at 0).
extension Figure {
  static func checkOptimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    _ = try source.requireRun(.optimizers)
    _ = try optimizerLayer(source, options)
  }

  /// The layer whose distance travelled `--layer` asks for (nil: all trainable parameters).
  static func optimizerLayer(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> (any Layer)? {
    let all = source.model.layers.filter { $0 is Dense || $0 is Conv2D }
    guard !all.isEmpty else {
      throw .notApplicable("optimizers compares weight updates, but \(source.lesson.path) has no dense or conv2d layer; try architecture")
    }
    guard options.layer != nil else { return nil }
    return try pick(options.layer, in: source.model, among: all, what: "layers with weights (dense, conv2d)")
  }

  /// One optimizer of the comparison: its name, its settings and how to make it.
  struct OptimizerChoice {
    /// "SGD", "momentum", "Adam".
    var name: String
    /// Its settings for the label: "η = 0.1, β = 0.9".
    var settings: String
    /// True for the lesson's own optimizer.
    var lessons: Bool
    /// A fresh optimizer (no state, step 0).
    var make: () -> any Optimizer
  }

  /// The optimizers a lesson's figure compares: those in its `compare:` list, in that order, or
  /// else SGD, momentum and Adam (`optimizerChoices(_:)`).
  static func optimizerChoices(for lesson: Lesson) -> [OptimizerChoice] {
    guard !lesson.compare.isEmpty else { return optimizerChoices(lesson.optimizer) }
    let text = { (x: Double) in NumberFormat.shortest(x) }
    return lesson.compare.map { c in
      let decay = c.weightDecay > 0 ? ", λ = \(text(c.weightDecay))" : ""
      switch c.kind {
      case .adam:
        return OptimizerChoice(name: "Adam", settings: "η = \(text(c.learningRate))\(decay)", lessons: c == lesson.optimizer, make: c.make)
      case .sgd where c.momentum > 0:
        return OptimizerChoice(name: c.nesterov ? "Nesterov" : "momentum", settings: "η = \(text(c.learningRate)), β = \(text(c.momentum))\(decay)",
                               lessons: c == lesson.optimizer, make: c.make)
      case .sgd:
        return OptimizerChoice(name: "SGD", settings: "η = \(text(c.learningRate))\(decay)", lessons: c == lesson.optimizer, make: c.make)
      }
    }
  }

  /// SGD, momentum (β = 0.9, or the lesson's) and Adam at the rates a lecturer would use: the
  /// lesson's own rate for its own optimizer; otherwise SGD and momentum at the lesson's SGD rate
  /// (0.1 when the lesson uses Adam) and Adam at 0.01 (the lesson's settings when it uses Adam).
  /// The lesson's weight decay is kept for all three.
  static func optimizerChoices(_ lesson: OptimizerConfiguration) -> [OptimizerChoice] {
    let text = { (x: Double) in NumberFormat.shortest(x) }
    var sgd = OptimizerConfiguration(kind: .sgd), momentum = sgd, adam = OptimizerConfiguration(kind: .adam)
    sgd.learningRate = lesson.kind == .sgd ? lesson.learningRate : 0.1
    momentum.learningRate = sgd.learningRate
    momentum.momentum = lesson.kind == .sgd && lesson.momentum > 0 ? lesson.momentum : 0.9
    momentum.nesterov = lesson.kind == .sgd && lesson.nesterov
    if lesson.kind == .adam { adam = lesson } else { adam.learningRate = 0.01 }
    sgd.weightDecay = lesson.weightDecay
    momentum.weightDecay = lesson.weightDecay
    adam.weightDecay = lesson.weightDecay
    return [
      OptimizerChoice(name: "SGD", settings: "η = \(text(sgd.learningRate))", lessons: lesson.kind == .sgd && lesson.momentum == 0, make: sgd.make),
      OptimizerChoice(name: momentum.nesterov ? "Nesterov" : "momentum", settings: "η = \(text(momentum.learningRate)), β = \(text(momentum.momentum))",
                      lessons: lesson.kind == .sgd && lesson.momentum > 0, make: momentum.make),
      OptimizerChoice(name: "Adam", settings: "η = \(text(adam.learningRate))", lessons: lesson.kind == .adam, make: adam.make),
    ]
  }

  /// The seconds all the comparison's runs may train together, by the engine's own estimate
  /// (`Limits.trainingSeconds`, which runs 1–2.5 times the measured time): 3 s. Within it the runs
  /// take whole epochs, as many of the lesson's as fit.
  public static let optimizerBudget = 3.0

  /// How long each optimizer trains: whole epochs (`epochs`), or for a network of which one epoch
  /// under every optimizer does not fit `optimizerBudget`, `steps` steps of the first epoch.
  struct OptimizerSpan: Equatable {
    /// Whole epochs trained, nil when only part of one fits.
    var epochs: Int?
    /// Steps trained in all.
    var steps: Int
    /// Steps an epoch.
    var stepsPerEpoch: Int
  }

  /// The span of each run: E = min(the lesson's epochs, ⌊budget / (runs × one epoch's estimate)⌋)
  /// epochs when that is at least 1; else the steps that fit (at least 10, at most an epoch).
  static func optimizerSpan(_ run: LessonRun, runs: Int) -> OptimizerSpan {
    let samples = run.split.train.count
    let batch = min(max(run.lesson.batchSize, 1), samples)
    let perEpoch = (samples + batch - 1) / batch
    let epochSeconds = Limits.trainingSeconds(run.model, trainedSamples: Double(samples), evaluatedSamples: 0, batch: batch) * Double(max(runs, 1))
    let fit = Int(min(optimizerBudget / max(epochSeconds, 1e-12), 1e9))
    if fit >= 1 {
      let epochs = max(1, min(run.lesson.epochs, fit))
      return OptimizerSpan(epochs: epochs, steps: epochs * perEpoch, stepsPerEpoch: perEpoch)
    }
    let steps = Int(optimizerBudget / max(epochSeconds, 1e-12) * Double(perEpoch))
    return OptimizerSpan(epochs: nil, steps: min(perEpoch, max(10, steps)), stepsPerEpoch: perEpoch)
  }

  /// One optimizer's run from the lesson's seed.
  struct OptimizerTrial {
    /// Which optimizer.
    var choice: OptimizerChoice
    /// The batch loss of each step, in order (stops early at a non-finite loss).
    var losses: [Double]
    /// The samples in each step's batch (an epoch's last may be short).
    var sizes: [Int] = []
    /// ‖θₜ − θ₀‖ after each step t: the distance travelled from the initial weights.
    var distances: [Double]
    /// The trainable parameters flattened (layer by layer, W then b) at the steps `pathSteps`
    /// (0 = as initialised), when asked for (`landscape`).
    var path: [[Double]] = []
    /// The steps of `path`'s points.
    var pathSteps: [Int] = []
    /// With the path, the non-trainable parameters (batch norm's running statistics) at the end.
    var fixed: [Tensor] = []
  }

  /// The most points of each optimizer's path `optimizerTrials` keeps (the last step always).
  static let pathPoints = 60

  /// The trainable parameters of `model`, or `layer`'s W alone.
  static func trainable(_ model: Sequential, layer: String?) -> [Parameter] {
    if let layer { return model.layer(named: layer)?.parameters.filter { $0.name == "W" } ?? [] }
    return model.layers.flatMap { $0.parameters.filter(\.trainable) }
  }

  /// Trains the lesson afresh (same seed: same initial weights and batches, `freshTrainer`) with
  /// each optimizer for `span`, as `Trainer.fit` does (the step's generator forked first, then
  /// each epoch's seeded batches), recording every step's loss and distance travelled (of the
  /// trainable parameters, or `layer`'s W), and with `paths` the parameters at up to `pathPoints`
  /// steps. Kept in the source's recording, so `optimizers` and `landscape`, and both page sizes,
  /// train them once.
  static func optimizerTrials(_ source: FigureSource, _ run: LessonRun, layer: String?, span: OptimizerSpan, paths: Bool = false) throws(FigureError) -> [OptimizerTrial] {
    let key = "\(layer ?? "*")|\(span.steps)"
    if let cached = source.recording.optimizerTrials[key], !paths || cached.allSatisfy({ !$0.path.isEmpty }) { return cached }
    var trials: [OptimizerTrial] = []
    let stride = max(1, (span.steps + pathPoints - 1) / pathPoints)
    for choice in optimizerChoices(for: run.lesson) {
      let optimizer = choice.make()
      var trainer: Trainer
      do { trainer = try freshTrainer(run, optimizer: optimizer) } catch { throw .lesson(error.description) }
      let model = trainer.model
      let measured = trainable(model, layer: layer)
      let start = measured.map(\.value)
      let all = paths ? trainable(model, layer: nil) : []
      func flat() -> [Double] { all.flatMap(\.value.data) }
      let train = run.split.train
      let targets = train.targets(outputs: model.outputShape.reduce(1, *))
      let step = Step(training: true, rng: trainer.rng.fork())
      var trial = OptimizerTrial(choice: choice, losses: [], distances: [])
      if paths { trial.path.append(flat()); trial.pathSteps.append(0) }
      training: while trial.losses.count < span.steps {
        for batch in trainer.batches(count: train.count) {
          let x = train.x.gathering(rows: batch), t = targets.gathering(rows: batch)
          let (value, _) = model.trainStep(x, t, loss: run.loss, optimizer: optimizer, step)
          trial.losses.append(value)
          trial.sizes.append(batch.count)
          var squares = 0.0
          for (p, w0) in zip(measured, start) {
            for i in 0..<w0.count { let d = p.value.data[i] - w0.data[i]; squares += d * d }
          }
          trial.distances.append(squares.squareRoot())
          let done = !value.isFinite || trial.losses.count >= span.steps
          if paths && (trial.losses.count % stride == 0 || done) { trial.path.append(flat()); trial.pathSteps.append(trial.losses.count) }
          if done { break training }
        }
      }
      if paths { trial.fixed = model.layers.flatMap { $0.parameters.filter { !$0.trainable } }.map(\.value) }
      trials.append(trial)
    }
    source.recording.optimizerTrials[key] = trials
    return trials
  }

  /// `parts` joined with "; " onto as few lines of `width` as they fit.
  static func packedLines(_ parts: [String], width: Double, style: TextStyle, on canvas: any Canvas) -> [String] {
    var lines: [String] = []
    for part in parts {
      if let line = lines.last, canvas.measure(line + "; " + part, style: style).width <= width { lines[lines.count - 1] = line + "; " + part }
      else { lines.append(part) }
    }
    return lines
  }

  /// Each step's mean of the last `window` batch losses (fewer at the start), each weighted by
  /// its batch's samples: at the end of an epoch of `window` steps, that epoch's mean loss as the
  /// history records it and `training` plots it.
  static func runningMean(_ values: [Double], sizes: [Int], window: Int) -> [Double] {
    values.indices.map { i in
      let range = max(0, i - window + 1)...i
      let total = range.reduce(0.0) { $0 + values[$1] * Double(sizes[$1]) }, count = range.reduce(0) { $0 + sizes[$1] }
      return total / Double(max(count, 1))
    }
  }

  static func optimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.optimizers)
    let layer = try optimizerLayer(source, options)
    let theme = options.theme
    let batch = min(run.lesson.batchSize, run.split.train.count)
    let choices = optimizerChoices(for: run.lesson)
    let span = optimizerSpan(run, runs: choices.count)
    let trials = try optimizerTrials(source, run, layer: layer?.name, span: span)
    let perEpoch = Double(span.stepsPerEpoch)
    // x: epochs (step t at t / steps-per-epoch), or steps when less than an epoch is trained.
    let byEpoch = span.epochs != nil
    let xOf = { (t: Int) -> Double in byEpoch ? Double(t) / perEpoch : Double(t) }
    let smoothed = trials.map { runningMean($0.losses, sizes: $0.sizes, window: byEpoch ? span.stepsPerEpoch : 1) }
    let colors = trials.indices.map { ClassColors.color($0) }
    let finite = smoothed.flatMap { $0 }.filter { $0.isFinite && $0 > 0 }
    let first = smoothed.first?.first ?? 1
    // Clipped at twice the first loss, so one optimizer's blow-up does not flatten the others.
    let top = min(finite.max() ?? 1, 2 * max(first, 1e-12)), bottom = max(finite.min() ?? 1e-3, top * 1e-12)
    let clipped = (finite.max() ?? 0) > top
    let diverged = trials.filter { $0.losses.last.map { !$0.isFinite } ?? false }.map { "\($0.choice.name) diverged at step \($0.losses.count)" }
    let names = run.lesson.compare.isEmpty ? "SGD, momentum and Adam" : listed(trials.map(\.choice.name))
    let lessons = trials.first { $0.choice.lessons }.map { "; the lesson uses \($0.choice.name)" } ?? ""
    let spanText: String
    if let epochs = span.epochs {
      let all = epochs == run.lesson.epochs ? (epochs == 1 ? "the lesson's one epoch" : "all \(NumberFormat.integer(epochs)) epochs of the lesson")
        : "\(NumberFormat.integer(epochs)) of the lesson's \(NumberFormat.integer(run.lesson.epochs)) epochs"
      spanText = "\(all) (\(NumberFormat.integer(span.steps)) steps)"
    } else {
      spanText = "\(NumberFormat.integer(span.steps)) steps of an epoch's \(NumberFormat.integer(span.stepsPerEpoch))"
    }
    let budget = span.epochs == run.lesson.epochs ? "" : ", what fits in \(NumberFormat.shortest(optimizerBudget)) s"
    let what = layer.map { "\($0.name)'s W has" } ?? "the weights have"
    let parts = ["Same initial weights (seed \(run.seed)) and batches of \(batch)", "\(spanText)\(budget)"]
      + (lessons.isEmpty ? [] : [String(lessons.dropFirst(2))]) + diverged
      + ["left: training loss\(byEpoch && span.stepsPerEpoch > 1 ? ", the mean of the last epoch's batch losses" : "")\(clipped ? ", clipped at \(NumberFormat.significant(top, 2))" : "")",
         "right: how far \(what) moved, ‖θ − θ₀‖"]
    return Figure(name: "optimizers", size: theme.size) { canvas in
      let lines = packedLines(parts, width: theme.size.width - 2 * theme.margin, style: theme.note, on: canvas)
      let body = notedPage(canvas, theme, title: "\(names) from one seed: \(source.name)", lines: lines)
      let panels = body.columns(2, gap: 0)
      let xTitle = byEpoch ? "epoch" : "step"
      let xRange = (0.0, max(xOf(span.steps), 1))
      var lossPlot = Plot(x: xRange, y: (pow(10, floor(log10(bottom))), pow(10, ceil(log10(top)))), xTitle: xTitle, yTitle: "loss (log scale)", series: [], logY: true)
      lossPlot.wholeX = true
      var distancePlot = Plot(x: xRange, y: Ticks.padded(0, max(trials.flatMap(\.distances).filter(\.isFinite).max() ?? 1, 1e-12)), xTitle: xTitle,
                              yTitle: "‖θ − θ₀‖", series: [])
      distancePlot.wholeX = true
      for (k, trial) in trials.enumerated() {
        lossPlot.series.append(.init(points: smoothed[k].enumerated().map { (x: xOf($0.offset + 1), y: min($0.element, top)) }, color: colors[k], label: trial.choice.name, weight: 0.8))
        distancePlot.series.append(.init(points: [(x: 0, y: 0)] + trial.distances.enumerated().map { (x: xOf($0.offset + 1), y: $0.element) }, color: colors[k], label: trial.choice.name, weight: 0.8))
      }
      // The names once, between the panels, at the loss lines' ends; the distance lines share the colours.
      drawLabelledPlot(lossPlot, labels: trials.enumerated().map { k, trial in
        ("\(trial.choice.name)\n\(trial.choice.settings)", colors[k], smoothed[k].indices.last { smoothed[k][$0].isFinite }.map { (x: xOf($0 + 1), y: min(smoothed[k][$0], top)) })
      }, in: panels[0], on: canvas, theme: theme)
      distancePlot.draw(on: canvas, in: panels[1], theme: theme)
    }
  }
}

/// "a and b", "a, b and c"; the same name twice is said once.
private func listed(_ names: [String]) -> String {
  var unique: [String] = []
  for n in names where !unique.contains(n) { unique.append(n) }
  guard unique.count > 1 else { return unique.first ?? "" }
  return unique.dropLast().joined(separator: ", ") + " and " + unique.last!
}
