import Foundation

/// Tick positions a reader can add up in their head: steps of 1, 2 or 5 × 10ᵏ.
public enum Ticks {
  /// Between `count`/2 and `count` ticks covering [lower, upper], on multiples of a nice step.
  public static func nice(_ lower: Double, _ upper: Double, count: Int = 5) -> (values: [Double], step: Double) {
    guard lower.isFinite, upper.isFinite, upper > lower else { return ([lower], 1) }
    let raw = (upper - lower) / Double(max(count, 1))
    let power = pow(10, floor(log10(raw)))
    let step = [1.0, 2, 2.5, 5, 10].map { $0 * power }.first { $0 >= raw } ?? 10 * power
    var values: [Double] = []
    var v = (lower / step).rounded(.up) * step
    while v <= upper + step * 1e-9 {
      values.append(abs(v) < step * 1e-9 ? 0 : v)
      v += step
    }
    return (values, step)
  }

  /// Nice ticks, asking for more until there are at least `minimum` of them inside the range.
  public static func atLeast(_ minimum: Int, _ lower: Double, _ upper: Double, count: Int) -> (values: [Double], step: Double) {
    var n = count, t = nice(lower, upper, count: n)
    while t.values.count < minimum && n < 12 {
      n += 1
      t = nice(lower, upper, count: n)
    }
    return t
  }

  /// A range widened to whole ticks: nice(0.13, 0.91) → (0, 1).
  public static func padded(_ lower: Double, _ upper: Double, count: Int = 5) -> (Double, Double) {
    guard upper > lower else { return (lower - 1, upper + 1) }
    let step = nice(lower, upper, count: count).step
    return ((lower / step).rounded(.down) * step, (upper / step).rounded(.up) * step)
  }

  /// Powers of ten covering [lower, upper] (both > 0) for a logarithmic axis.
  public static func decades(_ lower: Double, _ upper: Double) -> [Double] {
    guard lower > 0, upper >= lower else { return [1] }
    let a = Int(floor(log10(lower))), b = Int(ceil(log10(upper)))
    return (a...max(a, b)).map { pow(10, Double($0)) }
  }
}

/// A 2-D line and scatter chart: axes with ticks and titles, lines, markers and a legend.
public struct Plot {
  /// One line (or marker set) of the chart.
  public struct Series {
    /// Points in data coordinates; non-finite points break the line.
    public var points: [(x: Double, y: Double)]
    /// Line or marker colour.
    public var color: Color
    /// Legend text ("" to leave it out of the legend).
    public var label: String
    /// Dash pattern (empty: solid).
    public var dash: [Double] = []
    /// Marker radius for scatter series (0: a line).
    public var marker: Double = 0
    /// Line width as a multiple of the theme's.
    public var weight: Double = 1

    /// A series.
    public init(points: [(x: Double, y: Double)], color: Color, label: String, dash: [Double] = [], marker: Double = 0, weight: Double = 1) {
      self.points = points
      self.color = color
      self.label = label
      self.dash = dash
      self.marker = marker
      self.weight = weight
    }
  }

  /// The x range shown.
  public var x: (lower: Double, upper: Double)
  /// The y range shown.
  public var y: (lower: Double, upper: Double)
  /// log₁₀ y axis (y range must be positive).
  public var logY = false
  /// Axis titles.
  public var xTitle: String, yTitle: String
  /// The series, drawn in order.
  public var series: [Series]
  /// Label the y axis in percent (values are fractions).
  public var percentY = false
  /// Only whole numbers on the x axis (epochs).
  public var wholeX = false
  /// No y ticks or labels (bar charts label their bars instead).
  public var hideY = false
  /// A fixed step between x ticks (ticks on its multiples); nil picks a nice step for the width.
  public var xStep: Double? = nil

  /// A chart.
  public init(x: (Double, Double), y: (Double, Double), xTitle: String, yTitle: String, series: [Series], logY: Bool = false) {
    self.x = x
    self.y = y
    self.xTitle = xTitle
    self.yTitle = yTitle
    self.series = series
    self.logY = logY
  }

  /// Where data point (x, y) lands in `area`.
  public func map(_ px: Double, _ py: Double, _ area: Rect) -> Point {
    let tx = (px - x.lower) / max(x.upper - x.lower, 1e-300)
    let ty = logY
      ? (log10(max(py, 1e-300)) - log10(y.lower)) / max(log10(y.upper) - log10(y.lower), 1e-300)
      : (py - y.lower) / max(y.upper - y.lower, 1e-300)
    return Point(area.x + tx * area.width, area.maxY - min(max(ty, 0), 1) * area.height)
  }

  /// Draws the chart in `rect` and returns the data area (inside the axes). `underlay` paints
  /// the data area first (an image of the plane); grid lines are then left out.
  @discardableResult
  public func draw(on canvas: any Canvas, in rect: Rect, theme: Theme, underlay: ((Rect) -> Void)? = nil) -> Rect {
    let tick = theme.tick, label = theme.label
    var xt = Ticks.atLeast(3, x.lower, x.upper, count: max(2, Int(rect.width / (theme.tickSize * 6))))
    if wholeX && xt.step < 1 { xt = (Array(stride(from: x.lower.rounded(.up), through: x.upper, by: 1)), 1) }
    // A step of 2.5 (nice for measures, not for counts) becomes 2 when that keeps the ticks
    // apart, else 5: epochs 0…10 get 0, 2, 4, … instead of 2.5, 5, 7.5.
    if wholeX && xt.step.rounded() != xt.step {
      let wanted = max(2, Int(rect.width / (theme.tickSize * 6)))
      let whole = ((x.upper - x.lower) / 2).rounded(.up) <= Double(wanted) ? 2.0 : 5.0
      xt = (Array(stride(from: (x.lower / whole).rounded(.up) * whole, through: x.upper + whole * 1e-9, by: whole)), whole)
    }
    if let xStep, xStep > 0 { xt = (Array(stride(from: (x.lower / xStep).rounded(.up) * xStep, through: x.upper + xStep * 1e-9, by: xStep)), xStep) }
    let yValues: [Double], yLabels: [String]
    if hideY {
      yValues = []
      yLabels = []
    } else if logY {
      yValues = Ticks.decades(y.lower, y.upper).filter { $0 >= y.lower * 0.999 && $0 <= y.upper * 1.001 }
      yLabels = yValues.map { NumberFormat.scientific($0, significant: 1).replacingOccurrences(of: "1×", with: "") }
    } else {
      let yt = Ticks.atLeast(3, y.lower, y.upper, count: max(2, Int(rect.height / (theme.tickSize * 3.5))))
      yValues = yt.values
      yLabels = percentY ? NumberFormat.ticks(yt.values.map { $0 * 100 }, step: yt.step * 100).map { $0 + "%" }
        : NumberFormat.ticks(yt.values, step: yt.step)
    }
    let xLabels = NumberFormat.ticks(xt.values, step: xt.step)
    let th = canvas.measure("0", style: tick).height, lh = canvas.measure("Ag", style: label).height
    let yLabelWidth = yLabels.map { canvas.measure($0, style: tick).width }.max() ?? 0
    let pad = theme.tickSize * 0.4
    let lastX = canvas.measure(xLabels.last ?? "", style: tick).width / 2
    let area = rect.inset(top: th / 2, left: (yTitle.isEmpty ? 0 : lh + pad) + yLabelWidth + pad * 2, bottom: th + pad * 2 + (xTitle.isEmpty ? 0 : lh + pad), right: lastX)
    underlay?(area)
    let tickLength = underlay == nil ? 0 : pad
    // Grid (or tick marks outside an underlay) and tick labels.
    for (v, s) in zip(yValues, yLabels) {
      let p = map(x.lower, v, area)
      if underlay == nil { canvas.line(Point(area.x, p.y), Point(area.maxX, p.y), Theme.grid, width: theme.hairline) }
      else { canvas.line(Point(area.x - tickLength, p.y), Point(area.x, p.y), Theme.ink, width: theme.hairline) }
      canvas.text(s, Point(area.x - pad * 1.5, p.y), tick, anchor: .right)
    }
    for (v, s) in zip(xt.values, xLabels) {
      let p = map(v, y.lower, area)
      if underlay == nil { canvas.line(Point(p.x, area.y), Point(p.x, area.maxY), Theme.grid, width: theme.hairline) }
      else { canvas.line(Point(p.x, area.maxY), Point(p.x, area.maxY + tickLength), Theme.ink, width: theme.hairline) }
      // Below the axis, and clear of the lowest y label (centred on the axis) at the corner.
      canvas.text(s, Point(p.x, area.maxY + max(pad * 1.5, th / 2 + theme.clearance * 2)), tick, anchor: .top)
    }
    canvas.stroke(area, Theme.ink, width: theme.hairline)
    if !xTitle.isEmpty { canvas.text(xTitle, Point(area.midX, rect.maxY), label, anchor: .bottom) }
    if !yTitle.isEmpty {
      var v = label
      v.vertical = true
      canvas.text(yTitle, Point(rect.x, area.midY), v, anchor: Anchor(x: 0.5, y: 0))
    }
    // Data.
    for s in series {
      if s.marker > 0 {
        for q in s.points where q.x.isFinite && q.y.isFinite {
          canvas.fill(Path.circle(map(q.x, q.y, area), radius: s.marker), s.color)
        }
        continue
      }
      var run: [Point] = []
      func flush() {
        // Points within 0.02 pt of the line through their neighbours add nothing a reader can see.
        if run.count > 1 { canvas.stroke(Path.polyline(Path.essential(run, tolerance: 0.02)), s.color, width: theme.lineWidth * s.weight, dash: s.dash) }
        run = []
      }
      for q in s.points {
        if q.x.isFinite && q.y.isFinite && (!logY || q.y > 0) { run.append(map(q.x, q.y, area)) } else { flush() }
      }
      flush()
    }
    return area
  }
}

extension Canvas {
  /// A legend in one row, right-aligned in `rect`: a short line (or dot) and the label per entry.
  public func legend(_ entries: [(label: String, color: Color, dash: [Double], marker: Bool)], in rect: Rect, theme: Theme) {
    let style = theme.tick
    let swatch = theme.tickSize * 1.8, gap = theme.tickSize * 0.4, spacing = theme.tickSize * 1.2
    let widths = entries.map { swatch + gap + measure($0.label, style: style).width }
    var x = rect.maxX - widths.reduce(0, +) - spacing * Double(max(entries.count - 1, 0))
    for (e, w) in zip(entries, widths) {
      let y = rect.midY
      if e.marker {
        fill(Path.circle(Point(x + swatch / 2, y), radius: theme.tickSize * 0.3), e.color)
      } else {
        line(Point(x, y), Point(x + swatch, y), e.color, width: theme.lineWidth, dash: e.dash)
      }
      text(e.label, Point(x + swatch + gap, y), style, anchor: .left)
      x += w + spacing
    }
  }
}
