import SheetNet

/// `architecture`: a dense network as neurons and edges (TensorFlow Playground's view: edge
/// colour and width from the trained weight, neuron fill from its bias, every bias visible), or
/// any other network as a block diagram with each layer's output shape and parameter count.
extension Figure {
  /// True when every layer is dense, an element-wise activation, softmax or dropout.
  static func isDense(_ model: Sequential) -> Bool {
    model.inputShape.count == 1 && model.layers.allSatisfy { $0 is Dense || $0 is any Activation || $0 is Softmax || $0 is Dropout }
  }

  static func architecture(_ source: FigureSource, _ options: FigureOptions) -> Figure {
    let model = source.model
    let parameters = NumberFormat.integer(model.parameterCount)
    let title = "Architecture: \(state(source, options))"
    let subtitle = "\(parameters) parameters, \(NumberFormat.integer(model.multiplyAdds)) multiply-adds per sample"
    if isDense(model) {
      let classes = source.run.map { run in run.split.train.classNames } ?? []
      return neuronDiagram(model, theme: options.theme, title: title, subtitle: subtitle + "; edge colour and width: weight, neuron fill: bias", classNames: classes)
    }
    return blockDiagram(model, theme: options.theme, title: title, subtitle: subtitle)
  }

  // MARK: Dense networks: neurons and edges

  /// One column of neurons: its header, how many units it shows and which it leaves out.
  struct NeuronColumn {
    var header: String
    var detail: String
    var units: Int
    var shown: Int
    var dense: Dense?
  }

  /// The neurons-and-edges view of a dense network. Columns with more than 64 units show the
  /// first 64 and say how many are left out.
  public static func neuronDiagram(_ model: Sequential, theme: Theme, title: String, subtitle: String, classNames: [String] = []) -> Figure {
    // The columns: the input, then each dense layer with the layers that follow it (activation, dropout).
    var columns = [NeuronColumn(header: "input", detail: "\(model.inputShape[0])", units: model.inputShape[0], shown: min(model.inputShape[0], 64), dense: nil)]
    for layer in model.layers {
      if let d = layer as? Dense {
        columns.append(NeuronColumn(header: d.name, detail: "\(d.units)", units: d.units, shown: min(d.units, 64), dense: d))
      } else if let a = layer as? any Activation {
        columns[columns.count - 1].detail += " · \(type(of: a).symbol)"
      } else if layer is Softmax {
        columns[columns.count - 1].detail += " · softmax"
      } else if let drop = layer as? Dropout {
        columns[columns.count - 1].detail += " · dropout \(NumberFormat.shortest(drop.rate))"
      }
    }
    let values = columns.compactMap(\.dense).flatMap { $0.W.value.data + ($0.useBias ? $0.b.value.data : []) }
    let scale = ColorScale.symmetric(values)
    let edgeCount = zip(columns, columns.dropFirst()).map { $0.shown * $1.shown }.reduce(0, +)
    return Figure(name: "architecture", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let bar = ColorBar(colormap: .diverging, scale: scale, title: "weight, bias")
      let (barRect, rest0) = body.splitRight(bar.width(on: canvas, theme: theme), gap: theme.gap)
      let outputs = columns.last!
      let outputLabels: [String] = outputs.units == 1 ? ["p(\(classNames.count == 2 ? classNames[1] : "class 1"))"]
        : (classNames.count == outputs.units ? classNames : [])
      let labelWidth = (outputLabels.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0)
      let (_, rest) = rest0.splitRight(labelWidth, gap: labelWidth > 0 ? theme.gap * 0.4 : 0)
      let headerStyle = theme.label.emphasized, detailStyle = theme.tick
      let headerHeight = canvas.measure("Ag", style: headerStyle).height + canvas.measure("Ag", style: detailStyle).height
      let (headers, field0) = rest.splitTop(headerHeight, gap: theme.gap * 0.6)
      // Keep every column's header on the page: inset the field by half the widest end header.
      func headerWidth(_ c: NeuronColumn) -> Double {
        max(canvas.measure(c.header, style: headerStyle).width, canvas.measure(c.detail, style: detailStyle).width)
      }
      let field = field0.inset(left: headerWidth(columns[0]) / 2, right: columns.count > 1 ? headerWidth(outputs) / 2 : 0)
      // Each column spreads its neurons over the height, but no wider apart than the largest
      // neurons need, so a small output layer does not fill the page.
      let largestRadius = theme.labelSize * 1.4
      let spacings = columns.map { min(field.height / Double($0.shown), largestRadius * 3) }
      let radii = spacings.map { min(largestRadius, $0 * 0.42) }
      let xs = columns.indices.map { i in
        columns.count == 1 ? field.midX : field.x + field.width * Double(i) / Double(columns.count - 1)
      }
      func center(_ c: Int, _ j: Int) -> Point {
        let n = columns[c].shown
        return Point(xs[c], field.midY + (Double(j) - Double(n - 1) / 2) * spacings[c])
      }
      // Edges, weakest first so strong weights lie on top.
      let maxWidth = max(theme.hairline, min((radii.min() ?? 1) * 0.5 + theme.hairline, theme.lineWidth * 2))
      var edges: [(from: Point, to: Point, w: Double, source: Int, target: Int, column: Int)] = []
      for c in 1..<columns.count {
        guard let d = columns[c].dense else { continue }
        let inputs = columns[c - 1].units
        for j in 0..<columns[c].shown {
          for i in 0..<columns[c - 1].shown { edges.append((center(c - 1, i), center(c, j), d.W.value.data[j * inputs + i], i, j, c)) }
        }
      }
      let largest = max(abs(scale.lower), abs(scale.upper))
      for e in edges.sorted(by: { abs($0.w) < abs($1.w) }) {
        let width = theme.hairline * 0.5 + (maxWidth - theme.hairline * 0.5) * abs(e.w) / largest
        canvas.line(e.from, e.to, Colormap.diverging(scale(e.w)), width: width)
      }
      // Weights written on the edges of a tiny network: the i-th input's edges at (i+1)/(n+1) of the way.
      let numberStyle = TextStyle(size: max(theme.minimumSize, theme.tickSize * 0.9))
      if edgeCount <= 16 {
        for e in edges {
          let n = Double(columns[e.column - 1].shown)
          let t = (Double(e.source) + 1) / (n + 1)
          let p = Point(e.from.x + (e.to.x - e.from.x) * t, e.from.y + (e.to.y - e.from.y) * t)
          let text = NumberFormat.significant(e.w, 3)
          let size = canvas.measure(text, style: numberStyle)
          canvas.fill(Path.roundedRect(Rect(x: p.x - size.width / 2 - 2, y: p.y - size.height / 2, width: size.width + 4, height: size.height), radius: 2), Color.white.opacity(0.9))
          canvas.text(text, p, numberStyle)
        }
      }
      // Neurons: inputs white, others filled with their bias colour, the bias written in when it fits.
      for (c, column) in columns.enumerated() {
        let room = columns.count == 1 ? field0.width : field.width / Double(columns.count - 1) * 0.95
        let header = canvas.fitting(column.header, width: room, headerStyle, minimum: theme.minimumSize)
        canvas.text(column.header, Point(xs[c], headers.y), header, anchor: .top)
        let detail = column.detail + (column.shown < column.units ? " (first \(column.shown))" : "")
        canvas.text(detail, Point(xs[c], headers.maxY), canvas.fitting(detail, width: room, detailStyle, minimum: theme.minimumSize), anchor: .bottom)
        let radius = radii[c]
        let labelsFit = canvas.measure("Ag", style: theme.tick).height <= spacings[c] * 0.95
        for j in 0..<column.shown {
          let p = center(c, j)
          let circle = Path.circle(p, radius: radius)
          var label = ""
          if let d = column.dense {
            let b = d.useBias ? d.b.value.data[j] : 0
            canvas.fill(circle, Colormap.diverging(scale(b)))
            label = NumberFormat.significant(b, 2)
            if c == columns.count - 1, j < outputLabels.count, labelsFit {
              canvas.text(outputLabels[j], Point(p.x + radius + theme.gap * 0.4, p.y), theme.tick, anchor: .left)
            }
          } else {
            canvas.fill(circle, .white)
            label = "x" + subscripted(j + 1)
          }
          canvas.stroke(circle, Theme.ink, width: theme.hairline)
          var style = canvas.fitting(label, width: radius * 1.8, TextStyle(size: min(theme.tickSize, radius * 0.62)), minimum: theme.minimumSize)
          if style.size >= theme.minimumSize && canvas.measure(label, style: style).width <= radius * 1.85 {
            if let d = column.dense { style.color = Colormap.diverging(scale(d.useBias ? d.b.value.data[j] : 0)).legibleText }
            canvas.text(label, p, style)
          }
        }
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: field.y, width: barRect.width, height: min(field.height, theme.size.height * 0.5)), theme: theme)
    }
  }

  // MARK: Other networks: a block diagram

  /// What a block says about its layer: a short description and a fill colour by kind.
  static func blockDescription(_ layer: any Layer) -> (text: String, fill: Color) {
    let conv = Color(hex: 0xD6E6F4), pool = Color(hex: 0xFCE3C4), dense = Color(hex: 0xD5EFDF), plain = Color(hex: 0xEEEEEE)
    switch layer {
    case let c as Conv2D:
      let stride = c.stride == (1, 1) ? "" : " /\(c.stride.height)"
      return ("\(c.filters) @ \(c.kernel.height)×\(c.kernel.width)\(c.padding == .same ? " same" : "")\(stride)", conv)
    case let p as MaxPool2D: return ("max \(p.size.height)×\(p.size.width)", pool)
    case let p as AvgPool2D: return ("mean \(p.size.height)×\(p.size.width)", pool)
    case let d as Dense: return ("dense \(d.units)", dense)
    case is Flatten: return ("flatten", plain)
    case let d as Dropout: return ("dropout \(NumberFormat.shortest(d.rate))", plain)
    case is BatchNorm: return ("batch norm", plain)
    case is Softmax: return ("softmax", plain)
    case let a as any Activation: return (type(of: a).symbol, plain)
    default: return (layer.kind, plain)
    }
  }

  /// Boxes in reading order (left to right, then the next row), one per layer after the input,
  /// each with its name, what it does, its output shape and its parameter count.
  public static func blockDiagram(_ model: Sequential, theme: Theme, title: String, subtitle: String) -> Figure {
    var blocks: [(name: String, text: String, shape: String, parameters: String, fill: Color)] = [
      ("input", "", shapeText(model.inputShape), "", .white),
    ]
    for (layer, shape) in zip(model.layers, model.shapes) {
      let (text, fill) = blockDescription(layer)
      let p = layer.parameterCount
      blocks.append((layer.name, text, shapeText(shape), p == 0 ? "" : "\(NumberFormat.integer(p)) param\(p == 1 ? "" : "s")", fill))
    }
    return Figure(name: "architecture", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let nameStyle = theme.tick.emphasized, style = theme.tick
      let line = canvas.measure("Ag", style: style).height
      let widest = blocks.flatMap { [canvas.measure($0.name, style: nameStyle).width] + [$0.text, $0.shape, $0.parameters].map { canvas.measure($0, style: style).width } }.max() ?? 0
      let boxWidth = widest + theme.tickSize * 1.2, arrow = theme.gap * 1.1
      let perRow = max(1, Int((body.width + arrow) / (boxWidth + arrow)))
      let rows = (blocks.count + perRow - 1) / perRow
      let boxHeight = line * 4 + theme.tickSize * 0.8
      let rowGap = theme.gap * 1.6
      let totalHeight = Double(rows) * boxHeight + Double(rows - 1) * rowGap
      let top = body.y + max(0, (body.height - totalHeight) / 2)
      let columnsUsed = min(perRow, blocks.count)
      let left = body.x + max(0, (body.width - (Double(columnsUsed) * boxWidth + Double(columnsUsed - 1) * arrow)) / 2)
      func box(_ i: Int) -> Rect {
        Rect(x: left + Double(i % perRow) * (boxWidth + arrow), y: top + Double(i / perRow) * (boxHeight + rowGap), width: boxWidth, height: boxHeight)
      }
      for (i, b) in blocks.enumerated() {
        let r = box(i)
        canvas.fill(Path.roundedRect(r, radius: theme.tickSize * 0.4), b.fill)
        canvas.stroke(Path.roundedRect(r, radius: theme.tickSize * 0.4), Theme.ink, width: theme.hairline)
        let y0 = r.y + theme.tickSize * 0.4
        canvas.text(b.name, Point(r.midX, y0), nameStyle, anchor: .top)
        canvas.text(b.text, Point(r.midX, y0 + line), style, anchor: .top)
        canvas.text(b.shape, Point(r.midX, y0 + 2 * line), style, anchor: .top)
        canvas.text(b.parameters, Point(r.midX, y0 + 3 * line), theme.note, anchor: .top)
        guard i + 1 < blocks.count else { continue }
        let next = box(i + 1)
        if next.y == r.y {
          canvas.arrow(Point(r.maxX + 2, r.midY), Point(next.x - 2, next.midY), Theme.ink, width: theme.hairline * 1.5, head: theme.tickSize * 0.6)
        } else {
          // Down to the next row: below this box, across to the left, down into the next box.
          let midY = r.maxY + rowGap / 2
          canvas.stroke(Path.polyline([Point(r.midX, r.maxY + 2), Point(r.midX, midY), Point(next.midX, midY)]), Theme.ink, width: theme.hairline * 1.5)
          canvas.arrow(Point(next.midX, midY), Point(next.midX, next.y - 2), Theme.ink, width: theme.hairline * 1.5, head: theme.tickSize * 0.6)
        }
      }
    }
  }
}
