import SheetNet

/// `overview`: a CNN as a still of CNN Explainer's overview. One sample of the evaluation split
/// flows through the trained network (one forward pass in evaluation mode, every layer's output
/// kept): a column per layer with its real feature maps as thumbnails (as many as fit legibly,
/// then "+N more"), a vector layer (flatten, dense) as a thin column of neurons coloured by value,
/// each column named above it with its output shape and parameter count (crowded labels take
/// turns in rows, a higher one joined to its column by a thin line), and at the end the class
/// probabilities p as a bar list, the predicted class filled in the accent colour and the true
/// class outlined.
///
/// Thumbnails are coloured like `feature-maps`: each map over its own range. A token network's
/// overview (a row per token through every layer) is drawn by `sequenceOverview`.
extension Figure {
  static func checkOverview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.overview)
    if run.split.train.isTokens { return try checkSequenceOverview(source, options) }
    guard source.model.layers.contains(where: { $0 is Conv2D }), source.model.inputShape.count == 3 else {
      throw .notApplicable("overview follows an image through a CNN's feature maps or a token sequence through its layers, but \(source.lesson.path) has no conv2d layer and no tokens; try architecture")
    }
    guard run.split.train.labels != nil else {
      throw .notApplicable("overview ends with class probabilities, but \(source.lesson.path) gives target values (y); try feature-maps")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
  }

  /// One column of the overview: a layer's output for the sample.
  struct OverviewColumn {
    /// Layer name ("input" for the input).
    let name: String
    /// Its output shape per sample.
    let shape: [Int]
    /// Trainable and running numbers the layer holds.
    let parameters: Int
    /// The output, flat (C·H·W or units).
    let values: [Double]
    /// Channels of an image output, 0 for a vector.
    var channels: Int { shape.count == 3 ? shape[0] : 0 }
    /// The map of channel c, [H, W] row-major.
    func map(_ c: Int) -> [Double] {
      let plane = shape[1] * shape[2]
      return Array(values[c * plane..<(c + 1) * plane])
    }
  }

  /// The columns (input, then every layer but a final softmax) and the class probabilities, from
  /// one forward pass of `x` [1, …] in evaluation mode.
  static func overviewColumns(_ model: Sequential, _ x: Tensor) -> (columns: [OverviewColumn], probabilities: [Double]) {
    let step = Step(training: false)
    var columns = [OverviewColumn(name: "input", shape: model.inputShape, parameters: 0, values: x.data)]
    var a = x
    for layer in model.layers {
      a = layer.forward(a, step)
      if layer === model.layers.last, layer is Softmax { break }
      columns.append(OverviewColumn(name: layer.name, shape: Array(a.shape.dropFirst()), parameters: layer.parameterCount, values: a.data))
    }
    return (columns, probabilities(a.reshaped([1, a.count]), model: model)[0])
  }

  static func overview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.overview)
    if run.split.train.isTokens { return try sequenceOverview(source, options) }
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let (columns, p) = overviewColumns(source.model, data.x.gathering(rows: [sample]))
    let names = p.indices.map { className(data, $0) }
    let truth = data.labels?[sample]
    let predicted = p.indices.max { p[$0] < p[$1] || (p[$0] == p[$1] && $0 > $1) } ?? 0
    let label = truth.map { " (label \(className(data, $0)))" } ?? ""
    let verdict = truth == nil ? "" : truth == predicted ? ", predicted correctly" : ", predicted \(names[predicted])"
    let theme = options.theme
    return Figure(name: "overview", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "CNN overview: \(state(source, options))",
                             subtitle: "\(split.capitalized) sample \(sample + 1)\(label) through every layer\(verdict); each map coloured over its own range")
      let line = canvas.measure("Ag", style: theme.tick).height + 2 * theme.clearance
      let nameStyle = theme.tick.emphasized
      // Right: the probabilities; left: the columns.
      let nameWidth = names.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
      let valueWidth = canvas.measure("0.00", style: theme.tick).width
      let panelWidth = max(nameWidth + valueWidth + theme.tickSize * 7, canvas.measure("p (softmax)", style: theme.label.emphasized).width)
      let (panel, field) = body.splitRight(panelWidth, gap: theme.gap)
      drawProbabilities(canvas, theme, panel, p: p, names: names, predicted: predicted, truth: truth)

      // Labels (name, shape, parameters) above each column, all on one side so that each is
      // read over its own column; when neighbours' labels would touch, they take turns in
      // rows, a label in a higher row joined to its column by a thin line.
      let labels = columns.map { c -> [String] in
        [c.name, shapeText(c.shape)] + (c.parameters > 0 ? ["\(NumberFormat.integer(c.parameters)) param\(c.parameters == 1 ? "" : "s")"] : [])
      }
      let labelWidths = labels.indices.map { k in
        labels[k].enumerated().map { canvas.measure($0.element, style: $0.offset == 0 ? nameStyle : theme.note).width }.max() ?? 0
      }
      // Column widths: image columns share what the thin vector columns leave, and a thin last
      // column keeps room on its right for half its label, so that the label sits centred over it.
      let thin = theme.tickSize * 1.8
      let blockGap = theme.gap * 0.5
      let images = columns.filter { $0.channels > 0 }.count
      let vectors = columns.count - images
      let lastThin = columns.last.map { $0.channels == 0 } ?? false
      let columnsField = field.inset(right: lastThin ? max(0, (labelWidths.last! - thin) / 2) : 0)
      let imageWidth = max(thin, (columnsField.width - Double(vectors) * thin - Double(columns.count - 1) * blockGap) / Double(max(images, 1)))
      var x = columnsField.x
      let frames = columns.map { column -> Rect in
        let w = column.channels > 0 ? imageWidth : thin
        defer { x += w + blockGap }
        return Rect(x: x, y: field.y, width: w, height: field.height)
      }
      func lineLeft(_ k: Int, _ n: Int) -> (x: Double, width: Double) {
        let w = canvas.measure(labels[k][n], style: n == 0 ? nameStyle : theme.note).width
        return (min(max(frames[k].midX - w / 2, body.x), field.maxX - w), w)
      }
      let extents = labels.indices.map { k -> (left: Double, right: Double) in
        let lines = labels[k].indices.map { lineLeft(k, $0) }
        return (lines.map(\.x).min() ?? frames[k].midX, lines.map { $0.x + $0.width }.max() ?? frames[k].midX)
      }
      let apart = theme.gap * 0.3
      let tierOf = overviewLabelTiers(extents, centers: frames.map(\.midX), apart: apart)
      let tiers = (tierOf.max() ?? 0) + 1
      let labelHeight = Double(labels.map(\.count).max() ?? 3) * line
      let inner = field.inset(top: Double(tiers) * labelHeight + Double(tiers - 1) * apart + theme.gap * 0.3)
      for (k, column) in columns.enumerated() {
        let frame = frames[k]
        // Tier 0 sits just over the blocks; each label's last line on its tier's bottom.
        let tier = tierOf[k]
        let bottom = inner.y - theme.gap * 0.3 - Double(tier) * (labelHeight + apart)
        var y = bottom - Double(labels[k].count) * line
        for n in labels[k].indices {
          let style = n == 0 ? nameStyle : theme.note
          canvas.text(labels[k][n], Point(lineLeft(k, n).x, y), style, anchor: .topLeft)
          y += line
        }
        if tier > 0 {
          canvas.line(Point(frame.midX, bottom + theme.clearance * 2), Point(frame.midX, inner.y - theme.clearance), Theme.muted, width: theme.hairline)
        }
        let block = Rect(x: frame.x, y: inner.y, width: frame.width, height: inner.height)
        canvas.fill(Path.roundedRect(block, radius: theme.tickSize * 0.3), Color(hex: 0xF3F3F3))
        let area = block.inset(theme.gap * 0.2)
        if column.channels > 0 { drawThumbnails(canvas, theme, area, column) }
        else { drawNeurons(canvas, theme, area, column.values) }
        if k + 1 < columns.count {
          canvas.arrow(Point(frame.maxX + blockGap * 0.1, inner.midY), Point(frame.maxX + blockGap * 0.9, inner.midY), Theme.muted,
                       width: theme.hairline, head: blockGap * 0.5)
        }
      }
    }
  }

  /// The row of labels each overview column's label takes, 0 just over the blocks: the fewest
  /// rows (searched left to right, lower rows first) in which every label keeps `apart` from
  /// the others in its row and the thin line from a label down to its column passes every
  /// label in the rows below at least `apart` / 2 away. `extents` are the labels' left and
  /// right edges, `centers` the columns' middles. When no four rows will do (or the search
  /// tries 100,000 placements), each label takes the lowest row clear of its row's labels,
  /// lines unchecked.
  static func overviewLabelTiers(_ extents: [(left: Double, right: Double)], centers: [Double], apart: Double) -> [Int] {
    let n = extents.count
    // A thin line needs less room beside a label than another label does: half.
    func clear(_ x: Double, of k: Int) -> Bool { x <= extents[k].left - apart / 2 || x >= extents[k].right + apart / 2 }
    func apartFrom(_ a: Int, _ b: Int) -> Bool { extents[b].left - extents[a].right >= apart || extents[a].left - extents[b].right >= apart }
    /// Label b in row `tier` beside the rows of labels 0..<b.
    func fits(_ b: Int, _ tier: Int, _ rows: [Int]) -> Bool {
      (0..<b).allSatisfy { a in
        rows[a] == tier ? apartFrom(a, b) : rows[a] > tier ? clear(centers[a], of: b) : clear(centers[b], of: a)
      }
    }
    var budget = 100_000
    for count in 1...4 {
      var rows: [Int] = []
      func place(_ b: Int) -> Bool {
        guard b < n else { return true }
        for tier in 0..<count where budget > 0 && fits(b, tier, rows) {
          budget -= 1
          rows.append(tier)
          if place(b + 1) { return true }
          rows.removeLast()
        }
        return false
      }
      if place(0) { return rows }
    }
    var rows: [Int] = []
    for b in 0..<n {
      var tier = 0
      while !(0..<b).allSatisfy({ rows[$0] != tier || apartFrom($0, b) }) { tier += 1 }
      rows.append(tier)
    }
    return rows
  }

  /// A column's maps: the largest thumbnails that show every channel at least `minimum` wide, or
  /// else as many as fit at that size, with "+N more" under them.
  static func drawThumbnails(_ canvas: any Canvas, _ theme: Theme, _ area: Rect, _ column: OverviewColumn) {
    let (c, h, w) = (column.shape[0], column.shape[1], column.shape[2])
    let aspect = Double(w) / Double(h)
    let gap = theme.gap * 0.15
    let minimum = theme.tickSize * 1.25
    let line = canvas.measure("Ag", style: theme.note).height + 2 * theme.clearance
    /// (across, rows, side) for `height`.
    func grid(_ across: Int, _ height: Double) -> (Int, Double) {
      let side = (area.width - gap * Double(across - 1)) / Double(across) / aspect
      return (Int((height + gap) / (side + gap)), side)
    }
    var best: (across: Int, rows: Int, side: Double)? = nil
    for across in 1...max(1, min(c, 8)) {
      let (rows, side) = grid(across, area.height)
      if rows * across >= c, side * aspect >= minimum, side > (best?.side ?? 0) { best = (across, (c + across - 1) / across, side) }
    }
    var shown = c
    if best == nil {
      // Not all fit: the most that fit at the minimum size, leaving room for "+N more".
      let room = area.height - 2 * line - gap
      let across = max(1, Int((area.width + gap) / (minimum + gap)))
      let (rows, side) = grid(across, room)
      shown = max(1, min(c, rows * across))
      best = (across, (shown + across - 1) / across, side)
    }
    let g = best!
    let total = Double(g.rows) * g.side + Double(g.rows - 1) * gap + (shown < c ? 2 * line : 0)
    let top = area.y + max(0, (area.height - total) / 2)
    let width = Double(g.across) * g.side * aspect + Double(g.across - 1) * gap
    let left = area.x + (area.width - width) / 2
    for k in 0..<shown {
      let r = Rect(x: left + Double(k % g.across) * (g.side * aspect + gap), y: top + Double(k / g.across) * (g.side + gap), width: g.side * aspect, height: g.side)
      let map = column.map(k)
      let (colormap, scale) = mapColoring(map, input: column.name == "input")
      canvas.image(Raster(values: map, width: w, colormap: colormap, scale: scale), in: r)
      canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
    }
    if shown < c {
      let y = top + Double(g.rows) * (g.side + gap)
      let more = "+\(c - shown) more"
      if canvas.measure(more, style: theme.note).width <= area.width + theme.gap * 0.2 {
        canvas.text(more, Point(area.midX, y + line * 0.5), theme.note, anchor: .center)
      } else {
        canvas.text("+\(c - shown)", Point(area.midX, y), theme.note, anchor: .top)
        canvas.text("more", Point(area.midX, y + line), theme.note, anchor: .top)
      }
    }
  }

  /// A vector layer as a thin column of neurons, each a cell coloured by its value (viridis from 0
  /// to the largest for values ≥ 0, else blue–white–red), one image.
  static func drawNeurons(_ canvas: any Canvas, _ theme: Theme, _ area: Rect, _ values: [Double]) {
    let (colormap, scale) = mapColoring(values, input: false)
    let cell = min(area.height / Double(values.count), area.width)
    let height = cell * Double(values.count)
    let rect = Rect(x: area.midX - area.width / 2, y: area.y + (area.height - height) / 2, width: area.width, height: height)
    if cell >= theme.tickSize * 0.5 {
      drawNumberGrid(canvas, theme, rect, rows: values.count, columns: 1, colors: values.map { colormap(scale($0)) }, labels: nil)
    } else {
      // Too many to draw apart: one strip, a pixel per neuron.
      canvas.image(Raster(width: 1, height: values.count, pixels: values.map { colormap(scale($0)) }), in: rect)
      canvas.stroke(rect, Theme.ink, width: theme.hairline)
    }
  }

  /// The class probabilities as horizontal bars from 0 to 1: the predicted class's bar in the
  /// accent colour, the true class's name in bold and its bar outlined.
  static func drawProbabilities(_ canvas: any Canvas, _ theme: Theme, _ rect: Rect, p: [Double], names: [String], predicted: Int, truth: Int?) {
    let area = canvas.titled(rect, "p (softmax)", theme, bold: true)
    let line = canvas.measure("Ag", style: theme.tick).height + 2 * theme.clearance
    let (legend, list) = area.splitBottom(2 * line, gap: theme.gap * 0.3)
    // The rows shown: all classes, or the most probable that fit (with the true class).
    let fit = max(1, Int(list.height / (line * 1.15)))
    var rows = Array(p.indices)
    if rows.count > fit {
      rows = Array(p.indices.sorted { p[$0] > p[$1] || (p[$0] == p[$1] && $0 < $1) }.prefix(fit))
      if let truth, !rows.contains(truth) { rows[rows.count - 1] = truth }
      rows.sort()
    }
    let pitch = list.height / Double(rows.count)
    let nameWidth = names.map { canvas.measure($0, style: theme.tick.emphasized).width }.max() ?? 0
    let valueWidth = canvas.measure("0.00", style: theme.tick).width
    let track = Rect(x: list.x + nameWidth + theme.tickSize * 0.5, y: list.y, width: max(0, list.width - nameWidth - valueWidth - theme.tickSize), height: list.height)
    for (n, k) in rows.enumerated() {
      let mid = list.y + (Double(n) + 0.5) * pitch
      let isTrue = k == truth
      canvas.text(names[k], Point(track.x - theme.tickSize * 0.5, mid), isTrue ? theme.tick.emphasized : theme.tick, anchor: .right)
      let bar = Rect(x: track.x, y: mid - pitch * 0.36, width: track.width * min(max(p[k], 0), 1), height: pitch * 0.72)
      canvas.fill(Rect(x: track.x, y: bar.y, width: track.width, height: bar.height), Theme.grid.mixed(with: .white, 0.5))
      canvas.fill(bar, k == predicted ? Theme.accent : Theme.muted.mixed(with: .white, 0.45))
      if isTrue { canvas.stroke(Rect(x: track.x, y: bar.y, width: track.width, height: bar.height), Theme.ink, width: theme.hairline * 1.5) }
      canvas.text(NumberFormat.fixed(p[k], digits: 2), Point(track.maxX + theme.tickSize * 0.5, mid), k == predicted ? theme.tick.emphasized : theme.tick, anchor: .left)
    }
    // Legend: predicted (filled), true (outlined).
    let swatch = Size(theme.tickSize * 1.2, theme.tickSize * 0.7)
    for (n, (text, filled)) in [("predicted", true), ("true label", false)].enumerated() {
      let y = legend.y + (Double(n) + 0.5) * line
      let r = Rect(x: legend.x, y: y - swatch.height / 2, width: swatch.width, height: swatch.height)
      if filled { canvas.fill(r, Theme.accent) } else { canvas.stroke(r, Theme.ink, width: theme.hairline * 1.5) }
      canvas.text(text, Point(r.maxX + theme.tickSize * 0.4, y), theme.tick, anchor: .left)
    }
  }
}
