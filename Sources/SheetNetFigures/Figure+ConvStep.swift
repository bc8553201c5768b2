import Foundation
import SheetNet

/// `conv-step`: how one output of a convolution is made, as CNN Explainer shows it, with the
/// engine's own numbers (the trace's `explain` of that output cell):
///
///     input window x ⊙ kernel W → products → Σ per channel (partial sums S_c) → + b → z
///
/// The top row shows the input channel with the window outlined, the window and the kernel
/// zoomed in, their products and the output map z with the cell being made. For several input
/// channels the partial sums S_c = Σ_u Σ_v x[c]·W[c] of every channel follow. A signed
/// "contribution bar" lays the terms (products for one channel, partial sums for several, and b)
/// end to end: positive terms rightwards from 0, then negative terms leftwards, ending at z.
///
/// Where: `--at ROW,COL` (1-based), or by default the output with the largest |z| among those
/// whose window centre lies on ink (a non-zero input value in some channel; ties → the first in
/// row-major order). `--positions N` draws N pages: that position and the next ones in row-major
/// order, so the window is seen sliding.
///
/// One rounding rule for every written term and sum (`ConvTerms`): products, partial sums, b and z
/// are written with the same d decimals (d = 2, or more for small values), each its exact value
/// rounded to the nearest (half away from zero): a product is never nudged to make a sum come
/// out. Where the rounded terms do not add up to the rounded z, the difference is written as one
/// more term, "rounding", in the sum and drawn in grey on the bar. x and W are written to 2
/// decimals; the products are those of the unrounded values. Every text is at least the theme's
/// smallest size (16 pt on a slide), numbers in cells too.
extension Figure {
  static func checkConvStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.convStep)
    let conv = try pickConv(source, options)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    guard options.filter >= 1 && options.filter <= conv.filters else {
      throw .option("--filter \(options.filter) is beyond \(conv.name)'s filters; choose 1 to \(conv.filters)")
    }
    let g = conv.window!
    if let at = options.at {
      guard at.row >= 1 && at.row <= g.outH && at.column >= 1 && at.column <= g.outW else {
        let range = g.outH == g.outW ? "rows and columns run from 1 to \(g.outH)" : "rows run from 1 to \(g.outH) and columns from 1 to \(g.outW)"
        throw .option("--at \(at.row),\(at.column) is outside \(conv.name)'s \(g.outH)×\(g.outW) output; \(range)")
      }
    }
    let forward = try convForward(source, conv, data: data, sample: sample)
    let start = convStart(options, forward, filter: options.filter - 1)
    let available = g.positions - start
    guard options.positions >= 1 && options.positions <= available else {
      throw .option("--positions \(options.positions) is beyond the \(available) output\(available == 1 ? "" : "s") of \(conv.name) from (\(start / g.outW + 1), \(start % g.outW + 1)) to its last, row by row; choose 1 to \(available)")
    }
  }

  /// The conv layer `--layer` names, or the first.
  static func pickConv(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Conv2D {
    let convs = source.model.layers.filter { $0 is Conv2D }
    guard !convs.isEmpty else {
      throw .notApplicable("conv-step follows a convolution window, but \(source.lesson.path) has no conv2d layer; \(suggestion([.graph, .gradients, .architecture], for: source))")
    }
    return try pick(options.layer, in: source.model, among: convs, what: "conv2d layers") as! Conv2D
  }

  /// One sample forwarded (evaluation mode, traced) up to `conv`: the layer's input x
  /// [1, C, H, W], its output z [1, F, outH, outW] and the trace's arithmetic of each z.
  struct ConvForward {
    /// The conv layer.
    let conv: Conv2D
    /// Its input for the sample, [1, C, H, W].
    let x: Tensor
    /// Its output z, [1, F, outH, outW].
    let z: Tensor
    /// The engine's arithmetic of z at a flat index (filter·positions + position).
    let explain: @Sendable (Int) -> Arithmetic
  }

  /// Forwards sample `sample` of `data` through the layers up to `conv` with a tracer attached.
  static func convForward(_ source: FigureSource, _ conv: Conv2D, data: Dataset, sample: Int) throws(FigureError) -> ConvForward {
    let tracer = Tracer()
    let step = Step(training: false, tracer: tracer)
    var a = data.x.gathering(rows: [sample])
    var input = a
    for layer in source.model.layers {
      if layer === conv { input = a }
      a = layer.forward(a, step)
      if layer === conv { break }
    }
    guard let entry = tracer.entry("\(conv.name).forward.z"), let explain = entry.explain else {
      throw .lesson("the trace of \(conv.name) has no arithmetic for z; the engine's conv layer must record it")
    }
    let g = conv.window!
    return ConvForward(conv: conv, x: input.reshaped([1, g.channels, g.height, g.width]), z: entry.value, explain: explain)
  }

  /// The first position (row-major index into the output map) of the series: `--at`, or the
  /// largest |z| of filter `f` whose window centre lies on ink.
  static func convStart(_ options: FigureOptions, _ forward: ConvForward, filter f: Int) -> Int {
    let g = forward.conv.window!
    if let at = options.at { return (at.row - 1) * g.outW + (at.column - 1) }
    return strokePosition(x: forward.x.data, z: Array(forward.z.data[f * g.positions..<(f + 1) * g.positions]), g)
  }

  /// The output position with the largest |z| among those whose window centre (input row
  /// i·s_h + ⌊(k_h − 1)/2⌋ − padTop, column likewise) holds a non-zero value in some input
  /// channel: "on the strokes" of a digit. Ties go to the first in row-major order; with no ink
  /// under any centre, the largest |z| anywhere. `x` is [C, H, W], `z` one filter's [outH, outW].
  static func strokePosition(x: [Double], z: [Double], _ g: Kernels.Window) -> Int {
    func onInk(_ p: Int) -> Bool {
      let y = (p / g.outW) * g.strideH + (g.kernelH - 1) / 2 - g.padTop
      let x0 = (p % g.outW) * g.strideW + (g.kernelW - 1) / 2 - g.padLeft
      guard y >= 0 && y < g.height && x0 >= 0 && x0 < g.width else { return false }
      return (0..<g.channels).contains { x[($0 * g.height + y) * g.width + x0] != 0 }
    }
    let candidates = (0..<g.positions).filter(onInk)
    var best = (candidates.isEmpty ? Array(0..<g.positions) : candidates)[0]
    for p in candidates.isEmpty ? Array(0..<g.positions) : candidates where abs(z[p]) > abs(z[best]) { best = p }
    return best
  }

  // MARK: The written numbers

  /// Every number a page writes for one output, in units of 10^−decimals so that sums of
  /// written numbers are exact: z, b, each partial sum S_c and each product x·W, each its exact
  /// value rounded to the nearest unit (half away from zero).
  struct ConvTerms: Equatable {
    /// Decimals of every written term and sum.
    let decimals: Int
    /// z, rounded.
    let z: Int
    /// b, rounded; nil without a bias.
    let bias: Int?
    /// S_c for each input channel, rounded.
    let partials: [Int]
    /// x·W for each channel and window cell (u, v), row-major, rounded.
    let products: [[Int]]

    /// The terms the sum line and the bar add up to z: the products of the one channel, or the
    /// partial sums of several (the bias after them).
    var sumTerms: [Int] { partials.count == 1 ? products[0] : partials }

    /// What rounding leaves between the written terms (and b) and the written z:
    /// z − (Σ sumTerms + b), in units; a unit or two at most, 0 when they add up.
    var remainder: Int { z - sumTerms.reduce(0, +) - (bias ?? 0) }


    /// The written form of a number of units: "0" for zero, else exactly `decimals` decimals.
    func text(_ units: Int) -> String {
      units == 0 ? "0" : NumberFormat.fixed(Double(units) / pow(10.0, Double(decimals)), digits: decimals)
    }

    /// The terms rounded by the page's rule from the exact products [channel][cell], b and z.
    init(products exact: [[Double]], bias: Double?, z: Double) {
      let largest = (exact.flatMap { $0 } + exact.map { $0.reduce(0, +) } + [bias ?? 0, z]).map(abs).max() ?? 0
      // 2 decimals, one more for each decade below 0.1 (at most 4): the largest term keeps 2
      // significant digits.
      decimals = largest > 0 ? min(4, max(2, 1 - Int(floor(log10(largest))))) : 2
      let scale = pow(10.0, Double(decimals))
      func round(_ v: Double) -> Int { Int((v * scale).rounded(.toNearestOrAwayFromZero)) }
      self.z = round(z)
      self.bias = bias.map(round)
      partials = exact.map { round($0.reduce(0, +)) }
      products = exact.map { $0.map(round) }
    }
  }

  // MARK: Pages

  static func convSteps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    try checkConvStep(source, options)
    let run = try source.requireRun(.convStep)
    let conv = try pickConv(source, options)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let forward = try convForward(source, conv, data: data, sample: sample)
    let g = conv.window!, f = options.filter - 1
    let start = convStart(options, forward, filter: f)
    let label = data.labels.map { " (label \(className(data, $0[sample])))" } ?? ""
    let padBottom = max((g.outH - 1) * g.strideH + g.kernelH - g.height - g.padTop, 0)
    let padRight = max((g.outW - 1) * g.strideW + g.kernelW - g.width - g.padLeft, 0)
    let padding = conv.padding == .same
      ? (g.padTop == padBottom && g.padLeft == padRight && g.padTop == g.padLeft ? "same padding (\(g.padTop) ring of zeros)" : "same padding (zeros: \(g.padTop) above, \(padBottom) below, \(g.padLeft) left, \(padRight) right)")
      : "valid padding (none)"
    let stride = g.strideH == g.strideW ? "stride \(g.strideH)" : "stride \(g.strideH) down, \(g.strideW) across"
    let shortPadding = conv.padding == .same ? "same padding" : "valid padding"
    let outputs = Array(forward.z.data[f * g.positions..<(f + 1) * g.positions])
    let patch = g.kernelH * g.kernelW
    var figures: [Figure] = []
    for page in 0..<options.positions {
      let p = start + page
      let arithmetic = forward.explain(f * g.positions + p)
      // args: x, w pairs over (c, u, v), then b.
      let x = (0..<g.channels).map { c in (0..<patch).map { arithmetic.args[2 * (c * patch + $0)] } }
      let w = (0..<g.channels).map { c in (0..<patch).map { arithmetic.args[2 * (c * patch + $0) + 1] } }
      let products = zip(x, w).map { zip($0, $1).map { $0 * $1 } }
      let bias = conv.useBias ? arithmetic.args.last! : nil
      let terms = ConvTerms(products: products, bias: bias, z: arithmetic.result)
      // The channel shown in detail: the largest |S_c| (the first on ties).
      var detail = 0
      for c in terms.partials.indices where abs(terms.partials[c]) > abs(terms.partials[detail]) { detail = c }
      let (i, j) = (p / g.outW, p % g.outW)
      let series = options.positions == 1 ? "" : ", window \(page + 1) of \(options.positions)"
      let why = page > 0 ? "the window moved on row by row" : options.at == nil ? "(\(i + 1), \(j + 1)) has the largest |z| on ink" : "(\(i + 1), \(j + 1)) as asked"
      let kernel = "\(g.kernelH)×\(g.kernelW) kernel, \(stride)", sampleText = "\(split) sample \(sample + 1)\(label)"
      let detailText = g.channels > 1 ? ["; input channel \(detail + 1) of \(g.channels) in detail", "; channel \(detail + 1) in detail"] : ["", ""]
      // The longest of these that fits the page is the subtitle.
      let subtitles = [
        "\(kernel), \(padding); \(sampleText); \(why)\(detailText[0])",
        "\(kernel), \(shortPadding); \(sampleText); \(why)\(detailText[1])",
        "\(kernel), \(shortPadding); \(sampleText)\(detailText[1])",
      ]
      let model = ConvStepPage(
        name: options.positions == 1 ? "conv-step" : "conv-step-\(page + 1)",
        title: "Convolution: \(conv.name) filter \(f + 1) at output (\(i + 1), \(j + 1))\(series); \(state(source, options))",
        subtitles: subtitles,
        theme: options.theme, window: g, padBottom: padBottom, padRight: padRight, filter: f,
        plane: Array(forward.x.data[detail * g.height * g.width..<(detail + 1) * g.height * g.width]),
        detail: detail, i: i, j: j, x: x[detail], w: w[detail], terms: terms, outputs: outputs)
      figures.append(convStepPage(model))
    }
    return figures
  }

  /// What one page shows.
  struct ConvStepPage {
    let name: String, title: String
    /// Subtitles from the fullest to the shortest; the first that fits is written.
    let subtitles: [String]
    let theme: Theme
    /// The layer's window geometry and the padding below and right.
    let window: Kernels.Window, padBottom: Int, padRight: Int
    /// The filter (0-based).
    let filter: Int
    /// The input channel shown in detail, [H, W], and its index.
    let plane: [Double], detail: Int
    /// The output position (0-based).
    let i: Int, j: Int
    /// The window's inputs and the kernel's weights of the detail channel, row-major k_h × k_w.
    let x: [Double], w: [Double]
    /// Every written term.
    let terms: ConvTerms
    /// The filter's whole output map, [outH, outW].
    let outputs: [Double]
  }

  /// Text of "z₂,₃".
  static func zName(_ i: Int, _ j: Int) -> String { "z" + subscripted(i + 1) + "," + subscripted(j + 1) }

  /// One page: the top row (input, window ⊙ kernel = products, output), then the partial sums
  /// (several channels) and the contribution bar, which takes the height the top row leaves.
  static func convStepPage(_ m: ConvStepPage) -> Figure {
    let theme = m.theme, g = m.window
    return Figure(name: m.name, size: theme.size) { canvas in
      let width = theme.size.width - 2 * theme.margin
      let subtitle = m.subtitles.first { canvas.measure($0, style: theme.note.sized(theme.minimumSize)).width <= width } ?? m.subtitles.last!
      let body = canvas.page(theme.size, theme, title: m.title, subtitle: subtitle)
      let gap = theme.gap * 0.5
      let barMinimum = contributionHeight(canvas, theme, rowHeight: canvas.measure("Ag", style: theme.tick).height * 1.15)
      var top = body, barRect: Rect, partial: (layout: PartialLayout, rect: Rect)? = nil
      if g.channels > 1 {
        // The partial sums beside the bar or above it, whichever leaves the taller top row.
        let sideWidth = (body.width - theme.gap) * 0.5
        let stacked = partialSumsLayout(canvas, theme, width: body.width, count: g.channels, terms: m.terms)
        let beside = partialSumsLayout(canvas, theme, width: sideWidth, count: g.channels, terms: m.terms)
        let stackedRoom = body.height - stacked.height - barMinimum - 2 * gap
        let besideRoom = body.height - max(beside.height, barMinimum) - gap
        let height = convTopHeight(canvas, m, width: body.width, room: max(stackedRoom, besideRoom))
        if besideRoom >= stackedRoom {
          let band: Rect
          (top, band) = body.splitTop(height, gap: gap)
          let (left, right) = band.splitLeft(sideWidth, gap: theme.gap)
          partial = (beside.stretched(to: left.height), left)
          barRect = right
        } else {
          let band: Rect
          (top, band) = body.splitTop(height, gap: gap)
          let (partialRect, rest) = band.splitTop(stacked.height, gap: gap)
          partial = (stacked.stretched(to: partialRect.height), partialRect)
          barRect = rest
        }
      } else {
        (top, barRect) = body.splitTop(convTopHeight(canvas, m, width: body.width, room: body.height - barMinimum - gap), gap: gap)
      }
      drawConvTop(canvas, m, top)
      if let partial { drawPartialSums(canvas, m, partial.layout, partial.rect) }
      drawContributions(canvas, m, barRect)
    }
  }

  // MARK: Top row

  /// Where the top row's pieces go in a row `width` wide whose grids may be `gridRoom` tall.
  struct ConvTopGeometry {
    /// Widths of the input panel, of each of the three small grids, of an operator, of the output panel.
    let input: Double, side: Double, operatorWidth: Double, output: Double
    /// The tallest grid.
    let gridHeight: Double
  }

  /// The top row's geometry: the three small grids as wide as their numbers need at the smallest
  /// cell size (or 42 % of the row), the input and output panels sharing the rest in proportion to
  /// their columns; every grid at most `gridRoom` tall.
  static func convTopGeometry(_ canvas: any Canvas, _ m: ConvStepPage, width: Double, gridRoom: Double) -> ConvTopGeometry {
    let theme = m.theme, g = m.window, terms = m.terms
    let rowsShown = g.height + g.padTop + m.padBottom, columnsShown = g.width + g.padLeft + m.padRight
    let operatorWidth = canvas.measure("⊙", style: theme.title).width + theme.gap * 0.5
    let labels = terms.products[m.detail].map(terms.text) + (m.x + m.w).map(cellLabel)
    let widest = labels.map { canvas.measure($0, style: TextStyle(size: theme.minimumSize)).width }.max() ?? 0
    let cellNeed = widest / 0.84 + 4 * theme.clearance
    let free = width - 2 * operatorWidth - 4 * theme.gap
    let side = max(0, min(gridRoom, max(cellNeed * Double(g.kernelW), free * 0.42 / 3)))
    let rest = width - 3 * side - 2 * operatorWidth - 2 * theme.gap
    // In proportion to their columns, but neither under 40 % of the two.
    let input = rest * min(0.6, max(0.4, Double(columnsShown) / Double(columnsShown + g.outW)))
    let output = rest - input
    let gridHeight = max(side, min(gridRoom, input * Double(rowsShown) / Double(columnsShown)), min(gridRoom, output * Double(g.outH) / Double(g.outW)))
    return ConvTopGeometry(input: input, side: side, operatorWidth: operatorWidth, output: output, gridHeight: gridHeight)
  }

  /// Text under the grids: one line (colour strips, the sum, the output cell).
  static func convBelowGrids(_ canvas: any Canvas, _ theme: Theme) -> Double { canvas.measure("Ag", style: theme.tick).height * 1.3 }

  /// The height the top row needs (titles, grids, the lines under them), at most `room`.
  static func convTopHeight(_ canvas: any Canvas, _ m: ConvStepPage, width: Double, room: Double) -> Double {
    let chrome = canvas.measure("Ag", style: m.theme.label).height + m.theme.gap * 0.3 + convBelowGrids(canvas, m.theme)
    let geometry = convTopGeometry(canvas, m, width: width, gridRoom: room - chrome)
    return min(room, geometry.gridHeight + chrome)
  }

  /// Input with the window, window ⊙ kernel = products (and their sum), output with the cell.
  static func drawConvTop(_ canvas: any Canvas, _ m: ConvStepPage, _ area: Rect) {
    let theme = m.theme, g = m.window, terms = m.terms
    let line = canvas.measure("Ag", style: theme.tick).height
    let labelHeight = canvas.measure("Ag", style: theme.label).height
    let rowsShown = g.height + g.padTop + m.padBottom, columnsShown = g.width + g.padLeft + m.padRight
    let below = convBelowGrids(canvas, theme)
    let geometry = convTopGeometry(canvas, m, width: area.width, gridRoom: area.height - labelHeight - theme.gap * 0.3 - below)
    let (side, operatorWidth) = (geometry.side, geometry.operatorWidth)
    let (inputPanel, afterInput) = area.splitLeft(geometry.input, gap: theme.gap)
    let (trioPanel, outputPanel) = afterInput.splitLeft(3 * side + 2 * operatorWidth, gap: theme.gap)
    let inputColors = inputColoring(m.plane)

    // Input channel, padded, with the window.
    let inputTitles = g.channels > 1 ? ["input x, channel \(m.detail + 1)", "x, channel \(m.detail + 1)", "x"] : ["input x", "x"]
    let inputTitle = inputTitles.first { canvas.measure($0, style: theme.label.emphasized.sized(theme.minimumSize)).width <= inputPanel.width } ?? "x"
    let inputArea = boldTitled(canvas, inputPanel, inputTitle, theme)
    var inputRect = inputArea.inset(bottom: below).fitted(aspect: Double(columnsShown) / Double(rowsShown))
    inputRect.y = inputArea.y
    let cell = Size(inputRect.width / Double(columnsShown), inputRect.height / Double(rowsShown))
    let inner = Rect(x: inputRect.x + Double(g.padLeft) * cell.width, y: inputRect.y + Double(g.padTop) * cell.height,
                     width: Double(g.width) * cell.width, height: Double(g.height) * cell.height)
    drawNumberGrid(canvas, theme, inner, rows: g.height, columns: g.width, colors: m.plane.map { inputColors.map($0) }, labels: m.plane.map(cellLabel))
    for r in 0..<rowsShown {
      for c in 0..<columnsShown {
        let (y, x) = (r - g.padTop, c - g.padLeft)
        guard !(y >= 0 && y < g.height && x >= 0 && x < g.width) else { continue }
        let rect = Rect(x: inputRect.x + Double(c) * cell.width, y: inputRect.y + Double(r) * cell.height, width: cell.width, height: cell.height)
        canvas.stroke(Path.rect(rect.inset(cell.width * 0.08)), Theme.muted, width: theme.hairline * 0.6, dash: [2, 2])
      }
    }
    let windowRect = Rect(x: inputRect.x + Double(m.j * g.strideW) * cell.width, y: inputRect.y + Double(m.i * g.strideH) * cell.height,
                          width: Double(g.kernelW) * cell.width, height: Double(g.kernelH) * cell.height)
    canvas.stroke(windowRect, Theme.accent, width: theme.lineWidth * 1.2)
    colorStrip(canvas, theme, inputColors.bar, title: "x", center: Point(inputRect.midX, inputRect.maxY + line * 0.85), width: inputPanel.width)

    // Window ⊙ kernel = products.
    let grids = (0..<3).map { k in Rect(x: trioPanel.x + Double(k) * (side + operatorWidth), y: area.y + labelHeight + theme.gap * 0.3, width: side, height: side) }
    for (k, t) in ["window x", "kernel W", "x ⊙ W"].enumerated() {
      let style = canvas.fitting(t, width: side + operatorWidth * 0.8, theme.label.emphasized, minimum: theme.minimumSize)
      canvas.text(t, Point(grids[k].midX, area.y), style, anchor: .top)
    }
    let kernelScale = ColorScale.symmetric(m.w)
    drawNumberGrid(canvas, theme, grids[0], rows: g.kernelH, columns: g.kernelW, colors: m.x.map { inputColors.map($0) }, labels: m.x.map(cellLabel))
    drawNumberGrid(canvas, theme, grids[1], rows: g.kernelH, columns: g.kernelW, colors: m.w.map { Colormap.diverging(kernelScale($0)) }, labels: m.w.map(cellLabel))
    let products = terms.products[m.detail]
    let productScale = ColorScale.symmetric(products.map(Double.init))
    drawNumberGrid(canvas, theme, grids[2], rows: g.kernelH, columns: g.kernelW, colors: products.map { Colormap.diverging(productScale(Double($0))) },
                   labels: products.map(terms.text))
    canvas.stroke(grids[0], Theme.accent, width: theme.lineWidth * 1.2)
    for (k, symbol) in ["⊙", "="].enumerated() {
      canvas.text(symbol, Point(grids[k].maxX + operatorWidth / 2, grids[k].midY), theme.title, anchor: .center)
    }
    // The window on the input, joined to its zoomed copy.
    for (a, b) in [(Point(windowRect.maxX, windowRect.y), Point(grids[0].x, grids[0].y)), (Point(windowRect.maxX, windowRect.maxY), Point(grids[0].x, grids[0].maxY))] {
      canvas.line(a, b, Theme.accent.opacity(0.6), width: theme.hairline, dash: [3, 2])
    }
    colorStrip(canvas, theme, ColorBar(colormap: .diverging, scale: kernelScale, title: ""), title: "W", center: Point(grids[1].midX, grids[1].maxY + line * 0.85), width: side + operatorWidth)
    let sumText = g.channels > 1
      ? "Σ = S" + subscripted(m.detail + 1) + " = " + terms.text(terms.partials[m.detail])
      : "Σ = " + terms.text(terms.partials[0])
    let sumStyle = canvas.fitting(sumText, width: side + operatorWidth, theme.tick.emphasized, minimum: theme.minimumSize)
    canvas.text(sumText, Point(grids[2].midX, grids[2].maxY + line * 0.85), sumStyle, anchor: .center)

    // Output map: every z of the filter, the cell being made outlined and named below.
    let outTitle = ["output z, filter \(m.filter + 1)", "z, filter \(m.filter + 1)", "z"].first { canvas.measure($0, style: theme.label.emphasized.sized(theme.minimumSize)).width <= outputPanel.width } ?? "z"
    let outArea = boldTitled(canvas, outputPanel, outTitle, theme)
    var outRect = outArea.inset(bottom: below).fitted(aspect: Double(g.outW) / Double(g.outH))
    outRect.y = outArea.y
    let outScale = ColorScale.symmetric(m.outputs)
    drawNumberGrid(canvas, theme, outRect, rows: g.outH, columns: g.outW, colors: m.outputs.map { Colormap.diverging(outScale($0)) }, labels: m.outputs.map(cellLabel))
    let oc = Size(outRect.width / Double(g.outW), outRect.height / Double(g.outH))
    canvas.stroke(Rect(x: outRect.x + Double(m.j) * oc.width, y: outRect.y + Double(m.i) * oc.height, width: oc.width, height: oc.height), Theme.accent, width: theme.lineWidth * 1.2)
    let zText = "\(zName(m.i, m.j)) = \(terms.text(terms.z))"
    let zStyle = canvas.fitting(zText, width: outputPanel.width, theme.tick.emphasized.colored(Theme.accent), minimum: theme.minimumSize)
    if canvas.measure(zText, style: zStyle).width <= outputPanel.width { canvas.text(zText, Point(min(max(outRect.midX, outputPanel.x + canvas.measure(zText, style: zStyle).width / 2), outputPanel.maxX - canvas.measure(zText, style: zStyle).width / 2), outRect.maxY + line * 0.35), zStyle, anchor: .top) }
  }

  /// A bold panel title centred above `rect`, as large as fits (the label size down to the
  /// smallest); returns the rest of `rect` below it.
  static func boldTitled(_ canvas: any Canvas, _ rect: Rect, _ title: String, _ theme: Theme) -> Rect {
    let style = canvas.fitting(title, width: rect.width, theme.label.emphasized, minimum: theme.minimumSize)
    let h = canvas.measure("Ag", style: theme.label).height
    let (top, rest) = rect.splitTop(h, gap: theme.gap * 0.3)
    canvas.text(title, Point(top.midX, top.y + (h - canvas.measure("Ag", style: style).height) / 2), style, anchor: .top)
    return rest
  }

  /// How input values are coloured: greys from 0 for inputs ≥ 0 (ink on paper), else diverging.
  static func inputColoring(_ plane: [Double]) -> (map: (Double) -> Color, bar: ColorBar) {
    if plane.allSatisfy({ $0 >= 0 }) {
      let scale = ColorScale(lower: 0, upper: max(plane.max() ?? 1, 1e-12))
      return ({ Colormap.greys(scale($0)) }, ColorBar(colormap: .greys, scale: scale, title: ""))
    }
    let scale = ColorScale.symmetric(plane)
    return ({ Colormap.diverging(scale($0)) }, ColorBar(colormap: .diverging, scale: scale, title: ""))
  }

  /// A one-line colour strip "x  0 ▬▬ 1" centred at `center`, if it fits `width`.
  static func colorStrip(_ canvas: any Canvas, _ theme: Theme, _ bar: ColorBar, title: String, center: Point, width: Double) {
    let titleWidth = canvas.measure(title, style: theme.tick.emphasized).width + theme.tickSize * 0.5
    let total = titleWidth + bar.inlineWidth(on: canvas, theme: theme)
    guard total <= width else { return }
    let left = center.x - total / 2
    canvas.text(title, Point(left, center.y), theme.tick.emphasized, anchor: .left)
    bar.drawInline(on: canvas, at: Point(left + titleWidth, center.y), theme: theme)
  }

  /// A grid of coloured cells (one image) with thin white lines between cells and an outline; each
  /// label written in its cell when every label fits with room on both sides (at least
  /// `theme.minimumSize`: conv-step keeps every text at the slide's 16 pt). Returns whether the
  /// labels were written.
  @discardableResult
  static func drawNumberGrid(_ canvas: any Canvas, _ theme: Theme, _ rect: Rect, rows: Int, columns: Int, colors: [Color], labels: [String]?) -> Bool {
    guard rect.width > 0, rect.height > 0 else { return false }
    canvas.image(Raster(width: columns, height: rows, pixels: colors), in: rect)
    let cell = Size(rect.width / Double(columns), rect.height / Double(rows))
    for r in 1..<max(rows, 1) {
      let y = rect.y + Double(r) * cell.height
      canvas.line(Point(rect.x, y), Point(rect.maxX, y), Color.white.opacity(0.9), width: theme.hairline * 0.7)
    }
    for c in 1..<max(columns, 1) {
      let x = rect.x + Double(c) * cell.width
      canvas.line(Point(x, rect.y), Point(x, rect.maxY), Color.white.opacity(0.9), width: theme.hairline * 0.7)
    }
    canvas.stroke(rect, Theme.ink, width: theme.hairline)
    guard let labels, let size = cellNumberSize(canvas, theme, cell, labels) else { return false }
    for (k, label) in labels.enumerated() {
      let center = Point(rect.x + (Double(k % columns) + 0.5) * cell.width, rect.y + (Double(k / columns) + 0.5) * cell.height)
      canvas.text(label, center, TextStyle(size: size, color: colors[k].legibleText))
    }
    return true
  }

  /// The largest size (≤ the tick size, ≥ `minimumSize`) at which every label fits its cell with
  /// a margin of an eighth of the cell (at least two clearances) on each side; nil if none.
  static func cellNumberSize(_ canvas: any Canvas, _ theme: Theme, _ cell: Size, _ labels: [String]) -> Double? {
    let room = cell.width - 2 * max(cell.width * 0.08, theme.clearance * 2)
    var size = min(theme.tickSize, cell.height / 1.5)
    while size >= theme.minimumSize {
      let style = TextStyle(size: size)
      if labels.allSatisfy({ canvas.measure($0, style: style).width <= room }) { return size }
      size -= 0.5
    }
    return nil
  }

  // MARK: Partial sums

  /// How the partial sums are laid out: a gutter for each row's channel range, columns and rows
  /// of cells, their size and the total height.
  struct PartialLayout {
    let gutter: Double, columns: Int, rows: Int, cellWidth: Double, cellHeight: Double, height: Double

    /// The same grid with cells up to twice as tall, to fill `height`.
    func stretched(to height: Double) -> PartialLayout {
      let taller = min(cellHeight * 2, cellHeight + max(0, height - self.height) / Double(rows))
      return PartialLayout(gutter: gutter, columns: columns, rows: rows, cellWidth: cellWidth, cellHeight: taller, height: self.height + Double(rows) * (taller - cellHeight))
    }
  }

  /// "1–7": the channels (1-based) of row `row` of a grid of `columns` over `count` channels.
  static func channelRange(row: Int, columns: Int, count: Int) -> String {
    let first = row * columns + 1, last = min(count, (row + 1) * columns)
    return first == last ? String(first) : "\(first)–\(last)"
  }

  /// The most columns (down to 4) whose cells hold every written S_c at `minimumSize` or more,
  /// beside a gutter naming each row's channels.
  static func partialSumsLayout(_ canvas: any Canvas, _ theme: Theme, width: Double, count: Int, terms: ConvTerms) -> PartialLayout {
    let labels = terms.partials.map(terms.text)
    let labelHeight = canvas.measure("Ag", style: theme.label).height
    let widest = labels.map { canvas.measure($0, style: TextStyle(size: theme.minimumSize)).width }.max() ?? 0
    let cellWidthNeeded = widest / 0.84 + 4 * theme.clearance
    let gutter = canvas.measure("\(count)–\(count)", style: theme.note).width + theme.gap * 0.4
    var columns = min(count, max(4, Int((width - gutter) / cellWidthNeeded)))
    // Even rows: the fewest rows at this width, then as few columns as keep them.
    let rows = (count + columns - 1) / columns
    columns = (count + rows - 1) / rows
    let cellHeight = max(theme.minimumSize * 1.6, canvas.measure("Ag", style: theme.tick).height * 1.1)
    return PartialLayout(gutter: gutter, columns: columns, rows: rows, cellWidth: (width - gutter) / Double(columns), cellHeight: cellHeight,
                         height: labelHeight + theme.gap * 0.3 + Double(rows) * cellHeight)
  }

  /// The partial sums S_c, one cell per channel in reading order, each row named by its
  /// channels ("1–7") in the gutter; the detail channel outlined.
  static func drawPartialSums(_ canvas: any Canvas, _ m: ConvStepPage, _ layout: PartialLayout, _ rect: Rect) {
    let theme = m.theme, terms = m.terms
    let titles = ["partial sums per input channel: S = Σ x ⊙ W", "partial sums S = Σ x ⊙ W", "partial sums"]
    let title = titles.first { canvas.measure($0, style: theme.label.emphasized.sized(theme.minimumSize)).width <= rect.width } ?? titles.last!
    let area = boldTitled(canvas, rect, title, theme)
    let values = terms.partials.map(Double.init)
    let scale = ColorScale.symmetric(values)
    for row in 0..<layout.rows {
      let y = area.y + Double(row) * layout.cellHeight
      let range = (row * layout.columns)..<min(values.count, (row + 1) * layout.columns)
      let strip = Rect(x: area.x + layout.gutter, y: y, width: layout.cellWidth * Double(range.count), height: layout.cellHeight)
      canvas.text(channelRange(row: row, columns: layout.columns, count: values.count), Point(area.x + layout.gutter - theme.gap * 0.3, strip.midY), theme.note, anchor: .right)
      drawNumberGrid(canvas, theme, strip, rows: 1, columns: range.count, colors: range.map { Colormap.diverging(scale(values[$0])) },
                     labels: range.map { terms.text(terms.partials[$0]) })
      if range.contains(m.detail) {
        canvas.stroke(Rect(x: strip.x + Double(m.detail - range.lowerBound) * layout.cellWidth, y: strip.y, width: layout.cellWidth, height: layout.cellHeight),
                      Theme.accent, width: theme.lineWidth * 1.2)
      }
    }
  }

  // MARK: Contribution bar

  /// The height the contribution bar needs with rows `rowHeight` tall: two heading lines, two
  /// rows, the axis labels and the note on rounding.
  static func contributionHeight(_ canvas: any Canvas, _ theme: Theme, rowHeight: Double) -> Double {
    let line = canvas.measure("Ag", style: theme.tick).height
    return 2 * line + 2 * theme.clearance + theme.gap * 0.3 + 2 * rowHeight + line * 1.4 + line + theme.gap * 0.2
  }

  /// The terms laid end to end: positive ones rightwards from 0, then negative ones leftwards from
  /// their total, then the rounding (grey) if the rounded terms miss the rounded z, ending at z
  /// (marked). Above: the sum written out, then split into its positive and negative parts;
  /// below: the rounding rule.
  static func drawContributions(_ canvas: any Canvas, _ m: ConvStepPage, _ rect: Rect) {
    let theme = m.theme, terms = m.terms
    let line = canvas.measure("Ag", style: theme.tick).height
    let many = m.window.channels > 1
    // (label on the segment, units)
    var items: [(String, Int)] = many
      ? terms.partials.enumerated().map { (String($0.offset + 1), $0.element) }
      : terms.products[0].map { (terms.text($0), $0) }
    if let b = terms.bias { items.append(("b", b)) }
    let positive = items.filter { $0.1 > 0 }, negative = items.filter { $0.1 < 0 }
    let p = positive.reduce(0) { $0 + $1.1 }, n = negative.reduce(0) { $0 + $1.1 }
    let r = terms.remainder
    let z = zName(m.i, m.j), bias = terms.bias == nil ? "" : " + b"
    func signed(_ units: Int) -> String { units < 0 ? "(\(terms.text(units)))" : terms.text(units) }
    let rounding = r == 0 ? "" : " + \(signed(r)) rounding"
    // Line 1: the sum written out (one channel), or named (several).
    let biasValue = terms.bias.map { " (b = \(terms.text($0)))" } ?? ""
    let written = many
      ? "\(z) = S₁ + S₂ + … + S\(subscripted(m.window.channels))\(bias)\(biasValue), over all \(m.window.channels) input channels"
      : "\(z) = Σ x ⊙ W\(bias) = " + (terms.products[0] + (terms.bias.map { [$0] } ?? [])).map(signed).joined(separator: " + ") + rounding + " = " + terms.text(terms.z)
    let short = many ? "\(z) = S₁ + S₂ + … + S\(subscripted(m.window.channels))\(bias)\(biasValue)"
      : "\(z) = Σ x ⊙ W\(bias)\(biasValue), the \(m.window.kernelH * m.window.kernelW) products\(bias.isEmpty ? "" : " and the bias")"
    var first = written, firstStyle = canvas.fitting(written, width: rect.width, theme.tick.emphasized, minimum: theme.minimumSize)
    if canvas.measure(written, style: firstStyle).width > rect.width {
      first = short
      firstStyle = canvas.fitting(short, width: rect.width, theme.tick.emphasized, minimum: theme.minimumSize)
    }
    canvas.text(first, Point(rect.x, rect.y), firstStyle, anchor: .topLeft)
    // Line 2: the sum split by sign, the words dropped when they do not fit (the rows name them).
    let splits = ["positives \(terms.text(p)) + negatives \(signed(n))\(rounding) = \(terms.text(terms.z))",
                  "\(terms.text(p)) + \(signed(n))\(rounding) = \(terms.text(terms.z))"]
    let split = splits.first { canvas.measure($0, style: theme.tick.sized(theme.minimumSize)).width <= rect.width } ?? splits[1]
    canvas.text(split, Point(rect.x, rect.y + line + 2 * theme.clearance), canvas.fitting(split, width: rect.width, theme.tick, minimum: theme.minimumSize), anchor: .topLeft)
    // Below the bar: the rule of the written numbers (the longest wording that fits).
    let d = terms.decimals
    let notes = ["every number: its exact value rounded to \(d) decimals\(r == 0 ? "" : "; rounding is what the rounded terms miss")",
                 "every number: its exact value rounded to \(d) decimals", "every number rounded to \(d) decimals"]
    let noteText = notes.first { canvas.measure($0, style: theme.note.sized(theme.minimumSize)).width <= rect.width } ?? notes.last!
    let noteStyle = canvas.fitting(noteText, width: rect.width, theme.note, minimum: theme.minimumSize)
    canvas.text(noteText, Point(rect.x, rect.maxY), noteStyle, anchor: .bottomLeft)
    let bottom = rect.maxY - canvas.measure("Ag", style: noteStyle).height - theme.gap * 0.2
    // Rows: positives, negatives (named in a gutter on the left); then the axis labels.
    let rowsTop = rect.y + 2 * line + 2 * theme.clearance + theme.gap * 0.3
    let rowHeight = min(line * 4.5, max(line * 1.05, (bottom - rowsTop - line * 1.4) / 2))
    let gutter = ["positive", "negative"].map { canvas.measure($0, style: theme.note).width }.max()! + theme.gap * 0.4
    // From the lower of 0 and z (where the chain ends) to Σ positives (where it turns back).
    let turn = p + max(r, 0)
    let lo = Double(min(0, terms.z)), hi = Double(max(turn, 0))
    let span = hi > lo ? hi - lo : 1
    let track = rect.inset(left: gutter + theme.tickSize * 0.5, right: theme.tickSize * 0.5)
    func X(_ units: Double) -> Double { track.x + (units - lo) / span * track.width }
    let positiveColor = Colormap.diverging(0.82), negativeColor = Colormap.diverging(0.18), roundingColor = Color(hex: 0xB0B0B0)
    // Each row on a light track from the lowest to the highest value shown.
    for row in 0..<2 {
      canvas.fill(Rect(x: track.x, y: rowsTop + Double(row) * rowHeight + rowHeight * 0.08, width: track.width, height: rowHeight * 0.84), Color(hex: 0xF4F4F4))
    }
    func segments(_ list: [(String, Int)], from start: Int, row: Int, color: Color) {
      var at = start
      let y = rowsTop + Double(row) * rowHeight
      for (label, units) in list {
        let (a, b) = (X(Double(at)), X(Double(at + units)))
        let r = Rect(x: min(a, b), y: y + rowHeight * 0.08, width: abs(b - a), height: rowHeight * 0.84)
        canvas.fill(r, color)
        canvas.stroke(r, Color.white, width: theme.hairline)
        let style = TextStyle(size: theme.minimumSize, color: color.legibleText)
        let e = canvas.measure(label, style: style)
        if e.width + 2 * theme.clearance + 2 <= r.width && e.height <= r.height { canvas.text(label, r.center, style) }
        at += units
      }
    }
    segments(positive, from: 0, row: 0, color: positiveColor)
    if r > 0 { segments([("", r)], from: p, row: 0, color: roundingColor) }
    segments(negative, from: turn, row: 1, color: negativeColor)
    if r < 0 { segments([("", r)], from: turn + n, row: 1, color: roundingColor) }
    for (row, text, color) in [(0, "positive", positiveColor), (1, "negative", negativeColor)] {
      canvas.text(text, Point(rect.x, rowsTop + (Double(row) + 0.5) * rowHeight), theme.note.colored(color.mixed(with: Theme.ink, 0.45)), anchor: .left)
    }
    // 0, the turn at Σ positives, and z.
    let rowsBottom = rowsTop + 2 * rowHeight
    canvas.line(Point(X(0), rowsTop), Point(X(0), rowsBottom), Theme.ink, width: theme.hairline)
    canvas.line(Point(X(Double(turn)), rowsTop + rowHeight * 0.5), Point(X(Double(turn)), rowsTop + rowHeight * 1.5), Theme.ink, width: theme.hairline, dash: [2, 2])
    canvas.line(Point(X(Double(terms.z)), rowsTop - theme.gap * 0.1), Point(X(Double(terms.z)), rowsBottom + line * 0.3), Theme.accent, width: theme.lineWidth * 1.2)
    // Axis labels: 0 and z (z wins when they would touch).
    let zLabel = "\(z) = \(terms.text(terms.z))"
    let zStyle = theme.tick.emphasized.colored(Theme.accent)
    let zBox = labelBox(canvas, zLabel, at: X(Double(terms.z)), y: rowsBottom + line * 0.3, style: zStyle, within: track)
    canvas.text(zLabel, Point(zBox.x, zBox.y), zStyle, anchor: .topLeft)
    let zeroBox = labelBox(canvas, "0", at: X(0), y: rowsBottom + line * 0.3, style: theme.tick, within: track)
    if !zeroBox.inset(-theme.tickSize * 0.4).intersects(zBox) { canvas.text("0", Point(zeroBox.x, zeroBox.y), theme.tick, anchor: .topLeft) }
  }

  /// The top-left corner box of `text` centred at x (kept inside `rect` horizontally), top at y.
  static func labelBox(_ canvas: any Canvas, _ text: String, at x: Double, y: Double, style: TextStyle, within rect: Rect) -> Rect {
    let e = canvas.measure(text, style: style)
    let left = min(max(x - e.width / 2, rect.x), rect.maxX - e.width)
    return Rect(x: left, y: y, width: e.width, height: e.height)
  }

  /// A grid cell's number, rounded to two decimals without trailing zeros: 0.1875 → "0.19",
  /// 1 → "1", 0.5 → "0.5".
  static func cellLabel(_ v: Double) -> String {
    var text = NumberFormat.fixed(v, digits: 2)
    while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
    return text
  }
}
