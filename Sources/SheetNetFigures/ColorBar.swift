/// A vertical colour bar: the colormap from the scale's lower value (bottom) to its upper value
/// (top), tick labels on the right and a title above, so every coloured figure says what its
/// colours mean.
public struct ColorBar {
  /// The colormap shown.
  public var colormap: Colormap
  /// The values at the bottom and the top.
  public var scale: ColorScale
  /// What the colours measure, e.g. `∂L/∂W` or `activation`.
  public var title: String

  /// A colour bar.
  public init(colormap: Colormap, scale: ColorScale, title: String) {
    self.colormap = colormap
    self.scale = scale
    self.title = title
  }

  /// Nice ticks, at least three when the bar is tall enough for them; on a short bar its two ends.
  private func ticks(_ height: Double, _ theme: Theme) -> [(Double, String)] {
    let room = Int(height / (theme.tickSize * 2.2))
    guard room >= 3 else {
      let ends = [scale.lower, scale.upper]
      return Array(zip(ends, ends.map { NumberFormat.significant($0, 2) }))
    }
    let t = Ticks.atLeast(3, scale.lower, scale.upper, count: min(6, room))
    return Array(zip(t.values, NumberFormat.ticks(t.values, step: t.step)))
  }

  /// The width the bar, its ticks and its title need.
  public func width(on canvas: any Canvas, theme: Theme, height: Double = 200) -> Double {
    let labels = ticks(height, theme).map { canvas.measure($0.1, style: theme.tick).width }.max() ?? 0
    let titleWidth = canvas.measure(title, style: theme.tick).width
    return max(titleWidth, barWidth(theme) + theme.tickSize * 0.5 + labels)
  }

  private func barWidth(_ theme: Theme) -> Double { theme.tickSize * 1.1 }

  /// Draws the bar in `rect` (title on top, bar and ticks below it).
  public func draw(on canvas: any Canvas, in rect: Rect, theme: Theme) {
    let th = canvas.measure("Ag", style: theme.tick).height
    canvas.text(title, Point(rect.x, rect.y), theme.tick, anchor: .topLeft)
    let bar = Rect(x: rect.x, y: rect.y + th * 1.6, width: barWidth(theme), height: max(0, rect.height - th * 2.1))
    guard bar.height > 0 else { return }
    let steps = 128
    let pixels = (0..<steps).map { i in colormap(1 - (Double(i) + 0.5) / Double(steps)) }
    canvas.image(Raster(width: 1, height: steps, pixels: pixels), in: bar)
    canvas.stroke(bar, Theme.ink, width: theme.hairline)
    let th2 = canvas.measure("0", style: theme.tick).height
    let labels = ticks(bar.height, theme)
    let ends = labels.count == 2 && labels[0].0 == scale.lower && labels[1].0 == scale.upper
    for (k, (v, s)) in labels.enumerated() {
      let t = scale(v)
      guard t >= -1e-9 && t <= 1 + 1e-9 else { continue }
      let y = bar.maxY - t * bar.height
      canvas.line(Point(bar.maxX, y), Point(bar.maxX + theme.tickSize * 0.3, y), Theme.ink, width: theme.hairline)
      // A short bar labels only its ends: inside its height when two labels fit, else beyond it.
      let anchor: Anchor = !ends ? .left : bar.height >= 2.2 * th2 ? (k == 0 ? .bottomLeft : .topLeft) : (k == 0 ? .topLeft : .bottomLeft)
      canvas.text(s, Point(bar.maxX + theme.tickSize * 0.5, y), theme.tick, anchor: anchor)
    }
  }

  // MARK: One line

  private func endLabels() -> (String, String) {
    (NumberFormat.significant(scale.lower, 2), NumberFormat.significant(scale.upper, 2))
  }

  /// The width of the one-line form: lower value, a horizontal strip, upper value.
  public func inlineWidth(on canvas: any Canvas, theme: Theme) -> Double {
    let (lo, hi) = endLabels()
    return canvas.measure(lo, style: theme.tick).width + canvas.measure(hi, style: theme.tick).width + theme.tickSize * 4.4
  }

  /// The one-line form for rows too short for a vertical bar: "−2.8 ▬▬▬ 4.4" starting at `origin`
  /// (left end, vertical middle).
  public func drawInline(on canvas: any Canvas, at origin: Point, theme: Theme) {
    let (lo, hi) = endLabels()
    let loBox = canvas.text(lo, origin, theme.tick, anchor: .left)
    let strip = Rect(x: loBox.maxX + theme.tickSize * 0.4, y: origin.y - theme.tickSize * 0.35, width: theme.tickSize * 3.6, height: theme.tickSize * 0.7)
    let steps = 64
    canvas.image(Raster(width: steps, height: 1, pixels: (0..<steps).map { colormap((Double($0) + 0.5) / Double(steps)) }), in: strip)
    canvas.stroke(strip, Theme.ink, width: theme.hairline)
    canvas.text(hi, Point(strip.maxX + theme.tickSize * 0.4, origin.y), theme.tick, anchor: .left)
  }
}
