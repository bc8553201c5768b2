import SheetNet

/// `conv-step`: one convolution window at a time, as a spreadsheet reads it. The input grid with
/// its numbers (the zero padding drawn as a dashed ring), the kernel and bias, the window
/// highlighted, the output map filling in, and the sum written out with the engine's own
/// numbers (the trace's `explain` of that output cell). One page per position.
extension Figure {
  static func checkConvStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.convStep)
    let conv = try pickConv(source, options)
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
    guard options.filter >= 1 && options.filter <= conv.filters else {
      throw .option("--filter must be between 1 and \(conv.filters), the filters of \(conv.name)")
    }
    guard options.positions <= conv.window.positions else {
      throw .option("--positions must be at most \(conv.window.positions), the \(conv.window.outH)×\(conv.window.outW) outputs of \(conv.name)")
    }
  }

  /// The conv layer `--layer` names, or the first.
  static func pickConv(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Conv2D {
    let convs = source.model.layers.filter { $0 is Conv2D }
    guard !convs.isEmpty else {
      throw .notApplicable("conv-step follows a convolution window, but \(source.lesson.path) has no conv2d layer; try graph or gradients")
    }
    return try pick(options.layer, in: source.model, among: convs, what: "conv2d layers") as! Conv2D
  }

  static func convSteps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    let run = try source.requireRun(.convStep)
    let conv = try pickConv(source, options)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    // One traced forward pass of the sample: the conv layer's input, its z and their arithmetic.
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
    let g = conv.window!, f = options.filter - 1
    let z = entry.value  // [1, F, outH, outW]
    let label = data.labels.map { " (label \(className(data, $0[sample])))" } ?? ""
    let padBottom = max((g.outH - 1) * g.strideH + g.kernelH - g.height - g.padTop, 0)
    let padRight = max((g.outW - 1) * g.strideW + g.kernelW - g.width - g.padLeft, 0)
    let padding = conv.padding == .same
      ? "padding same (\(g.padTop == padBottom && g.padLeft == padRight ? "\(g.padTop) zero ring" : "zeros: \(g.padTop) above, \(padBottom) below, \(g.padLeft) left, \(padRight) right"))"
      : "padding valid (none)"
    let stride = g.strideH == g.strideW ? "stride \(g.strideH)" : "stride \(g.strideH) down, \(g.strideW) across"
    let subtitle = "\(conv.name): \(g.kernelH)×\(g.kernelW) kernel, \(stride), \(padding); \(split) sample \(sample + 1)\(label)"
      + (g.channels > 1 ? "; channel 1 of \(g.channels) shown, the sum runs over all" : "")
    let plane = Array(input.data[0..<(g.height * g.width)])  // channel 1
    let kernel = Array(conv.W.value.data[(f * g.channels) * g.kernelH * g.kernelW..<(f * g.channels + 1) * g.kernelH * g.kernelW])
    let bias = conv.useBias ? conv.b.value.data[f] : nil
    let outputs = (0..<g.positions).map { z.data[f * g.positions + $0] }
    var figures: [Figure] = []
    for p in 0..<options.positions {
      let (i, j) = (p / g.outW, p % g.outW)
      let arithmetic = explain(f * g.positions + p)
      let lines = convStepLines(arithmetic, channels: g.channels, kernel: (g.kernelH, g.kernelW), useBias: conv.useBias, i: i, j: j)
      figures.append(convStepPage(
        name: options.positions == 1 ? "conv-step" : "conv-step-\(p + 1)",
        title: "Convolution, window \(p + 1) of \(options.positions): \(source.name), filter \(f + 1), output (\(i + 1), \(j + 1))",
        subtitle: subtitle, theme: options.theme, plane: plane, window: g, padBottom: padBottom, padRight: padRight,
        kernel: kernel, bias: bias, outputs: outputs, position: p, lines: lines))
    }
    return figures
  }

  /// The sum written out: one line per kernel row (one channel), or one partial sum per channel.
  /// Inputs are rounded to 2 decimals and weights to 2 significant digits, as the grids show them;
  /// the total is the engine's, from the exact values.
  static func convStepLines(_ a: Arithmetic, channels: Int, kernel: (Int, Int), useBias: Bool, i: Int, j: Int) -> [String] {
    let lhs = "z" + subscripted(i + 1) + "," + subscripted(j + 1)
    // Inputs as the input grid writes them, weights as the kernel grid does.
    func paren(_ s: String) -> String { s.hasPrefix("−") ? "(\(s))" : s }
    func x(_ v: Double) -> String { paren(cellLabel(v)) }
    func n(_ v: Double) -> String { paren(NumberFormat.significant(v, 2)) }
    let products = stride(from: 0, to: channels * kernel.0 * kernel.1 * 2, by: 2).map { (a.args[$0], a.args[$0 + 1]) }
    let bias = useBias ? a.args.last! : nil
    var lines: [String] = []
    if channels == 1 {
      for u in 0..<kernel.0 {
        let row = (0..<kernel.1).map { v in let (xv, w) = products[u * kernel.1 + v]; return "\(x(xv))·\(n(w))" }.joined(separator: " + ")
        lines.append((u == 0 ? "\(lhs) = " : "+ ") + row)
      }
    } else {
      var sums: [String] = []
      for c in 0..<channels {
        let part = products[(c * kernel.0 * kernel.1)..<((c + 1) * kernel.0 * kernel.1)].reduce(0.0) { $0 + $1.0 * $1.1 }
        sums.append(n(part))
      }
      lines.append("\(lhs) = Σ over \(channels) channels of Σ x·w:")
      let perLine = channels > 12 ? 4 : 3
      for chunk in stride(from: 0, to: sums.count, by: perLine) {
        lines.append((chunk == 0 ? "= " : "+ ") + sums[chunk..<min(chunk + perLine, sums.count)].joined(separator: " + "))
      }
    }
    if let bias { lines.append("+ b = \(NumberFormat.significant(bias, 2))") }
    lines.append("= \(NumberFormat.significant(a.result, 4))")
    return lines
  }

  /// One page of the series.
  static func convStepPage(name: String, title: String, subtitle: String, theme: Theme, plane: [Double], window g: Kernels.Window,
                           padBottom: Int, padRight: Int, kernel: [Double], bias: Double?, outputs: [Double], position: Int, lines: [String]) -> Figure {
    Figure(name: name, size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let equationStyle = theme.tick
      let lineHeight = canvas.measure("Ag", style: equationStyle).height * 1.1
      let rowsShown = g.height + g.padTop + padBottom, columnsShown = g.width + g.padLeft + padRight
      // Input and output as large as the page allows; the kernel, its bias and the sum between them.
      let panels = body.columns(3, gap: theme.gap * 0.75, weights: [1, 0.72, 1])
      let (i, j) = (position / g.outW, position % g.outW)
      // Input, padded: rows −padTop…height−1+padBottom.
      let inputArea = canvas.titled(panels[0], "input x", theme, bold: true)
      var inputRect = inputArea.fitted(aspect: Double(columnsShown) / Double(rowsShown))
      inputRect.y = inputArea.y
      let inputScale = plane.allSatisfy { $0 >= 0 } ? ColorScale(lower: 0, upper: max(plane.max() ?? 1, 1e-12)) : ColorScale.symmetric(plane)
      let inputMap = plane.allSatisfy { $0 >= 0 } ? Colormap.greys : Colormap.diverging
      let cell = Size(inputRect.width / Double(columnsShown), inputRect.height / Double(rowsShown))
      let numberSize = gridNumberSize(canvas, theme, cell, plane.map(cellLabel))
      for r in 0..<rowsShown {
        for c in 0..<columnsShown {
          let (y, x) = (r - g.padTop, c - g.padLeft)
          let rect = Rect(x: inputRect.x + Double(c) * cell.width, y: inputRect.y + Double(r) * cell.height, width: cell.width, height: cell.height)
          let inside = y >= 0 && y < g.height && x >= 0 && x < g.width
          let v = inside ? plane[y * g.width + x] : 0
          let color = inside ? inputMap(inputScale(v)) : Color.white
          canvas.fill(rect, color)
          if inside { canvas.stroke(rect, Theme.grid, width: theme.hairline * 0.5) }
          else { canvas.stroke(Path.rect(rect.inset(cell.width * 0.06)), Theme.muted, width: theme.hairline * 0.6, dash: [2, 2]) }
          if let numberSize {
            canvas.text(inside ? cellLabel(v) : "0", rect.center, TextStyle(size: numberSize, color: inside ? color.legibleText : Theme.muted))
          }
        }
      }
      if g.padTop + padBottom + g.padLeft + padRight == 0 { canvas.stroke(inputRect, Theme.ink, width: theme.hairline) }
      else {
        canvas.stroke(Rect(x: inputRect.x + Double(g.padLeft) * cell.width, y: inputRect.y + Double(g.padTop) * cell.height,
                           width: Double(g.width) * cell.width, height: Double(g.height) * cell.height), Theme.ink, width: theme.hairline)
      }
      let windowRect = Rect(x: inputRect.x + Double(j * g.strideW) * cell.width, y: inputRect.y + Double(i * g.strideH) * cell.height,
                            width: Double(g.kernelW) * cell.width, height: Double(g.kernelH) * cell.height)
      canvas.stroke(windowRect, Theme.accent, width: theme.lineWidth * 1.4)
      // Kernel and bias, then the sum line by line (the last line, the engine's result, in bold).
      let middle = canvas.titled(panels[1], "kernel W", theme, bold: true)
      // The kernel gives up height to the sum below it when the sum is long.
      let belowKernel = theme.gap * 0.4 + (bias == nil ? 0 : canvas.measure("Ag", style: theme.label).height + theme.gap) + Double(lines.count) * lineHeight
      let kernelSide = max(0, min(middle.width * 0.7, Double(g.kernelW) * cell.width * 1.6, (middle.height - belowKernel) * Double(g.kernelW) / Double(g.kernelH)))
      let kernelRect = Rect(x: middle.midX - kernelSide / 2, y: middle.y, width: kernelSide, height: kernelSide * Double(g.kernelH) / Double(g.kernelW))
      let kernelScale = ColorScale.symmetric(kernel)
      Heatmap(values: kernel, rows: g.kernelH, columns: g.kernelW, colormap: .diverging, scale: kernelScale, numbers: 2, cellLines: true)
        .draw(on: canvas, in: kernelRect, theme: theme)
      canvas.stroke(kernelRect, Theme.accent, width: theme.lineWidth * 1.4)
      var y = kernelRect.maxY + theme.gap * 0.4
      if let bias {
        canvas.text("b = \(NumberFormat.significant(bias, 2))", Point(kernelRect.midX, y), theme.label, anchor: .top)
        y += canvas.measure("Ag", style: theme.label).height + theme.gap
      }
      // One size for every line: the largest at which the widest line fits.
      let size = lines.map { canvas.fitting($0, width: middle.width, equationStyle, minimum: theme.minimumSize).size }.min() ?? equationStyle.size
      for (k, line) in lines.enumerated() {
        var style = equationStyle.sized(size)
        style.bold = k == lines.count - 1
        canvas.text(line, Point(middle.x, y + Double(k) * lineHeight), style, anchor: .topLeft)
      }
      // Output map: cells up to this position computed, the current one outlined, later ones empty.
      let outArea = canvas.titled(panels[2], "output z", theme, bold: true)
      var outRect = outArea.fitted(aspect: Double(g.outW) / Double(g.outH))
      outRect.y = outArea.y
      let outScale = ColorScale.symmetric(outputs)
      let oc = Size(outRect.width / Double(g.outW), outRect.height / Double(g.outH))
      let outNumber = gridNumberSize(canvas, theme, oc, outputs.prefix(position + 1).map(cellLabel))
      for p in 0..<outputs.count {
        let rect = Rect(x: outRect.x + Double(p % g.outW) * oc.width, y: outRect.y + Double(p / g.outW) * oc.height, width: oc.width, height: oc.height)
        let done = p <= position
        let color = done ? Colormap.diverging(outScale(outputs[p])) : Color.white
        canvas.fill(rect, color)
        canvas.stroke(rect, Theme.grid, width: theme.hairline * 0.5)
        if done, let outNumber { canvas.text(cellLabel(outputs[p]), rect.center, TextStyle(size: outNumber, color: color.legibleText)) }
      }
      canvas.stroke(outRect, Theme.ink, width: theme.hairline)
      let current = Rect(x: outRect.x + Double(j) * oc.width, y: outRect.y + Double(i) * oc.height, width: oc.width, height: oc.height)
      canvas.stroke(current, Theme.accent, width: theme.lineWidth * 1.4)
    }
  }

  /// A grid cell's number, rounded to two decimals without trailing zeros: 0.1875 → "0.19",
  /// 1 → "1", 0.5 → "0.5" (the equation writes the same text).
  static func cellLabel(_ v: Double) -> String {
    var text = NumberFormat.fixed(v, digits: 2)
    while text.contains(".") && (text.hasSuffix("0") || text.hasSuffix(".")) { text.removeLast() }
    return text
  }

  /// The text size at which every label fits its cell, or nil.
  static func gridNumberSize(_ canvas: any Canvas, _ theme: Theme, _ cell: Size, _ labels: [String]) -> Double? {
    let widest = labels.max { $0.count < $1.count } ?? "0"
    var size = min(theme.tickSize, cell.height * 0.45)
    while size >= theme.minimumSize {
      if canvas.measure(widest, style: TextStyle(size: size)).width <= cell.width * 0.9 { return size }
      size -= 0.5
    }
    return nil
  }
}
