/// What a figure asks of a drawing surface: fill and stroke paths, write and measure text, and
/// place images. Everything else (rectangles, aligned text, arrows) is built on these in the
/// extension below, so a new backend implements five methods.
///
/// Implementations: `CairoCanvas` (CairoKit) for PNG, SVG and PDF; `RecordingCanvas` for tests.
public protocol Canvas: AnyObject {
  /// Fills the inside of `path` (non-zero winding rule).
  func fill(_ path: Path, _ color: Color)
  /// Strokes `path` with a line of `width` points; `dash` gives on/off lengths (empty: solid).
  func stroke(_ path: Path, _ color: Color, width: Double, dash: [Double])
  /// Writes `string` with its baseline starting at `origin` (before any rotation).
  func text(_ string: String, at origin: Point, style: TextStyle)
  /// The advance width and the font's ascent and descent of `string` in `style`.
  func measure(_ string: String, style: TextStyle) -> TextExtents
  /// Draws `raster` stretched over `rect`, each pixel a sharp rectangle (no smoothing).
  func image(_ raster: Raster, in rect: Rect)
}

/// How text looks: size, weight, colour and direction. The family is the theme's one typeface.
public struct TextStyle: Equatable, Sendable {
  /// Font size in points.
  public var size: Double
  /// Bold or regular.
  public var bold: Bool
  /// Fill colour.
  public var color: Color
  /// True to read bottom-to-top (an axis title on the left), rotated a quarter turn.
  public var vertical: Bool

  /// A text style.
  public init(size: Double, bold: Bool = false, color: Color = Theme.ink, vertical: Bool = false) {
    self.size = size
    self.bold = bold
    self.color = color
    self.vertical = vertical
  }

  /// The same style in another colour.
  public func colored(_ c: Color) -> TextStyle { var s = self; s.color = c; return s }
  /// The same style, bold.
  public var emphasized: TextStyle { var s = self; s.bold = true; return s }
  /// The same style at another size.
  public func sized(_ size: Double) -> TextStyle { var s = self; s.size = size; return s }
}

/// Measured text: advance width, and the font's ascent and descent above and below the baseline
/// (font-wide, so lines of different text align).
public struct TextExtents: Equatable, Sendable {
  /// Horizontal advance in points.
  public var width: Double
  /// Height above the baseline.
  public var ascent: Double
  /// Depth below the baseline.
  public var descent: Double
  /// ascent + descent.
  public var height: Double { ascent + descent }

  /// Extents.
  public init(width: Double, ascent: Double, descent: Double) {
    self.width = width
    self.ascent = ascent
    self.descent = descent
  }
}

/// Where a point sits on a piece of text.
public struct Anchor: Equatable, Sendable {
  /// Horizontal: 0 left, 0.5 centre, 1 right.
  public var x: Double
  /// Vertical: 0 top (ascent), 0.5 middle, 1 bottom (descent).
  public var y: Double

  /// An anchor from fractions of the text box.
  public init(x: Double, y: Double) {
    self.x = x
    self.y = y
  }

  public static let center = Anchor(x: 0.5, y: 0.5)
  public static let left = Anchor(x: 0, y: 0.5)
  public static let right = Anchor(x: 1, y: 0.5)
  public static let top = Anchor(x: 0.5, y: 0)
  public static let bottom = Anchor(x: 0.5, y: 1)
  public static let topLeft = Anchor(x: 0, y: 0)
  public static let topRight = Anchor(x: 1, y: 0)
  public static let bottomLeft = Anchor(x: 0, y: 1)
  public static let bottomRight = Anchor(x: 1, y: 1)
}

extension Canvas {
  /// Fills a rectangle.
  public func fill(_ rect: Rect, _ color: Color) { fill(Path.rect(rect), color) }

  /// Strokes a rectangle's outline.
  public func stroke(_ rect: Rect, _ color: Color, width: Double = 1) { stroke(Path.rect(rect), color, width: width, dash: []) }

  /// Strokes a path with a solid line.
  public func stroke(_ path: Path, _ color: Color, width: Double = 1) { stroke(path, color, width: width, dash: []) }

  /// A straight line.
  public func line(_ a: Point, _ b: Point, _ color: Color, width: Double = 1, dash: [Double] = []) {
    stroke(Path.line(a, b), color, width: width, dash: dash)
  }

  /// Writes `string` so that `anchor` of its box lies at `point`; returns the box it occupies.
  /// Vertical text turns its box a quarter turn counter-clockwise about `point`'s anchor.
  @discardableResult
  public func text(_ string: String, _ point: Point, _ style: TextStyle, anchor: Anchor = .center) -> Rect {
    guard !string.isEmpty else { return Rect(x: point.x, y: point.y, width: 0, height: 0) }
    let e = measure(string, style: style)
    if style.vertical {
      // Reading upwards: the text's width runs along −y, its height along +x.
      let box = Rect(x: point.x - anchor.y * e.height, y: point.y - (1 - anchor.x) * e.width, width: e.height, height: e.width)
      text(string, at: Point(box.x + e.ascent, box.maxY), style: style)
      return box
    }
    let box = Rect(x: point.x - anchor.x * e.width, y: point.y - anchor.y * e.height, width: e.width, height: e.height)
    text(string, at: Point(box.x, box.y + e.ascent), style: style)
    return box
  }

  /// The largest size ≤ `style.size` (down to `minimum`) at which `string` fits `width`.
  public func fitting(_ string: String, width: Double, _ style: TextStyle, minimum: Double) -> TextStyle {
    var s = style
    while s.size > minimum, measure(string, style: s).width > width { s.size = max(minimum, s.size - 0.5) }
    return s
  }

  /// An arrow from `a` to `b` with a filled head of length `head`.
  public func arrow(_ a: Point, _ b: Point, _ color: Color, width: Double = 1, head: Double = 6) {
    let dx = b.x - a.x, dy = b.y - a.y
    let length = (dx * dx + dy * dy).squareRoot()
    guard length > 0 else { return }
    let (ux, uy) = (dx / length, dy / length)
    let base = Point(b.x - ux * head, b.y - uy * head)
    line(a, base, color, width: width)
    var p = Path()
    p.move(to: b)
    p.line(to: Point(base.x - uy * head * 0.45, base.y + ux * head * 0.45))
    p.line(to: Point(base.x + uy * head * 0.45, base.y - ux * head * 0.45))
    p.close()
    fill(p, color)
  }
}
