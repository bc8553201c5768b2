import SheetNet

/// `graph`: a tiny network's first training step as a computation graph, one node per scalar
/// with its value and its gradient ∂E/∂(node) (micrograd's draw_dot, without Graphviz). The step
/// is step 1 as training takes it — the lesson's optimizer on its first planned batch, the step
/// `gradients` and `sheetnet trace` show — and every number is read from the engine's trace of
/// it. The value flow follows one sample of the batch (`--sample`, 1 = the batch's first): its
/// inputs, pre-activations and activations, and ∂L/∂ of each, where L is the batch's mean loss
/// (so each carries the 1/N of the mean). The parameters are the batch's: ∂L/∂W adds up every
/// sample's part, and each shows its new value and, under momentum, its velocity v (under Adam,
/// the step m̂/(√ŝ + ε) before η).
///
/// Layout: the values flow left to right along the top (x, z¹, a¹, …, the loss); each layer's
/// parameters (W, b) hang below in one group per layer, a column per unit. Every edge leaves its
/// node at its own port and ends in an arrowhead at its own port of the node it feeds.
///
/// A token network's graph is drawn a token vector at a time (`sequenceGraph`).
extension Figure {
  /// The largest network the graph draws legibly.
  static let graphLimits = (parameters: 24, units: 4)

  static func checkGraph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.graph)
    if run.split.train.isTokens { return try checkSequenceGraph(source, options) }
    let model = source.model
    guard isDense(model), !model.layers.contains(where: { $0 is Dropout }) else {
      throw .notApplicable("graph draws dense networks scalar by scalar; \(source.lesson.path) has other layers, try architecture or `sheetnet trace`")
    }
    let widest = ([model.inputShape[0]] + model.shapes.map { $0.reduce(1, *) }).max() ?? 0
    guard model.parameterCount <= graphLimits.parameters, widest <= graphLimits.units else {
      throw .notApplicable("graph suits networks of at most \(graphLimits.parameters) parameters and \(graphLimits.units) units a layer; \(source.lesson.path) has \(NumberFormat.integer(model.parameterCount)) parameters, try architecture or `sheetnet trace` for every number")
    }
    _ = try batchSampleIndex(options, run)
  }

  /// The samples in step 1's batch: the lesson's batch size, or the whole training split when it
  /// is smaller (an epoch's first batch is always full).
  static func firstBatchSize(_ run: LessonRun) -> Int { min(max(run.lesson.batchSize, 1), run.split.train.count) }

  /// `--sample` as a position in step 1's batch (0-based), or an option error naming the range.
  static func batchSampleIndex(_ options: FigureOptions, _ run: LessonRun) throws(FigureError) -> Int {
    let n = firstBatchSize(run)
    guard options.sample >= 1 && options.sample <= n else {
      throw .option("--sample must be between 1 and \(n), the samples of step 1's batch (batch_size \(run.lesson.batchSize), \(run.split.train.count) training samples)")
    }
    return options.sample - 1
  }

  /// The loss's symbol: E for Mazur's ½ sum of squares (his notation), L otherwise.
  static func lossSymbol(_ kind: String) -> String { kind == "half_sse" ? "E" : "L" }

  /// The loss column's header, in the loss's own symbol.
  static func lossHeader(_ kind: String) -> String {
    let s = lossSymbol(kind)
    switch kind {
    case "half_sse": return "\(s) = Σ ½(t − a)²"
    case "mse": return "\(s) = mean (a − t)²"
    case "binary_cross_entropy", "cross_entropy": return "\(s): cross-entropy"
    default: return "\(s): " + kind
    }
  }

  /// One scalar of the step.
  struct GraphNode {
    var label: String
    var value: Double
    var grad: Double?
    var updated: Double?
    var fill: Color
    /// The optimizer's own number (momentum's v, Adam's m̂/(√ŝ + ε)), after the gradient.
    var state: String? = nil
  }

  /// Where a node sits: a column of the value flow, or a unit's column of a parameter group.
  struct NodeID: Hashable {
    /// True for a parameter (W or b), drawn in the band below.
    var parameter: Bool
    /// The flow column, or the parameter group (one per dense layer).
    var column: Int
    /// The unit's column inside a parameter group (0 in the flow).
    var unit: Int
    /// The position from the top.
    var row: Int
  }

  /// Step 1 as training takes it (the planned batch, the lesson's optimizer), traced: the step
  /// the source's run recorded as it trained (`Catalogue.prepare`, shared with `gradients`), or
  /// else replayed alone from the seed on a copy of the network as initialised.
  static func graphStep(_ source: FigureSource, _ run: LessonRun) throws(FigureError) -> TracePoint {
    if let recorded = source.recording.firstStep, recorded.location != nil { return recorded }
    let point = TracePoint(step: 1, tracer: Tracer())
    try replayFirstStep(run, point)
    return point
  }

  /// Runs `point`'s step (step 1) on a fresh trainer built from the run's seed, leaving the run
  /// as it is: what a figure replays when the command's own training did not record it.
  static func replayFirstStep(_ run: LessonRun, _ point: TracePoint) throws(FigureError) {
    do {
      var trainer = try freshTrainer(run)
      var history = History()
      try trainer.fit(run.split.train, history: &history, trace: point)
    } catch {
      throw .lesson(error.description)
    }
  }

  /// The optimizer's own number per element of parameter `symbol` of `layer` in the traced step,
  /// written after the gradient in its node: momentum's velocity v (the update is −η·v), or Adam's step before
  /// η, m̂/(√ŝ + ε) (the update is −η times it); nil for plain SGD.
  static func optimizerState(_ tracer: Tracer, _ layer: String, _ symbol: String, eta: Double) -> (symbol: String, values: [Double])? {
    if let v = tracer.entry("\(layer).update.\(symbol).v")?.value { return ("v", v.data) }
    guard tracer.entry("\(layer).update.\(symbol).m") != nil, let w = tracer.entry("\(layer).forward.\(symbol)")?.value,
          let updated = tracer.entry("\(layer).update.\(symbol)")?.value, eta != 0 else { return nil }
    return ("m̂/(√ŝ+ε)", (0..<w.count).map { (w.data[$0] - updated.data[$0]) / eta })
  }

  /// The graph's two lines under its title: which step (the batch, the optimizer and its update
  /// rule) and how to read the nodes (which sample the flow follows, what L and its gradients are).
  static func graphNotes(_ run: LessonRun, batch: [Int], sample n: Int, symbol: String) -> [String] {
    let c = run.lesson.optimizer
    let eta = NumberFormat.shortest(c.learningRate)
    let g = c.weightDecay > 0 ? "g" : "∂\(symbol)/∂W"
    let decay = c.weightDecay > 0 ? ", g = ∂\(symbol)/∂W + λ·W (λ = \(NumberFormat.shortest(c.weightDecay)))" : ""
    let name: String, rule: String
    switch c.kind {
    case .adam: (name, rule) = ("Adam (η = \(eta))", "W′ = W − η·m̂/(√ŝ + ε)")
    case .sgd where c.momentum > 0:
      name = "\(c.nesterov ? "Nesterov momentum" : "momentum") (η = \(eta), β = \(NumberFormat.shortest(c.momentum)))"
      rule = "v = β·v + \(g) (v starts at 0), W′ = W − η·\(c.nesterov ? "(\(g) + β·v)" : "v")"
    case .sgd: (name, rule) = ("SGD (η = \(eta))", "W′ = W − η·\(g)")
    }
    let samples = batch.map { String($0 + 1) }
    guard batch.count > 1 else {
      return ["Step 1 on training sample \(samples[0]) (a batch of one), \(name): \(rule)\(decay)",
              "Each node: value (→ new value after the step) and ∂\(symbol)/∂node"]
    }
    let listed = samples.count <= 6 ? "samples \(samples.joined(separator: ", "))" : "\(samples.count) samples"
    return ["Step 1 as training takes it: a batch of \(listed), \(name)",
            "Update: \(rule)\(decay)",
            "Flow: the batch's sample \(n + 1) (training sample \(samples[n])); \(symbol) is the batch's mean loss: ∂\(symbol)/∂W adds all \(batch.count) samples' parts"]
  }

  static func graph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.graph)
    if run.split.train.isTokens { return try sequenceGraph(source, options) }
    let n = try batchSampleIndex(options, run)
    let point = try graphStep(source, run)
    let tracer = point.tracer!
    let batch = point.location?.indices ?? [0]
    func value(_ name: String) -> Tensor? { tracer.entry(name)?.value }
    // Sample n's row of a batched entry ([N, width]), as a tensor of one row.
    func row(_ name: String) -> Tensor? {
      guard let t = value(name), t.count % batch.count == 0 else { return nil }
      let w = t.count / batch.count
      return Tensor(shape: [1, w], data: Array(t.data[n * w..<(n + 1) * w]))
    }
    let param = Color(hex: 0xD6E6F4), plain = Color(hex: 0xF2F2F2), lossFill = Color(hex: 0xFCE3C4)
    func sub(_ shape: [Int], _ i: Int, batch: Bool) -> String { elementLabel("", shape, i, batch: batch) }
    let symbol = lossSymbol(run.loss.kind)

    // The value flow's columns, the parameter groups (units × their W row and b), and the edges.
    var columns: [[GraphNode]] = []
    var headers: [String] = []
    var groups: [[[GraphNode]]] = []
    var groupHeaders: [String] = []
    var edges: [(from: NodeID, to: NodeID)] = []
    func flow(_ c: Int, _ r: Int) -> NodeID { NodeID(parameter: false, column: c, unit: 0, row: r) }
    let x = row("input.forward.x") ?? Tensor(shape: [1, 0])
    let firstDense = source.model.layers.first { $0 is Dense }!.name
    let dx = row("\(firstDense).backward.dx")
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
        guard let w = value("\(dense.name).forward.W"), let z = row("\(dense.name).forward.z") else { continue }
        let dW = value("\(dense.name).backward.dW"), newW = value("\(dense.name).update.W")
        let b = value("\(dense.name).forward.b"), db = value("\(dense.name).backward.db"), newB = value("\(dense.name).update.b")
        let delta = row("\(dense.name).backward.delta") ?? (index == layers.count - 1 || (index == layers.count - 2) ? row("loss.dz") : nil)
        let wState = optimizerState(tracer, dense.name, "W", eta: run.optimizer.learningRate), bState = optimizerState(tracer, dense.name, "b", eta: run.optimizer.learningRate)
        let inputs = columns[current].count
        let units = dense.units
        // Unit j's parameters: its row of W, then its bias.
        var group: [[GraphNode]] = []
        for j in 0..<units {
          var unit: [GraphNode] = []
          for i in 0..<w.shape[1] {
            let k = j * w.shape[1] + i
            unit.append(GraphNode(label: "W\(l)" + sub(w.shape, k, batch: false), value: w.data[k], grad: dW?.data[k], updated: newW?.data[k], fill: param,
                                  state: wState.map { "\($0.symbol) = \(NumberFormat.significant($0.values[k], 4))" }))
          }
          if let b {
            unit.append(GraphNode(label: "b\(l)" + sub(b.shape, j, batch: false), value: b.data[j], grad: db?.data[j], updated: newB?.data[j], fill: param,
                                  state: bState.map { "\($0.symbol) = \(NumberFormat.significant($0.values[j], 4))" }))
          }
          group.append(unit)
        }
        groups.append(group)
        groupHeaders.append("W\(l), b\(l): \(dense.name)")
        columns.append((0..<units).map { j in GraphNode(label: "z\(l)" + sub(z.shape, j, batch: true), value: z.data[j], grad: delta?.data[j], updated: nil, fill: plain) })
        headers.append("z\(l) = W\(l)·\(inputSymbol) + b\(l)")
        let zColumn = columns.count - 1
        for j in 0..<units {
          for i in 0..<inputs { edges.append((flow(current, i), flow(zColumn, j))) }
          // One edge from unit j's stack of parameters (its top node) into z_j.
          edges.append((NodeID(parameter: true, column: groups.count - 1, unit: j, row: 0), flow(zColumn, j)))
        }
        current = zColumn
        inputSymbol = "z\(l)"
      } else if layer is any Activation || layer is Softmax {
        let a = row("\(layer.name).forward.a") ?? Tensor(shape: [1, 0])
        let next = layers[(index + 1)...].first { $0 is Dense }
        let grad = next.flatMap { row("\($0.name).backward.dx") } ?? (index == layers.count - 1 ? row("loss.dy") : nil)
        let l = NumberFormat.superscript(level)
        let f = (layer as? any Activation).map { type(of: $0).symbol } ?? "softmax"
        columns.append((0..<a.count).map { j in GraphNode(label: "a\(l)" + sub(a.shape, j, batch: true), value: a.data[j], grad: grad?.data[j], updated: nil, fill: plain) })
        headers.append("a\(l) = \(f)(z\(l))")
        let aColumn = columns.count - 1
        for j in 0..<a.count {
          if layer is Softmax { for i in 0..<columns[current].count { edges.append((flow(current, i), flow(aColumn, j))) } }
          else { edges.append((flow(current, j), flow(aColumn, j))) }
        }
        current = aColumn
        inputSymbol = "a\(l)"
      }
    }
    // The last column: the loss between the targets (the first half above it, the rest below),
    // each target feeding it from above or below.
    let lossValue = value("loss.L")?.data.first ?? point.loss ?? .nan
    var targets: [GraphNode] = []
    // This sample's own loss, by the engine's loss on its row alone (L is the batch's mean of these).
    var own: Double? = nil
    // A loss fused with the last layer (cross-entropy after softmax or sigmoid) reads the logits.
    let lastLayer = layers.last!
    let fused = (lastLayer is Sigmoid || lastLayer is Softmax) && (run.loss is BinaryCrossEntropy || run.loss is CrossEntropy) && layers.count >= 2
    let outputName = fused ? "\(layers[layers.count - 2].name).forward.z" : lastLayer is Dense ? "\(lastLayer.name).forward.z" : "\(lastLayer.name).forward.a"
    if batch.count > 1, let out = row(outputName), let t = row("loss.t") {
      own = run.loss.value(output: out, target: t, last: nil)
    }
    if let t = row("loss.t") {
      for i in 0..<t.count { targets.append(GraphNode(label: "t" + sub(t.shape, i, batch: true), value: t.data[i], grad: nil, updated: nil, fill: .white)) }
    }
    let above = (targets.count + 1) / 2
    let lossNode = GraphNode(label: symbol, value: lossValue, grad: 1, updated: nil, fill: lossFill,
                             state: own.map { "this sample: \(NumberFormat.shortest($0, significant: 4))" })
    let last = Array(targets[..<above]) + [lossNode] + Array(targets[above...])
    columns.append(last)
    headers.append(lossHeader(run.loss.kind))
    let lossColumn = columns.count - 1, lossRow = above
    for i in 0..<columns[current].count { edges.append((flow(current, i), flow(lossColumn, lossRow))) }
    for i in last.indices where i != lossRow { edges.append((flow(lossColumn, i), flow(lossColumn, lossRow))) }

    let theme = options.theme
    let notes = graphNotes(run, batch: batch, sample: n, symbol: symbol)
    let flowNodes = columns, groupNodes = groups, allEdges = edges
    return Figure(name: "graph", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "Computation graph: \(source.name)", lines: notes)
      func lines(_ n: GraphNode) -> [String] {
        var first = "\(n.label) = \(NumberFormat.shortest(n.value, significant: 4))"
        if let u = n.updated { first += " → \(NumberFormat.shortest(u, significant: 4))" }
        if n.label == symbol && n.grad == 1 { return [first, n.state ?? "∂\(symbol)/∂\(symbol) = 1"] }
        return [first, (n.grad.map { "∂\(symbol) = \(NumberFormat.significant($0, 4))" } ?? "∂\(symbol): —") + (n.state.map { ", " + $0 } ?? "")]
      }
      // The largest size at which the flow and the parameter band fit side by side and one
      // above the other.
      var style = theme.tick.sized(theme.labelSize)
      var lineHeight = 0.0, headerHeight = 0.0, nodeHeight = 0.0, bandNodeHeight = 0.0, spacing = 0.0, gap = 0.0, groupGap = 0.0
      let bandLines = groupNodes.flatMap { $0.flatMap { $0 } }.map { lines($0).count }.max() ?? 2
      var flowWidths: [Double] = [], unitWidths: [[Double]] = []
      var flowHeight = 0.0, bandHeight = 0.0
      func width(_ n: GraphNode) -> Double {
        let t = lines(n)
        return max(canvas.measure(t[0], style: style.emphasized).width, t.dropFirst().map { canvas.measure($0, style: style).width }.max() ?? 0) + style.size
      }
      while true {
        lineHeight = canvas.measure("Ag", style: style).height + theme.clearance * 2
        headerHeight = canvas.measure("Ag", style: theme.note).height * 1.4
        nodeHeight = lineHeight * 2 + style.size * 0.5
        bandNodeHeight = lineHeight * Double(bandLines) + style.size * 0.5
        spacing = style.size * 0.45
        gap = max(theme.gap, style.size * 2.2)
        groupGap = theme.gap * 1.5
        flowWidths = flowNodes.map { $0.map(width).max()! }
        unitWidths = groupNodes.map { $0.map { $0.map(width).max()! } }
        func stack(_ n: Int, _ height: Double) -> Double { Double(n) * height + Double(max(n - 1, 0)) * spacing }
        flowHeight = headerHeight + stack(flowNodes.map(\.count).max()!, nodeHeight)
        bandHeight = headerHeight + stack(groupNodes.flatMap { $0.map(\.count) }.max() ?? 0, bandNodeHeight)
        let flowTotal = flowWidths.reduce(0, +) + gap * Double(flowNodes.count - 1)
        let bandTotal = unitWidths.map { $0.reduce(0, +) + spacing * Double($0.count - 1) }.reduce(0, +) + groupGap * Double(max(groupNodes.count - 1, 0))
        let fits = flowTotal <= body.width && bandTotal <= body.width && flowHeight + bandHeight + theme.gap * 1.5 <= body.height
        if fits || style.size <= theme.minimumSize { break }
        style.size = max(theme.minimumSize, style.size - 0.5)
      }
      // The flow: columns spread over the width, each centred in the top part.
      let flowTotal = flowWidths.reduce(0, +)
      let flowGap = flowNodes.count > 1 ? min(gap * 2.5, (body.width - flowTotal) / Double(flowNodes.count - 1)) : 0
      var boxes: [NodeID: Rect] = [:]
      var x = body.x + max(0, (body.width - flowTotal - flowGap * Double(flowNodes.count - 1)) / 2)
      let spare = max(0, body.height - flowHeight - bandHeight - theme.gap * 1.5)
      let flowTop = body.y + spare * 0.2
      var flowCentres: [Double] = []
      var flowBottom = body.y
      for (c, column) in flowNodes.enumerated() {
        let height = Double(column.count) * nodeHeight + Double(column.count - 1) * spacing
        let top = flowTop + headerHeight + (flowHeight - headerHeight - height) / 2
        for r in column.indices { boxes[flow(c, r)] = Rect(x: x, y: top + Double(r) * (nodeHeight + spacing), width: flowWidths[c], height: nodeHeight) }
        flowBottom = max(flowBottom, top + height)
        let header = canvas.fitting(headers[c], width: flowWidths[c] + flowGap * 0.9, theme.note, minimum: theme.minimumSize)
        canvas.text(headers[c], Point(x + flowWidths[c] / 2, flowTop), header, anchor: .top)
        flowCentres.append(x + flowWidths[c] / 2)
        x += flowWidths[c] + flowGap
      }
      // The parameter band: group g sits as near as it can under the gap between the column
      // feeding its layer and the layer's z column, groups kept apart and on the page.
      let bandTop = body.maxY - bandHeight - spare * 0.2
      let groupWidths = unitWidths.map { $0.reduce(0, +) + spacing * Double($0.count - 1) }
      var lefts: [Double] = []
      var zColumns: [Int] = []
      for (c, header) in headers.enumerated() where header.hasPrefix("z") { zColumns.append(c) }
      for g in groupNodes.indices {
        let z = zColumns[g]
        let wanted = (flowCentres[z - 1] + flowCentres[z]) / 2 - groupWidths[g] / 2
        lefts.append(max(wanted, (lefts.last.map { $0 + groupWidths[g - 1] + groupGap }) ?? body.x))
      }
      // Several groups spread over the whole width, the first at the left, the last at the right.
      if groupNodes.count > 1 {
        let free = max(0, body.width - groupWidths.reduce(0, +)) / Double(groupNodes.count - 1)
        var x = body.x
        for g in groupNodes.indices {
          lefts[g] = x
          x += groupWidths[g] + free
        }
      }
      if let lastLeft = lefts.last, lastLeft + groupWidths.last! > body.maxX {
        var limit = body.maxX
        for g in groupNodes.indices.reversed() {
          lefts[g] = min(lefts[g], limit - groupWidths[g])
          limit = lefts[g] - groupGap
        }
      }
      for (g, group) in groupNodes.enumerated() {
        var ux = lefts[g]
        let header = canvas.fitting(groupHeaders[g], width: max(groupWidths[g], body.width * 0.2), theme.note, minimum: theme.minimumSize)
        // The group's name under it, clear of the edges leaving its top.
        canvas.text(groupHeaders[g], Point(lefts[g] + groupWidths[g] / 2, bandTop + bandHeight), header, anchor: .bottom)
        for (u, unit) in group.enumerated() {
          for r in unit.indices {
            boxes[NodeID(parameter: true, column: g, unit: u, row: r)] = Rect(x: ux, y: bandTop + Double(r) * (bandNodeHeight + spacing), width: unitWidths[g][u], height: bandNodeHeight)
          }
          ux += unitWidths[g][u] + spacing
        }
      }
      // Ports: each edge leaves from its own point of a side of its source and enters its own
      // point of a side of its target, in the order of the other ends, so edges into one node
      // never cross at it. Flow edges run right side → left side, parameters leave from their
      // top into the left side, targets enter the loss from above or below.
      let head = style.size * 0.5
      enum Side { case left, right, top, bottom }
      func sides(_ e: (from: NodeID, to: NodeID)) -> (Side, Side) {
        if e.from.parameter { return (.top, .left) }
        if e.from.column == e.to.column { return e.from.row < e.to.row ? (.bottom, .top) : (.top, .bottom) }
        return (.right, .left)
      }
      struct Port: Hashable { var node: NodeID; var outgoing: Bool; var side: Int }
      func sideIndex(_ s: Side) -> Int { switch s { case .left: 0; case .right: 1; case .top: 2; case .bottom: 3 } }
      var ports: [Port: [Int]] = [:]
      for (k, e) in allEdges.enumerated() {
        let (a, b) = sides(e)
        ports[Port(node: e.from, outgoing: true, side: sideIndex(a)), default: []].append(k)
        ports[Port(node: e.to, outgoing: false, side: sideIndex(b)), default: []].append(k)
      }
      var startPoint: [Int: Point] = [:], endPoint: [Int: Point] = [:]
      for (port, ks) in ports.sorted(by: { ($0.key.node.column, $0.key.node.row, $0.key.side) < ($1.key.node.column, $1.key.node.row, $1.key.side) }) {
        let box = boxes[port.node]!
        let vertical = port.side < 2  // a left or right side: ports spread from top to bottom
        let sorted = ks.sorted { a, b in
          let p = boxes[port.outgoing ? allEdges[a].to : allEdges[a].from]!, q = boxes[port.outgoing ? allEdges[b].to : allEdges[b].from]!
          return vertical ? (p.midY, p.midX) < (q.midY, q.midX) : (p.midX, p.midY) < (q.midX, q.midY)
        }
        for (i, k) in sorted.enumerated() {
          let t = Double(i + 1) / Double(sorted.count + 1)
          let point: Point = switch port.side {
          case 0: Point(box.x, box.y + box.height * t)
          case 1: Point(box.maxX, box.y + box.height * t)
          case 2: Point(box.x + box.width * t, box.y)
          default: Point(box.x + box.width * t, box.maxY)
          }
          if port.outgoing { startPoint[k] = point } else { endPoint[k] = point }
        }
      }
      let color = Theme.muted.opacity(0.75)
      for (k, e) in allEdges.enumerated() {
        let p = startPoint[k]!, q = endPoint[k]!
        let (_, into) = sides(e)
        // The head points along the side's normal, into the node.
        let (ux, uy): (Double, Double) = switch into {
        case .left: (1, 0)
        case .top: (0, 1)
        case .bottom: (0, -1)
        case .right: (-1, 0)
        }
        let base = Point(q.x - ux * head, q.y - uy * head)
        var path = Path()
        path.move(to: p)
        switch sides(e).0 {
        case .top where e.from.parameter:
          // Up from the stack to its own height above the band, across to its own lane in the
          // gap before the z column, up the lane, and right into the port.
          let lanes = allEdges.indices.filter { allEdges[$0].from.parameter && allEdges[$0].to.column == e.to.column }
          let i = Double(lanes.firstIndex(of: k)!), n = Double(lanes.count)
          let column = boxes[flow(e.to.column, 0)]!
          let laneX = column.x - head * 1.5 - (flowGap - head * 2.5) * (i + 0.5) / (n + 0.5)
          let all = allEdges.indices.filter { allEdges[$0].from.parameter }
          let turnY = flowBottom + (bandTop - flowBottom) * Double(all.firstIndex(of: k)! + 1) / Double(all.count + 1)
          path = Path.polyline([p, Point(p.x, turnY), Point(laneX, turnY), Point(laneX, base.y), base])
        case .right:
          let reach = max(head * 2, (base.x - p.x) * 0.5)
          path.curve(to: base, Point(p.x + reach, p.y), Point(base.x - reach, base.y))
        default:
          path.line(to: base)
        }
        canvas.stroke(path, color, width: theme.hairline)
        var arrowHead = Path()
        arrowHead.move(to: q)
        arrowHead.line(to: Point(base.x - uy * head * 0.4, base.y + ux * head * 0.4))
        arrowHead.line(to: Point(base.x + uy * head * 0.4, base.y - ux * head * 0.4))
        arrowHead.close()
        canvas.fill(arrowHead, color)
      }
      for (id, box) in boxes.sorted(by: { ($0.value.x, $0.value.y) < ($1.value.x, $1.value.y) }) {
        let n = id.parameter ? groupNodes[id.column][id.unit][id.row] : flowNodes[id.column][id.row]
        canvas.fill(Path.roundedRect(box, radius: style.size * 0.3), n.fill)
        canvas.stroke(Path.roundedRect(box, radius: style.size * 0.3), Theme.ink, width: theme.hairline)
        let text = lines(n)
        let top = box.y + style.size * 0.25 + theme.clearance
        canvas.text(text[0], Point(box.x + style.size * 0.5, top), style.emphasized, anchor: .topLeft)
        for (i, line) in text.enumerated().dropFirst() {
          canvas.text(line, Point(box.x + style.size * 0.5, top + Double(i) * lineHeight), style.colored(Theme.muted), anchor: .topLeft)
        }
      }
    }
  }
}
