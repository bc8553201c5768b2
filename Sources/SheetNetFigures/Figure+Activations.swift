import SheetNet

/// `activations`: ReLU, LeakyReLU, sigmoid and tanh with their slopes f′(z), and where the
/// lesson's real pre-activations z fall on them (a histogram and dots on the curve).
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

  static func checkActivations(_ source: FigureSource) throws(FigureError) {}

  /// The lesson's activation layers run forward on up to 512 training samples; each kind's z
  /// values mark its panel.
  static func activations(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.activations)
    let train = run.split.train
    let n = min(train.count, 512)
    _ = forwardAll(source.model, train.x.gathering(rows: Array(0..<n)))
    var marks: [String: Marks] = [:]
    var alpha = 0.01
    for layer in source.model.layers {
      guard let activation = layer as? any Activation else { continue }
      if let leaky = layer as? LeakyReLU { alpha = leaky.alpha }
      marks[layer.kind, default: Marks(layers: [], z: [])].layers.append(layer.name)
      marks[layer.kind]!.z += activation.z.data
    }
    let used = marks.isEmpty ? "the lesson uses none of these (its network has no activation layers)"
      : marks.keys.sorted().map { "\(marks[$0]!.layers.joined(separator: ", "))" }.joined(separator: "; ")
    return activationCurves(
      theme: options.theme, leakyAlpha: alpha, marks: marks, lesson: true,
      title: "Activation functions and their slopes: \(state(source, options))",
      subtitle: marks.isEmpty ? used : "Marked: pre-activations z of \(NumberFormat.integer(n)) training samples in \(used)")
  }

  /// The four activation curves and their slopes, with optional marks per kind (`relu`,
  /// `leaky_relu`, `sigmoid`, `tanh`); with `lesson`, panels without marks say the network
  /// does not use them. Needs no lesson (the benchmark draws it bare).
  public static func activationCurves(theme: Theme, leakyAlpha: Double = 0.01, marks: [String: Marks] = [:], lesson: Bool = false,
                                      title: String = "Activation functions and their slopes",
                                      subtitle: String = "f(z) solid, f′(z) dashed") -> Figure {
    let functions: [String: any Activation] = [
      "relu": ReLU(), "leaky_relu": LeakyReLU(alpha: leakyAlpha), "sigmoid": Sigmoid(), "tanh": Tanh(),
    ]
    return Figure(name: "activations", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.5)
      var entries: [(label: String, color: Color, dash: [Double], marker: Bool)] = [
        ("f(z)", ClassColors.color(0), [], false), ("f′(z)", ClassColors.color(1), [theme.lineWidth * 2.5, theme.lineWidth * 1.6], false),
      ]
      if !marks.isEmpty { entries.append(("lesson's z", Theme.accent, [], true)) }
      canvas.legend(entries, in: legendStrip, theme: theme)
      let panels = rest.columns(4, gap: theme.gap)
      for (panel, (kind, name)) in zip(panels, activationPanels) {
        let f = functions[kind]!
        let title = kind == "leaky_relu" ? "\(name), α = \(NumberFormat.shortest(leakyAlpha))" : name
        activationPanel(canvas, panel, theme, f, kind: kind, title: title, marks: marks[kind], lesson: lesson)
      }
    }
  }

  /// One panel: f and f′ over z, a histogram of the marked z along the bottom, dots on f, and a
  /// note on what the marks mean for learning (inactive or saturated units).
  static func activationPanel(_ canvas: any Canvas, _ rect: Rect, _ theme: Theme, _ f: any Activation, kind: String, title: String, marks: Marks?, lesson: Bool) {
    let noteStyle = theme.note
    let lineHeight = canvas.measure("Ag", style: noteStyle).height
    let notes = activationNotes(kind: kind, f: f, marks: marks, lesson: lesson)
    let inner = canvas.titled(rect, title, theme, bold: true)
    let (noteRect, plotRect) = inner.splitBottom(lineHeight * Double(notes.count), gap: theme.gap * 0.4)
    // The z range: ±5, widened to the 1st…99th percentile of the marks.
    var lo = -5.0, hi = 5.0
    let sorted = (marks?.z ?? []).filter(\.isFinite).sorted()
    if sorted.count > 1 {
      lo = min(lo, sorted[sorted.count / 100])
      hi = max(hi, sorted[sorted.count - 1 - sorted.count / 100])
      (lo, hi) = Ticks.padded(lo, hi)
    }
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
    let plot = Plot(x: (lo, hi), y: (ylo, yhi), xTitle: "z", yTitle: "", series: [
      .init(points: Array(zip(zs, fs)).map { ($0.0, $0.1) }, color: ClassColors.color(0), label: "f(z)"),
      .init(points: slopes, color: ClassColors.color(1), label: "f′(z)", dash: [theme.lineWidth * 2.5, theme.lineWidth * 1.6]),
    ])
    let area = plot.draw(on: canvas, in: plotRect, theme: theme)
    if kinked {
      // The convention at the kink: f′(0) is the left slope (0 for ReLU, α for LeakyReLU).
      let atZero = f.slope(z: 0, a: 0)
      canvas.fill(Path.circle(plot.map(0, atZero, area), radius: theme.lineWidth * 1.4), ClassColors.color(1))
      canvas.stroke(Path.circle(plot.map(0, 1, area), radius: theme.lineWidth * 1.4), ClassColors.color(1), width: theme.hairline)
    }
    guard !sorted.isEmpty else { notesDraw(canvas, notes, noteRect, noteStyle, lineHeight); return }
    // Histogram along the bottom, at most a quarter of the plot's height.
    let bins = 40
    var counts = [Int](repeating: 0, count: bins)
    for z in sorted where z >= lo && z <= hi { counts[min(bins - 1, Int((z - lo) / (hi - lo) * Double(bins)))] += 1 }
    let tallest = Double(counts.max() ?? 1)
    let binWidth = area.width / Double(bins)
    for (i, c) in counts.enumerated() where c > 0 {
      let h = area.height * 0.25 * Double(c) / tallest
      canvas.fill(Rect(x: area.x + Double(i) * binWidth, y: area.maxY - h, width: binWidth, height: h), Theme.accent.opacity(0.3))
    }
    // Dots at 120 evenly spaced quantiles of z, on the curve.
    let dots = min(120, sorted.count)
    for i in 0..<dots {
      let z = sorted[Int(Double(i) / Double(max(dots - 1, 1)) * Double(sorted.count - 1))]
      guard z >= lo && z <= hi else { continue }
      canvas.fill(Path.circle(plot.map(z, f.apply(z), area), radius: theme.lineWidth * 0.9), Theme.accent.opacity(0.55))
    }
    notesDraw(canvas, notes, noteRect, noteStyle, lineHeight)
  }

  private static func notesDraw(_ canvas: any Canvas, _ notes: [String], _ rect: Rect, _ style: TextStyle, _ lineHeight: Double) {
    for (i, note) in notes.enumerated() {
      let s = canvas.fitting(note, width: rect.width, style, minimum: style.size * 0.85)
      canvas.text(note, Point(rect.midX, rect.y + Double(i) * lineHeight), s, anchor: .top)
    }
  }

  /// The lines under a panel: the slope's convention, and what the marked z mean.
  static func activationNotes(kind: String, f: any Activation, marks: Marks?, lesson: Bool) -> [String] {
    var notes: [String]
    switch kind {
    case "relu": notes = ["f′(0) = 0 by convention"]
    case "leaky_relu": notes = ["f′(0) = α by convention"]
    case "sigmoid": notes = ["f′(z) = σ(z)·(1 − σ(z)) ≤ 0.25"]
    default: notes = ["f′(z) = 1 − tanh²(z)"]
    }
    guard let marks, !marks.z.isEmpty else { return lesson ? notes + ["not in this network"] : notes }
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
