import SheetNet

/// `feature-maps`: one real input through every layer whose output is still an image (conv,
/// batch norm, activation, pooling), a row per layer and a column per channel, every channel
/// shown under its channel number.
///
/// Colours: each map over its own range, as a lecturer reads a map for its pattern rather than
/// its scale (a ReLU map of small values would otherwise be black beside a strong one):
/// a map of values ≥ 0 runs from 0 (dark) to its own maximum (yellow, viridis), a signed map from
/// −m (blue) through 0 (white) to +m (red) with m its own largest |value|, and the input from 0
/// (white) to its maximum (black). A map of zeros stays dark (viridis) or white. The legend under
/// the maps says so.
extension Figure {
  static func checkFeatureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.featureMaps)
    guard source.model.layers.contains(where: { $0 is Conv2D || $0 is MaxPool2D || $0 is AvgPool2D }) else {
      throw .notApplicable("feature-maps shows conv and pool layers' channels, but \(source.lesson.path) has none; try activations or filters")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
  }

  /// One row of the figure: a layer's output for the sample, [C, H, W].
  struct MapRow {
    /// The layer's name ("input" for the input).
    let name: String
    /// C, H, W.
    let shape: [Int]
    /// One H×W plane per channel, row-major.
    let maps: [[Double]]
    /// True for the input image (greys).
    var isInput: Bool { name == "input" }
  }

  /// The rows: the input when it is an image, then each layer's output while it keeps an image
  /// shape, from one forward pass in evaluation mode (the engine's numbers).
  static func featureMapRows(_ model: Sequential, _ x: Tensor) -> [MapRow] {
    let step = Step(training: false)
    var a = x
    var rows: [MapRow] = []
    func add(_ name: String, _ t: Tensor) {
      let shape = Array(t.shape.dropFirst())
      let plane = shape[1] * shape[2]
      rows.append(MapRow(name: name, shape: shape, maps: (0..<shape[0]).map { Array(t.data[$0 * plane..<($0 + 1) * plane]) }))
    }
    if a.rank == 4 { add("input", a) }
    for layer in model.layers {
      a = layer.forward(a, step)
      guard a.rank == 4 else { break }
      add(layer.name, a)
    }
    return rows
  }

  /// How a map is coloured: over its own range (see the type's comment).
  static func mapColoring(_ map: [Double], input: Bool) -> (colormap: Colormap, scale: ColorScale) {
    if input { return (.greys, .magnitude(map)) }
    return map.allSatisfy { $0 >= 0 } ? (.viridis, .magnitude(map)) : (.diverging, .symmetric(map))
  }

  static func featureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.featureMaps)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let rows = featureMapRows(source.model, data.x.gathering(rows: [sample]))
    let label = data.labels.map { " (label \(className(data, $0[sample])))" } ?? ""
    let columns = rows.map(\.shape[0]).max() ?? 1
    return Figure(name: "feature-maps", size: options.theme.size) { canvas in
      let theme = options.theme
      let body = canvas.page(theme.size, theme, title: "Feature maps: \(state(source, options))",
                             subtitle: "\(split.capitalized) sample \(sample + 1)\(label) through every layer that keeps an image shape; a column per channel, each map coloured over its own range")
      let nameStyle = theme.label.emphasized, shapeStyle = theme.note
      let line = canvas.measure("Ag", style: theme.tick).height
      // Bottom: the legend of the colours; top: the channel numbers.
      let (legend, above) = body.splitBottom(line, gap: theme.gap * 0.4)
      let (header, field0) = above.splitTop(line, gap: theme.gap * 0.15)
      let labelWidth = rows.map { max(canvas.measure($0.name, style: nameStyle).width, canvas.measure(shapeText($0.shape), style: shapeStyle).width) }.max() ?? 0
      let (_, field) = field0.splitLeft(labelWidth, gap: theme.gap * 0.5)
      let rects = field0.rows(rows.count, gap: theme.gap * 0.2)
      let pitch = field.width / Double(columns)
      let gap = min(theme.gap * 0.15, pitch * 0.12)
      // Channel numbers: every one when they fit their column, else every 2nd, 4th, 5th or 10th.
      let widest = canvas.measure(String(columns), style: theme.note).width
      let every = [1, 2, 4, 5, 10, 20, 50].first { Double($0) * pitch >= widest + theme.clearance * 2 } ?? 100
      for c in 0..<columns where c == 0 || (c + 1) % every == 0 {
        canvas.text(String(c + 1), Point(field.x + (Double(c) + 0.5) * pitch, header.midY), theme.note, anchor: .center)
      }
      for (row, rect) in zip(rows, rects) {
        let aspect = Double(row.shape[2]) / Double(row.shape[1])
        let height = min(rect.height, (pitch - gap) / aspect)
        let top = rect.y + (rect.height - height) / 2
        let nameHeight = canvas.measure("Ag", style: nameStyle).height
        let twoLines = nameHeight + line <= rect.height
        if twoLines {
          canvas.text(row.name, Point(rect.x, rect.midY), nameStyle, anchor: Anchor(x: 0, y: 1))
          canvas.text(shapeText(row.shape), Point(rect.x, rect.midY), shapeStyle, anchor: Anchor(x: 0, y: 0))
        } else {
          canvas.text(row.name, Point(rect.x, rect.midY), canvas.fitting(row.name, width: labelWidth, nameStyle, minimum: theme.minimumSize), anchor: .left)
        }
        for (c, map) in row.maps.enumerated() {
          let r = Rect(x: field.x + Double(c) * pitch + gap / 2, y: top, width: height * aspect, height: height)
          let (colormap, scale) = mapColoring(map, input: row.isInput)
          canvas.image(Raster(values: map, width: row.shape[2], colormap: colormap, scale: scale), in: r)
          canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
        }
      }
      drawMapLegend(canvas, theme, legend, input: rows.first?.isInput == true,
                    signed: rows.contains { !$0.isInput && $0.maps.contains { $0.contains { $0 < 0 } } })
    }
  }

  /// One line: what the colours of a map mean, map by map ("0 ▬ its max", "−m ▬ +m").
  static func drawMapLegend(_ canvas: any Canvas, _ theme: Theme, _ rect: Rect, input: Bool, signed: Bool) {
    var entries: [(Colormap, String, String, String)] = []
    if input { entries.append((.greys, "input:", "0", "its max")) }
    entries.append((.viridis, "maps ≥ 0:", "0", "the map's max"))
    if signed { entries.append((.diverging, "signed maps:", "−m", "+m, m = the map's largest |value|")) }
    let strip = Size(theme.tickSize * 3, theme.tickSize * 0.7)
    let space = theme.tickSize * 0.35
    func width(_ e: (Colormap, String, String, String)) -> Double {
      canvas.measure(e.1, style: theme.tick.emphasized).width + canvas.measure(e.2, style: theme.tick).width + canvas.measure(e.3, style: theme.tick).width + strip.width + 3 * space
    }
    let separation = theme.gap
    let total = entries.map(width).reduce(0, +) + separation * Double(entries.count - 1)
    var x = rect.x + max(0, (rect.width - total) / 2)
    for e in entries {
      x = canvas.text(e.1, Point(x, rect.midY), theme.tick.emphasized, anchor: .left).maxX + space
      x = canvas.text(e.2, Point(x, rect.midY), theme.tick, anchor: .left).maxX + space
      let r = Rect(x: x, y: rect.midY - strip.height / 2, width: strip.width, height: strip.height)
      canvas.image(Raster(width: 48, height: 1, pixels: (0..<48).map { e.0((Double($0) + 0.5) / 48) }), in: r)
      canvas.stroke(r, Theme.ink, width: theme.hairline)
      x = canvas.text(e.3, Point(r.maxX + space, rect.midY), theme.tick, anchor: .left).maxX + separation
    }
  }
}
