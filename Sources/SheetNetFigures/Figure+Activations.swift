import SheetNet

/// `activations`: the network's activation functions (of ReLU, LeakyReLU, sigmoid and tanh) with
/// their slopes f′(z), and where the lesson's real pre-activations z fall on them: dots on the
/// curve and, below it on the same z axis, a histogram of z with a count axis.
extension Figure {
  /// The pre-activations z of every activation layer of one kind, over the samples given.
  public struct Marks: Sendable {
    /// The layers the values come from (`relu1`, `relu2`).
    public var layers: [String]
    /// Every z value, in no particular order.
    public var z: [Double]

    /// Marks.
    public init(layers: [String], z: [Double]) {
      self.layers = layers
      self.z = z
    }
  }

  /// Colours of the curves: f in Okabe–Ito blue, f′ dashed in bluish green, the lesson's z in
  /// vermillion (`Theme.accent`): three hues apart for every common colour-vision deficiency.
  static let functionColor = Color(hex: 0x0072B2), slopeColor = Color(hex: 0x009E73)

  /// The activation kinds this figure draws (`activationPanels`) that the network uses.
  static func activationKinds(_ model: Sequential) -> [String] {
    let used = Set(model.layers.filter { $0 is any Activation }.map(\.kind))
    return activationPanels.map(\.kind).filter { used.contains($0) }
  }

  static func checkActivations(_ source: FigureSource) throws(FigureError) {
    guard !activationKinds(source.model).isEmpty else {
      throw .notApplicable("activations draws the network's activation functions (ReLU, LeakyReLU, sigmoid, tanh), but \(source.lesson.path) uses none of them; try architecture to see its layers")
    }
  }

  /// The lesson's activation layers run forward on up to 512 training samples (fewer for a network
  /// with many activations a sample, so that about 300,000 z values are drawn: 117 samples of the
  /// digits CNN's 2,560); each kind's z values, sorted once here, mark its panel. Only the kinds the
  /// network uses get a panel.
  static func activations(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.activations)
    let train = run.split.train
    let model = source.model
    let perSample = model.layers.indices.filter { model.layers[$0] is any Activation }.reduce(0) { total, l in total + model.shapes[l].reduce(1, *) }
    let n = min(train.count, 512, max(32, 300_000 / max(perSample, 1)))
    _ = forwardAll(source.model, train.x.gathering(rows: Array(0..<n)))
    var marks: [String: Marks] = [:]
    var alpha = 0.01
    for layer in source.model.layers {
      guard let activation = layer as? any Activation, activationPanels.contains(where: { $0.kind == layer.kind }) else { continue }
      if let leaky = layer as? LeakyReLU { alpha = leaky.alpha }
      marks[layer.kind, default: Marks(layers: [], z: [])].layers.append(layer.name)
      marks[layer.kind]!.z += activation.z.data
    }
    for kind in marks.keys { marks[kind]!.z = marks[kind]!.z.filter(\.isFinite).sorted() }
    return activationCurves(
      theme: options.theme, leakyAlpha: alpha, marks: marks, lesson: true,
      title: "Activation functions and their slopes: \(state(source, options))",
      subtitle: "Dots and histogram: the pre-activations z of \(NumberFormat.integer(n)) training samples; f′ = ∂a/∂z scales the gradient on its way back")
  }

  /// Activation curves and their slopes, with optional marks per kind (`relu`, `leaky_relu`,
  /// `sigmoid`, `tanh`). With `lesson`, only the kinds in `marks` get a panel (each names its
  /// layers); without, all four are drawn bare (the benchmark and `--untrained` without data).
  /// Every panel shares one z range, so the panels compare at a glance.
  public static func activationCurves(theme: Theme, leakyAlpha: Double = 0.01, marks: [String: Marks] = [:], lesson: Bool = false,
                                      title: String = "Activation functions and their slopes",
                                      subtitle: String = "f(z) solid, f′(z) dashed") -> Figure {
    let functions: [String: any Activation] = [
      "relu": ReLU(), "leaky_relu": LeakyReLU(alpha: leakyAlpha), "sigmoid": Sigmoid(), "tanh": Tanh(),
    ]
    let panels = activationPanels.filter { !lesson || marks[$0.kind] != nil }
    // One z range for every panel: ±5, widened to the 1st…99th percentile of each kind's marks.
    var lo = -5.0, hi = 5.0
    for (_, m) in marks {
      let sorted = m.z.filter(\.isFinite).sorted()
      guard sorted.count > 1 else { continue }
      lo = min(lo, sorted[sorted.count / 100])
      hi = max(hi, sorted[sorted.count - 1 - sorted.count / 100])
    }
    if lo < -5 || hi > 5 { (lo, hi) = Ticks.padded(lo, hi) }
    // A little beyond the end ticks, so the first z label stays clear of the y labels in the corner.
    (lo, hi) = (lo - (hi - lo) * 0.03, hi + (hi - lo) * 0.03)
    let range = (lo, hi)
    return Figure(name: "activations", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      var entries: [(label: String, color: Color, mark: LegendMark)] = [
        ("f(z)", functionColor, .line(dash: [])), ("f′(z)", slopeColor, .line(dash: slopeDash(theme))),
      ]
      if !marks.isEmpty { entries.append(("the lesson's z", Theme.accent, .dot)) }
      legendRow(canvas, entries, in: legendStrip, theme: theme)
      let rects = rest.columns(panels.count, gap: theme.gap * 1.5)
      for (panel, (kind, name)) in zip(rects, panels) {
        let f = functions[kind]!
        var title = kind == "leaky_relu" ? "\(name), α = \(NumberFormat.shortest(leakyAlpha))" : name
        if let layers = marks[kind]?.layers { title += " in " + layers.joined(separator: ", ") }
        // A lone panel's title shares the legend's row, on the left.
        var inner = panel
        if panels.count == 1 {
          let style = canvas.fitting(title, width: legendStrip.width * 0.5, theme.label.emphasized, minimum: theme.minimumSize)
          canvas.text(title, Point(legendStrip.x, legendStrip.midY), style, anchor: .left)
        } else {
          inner = canvas.titled(panel, title, theme, bold: true)
        }
        activationPanel(canvas, inner, theme, f, kind: kind, range: range, marks: marks[kind], lesson: lesson)
      }
    }
  }

  /// The dash of f′.
  static func slopeDash(_ theme: Theme) -> [Double] { [theme.lineWidth * 2.5, theme.lineWidth * 1.6] }

  /// One panel: f and f′ over z with dots on f at the marked z; below it, on the same z axis, the
  /// histogram of the marked z with a count axis; and notes on what the marks mean for learning
  /// (inactive or saturated units).
  static func activationPanel(_ canvas: any Canvas, _ inner: Rect, _ theme: Theme, _ f: any Activation, kind: String,
                              range: (Double, Double), marks: Marks?, lesson: Bool) {
    let noteStyle = theme.note
    let lineHeight = canvas.measure("Ag", style: noteStyle).height + theme.clearance * 2
    var notes = activationNotes(kind: kind, f: f, marks: marks, lesson: lesson)
    // The notes on one line when they fit.
    let joined = notes.joined(separator: "; ")
    if canvas.measure(joined, style: noteStyle).width <= inner.width { notes = [joined] }
    let (noteRect, plotsRect) = inner.splitBottom(lineHeight * Double(notes.count), gap: theme.gap * 0.4)
    let (lo, hi) = range
    let count = 241
    let zs = (0..<count).map { lo + (hi - lo) * Double($0) / Double(count - 1) }
    let fs = zs.map { f.apply($0) }
    let kinked = kind == "relu" || kind == "leaky_relu"
    var slopes: [(x: Double, y: Double)] = []
    for z in zs {
      if kinked && z > 0 && (slopes.last?.x ?? 1) <= 0 { slopes.append((.nan, .nan)) }  // break the line at the kink
      slopes.append((z, f.slope(z: z, a: f.apply(z))))
    }
    let ys = fs + slopes.map(\.y).filter(\.isFinite)
    let (ylo, yhi) = Ticks.padded(min(ys.min()!, 0), max(ys.max()!, 1))
    let sorted = (marks?.z ?? []).filter(\.isFinite).sorted()
    let curves = Plot(x: (lo, hi), y: (ylo, yhi), xTitle: sorted.isEmpty ? "z" : "", yTitle: "", series: [
      .init(points: Array(zip(zs, fs)).map { ($0.0, $0.1) }, color: functionColor, label: "f(z)"),
      .init(points: slopes, color: slopeColor, label: "f′(z)", dash: slopeDash(theme)),
    ])
    // The histogram's bins and its count axis (whole ticks: the range is widened until the
    // ticks Plot picks for it are whole numbers).
    let bins = 40
    var counts = [Int](repeating: 0, count: bins)
    for z in sorted where z >= lo && z <= hi { counts[min(bins - 1, Int((z - lo) / (hi - lo) * Double(bins)))] += 1 }
    var curvesRect = plotsRect, histogramRect = Rect(x: plotsRect.x, y: plotsRect.maxY, width: plotsRect.width, height: 0)
    if !sorted.isEmpty { (histogramRect, curvesRect) = plotsRect.splitBottom(plotsRect.height * 0.46, gap: theme.gap * 0.3) }
    let histogram = Plot(x: (lo, hi), y: (0, wholeCountTop(counts.max() ?? 1, height: histogramRect.height, theme: theme)),
                         xTitle: "z", yTitle: "count", series: [])
    // Both plots share their data area's left and right edges, so one z lines up in both.
    var curvesTarget = curvesRect, histogramTarget = histogramRect
    if !sorted.isEmpty {
      let a = dryArea(curves, curvesRect, canvas, theme), b = dryArea(histogram, histogramRect, canvas, theme)
      let left = max(a.x, b.x), right = min(a.maxX, b.maxX)
      curvesTarget = curvesRect.inset(left: left - a.x, right: a.maxX - right)
      histogramTarget = histogramRect.inset(left: left - b.x, right: b.maxX - right)
    }
    let area = curves.draw(on: canvas, in: curvesTarget, theme: theme)
    if kinked {
      // The convention at the kink: f′(0) is the left slope (0 for ReLU, α for LeakyReLU).
      let atZero = f.slope(z: 0, a: 0)
      canvas.fill(Path.circle(curves.map(0, atZero, area), radius: theme.lineWidth * 1.4), slopeColor)
      canvas.stroke(Path.circle(curves.map(0, 1, area), radius: theme.lineWidth * 1.4), slopeColor, width: theme.hairline)
    }
    guard !sorted.isEmpty else { notesDraw(canvas, notes, noteRect, noteStyle, lineHeight, theme); return }
    // Dots at 120 evenly spaced quantiles of z, on the curve.
    let dots = min(120, sorted.count)
    for i in 0..<dots {
      let z = sorted[Int(Double(i) / Double(max(dots - 1, 1)) * Double(sorted.count - 1))]
      guard z >= lo && z <= hi else { continue }
      canvas.fill(Path.circle(curves.map(z, f.apply(z), area), radius: theme.lineWidth * 0.9), Theme.accent.opacity(0.55))
    }
    let bars = histogram.draw(on: canvas, in: histogramTarget, theme: theme)
    let binWidth = bars.width / Double(bins)
    for (i, c) in counts.enumerated() where c > 0 {
      let top = histogram.map(lo, Double(c), bars).y
      canvas.fill(Rect(x: bars.x + Double(i) * binWidth, y: top, width: binWidth, height: bars.maxY - top), Theme.accent.opacity(0.45))
    }
    notesDraw(canvas, notes, noteRect, noteStyle, lineHeight, theme)
  }

  /// The data area `plot` would take in `rect` (drawn on a scratch canvas that measures text as
  /// `canvas` does).
  static func dryArea(_ plot: Plot, _ rect: Rect, _ canvas: any Canvas, _ theme: Theme) -> Rect {
    plot.draw(on: RecordingCanvas(measurer: { canvas.measure($0, style: $1) }), in: rect, theme: theme)
  }

  /// The top of a count axis for counts up to `largest`, drawn `height` points tall: the least
  /// value ≥ `largest` whose ticks (as `Plot` picks them) are whole numbers.
  static func wholeCountTop(_ largest: Int, height: Double, theme: Theme) -> Double {
    let wanted = max(2, Int(height / (theme.tickSize * 3.5)))
    var top = max(2, largest)
    while top < largest * 3 + 10 {
      let t = Ticks.atLeast(3, 0, Double(top), count: wanted)
      if t.step >= 1, t.step == t.step.rounded(), let last = t.values.last, last >= Double(largest) { return Double(top) }
      top += 1
    }
    return Double(max(2, largest))
  }

  private static func notesDraw(_ canvas: any Canvas, _ notes: [String], _ rect: Rect, _ style: TextStyle, _ lineHeight: Double, _ theme: Theme) {
    for (i, note) in notes.enumerated() {
      let s = canvas.fitting(note, width: rect.width, style, minimum: theme.minimumSize)
      canvas.text(note, Point(rect.midX, rect.y + Double(i) * lineHeight), s, anchor: .top)
    }
  }

  /// The lines under a panel: the slope's convention, and what the marked z mean.
  static func activationNotes(kind: String, f: any Activation, marks: Marks?, lesson: Bool) -> [String] {
    var notes: [String]
    switch kind {
    case "relu": notes = ["f′(0) = 0 (convention)"]
    case "leaky_relu": notes = ["f′(0) = α (convention)"]
    case "sigmoid": notes = ["σ′ = σ·(1 − σ) ≤ 0.25"]
    default: notes = ["tanh′ = 1 − tanh²"]
    }
    guard let marks, !marks.z.isEmpty else { return notes }
    let n = Double(marks.z.count)
    switch kind {
    case "relu", "leaky_relu":
      let off = Double(marks.z.filter { $0 <= 0 }.count) / n
      notes.append("\(NumberFormat.percent(off, digits: 0)) of z ≤ 0 (\(kind == "relu" ? "no gradient" : "slope α"))")
    default:
      let saturated = Double(marks.z.filter { f.slope(z: $0, a: f.apply($0)) < 0.05 }.count) / n
      notes.append("\(NumberFormat.percent(saturated, digits: 0)) saturated (f′ < 0.05)")
    }
    return notes
  }
}
