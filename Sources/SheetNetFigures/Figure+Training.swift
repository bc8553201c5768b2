import Foundation
import SheetNet

/// `training`: loss and accuracy per epoch from the run's `History`: the training curve and, where
/// the lesson holds one out, the validation curve, each named beside the plot at its end. The test
/// split is drawn once, as a point after the last epoch: looking at it every epoch would be choosing
/// by it, which is what validation is for. A run of one or two epochs has no curve to speak of; it
/// gets the loss (and accuracy) before and after training side by side instead.
extension Figure {
  static func checkTraining(_ source: FigureSource) throws(FigureError) {
    guard let run = source.run, run.lesson.epochs > 0 else {
      throw .notApplicable("training plots the epochs of a run, but \(source.lesson.path) trains for 0 epochs; try architecture to see the network as initialised")
    }
  }

  static func training(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.training)
    let history = run.history.epochs
    guard !history.isEmpty else { throw .notApplicable("training needs a trained run; the history is empty") }
    // A token lesson's accuracy is the share of scored positions whose likeliest token is the target.
    let tokens = run.split.train.isTokens
    let classified = run.split.train.labels != nil || tokens
    let accuracyName = tokens ? "token accuracy" : "accuracy"
    if history.count <= 2 {
      return try beforeAfter(run, source.recording, theme: options.theme, lesson: source.name, classified: classified, accuracyName: accuracyName)
    }
    let steps = (run.split.train.count + run.lesson.batchSize - 1) / max(run.lesson.batchSize, 1)
    return trainingCurves(history, theme: options.theme, lesson: source.name, classified: classified, accuracyName: accuracyName, stepsPerEpoch: steps)
  }

  // MARK: Curves

  /// One split's numbers per epoch (nil where the epoch did not record them), and how it is drawn.
  public struct TrainingCurve {
    /// `training`, `validation` or `test`.
    public var name: String
    /// Mean loss per epoch.
    public var loss: [Double?]
    /// Accuracy per epoch (fraction).
    public var accuracy: [Double?]

    /// The line colour: Okabe–Ito blue for training, orange for validation, vermillion for test.
    var color: Color {
      switch name {
      case "training": Color(hex: 0x0072B2)
      case "validation": Color(hex: 0xE69F00)
      default: Color(hex: 0xD55E00)
      }
    }

    /// The dash: training solid, validation dashed, test dotted.
    func dash(_ theme: Theme) -> [Double] {
      switch name {
      case "training": []
      case "validation": [theme.lineWidth * 2.5, theme.lineWidth * 1.6]
      default: [theme.lineWidth * 0.9, theme.lineWidth * 1.2]
      }
    }
  }

  /// The curves drawn per epoch: training always; validation where any epoch recorded it. The
  /// test split is not among them (see `trainingTest`).
  public static func trainingSeries(_ history: [EpochRecord]) -> [TrainingCurve] {
    let all = [
      TrainingCurve(name: "training", loss: history.map(\.trainLoss), accuracy: history.map(\.trainAccuracy)),
      TrainingCurve(name: "validation", loss: history.map(\.validationLoss), accuracy: history.map(\.validationAccuracy)),
    ]
    return all.filter { $0.loss.contains { $0 != nil } }
  }

  /// The test split's one point: loss and accuracy after the last epoch, nil when the lesson
  /// holds no test split out.
  public static func trainingTest(_ history: [EpochRecord]) -> (loss: Double, accuracy: Double?)? {
    guard let last = history.last, let loss = last.testLoss else { return nil }
    return (loss, last.testAccuracy)
  }

  /// Loss (and accuracy when the lesson has classes or tokens, named `accuracyName`) against the
  /// epoch: training and validation as lines, test as one point after the last epoch, each named
  /// to the right of the loss plot (never over a curve; the accuracy plot's lines are the same). Loss goes on a log scale when it spans more
  /// than two decades; up to 30 epochs also get dots. The note under the title says which numbers
  /// are means over an epoch's steps (training, while the weights change) and which are measured
  /// after an epoch (validation, test).
  public static func trainingCurves(_ history: [EpochRecord], theme: Theme, lesson: String, classified: Bool, accuracyName: String = "accuracy",
                                    stepsPerEpoch: Int = 2) -> Figure {
    let curves = trainingSeries(history)
    let test = trainingTest(history)
    let last = history.last!
    var parts: [String] = []
    for curve in curves {
      guard let loss = curve.loss.last ?? nil else { continue }
      var part = "\(curve.name) loss \(NumberFormat.significant(loss, 3))"
      if classified, let a = curve.accuracy.last ?? nil { part += ", \(accuracyName) \(NumberFormat.percent(a))" }
      parts.append(part)
    }
    if let test {
      var part = "test, once after training: loss \(NumberFormat.significant(test.loss, 3))"
      if classified, let a = test.accuracy { part += ", \(accuracyName) \(NumberFormat.percent(a))" }
      parts.append(part)
    }
    if !parts.isEmpty { parts[0] = "Epoch \(last.epoch): " + parts[0] }
    if curves.count == 1 && test == nil { parts[0] += " (the lesson holds out no data)" }
    // Which loss is which: the training loss is the mean of the epoch's batch losses, taken while
    // the weights change (the network at the epoch's end does a little better on the same data).
    let mean = stepsPerEpoch > 1 ? "training: the mean of each epoch's \(NumberFormat.integer(stepsPerEpoch)) batch losses, as the weights change"
      : "training: the loss of each epoch's one step, before its update"
    let noteParts = [mean] + (curves.count > 1 ? ["validation: after each epoch"] : [])
    return Figure(name: "training", size: theme.size) { canvas in
      // The numbers, then the note, each on as few lines as the width allows.
      let width = theme.size.width - 2 * theme.margin
      func packed(_ parts: [String]) -> [String] {
        var lines: [String] = []
        for part in parts {
          if let line = lines.last, canvas.measure(line + "; " + part, style: theme.note).width <= width { lines[lines.count - 1] = line + "; " + part }
          else { lines.append(part) }
        }
        return lines
      }
      let lines = packed(parts) + packed(noteParts)
      let body = notedPage(canvas, theme, title: "Training: \(lesson)", lines: lines)
      // The loss panel's names stand in the gap before the accuracy panel, naming both panels' lines.
      let panels = classified ? body.columns(2, gap: 0) : [body]
      let epochs = history.map { Double($0.epoch) }
      let xRange = (epochs.first!, epochs.last!)
      let dots = history.count <= 30 ? theme.lineWidth * 1.3 : 0
      let testMarker = theme.lineWidth * 2.4

      func series(_ values: [[Double?]], test testValue: Double?) -> [Plot.Series] {
        var out = zip(curves, values).flatMap { curve, v -> [Plot.Series] in
          let points = zip(epochs, v).map { (x: $0.0, y: $0.1 ?? .nan) }
          var out: [Plot.Series] = [.init(points: points, color: curve.color, label: curve.name, dash: curve.dash(theme))]
          if dots > 0 { out.append(.init(points: points, color: curve.color, label: "", marker: dots)) }
          return out
        }
        if let testValue {
          out.append(.init(points: [(x: epochs.last!, y: testValue)], color: TrainingCurve(name: "test", loss: [], accuracy: []).color, label: "test", marker: testMarker))
        }
        return out
      }
      func labels(_ values: [[Double?]], test testValue: Double?) -> [(text: String, color: Color, end: (x: Double, y: Double)?)] {
        // A lone training curve needs no name (the title and the note say what it is).
        if curves.count == 1 && testValue == nil { return [] }
        var out = zip(curves, values).map { curve, v in
          (text: curve.name, color: curve.color, end: v.lastIndex { $0 != nil && $0!.isFinite }.map { (x: epochs[$0], y: v[$0]!) })
        }
        if let testValue { out.append((text: "test", color: TrainingCurve(name: "test", loss: [], accuracy: []).color, end: (x: epochs.last!, y: testValue))) }
        return out
      }

      let losses = (curves.flatMap { $0.loss.compactMap { $0 } } + [test?.loss].compactMap { $0 }).filter { $0.isFinite && $0 > 0 }
      let lossLo = losses.min() ?? 1e-3, lossHi = losses.max() ?? 1
      let logScale = lossHi / max(lossLo, 1e-300) > 100
      let lossRange: (Double, Double) = logScale
        ? (pow(10, floor(log10(lossLo))), pow(10, ceil(log10(lossHi))))
        : Ticks.padded(0, lossHi * 1.04)
      var lossPlot = Plot(x: xRange, y: lossRange, xTitle: "epoch", yTitle: logScale ? "loss (log scale)" : "loss",
                          series: series(curves.map(\.loss), test: test?.loss), logY: logScale)
      lossPlot.wholeX = true
      drawLabelledPlot(lossPlot, labels: labels(curves.map(\.loss), test: test?.loss), in: panels[0], on: canvas, theme: theme)
      guard classified else { return }
      let accuracies = curves.flatMap { $0.accuracy.compactMap { $0 } } + [test?.accuracy ?? nil].compactMap { $0 }
      let (alo, _) = Ticks.padded(max(0, (accuracies.min() ?? 0) - 0.02), 1)
      var accuracyPlot = Plot(x: xRange, y: (max(0, alo), 1), xTitle: "epoch", yTitle: accuracyName,
                              series: series(curves.map(\.accuracy), test: test?.accuracy ?? nil))
      accuracyPlot.percentY = true
      accuracyPlot.wholeX = true
      // The names stand once, between the panels: the accuracy panel's lines and point have the
      // loss panel's colours and dashes.
      accuracyPlot.draw(on: canvas, in: panels[1], theme: theme)
    }
  }

  // MARK: One or two epochs: before and after

  /// One moment of a short run and its numbers per split.
  struct Stage {
    /// What the moment is: "before the step", "after 2 epochs".
    var label: String
    /// (split, loss, accuracy) for each split measured at that moment.
    var values: [(split: String, loss: Double, accuracy: Double?)]
  }

  /// The moments of a run of one or two epochs. With one step an epoch and nothing held out, every
  /// epoch's training loss is the loss before that epoch's update (the engine computes the loss
  /// of the whole training split, then steps), and the trained network evaluated on the training
  /// split gives the loss after the last one. Otherwise the network as initialised and the trained
  /// one are both evaluated on every split: the first as the run recorded it before training
  /// (`Catalogue.prepare`), else on a copy of the initial network rebuilt from the seed.
  static func stages(_ run: LessonRun, _ recording: FigureRecording) throws(FigureError) -> [Stage] {
    let history = run.history.epochs
    let stepsPerEpoch = (run.split.train.count + run.lesson.batchSize - 1) / run.lesson.batchSize
    var heldOut: [(String, Dataset)] = []
    if let v = run.split.validation { heldOut.append(("validation", v)) }
    if let t = run.split.test { heldOut.append(("test", t)) }
    let trained = run.evaluate(run.split.train)
    let steps = history.count * stepsPerEpoch
    let afterLabel = stepsPerEpoch == 1 ? "after \(steps == 1 ? "the step" : "\(steps) steps")" : "after \(history.count) epoch\(history.count == 1 ? "" : "s")"
    let after = Stage(label: afterLabel, values: [("training", trained.loss, trained.accuracy)]
      + heldOut.map { name, data in let e = run.evaluate(data); return (name, e.loss, e.accuracy) })
    if stepsPerEpoch == 1 && heldOut.isEmpty {
      let before = history.enumerated().map { i, r in
        Stage(label: i == 0 ? (history.count == 1 ? "before the step" : "before training") : "after step \(i)",
              values: [("training", r.trainLoss, r.trainAccuracy)])
      }
      return before + [after]
    }
    let initial: [String: Evaluation]
    if let recorded = recording.initial {
      initial = recorded
    } else {
      do { initial = evaluations(run, as: try freshTrainer(run)) } catch { throw .lesson(error.description) }
    }
    let names = ["training"] + heldOut.map(\.0)
    return [Stage(label: "as initialised", values: names.map { name in (name, initial[name]!.loss, initial[name]!.accuracy) }), after]
  }

  /// `network` (the run's trainer, or one holding a copy of its network) evaluated on each of the
  /// run's splits: `training`, and `validation` and `test` where the lesson holds them out.
  static func evaluations(_ run: LessonRun, as network: Trainer) -> [String: Evaluation] {
    var out = ["training": network.evaluate(run.split.train)]
    if let v = run.split.validation { out["validation"] = network.evaluate(v) }
    if let t = run.split.test { out["test"] = network.evaluate(t) }
    return out
  }

  /// Loss (and accuracy) before and after a run of one or two epochs, as bars with their values.
  static func beforeAfter(_ run: LessonRun, _ recording: FigureRecording, theme: Theme, lesson: String, classified: Bool, accuracyName: String = "accuracy") throws(FigureError) -> Figure {
    let stages = try stages(run, recording)
    let symbol = run.loss.kind == "half_sse" ? "E" : "L"
    let epochs = run.history.epochs.count
    let first = stages.first!.values[0].loss, final = stages.last!.values[0].loss
    let change = first != 0 ? " (\(final >= first ? "+" : "")\(NumberFormat.percent((final - first) / first)))" : ""
    let subtitle = "\(NumberFormat.integer(epochs)) epoch\(epochs == 1 ? "" : "s") is too short for a curve: training \(symbol) = \(NumberFormat.significant(first, 4)) → \(NumberFormat.significant(final, 4))\(change)"
    return Figure(name: "training", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Training: \(lesson), before and after", subtitle: subtitle)
      let panels = classified ? body.columns(2, gap: theme.gap * 1.5) : [body]
      barChart(canvas, canvas.titled(panels[0], "Loss \(symbol) (\(lossName(run.loss.kind)))", theme, bold: true), stages,
               value: { $0.loss }, format: { NumberFormat.significant($0, 4) }, percent: false, theme: theme)
      guard classified else { return }
      barChart(canvas, canvas.titled(panels[1], accuracyName.prefix(1).uppercased() + accuracyName.dropFirst(), theme, bold: true), stages,
               value: { $0.accuracy ?? 0 }, format: { NumberFormat.percent($0) }, percent: true, theme: theme)
    }
  }

  /// The loss's textbook name.
  static func lossName(_ kind: String) -> String {
    switch kind {
    case "half_sse": "Σ ½(t − a)²"
    case "mse": "mean squared error"
    case "binary_cross_entropy": "binary cross-entropy"
    case "cross_entropy": "cross-entropy"
    default: kind
    }
  }

  /// Grouped bars: one group per stage (its label below), one bar per split in the split's
  /// colour with its value above; a y axis from 0 with gridlines, and a legend of the splits when
  /// there is more than one.
  static func barChart(_ canvas: any Canvas, _ rect: Rect, _ stages: [Stage],
                       value: ((split: String, loss: Double, accuracy: Double?)) -> Double,
                       format: (Double) -> String, percent: Bool, theme: Theme) {
    let tick = theme.tick, label = theme.label
    let splits = stages.flatMap { $0.values.map(\.split) }.reduce(into: [String]()) { if !$0.contains($1) { $0.append($1) } }
    let th = canvas.measure("Ag", style: tick).height, lh = canvas.measure("Ag", style: label).height
    var rect = rect
    if splits.count > 1 {
      let (strip, rest) = rect.splitTop(th, gap: theme.gap * 0.4)
      legendRow(canvas, splits.map { (label: $0, color: TrainingCurve(name: $0, loss: [], accuracy: []).color, mark: LegendMark.dot) }, in: strip, theme: theme)
      rect = rest
    }
    let values = stages.flatMap { $0.values.map(value) }.filter(\.isFinite)
    let top = percent ? 1.0 : Ticks.padded(0, max(values.max() ?? 1, 1e-12) * 1.15).1
    let t = Ticks.atLeast(3, 0, top, count: max(2, Int(rect.height / (theme.tickSize * 3.5))))
    let labels = percent ? NumberFormat.ticks(t.values.map { $0 * 100 }, step: t.step * 100).map { $0 + "%" } : NumberFormat.ticks(t.values, step: t.step)
    let labelWidth = labels.map { canvas.measure($0, style: tick).width }.max() ?? 0
    let pad = theme.tickSize * 0.4
    let area = rect.inset(top: th * 1.6, left: labelWidth + pad * 2, bottom: lh + pad * 2)
    func y(_ v: Double) -> Double { area.maxY - min(max(v / top, 0), 1) * area.height }
    for (v, s) in zip(t.values, labels) {
      canvas.line(Point(area.x, y(v)), Point(area.maxX, y(v)), Theme.grid, width: theme.hairline)
      canvas.text(s, Point(area.x - pad * 1.5, y(v)), tick, anchor: .right)
    }
    let groups = area.columns(stages.count, gap: theme.gap * 2)
    var previous: Point? = nil
    for (stage, group) in zip(stages, groups) {
      let inner = group.inset(left: group.width * 0.12, right: group.width * 0.12)
      let bars = inner.columns(stage.values.count, gap: theme.gap * 0.3)
      for (k, (entry, bar)) in zip(stage.values, bars).enumerated() {
        let v = value(entry)
        let color = TrainingCurve(name: entry.split, loss: [], accuracy: []).color
        let r = Rect(x: bar.x, y: y(v), width: bar.width, height: area.maxY - y(v))
        canvas.fill(r, color.opacity(0.85))
        canvas.text(format(v), Point(r.midX, r.y - pad * 0.5), canvas.fitting(format(v), width: bar.width + theme.gap * 0.25, tick, minimum: theme.minimumSize), anchor: .bottom)
        // An arrow from each stage's training bar to the next one's.
        if k == 0 && stages.allSatisfy({ $0.values.count == 1 }) {
          let here = Point(r.x, r.y)
          if let p = previous { canvas.arrow(p, Point(here.x - pad, here.y), Theme.muted, width: theme.hairline * 1.5, head: theme.tickSize * 0.6) }
          previous = Point(r.maxX + pad, r.y)
        }
      }
      canvas.text(stage.label, Point(group.midX, area.maxY + pad), canvas.fitting(stage.label, width: group.width, label, minimum: theme.minimumSize), anchor: .top)
    }
    canvas.stroke(area, Theme.ink, width: theme.hairline)
  }
}
