import Foundation
import SheetNet

/// `optimizers`: the same seed, the same initial weights and the same mini-batches trained under
/// SGD, SGD with momentum and Adam, or under the optimizers the lesson lists in `compare:`. Top: the training loss of every step, a line per optimizer.
/// Bottom: each optimizer's first update ΔW = W′ − W of one layer, side by side on one
/// symmetric colour scale, so the sizes compare: SGD's is −η·dW, momentum's first is the same
/// (v starts at 0), Adam's is −η·sign(dW).
extension Figure {
  static func checkOptimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    _ = try source.requireRun(.optimizers)
    _ = try optimizerLayer(source, options)
  }

  /// The layer whose first ΔW is shown: `--layer`, or the first with weights.
  static func optimizerLayer(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> any Layer {
    let all = source.model.layers.filter { $0 is Dense || $0 is Conv2D }
    guard !all.isEmpty else {
      throw .notApplicable("optimizers compares weight updates, but \(source.lesson.path) has no dense or conv2d layer; try architecture")
    }
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
    /// What its first ΔW is, in lines under its panel.
    var note: [String] = []
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
        return OptimizerChoice(name: "Adam", settings: "η = \(text(c.learningRate))\(decay)", lessons: c == lesson.optimizer, make: c.make, note: adamNote)
      case .sgd where c.momentum > 0:
        return OptimizerChoice(name: c.nesterov ? "Nesterov" : "momentum", settings: "η = \(text(c.learningRate)), β = \(text(c.momentum))\(decay)",
                               lessons: c == lesson.optimizer, make: c.make, note: c.nesterov ? ["step 1: v = g,", "so ΔW = −η·(1 + β)·g"] : momentumNote)
      case .sgd:
        return OptimizerChoice(name: "SGD", settings: "η = \(text(c.learningRate))\(decay)", lessons: c == lesson.optimizer, make: c.make, note: sgdNote)
      }
    }
  }

  /// The notes under each default panel: what the first update is.
  static let sgdNote = ["ΔW = −η·dW"], momentumNote = ["step 1: v = dW,", "so ΔW = −η·dW"], adamNote = ["step 1: m̂ = dW, v̂ = dW²,", "so ΔW = −η·sign(dW)"]

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
      OptimizerChoice(name: "SGD", settings: "η = \(text(sgd.learningRate))", lessons: lesson.kind == .sgd && lesson.momentum == 0, make: sgd.make, note: sgdNote),
      OptimizerChoice(name: momentum.nesterov ? "Nesterov" : "momentum", settings: "η = \(text(momentum.learningRate)), β = \(text(momentum.momentum))",
                      lessons: lesson.kind == .sgd && lesson.momentum > 0, make: momentum.make, note: momentumNote),
      OptimizerChoice(name: "Adam", settings: "η = \(text(adam.learningRate))", lessons: lesson.kind == .adam, make: adam.make, note: adamNote),
    ]
  }

  /// One optimizer's short run from the lesson's seed.
  struct OptimizerTrial {
    /// Which optimizer.
    var choice: OptimizerChoice
    /// The batch loss of each step, in order (stops early at a non-finite loss).
    var losses: [Double]
    /// The layer's W before step 1 and after it.
    var before: Tensor, after: Tensor
    /// ΔW = W′ − W of step 1.
    var delta: Tensor {
      var d = after
      for i in 0..<d.count { d.data[i] -= before.data[i] }
      return d
    }
  }

  /// Steps each optimizer runs: up to 200, fewer for a large network so that the three runs
  /// stay within about 7·10⁸ multiply-adds (some 0.3 s): forward and backward cost about
  /// 3 × (multiply-adds per sample) × batch size a step. At least 10 (digits-cnn gets 14).
  static func optimizerSteps(_ model: Sequential, batch: Int) -> Int {
    let perStep = max(1, 3 * model.multiplyAdds * batch)
    return min(200, max(10, 700_000_000 / (3 * perStep)))
  }

  /// Trains the lesson afresh (same seed: same initial weights and batches, `freshTrainer`) with
  /// each optimizer for `steps` steps, as `Trainer.fit` does (the step's generator forked first, then
  /// each epoch's seeded batches), recording every step's loss and `layer`'s W around step 1.
  static func optimizerTrials(_ run: LessonRun, layer: String, steps: Int) throws(FigureError) -> [OptimizerTrial] {
    var trials: [OptimizerTrial] = []
    for choice in optimizerChoices(for: run.lesson) {
      let optimizer = choice.make()
      var trainer: Trainer
      do { trainer = try freshTrainer(run, optimizer: optimizer) } catch { throw .lesson(error.description) }
      let model = trainer.model
      guard let w = model.layer(named: layer)?.parameters.first(where: { $0.name == "W" }) else {
        throw .notApplicable("\(layer) has no weights W")
      }
      let train = run.split.train
      let targets = train.targets(outputs: model.outputShape.reduce(1, *))
      let step = Step(training: true, rng: trainer.rng.fork())
      var losses: [Double] = []
      var before = w.value, after = w.value
      training: while losses.count < steps {
        for batch in trainer.batches(count: train.count) {
          let x = train.x.gathering(rows: batch), t = targets.gathering(rows: batch)
          if losses.isEmpty { before = w.value }
          let (value, _) = model.trainStep(x, t, loss: run.loss, optimizer: optimizer, step)
          if losses.isEmpty { after = w.value }
          losses.append(value)
          if !value.isFinite || losses.count >= steps { break training }
        }
      }
      trials.append(OptimizerTrial(choice: choice, losses: losses, before: before, after: after))
    }
    return trials
  }

  static func optimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.optimizers)
    let layer = try optimizerLayer(source, options)
    let theme = options.theme
    let batch = min(run.lesson.batchSize, run.split.train.count)
    let steps = optimizerSteps(source.model, batch: batch)
    let trials = try optimizerTrials(run, layer: layer.name, steps: steps)
    let view = weightView(layer, shape: trials[0].before.shape, in: source.model)
    let deltas = trials.map(\.delta)
    let scale = ColorScale.symmetric(deltas.flatMap(\.data))
    let stepsPerEpoch = (run.split.train.count + batch - 1) / batch
    let epochs = Double(steps) / Double(stepsPerEpoch)
    let colors = trials.indices.map { ClassColors.color($0) }
    let labels = trials.map { "\($0.choice.name)\n\($0.choice.settings)" }
    let finite = trials.flatMap(\.losses).filter(\.isFinite)
    let first = trials[0].losses.first ?? 1
    // Clipped at twice the first loss, so one optimizer's blow-up does not flatten the others.
    let top = min(finite.max() ?? 1, 2 * max(first, 1e-12))
    let clipped = (finite.max() ?? 0) > top
    let diverged = trials.filter { $0.losses.last.map { !$0.isFinite } ?? false }.map { "\($0.choice.name) diverged at step \($0.losses.count)" }
    let notes = trials.map(\.choice.note)
    let names = run.lesson.compare.isEmpty ? "SGD, momentum and Adam" : listed(trials.map(\.choice.name))
    let lessons = trials.first { $0.choice.lessons }.map { "; the lesson uses \($0.choice.name)" } ?? ""
    let span = epochs >= 1 ? "\(NumberFormat.shortest(epochs, significant: 2)) epoch\(epochs == 1 ? "" : "s")" : "\(NumberFormat.shortest(epochs, significant: 2)) of an epoch"
    let lines = [
      "Same initial weights (seed \(run.seed)) and batches of \(batch); training loss of steps 1–\(steps) (\(span))\(clipped ? ", clipped at \(NumberFormat.significant(top, 2))" : "")\(diverged.isEmpty ? "" : "; " + diverged.joined(separator: ", "))",
      "Below: each one's first update ΔW of \(layer.name), all on one colour scale\(lessons)",
      "W \(shapeText(trials[0].before.shape)): \(view.description)",
    ]
    return Figure(name: "optimizers", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "\(names) from one seed: \(source.name)", lines: lines)
      // The panels' height: from 40 % of the page (54 % for a few rows of weights, so their
      // numbers fit in their cells), grown while their blocks are held back by the height, until
      // the blocks fill the panels' width (a single matrix: until its cells are at most 1.5 times
      // as wide as tall) or the plot is down to half the page or to what its one-line labels need.
      let few = view.tiles.count == 1 && view.tiles[0].rows <= 4 && view.tiles[0].columns <= 4
      let th = canvas.measure("Ag", style: theme.tick).height
      let bar = ColorBar(colormap: .diverging, scale: scale, title: "ΔW")
      let lineHeight = canvas.measure("Ag", style: theme.note).height + theme.clearance
      let estimatedBar = max(bar.width(on: canvas, theme: theme, height: body.height * 0.4), bar.width(on: canvas, theme: theme, height: th * 3))
      let cellWidth = (body.width - estimatedBar - theme.gap * 0.5 - theme.gap * Double(trials.count - 1)) / Double(trials.count)
      let noteLines = notes.map { wrapped($0, width: cellWidth, style: theme.note, on: canvas).count }.max() ?? 0
      let titleHeight = canvas.measure("Ag", style: theme.label).height + theme.gap * 0.3
      let around = Double(noteLines) * lineHeight + theme.gap * 0.3 + titleHeight + th
      let tile = view.tiles[0], natural = Double(tile.columns) / Double(tile.rows)
      func filled(_ panels: Double) -> Bool {
        let block = weightsBlock(view, in: Rect(x: 0, y: 0, width: cellWidth, height: max(0, panels - around)), theme: theme)
        guard block.width >= cellWidth * 0.95 else { return false }
        return view.tiles.count > 1 || block.width / max(block.height, 1e-9) <= natural * 1.5
      }
      // The plot keeps room for its line labels (a line each, or two: name, then settings) above
      // its tick labels and axis title.
      let gap = theme.gap * 0.75
      let labelLine = th + theme.clearance * 1.05
      let axis = th * 1.5 + canvas.measure("Ag", style: theme.label).height + theme.gap
      let plotNeeds = { (lines: Int) in Double(lines * trials.count) * labelLine + axis }
      let most = max(body.height * (few ? 0.54 : 0.4) - gap, min(body.height * 0.5, body.height - plotNeeds(1)) - gap)
      let least = body.height * (few ? 0.54 : 0.4) - gap
      var panelsHeight = least
      while panelsHeight < most && !filled(panelsHeight) { panelsHeight = min(most, panelsHeight + theme.tickSize * 0.5) }
      let (plotRect, panelsRect) = body.splitTop(body.height - panelsHeight - gap, gap: gap)
      // Labels on one line when the panels took room the two-line labels needed.
      let oneLine = panelsHeight > least && plotRect.height < plotNeeds(2)
      let labels = oneLine ? trials.map { "\($0.choice.name), \($0.choice.settings)" } : labels
      var plot = Plot(x: (1, Double(max(steps, 2))), y: (0, Ticks.padded(0, top).1), xTitle: "step", yTitle: "loss L", series: [])
      plot.wholeX = true
      plot.xStep = wholeStep(span: Double(max(steps, 2) - 1), width: plotRect.width * 0.75, theme: theme)
      for (k, trial) in trials.enumerated() {
        plot.series.append(.init(points: trial.losses.enumerated().map { (x: Double($0.offset + 1), y: $0.element) }, color: colors[k], label: labels[k], weight: 0.8))
      }
      drawLabelledPlot(plot, labels: trials.enumerated().map { k, trial in
        (labels[k], colors[k], trial.losses.indices.last { trial.losses[$0].isFinite }.map { (x: Double($0 + 1), y: min(trial.losses[$0], top)) })
      }, in: plotRect, on: canvas, theme: theme)
      // The three first updates, one shared scale and one bar.
      let barWidth = max(bar.width(on: canvas, theme: theme, height: panelsRect.height), bar.width(on: canvas, theme: theme, height: th * 3))
      let (barStrip, panels) = panelsRect.splitRight(barWidth, gap: theme.gap * 0.5)
      let cells = panels.columns(trials.count, gap: theme.gap)
      let wrappedNotes = notes.map { wrapped($0, width: cells[0].width, style: theme.note, on: canvas) }
      let shownLines = wrappedNotes.map(\.count).max() ?? 0
      var blocks: [Rect] = []
      for (k, cell) in cells.enumerated() {
        let (noteStrip, rest) = cell.splitBottom(Double(shownLines) * lineHeight, gap: theme.gap * 0.3)
        let content = canvas.titled(rest, "\(trials[k].choice.name), \(trials[k].choice.settings)", theme, bold: true)
        let block = weightsBlock(view, in: content.inset(top: th / 2, bottom: th / 2), theme: theme)
        drawWeights(view, deltas[k].data, scale: scale, block: block, on: canvas, theme: theme)
        blocks.append(block)
        for (j, line) in wrappedNotes[k].enumerated() {
          canvas.text(line, Point(noteStrip.midX, noteStrip.y + Double(j) * lineHeight), theme.note, anchor: .top)
        }
      }
      let top = blocks.map(\.y).min() ?? panels.y, bottom = blocks.map(\.maxY).max() ?? panels.maxY
      let height = max(bottom - top, th * 3)
      bar.draw(on: canvas, in: Rect(x: barStrip.x, y: (top + bottom) / 2 - height / 2 - th * 1.6, width: barStrip.width, height: height + th * 1.6), theme: theme)
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
