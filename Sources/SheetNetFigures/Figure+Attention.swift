import SheetNet

/// `attention`: one sample of the evaluation split through the trained network, and each
/// self-attention layer's weights A for it: a heat map per head, row i = query token i, column j =
/// key token j, both axes labelled with the tokens as characters, A[i, j] written in its cell
/// (2 decimals) where it fits. With `causal` a query sees no key after it: those cells are grey and
/// hatched, with no number (their weight is exactly 0). Every row sums to 1 (the softmax).
///
/// The numbers are the engine's: the layer's cached A after one forward pass in evaluation mode
/// on the sample (`SelfAttention.attentionWeights`); nothing is recomputed here.
///
/// `--layer` (a name or a 1-based position) draws one attention layer; without it every attention
/// layer gets a page of its own.
extension Figure {
  /// The network's self-attention layers, in order.
  static func attentionLayers(_ model: Sequential) -> [SelfAttention] {
    model.layers.compactMap { $0 as? SelfAttention }
  }

  static func checkAttention(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.attention)
    guard !attentionLayers(source.model).isEmpty else {
      throw .notApplicable("attention draws self_attention layers' weights, but \(source.lesson.path) has none; \(suggestion([.architecture], for: source))")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
    _ = try pickAttentionLayers(source, options)
  }

  /// The layers drawn: the one `--layer` names, else all.
  static func pickAttentionLayers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [SelfAttention] {
    let model = source.model, all = attentionLayers(model)
    guard let name = options.layer else { return all }
    let found = model.layer(named: name) ?? Int(name).flatMap { $0 >= 1 && $0 <= model.layers.count ? model.layers[$0 - 1] : nil }
    guard let layer = found as? SelfAttention else {
      throw .option("--layer \(name.prefix(40)) is not a self_attention layer of this network; attention draws \(all.map(\.name).joined(separator: ", "))")
    }
    return [layer]
  }

  /// A token as a label: its character, with a space and a line break made visible.
  static func tokenLabel(_ id: Double, _ vocabulary: [String], position: Int) -> String {
    vocabulary.isEmpty ? String(position + 1) : Sequences.shown(id: id, vocabulary)
  }

  static func attention(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    let run = try source.requireRun(.attention)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let layers = try pickAttentionLayers(source, options)
    let x = data.x.gathering(rows: [sample])
    _ = forwardAll(source.model, x)  // every attention layer now holds A for this one sample
    let tokens = x.count
    let labels = (0..<tokens).map { tokenLabel(x.data[$0], data.vocabulary, position: $0) }
    let spelled = data.isTokens ? labels.joined() : "\(tokens) tokens"
    let all = attentionLayers(source.model)
    return layers.map { layer in
      let a = layer.attentionWeights
      let (h, t) = (a.shape[1], a.shape[2])
      let grids = (0..<h).map { head in Array(a.data[head * t * t..<(head + 1) * t * t]) }
      let position = (all.firstIndex { $0 === layer } ?? 0) + 1
      // The titles, longest first: the page writes the first that fits, so a long sample or a
      // long lesson name shortens the sample shown ("…") rather than running off the page.
      func title(_ which: String, _ limit: Int?) -> String {
        let on = limit.map { ", on “\(spelled.count > $0 ? String(spelled.prefix($0 - 1)) + "…" : spelled)”" } ?? ""
        return "Attention of \(layer.name)\(which), \(h) head\(h == 1 ? "" : "s")\(on): \(state(source, options))"
      }
      let which = all.count > 1 ? " (attention layer \(position) of \(all.count))" : ""
      let short = all.count > 1 ? " (layer \(position) of \(all.count))" : ""
      let titles = [title(which, 24)] + [24, 16, 12, 8].map { title(short, $0) } + [title(short, nil)]
      let masked = layer.causal ? "; hatched: masked (key after query)" : ""
      let sample = "\(split) sample \(options.sample)"
      let subtitles = ["\(sample); rows: query token, columns: key token; each row sums to 1\(masked)",
                       "\(sample); rows: queries, columns: keys; each row sums to 1\(masked)",
                       "\(sample); rows: queries, columns: keys; each row sums to 1\(layer.causal ? "; hatched: masked" : "")"]
      let name = layers.count > 1 || all.count > 1 ? "attention-\(layer.name)" : "attention"
      return attentionMaps(grids, tokens: labels, causal: layer.causal, theme: options.theme, name: name, titles: titles, subtitles: subtitles)
    }
  }

  /// The weights of one layer's heads (each T×T, row-major) under one title, with a colour bar
  /// 0…1 on the right. The heads sit in the rows of panels that give the largest grids (the
  /// longest shorter side; fewer rows on a tie), and each grid fills its panel, square
  /// when the panel nearly is: many heads or a long context still use the page, their cells then
  /// wider than tall or taller than wide. `titles` and `subtitles` are tried longest first
  /// (`Canvas.page(_:_:titles:subtitles:)`).
  public static func attentionMaps(_ grids: [[Double]], tokens: [String], causal: Bool, theme: Theme, name: String = "attention", titles: [String], subtitles: [String]) -> Figure {
    let t = tokens.count
    return Figure(name: name, size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, titles: titles, subtitles: subtitles)
      let scale = ColorScale(lower: 0, upper: 1)
      let bar = ColorBar(colormap: .viridis, scale: scale, title: "A[i, j]")
      let barWidth = bar.width(on: canvas, theme: theme)
      let lh = canvas.measure("Ag", style: theme.label).height, th = canvas.measure("Ag", style: theme.tick).height
      let tokenWidth = tokens.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
      let left = tokenWidth + theme.gap * 0.3  // the query tokens left of each grid
      let axis = lh + theme.gap * 0.3  // "query" written up the left side of each row of grids
      let top = lh + theme.gap * 0.3 + th + theme.gap * 0.25  // head title, then the key tokens
      let rowGap = theme.gap * 0.5
      let heads = max(grids.count, 1)
      let room = body.width - axis - barWidth - theme.gap
      // The grid's room in an arrangement of `columns` panels a row.
      func gridRoom(_ columns: Int) -> (width: Double, height: Double) {
        let rows = Double((heads + columns - 1) / columns), c = Double(columns)
        return (max(0, (room - theme.gap * (c - 1)) / c - left), max(0, (body.height - rows * top - rowGap * (rows - 1)) / rows))
      }
      // r rows of ⌈h / r⌉ panels: the r whose grids' shorter side is longest, the fewest rows on a tie.
      var columns = heads
      for r in 2...max(heads, 2) where r <= heads {
        let (a, b) = (gridRoom((heads + r - 1) / r), gridRoom(columns))
        if min(a.width, a.height) > min(b.width, b.height) { columns = (heads + r - 1) / r }
      }
      let rows = (heads + columns - 1) / columns
      let (gridWidth, gridHeight) = gridRoom(columns)
      let square = abs(gridWidth - gridHeight) < theme.gap * 4
      let (w, hgt) = square ? (min(gridWidth, gridHeight), min(gridWidth, gridHeight)) : (gridWidth, gridHeight)
      let used = axis + Double(columns) * (left + w) + theme.gap * Double(columns - 1) + theme.gap + barWidth
      let x0 = body.x + max(0, (body.width - used) / 2)
      // Head k's grid: row k / columns, column k % columns.
      func gridRect(_ k: Int) -> Rect {
        let (row, column) = (Double(k / columns), Double(k % columns))
        return Rect(x: x0 + axis + column * (left + w + theme.gap) + left, y: body.y + row * (top + hgt + rowGap) + top, width: w, height: hgt)
      }
      var vertical = theme.label
      vertical.vertical = true
      for row in 0..<rows {
        let grid = gridRect(row * columns)
        canvas.text("query", Point(x0, grid.midY), vertical, anchor: Anchor(x: 0.5, y: 0))
      }
      for (head, values) in grids.enumerated() {
        let grid = gridRect(head)
        let cellW = w / Double(t), cellH = hgt / Double(t)
        func cell(_ i: Int, _ j: Int) -> Rect { Rect(x: grid.x + cellW * Double(j), y: grid.y + cellH * Double(i), width: cellW, height: cellH) }
        drawAttentionCells(canvas, theme, grid, values, tokens: t, causal: causal, numbers: true)
        // Tokens: every one when they fit, else every k-th.
        let rowStep = max(1, Int((th * 1.05 / max(cellH, 1e-9)).rounded(.up)))
        let columnStep = max(1, Int(((tokenWidth + theme.clearance * 2) / max(cellW, 1e-9)).rounded(.up)))
        for k in 0..<t {
          if k % columnStep == 0 {
            canvas.text(tokens[k], Point(cell(0, k).midX, grid.y - theme.gap * 0.25), theme.tick, anchor: .bottom)
          }
          if k % rowStep == 0 {
            canvas.text(tokens[k], Point(grid.x - theme.gap * 0.3, cell(k, 0).midY), theme.tick, anchor: .right)
          }
        }
        // "head 2 (columns: keys)", or "head 2" where that is too long.
        let caption = canvas.firstFitting(["head \(head + 1) (columns: keys)", "head \(head + 1)"], width: w, theme.label.emphasized, minimum: theme.minimumSize)
        canvas.text(caption.text, Point(grid.midX, grid.y - top), caption.style, anchor: .top)
      }
      let (first, last) = (gridRect(0), gridRect(heads - 1))
      let barX = x0 + axis + Double(columns) * (left + w + theme.gap)
      bar.draw(on: canvas, in: Rect(x: barX, y: first.y, width: barWidth, height: last.maxY - first.y), theme: theme)
    }
  }

  /// One head's weights A (T×T, row-major) filling `grid`: viridis from 0 to 1, masked cells
  /// (causal, key after query) grey with hatching and no number, an outline, and with `numbers`
  /// A[i, j] written in each cell when it fits (as large as the cell allows up to the tick size,
  /// never under the theme's cell minimum).
  static func drawAttentionCells(_ canvas: any Canvas, _ theme: Theme, _ grid: Rect, _ values: [Double], tokens t: Int, causal: Bool, numbers: Bool) {
    let scale = ColorScale(lower: 0, upper: 1)
    let grey = Color(hex: 0xD9D9D9), hatch = Color(hex: 0x9A9A9A)
    let cellW = grid.width / Double(t), cellH = grid.height / Double(t)
    func cell(_ i: Int, _ j: Int) -> Rect { Rect(x: grid.x + cellW * Double(j), y: grid.y + cellH * Double(i), width: cellW, height: cellH) }
    let hidden = { (i: Int, j: Int) in causal && j > i }
    let pixels = (0..<t * t).map { k in hidden(k / t, k % t) ? grey : Colormap.viridis(scale(values[k])) }
    canvas.image(Raster(width: t, height: t, pixels: pixels), in: grid)
    for i in 0..<t {  // hatch the masked cells: two diagonals of each
      for j in 0..<t where hidden(i, j) {
        let r = cell(i, j)
        canvas.line(Point(r.x, r.maxY), Point(r.maxX, r.y), hatch, width: theme.hairline)
        canvas.line(Point(r.x, r.midY), Point(r.midX, r.y), hatch, width: theme.hairline)
        canvas.line(Point(r.midX, r.maxY), Point(r.maxX, r.midY), hatch, width: theme.hairline)
      }
    }
    canvas.stroke(grid, Theme.ink, width: theme.hairline)
    guard numbers else { return }
    var size = min(theme.tickSize, cellH * 0.5)
    while size > theme.cellMinimum && canvas.measure("0.00", style: TextStyle(size: size)).width > cellW * 0.9 { size = max(theme.cellMinimum, size - 0.5) }
    let fits = size >= theme.cellMinimum && canvas.measure("0.00", style: TextStyle(size: size)).width <= cellW * 0.9
      && canvas.measure("0", style: TextStyle(size: size)).height <= cellH * 0.9
    guard fits else { return }
    for i in 0..<t {
      for j in 0..<t where !hidden(i, j) {
        let v = values[i * t + j]
        canvas.text(NumberFormat.fixed(v, digits: 2), cell(i, j).center, TextStyle(size: size, color: Colormap.viridis(scale(v)).legibleText))
      }
    }
  }
}
