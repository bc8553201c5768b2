import Foundation
import SheetNet

/// `training`: loss and accuracy per epoch from the run's `History`, training and validation.
extension Figure {
  static func checkTraining(_ source: FigureSource) throws(FigureError) {
    guard let run = source.run, run.lesson.epochs > 0 else {
      throw .notApplicable("training plots the epochs of a run, but \(source.lesson.path) trains for 0 epochs")
    }
  }

  static func training(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.training)
    let history = run.history.epochs
    guard !history.isEmpty else { throw .notApplicable("training needs a trained run; the history is empty") }
    return trainingCurves(history, theme: options.theme, lesson: source.name, classified: run.split.train.labels != nil)
  }

  /// Loss (and accuracy when the lesson has classes) against the epoch. Loss goes on a log scale
  /// when it spans more than two decades; up to 30 epochs also get dots.
  public static func trainingCurves(_ history: [EpochRecord], theme: Theme, lesson: String, classified: Bool) -> Figure {
    Figure(name: "training", size: theme.size) { canvas in
      let last = history.last!
      var summary = "Epoch \(last.epoch): training loss \(NumberFormat.significant(last.trainLoss, 3))"
      if classified { summary += ", accuracy \(NumberFormat.percent(last.trainAccuracy))" }
      if let v = last.validationLoss {
        summary += "; validation loss \(NumberFormat.significant(v, 3))"
        if let a = last.validationAccuracy, classified { summary += ", accuracy \(NumberFormat.percent(a))" }
      }
      if !history.contains(where: { $0.validationLoss != nil }) { summary += " (the lesson keeps no validation split)" }
      let body = canvas.page(theme.size, theme, title: "Training: \(lesson)", subtitle: summary)
      let hasValidation = history.contains { $0.validationLoss != nil }
      let dash = [theme.lineWidth * 2.5, theme.lineWidth * 1.6]
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      var entries: [(label: String, color: Color, dash: [Double], marker: Bool)] = [("training", ClassColors.color(0), [], false)]
      if hasValidation { entries.append(("validation", ClassColors.color(1), dash, false)) }
      canvas.legend(entries, in: legendStrip, theme: theme)
      let panels = classified ? rest.columns(2, gap: theme.gap * 1.5) : [rest]
      let epochs = history.map { Double($0.epoch) }
      let xRange = history.count == 1 ? (epochs[0] - 1, epochs[0] + 1) : (epochs.first!, epochs.last!)
      let dots = history.count <= 30 ? theme.lineWidth * 1.3 : 0

      func series(_ values: [Double?], _ k: Int, _ label: String, dashed: Bool) -> [Plot.Series] {
        let points = zip(epochs, values).map { (x: $0.0, y: $0.1 ?? .nan) }
        var out: [Plot.Series] = [.init(points: points, color: ClassColors.color(k), label: label, dash: dashed ? dash : [])]
        if dots > 0 { out.append(.init(points: points, color: ClassColors.color(k), label: "", marker: dots)) }
        return out
      }

      let losses = history.flatMap { [$0.trainLoss] + ($0.validationLoss.map { [$0] } ?? []) }.filter { $0.isFinite && $0 > 0 }
      let lossLo = losses.min() ?? 1e-3, lossHi = losses.max() ?? 1
      let logScale = lossHi / max(lossLo, 1e-300) > 100
      let lossRange: (Double, Double) = logScale
        ? (pow(10, floor(log10(lossLo))), pow(10, ceil(log10(lossHi))))
        : Ticks.padded(0, lossHi * 1.04)
      var lossPlot = Plot(x: xRange, y: lossRange, xTitle: "epoch", yTitle: logScale ? "loss (log scale)" : "loss",
                          series: series(history.map { $0.trainLoss }, 0, "training", dashed: false)
                            + (hasValidation ? series(history.map { $0.validationLoss }, 1, "validation", dashed: true) : []),
                          logY: logScale)
      lossPlot.wholeX = true
      lossPlot.draw(on: canvas, in: canvas.titled(panels[0], "Loss", theme, bold: true), theme: theme)
      guard classified else { return }
      let accuracies = history.flatMap { [$0.trainAccuracy] + ($0.validationAccuracy.map { [$0] } ?? []) }
      let (alo, _) = Ticks.padded(max(0, (accuracies.min() ?? 0) - 0.02), 1)
      var accuracyPlot = Plot(x: xRange, y: (max(0, alo), 1), xTitle: "epoch", yTitle: "accuracy",
                              series: series(history.map { $0.trainAccuracy }, 0, "training", dashed: false)
                                + (hasValidation ? series(history.map { $0.validationAccuracy }, 1, "validation", dashed: true) : []))
      accuracyPlot.percentY = true
      accuracyPlot.wholeX = true
      accuracyPlot.draw(on: canvas, in: canvas.titled(panels[1], "Accuracy", theme, bold: true), theme: theme)
    }
  }
}
