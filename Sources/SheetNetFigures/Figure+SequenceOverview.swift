import SheetNet

/// `overview` of a token network: one sequence of the evaluation split (`--sample`) through every
/// layer, a row per token. A column per stage, each its [T, d] output as a heat map (coloured over
/// its own range: blue < 0 < red, or viridis when nothing is negative), the rows labelled by the
/// input's tokens on the left, so a token's row reads across the whole network. A residual block
/// is one stage, x + f(x), its layers named under it; a final softmax is the last column: at each
/// position the likeliest next token and its p, and the target where the position is scored (✓ or
/// ✗), "not scored" where it is masked (target −1). Under each attention block, its layer's weights
/// A for this sequence, a small grid per head (rows: query tokens, columns: key tokens, masked keys
/// hatched), on one colour bar 0…1.
///
/// Every number is the engine's, from one forward pass in evaluation mode, layer by layer.
///
/// A row per token must stay legible, so the figure refuses networks that read more than
/// `sequenceOverviewLimits.tokens` tokens, have more than `.stages` stages or more than `.heads`
/// attention heads in all (one line, pointing to attention, generation or architecture); it
/// never subsamples positions.
extension Figure {
  /// The largest token network the overview draws: tokens T, stages (columns of maps), heads in all.
  public static let sequenceOverviewLimits = (tokens: 12, stages: 10, heads: 4)

  /// One column of a sequence overview: a layer (or a residual block) and its [T, d] output.
  struct SequenceStage {
    /// What the column is called: "embedding", "+ position", "attention", "layer norm".
    var title: String
    /// What it computes, short: "E[x]", "x + P", "x + f(x)" (a residual block), "LN(x)".
    var formula: String
    /// The layers it covers: one, or a residual block's layers (skip and residual left out).
    var layers: [any Layer]
    /// d, the numbers per token of its output.
    var width: Int
    /// Its output for the sequence, [T, d] row-major.
    var values: [Double]
    /// Trainable numbers it holds.
    var parameters: Int
    /// The self-attention layers inside it, whose heads are drawn below it.
    var attention: [SelfAttention] { layers.compactMap { $0 as? SelfAttention } }
  }

  /// A single layer's column title and formula.
  static func stageTitle(_ layer: any Layer) -> (title: String, formula: String) {
    switch layer {
    case is Embedding: ("embedding", "E[x]")
    case is Positional: ("+ position", "x + P")
    case is LayerNorm: ("layer norm", "LN(x)")
    case is SelfAttention: ("attention", "H·Woᵀ + bo")
    case is Dense: ("dense", "x·Wᵀ + b")
    case let a as any Activation: (type(of: a).symbol, "\(type(of: a).symbol)(x)")
    default: (layer.kind, "")
    }
  }

  /// A residual block's column title: attention (a block holding self-attention), MLP (dense
  /// layers), or block; its formula is x + f(x).
  static func blockTitle(_ layers: [any Layer]) -> (title: String, formula: String) {
    if layers.contains(where: { $0 is SelfAttention }) { return ("attention", "x + f(x)") }
    if layers.contains(where: { $0 is Dense }) { return ("MLP", "x + f(x)") }
    return ("block", "x + f(x)")
  }

  /// The stages of a token network, without running it: top-level layers one each, a top-level
  /// residual block (nested ones inside it) as one, a final softmax left out (it is the
  /// prediction column).
  static func sequenceStagePlan(_ model: Sequential) -> [(title: (title: String, formula: String), layers: [any Layer], end: Int)] {
    var plan: [(title: (title: String, formula: String), layers: [any Layer], end: Int)] = []
    var depth = 0
    var block: [any Layer] = []
    for (i, layer) in model.layers.enumerated() {
      if layer === model.layers.last, layer is Softmax { break }
      if layer is Skip {
        if depth == 0 { block = [] }
        depth += 1
        continue
      }
      if layer is Residual {
        depth -= 1
        if depth == 0 { plan.append((blockTitle(block), block, i)) }
        continue
      }
      if depth > 0 { block.append(layer) } else { plan.append((stageTitle(layer), [layer], i)) }
    }
    return plan
  }

  static func checkSequenceOverview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.overview)
    let model = source.model, limits = sequenceOverviewLimits
    let tokens = model.inputShape.first ?? 0
    let plan = sequenceStagePlan(model)
    let heads = model.layers.compactMap { ($0 as? SelfAttention)?.heads }.reduce(0, +)
    let alternatives = suggestion([.attention, .generation, .architecture], for: source)
    guard model.inputShape.count == 1, model.outputShape.count == 2 else {
      throw .notApplicable("overview draws a row per token of a network that predicts a token at every position, but \(source.lesson.path) gives \(shapeText(model.outputShape)) per sample; \(alternatives)")
    }
    guard tokens <= limits.tokens else {
      throw .notApplicable("overview writes a row per token and fits at most \(limits.tokens), but \(source.lesson.path) reads \(tokens); \(alternatives)")
    }
    guard plan.count <= limits.stages, heads <= limits.heads else {
      throw .notApplicable("overview fits at most \(limits.stages) stages and \(limits.heads) attention heads, but \(source.lesson.path) has \(plan.count) and \(heads); \(alternatives)")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
  }

  /// The stages with their outputs for `x` [1, T] and the probabilities [T][V] at the end, from one
  /// forward pass in evaluation mode, layer by layer (every attention layer then holds A for x).
  static func sequenceStages(_ model: Sequential, _ x: Tensor) -> (stages: [SequenceStage], probabilities: [[Double]]) {
    let plan = sequenceStagePlan(model)
    let step = Step(training: false)
    var outputs: [Int: Tensor] = [:]
    var a = x
    for (i, layer) in model.layers.enumerated() {
      a = layer.forward(a, step)
      outputs[i] = a
    }
    let stages = plan.map { p in
      let out = outputs[p.end]!
      return SequenceStage(title: p.title.title, formula: p.title.formula, layers: p.layers, width: out.shape.last ?? 1, values: out.data,
                           parameters: p.layers.map(\.parameterCount).reduce(0, +))
    }
    let v = a.shape.last ?? 1
    return (stages, probabilities(a.reshaped([a.count / v, v]), model: model))
  }

  static func sequenceOverview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.overview)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let x = data.x.gathering(rows: [sample])
    let (stages, p) = sequenceStages(source.model, x)
    let vocabulary = data.vocabulary
    let t = x.count
    let tokens = (0..<t).map { tokenLabel(x.data[$0], vocabulary, position: $0) }
    let targets = (0..<t).map { i -> Int? in
      guard let y = data.explicitTargets, y.data[sample * t + i] >= 0 else { return nil }
      return Int(y.data[sample * t + i])
    }
    let top = p.map { row in row.indices.max { row[$0] < row[$1] || (row[$0] == row[$1] && $0 > $1) } ?? 0 }
    let scored = targets.indices.filter { targets[$0] != nil }
    let right = scored.filter { top[$0] == targets[$0] }.count
    let heads = stages.flatMap(\.attention).map { layer in
      (layer: layer, grids: (0..<layer.heads).map { h in Array(layer.attentionWeights.data[h * t * t..<(h + 1) * t * t]) })
    }
    let spelled = tokens.joined()
    let shown = spelled.count > 24 ? String(spelled.prefix(23)) + "…" : spelled
    let verdict = scored.isEmpty ? "" : "; \(right) of \(scored.count) scored positions right"
    let theme = options.theme
    let title = "Sequence overview: \(state(source, options))"
    let subtitle = "\(split.capitalized) sample \(sample + 1) “\(shown)” through every layer, a row per token\(verdict)"
    let predictions = (0..<t).map { i in
      (top: shownToken(top[i], vocabulary), p: p[i][top[i]], target: targets[i].map { shownToken($0, vocabulary) }, right: targets[i].map { $0 == top[i] })
    }
    return Figure(name: "overview", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      drawSequenceOverview(canvas, theme, body, stages: stages, tokens: tokens, heads: heads,
                           predictions: predictions)
    }
  }

  /// Token `id` as the figure writes it.
  static func shownToken(_ id: Int, _ vocabulary: [String]) -> String {
    vocabulary.isEmpty ? String(id) : Sequences.shown(id: Double(id), vocabulary)
  }

  /// The drawing: header lines over every column (title, formula, shape), the rows of maps, the
  /// prediction column, the heads of each attention block under it, and a legend.
  static func drawSequenceOverview(_ canvas: any Canvas, _ theme: Theme, _ body: Rect, stages: [SequenceStage], tokens: [String],
                                   heads: [(layer: SelfAttention, grids: [[Double]])],
                                   predictions: [(top: String, p: Double, target: String?, right: Bool?)]) {
    let t = tokens.count
    let nameStyle = theme.tick.emphasized
    let line = canvas.measure("Ag", style: theme.tick).height + 2 * theme.clearance
    let arrowGap = theme.gap * 0.7
    // Header lines over the columns: title, formula, shape.
    let headers = stages.map { s in [s.title, s.formula, "\(t)×\(s.width)"] }
    let headerHeight = 3 * line + theme.gap * 0.2
    // The bottom band for the heads: "head k", the key tokens, then each head's square grid with
    // its side `side`, as large as the band's width allows (beside the notes and the colour bar)
    // while the rows above keep 1.25 lines a token (at least a line when the page is short).
    let causal = heads.contains { $0.layer.causal }
    let mapNotes = ["maps: blue < 0 < red,", "each its own range;", "A: rows query,", "columns key"] + (causal ? ["hatched: masked"] : [])
    let markNotes = ["✓ / ✗: the next token", "right / wrong;", "—: masked, not scored"]
    let notesWidth = { (notes: [String]) in (notes.map { canvas.measure($0, style: theme.note).width }.max() ?? 0) + theme.gap }
    let queryWidth = tokens.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
    let bar = ColorBar(colormap: .viridis, scale: ColorScale(lower: 0, upper: 1), title: "A[i, j]")
    let barWidth = bar.width(on: canvas, theme: theme, height: Double(t) * line)
    let headCount = heads.map(\.grids.count).reduce(0, +)
    let fixedWidth = notesWidth(mapNotes) + notesWidth(markNotes) + barWidth + theme.gap
      + heads.map { Double($0.grids.count) * (queryWidth + theme.clearance * 4) + Double($0.grids.count - 1) * theme.gap * 0.5 + theme.gap }.reduce(0, +)
    let free = body.height - headerHeight - theme.gap - 2 * line
    let sideByWidth = (body.width - fixedWidth) / Double(max(headCount, 1))
    let sideByHeight = max(free - Double(t) * line * 1.25, min(Double(t) * line, free - Double(t) * line))
    var side = heads.isEmpty ? 0 : max(0, min(sideByWidth, sideByHeight))
    var pitch = heads.isEmpty ? (body.height - headerHeight) / Double(t) : min(max((free - side) / Double(t), line), line * 1.8)
    if !heads.isEmpty && pitch * Double(t) < free * 0.55 {
      // Few tokens: the rows take up to 55 % of the height, and the heads' squares what is left.
      pitch = max(pitch, free * 0.55 / Double(t))
      side = max(0, min(side, free - pitch * Double(t)))
    }
    let rowsTop = body.y + headerHeight
    func rowY(_ i: Int) -> Double { rowsTop + (Double(i) + 0.5) * pitch }
    let rowsHeight = pitch * Double(t)

    // Left: the input tokens; right: the predictions.
    let tokenWidth = max(tokens.map { canvas.measure($0, style: nameStyle).width }.max() ?? 0, canvas.measure("input", style: nameStyle).width,
                         canvas.measure("x", style: theme.note).width)
    let topWidth = max(predictions.map { canvas.measure($0.top, style: nameStyle).width }.max() ?? 0, canvas.measure("next", style: theme.note).width)
    let pWidth = max(canvas.measure("0.00", style: theme.tick).width, canvas.measure("p", style: theme.note).width)
    let markWidth = canvas.measure(" ✓", style: nameStyle).width
    let targetWidth = max(predictions.map { canvas.measure($0.target ?? "—", style: theme.tick).width }.max()! + markWidth, canvas.measure("target", style: theme.note).width)
    let spacing = theme.tickSize * 0.8
    let predictionWidth = max(topWidth + pWidth + targetWidth + 2 * spacing, canvas.measure("prediction", style: nameStyle).width)
    let (tokenColumn, rest) = body.splitLeft(tokenWidth, gap: arrowGap)
    let (predictionColumn, field) = rest.splitRight(predictionWidth, gap: arrowGap)

    // The maps share the field's width by their d, each at least as wide as its header.
    let gaps = arrowGap * Double(max(stages.count - 1, 0))
    let labelWidths = headers.map { lines in lines.enumerated().map { canvas.measure($0.element, style: $0.offset == 0 ? nameStyle : theme.note).width }.max() ?? 0 }
    var widths = stages.map { _ in 0.0 }
    var fixed = Set<Int>()
    while true {
      let free = field.width - gaps - fixed.map { widths[$0] }.reduce(0, +)
      let share = stages.indices.filter { !fixed.contains($0) }.map { Double(stages[$0].width) }.reduce(0, +)
      var changed = false
      for k in stages.indices where !fixed.contains(k) {
        widths[k] = free * Double(stages[k].width) / max(share, 1)
        if widths[k] < labelWidths[k] {
          widths[k] = labelWidths[k]
          fixed.insert(k)
          changed = true
        }
      }
      if !changed || fixed.count == stages.count { break }
    }
    var columnRects: [Rect] = []
    var left = field.x
    for w in widths {
      columnRects.append(Rect(x: left, y: body.y, width: w, height: headerHeight + rowsHeight))
      left += w + arrowGap
    }

    // Headers.
    func header(_ lines: [String], _ rect: Rect) {
      for (n, text) in lines.enumerated() {
        let style = n == 0 ? nameStyle : theme.note
        canvas.text(text, Point(rect.midX, rect.y + Double(n) * line), style, anchor: .top)
      }
    }
    header(["input", "x", ""], tokenColumn)
    for (k, rect) in columnRects.enumerated() { header(headers[k], rect) }
    // Row labels: the tokens, each on the row it starts.
    for i in 0..<t {
      canvas.text(tokens[i], Point(tokenColumn.midX, rowY(i)), nameStyle, anchor: .center)
    }
    // Maps, with an arrow into each from the column before it.
    for (k, stage) in stages.enumerated() {
      let rect = Rect(x: columnRects[k].x, y: rowsTop, width: columnRects[k].width, height: rowsHeight)
      let (colormap, scale) = mapColoring(stage.values, input: false)
      canvas.image(Raster(values: stage.values, width: stage.width, colormap: colormap, scale: scale), in: rect)
      canvas.stroke(rect, Theme.ink, width: theme.hairline)
      let from = k == 0 ? tokenColumn.maxX : columnRects[k - 1].maxX
      canvas.arrow(Point(from + arrowGap * 0.15, rowsTop + rowsHeight / 2), Point(rect.x - arrowGap * 0.1, rowsTop + rowsHeight / 2), Theme.muted,
                   width: theme.hairline, head: arrowGap * 0.4)
    }
    if let last = columnRects.last {
      canvas.arrow(Point(last.maxX + arrowGap * 0.1, rowsTop + rowsHeight / 2), Point(predictionColumn.x - arrowGap * 0.1, rowsTop + rowsHeight / 2), Theme.muted,
                   width: theme.hairline, head: arrowGap * 0.4)
    }

    // Predictions: the likeliest next token, its p (with a bar behind it), the target.
    canvas.text("prediction", Point(predictionColumn.midX, body.y), nameStyle, anchor: .top)
    let topX = predictionColumn.x, pX = topX + topWidth + spacing, targetX = pX + pWidth + spacing
    canvas.text("next", Point(topX + topWidth / 2, body.y + line), theme.note, anchor: .top)
    canvas.text("p", Point(pX + pWidth / 2, body.y + line), theme.note, anchor: .top)
    canvas.text("target", Point(targetX, body.y + line), theme.note, anchor: .topLeft)
    for (i, row) in predictions.enumerated() {
      let y = rowY(i)
      let track = Rect(x: pX, y: y - pitch * 0.4, width: pWidth, height: pitch * 0.8)
      canvas.fill(track, Theme.grid.mixed(with: .white, 0.5))
      canvas.fill(Rect(x: track.x, y: track.y, width: track.width * min(max(row.p, 0), 1), height: track.height), Theme.accent.mixed(with: .white, 0.65))
      canvas.text(row.top, Point(topX + topWidth / 2, y), nameStyle, anchor: .center)
      canvas.text(NumberFormat.fixed(row.p, digits: 2), Point(track.midX, y), theme.tick, anchor: .center)
      if let target = row.target, let right = row.right {
        let box = canvas.text(target, Point(targetX, y), theme.tick, anchor: .left)
        canvas.text(right ? "✓" : "✗", Point(box.maxX + markWidth * 0.3, y), right ? nameStyle : nameStyle.colored(Theme.accent), anchor: .left)
      } else {
        canvas.text("—", Point(targetX, y), theme.note, anchor: .left)
      }
    }

    // The heads of each attention block, under its column: "head k" over each grid, the key
    // tokens above it, the query tokens left of it.
    guard !heads.isEmpty else { return }
    let bandRect = Rect(x: body.x, y: rowsTop + rowsHeight + theme.gap, width: body.width, height: body.maxY - (rowsTop + rowsHeight + theme.gap))
    // A head's grid is `side` tall and, where the band has room, up to 1.6 times as wide.
    let gridWidth = max(side, min(sideByWidth - queryWidth - theme.clearance * 4, side * 1.6))
    let headWidth = queryWidth + theme.clearance * 4 + gridWidth
    // The heads start far enough right for the map notes when the mark notes still fit after the bar.
    let groupsWidth = heads.map { Double($0.grids.count) * headWidth + Double($0.grids.count - 1) * theme.gap * 0.5 + theme.gap }.reduce(0, +)
    let roomy = notesWidth(mapNotes) + groupsWidth + barWidth + theme.gap + notesWidth(markNotes) <= bandRect.width
    var groupLeft = bandRect.x + (roomy ? notesWidth(mapNotes) : 0)
    var firstGroupLeft = bandRect.maxX
    for (layer, grids) in heads {
      let k = stages.firstIndex { s in s.attention.contains { $0 === layer } } ?? 0
      let groupWidth = Double(grids.count) * headWidth + Double(grids.count - 1) * theme.gap * 0.5
      let x0 = max(min(columnRects[k].midX - groupWidth / 2, bandRect.maxX - groupWidth - barWidth - theme.gap), groupLeft)
      firstGroupLeft = min(firstGroupLeft, x0)
      // A dashed line from the block's map down to its heads.
      canvas.line(Point(columnRects[k].midX, rowsTop + rowsHeight), Point(columnRects[k].midX, bandRect.y), Theme.muted, width: theme.hairline, dash: [3, 3])
      for (h, values) in grids.enumerated() {
        let gx = x0 + Double(h) * (headWidth + theme.gap * 0.5) + queryWidth + theme.clearance * 4
        let grid = Rect(x: gx, y: bandRect.y + 2 * line, width: gridWidth, height: side)
        drawAttentionCells(canvas, theme, grid, values, tokens: t, causal: layer.causal, numbers: false)
        let (cellW, cellH) = (gridWidth / Double(t), side / Double(t))
        let step = max(1, Int((line * 0.95 / max(cellH, 1e-9)).rounded(.up)))
        for j in stride(from: 0, to: t, by: step) {
          canvas.text(tokens[j], Point(grid.x + (Double(j) + 0.5) * cellW, grid.y - theme.clearance * 2), theme.tick, anchor: .bottom)
          canvas.text(tokens[j], Point(grid.x - theme.clearance * 3, grid.y + (Double(j) + 0.5) * cellH), theme.tick, anchor: .right)
        }
        let name = heads.count > 1 ? "\(layer.name) head \(h + 1)" : "head \(h + 1)"
        canvas.text(name, Point(grid.midX, bandRect.y), canvas.fitting(name, width: headWidth, nameStyle, minimum: theme.minimumSize), anchor: .top)
      }
      groupLeft = x0 + groupWidth + theme.gap
    }
    bar.draw(on: canvas, in: Rect(x: groupLeft, y: bandRect.y + line, width: barWidth, height: side + line), theme: theme)
    // What the colours and marks mean: the maps' and heads' in the room left of the heads, the
    // predictions' right of the bar (all on one side when the other is too narrow).
    let leftRoom = Rect(x: bandRect.x, y: bandRect.y, width: max(0, firstGroupLeft - theme.gap - bandRect.x), height: bandRect.height)
    let rightRoom = Rect(x: groupLeft + barWidth + theme.gap, y: bandRect.y, width: max(0, bandRect.maxX - (groupLeft + barWidth + theme.gap)), height: bandRect.height)
    func fits(_ notes: [String], _ room: Rect) -> Bool {
      (notes.map { canvas.measure($0, style: theme.note).width }.max() ?? 0) <= room.width && Double(notes.count) * line <= room.height
    }
    func write(_ notes: [String], _ room: Rect) {
      var y = room.y + (room.height - Double(notes.count) * line) / 2
      for note in notes {
        canvas.text(note, Point(room.x, y), theme.note, anchor: .topLeft)
        y += line
      }
    }
    if fits(mapNotes, leftRoom) && fits(markNotes, rightRoom) {
      write(mapNotes, leftRoom)
      write(markNotes, rightRoom)
    } else if fits(mapNotes + markNotes, rightRoom) {
      write(mapNotes + markNotes, rightRoom)
    } else if fits(mapNotes + markNotes, leftRoom) {
      write(mapNotes + markNotes, leftRoom)
    }
  }
}
