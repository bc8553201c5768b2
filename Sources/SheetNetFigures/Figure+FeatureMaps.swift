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
///
/// `--layer` (a name or a 1-based position) draws one layer whose output is still an image: the
/// input in the left column, the layer's channels in a grid as large as the page allows.
extension Figure {
  static func checkFeatureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.featureMaps)
    guard source.model.layers.contains(where: { $0 is Conv2D || $0 is MaxPool2D || $0 is AvgPool2D }) else {
      throw .notApplicable("feature-maps shows conv and pool layers' channels, but \(source.lesson.path) has none; \(suggestion([.activations, .filters, .architecture], for: source))")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
    _ = try pickMapLayer(source, options)
  }

  /// The layers whose output is still an image, from the first: the rows the figure can draw.
  static func mapLayers(_ model: Sequential) -> [any Layer] {
    Array(zip(model.layers, model.shapes).prefix { $0.1.count == 3 }.map(\.0))
  }

  /// The layer `--layer` names among `mapLayers`, nil without --layer; an option error naming the
  /// layers it can draw otherwise.
  static func pickMapLayer(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> (any Layer)? {
    guard let name = options.layer else { return nil }
    let model = source.model, drawn = mapLayers(model)
    let found = model.layer(named: name) ?? Int(name).flatMap { $0 >= 1 && $0 <= model.layers.count ? model.layers[$0 - 1] : nil }
    guard let found, drawn.contains(where: { $0 === found }) else {
      let which = found.map { layer in "\(layer.name) outputs \(shapeText(model.shapes[model.layers.firstIndex { $0 === layer } ?? 0])) numbers, not an image" } ?? "no such layer"
      throw .option("--layer \(name.prefix(40)): \(which); feature-maps draws the layers whose output is still an image: \(drawn.map(\.name).joined(separator: ", "))")
    }
    return found
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
    if let chosen = try pickMapLayer(source, options), let layer = rows.first(where: { $0.name == chosen.name }) {
      return oneLayerMaps(rows.first(where: \.isInput), layer, theme: options.theme, title: "Feature maps: \(state(source, options))",
                          subtitle: "\(split.capitalized) sample \(sample + 1)\(label) through the network to \(layer.name), each of its channels numbered")
    }
    return Figure(name: "feature-maps", size: options.theme.size) { canvas in
      let theme = options.theme
      let body = canvas.page(theme.size, theme, title: "Feature maps: \(state(source, options))",
                             subtitle: "\(split.capitalized) sample \(sample + 1)\(label) through every layer that keeps an image shape, each channel numbered")
      let nameStyle = theme.label.emphasized, shapeStyle = theme.note
      let line = canvas.measure("Ag", style: theme.note).height
      let hasInput = rows.first?.isInput == true
      let signed = rows.contains { !$0.isInput && $0.maps.contains { $0.contains { $0 < 0 } } }
      // The colours' legend sits in the input's row, beside the image, or else at the bottom.
      var field0 = body
      if !hasInput {
        let legend: Rect
        (legend, field0) = body.splitBottom(line, gap: theme.gap * 0.4)
        drawMapLegend(canvas, theme, legend, input: false, signed: signed)
      }
      let labelWidth = rows.map { max(canvas.measure($0.name, style: nameStyle).width, canvas.measure(shapeText($0.shape), style: shapeStyle).width) }.max() ?? 0
      let (_, field) = field0.splitLeft(labelWidth, gap: theme.gap * 0.5)
      let rects = field0.rows(rows.count, gap: theme.gap * 0.2)
      for (row, rect) in zip(rows, rects) {
        // A slot per channel across the field; the map, and its channel number under it.
        let channels = row.maps.count
        let pitch = field.width / Double(channels)
        let gap = min(theme.gap * 0.15, pitch * 0.12)
        let numbered = !row.isInput
        let aspect = Double(row.shape[2]) / Double(row.shape[1])
        let room = rect.height - (numbered ? line + 2 * theme.clearance : 0)
        let height = min(room, (min(pitch, field.width / 8) - gap) / aspect)
        let top = rect.y + (room - height) / 2
        let nameHeight = canvas.measure("Ag", style: nameStyle).height
        if nameHeight + line + 2 * theme.clearance <= rect.height {
          canvas.text(row.name, Point(rect.x, rect.midY - theme.clearance), nameStyle, anchor: Anchor(x: 0, y: 1))
          canvas.text(shapeText(row.shape), Point(rect.x, rect.midY + theme.clearance), shapeStyle, anchor: Anchor(x: 0, y: 0))
        } else {
          canvas.text(row.name, Point(rect.x, rect.midY), canvas.fitting(row.name, width: labelWidth, nameStyle, minimum: theme.minimumSize), anchor: .left)
        }
        // Channel numbers: every one when they fit their slot, else every 2nd, 4th, 5th or 10th.
        let widest = canvas.measure(String(channels), style: theme.note).width
        let every = [1, 2, 4, 5, 10, 20, 50].first { Double($0) * pitch >= widest + theme.clearance * 2 } ?? 100
        var right = field.x
        for (c, map) in row.maps.enumerated() {
          let slot = Rect(x: field.x + Double(c) * pitch, y: rect.y, width: pitch, height: rect.height)
          let r = Rect(x: row.isInput ? slot.x + gap / 2 : slot.midX - height * aspect / 2, y: top, width: height * aspect, height: height)
          let (colormap, scale) = mapColoring(map, input: row.isInput)
          canvas.image(Raster(values: map, width: row.shape[2], colormap: colormap, scale: scale), in: r)
          canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
          if numbered && (c == 0 || (c + 1) % every == 0) {
            canvas.text(String(c + 1), Point(slot.midX, r.maxY + theme.clearance * 2), theme.note, anchor: .top)
          }
          right = r.maxX
        }
        if row.isInput {
          drawMapLegend(canvas, theme, Rect(x: right + theme.gap, y: rect.y, width: field.maxX - right - theme.gap, height: rect.height), input: true, signed: signed)
        }
      }
    }
  }

  /// One layer's maps (`--layer`): the input image and both names in a left column, the channels
  /// in the grid of rows that makes them largest, each numbered, the colours' legend at the bottom.
  static func oneLayerMaps(_ input: MapRow?, _ layer: MapRow, theme: Theme, title: String, subtitle: String) -> Figure {
    Figure(name: "feature-maps", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let nameStyle = theme.label.emphasized, shapeStyle = theme.note
      let line = canvas.measure("Ag", style: theme.note).height, nameHeight = canvas.measure("Ag", style: nameStyle).height
      let signed = layer.maps.contains { $0.contains { $0 < 0 } }
      let (legend, rest) = body.splitBottom(line, gap: theme.gap * 0.4)
      drawMapLegend(canvas, theme, legend, input: input != nil, signed: signed)
      let names = [input, layer].compactMap { $0 }
      let labelWidth = max(names.map { max(canvas.measure($0.name, style: nameStyle).width, canvas.measure(shapeText($0.shape), style: shapeStyle).width) }.max() ?? 0,
                           rest.width * 0.12)
      let (column, field) = rest.splitLeft(labelWidth, gap: theme.gap)
      func label(_ row: MapRow, at y: Double) -> Double {
        canvas.text(row.name, Point(column.x, y), nameStyle, anchor: .topLeft)
        canvas.text(shapeText(row.shape), Point(column.x, y + nameHeight + theme.clearance), shapeStyle, anchor: .topLeft)
        return y + nameHeight + theme.clearance + line
      }
      if let input {
        let below = label(input, at: column.y)
        let aspect = Double(input.shape[2]) / Double(input.shape[1])
        let width = min(column.width, (column.height / 2 - (below - column.y) - theme.gap) * aspect)
        let r = Rect(x: column.x, y: below + theme.gap * 0.5, width: width, height: width / aspect)
        let (colormap, scale) = mapColoring(input.maps[0], input: true)
        canvas.image(Raster(values: input.maps[0], width: input.shape[2], colormap: colormap, scale: scale), in: r)
        canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
      }
      _ = label(layer, at: input == nil ? column.y : column.midY)
      // The grid: k rows of ⌈C/k⌉ maps, k chosen for the largest maps; a channel number under each.
      let count = layer.maps.count, aspect = Double(layer.shape[2]) / Double(layer.shape[1])
      let gap = theme.gap * 0.3, under = line + 2 * theme.clearance
      func side(_ k: Int) -> Double {
        let columns = Double((count + k - 1) / k)
        return min((field.height - gap * Double(k - 1)) / Double(k) - under, ((field.width - gap * (columns - 1)) / columns) / aspect)
      }
      let k = (1...max(count, 1)).max { side($0) < side($1) } ?? 1
      let columns = (count + k - 1) / k, height = side(k), width = height * aspect
      let pitchX = (field.width - width) / Double(max(columns - 1, 1)), pitchY = (field.height - height - under) / Double(max(k - 1, 1))
      for (c, map) in layer.maps.enumerated() {
        let x = columns == 1 ? field.midX - width / 2 : field.x + Double(c % columns) * pitchX
        let y = k == 1 ? field.y + (field.height - height - under) / 2 : field.y + Double(c / columns) * pitchY
        let r = Rect(x: x, y: y, width: width, height: height)
        let (colormap, scale) = mapColoring(map, input: false)
        canvas.image(Raster(values: map, width: layer.shape[2], colormap: colormap, scale: scale), in: r)
        canvas.stroke(r, Theme.ink, width: theme.hairline * 0.5)
        canvas.text(String(c + 1), Point(r.midX, r.maxY + theme.clearance * 2), theme.note, anchor: .top)
      }
    }
  }

  /// What the colours of a map mean, map by map ("0 ▬ max", "−m ▬ +m"): on one line in the
  /// longest wording that fits `rect`, or else the lead-in above the entries.
  static func drawMapLegend(_ canvas: any Canvas, _ theme: Theme, _ rect: Rect, input: Bool, signed: Bool) {
    let strip = Size(theme.tickSize * 3, theme.tickSize * 0.7)
    let space = theme.tickSize * 0.35, separation = theme.gap * 0.8
    let wordings = [("each map over its own range:", "+m (m = max |value|)"), ("each map over its own range:", "+m, m = max |v|"), ("own range per map:", "+m")]
    func entries(_ signedEnd: String) -> [(Colormap, String, String, String)] {
      (input ? [(Colormap.greys, "input", "0", "max")] : []) + [(Colormap.viridis, "≥ 0", "0", "max")]
        + (signed ? [(Colormap.diverging, "signed", "−m", signedEnd)] : [])
    }
    func width(_ e: (Colormap, String, String, String)) -> Double {
      canvas.measure(e.1, style: theme.tick.emphasized).width + canvas.measure(e.2, style: theme.tick).width + canvas.measure(e.3, style: theme.tick).width + strip.width + 3 * space
    }
    func entriesWidth(_ end: String) -> Double { entries(end).map(width).reduce(0, +) + separation * Double(entries(end).count - 1) }
    func total(_ w: (String, String)) -> Double { entriesWidth(w.1) + separation + canvas.measure(w.0, style: theme.tick).width }
    let line = canvas.measure("Ag", style: theme.tick).height
    var x: Double, y: Double, wording: (String, String)
    if let fits = wordings.first(where: { total($0) <= rect.width }) {
      wording = fits
      (x, y) = (rect.x + max(0, (rect.width - total(wording)) / 2), rect.midY)
      x = canvas.text(wording.0, Point(x, y), theme.tick, anchor: .left).maxX + separation
    } else {
      // Two lines: the lead-in, then the entries.
      wording = wordings.first { entriesWidth($0.1) <= rect.width } ?? wordings.last!
      canvas.text(wording.0, Point(rect.x, rect.midY - theme.clearance), theme.tick, anchor: .bottomLeft)
      (x, y) = (rect.x, rect.midY + theme.clearance + line / 2)
    }
    for e in entries(wording.1) {
      x = canvas.text(e.1, Point(x, y), theme.tick.emphasized, anchor: .left).maxX + space
      x = canvas.text(e.2, Point(x, y), theme.tick, anchor: .left).maxX + space
      let r = Rect(x: x, y: y - strip.height / 2, width: strip.width, height: strip.height)
      canvas.image(Raster(width: 48, height: 1, pixels: (0..<48).map { e.0((Double($0) + 0.5) / 48) }), in: r)
      canvas.stroke(r, Theme.ink, width: theme.hairline)
      x = canvas.text(e.3, Point(r.maxX + space, y), theme.tick, anchor: .left).maxX + separation
    }
  }
}
