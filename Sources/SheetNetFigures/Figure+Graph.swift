import SheetNet

/// `graph`: a tiny network's first training step as a computation graph, one node per scalar
/// with its value and its gradient ∂L/∂(node) (micrograd's draw_dot, without Graphviz). Every
/// number is read from the engine's trace of that step; parameters also show their new value.
extension Figure {
  /// The largest network the graph draws legibly.
  static let graphLimits = (parameters: 24, units: 4)

  static func checkGraph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.graph)
    let model = source.model
    guard isDense(model), !model.layers.contains(where: { $0 is Dropout }) else {
      throw .notApplicable("graph draws dense networks scalar by scalar; \(source.lesson.path) has other layers, try architecture or `sheetnet trace`")
    }
    let widest = ([model.inputShape[0]] + model.shapes.map { $0.reduce(1, *) }).max() ?? 0
    guard model.parameterCount <= graphLimits.parameters, widest <= graphLimits.units else {
      throw .notApplicable("graph suits networks of at most \(graphLimits.parameters) parameters and \(graphLimits.units) units a layer; \(source.lesson.path) has \(NumberFormat.integer(model.parameterCount)) parameters — try architecture, or `sheetnet trace` for every number")
    }
    _ = try sampleIndex(options, in: run.split.train, split: "training")
  }

  /// A short name for the loss column.
  static func lossHeader(_ kind: String) -> String {
    switch kind {
    case "half_sse": "E = Σ ½(t − a)²"
    case "mse": "L = mean (a − t)²"
    case "binary_cross_entropy": "L: cross-entropy"
    case "cross_entropy": "L: cross-entropy"
    default: "L: " + kind
    }
  }

  /// One scalar of the step.
  struct GraphNode {
    var label: String
    var value: Double
    var grad: Double?
    var updated: Double?
    var fill: Color
  }

  static func graph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.graph)
    let sample = try sampleIndex(options, in: run.split.train, split: "training")
    let tracer = Tracer()
    let point = TracePoint(step: 1, tracer: tracer, indices: [sample])
    do {
      let fresh = try LessonRun(source.lesson, seed: run.seed)
      try fresh.train(trace: point)
    } catch {
      throw .lesson(error.description)
    }
    func value(_ name: String) -> Tensor? { tracer.entry(name)?.value }
    let param = Color(hex: 0xD6E6F4), plain = Color(hex: 0xF2F2F2), loss = Color(hex: 0xFCE3C4)
    func sub(_ shape: [Int], _ i: Int, batch: Bool) -> String { elementLabel("", shape, i, batch: batch) }

    // Columns of nodes and edges between them (indices into the previous column).
    var columns: [[GraphNode]] = []
    var headers: [String] = []
    var edges: [(from: (Int, Int), to: (Int, Int))] = []
    let x = value("input.forward.x") ?? Tensor(shape: [1, 0])
    let firstDense = source.model.layers.first { $0 is Dense }!.name
    let dx = value("\(firstDense).backward.dx")
    columns.append((0..<x.count).map { i in GraphNode(label: "x" + sub(x.shape, i, batch: true), value: x.data[i], grad: dx?.data[i], updated: nil, fill: .white) })
    headers.append("x")
    var current = 0  // the column holding this layer's inputs
    var inputSymbol = "x"
    var level = 0
    let layers = source.model.layers
    for (index, layer) in layers.enumerated() {
      if let dense = layer as? Dense {
        level += 1
        let l = NumberFormat.superscript(level)
        guard let w = value("\(dense.name).forward.W"), let z = value("\(dense.name).forward.z") else { continue }
        let dW = value("\(dense.name).backward.dW"), newW = value("\(dense.name).update.W")
        let b = value("\(dense.name).forward.b"), db = value("\(dense.name).backward.db"), newB = value("\(dense.name).update.b")
        let delta = value("\(dense.name).backward.delta") ?? (index == layers.count - 1 || (index == layers.count - 2) ? value("loss.dz") : nil)
        let inputs = columns[current].count
        let units = dense.units
        // Parameters join the input column, grouped by the unit they feed.
        var weightRow: [[Int]] = Array(repeating: [], count: units), biasRow: [Int?] = Array(repeating: nil, count: units)
        for j in 0..<units {
          for i in 0..<w.shape[1] {
            let k = j * w.shape[1] + i
            columns[current].append(GraphNode(label: "W\(l)" + sub(w.shape, k, batch: false), value: w.data[k], grad: dW?.data[k], updated: newW?.data[k], fill: param))
            weightRow[j].append(columns[current].count - 1)
          }
          if let b {
            columns[current].append(GraphNode(label: "b\(l)" + sub(b.shape, j, batch: false), value: b.data[j], grad: db?.data[j], updated: newB?.data[j], fill: param))
            biasRow[j] = columns[current].count - 1
          }
        }
        headers[current] += ", W\(l), b\(l)"
        columns.append((0..<units).map { j in GraphNode(label: "z\(l)" + sub(z.shape, j, batch: true), value: z.data[j], grad: delta?.data[j], updated: nil, fill: plain) })
        headers.append("z\(l) = W\(l)·\(inputSymbol) + b\(l)")
        let zColumn = columns.count - 1
        for j in 0..<units {
          for i in 0..<inputs { edges.append(((current, i), (zColumn, j))) }
          for k in weightRow[j] { edges.append(((current, k), (zColumn, j))) }
          if let k = biasRow[j] { edges.append(((current, k), (zColumn, j))) }
        }
        current = zColumn
        inputSymbol = "z\(l)"
      } else if layer is any Activation || layer is Softmax {
        let a = value("\(layer.name).forward.a") ?? Tensor(shape: [1, 0])
        let next = layers[(index + 1)...].first { $0 is Dense }
        let grad = next.flatMap { value("\($0.name).backward.dx") } ?? (index == layers.count - 1 ? value("loss.dy") : nil)
        let l = NumberFormat.superscript(level)
        let symbol = (layer as? any Activation).map { type(of: $0).symbol } ?? "softmax"
        columns.append((0..<a.count).map { j in GraphNode(label: "a\(l)" + sub(a.shape, j, batch: true), value: a.data[j], grad: grad?.data[j], updated: nil, fill: plain) })
        headers.append("a\(l) = \(symbol)(z\(l))")
        let aColumn = columns.count - 1
        for j in 0..<a.count {
          if layer is Softmax { for i in 0..<columns[current].count { edges.append(((current, i), (aColumn, j))) } }
          else { edges.append(((current, j), (aColumn, j))) }
        }
        current = aColumn
        inputSymbol = "a\(l)"
      }
    }
    // The targets join the output column; the loss is the last column.
    let outputs = columns[current].count
    if let t = value("loss.t") {
      for i in 0..<t.count { columns[current].append(GraphNode(label: "t" + sub(t.shape, i, batch: true), value: t.data[i], grad: nil, updated: nil, fill: .white)) }
      headers[current] += ", t"
    }
    let lossValue = value("loss.L")?.data.first ?? point.loss ?? .nan
    columns.append([GraphNode(label: "L", value: lossValue, grad: 1, updated: nil, fill: loss)])
    headers.append(lossHeader(run.loss.kind))
    for i in 0..<columns[current].count { edges.append(((current, i), (columns.count - 1, 0))) }
    _ = outputs

    let theme = options.theme
    let layerNames = layers.filter { $0 is Dense }.enumerated().map { "\(NumberFormat.superscript($0.offset + 1)) = \($0.element.name)" }.joined(separator: ", ")
    let subtitle = "Training sample \(sample + 1) alone, first step from the initial weights (\(run.optimizer.kind), η = \(NumberFormat.shortest(run.optimizer.learningRate))); layers \(layerNames); each node: value → new value, and ∂L/∂node"
    let nodes = columns
    return Figure(name: "graph", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Computation graph: \(source.name)", subtitle: subtitle)
      func lines(_ n: GraphNode) -> [String] {
        var first = "\(n.label) = \(NumberFormat.significant(n.value, 4))"
        if let u = n.updated { first += " → \(NumberFormat.significant(u, 4))" }
        return [first, n.grad.map { "∂L = \(NumberFormat.significant($0, 4))" } ?? "∂L: —"]
      }
      // The largest size at which every column fits side by side and top to bottom.
      let gap = theme.gap * 1.2
      var style = theme.tick
      var widths: [Double] = [], lineHeight = 0.0, headerHeight = 0.0
      while true {
        let bold = style.emphasized
        widths = nodes.map { column in column.map { n in max(canvas.measure(lines(n)[0], style: bold).width, canvas.measure(lines(n)[1], style: style).width) }.max()! + style.size }
        lineHeight = canvas.measure("Ag", style: style).height
        headerHeight = lineHeight * 1.4
        let tallest = nodes.map { Double($0.count) * (lineHeight * 2 + style.size * 0.6) + Double($0.count - 1) * style.size * 0.4 }.max()!
        let fits = widths.reduce(0, +) + gap * Double(nodes.count - 1) <= body.width && tallest + headerHeight <= body.height
        if fits || style.size <= theme.minimumSize { break }
        style.size = max(theme.minimumSize, style.size - 0.5)
      }
      let total = widths.reduce(0, +) + gap * Double(nodes.count - 1)
      var x = body.x + max(0, (body.width - total) / 2)
      var boxes: [[Rect]] = []
      let field = body.inset(top: headerHeight)
      for (c, column) in nodes.enumerated() {
        let h = lineHeight * 2 + style.size * 0.6, spacing = style.size * 0.4
        let height = Double(column.count) * h + Double(column.count - 1) * spacing
        let top = field.y + max(0, (field.height - height) / 2)
        boxes.append(column.indices.map { Rect(x: x, y: top + Double($0) * (h + spacing), width: widths[c], height: h) })
        let header = canvas.fitting(headers[c], width: widths[c] + gap * 0.8, theme.note, minimum: theme.minimumSize)
        canvas.text(headers[c], Point(x + widths[c] / 2, body.y), header, anchor: .top)
        x += widths[c] + gap
      }
      for e in edges {
        let a = boxes[e.from.0][e.from.1], b = boxes[e.to.0][e.to.1]
        let p = Point(a.maxX, a.midY), q = Point(b.x, b.midY)
        var path = Path()
        path.move(to: p)
        path.curve(to: q, Point(p.x + gap * 0.5, p.y), Point(q.x - gap * 0.5, q.y))
        canvas.stroke(path, Theme.muted.opacity(0.6), width: theme.hairline)
      }
      for (c, column) in nodes.enumerated() {
        for (i, n) in column.enumerated() {
          let r = boxes[c][i]
          canvas.fill(Path.roundedRect(r, radius: style.size * 0.3), n.fill)
          canvas.stroke(Path.roundedRect(r, radius: style.size * 0.3), Theme.ink, width: theme.hairline)
          let text = lines(n)
          canvas.text(text[0], Point(r.x + style.size * 0.5, r.y + style.size * 0.3), style.emphasized, anchor: .topLeft)
          canvas.text(text[1], Point(r.x + style.size * 0.5, r.y + style.size * 0.3 + lineHeight), style.colored(Theme.muted), anchor: .topLeft)
        }
      }
    }
  }
}
