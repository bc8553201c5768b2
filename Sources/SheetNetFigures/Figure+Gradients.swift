import Foundation
import SheetNet

/// `gradients`: the saliency |∂z/∂x| of the trained network's predicted class score over a few inputs; each weight
/// tensor beside its gradient ∂L/∂W and its update ΔW in the first training step (the engine's
/// own trace of that step); and each layer's gradient norm over training.
///
/// Tiny weight matrices (at most 4 × 4) share one page, a row each, every number written in its
/// cell. Larger ones get a page each (a wide matrix's three panels stacked) and are drawn readably: a conv layer's k×k kernels as
/// tiles (filters × input channels), a dense layer on an image as each unit's weights laid out
/// like that image, any other matrix as its top-left block; the page says what is shown. Sequence
/// layers count too: an embedding's E (a row per token) and self-attention's Wq, Wk, Wv and Wo,
/// a page per matrix (`gradients-step-attention1-Wq`).
extension Figure {
  static func checkGradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.gradients)
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
    if try weightLayers(source, options).isEmpty {
      throw .notApplicable("gradients shows weight grids, but \(source.lesson.path) has no dense, conv2d, embedding or self_attention layer; try activations")
    }
  }

  /// The weight matrices of a layer the first-step pages draw, by parameter name: W of a dense or
  /// conv2d layer, E of an embedding, Wq, Wk, Wv and Wo of self-attention; none for other layers.
  static func weightNames(_ layer: any Layer) -> [String] {
    switch layer {
    case is Dense, is Conv2D: ["W"]
    case is Embedding: ["E"]
    case is SelfAttention: ["Wq", "Wk", "Wv", "Wo"]
    default: []
    }
  }

  /// The layers with weight matrices: the first three, or the one `--layer` names.
  static func weightLayers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [any Layer] {
    let all = source.model.layers.filter { !weightNames($0).isEmpty }
    guard options.layer != nil else { return Array(all.prefix(3)) }
    return [try pick(options.layer, in: source.model, among: all, what: "layers with weights (dense, conv2d, embedding, self_attention)")]
  }

  static func gradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    // Token ids carry no gradient (∂L/∂x is not defined for an id): no saliency page for them.
    let tokens = source.run?.split.train.isTokens == true
    var pages = (tokens ? [] : [try saliency(source, options)]) + (try firstStep(source, options))
    if options.trained, let run = source.run, drawsGradientNorms(run.history) { pages.append(gradientNorms(source, run.history, options.theme)) }
    return pages
  }

  /// Backpropagates `delta`, given at the output of `layers[..<end]`, down to the input after a
  /// forward pass, and returns ∂/∂x. Fills the layers' parameter gradients on the way (as any
  /// backward pass does).
  static func inputGradient(_ model: Sequential, end: Int, _ delta: Tensor, _ step: Step) -> Tensor {
    var d = delta
    for layer in model.layers[..<end].reversed() { d = layer.backward(d, step) }
    return d
  }

  // MARK: Saliency

  /// A saliency map whose largest value is below this share of the largest value of all maps
  /// shown is marked "≈ 0": on the shared scale it is blank, and it is said why.
  static let negligibleSaliency = 1e-3

  /// |∂z_c/∂xₙ| for each sample n of the batch x, where z_c is the score (before softmax or
  /// sigmoid) of the class c the network predicts for xₙ (Simonyan et al. 2014, "Deep inside
  /// convolutional networks"), and the network's outputs y. For a single sigmoid output the
  /// score is +z for class 1 and −z for class 0. Unlike ∂L/∂x = Σ_k (p_k − t_k)·∂z_k/∂x, which
  /// vanishes once p ≈ 100 %, the score's gradient stays as large as the network is sensitive.
  static func saliencyValues(_ model: Sequential, _ x: Tensor) -> (Tensor, Tensor) {
    let step = Step(training: false)
    let end = scoreLayers(model), outputs = model.outputShape.reduce(1, *)
    let y = model.forward(x, step)
    var z = x
    for layer in model.layers[..<end] { z = layer.forward(z, step) }
    var delta = Tensor(shape: z.shape)  // [N, outputs]: 1 at each sample's predicted score
    for (n, c) in predictedClasses(y, model: model).enumerated() {
      if outputs == 1 { delta.data[n] = c == 1 ? 1 : -1 } else { delta.data[n * outputs + c] = 1 }
    }
    var dx = inputGradient(model, end: end, delta, step)
    for i in 0..<dx.count { dx.data[i] = abs(dx.data[i]) }
    return (dx, y)
  }

  /// The class each row of the outputs y predicts: argmax, or y ≥ 0.5 for a single output.
  static func predictedClasses(_ y: Tensor, model: Sequential) -> [Int] {
    let outputs = model.outputShape.reduce(1, *)
    return (0..<y.rows).map { n in
      outputs == 1 ? (y.data[n] >= 0.5 ? 1 : 0) : (0..<outputs).max { y.data[n * outputs + $0] < y.data[n * outputs + $1] }!
    }
  }

  /// The name of input feature i: the data's own (iris: "sepal length"), else xᵢ (1-based).
  static func featureName(_ data: Dataset, _ i: Int) -> String {
    i < data.featureNames.count ? data.featureNames[i] : "x" + subscripted(i + 1)
  }

  /// |∂z_c/∂xₙ| (the predicted class's score) for the chosen sample and the three after it
  /// (images), or per feature, named, for the chosen sample beside the mean over the evaluation
  /// split (other inputs).
  ///
  /// The image maps share one colour scale, 0 to the largest |∂z/∂x| among them; a map below
  /// `negligibleSaliency` of the largest is marked "≈ 0" with its own maximum.
  static func saliency(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.gradients)
    let model = source.model, theme = options.theme
    let (split, data) = run.evaluationSet
    let first = try sampleIndex(options, in: data, split: split)
    let image = imageShape(model.inputShape)
    let rows = image == nil ? Array(0..<data.count) : Array(first..<min(first + 4, data.count))
    let x = data.x.gathering(rows: rows)
    let (dx, y) = saliencyValues(model, x)
    let title = "Saliency |∂z/∂x| of the predicted class's score: \(state(source, options))"
    guard let (channels, height, width) = image else {
      let n = x.columns
      let chosen = rows.firstIndex(of: first)!
      let mine = (0..<n).map { dx.data[chosen * n + $0] }
      let mean = (0..<n).map { i in rows.indices.map { dx.data[$0 * n + i] }.reduce(0, +) / Double(rows.count) }
      let predicted = predictedClasses(y, model: model)[chosen]
      return featureBars(name: "gradients-saliency", title: title,
                         subtitle: "z, the predicted class's score: |∂z/∂xᵢ| for \(split) sample \(first + 1) (\(className(data, predicted))) and the mean of all \(NumberFormat.integer(rows.count))",
                         labels: (0..<n).map { featureName(data, $0) }, series: [("sample \(first + 1)", Theme.accent, mine), ("mean", ClassColors.color(0), mean)],
                         axis: "|∂z/∂xᵢ|", theme: theme)
    }
    let plane = height * width
    // Images: the first channel of the input; saliency as the largest |∂z/∂x| over channels.
    let inputs = rows.indices.map { r in (0..<plane).map { x.data[r * channels * plane + $0] } }
    let maps = rows.indices.map { r in (0..<plane).map { p in (0..<channels).map { dx.data[(r * channels + $0) * plane + p] }.max()! } }
    let probabilities = Figure.probabilities(y, model: model)
    let captions = rows.indices.map { r -> [String] in
      let p = probabilities[r], k = p.indices.max { p[$0] < p[$1] }!
      let truth = data.labels.map { "true \(className(data, $0[rows[r]])), " } ?? ""
      return ["\(truth)predicted \(className(data, k))", "p = \(NumberFormat.percent(p[k], digits: 0))"]
    }
    let pixelScale = ColorScale.linear(run.split.train.x.data)
    let largest = maps.map { $0.max() ?? 0 }
    let scale = ColorScale.magnitude(maps.flatMap { $0 })
    let peaks = largest.map { m -> String in
      m < negligibleSaliency * scale.upper ? "≈ 0 (max \(NumberFormat.significant(m, 2)))" : "max \(NumberFormat.significant(m, 2))"
    }
    let samples = rows.count == 1 ? "\(split.capitalized) sample \(rows[0] + 1)" : "\(split.capitalized) samples \(rows[0] + 1)–\(rows.last! + 1)"
    let lines = ["\(samples): the input (top) and |∂z/∂x| (bottom), where z is the predicted class's score",
                 "(before softmax); \(maps.count == 1 ? "on a" : "all \(maps.count) maps on one") colour scale from 0 to \(NumberFormat.significant(scale.upper, 2)), the largest |∂z/∂x| shown\(channels > 1 ? "; largest over channels" : "")"]
    return Figure(name: "gradients-saliency", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: title, lines: lines)
      let pixelBar = ColorBar(colormap: .greys, scale: pixelScale, title: "input x")
      let salientBar = ColorBar(colormap: .viridis, scale: scale, title: "|∂z/∂x|")
      let barWidth = max(pixelBar.width(on: canvas, theme: theme), salientBar.width(on: canvas, theme: theme))
      let (bars, rest) = body.splitRight(barWidth, gap: theme.gap)
      let lineHeight = canvas.measure("Ag", style: theme.tick).height
      let columns = rest.columns(maps.count, gap: theme.gap)
      var squares: [Rect] = []
      for (c, column) in columns.enumerated() {
        let (caption, pictures) = column.splitBottom(lineHeight * 3 + theme.clearance * 2, gap: theme.gap * 0.3)
        let halves = pictures.rows(2, gap: theme.gap * 0.5)
        let top = halves[0].fitted(aspect: Double(width) / Double(height)), bottom = halves[1].fitted(aspect: Double(width) / Double(height))
        canvas.image(Raster(values: inputs[c], width: width, colormap: .greys, scale: pixelScale), in: top)
        canvas.stroke(top, Theme.ink, width: theme.hairline)
        canvas.image(Raster(values: maps[c], width: width, colormap: .viridis, scale: scale), in: bottom)
        canvas.stroke(bottom, Theme.ink, width: theme.hairline)
        squares += [top, bottom]
        let texts = [(captions[c][0], theme.tick), (captions[c][1], theme.tick), (peaks[c], theme.note)]
        for (k, (text, style)) in texts.enumerated() {
          let y = caption.y + Double(k) * (lineHeight + theme.clearance)
          canvas.text(text, Point(caption.midX, y), canvas.fitting(text, width: column.width, style, minimum: theme.minimumSize), anchor: .top)
        }
      }
      if let top = squares.first, squares.count > 1 {
        pixelBar.draw(on: canvas, in: Rect(x: bars.x, y: top.y, width: bars.width, height: top.height), theme: theme)
        salientBar.draw(on: canvas, in: Rect(x: bars.x, y: squares[1].y, width: bars.width, height: squares[1].height), theme: theme)
      }
    }
  }

  /// A class's name, or its number.
  static func className(_ data: Dataset, _ k: Int) -> String { k < data.classNames.count ? data.classNames[k] : String(k) }

  /// Horizontal bars, one group per label, one bar per series, with a value axis along the bottom.
  static func featureBars(name: String, title: String, subtitle: String, labels: [String], series: [(String, Color, [Double])], axis: String, theme: Theme) -> Figure {
    Figure(name: name, size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      canvas.legend(series.map { (label: $0.0, color: $0.1, dash: [Double](), marker: true) }, in: legendStrip, theme: theme)
      let largest = series.flatMap(\.2).max() ?? 1
      let plot = Plot(x: (0, Ticks.padded(0, largest > 0 ? largest : 1).1), y: (0, Double(labels.count)), xTitle: axis, yTitle: "", series: [])
      let labelWidth = labels.map { canvas.measure($0, style: theme.label).width }.max() ?? 0
      let (labelStrip, plotRect) = rest.splitLeft(labelWidth, gap: theme.gap * 0.5)
      // A plain value axis: Plot with an empty y axis, the bars drawn over its area.
      var axisPlot = plot
      axisPlot.y = (0, 1)
      axisPlot.hideY = true
      let area = axisPlot.draw(on: canvas, in: plotRect, theme: theme) { _ in }
      let band = area.height / Double(labels.count)
      for (i, label) in labels.enumerated() {
        let top = area.y + Double(i) * band
        canvas.text(label, Point(labelStrip.maxX, top + band / 2), theme.label, anchor: .right)
        let barHeight = band * 0.7 / Double(series.count)
        for (s, (_, color, values)) in series.enumerated() {
          let w = area.width * values[i] / max(plot.x.upper, 1e-300)
          canvas.fill(Rect(x: area.x, y: top + band * 0.15 + Double(s) * barHeight, width: w, height: barHeight * 0.9), color)
        }
      }
    }
  }

  // MARK: Weight tensors drawn readably

  /// How a weight tensor is drawn: as tiles, each a small grid of some of its elements (flat
  /// indices into the tensor), in a fixed grid (filters × channels) or flowing in reading order.
  /// One tile is the whole matrix, or its top-left block when that is too large.
  struct WeightView {
    /// One small grid: its size and the flat index of each of its cells, row by row.
    struct Tile {
      var rows: Int
      var columns: Int
      var indices: [Int]
    }

    /// The tiles, in reading order.
    var tiles: [Tile]
    /// A fixed grid of tiles (rows × columns), or nil to flow them in the grid that fits best.
    var grid: (rows: Int, columns: Int)?
    /// What is shown, for the page: "rows: filters 1–10 of 32; columns: input channels 1–8 of 32".
    var description: String
    /// True when every element is shown as one matrix small enough to write its numbers.
    var whole: Bool
    /// True when the one matrix shown is Wᵀ (inputs down, units across).
    var transposed = false
  }

  /// Largest matrix drawn whole, numbers and all: 16 × 16.
  static let wholeMatrix = 16
  /// Largest matrices that share one page of the first step, a row each: 4 × 4 (Mazur's, XOR's);
  /// larger ones get a page each.
  static let combinedMatrix = 4
  /// Largest block of a bigger matrix without image structure: 16 rows × 24 columns.
  static let cropBlock = (rows: 16, columns: 24)
  /// Largest tile grid: 10 rows (filters or units) × 8 columns (input channels).
  static let tileGrid = (rows: 10, columns: 8)

  /// The image one sample's input to layer `index` forms: the network's input when it is an
  /// image, or the C×H×W map a flatten layer just before it unrolls; nil otherwise.
  static func inputImage(of index: Int, in model: Sequential) -> (channels: Int, height: Int, width: Int)? {
    var i = index
    if i > 0 && model.layers[i - 1] is Flatten { i -= 1 }
    if i == 0 { return imageShape(model.inputShape) }
    let shape = model.shapes[i - 1]
    return shape.count == 3 ? (shape[0], shape[1], shape[2]) : nil
  }

  /// "1–8 of 32", or "1–32" when all are shown.
  static func range(_ shown: Int, of total: Int) -> String {
    let span = shown == 1 ? "1" : "1–\(shown)"
    return shown < total ? "\(span) of \(total)" : span
  }

  /// The readable view of `layer`'s weights W (shape `shape`) in `model`:
  /// - conv2d, W [F, C, kh, kw]: each kernel W[f, c] a kh×kw tile, filters down and input
  ///   channels across (at most `tileGrid`), or in reading order when C = 1;
  /// - dense on an image of C×H×W, W [units, C·H·W]: each unit's weights from one channel as an
  ///   H×W tile, units down and channels across (in reading order when C = 1);
  /// - any other dense matrix: whole up to `wholeMatrix`, else its top-left `cropBlock`.
  static func weightView(_ layer: any Layer, shape: [Int], in model: Sequential) -> WeightView {
    let index = model.layers.firstIndex { $0 === layer } ?? 0
    let (outputs, inputs) = (shape[0], shape.dropFirst().reduce(1, *))
    var image: (channels: Int, height: Int, width: Int)?
    var (unitWord, channelWord, tileWord) = ("filters", "input channels", "")
    if shape.count == 4 {
      image = (shape[1], shape[2], shape[3])
      tileWord = "\(shape[2])×\(shape[3]) kernels"
    } else if outputs > wholeMatrix || inputs > wholeMatrix, let i = inputImage(of: index, in: model), i.channels * i.height * i.width == inputs {
      image = i
      unitWord = "units"
      tileWord = i.channels == 1 ? "each unit's weights on the \(i.height)×\(i.width) input" : "\(i.height)×\(i.width) weights"
    }
    guard let (c, h, w) = image else {
      let whole = outputs <= wholeMatrix && inputs <= wholeMatrix
      let shownRows = whole ? outputs : min(outputs, cropBlock.rows), shownColumns = whole ? inputs : min(inputs, cropBlock.columns)
      if shownRows >= 3 * shownColumns {
        // Many units, few inputs (16×2): Wᵀ, a unit per column, so it reads across the page.
        let indices = (0..<shownColumns).flatMap { i in (0..<shownRows).map { $0 * inputs + i } }
        let description = whole ? "shown as Wᵀ: rows: inputs, columns: units"
          : "shown as Wᵀ: rows: inputs \(range(shownColumns, of: inputs)); columns: units \(range(shownRows, of: outputs)) (a block)"
        return WeightView(tiles: [.init(rows: shownColumns, columns: shownRows, indices: indices)], grid: nil, description: description, whole: whole, transposed: true)
      }
      let indices = (0..<shownRows).flatMap { r in (0..<shownColumns).map { r * inputs + $0 } }
      let description = whole ? "rows: units, columns: inputs"
        : "rows: units \(range(shownRows, of: outputs)); columns: inputs \(range(shownColumns, of: inputs)) (top-left block)"
      return WeightView(tiles: [.init(rows: shownRows, columns: shownColumns, indices: indices)], grid: nil, description: description, whole: whole)
    }
    /// Element (r, ch, y, x) of a [R, C, H, W] view of the flat tensor.
    func tile(_ r: Int, _ ch: Int) -> WeightView.Tile {
      .init(rows: h, columns: w, indices: (0..<h * w).map { ((r * c + ch) * h * w) + $0 })
    }
    if c == 1 {
      // One channel: the tiles flow in reading order, as many as read well.
      let cap = min(outputs, 32, max(4, 1024 / (h * w)))
      let description = "\(unitWord) \(range(cap, of: outputs)) in reading order; tiles: \(tileWord)"
      return WeightView(tiles: (0..<cap).map { tile($0, 0) }, grid: nil, description: description, whole: false)
    }
    let rows = min(outputs, tileGrid.rows), columns = min(c, tileGrid.columns)
    let description = "rows: \(unitWord) \(range(rows, of: outputs)); columns: \(channelWord) \(range(columns, of: c)); tiles: \(tileWord)"
    return WeightView(tiles: (0..<rows).flatMap { r in (0..<columns).map { tile(r, $0) } }, grid: (rows, columns), description: description, whole: false)
  }

  /// The grid of tiles for `count` tiles of aspect `aspect` (width/height) in `rect`: the one
  /// giving the largest tiles, unless a grid with no empty places gives tiles at least 90 % as
  /// large (32 kernels as 4 × 8 rather than 5 × 7 with three places left over).
  static func tileGrid(count: Int, aspect: Double, in rect: Rect, gap: Double) -> (rows: Int, columns: Int) {
    guard count > 1 else { return (1, 1) }
    func side(_ c: Int) -> Double {
      let r = (count + c - 1) / c
      return min((rect.width - gap * Double(c - 1)) / Double(c), (rect.height - gap * Double(r - 1)) / Double(r) * aspect)
    }
    let best = (1...count).max { side($0) < side($1) }!
    let exact = (1...count).filter { count % $0 == 0 }.max { side($0) < side($1) }!
    let c = side(exact) >= 0.9 * side(best) ? exact : best
    return ((count + c - 1) / c, c)
  }

  /// The gap between tiles.
  static func tileGap(_ theme: Theme) -> Double { theme.gap * 0.2 }

  /// Where `view` is drawn inside `rect`, centred: one matrix as large as fits with its cells
  /// between half and two and a half times as wide as tall (a heat map, not an image), or the
  /// grid of square-celled tiles as large as fits.
  static func weightsBlock(_ view: WeightView, in rect: Rect, theme: Theme) -> Rect {
    guard let first = view.tiles.first, rect.width > 0, rect.height > 0 else { return rect }
    let aspect = Double(first.columns) / Double(first.rows)
    if view.tiles.count == 1 { return rect.fitted(aspect: min(max(rect.width / rect.height, aspect * 0.5), aspect * 2.5)) }
    let gap = tileGap(theme)
    let (r, c) = view.grid ?? tileGrid(count: view.tiles.count, aspect: aspect, in: rect, gap: gap)
    let tileHeight = max(0, min((rect.width - gap * Double(c - 1)) / Double(c) / aspect, (rect.height - gap * Double(r - 1)) / Double(r)))
    let width = tileHeight * aspect * Double(c) + gap * Double(c - 1), height = tileHeight * Double(r) + gap * Double(r - 1)
    return Rect(x: rect.midX - width / 2, y: rect.midY - height / 2, width: width, height: height)
  }

  /// Draws `view` of the flat tensor `values` through the diverging colormap on `scale` filling
  /// `block` (from `weightsBlock`): a single matrix with its numbers when they fit, tiles without.
  static func drawWeights(_ view: WeightView, _ values: [Double], scale: ColorScale, block: Rect, on canvas: any Canvas, theme: Theme) {
    guard let first = view.tiles.first, block.width > 0, block.height > 0 else { return }
    if view.tiles.count == 1 {
      Heatmap(values: first.indices.map { values[$0] }, rows: first.rows, columns: first.columns, colormap: .diverging, scale: scale, numbers: 2)
        .draw(on: canvas, in: block, theme: theme)
      return
    }
    let gap = tileGap(theme), aspect = Double(first.columns) / Double(first.rows)
    let (r, c) = view.grid ?? tileGrid(count: view.tiles.count, aspect: aspect, in: block, gap: gap)
    let tileWidth = (block.width - gap * Double(c - 1)) / Double(c), tileHeight = (block.height - gap * Double(r - 1)) / Double(r)
    for (i, tile) in view.tiles.enumerated() {
      let cell = Rect(x: block.x + Double(i % c) * (tileWidth + gap), y: block.y + Double(i / c) * (tileHeight + gap), width: tileWidth, height: tileHeight)
      Heatmap(values: tile.indices.map { values[$0] }, rows: tile.rows, columns: tile.columns, colormap: .diverging, scale: scale, numbers: nil,
              cellLines: tile.rows <= 5 && tileHeight / Double(tile.rows) >= theme.tickSize * 0.5)
        .draw(on: canvas, in: cell, theme: theme)
    }
  }

  /// Draws `view` of `values` with its colour bar, centred in `rect`: the bar beside the map
  /// (in a strip `barWidth` wide, the same for panels side by side, so their maps line up; the
  /// top and bottom half-lines of `rect` are left for its end labels), or, when the map is
  /// limited by the width and would be larger so, a one-line bar under it.
  @discardableResult
  static func drawWeightPanel(_ view: WeightView, _ values: [Double], scale: ColorScale, bar: ColorBar, barWidth: Double, in rect: Rect, on canvas: any Canvas, theme: Theme) -> Rect {
    let th = canvas.measure("Ag", style: theme.tick).height
    let gap = theme.gap * 0.3
    let area = rect.inset(top: th / 2, bottom: th / 2)
    let fitted = weightsBlock(view, in: area.inset(right: barWidth + gap), theme: theme)
    let below = weightsBlock(view, in: rect.inset(bottom: th + gap), theme: theme)
    if below.width * below.height > fitted.width * fitted.height * 1.15 && bar.inlineWidth(on: canvas, theme: theme) <= rect.width {
      let block = Rect(x: below.x, y: rect.y + (rect.height - below.height - th - gap) / 2, width: below.width, height: below.height)
      drawWeights(view, values, scale: scale, block: block, on: canvas, theme: theme)
      let width = bar.inlineWidth(on: canvas, theme: theme)
      bar.drawInline(on: canvas, at: Point(block.midX - width / 2, block.maxY + gap + th / 2), theme: theme)
      return block
    }
    // Centre map and bar together.
    let shift = min(area.maxX - (fitted.maxX + gap + barWidth), (barWidth + gap) / 2)
    let block = Rect(x: fitted.x + max(0, shift), y: fitted.y, width: fitted.width, height: fitted.height)
    drawWeights(view, values, scale: scale, block: block, on: canvas, theme: theme)
    drawBar(bar, beside: block, in: Rect(x: block.maxX + gap, y: area.y, width: barWidth, height: area.height), on: canvas, theme: theme)
    return block
  }

  /// A colour bar beside a block drawn at `block`, its bar as tall as the block (at least three
  /// lines, so its end labels never meet), in the strip `strip`.
  static func drawBar(_ bar: ColorBar, beside block: Rect, in strip: Rect, on canvas: any Canvas, theme: Theme) {
    let th = canvas.measure("Ag", style: theme.tick).height
    let height = max(block.height, th * 3)
    // The bar's own title line sits above the bar: start that much higher.
    let top = block.midY - height / 2 - th * 1.6
    bar.draw(on: canvas, in: Rect(x: strip.x, y: top, width: strip.width, height: height + th * 1.6), theme: theme)
  }

  // MARK: The first step: W, ∂L/∂W, ΔW

  /// One layer's weights in the traced first step.
  struct StepTensors {
    /// The layer's name.
    var layer: String
    /// The matrix's symbol: W, or E, Wq, Wk, Wv, Wo.
    var symbol = "W"
    /// W before the step, dW = ∂L/∂W, and ΔW = W′ − W (the optimizer's update).
    var w: Tensor, dw: Tensor, delta: Tensor
    /// How they are drawn.
    var view: WeightView
    /// The name of each row of the view where the lesson names them (its classes for the output
    /// layer's units, its features for the first layer's inputs); empty otherwise.
    var rowNames: [String] = []

    /// True when ΔW is ±η wherever it is not 0 (Adam's first step: −η·sign(dW)): a sign
    /// pattern, drawn in a narrower panel beside the gradient, which is what varies.
    var signOnly: Bool {
      let sizes = delta.data.map(abs).filter { $0 > 0 }
      guard let lo = sizes.min(), let hi = sizes.max() else { return false }
      return hi <= lo * 1.01
    }
  }

  /// The note under the ΔW panel: the update rule of `optimizer` at its first step (t = 1), in
  /// pieces a line may break between. Adam's first step saturates: m = (1 − β₁)·g and
  /// s = (1 − β₂)·g², so m̂ = g and ŝ = g², and ΔW = −η·g/(|g| + ε) = −η·sign(g) wherever
  /// |g| ≫ ε (g = dW, plus λ·W with weight decay). Momentum's first equals SGD's (v starts at 0).
  static func firstUpdateNote(_ optimizer: any Optimizer) -> [String] {
    let g = optimizer.weightDecay == 0 ? "dW" : "g"
    let decay = optimizer.weightDecay == 0 ? [] : ["(g = dW + λ·W)"]
    let eta = NumberFormat.shortest(optimizer.learningRate)
    if optimizer is Adam {
      return ["Adam's first step has m̂ = \(g) and v̂ = \(g)²,", "so ΔW = −η·m̂/(√v̂ + ε) = −η·sign(\(g)):", "±\(eta) for every weight with \(g) ≠ 0."] + decay
    }
    guard let sgd = optimizer as? SGD else { return [] }
    if sgd.momentum == 0 { return ["SGD's step is ΔW = −η·\(g),", "with η = \(eta)."] + decay }
    let mu = NumberFormat.shortest(sgd.momentum)
    if sgd.nesterov { return ["Nesterov's first step has v = \(g) (v starts at 0),", "so ΔW = −η·(1 + μ)·\(g),", "with η = \(eta) and μ = \(mu)."] + decay }
    return ["momentum's first step has v = \(g) (v starts at 0),", "so ΔW = −η·\(g) as in SGD,", "with η = \(eta)."] + decay
  }

  /// The first training step of the lesson, traced by the engine: each weight tensor before the
  /// step, its gradient, and the update the optimizer applied. The step is the one the source's
  /// run traced as it trained (`Catalogue.prepare`); a run that did not (restored from a saved
  /// model, or not prepared) has step 1 replayed alone from the seed, which trains nothing else.
  /// One page when
  /// every matrix is small enough to write out; else a page per layer (`gradients-step-conv1`),
  /// as with `--layer`.
  static func firstStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    let run = try source.requireRun(.gradients)
    let layers = try weightLayers(source, options)
    let optimizer = run.lesson.optimizer.make()  // as it stood before step 1, for the labels
    let point: TracePoint
    if let recorded = source.recording.firstStep, recorded.location != nil {
      point = recorded
    } else {
      point = TracePoint(step: 1, tracer: Tracer())
      try replayFirstStep(run, point)
    }
    let tracer = point.tracer!
    var shown: [StepTensors] = []
    for layer in layers {
      let name = layer.name
      for symbol in weightNames(layer) {
        guard let w = tracer.entry("\(name).forward.\(symbol)")?.value, let dw = tracer.entry("\(name).backward.d\(symbol)")?.value else { continue }
        let updated = tracer.entry("\(name).update.\(symbol)")?.value ?? w
        var delta = updated
        for i in 0..<delta.count { delta.data[i] = updated.data[i] - w.data[i] }
        var view = weightView(layer, shape: w.shape, in: source.model)
        if symbol == "E" {
          // E's rows are the tokens, its columns each token's d numbers.
          let vocabulary = run.split.train.vocabulary
          let tokens = w.shape[0] <= 12 && !vocabulary.isEmpty ? " (\(vocabulary.prefix(w.shape[0]).map(Sequences.shown).joined(separator: " ")))" : ""
          view.description = view.whole ? "rows: token ids 0–\(w.shape[0] - 1)\(tokens), columns: each token's \(w.shape[1]) numbers"
            : view.description.replacingOccurrences(of: "rows: units", with: "rows: token ids").replacingOccurrences(of: "columns: inputs", with: "columns: numbers")
        }
        if let attention = layer as? SelfAttention, let dk = attention.headSize, view.whole {
          // Head h owns dₖ consecutive rows of Wq, Wk, Wv and dₖ consecutive columns of Wo.
          let blocks = (0..<attention.heads).map { "head \($0 + 1): \($0 * dk + 1)–\(($0 + 1) * dk)" }.joined(separator: ", ")
          view.description = symbol == "Wo" ? "rows: outputs, columns: H's columns (\(blocks))"
            : "rows: \(symbol.dropFirst())'s columns (\(blocks)), columns: the token's \(w.shape[1]) inputs"
        }
        // Rows named by class (the output layer's units) or by feature (the first layer's inputs, Wᵀ).
        let data = run.split.train
        let isLast = source.model.layers.last { !weightNames($0).isEmpty } === layer
        let units = isLast && symbol == "W" && data.classNames.count == w.shape[0] && !data.isTokens ? data.classNames : []
        let inputs = source.model.layers.first === layer && symbol == "W" && data.featureNames.count == w.count / w.shape[0] ? data.featureNames : []
        var rowNames: [String] = []
        if view.tiles.count == 1 {
          rowNames = view.transposed ? inputs : units
        } else if let grid = view.grid, !units.isEmpty {
          rowNames = Array(units.prefix(grid.rows))
        }
        if !rowNames.isEmpty, let at = view.description.range(of: view.transposed ? "rows: inputs" : "rows: units") {
          // "rows: units 1–10" → "rows: classes 0–9", as the rows are named.
          let end = view.description[at.upperBound...].firstIndex { $0 == ";" || $0 == "," } ?? view.description.endIndex
          view.description.replaceSubrange(at.lowerBound..<end, with: "rows: \(view.transposed ? "features" : "classes") \(rowNames.first!)–\(rowNames.last!)")
        }
        shown.append(StepTensors(layer: name, symbol: symbol, w: w, dw: dw, delta: delta, view: view, rowNames: rowNames))
      }
    }
    let samples = point.location?.indices.count ?? 0
    let loss = point.loss.map { NumberFormat.significant($0, 4) } ?? "?"
    let rate = "η = \(NumberFormat.shortest(optimizer.learningRate))"
    let name = optimizer is Adam ? "Adam" : (optimizer as? SGD).map { $0.momentum == 0 ? "SGD" : "SGD with momentum \(NumberFormat.shortest($0.momentum))" } ?? optimizer.kind
    let more = source.model.layers.filter { !weightNames($0).isEmpty }.count - layers.count
    let moreNote = more > 0 && options.layer == nil ? "; \(more) more layer\(more == 1 ? "" : "s"): choose with --layer" : ""
    let batch = "Batch of \(samples) sample\(samples == 1 ? "" : "s"), L = \(loss), \(name), \(rate)"
    let scaleNote = "each panel on its own colour scale, ± its largest |value|"
    let initial = "W as initialised (seed \(run.seed))"
    let note = ["ΔW:"] + firstUpdateNote(optimizer)
    let tiny = shown.allSatisfy { $0.symbol == "W" && $0.view.whole && $0.w.shape[0] <= combinedMatrix && $0.w.count / $0.w.shape[0] <= combinedMatrix }
    if options.layer == nil && tiny {
      let lines = ["\(batch); \(initial)\(moreNote)", "Rows: units, columns: inputs; \(scaleNote)"]
      return [stepPage(name: "gradients-step", title: "Weights, gradients and updates: \(source.name), first training step",
                       lines: lines, shown, headers: true, note: note, theme: options.theme)]
    }
    return shown.map { s in
      let single = weightNames(source.model.layer(named: s.layer)!).count == 1
      let lines = ["\(batch); \(initial.replacingOccurrences(of: "W as", with: "\(s.symbol) as"))\(moreNote)", "\(s.symbol) \(shapeText(s.w.shape)): \(s.view.description)",
                   scaleNote.prefix(1).uppercased() + scaleNote.dropFirst()]
      let title = s.symbol == "W" ? "Weights, gradients and updates of \(s.layer): \(source.name), first training step"
        : "\(single ? s.layer : "\(s.layer)'s \(s.symbol)") in the first training step: \(source.name)"
      return stepPage(name: single ? "gradients-step-\(s.layer)" : "gradients-step-\(s.layer)-\(s.symbol)", title: title,
                      lines: lines, [s], headers: false, note: s.symbol == "W" ? note : note.map { $0.replacingOccurrences(of: "W", with: s.symbol) }, theme: options.theme)
    }
  }

  /// A page of W, ∂L/∂W and ΔW panels, a row per layer (headed by its name when `headers`), with
  /// `note` (pieces of text a line may break between) under the panels, about ΔW.
  static func stepPage(name: String, title: String, lines: [String], _ rows: [StepTensors], headers: Bool, note: [String], theme: Theme) -> Figure {
    Figure(name: name, size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: title, lines: lines)
      let lineHeight = canvas.measure("Ag", style: theme.note).height + theme.clearance
      let columnWidth = (body.width - 2 * theme.gap) / 3
      let noteLines = wrapped(note, width: body.width, style: theme.note, on: canvas)
      let noteHeight = Double(noteLines.count) * lineHeight
      let (noteStrip, panelsRect) = body.splitBottom(noteHeight, gap: noteHeight > 0 ? theme.gap * 0.3 : 0)
      // Rows share the height by what their maps need at the panels' width (square cells), so a
      // tall 16×4 matrix gets more than a flat 3×16 one; each at least a title and a short bar.
      let th = canvas.measure("Ag", style: theme.tick).height, lh = canvas.measure("Ag", style: theme.label).height
      let mapWidth = columnWidth * 0.6
      let least = rows.map { _ in lh + th * 5 }
      let needs = zip(rows, least).map { row, least -> Double in
        let tile = row.view.tiles[0]
        return max(least, lh + th * 2 + mapWidth * min(Double(tile.rows) / Double(tile.columns), 2))
      }
      let free = panelsRect.height - theme.gap * 0.5 * Double(rows.count - 1)
      let extra = needs.reduce(0, +) - least.reduce(0, +)
      let heights = needs.reduce(0, +) <= free ? needs.map { $0 * free / needs.reduce(0, +) }
        : zip(least, needs).map { $0 + max(0, free - least.reduce(0, +)) * (extra > 0 ? ($1 - $0) / extra : 1 / Double(rows.count)) }
      for (row, rect) in zip(rows, panelsRect.rows(rows.count, gap: theme.gap * 0.5, weights: heights)) {
        var rest = rect
        // A gutter for the rows' names, written beside the first panel's rows.
        let nameWidth = row.rowNames.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
        let nameGutter = row.rowNames.isEmpty ? 0 : nameWidth + theme.gap * 0.3
        func writeNames(beside block: Rect) {
          guard !row.rowNames.isEmpty else { return }
          let (r, _) = row.view.grid ?? (row.view.tiles[0].rows, 1)
          let gap = row.view.tiles.count > 1 ? tileGap(theme) : 0
          let height = (block.height - gap * Double(r - 1)) / Double(r)
          let style = canvas.fitting(row.rowNames.max { $0.count < $1.count } ?? "", width: nameWidth, theme.tick, minimum: theme.minimumSize)
          // Only where the rows are tall enough to keep their names apart (a narrow ΔW strip
          // shares the rows named above it).
          guard height >= canvas.measure("Ag", style: style).height + theme.clearance else { return }
          for (k, name) in row.rowNames.prefix(r).enumerated() {
            canvas.text(name, Point(block.x - theme.gap * 0.3, block.y + Double(k) * (height + gap) + height / 2), style, anchor: .right)
          }
        }
        // ΔW as a sign pattern (Adam's first step) gets a narrower panel: the gradient beside it is what varies.
        let shares = row.signOnly ? [1, 1, 0.65] : [1.0, 1, 1]
        if headers {
          // The layer's name reads upwards beside its row.
          var vertical = theme.label.emphasized
          vertical.vertical = true
          let (strip, right) = rect.splitLeft(canvas.measure("Ag", style: vertical).height, gap: theme.gap * 0.5)
          canvas.text(row.layer, Point(strip.x, strip.midY), canvas.fitting(row.layer, width: strip.height, vertical, minimum: theme.minimumSize), anchor: Anchor(x: 0.5, y: 0))
          rest = right
        }
        let size = headers ? " (\(shapeText(row.w.shape)))" : row.view.transposed ? "ᵀ" : ""
        let w = row.symbol
        // A longer symbol (Wq) drops the last words of the update's title, which print could not fit.
        let update = row.signOnly ? "Δ\(w) = −η·sign(d\(w))" : w == "W" || w == "E" ? "Δ\(w) = \(w)′ − \(w), the update" : "Δ\(w) = \(w)′ − \(w)"
        let panels = [(w + size + ", before", row.w), ("∂L/∂\(w), the gradient", row.dw), (update, row.delta)]
        let bars = panels.map { ColorBar(colormap: .diverging, scale: ColorScale.symmetric($0.1.data), title: "") }
        let tile = row.view.tiles[0]
        if rows.count == 1 && row.view.tiles.count == 1 && tile.columns >= 3 * tile.rows {
          // A wide matrix: the three panels one above the other, each with a line under its map
          // holding its title (left) and a one-line colour bar (right).
          let th = canvas.measure("Ag", style: theme.tick).height
          for ((panelTitle, tensor), (strip, bar)) in zip(panels, zip(rest.rows(3, gap: theme.gap * 0.4, weights: shares.map { $0 == 1 ? 1 : 0.5 }), bars)) {
            let (caption, area) = strip.splitBottom(th, gap: theme.gap * 0.25)
            let block = weightsBlock(row.view, in: area.inset(left: nameGutter), theme: theme)
            writeNames(beside: block)
            drawWeights(row.view, tensor.data, scale: bar.scale, block: block, on: canvas, theme: theme)
            canvas.text(panelTitle, Point(block.x, caption.midY), theme.label.emphasized, anchor: .left)
            bar.drawInline(on: canvas, at: Point(block.maxX - bar.inlineWidth(on: canvas, theme: theme), caption.midY), theme: theme)
          }
          continue
        }
        let cells = rest.inset(left: nameGutter).columns(3, gap: theme.gap, weights: shares)
        let barWidth = bars.map { $0.width(on: canvas, theme: theme, height: rest.height) }.max() ?? 0
        for (i, (panelTitle, tensor)) in panels.enumerated() {
          var content = canvas.titled(cells[i], panelTitle, theme, bold: true)
          // Tiles fill the height whatever the width: a sign pattern's are kept smaller.
          if i == 2 && row.signOnly && row.view.tiles.count > 1 { content = content.inset(top: content.height * 0.18, bottom: content.height * 0.18) }
          let block = drawWeightPanel(row.view, tensor.data, scale: bars[i].scale, bar: bars[i], barWidth: barWidth, in: content, on: canvas, theme: theme)
          if i == 0 { writeNames(beside: block) }
        }
      }
      // Under a narrower ΔW panel (a sign pattern) the note is set right, so it stands under it.
      let right = rows.contains { $0.signOnly }
      for (j, line) in noteLines.enumerated() {
        canvas.text(line, Point(right ? noteStrip.maxX : noteStrip.x, noteStrip.y + Double(j) * lineHeight), theme.note, anchor: right ? .topRight : .topLeft)
      }
    }
  }

  // MARK: Gradient norms over training

  /// Each layer's gradient norm per epoch as History records it, on a log scale, a line per
  /// layer with trainable parameters, labelled at its end. The engine records the mean over the
  /// epoch's steps of ‖∂L/∂θ‖₂ over the layer's trainable parameters.
  static func gradientNorms(_ source: FigureSource, _ history: History, _ theme: Theme) -> Figure {
    let epochs = history.epochs
    let layers = source.model.layers.filter { layer in
      layer.parameters.contains(where: \.trainable) && epochs.contains { ($0.gradientNorms[layer.name] ?? 0) > 0 }
    }.map(\.name)
    let values = epochs.flatMap { e in layers.compactMap { e.gradientNorms[$0] } }.filter { $0 > 0 && $0.isFinite }
    let lo = values.min() ?? 1e-3, hi = values.max() ?? 1
    let series = layers.enumerated().map { k, layer in
      (label: layer, color: ClassColors.color(k), points: epochs.map { (x: Double($0.epoch), y: $0.gradientNorms[layer] ?? .nan) })
    }
    return Figure(name: "gradients-norms", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "Gradient norms per layer: \(source.name)",
                           lines: ["Mean ‖∂L/∂θ‖₂ over each epoch's steps, per layer, trainable parameters only (log scale)"])
      let x = epochs.count == 1 ? (0.0, 2.0) : (Double(epochs.first!.epoch), Double(epochs.last!.epoch))
      let decades = Ticks.decades(lo, hi)
      var plot = Plot(x: x, y: (decades.first!, decades.last!), xTitle: "epoch", yTitle: "‖∂L/∂θ‖₂", series: [], logY: true)
      plot.wholeX = true
      for s in series {
        plot.series.append(.init(points: s.points, color: s.color, label: s.label))
        if epochs.count <= 30 { plot.series.append(.init(points: s.points, color: s.color, label: "", marker: theme.lineWidth * 1.3)) }
      }
      plot.xStep = wholeStep(span: x.1 - x.0, width: body.width * 0.8, theme: theme)
      drawLabelledPlot(plot, labels: series.map { ($0.label, $0.color, $0.points.last { $0.y.isFinite && $0.y > 0 }) }, in: body, on: canvas, theme: theme)
    }
  }

  // MARK: Helpers shared with filters and optimizers

  /// A trainer for the run's lesson as a fresh run would start it: the network with the initial
  /// weights the run's seed gives, a new optimizer (or `optimizer`), and the seed's shuffle
  /// stream, so its batches are the run's. Cheaper than a new `LessonRun` (the data is the run's,
  /// already split and scaled: the same numbers a fresh run would load).
  static func freshTrainer(_ run: LessonRun, optimizer: (any Optimizer)? = nil) throws(SheetNetError) -> Trainer {
    var streams = Lesson.Streams(seed: run.seed)
    let model = try run.lesson.makeModel(inputShape: run.model.inputShape, vocabulary: run.vocabularySize, rng: &streams.initial)
    return Trainer(model: model, loss: run.loss, optimizer: optimizer ?? run.lesson.optimizer.make(), epochs: run.lesson.epochs,
                   batchSize: run.lesson.batchSize, rng: streams.shuffle)
  }

  /// `Canvas.page` with several subtitle lines: fills the page, writes the title and each line
  /// (shrunk to fit the width, not below the theme's minimum) and returns the rest of the page.
  static func notedPage(_ canvas: any Canvas, _ theme: Theme, title: String, lines: [String]) -> Rect {
    canvas.fill(Rect(theme.size), Theme.paper)
    let body = Rect(theme.size).inset(theme.margin)
    let titleStyle = canvas.fitting(title, width: body.width, theme.title, minimum: theme.labelSize)
    var (top, rest) = body.splitTop(canvas.measure("Ag", style: titleStyle).height, gap: theme.gap * 0.25)
    canvas.text(title, Point(top.x, top.y), titleStyle, anchor: .topLeft)
    let lines = lines.filter { !$0.isEmpty }
    guard !lines.isEmpty else { return rest.inset(top: theme.gap * 0.5) }
    for (i, line) in lines.enumerated() {
      let style = canvas.fitting(line, width: body.width, theme.note, minimum: theme.minimumSize)
      let (strip, below) = rest.splitTop(canvas.measure("Ag", style: style).height, gap: i == lines.count - 1 ? theme.gap * 0.75 : theme.clearance)
      canvas.text(line, Point(strip.x, strip.y), style, anchor: .topLeft)
      rest = below
    }
    return rest
  }

  /// A whole tick step (1, 2 or 5 × 10ᵏ) giving at most one tick per six tick-heights of `width`
  /// over a span of `span`: epochs and steps are counted, never 2.5.
  static func wholeStep(span: Double, width: Double, theme: Theme) -> Double {
    let most = max(2, Int(width / (theme.tickSize * 6)))
    var power = 1.0
    while true {
      for m in [1.0, 2, 5] where span / (m * power) <= Double(most) { return m * power }
      power *= 10
    }
  }

  /// `pieces` joined with spaces into as few lines as fit `width` in `style` (a piece is never
  /// broken; one wider than `width` gets a line of its own).
  static func wrapped(_ pieces: [String], width: Double, style: TextStyle, on canvas: any Canvas) -> [String] {
    var lines: [String] = []
    for piece in pieces {
      if let last = lines.last, canvas.measure(last + " " + piece, style: style).width <= width {
        lines[lines.count - 1] = last + " " + piece
      } else {
        lines.append(piece)
      }
    }
    return lines
  }

  /// Draws `plot` in `rect` with each line labelled at its right end instead of a legend: the
  /// label (ink; "\n" starts a second line) beside the plot, joined to the line's last point by a
  /// short leader in the line's colour, labels nudged apart so none overlap. Returns the plot's
  /// data area.
  @discardableResult
  static func drawLabelledPlot(_ plot: Plot, labels: [(text: String, color: Color, end: (x: Double, y: Double)?)], in rect: Rect, on canvas: any Canvas, theme: Theme) -> Rect {
    let style = theme.tick
    let leader = theme.tickSize * 1.2
    let lines = labels.map { $0.text.split(separator: "\n").map(String.init) }
    let width = lines.flatMap { $0 }.map { canvas.measure($0, style: style).width }.max() ?? 0
    let (_, plotRect) = rect.splitRight(width + leader, gap: 0)
    let area = plot.draw(on: canvas, in: plotRect, theme: theme)
    // A twentieth of the clearance more, so rounding in top + j·height never leaves two lines
    // of a label a hair under the clearance apart.
    let height = canvas.measure("Ag", style: style).height + theme.clearance * 1.05
    let tallest = Double(lines.map(\.count).max() ?? 1) * height
    let placed = labels.enumerated().compactMap { k, label in label.end.map { (k, plot.map($0.x, $0.y, area).y) } }
    let ys = spread(placed.map(\.1), apart: tallest + theme.clearance, within: (area.y + tallest / 2, area.maxY - tallest / 2))
    for ((k, lineY), y) in zip(placed, ys) {
      canvas.line(Point(area.maxX, lineY), Point(area.maxX + leader * 0.8, y), labels[k].color, width: theme.lineWidth * 0.6)
      let top = y - Double(lines[k].count) * height / 2
      for (j, line) in lines[k].enumerated() {
        canvas.text(line, Point(area.maxX + leader, top + Double(j) * height), j == 0 ? style : theme.note, anchor: .topLeft)
      }
    }
    return area
  }

  /// Positions as close to `wanted` as possible with neighbours at least `apart`, inside `within`
  /// (when they fit): sorted, pushed down from the top, then up from the bottom. Returned in the
  /// order of `wanted`.
  static func spread(_ wanted: [Double], apart: Double, within bounds: (lower: Double, upper: Double)) -> [Double] {
    let order = wanted.indices.sorted { wanted[$0] < wanted[$1] || (wanted[$0] == wanted[$1] && $0 < $1) }
    var ys = order.map { min(max(wanted[$0], bounds.lower), bounds.upper) }
    for i in ys.indices.dropFirst() { ys[i] = max(ys[i], ys[i - 1] + apart) }
    if let last = ys.indices.last, ys[last] > bounds.upper {
      ys[last] = bounds.upper
      for i in ys.indices.reversed().dropFirst() { ys[i] = min(ys[i], ys[i + 1] - apart) }
    }
    var result = wanted
    for (i, k) in order.enumerated() { result[k] = ys[i] }
    return result
  }
}
