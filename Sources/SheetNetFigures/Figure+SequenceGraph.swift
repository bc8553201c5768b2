import SheetNet

/// `graph` of a tiny token network: step 1 as training takes it (the lesson's first planned batch
/// of sequences), followed through one sequence of that batch (`--sample`), as a computation graph
/// at the level of token vectors. A column per layer (a residual block's skip
/// draws none: its output is its input), a node per token in each, holding the token's vector as
/// a column of numbers with ∂L/∂ of it beside: the gradient of everything after the node, summed
/// over every path (a residual block's input gets both). Edges run from a layer's inputs: the same
/// token's node for a layer that acts token by token, every key the query sees for
/// self-attention (each earlier token and itself when causal), and the block's input into its ⊕
/// (above the row). The target column gives each scored position's p(t), the softmax's probability
/// for its target, which the loss L = −mean log p(t) reads; a masked position says so.
///
/// The numbers are the engine's own: the network as initialised (the lesson's seed), one forward
/// pass on step 1's batch, the loss's gradient (L is the batch's mean over its scored positions, so
/// ∂L/∂ carries the batch's share), and each layer's backward in turn, as training step 1 computes
/// them; the sequence's rows are drawn. The final softmax is fused with the loss: the gradient
/// reaches the scores z directly (the last column's grey numbers, 0 where a position is not
/// scored). Parameters are not drawn (`gradients` and `sheetnet trace` show them).
extension Figure {
  /// The largest token network drawn token by token: tokens, numbers a token, numbers a column
  /// (tokens × numbers a token), layer columns.
  public static let sequenceGraphLimits = (tokens: 4, width: 4, numbers: 12, columns: 4)

  /// Layers drawn as columns: all but `skip` (its output is its input) and a final softmax (its
  /// p enters the target column, where L reads it).
  static func graphColumns(_ model: Sequential) -> [Int] {
    model.layers.indices.filter { i in !(model.layers[i] is Skip) && !(i == model.layers.count - 1 && model.layers[i] is Softmax) }
  }

  static func checkSequenceGraph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.graph)
    let model = source.model, limits = sequenceGraphLimits
    let tokens = model.inputShape.first ?? 0
    let widest = model.shapes.map { $0.last ?? 1 }.max() ?? 0
    let columns = graphColumns(model).count
    guard model.inputShape.count == 1, tokens <= limits.tokens, widest <= limits.width, tokens * widest <= limits.numbers, columns <= limits.columns,
          !model.layers.contains(where: { $0 is Dropout }) else {
      throw .notApplicable("graph draws a token network token by token for at most \(limits.tokens) tokens of at most \(limits.width) numbers (\(limits.numbers) in all) and \(limits.columns) layers (skip and the final softmax aside); \(source.lesson.path) has \(tokens) tokens of up to \(widest) numbers and \(columns) layers; \(suggestion([.overview, .attention, .architecture], for: source)), or `sheetnet trace` for every number")
    }
    _ = try batchSampleIndex(options, run)
  }

  /// One column of the sequence graph: a layer's output per token and ∂L/∂ of it.
  struct TokenColumn {
    /// "embedding1", "⊕ residual1".
    var title: String
    /// What it computes: "E[x]", "x + f(x)".
    var formula: String
    /// d, the numbers a token.
    var width: Int
    /// Per token, its d numbers.
    var values: [[Double]]
    /// Per token, ∂L/∂ of its numbers; nil where none flows (a fused softmax).
    var gradients: [[Double]]?
    /// Where each token's node reads from: (column, token) pairs, column −1 the input tokens.
    var inputs: [[(column: Int, token: Int)]]
    /// True for the end of a residual block: its second input comes over the row.
    var residual: Bool = false
  }

  /// The columns of step 1 on its planned batch `batch` (training-split rows), drawn for the
  /// batch's sequence `n` (0-based), with the batch's loss, the sequence's targets and each of its
  /// positions' probabilities p (the final softmax's output, or the softmax of the scores).
  static func sequenceGraphStep(_ run: LessonRun, batch: [Int], sample n: Int) throws(FigureError) -> (columns: [TokenColumn], loss: Double, targets: [Int?], p: [[Double]]) {
    let trainer: Trainer
    do { trainer = try freshTrainer(run) } catch { throw .lesson(error.description) }
    let model = trainer.model, train = run.split.train
    let x = train.x.gathering(rows: batch)
    let t = x.count / batch.count
    let target = train.targets(outputs: 0).gathering(rows: batch)
    let step = Step(training: true)
    var outputs = [x]
    for layer in model.layers { outputs.append(layer.forward(outputs.last!, step)) }
    let y = outputs.last!
    let last = model.layers.last
    let loss = run.loss.value(output: y, target: target, last: last)
    let (delta, skipsLast) = run.loss.gradient(output: y, target: target, last: last)
    // ∂L/∂a for every layer output a_{i+1} (index i + 1), from the engine's backward, layer by layer.
    var gradients: [Int: Tensor] = [:]
    var d = delta
    let top = skipsLast ? model.layers.count - 1 : model.layers.count
    gradients[top] = delta
    for i in stride(from: top - 1, through: 0, by: -1) {
      d = model.layers[i].backward(d, step)
      gradients[i] = d
    }
    // Sequence n's t rows of a [N, t, w] tensor.
    func rows(_ tensor: Tensor) -> [[Double]] {
      let w = tensor.count / (t * batch.count)
      return (0..<t).map { Array(tensor.data[(n * t + $0) * w..<(n * t + $0 + 1) * w]) }
    }
    // The column drawn for each layer output (a skip's is its input's).
    var columnOf: [Int: Int] = [0: -1]
    var skipInputs: [ObjectIdentifier: Int] = [:]
    var columns: [TokenColumn] = []
    for (i, layer) in model.layers.enumerated() {
      if i == model.layers.count - 1 && layer is Softmax { break }
      let from = columnOf[i]!
      if layer is Skip {
        columnOf[i + 1] = from
        skipInputs[ObjectIdentifier(layer)] = from
        continue
      }
      let out = outputs[i + 1]
      var inputs = (0..<t).map { [(column: from, token: $0)] }
      var formula = stageTitle(layer).formula
      var residual = false
      if let attention = layer as? SelfAttention {
        inputs = (0..<t).map { q in (0..<(attention.causal ? q + 1 : t)).map { (column: from, token: $0) } }
      } else if layer is Residual, let skip = model.layers[..<i].last(where: { $0 is Skip && skipInputs[ObjectIdentifier($0)] != nil }) {
        // The nearest open skip before this residual is the block's start.
        let start = skipInputs.removeValue(forKey: ObjectIdentifier(skip))!
        inputs = (0..<t).map { [(column: from, token: $0), (column: start, token: $0)] }
        formula = "x + f(x)"
        residual = true
      }
      let title = layer is Residual ? "⊕ \(layer.name)" : layer.name
      columns.append(TokenColumn(title: title, formula: formula, width: out.count / (t * batch.count), values: rows(out),
                                 gradients: gradients[i + 1].map(rows), inputs: inputs, residual: residual))
      columnOf[i + 1] = columns.count - 1
    }
    let targets = (0..<t).map { k -> Int? in target.data[n * t + k] >= 0 ? Int(target.data[n * t + k]) : nil }
    let v = y.count / (t * batch.count)
    return (columns, loss, targets, probabilities(Tensor(shape: [t, v], data: Array(y.data[n * t * v..<(n + 1) * t * v])), model: model))
  }

  static func sequenceGraph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.graph)
    let train = run.split.train
    let n = try batchSampleIndex(options, run)
    let batch = try graphStep(source, run).location?.indices ?? [0]
    let sample = batch[n]
    let (columns, loss, targets, p) = try sequenceGraphStep(run, batch: batch, sample: n)
    let t = targets.count
    let tokens = (0..<t).map { tokenLabel(train.x.data[sample * t + $0], train.vocabulary, position: $0) }
    let theme = options.theme
    let symbol = lossSymbol(run.loss.kind)
    let title = "Computation graph, token by token: \(source.name)"
    let c = run.lesson.optimizer
    let optimizer = c.kind == .adam ? "Adam" : c.momentum > 0 ? "momentum" : "SGD"
    let line = batch.count > 1
      ? "Step 1 (\(optimizer), a batch of \(batch.count)): its sequence \(n + 1), training sequence \(sample + 1) “\(tokens.joined())”; ∂\(symbol)/∂ in grey, \(symbol) the batch's mean"
      : "Step 1 (\(optimizer)) on training sequence \(sample + 1) “\(tokens.joined())”: a token's numbers per node, ∂\(symbol)/∂ each in grey"
    return Figure(name: "graph", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: line)
      drawSequenceGraph(canvas, theme, body, columns: columns, tokens: tokens, targets: targets, p: p, vocabulary: train.vocabulary, loss: loss, symbol: symbol)
    }
  }

  /// Lays the columns out left to right (the input tokens first, the loss last), a row per token.
  static func drawSequenceGraph(_ canvas: any Canvas, _ theme: Theme, _ body: Rect, columns: [TokenColumn], tokens: [String], targets: [Int?],
                                p: [[Double]], vocabulary: [String], loss: Double, symbol: String) {
    let t = tokens.count
    // Two significant digits, at most three decimals (−0.0026 is −0.003; under 0.0005, 0), never
    // a power of ten: six characters at most for |v| < 10.
    let text = { (v: Double) -> String in
      guard abs(v) < 0.1 else { return NumberFormat.shortest(v, significant: 2) }
      let s = NumberFormat.shortest((v * 1000).rounded() / 1000, significant: 2)
      return s == "−0" ? "0" : s
    }
    let header = theme.note, bold = theme.tick.emphasized
    // Numbers at the tick size, or smaller (not under the cell minimum) until the columns fit.
    var size = theme.tickSize
    var numberWidth = 0.0, gradientWidth = 0.0, line = 0.0, widths: [Double] = []
    let lossText = "\(symbol) = \(NumberFormat.shortest(loss, significant: 3))"
    let inputWidth = max(tokens.map { canvas.measure($0, style: bold).width }.max() ?? 0, canvas.measure("x", style: bold).width) + theme.clearance * 4
    var lossWidth = 0.0, gap = 0.0, targetWidth = 0.0
    // The target's probability p(t), which L reads: L = −mean of log p(t) over the scored positions.
    let marks = targets.indices.map { k in
      targets[k].map { "p(\(Sequences.shown(id: Double($0), vocabulary))) = \(NumberFormat.shortest(p[k][$0], significant: 2))" } ?? "not scored"
    }
    while true {
      let style = TextStyle(size: size)
      line = canvas.measure("Ag", style: style).height + theme.clearance * 2
      numberWidth = columns.flatMap { $0.values.flatMap { $0 } }.map { canvas.measure(text($0), style: style).width }.max() ?? 0
      gradientWidth = columns.flatMap { ($0.gradients ?? []).flatMap { $0 } }.map { canvas.measure(text($0), style: style).width }.max() ?? canvas.measure("—", style: style).width
      widths = columns.map { c in
        let node = numberWidth + (c.gradients == nil ? 0 : gradientWidth + size) + size
        let heading = max(canvas.measure(c.title, style: bold).width, canvas.measure(c.formula, style: header).width)
        return max(node, heading)
      }
      lossWidth = canvas.measure(lossText, style: bold.sized(max(size, theme.minimumSize))).width + size
      targetWidth = max(marks.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0, canvas.measure("target", style: bold).width) + size * 0.6
      gap = max(theme.gap * 0.6, size * 0.8)
      let total = inputWidth + widths.reduce(0, +) + targetWidth + lossWidth + gap * Double(columns.count + 2)
      let rowsHeight = Double(tokens.count) * (Double(columns.map(\.width).max() ?? 1) * line + size * 0.5 + theme.gap * 0.8)
      let headerLines = 2 * (canvas.measure("Ag", style: header).height + theme.clearance * 2) + theme.gap * 0.3
      if (total <= body.width && headerLines + rowsHeight <= body.height) || size <= theme.cellMinimum { break }
      size = max(theme.cellMinimum, size - 0.5)
    }
    let style = TextStyle(size: size)
    // Heights: headers (title, formula), then the rows, each as tall as the widest node plus room
    // for the residual edges above it.
    let headerHeight = 2 * (canvas.measure("Ag", style: header).height + theme.clearance * 2) + theme.gap * 0.3
    // The nodes fill the page: each row's height less a gap for the residual edges above it, and
    // the width the columns leave shared among the nodes (three quarters) and the gaps.
    let rowGap = max(theme.gap * 0.8, size * 1.6)
    let nodeHeight = (body.height - headerHeight) / Double(t) - rowGap
    let spare = max(0, body.width - (inputWidth + widths.reduce(0, +) + targetWidth + lossWidth + gap * Double(columns.count + 2)))
    let pitch = gap + spare * 0.25 / Double(columns.count + 2)
    widths = widths.map { $0 + spare * 0.75 / Double(max(columns.count, 1)) }
    var xs: [Double] = []
    var x = body.x + inputWidth + pitch
    for w in widths {
      xs.append(x)
      x += w + pitch
    }
    let targetX = x, lossX = x + targetWidth + pitch
    func rowTop(_ k: Int) -> Double { body.y + headerHeight + rowGap * 0.5 + Double(k) * (nodeHeight + rowGap) }
    func node(_ c: Int, _ k: Int) -> Rect {
      if c < 0 { return Rect(x: body.x, y: rowTop(k), width: inputWidth, height: nodeHeight) }
      return Rect(x: xs[c], y: rowTop(k), width: widths[c], height: nodeHeight)
    }
    // Headers.
    canvas.text("x", Point(body.x + inputWidth / 2, body.y), bold, anchor: .top)
    for (c, column) in columns.enumerated() {
      canvas.text(column.title, Point(xs[c] + widths[c] / 2, body.y), bold, anchor: .top)
      canvas.text(column.formula, Point(xs[c] + widths[c] / 2, body.y + headerHeight / 2), header, anchor: .top)
    }
    canvas.text("target", Point(targetX + targetWidth / 2, body.y), bold, anchor: .top)
    canvas.text("p(t)", Point(targetX + targetWidth / 2, body.y + headerHeight / 2), header, anchor: .top)
    canvas.text("loss", Point(lossX + lossWidth / 2, body.y), bold, anchor: .top)
    // Edges first, under the nodes.
    let edge = Theme.muted.opacity(0.75), head = size * 0.45
    func arrowHead(_ q: Point, _ ux: Double, _ uy: Double) {
      var p = Path()
      p.move(to: q)
      p.line(to: Point(q.x - ux * head - uy * head * 0.4, q.y - uy * head + ux * head * 0.4))
      p.line(to: Point(q.x - ux * head + uy * head * 0.4, q.y - uy * head - ux * head * 0.4))
      p.close()
      canvas.fill(p, edge)
    }
    /// A curved edge from p rightwards into q, its control points inside the span (no overshoot).
    func curvedEdge(_ p: Point, _ q: Point) {
      var path = Path()
      path.move(to: p)
      let reach = max(0, q.x - head - p.x) * 0.5
      path.curve(to: Point(q.x - head, q.y), Point(p.x + reach, p.y), Point(q.x - head - reach, q.y))
      canvas.stroke(path, edge, width: theme.hairline)
      arrowHead(q, 1, 0)
    }
    for (c, column) in columns.enumerated() {
      for k in 0..<t {
        let target = node(c, k)
        let sources = column.inputs[k]
        let straight = column.residual ? [sources[0]] : sources
        for (n, s) in straight.enumerated() {
          let from = node(s.column, s.token)
          let p = Point(from.maxX, from.midY)
          curvedEdge(p, Point(target.x, target.y + target.height * Double(n + 1) / Double(straight.count + 1)))
        }
        if column.residual, let skip = sources.dropFirst().first {
          // The block's input, over the row and down into the ⊕.
          let from = node(skip.column, skip.token)
          let above = rowTop(k) - rowGap * 0.45
          let p = Point(from.midX, from.y), q = Point(target.midX, target.y)
          canvas.stroke(Path.polyline([p, Point(p.x, above), Point(q.x, above), Point(q.x, q.y - head)]), edge, width: theme.hairline, dash: [])
          arrowHead(q, 0, 1)
        }
      }
    }
    // The loss: one node in the middle of the rows; each position's target (or "not scored")
    // after its last node, and an edge from each target into L.
    let lossNode = Rect(x: lossX, y: rowTop(0) + (Double(t - 1) * (nodeHeight + rowGap)) / 2, width: lossWidth, height: nodeHeight)
    for k in 0..<t {
      // Each position's target in a box as tall as the nodes: white when scored, dashed when not.
      let row = node(columns.count - 1, k)
      let y = row.midY
      let frame = Rect(x: targetX, y: row.y, width: targetWidth, height: row.height)
      if targets[k] == nil {
        canvas.stroke(Path.roundedRect(frame, radius: size * 0.3), Theme.muted, width: theme.hairline, dash: [size * 0.3, size * 0.3])
      } else {
        canvas.fill(Path.roundedRect(frame, radius: size * 0.3), Color.white)
        canvas.stroke(Path.roundedRect(frame, radius: size * 0.3), Theme.ink, width: theme.hairline)
      }
      canvas.text(marks[k], Point(frame.midX, y), targets[k] == nil ? header : theme.tick, anchor: .center)
      guard targets[k] != nil else { continue }
      curvedEdge(Point(frame.maxX, y), Point(lossNode.x, lossNode.midY + (Double(k) - Double(t - 1) / 2) * min(line, nodeHeight / Double(t + 1))))
    }
    // Nodes: the input tokens, then each column's vectors | gradients.
    for k in 0..<t {
      let r = node(-1, k)
      canvas.text(tokens[k], Point(r.midX, r.midY), bold, anchor: .center)
    }
    let plain = Color(hex: 0xF2F2F2)
    for (c, column) in columns.enumerated() {
      for k in 0..<t {
        let r = node(c, k)
        canvas.fill(Path.roundedRect(r, radius: size * 0.3), plain)
        canvas.stroke(Path.roundedRect(r, radius: size * 0.3), Theme.ink, width: theme.hairline)
        // Values right-aligned before the middle, gradients at the right edge.
        let valueRight = column.gradients == nil ? r.midX + numberWidth / 2 : max(r.x + size * 0.5 + numberWidth, r.x + (r.width - size) * numberWidth / (numberWidth + gradientWidth) + size * 0.5)
        for (j, v) in column.values[k].enumerated() {
          let y = r.y + (Double(j) + 0.5) * r.height / Double(column.width)
          canvas.text(text(v), Point(valueRight, y), style, anchor: .right)
          if let g = column.gradients?[k][j] {
            canvas.text(text(g), Point(r.maxX - size * 0.5, y), style.colored(Theme.muted), anchor: .right)
          }
        }
        if column.gradients != nil {
          canvas.line(Point(valueRight + size * 0.5, r.y + size * 0.25), Point(valueRight + size * 0.5, r.maxY - size * 0.25), Theme.grid, width: theme.hairline)
        }
      }
    }
    canvas.fill(Path.roundedRect(lossNode, radius: size * 0.3), Color(hex: 0xFCE3C4))
    canvas.stroke(Path.roundedRect(lossNode, radius: size * 0.3), Theme.ink, width: theme.hairline)
    canvas.text(lossText, Point(lossNode.midX, lossNode.midY), bold.sized(max(size, theme.minimumSize)), anchor: .center)
  }
}
