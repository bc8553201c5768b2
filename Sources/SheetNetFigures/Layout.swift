/// Layout by splitting rectangles: each function cuts a piece off a rectangle and returns the
/// piece and what is left, so a figure reads top to bottom as the page is divided.
extension Rect {
  /// The rectangle shrunk by `d` on every side.
  public func inset(_ d: Double) -> Rect { inset(top: d, left: d, bottom: d, right: d) }

  /// The rectangle shrunk by a margin on each side (never below zero size).
  public func inset(top: Double = 0, left: Double = 0, bottom: Double = 0, right: Double = 0) -> Rect {
    Rect(x: x + left, y: y + top, width: max(0, width - left - right), height: max(0, height - top - bottom))
  }

  /// Cuts `amount` off the top: (the strip, the rest below it after `gap`).
  public func splitTop(_ amount: Double, gap: Double = 0) -> (Rect, Rect) {
    let a = min(max(amount, 0), height)
    return (Rect(x: x, y: y, width: width, height: a), inset(top: min(a + gap, height)))
  }

  /// Cuts `amount` off the bottom: (the strip, the rest above it after `gap`).
  public func splitBottom(_ amount: Double, gap: Double = 0) -> (Rect, Rect) {
    let a = min(max(amount, 0), height)
    return (Rect(x: x, y: maxY - a, width: width, height: a), inset(bottom: min(a + gap, height)))
  }

  /// Cuts `amount` off the left: (the strip, the rest to its right after `gap`).
  public func splitLeft(_ amount: Double, gap: Double = 0) -> (Rect, Rect) {
    let a = min(max(amount, 0), width)
    return (Rect(x: x, y: y, width: a, height: height), inset(left: min(a + gap, width)))
  }

  /// Cuts `amount` off the right: (the strip, the rest to its left after `gap`).
  public func splitRight(_ amount: Double, gap: Double = 0) -> (Rect, Rect) {
    let a = min(max(amount, 0), width)
    return (Rect(x: maxX - a, y: y, width: a, height: height), inset(right: min(a + gap, width)))
  }

  /// `n` equal columns separated by `gap` (or by relative `weights`).
  public func columns(_ n: Int, gap: Double = 0, weights: [Double]? = nil) -> [Rect] {
    guard n > 0 else { return [] }
    let w = weights ?? [Double](repeating: 1, count: n)
    let total = w.reduce(0, +), free = max(0, width - gap * Double(n - 1))
    var left = x
    return w.map { wi in
      let r = Rect(x: left, y: y, width: free * wi / total, height: height)
      left += r.width + gap
      return r
    }
  }

  /// `n` equal rows separated by `gap` (or by relative `weights`).
  public func rows(_ n: Int, gap: Double = 0, weights: [Double]? = nil) -> [Rect] {
    guard n > 0 else { return [] }
    let w = weights ?? [Double](repeating: 1, count: n)
    let total = w.reduce(0, +), free = max(0, height - gap * Double(n - 1))
    var top = y
    return w.map { wi in
      let r = Rect(x: x, y: top, width: width, height: free * wi / total)
      top += r.height + gap
      return r
    }
  }

  /// A rows × columns grid of equal cells, row-major from the top left.
  public func grid(rows r: Int, columns c: Int, gap: Double = 0) -> [Rect] {
    rows(r, gap: gap).flatMap { $0.columns(c, gap: gap) }
  }

  /// The largest rectangle of aspect `width : height` centred inside this one.
  public func fitted(aspect: Double) -> Rect {
    guard aspect > 0, width > 0, height > 0 else { return self }
    if width / height > aspect {
      let w = height * aspect
      return Rect(x: midX - w / 2, y: y, width: w, height: height)
    }
    let h = width / aspect
    return Rect(x: x, y: midY - h / 2, width: width, height: h)
  }

  /// The best grid for `count` equal square-ish cells of aspect `aspect` (width/height) in this
  /// rectangle: (rows, columns) maximising the cell size.
  public func bestGrid(count: Int, aspect: Double = 1, gap: Double = 0) -> (rows: Int, columns: Int) {
    guard count > 0 else { return (0, 0) }
    var best = (rows: 1, columns: count), bestSide = 0.0
    for c in 1...count {
      let r = (count + c - 1) / c
      let cellW = (width - gap * Double(c - 1)) / Double(c), cellH = (height - gap * Double(r - 1)) / Double(r)
      let side = min(cellW, cellH * aspect)
      if side > bestSide { bestSide = side; best = (r, c) }
    }
    return best
  }
}

extension Canvas {
  /// Fills the page white, writes a title (and an optional subtitle below it) and returns the
  /// rest of the page inside the margins.
  public func page(_ size: Size, _ theme: Theme, title: String, subtitle: String = "") -> Rect {
    fill(Rect(size), Theme.paper)
    let body = Rect(size).inset(theme.margin)
    let titleStyle = fitting(title, width: body.width, theme.title, minimum: theme.labelSize)
    let titleHeight = measure("Ag", style: titleStyle).height
    let (top, rest) = body.splitTop(titleHeight, gap: theme.gap * 0.25)
    text(title, Point(top.x, top.y), titleStyle, anchor: .topLeft)
    guard !subtitle.isEmpty else { return rest.inset(top: theme.gap * 0.5) }
    let noteStyle = fitting(subtitle, width: body.width, theme.note, minimum: theme.minimumSize)
    let (sub, below) = rest.splitTop(measure("Ag", style: noteStyle).height, gap: theme.gap * 0.75)
    text(subtitle, Point(sub.x, sub.y), noteStyle, anchor: .topLeft)
    return below
  }

  /// `page` with the first of `titles` (longest first) that fits the page's width at no less than
  /// the label size, and the first of `subtitles` that fits at the minimum size; the last of each
  /// when none does.
  public func page(_ size: Size, _ theme: Theme, titles: [String], subtitles: [String]) -> Rect {
    let width = Rect(size).inset(theme.margin).width
    let title = firstFitting(titles, width: width, theme.title, minimum: theme.labelSize).text
    let subtitle = firstFitting(subtitles, width: width, theme.note, minimum: theme.minimumSize).text
    return page(size, theme, title: title, subtitle: subtitle)
  }

  /// The first of `candidates` (longest first) that fits `width` in `style`, shrunk down to
  /// `minimum` if need be, with the style it fits at; the last one, at `minimum`, when none fits.
  public func firstFitting(_ candidates: [String], width: Double, _ style: TextStyle, minimum: Double) -> (text: String, style: TextStyle) {
    for text in candidates {
      let fitted = fitting(text, width: width, style, minimum: minimum)
      if measure(text, style: fitted).width <= width { return (text, fitted) }
    }
    let last = candidates.last ?? ""
    return (last, fitting(last, width: width, style, minimum: minimum))
  }

  /// Writes a panel title centred above `rect` and returns the rest of `rect` below it.
  public func titled(_ rect: Rect, _ title: String, _ theme: Theme, bold: Bool = false) -> Rect {
    var style = fitting(title, width: rect.width, theme.label, minimum: theme.minimumSize)
    style.bold = bold
    let h = measure("Ag", style: style).height
    let (top, rest) = rect.splitTop(h, gap: theme.gap * 0.3)
    text(title, Point(top.midX, top.y), style, anchor: .top)
    return rest
  }
}
