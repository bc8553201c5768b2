/// SheetNetFigures: the figure catalogue drawn against a small `Canvas` protocol, with the
/// colormaps, layout and typography every figure shares. It never imports Cairo; `CairoKit`
/// renders a `Figure` to PNG, SVG or PDF, and `RecordingCanvas` lets tests read what was drawn.
///
/// Coordinates are in points (1/72 inch), origin at the top left, y growing downwards.

/// A point in figure coordinates (points, y down).
public struct Point: Equatable, Sendable {
  /// Horizontal position.
  public var x: Double
  /// Vertical position, growing downwards.
  public var y: Double
  /// A point.
  public init(_ x: Double, _ y: Double) {
    self.x = x
    self.y = y
  }
}

/// A width and a height in points.
public struct Size: Equatable, Sendable {
  /// Horizontal extent.
  public var width: Double
  /// Vertical extent.
  public var height: Double
  /// A size.
  public init(_ width: Double, _ height: Double) {
    self.width = width
    self.height = height
  }
}

/// An axis-aligned rectangle: its top-left corner and its size.
public struct Rect: Equatable, Sendable {
  /// Left edge.
  public var x: Double
  /// Top edge.
  public var y: Double
  /// Width (never negative once built by the layout functions).
  public var width: Double
  /// Height.
  public var height: Double

  /// A rectangle from its top-left corner and size.
  public init(x: Double, y: Double, width: Double, height: Double) {
    self.x = x
    self.y = y
    self.width = width
    self.height = height
  }

  /// A rectangle at the origin of `size`.
  public init(_ size: Size) { self.init(x: 0, y: 0, width: size.width, height: size.height) }

  /// Right edge, x + width.
  public var maxX: Double { x + width }
  /// Bottom edge, y + height.
  public var maxY: Double { y + height }
  /// Horizontal centre.
  public var midX: Double { x + width / 2 }
  /// Vertical centre.
  public var midY: Double { y + height / 2 }
  /// The centre point.
  public var center: Point { Point(midX, midY) }

  /// True when the two rectangles share interior area (touching edges do not count).
  public func intersects(_ other: Rect) -> Bool {
    x < other.maxX && other.x < maxX && y < other.maxY && other.y < maxY
  }

  /// True when `other` lies entirely inside this rectangle (within `tolerance` points).
  public func contains(_ other: Rect, tolerance: Double = 0.5) -> Bool {
    other.x >= x - tolerance && other.y >= y - tolerance && other.maxX <= maxX + tolerance && other.maxY <= maxY + tolerance
  }

  /// True when `p` lies inside or on the edge.
  public func contains(_ p: Point) -> Bool { p.x >= x && p.x <= maxX && p.y >= y && p.y <= maxY }
}

/// A drawing path: moves, straight lines, cubic Bézier curves and circular arcs.
public struct Path: Equatable, Sendable {
  /// One step of a path.
  public enum Element: Equatable, Sendable {
    /// Starts a new sub-path at a point.
    case move(Point)
    /// A straight line to a point.
    case line(Point)
    /// A cubic Bézier curve through two control points to an end point.
    case curve(Point, Point, Point)
    /// A circular arc around a centre, from angle `start` to `end` (radians, clockwise on screen).
    case arc(center: Point, radius: Double, start: Double, end: Double)
    /// Closes the current sub-path with a straight line to its start.
    case close
  }

  /// The steps, in order.
  public var elements: [Element] = []

  /// An empty path.
  public init() {}

  /// Starts a sub-path at `p`.
  public mutating func move(to p: Point) { elements.append(.move(p)) }
  /// A line to `p`.
  public mutating func line(to p: Point) { elements.append(.line(p)) }
  /// A cubic curve to `p` with control points `c1`, `c2`.
  public mutating func curve(to p: Point, _ c1: Point, _ c2: Point) { elements.append(.curve(c1, c2, p)) }
  /// Closes the current sub-path.
  public mutating func close() { elements.append(.close) }

  /// A rectangle.
  public static func rect(_ r: Rect) -> Path {
    var p = Path()
    p.move(to: Point(r.x, r.y))
    p.line(to: Point(r.maxX, r.y))
    p.line(to: Point(r.maxX, r.maxY))
    p.line(to: Point(r.x, r.maxY))
    p.close()
    return p
  }

  /// A rectangle with corners rounded by `radius`.
  public static func roundedRect(_ r: Rect, radius: Double) -> Path {
    let k = min(radius, r.width / 2, r.height / 2)
    guard k > 0 else { return rect(r) }
    var p = Path()
    p.elements = [
      .arc(center: Point(r.x + k, r.y + k), radius: k, start: .pi, end: 1.5 * .pi),
      .arc(center: Point(r.maxX - k, r.y + k), radius: k, start: 1.5 * .pi, end: 2 * .pi),
      .arc(center: Point(r.maxX - k, r.maxY - k), radius: k, start: 0, end: 0.5 * .pi),
      .arc(center: Point(r.x + k, r.maxY - k), radius: k, start: 0.5 * .pi, end: .pi),
      .close,
    ]
    return p
  }

  /// A circle.
  public static func circle(_ center: Point, radius: Double) -> Path {
    var p = Path()
    p.elements = [.move(Point(center.x + radius, center.y)), .arc(center: center, radius: radius, start: 0, end: 2 * .pi), .close]
    return p
  }

  /// A straight segment.
  public static func line(_ a: Point, _ b: Point) -> Path {
    var p = Path()
    p.move(to: a)
    p.line(to: b)
    return p
  }

  /// A polyline through `points` (empty when there are none).
  public static func polyline(_ points: [Point]) -> Path {
    var p = Path()
    for (i, q) in points.enumerated() { i == 0 ? p.move(to: q) : p.line(to: q) }
    return p
  }

  /// The points of a polyline that matter at `tolerance` (Douglas–Peucker): the first and last,
  /// and recursively the point farthest from the chord between two kept points while it lies
  /// more than `tolerance` away. The line drawn through them strays from the full one by at most
  /// `tolerance`, so a smooth curve sampled densely keeps its look with far fewer points (and a
  /// vector file far fewer numbers). Deterministic.
  public static func essential(_ points: [Point], tolerance: Double) -> [Point] {
    guard points.count > 2 else { return points }
    var keep = [Bool](repeating: false, count: points.count)
    keep[0] = true
    keep[points.count - 1] = true
    var spans = [(0, points.count - 1)]
    while let (a, b) = spans.popLast() {
      guard b > a + 1 else { continue }
      let (p, q) = (points[a], points[b])
      let dx = q.x - p.x, dy = q.y - p.y, length = (dx * dx + dy * dy).squareRoot()
      var farthest = a, distance = -1.0
      for i in a + 1..<b {
        let r = points[i]
        // Distance from r to the chord p–q (to p itself when p and q coincide).
        let d = length > 0 ? abs(dx * (r.y - p.y) - dy * (r.x - p.x)) / length : ((r.x - p.x) * (r.x - p.x) + (r.y - p.y) * (r.y - p.y)).squareRoot()
        if d > distance { (farthest, distance) = (i, d) }
      }
      if distance > tolerance {
        keep[farthest] = true
        spans.append((a, farthest))
        spans.append((farthest, b))
      }
    }
    return points.indices.filter { keep[$0] }.map { points[$0] }
  }
}
