import SheetNet

/// `gradients`: three pages. The saliency |∂L/∂x| of the trained network over a few inputs;
/// each weight grid beside its gradient ∂L/∂W and its update ΔW in the first training step (the
/// engine's own trace of that step); and each layer's gradient norm over training.
extension Figure {
  static func checkGradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.gradients)
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
    if options.layer != nil { _ = try weightLayers(source, options) }
  }

  /// The layers with a weight grid W, or the one `--layer` names.
  static func weightLayers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [any Layer] {
    let all = source.model.layers.filter { $0 is Dense || $0 is Conv2D }
    guard options.layer != nil else { return Array(all.prefix(3)) }
    return [try pick(options.layer, in: source.model, among: all, what: "layers with weights (dense, conv2d)")]
  }

  static func gradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    var pages = [try saliency(source, options), try firstStep(source, options)]
    if options.trained, let run = source.run, !run.history.epochs.isEmpty { pages.append(gradientNorms(source, run.history, options.theme)) }
    return pages
  }

  /// Backpropagates `delta`, given at the output of `layers[..<end]`, down to the input after a
  /// forward pass, and returns ∂/∂x. Fills the layers' parameter gradients on the way (as any
  /// backward pass does).
  static func inputGradient(_ model: Sequential, end: Int, _ delta: Tensor, _ step: Step) -> Tensor {
    var d = delta
    for layer in model.layers[..<end].reversed() { d = layer.backward(d, step) }
    return d
  }

  // MARK: Saliency

  /// |∂Lₙ/∂xₙ| for each sample n of the batch x (targets t), and the network's outputs.
  /// The loss is a mean over the batch, so each row of the backward pass's dx is ∂Lₙ/∂xₙ / N.
  static func saliencyValues(_ model: Sequential, _ loss: any Loss, _ x: Tensor, _ t: Tensor) -> (Tensor, Tensor) {
    let step = Step(training: false)
    let y = model.forward(x, step)
    let (delta, skipsLast) = loss.gradient(output: y, target: t, last: model.layers.last)
    var dx = inputGradient(model, end: skipsLast ? model.layers.count - 1 : model.layers.count, delta, step)
    for i in 0..<dx.count { dx.data[i] = abs(dx.data[i]) * Double(x.rows) }
    return (dx, y)
  }

  /// |∂Lₙ/∂xₙ| for the chosen sample and the three after it (images), or per feature for the
  /// chosen sample beside the mean over the evaluation split (other inputs).
  static func saliency(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.gradients)
    let model = source.model, theme = options.theme
    let (split, data) = run.evaluationSet
    let first = try sampleIndex(options, in: data, split: split)
    let image = imageShape(model.inputShape)
    let rows = image == nil ? Array(0..<data.count) : Array(first..<min(first + 4, data.count))
    let x = data.x.gathering(rows: rows)
    let t = data.targets(outputs: model.outputShape.reduce(1, *)).gathering(rows: rows)
    let (dx, y) = saliencyValues(model, run.loss, x, t)
    let title = "Saliency |∂L/∂x|: \(state(source, options))"
    guard let (channels, height, width) = image else {
      let n = x.columns
      let chosen = rows.firstIndex(of: first)!
      let mine = (0..<n).map { dx.data[chosen * n + $0] }
      let mean = (0..<n).map { i in rows.indices.map { dx.data[$0 * n + i] }.reduce(0, +) / Double(rows.count) }
      return featureBars(name: "gradients-saliency", title: title,
                         subtitle: "How much the loss of \(split) sample \(first + 1) changes with each input, beside the mean over all \(NumberFormat.integer(rows.count)) \(split) samples",
                         labels: (1...n).map { "x" + subscripted($0) }, series: [("sample \(first + 1)", Theme.accent, mine), ("mean", ClassColors.color(0), mean)],
                         axis: "|∂L/∂xᵢ|", theme: theme)
    }
    let plane = height * width
    // Images: the first channel of the input; saliency as the largest |∂L/∂x| over channels.
    let inputs = rows.indices.map { r in (0..<plane).map { x.data[r * channels * plane + $0] } }
    let maps = rows.indices.map { r in (0..<plane).map { p in (0..<channels).map { dx.data[(r * channels + $0) * plane + p] }.max()! } }
    let probabilities = Figure.probabilities(y, model: model)
    let captions = rows.indices.map { r -> String in
      let p = probabilities[r], k = p.indices.max { p[$0] < p[$1] }!
      let truth = data.labels.map { "true \(className(data, $0[rows[r]]))" } ?? "sample \(rows[r] + 1)"
      return "\(truth), predicted \(className(data, k)) (\(NumberFormat.percent(p[k], digits: 0)))"
    }
    let pixelScale = ColorScale.linear(run.split.train.x.data)
    // Confident samples have tiny gradients: each map is scaled to its own largest value, which
    // is written under it.
    let largest = maps.map { $0.max() ?? 0 }
    let unit = ColorScale(lower: 0, upper: 1)
    return Figure(name: "gradients-saliency", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title,
                             subtitle: "\(split.capitalized) samples \(rows[0] + 1)–\(rows.last! + 1): the input (top) and how strongly the loss responds to each pixel (bottom)")
      let pixelBar = ColorBar(colormap: .greys, scale: pixelScale, title: "input x")
      let salientBar = ColorBar(colormap: .viridis, scale: unit, title: "|∂L/∂x| ÷ largest")
      let barWidth = max(pixelBar.width(on: canvas, theme: theme), salientBar.width(on: canvas, theme: theme))
      let (bars, rest) = body.splitRight(barWidth, gap: theme.gap)
      let captionHeight = canvas.measure("Ag", style: theme.tick).height
      let columns = rest.columns(maps.count, gap: theme.gap)
      var squares: [Rect] = []
      for (c, column) in columns.enumerated() {
        let (caption, pictures) = column.splitBottom(captionHeight * 2, gap: theme.gap * 0.3)
        let halves = pictures.rows(2, gap: theme.gap * 0.5)
        let top = halves[0].fitted(aspect: Double(width) / Double(height)), bottom = halves[1].fitted(aspect: Double(width) / Double(height))
        canvas.image(Raster(values: inputs[c], width: width, colormap: .greys, scale: pixelScale), in: top)
        canvas.stroke(top, Theme.ink, width: theme.hairline)
        canvas.image(Raster(values: maps[c], width: width, colormap: .viridis, scale: ColorScale.magnitude(maps[c])), in: bottom)
        squares += [top, bottom]
        let style = canvas.fitting(captions[c], width: column.width, theme.tick, minimum: theme.minimumSize)
        canvas.text(captions[c], Point(caption.midX, caption.y), style, anchor: .top)
        let peak = "largest |∂L/∂x| = \(NumberFormat.significant(largest[c], 2))"
        canvas.text(peak, Point(caption.midX, caption.maxY), canvas.fitting(peak, width: column.width, theme.note, minimum: theme.minimumSize), anchor: .bottom)
      }
      if let top = squares.first, squares.count > 1 {
        pixelBar.draw(on: canvas, in: Rect(x: bars.x, y: top.y, width: bars.width, height: top.height), theme: theme)
        salientBar.draw(on: canvas, in: Rect(x: bars.x, y: squares[1].y, width: bars.width, height: squares[1].height), theme: theme)
      }
    }
  }

  /// A class's name, or its number.
  static func className(_ data: Dataset, _ k: Int) -> String { k < data.classNames.count ? data.classNames[k] : String(k) }

  /// Horizontal bars, one group per label, one bar per series, with a value axis along the bottom.
  static func featureBars(name: String, title: String, subtitle: String, labels: [String], series: [(String, Color, [Double])], axis: String, theme: Theme) -> Figure {
    Figure(name: name, size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      canvas.legend(series.map { (label: $0.0, color: $0.1, dash: [Double](), marker: true) }, in: legendStrip, theme: theme)
      let largest = series.flatMap(\.2).max() ?? 1
      let plot = Plot(x: (0, Ticks.padded(0, largest > 0 ? largest : 1).1), y: (0, Double(labels.count)), xTitle: axis, yTitle: "", series: [])
      let labelWidth = labels.map { canvas.measure($0, style: theme.label).width }.max() ?? 0
      let (labelStrip, plotRect) = rest.splitLeft(labelWidth, gap: theme.gap * 0.5)
      // A plain value axis: Plot with an empty y axis, the bars drawn over its area.
      var axisPlot = plot
      axisPlot.y = (0, 1)
      axisPlot.hideY = true
      let area = axisPlot.draw(on: canvas, in: plotRect, theme: theme) { _ in }
      let band = area.height / Double(labels.count)
      for (i, label) in labels.enumerated() {
        let top = area.y + Double(i) * band
        canvas.text(label, Point(labelStrip.maxX, top + band / 2), theme.label, anchor: .right)
        let barHeight = band * 0.7 / Double(series.count)
        for (s, (_, color, values)) in series.enumerated() {
          let w = area.width * values[i] / max(plot.x.upper, 1e-300)
          canvas.fill(Rect(x: area.x, y: top + band * 0.15 + Double(s) * barHeight, width: w, height: barHeight * 0.9), color)
        }
      }
    }
  }

  // MARK: The first step: W, ∂L/∂W, ΔW

  /// The first training step of a fresh run of the lesson, traced by the engine: each weight
  /// grid before the step, its gradient, and the update the optimizer applied.
  static func firstStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.gradients)
    let layers = try weightLayers(source, options).map(\.name)
    let tracer = Tracer()
    let point = TracePoint(step: 1, tracer: tracer)
    do {
      let fresh = try LessonRun(source.lesson, seed: run.seed)
      try fresh.train(trace: point)
    } catch {
      throw .lesson(error.description)
    }
    var rows: [(layer: String, panels: [(title: String, grid: Tensor)])] = []
    for name in layers {
      guard let w = tracer.entry("\(name).forward.W")?.value, let dw = tracer.entry("\(name).backward.dW")?.value else { continue }
      let updated = tracer.entry("\(name).update.W")?.value ?? w
      var delta = updated
      for i in 0..<delta.count { delta.data[i] = updated.data[i] - w.data[i] }
      let grid = [w.shape[0], w.count / max(w.shape[0], 1)]
      rows.append((name, [("W", w.reshaped(grid)), ("∂L/∂W", dw.reshaped(grid)), ("ΔW = W′ − W", delta.reshaped(grid))]))
    }
    let samples = point.location?.indices.count ?? 0
    let loss = point.loss.map { NumberFormat.significant($0, 4) } ?? "?"
    let optimizer = "\(run.optimizer.kind), η = \(NumberFormat.shortest(run.optimizer.learningRate))"
    let more = source.model.layers.filter { $0 is Dense || $0 is Conv2D }.count - rows.count
    let note = more > 0 && options.layer == nil ? "; \(more) more layer\(more == 1 ? "" : "s"): choose with --layer" : ""
    let theme = options.theme
    let hasConv = layers.contains { source.model.layer(named: $0) is Conv2D }
    return Figure(name: "gradients-step", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Weights, gradients and updates: \(source.name), first training step",
                             subtitle: "Batch of \(samples) sample\(samples == 1 ? "" : "s"), L = \(loss), \(optimizer)\(note); \(hasConv ? "rows: filters, columns: inputs (channel, kernel row, column)" : "rows: units, columns: inputs")")
      var vertical = theme.label.emphasized
      vertical.vertical = true
      let labelWidth = canvas.measure("Ag", style: vertical).height
      for (row, rect) in zip(rows, body.rows(rows.count, gap: theme.gap)) {
        let (labelStrip, rest) = rect.splitLeft(labelWidth, gap: theme.gap * 0.5)
        canvas.text(row.layer, Point(labelStrip.x, labelStrip.midY), canvas.fitting(row.layer, width: rect.height, vertical, minimum: theme.minimumSize), anchor: Anchor(x: 0.5, y: 0))
        for (panel, cell) in zip(row.panels, rest.columns(3, gap: theme.gap)) {
          let inner = canvas.titled(cell, "\(panel.title)  (\(shapeText(panel.grid.shape)))", theme, bold: true)
          let scale = ColorScale.symmetric(panel.grid.data)
          let bar = ColorBar(colormap: .diverging, scale: scale, title: "")
          let (barRect, mapRect) = inner.splitRight(bar.width(on: canvas, theme: theme, height: inner.height), gap: theme.gap * 0.3)
          let aspect = Double(panel.grid.shape[1]) / Double(panel.grid.shape[0])
          let target = mapRect.fitted(aspect: min(max(aspect, 0.15), 12))
          Heatmap(values: panel.grid.data, rows: panel.grid.shape[0], columns: panel.grid.shape[1], colormap: .diverging, scale: scale, numbers: 2)
            .draw(on: canvas, in: target, theme: theme)
          // At least three lines tall, centred on the map, so the bar's two end labels never meet.
          let th = canvas.measure("Ag", style: theme.tick).height
          let barHeight = max(target.height, th * 3)
          bar.draw(on: canvas, in: Rect(x: barRect.x, y: target.midY - barHeight / 2 - th * 1.6, width: barRect.width, height: barHeight + th * 1.6), theme: theme)
        }
      }
    }
  }

  // MARK: Gradient norms over training

  /// ‖∂L/∂θ‖₂ of each layer at the last step of every epoch, on a log scale.
  static func gradientNorms(_ source: FigureSource, _ history: History, _ theme: Theme) -> Figure {
    let layers = source.model.layers.filter { !$0.parameters.isEmpty }.map(\.name)
    let epochs = history.epochs
    let values = epochs.flatMap { e in layers.compactMap { e.gradientNorms[$0] } }.filter { $0 > 0 && $0.isFinite }
    let lo = values.min() ?? 1e-3, hi = values.max() ?? 1
    return Figure(name: "gradients-norms", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Gradient norms per layer: \(source.name)",
                             subtitle: "‖∂L/∂θ‖₂ over each layer's parameters at the last step of every epoch (log scale)")
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      canvas.legend(layers.enumerated().map { (label: $0.element, color: ClassColors.color($0.offset), dash: [Double](), marker: false) }, in: legendStrip, theme: theme)
      let x = epochs.count == 1 ? (0.0, 2.0) : (Double(epochs.first!.epoch), Double(epochs.last!.epoch))
      var series: [Plot.Series] = []
      for (k, layer) in layers.enumerated() {
        let points = epochs.map { (x: Double($0.epoch), y: $0.gradientNorms[layer] ?? .nan) }
        series.append(.init(points: points, color: ClassColors.color(k), label: layer))
        if epochs.count <= 30 { series.append(.init(points: points, color: ClassColors.color(k), label: "", marker: theme.lineWidth * 1.3)) }
      }
      var plot = Plot(x: x, y: (Ticks.decades(lo, hi).first!, Ticks.decades(lo, hi).last!), xTitle: "epoch", yTitle: "‖∂L/∂θ‖₂", series: series, logY: true)
      plot.wholeX = true
      plot.draw(on: canvas, in: rest, theme: theme)
    }
  }
}
