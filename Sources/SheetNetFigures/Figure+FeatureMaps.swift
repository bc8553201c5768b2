import SheetNet

/// `feature-maps`: one real input through every layer whose output is still an image (conv,
/// activation, pooling, batch norm), one map per channel, a row per layer with its colour bar.
extension Figure {
  static func checkFeatureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.featureMaps)
    guard source.model.layers.contains(where: { $0 is Conv2D || $0 is MaxPool2D || $0 is AvgPool2D }) else {
      throw .notApplicable("feature-maps shows conv and pool layers' channels, but \(source.lesson.path) has none; try activations or filters")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
  }

  /// At most this many maps a row (the first ones, said so in the row's label).
  static let mapsPerRow = 16

  static func featureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.featureMaps)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let step = Step(training: false)
    var a = data.x.gathering(rows: [sample])
    var rows: [(name: String, shape: [Int], maps: [[Double]])] = []
    func add(_ name: String, _ t: Tensor) {
      let shape = Array(t.shape.dropFirst())
      let plane = shape[1] * shape[2]
      rows.append((name, shape, (0..<min(shape[0], mapsPerRow)).map { Array(t.data[$0 * plane..<($0 + 1) * plane]) }))
    }
    if a.rank == 4 { add("input", a) }
    for layer in source.model.layers {
      a = layer.forward(a, step)
      guard a.rank == 4 else { break }
      add(layer.name, a)
    }
    let label = data.labels.map { " (label \(className(data, $0[sample])))" } ?? ""
    return Figure(name: "feature-maps", size: options.theme.size) { canvas in
      let theme = options.theme
      let body = canvas.page(theme.size, theme, title: "Feature maps: \(state(source, options))",
                             subtitle: "\(split.capitalized) sample \(sample + 1)\(label) through every layer that keeps an image shape; one map per channel, each row's colour range at its end")
      let nameStyle = theme.label.emphasized, shapeStyle = theme.note
      let labelWidth = rows.map { max(canvas.measure($0.name, style: nameStyle).width, canvas.measure(shapeText($0.shape), style: shapeStyle).width) }.max() ?? 0
      let bars = rows.map { row -> ColorBar in
        let values = row.maps.flatMap { $0 }
        if row.name == "input" { return ColorBar(colormap: .greys, scale: .linear(values), title: "") }
        return values.allSatisfy { $0 >= 0 } ? ColorBar(colormap: .viridis, scale: .magnitude(values), title: "")
          : ColorBar(colormap: .diverging, scale: .symmetric(values), title: "")
      }
      let rects = body.rows(rows.count, gap: theme.gap * 0.5)
      let barWidth = bars.map { $0.inlineWidth(on: canvas, theme: theme) }.max() ?? 0
      let gap = theme.gap * 0.25
      let widest = Double(rows.map(\.maps.count).max() ?? 1)
      for (k, (row, rect)) in zip(rows, rects).enumerated() {
        let (labels, rest0) = rect.splitLeft(labelWidth, gap: theme.gap * 0.5)
        let (_, field) = rest0.splitRight(barWidth, gap: theme.gap * 0.5)
        let aspect = Double(row.shape[2]) / Double(row.shape[1])
        let side = min(field.height, (field.width - gap * (widest - 1)) / widest / aspect)
        let top = rect.y + (rect.height - side) / 2
        canvas.text(row.name, Point(labels.x, rect.midY), nameStyle, anchor: Anchor(x: 0, y: 1))
        let more = row.shape[0] > row.maps.count ? " (first \(row.maps.count))" : ""
        canvas.text(shapeText(row.shape) + more, Point(labels.x, rect.midY), canvas.fitting(shapeText(row.shape) + more, width: labelWidth, shapeStyle, minimum: theme.minimumSize), anchor: Anchor(x: 0, y: 0))
        var x = field.x
        for map in row.maps {
          let r = Rect(x: x, y: top, width: side * aspect, height: side)
          canvas.image(Raster(values: map, width: row.shape[2], colormap: bars[k].colormap, scale: bars[k].scale), in: r)
          canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
          x += side * aspect + gap
        }
        bars[k].drawInline(on: canvas, at: Point(x + theme.gap * 0.25, rect.midY), theme: theme)
      }
    }
  }
}
