import SheetNet

/// `decision-boundary`: for lessons with two inputs, the class the network predicts at every
/// point of the plane (paler where it is less sure) with the data on top, and beside it one
/// small map per hidden neuron showing what that neuron computes over the same plane.
extension Figure {
  static func checkDecisionBoundary(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.decisionBoundary)
    let inputs = source.model.inputShape
    guard inputs == [2] else {
      throw .notApplicable("decision-boundary draws a plane of 2 inputs, but \(source.lesson.path) has \(shapeText(inputs)) inputs per sample; try confusion or gradients")
    }
    guard run.split.train.labels != nil else {
      throw .notApplicable("decision-boundary colours classes, but \(source.lesson.path) gives target values (y), not class labels")
    }
  }

  static func decisionBoundary(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.decisionBoundary)
    let model = source.model, theme = options.theme
    let sets = [("train", run.split.train)] + (run.split.validation.map { [("validation", $0)] } ?? []) + (run.split.test.map { [("test", $0)] } ?? [])
    let xs = sets.flatMap { s in (0..<s.1.count).map { s.1.x.data[$0 * 2] } }
    let ys = sets.flatMap { s in (0..<s.1.count).map { s.1.x.data[$0 * 2 + 1] } }
    let (x0, x1) = padRange(xs.min()!, xs.max()!), (y0, y1) = padRange(ys.min()!, ys.max()!)
    // The plane, G×G points, row 0 at the top (largest x₂).
    func plane(_ g: Int) -> Tensor {
      var data = [Double](repeating: 0, count: g * g * 2)
      for r in 0..<g {
        for c in 0..<g {
          data[(r * g + c) * 2] = x0 + (x1 - x0) * (Double(c) + 0.5) / Double(g)
          data[(r * g + c) * 2 + 1] = y1 - (y1 - y0) * (Double(r) + 0.5) / Double(g)
        }
      }
      return Tensor(shape: [g * g, 2], data: data)
    }
    let g = 160
    let probabilities = Figure.probabilities(model.predict(plane(g)), model: model)
    let classes = max(run.split.train.classes, probabilities.first?.count ?? 2)
    let regions = Raster(width: g, height: g, pixels: probabilities.map { p in
      let k = p.indices.max { p[$0] < p[$1] } ?? 0
      // Certainty 1/K (a coin toss) → pale, 1 → full tint.
      let certainty = max(0, (p[k] - 1 / Double(p.count)) / (1 - 1 / Double(p.count)))
      return Color.white.mixed(with: ClassColors.color(k), 0.12 + 0.5 * certainty)
    })
    // One map per hidden neuron: every activation layer that feeds another dense layer.
    let hiddenUnits = model.layers.enumerated().filter { i, l in l is any Activation && model.layers[(i + 1)...].contains { $0 is Dense } }
      .map { _, l in model.shapes[model.layers.firstIndex { $0 === l }!].reduce(1, *) }.reduce(0, +)
    let small = hiddenUnits <= 8 ? 96 : 48
    _ = forwardAll(model, plane(small))
    var blocks: [(title: String, maps: [[Double]], colormap: Colormap, scale: ColorScale)] = []
    for (i, layer) in model.layers.enumerated() {
      guard let act = layer as? any Activation, model.layers[(i + 1)...].contains(where: { $0 is Dense }) else { continue }
      let units = act.a.columns
      let maps = (0..<units).map { u in (0..<small * small).map { act.a.data[$0 * units + u] } }
      let (map, scale): (Colormap, ColorScale) = switch layer {
      case is Tanh: (.diverging, ColorScale(lower: -1, upper: 1))
      case is Sigmoid: (.viridis, ColorScale(lower: 0, upper: 1))
      case is ReLU: (.viridis, .magnitude(maps.flatMap { $0 }))
      default: (.diverging, .symmetric(maps.flatMap { $0 }))
      }
      blocks.append(("\(layer.name): \(units) neuron\(units == 1 ? "" : "s")", maps, map, scale))
    }
    let evaluation = run.evaluate(run.evaluationSet.data)
    let names = (0..<classes).map { $0 < run.split.train.classNames.count ? run.split.train.classNames[$0] : "class \($0)" }
    let standardized = { if case .standardize = run.preprocess { return true } else { return false } }()
    let axis = standardized ? " (standardised)" : ""
    let subtitle = "\(run.evaluationSet.name) accuracy \(NumberFormat.percent(evaluation.accuracy ?? 0)); regions: predicted class, paler where the network is less sure"
    let pointSets = sets
    return Figure(name: "decision-boundary", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Decision boundary: \(state(source, options))", subtitle: subtitle)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let mainWidth = blocks.isEmpty ? body.width : min(body.height - legendHeight - theme.gap * 0.5 + theme.labelSize * 3, body.width * 0.55)
      let (left, right) = body.splitLeft(mainWidth, gap: theme.gap * 1.5)
      let (legendStrip, plotRect) = left.splitTop(legendHeight, gap: theme.gap * 0.5)
      var entries = names.enumerated().map { (label: $0.element, color: ClassColors.color($0.offset), dash: [Double](), marker: true) }
      if pointSets.count > 1 { entries.append((label: "ringed: held out", color: Theme.ink, dash: [], marker: true)) }
      canvas.legend(entries, in: legendStrip, theme: theme)
      let plot = Plot(x: (x0, x1), y: (y0, y1), xTitle: "x₁" + axis, yTitle: "x₂" + axis, series: [])
      let area = plot.draw(on: canvas, in: plotRect.fitted(aspect: 1.08), theme: theme) { area in canvas.image(regions, in: area) }
      let count = pointSets.map(\.1.count).reduce(0, +)
      let radius = min(theme.labelSize * 0.5, max(theme.lineWidth * 1.2, 60 / Double(count).squareRoot()))
      for (name, data) in pointSets {
        for n in 0..<data.count {
          let p = plot.map(data.x.data[n * 2], data.x.data[n * 2 + 1], area)
          let circle = Path.circle(p, radius: radius)
          canvas.fill(circle, ClassColors.color(data.labels?[n] ?? 0))
          canvas.stroke(circle, name == "train" ? .white : Theme.ink, width: name == "train" ? theme.hairline : theme.hairline * 1.8)
        }
      }
      guard !blocks.isEmpty else { return }
      let rows = right.rows(blocks.count, gap: theme.gap)
      for (block, rect) in zip(blocks, rows) {
        let inner = canvas.titled(rect, block.title, theme, bold: true)
        let bar = ColorBar(colormap: block.colormap, scale: block.scale, title: "a")
        let barWidth = bar.width(on: canvas, theme: theme, height: inner.height)
        let (_, mapsRect) = inner.splitRight(barWidth, gap: theme.gap * 0.5)
        let gap = theme.gap * 0.2
        let (r, c) = mapsRect.bestGrid(count: block.maps.count, gap: gap)
        let side = min((mapsRect.width - gap * Double(c - 1)) / Double(c), (mapsRect.height - gap * Double(r - 1)) / Double(r), theme.size.height * 0.3)
        let barRect = Rect(x: mapsRect.x + Double(c) * (side + gap) - gap + theme.gap * 0.5, y: mapsRect.y, width: barWidth, height: 0)
        for (k, values) in block.maps.enumerated() {
          let cell = Rect(x: mapsRect.x + Double(k % c) * (side + gap), y: mapsRect.y + Double(k / c) * (side + gap), width: side, height: side)
          canvas.image(Raster(values: values, width: small, colormap: block.colormap, scale: block.scale), in: cell)
          canvas.stroke(cell, Theme.ink, width: theme.hairline * 0.5)
        }
        let used = Double(r) * side + Double(r - 1) * gap
        bar.draw(on: canvas, in: Rect(x: barRect.x, y: mapsRect.y, width: barRect.width, height: max(used, canvas.measure("Ag", style: theme.tick).height * 5)), theme: theme)
      }
    }
  }

  /// A data range widened by 10% on each side (1 on each side for a single value).
  static func padRange(_ lo: Double, _ hi: Double) -> (Double, Double) {
    let span = hi - lo
    return span > 0 ? (lo - 0.1 * span, hi + 0.1 * span) : (lo - 1, hi + 1)
  }
}
