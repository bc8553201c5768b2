import SheetNet

/// `decision-boundary`: for lessons with two inputs, the class the network predicts at every
/// point of the plane (paler where it is less sure) with the data on top, and beside it one
/// small map per hidden neuron showing what that neuron computes over the same plane.
extension Figure {
  static func checkDecisionBoundary(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.decisionBoundary)
    let inputs = source.model.inputShape
    guard inputs == [2] else {
      let instead = run.split.train.labels != nil ? "try confusion for its classes" : "try training for its learning curves"
      throw .notApplicable("decision-boundary draws a plane of 2 inputs, but \(source.lesson.path) has \(shapeText(inputs)) inputs per sample; \(instead)")
    }
    guard run.split.train.labels != nil else {
      throw .notApplicable("decision-boundary colours classes, but \(source.lesson.path) gives target values (y), not class labels; try training for its learning curves")
    }
  }

  static func decisionBoundary(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.decisionBoundary)
    let model = source.model, theme = options.theme
    let sets = [("train", run.split.train)] + (run.split.validation.map { [("validation", $0)] } ?? []) + (run.split.test.map { [("test", $0)] } ?? [])
    let bounds = PlaneBounds(run.split)
    let g = regionResolution(side: theme.size.height * 0.8)
    let classes = max(run.split.train.classes, model.outputShape.reduce(1, *) == 1 ? 2 : model.outputShape.reduce(1, *))
    let regions = regionRaster(model, bounds, resolution: g)
    // One map per hidden neuron: every activation layer that feeds another dense layer.
    let hiddenUnits = model.layers.enumerated().filter { i, l in l is any Activation && model.layers[(i + 1)...].contains { $0 is Dense } }
      .map { _, l in model.shapes[model.layers.firstIndex { $0 === l }!].reduce(1, *) }.reduce(0, +)
    let small = hiddenUnits <= 8 ? 96 : 48
    let blocks = hiddenMaps(model, bounds, resolution: small)
    // Each neuron of the first hidden layer computes a = f(w₁x₁ + w₂x₂ + b): with few of them,
    // each map gets its formula with the trained weights beside it.
    var formulas: [[String]] = []
    if let dense = model.layers.first as? Dense, dense.units <= 4, let act = model.layers.dropFirst().first as? any Activation {
      let w = dense.W.value.data, b = dense.useBias ? dense.b.value.data : [Double](repeating: 0, count: dense.units)
      let f = type(of: act).symbol
      func term(_ v: Double, _ x: String, first: Bool) -> String {
        let number = NumberFormat.significant(abs(v), 3)
        return first ? "\(v < 0 ? "−" : "")\(number)\(x)" : " \(v < 0 ? "−" : "+") \(number)\(x)"
      }
      formulas = (0..<dense.units).map { j in
        ["neuron \(j + 1)", "a = \(f)(z)", "z = " + term(w[j * 2], "·x₁", first: true), String((term(w[j * 2 + 1], "·x₂", first: false) + term(b[j], "", first: false)).dropFirst())]
      }
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
      var entries = names.enumerated().map { (label: $0.element, color: ClassColors.color($0.offset), mark: LegendMark.dot) }
      if pointSets.count > 1 { entries.append((label: "ringed: held out", color: Theme.ink, mark: .ring)) }
      legendRow(canvas, entries, in: legendStrip, theme: theme)
      let plot = Plot(x: (bounds.x0, bounds.x1), y: (bounds.y0, bounds.y1), xTitle: "x₁" + axis, yTitle: "x₂" + axis, series: [])
      let area = plot.draw(on: canvas, in: plotRect.fitted(aspect: 1.08), theme: theme) { area in canvas.image(regions, in: area) }
      drawPoints(canvas, pointSets, plot: plot, area: area, theme: theme, largest: theme.labelSize * 0.5)
      guard !blocks.isEmpty else { return }
      let rows = right.rows(blocks.count, gap: theme.gap)
      for (index, (block, rect)) in zip(blocks, rows).enumerated() {
        let inner = canvas.titled(rect, block.title, theme, bold: true)
        if index == 0 && !formulas.isEmpty && formulas.count == block.maps.count {
          annotatedMaps(canvas, block, formulas, in: inner, resolution: small, theme: theme)
          continue
        }
        let bar = ColorBar(colormap: block.colormap, scale: block.scale, title: "a")
        let gap = theme.gap * 0.2, th = canvas.measure("Ag", style: theme.tick).height
        // The maps' grid beside a bar `width` wide; the bar is drawn as tall as the maps, whose
        // ticks (and so labels) may differ from those at the full height: measured again there.
        func grid(_ width: Double) -> (maps: Rect, r: Int, c: Int, side: Double) {
          let (_, mapsRect) = inner.splitRight(width, gap: theme.gap * 0.5)
          let (r, c) = mapsRect.bestGrid(count: block.maps.count, gap: gap)
          let side = min((mapsRect.width - gap * Double(c - 1)) / Double(c), (mapsRect.height - gap * Double(r - 1)) / Double(r), theme.size.height * 0.3)
          return (mapsRect, r, c, side)
        }
        var barWidth = bar.width(on: canvas, theme: theme, height: inner.height)
        var (mapsRect, r, c, side) = grid(barWidth)
        // (`draw` puts its ticks on the bar below the title: th·2.1 less than the rectangle.)
        let drawnWidth = bar.width(on: canvas, theme: theme, height: max(Double(r) * side + Double(r - 1) * gap, th * 5) - th * 2.1)
        if drawnWidth > barWidth {
          barWidth = drawnWidth
          (mapsRect, r, c, side) = grid(barWidth)
        }
        let barRect = Rect(x: mapsRect.x + Double(c) * (side + gap) - gap + theme.gap * 0.5, y: mapsRect.y, width: barWidth, height: 0)
        for (k, values) in block.maps.enumerated() {
          let cell = Rect(x: mapsRect.x + Double(k % c) * (side + gap), y: mapsRect.y + Double(k / c) * (side + gap), width: side, height: side)
          canvas.image(Raster(values: values, width: small, colormap: block.colormap, scale: block.scale), in: cell)
          canvas.stroke(cell, Theme.ink, width: theme.hairline * 0.5)
        }
        let used = Double(r) * side + Double(r - 1) * gap
        bar.draw(on: canvas, in: Rect(x: barRect.x, y: mapsRect.y, width: barRect.width, height: max(used, th * 5)), theme: theme)
      }
    }
  }

  /// A few neuron maps one under another, each with its formula beside it, the colour bar on
  /// the right.
  static func annotatedMaps(_ canvas: any Canvas, _ block: NeuronMaps, _ formulas: [[String]], in rect: Rect, resolution: Int, theme: Theme) {
    let bar = ColorBar(colormap: block.colormap, scale: block.scale, title: "a")
    let barWidth = bar.width(on: canvas, theme: theme, height: rect.height)
    let (barRect, rest) = rect.splitRight(barWidth, gap: theme.gap)
    let gap = theme.gap * 0.4
    let n = block.maps.count
    let line = canvas.measure("Ag", style: theme.tick).height + theme.clearance * 2
    let textWidth = formulas.flatMap { $0 }.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
    let side = max(0, min((rest.height - gap * Double(n - 1)) / Double(n), rest.width - textWidth - theme.gap))
    // The maps spread over the whole height.
    let spacing = n > 1 ? max(gap, (rest.height - Double(n) * side) / Double(n - 1)) : 0
    for (k, values) in block.maps.enumerated() {
      let cell = Rect(x: rest.x, y: rest.y + Double(k) * (side + spacing), width: side, height: side)
      canvas.image(Raster(values: values, width: resolution, colormap: block.colormap, scale: block.scale), in: cell)
      canvas.stroke(cell, Theme.ink, width: theme.hairline * 0.5)
      let lines = formulas[k]
      for (i, text) in lines.enumerated() {
        let style = i == 0 ? theme.tick.emphasized : theme.tick
        canvas.text(text, Point(cell.maxX + theme.gap * 0.6, cell.midY + (Double(i) - Double(lines.count - 1) / 2) * line), canvas.fitting(text, width: rest.maxX - cell.maxX - theme.gap * 0.6, style, minimum: theme.minimumSize), anchor: .left)
      }
    }
    bar.draw(on: canvas, in: Rect(x: barRect.x, y: rest.y, width: barRect.width, height: n > 1 ? rest.height : max(side, line * 5)), theme: theme)
  }

  // MARK: The plane, shared with `filmstrip`

  /// The part of the input plane a figure shows: every split's points, widened by 10% a side.
  struct PlaneBounds: Equatable {
    var x0: Double, x1: Double, y0: Double, y1: Double

    /// The bounds of all the points of `split` (training, validation and test).
    init(_ split: Split) {
      let sets = [split.train] + (split.validation.map { [$0] } ?? []) + (split.test.map { [$0] } ?? [])
      let xs = sets.flatMap { s in (0..<s.count).map { s.x.data[$0 * 2] } }
      let ys = sets.flatMap { s in (0..<s.count).map { s.x.data[$0 * 2 + 1] } }
      (x0, x1) = Figure.padRange(xs.min()!, xs.max()!)
      (y0, y1) = Figure.padRange(ys.min()!, ys.max()!)
    }
  }

  /// The raster side for a plane drawn `side` points wide: two samples a point, so that even at
  /// `--scale 4` a sample covers about two pixels and the boundary reads as a smooth curve;
  /// capped at 512 (262,144 forward passes of a small network).
  static func regionResolution(side: Double) -> Int { min(512, max(64, Int(side * 2))) }

  /// The plane as G×G inputs (x₁, x₂), row 0 at the top (largest x₂), each at its pixel's centre.
  static func plane(_ g: Int, _ b: PlaneBounds) -> Tensor {
    var data = [Double](repeating: 0, count: g * g * 2)
    for r in 0..<g {
      for c in 0..<g {
        data[(r * g + c) * 2] = b.x0 + (b.x1 - b.x0) * (Double(c) + 0.5) / Double(g)
        data[(r * g + c) * 2 + 1] = b.y1 - (b.y1 - b.y0) * (Double(r) + 0.5) / Double(g)
      }
    }
    return Tensor(shape: [g * g, 2], data: data)
  }

  /// The class regions of `model` over the plane: each pixel the colour of the predicted class
  /// k = argmax p, tinted by the certainty (p_k − 1/K)/(1 − 1/K) from pale (a coin toss) to full.
  static func regionRaster(_ model: Sequential, _ b: PlaneBounds, resolution g: Int) -> Raster {
    let probabilities = Figure.probabilities(model.predict(plane(g, b), batchSize: 4096), model: model)
    return Raster(width: g, height: g, pixels: probabilities.map { p in
      let k = p.indices.max { p[$0] < p[$1] } ?? 0
      let certainty = max(0, (p[k] - 1 / Double(p.count)) / (1 - 1 / Double(p.count)))
      return Color.white.mixed(with: ClassColors.color(k), 0.12 + 0.5 * certainty)
    })
  }

  /// One block of hidden-neuron maps: a layer's title, each neuron's activation a over the
  /// plane (row-major, G×G) and the colours they are drawn in.
  typealias NeuronMaps = (title: String, maps: [[Double]], colormap: Colormap, scale: ColorScale)

  /// The activation a of every hidden neuron (each activation layer that feeds a later dense
  /// layer) over a G×G plane, from one forward pass of the engine.
  static func hiddenMaps(_ model: Sequential, _ b: PlaneBounds, resolution small: Int, firstLayerOnly: Bool = false) -> [NeuronMaps] {
    _ = forwardAll(model, plane(small, b))
    var blocks: [NeuronMaps] = []
    for (i, layer) in model.layers.enumerated() {
      guard let act = layer as? any Activation, model.layers[(i + 1)...].contains(where: { $0 is Dense }) else { continue }
      let units = act.a.columns
      let maps = (0..<units).map { u in (0..<small * small).map { act.a.data[$0 * units + u] } }
      let (map, scale) = neuronColours(layer, maps.flatMap { $0 })
      blocks.append(("\(layer.name): \(units) neuron\(units == 1 ? "" : "s")", maps, map, scale))
      if firstLayerOnly { break }
    }
    return blocks
  }

  /// How a hidden layer's activations are coloured: tanh on a diverging −1…1, σ on viridis 0…1,
  /// ReLU on viridis from 0 to the largest a, anything else diverging around 0.
  static func neuronColours(_ layer: any Layer, _ values: [Double]) -> (Colormap, ColorScale) {
    switch layer {
    case is Tanh: (.diverging, ColorScale(lower: -1, upper: 1))
    case is Sigmoid: (.viridis, ColorScale(lower: 0, upper: 1))
    case is ReLU: (.viridis, .magnitude(values))
    default: (.diverging, .symmetric(values))
    }
  }

  /// The data points on a plane: filled with their class colour, training points edged in
  /// white, held-out points ringed in ink.
  static func drawPoints(_ canvas: any Canvas, _ sets: [(String, Dataset)], plot: Plot, area: Rect, theme: Theme, largest: Double) {
    let count = sets.map(\.1.count).reduce(0, +)
    let radius = min(largest, max(theme.lineWidth * 1.2, 60 / Double(count).squareRoot()))
    for (name, data) in sets {
      for n in 0..<data.count {
        let p = plot.map(data.x.data[n * 2], data.x.data[n * 2 + 1], area)
        let circle = Path.circle(p, radius: radius)
        canvas.fill(circle, ClassColors.color(data.labels?[n] ?? 0))
        canvas.stroke(circle, name == "train" ? .white : Theme.ink, width: name == "train" ? theme.hairline : theme.hairline * 1.8)
      }
    }
  }

  /// A data range widened by 10% on each side (1 on each side for a single value).
  static func padRange(_ lo: Double, _ hi: Double) -> (Double, Double) {
    let span = hi - lo
    return span > 0 ? (lo - 0.1 * span, hi + 0.1 * span) : (lo - 1, hi + 1)
  }

  // MARK: Legends

  /// How a legend entry shows its series: a line (dashed or not), a filled dot or a ring.
  enum LegendMark: Equatable {
    case line(dash: [Double])
    case dot
    case ring
  }

  /// A legend in one row, right-aligned in `rect`: each entry's mark, then its label. A ring is
  /// stroked, not filled, as the ringed points it stands for.
  static func legendRow(_ canvas: any Canvas, _ entries: [(label: String, color: Color, mark: LegendMark)], in rect: Rect, theme: Theme) {
    let style = theme.tick
    let swatch = theme.tickSize * 1.8, gap = theme.tickSize * 0.4, spacing = theme.tickSize * 1.2
    let widths = entries.map { swatch + gap + canvas.measure($0.label, style: style).width }
    var x = rect.maxX - widths.reduce(0, +) - spacing * Double(max(entries.count - 1, 0))
    for (e, w) in zip(entries, widths) {
      let centre = Point(x + swatch / 2, rect.midY)
      switch e.mark {
      case .dot: canvas.fill(Path.circle(centre, radius: theme.tickSize * 0.3), e.color)
      case .ring: canvas.stroke(Path.circle(centre, radius: theme.tickSize * 0.3), e.color, width: theme.hairline * 1.8)
      case .line(let dash): canvas.line(Point(x, rect.midY), Point(x + swatch, rect.midY), e.color, width: theme.lineWidth, dash: dash)
      }
      canvas.text(e.label, Point(x + swatch + gap, rect.midY), style, anchor: .left)
      x += w + spacing
    }
  }
}
