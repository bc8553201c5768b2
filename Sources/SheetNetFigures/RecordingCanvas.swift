/// A canvas that draws nothing and remembers every call, so tests can ask what a figure drew
/// where: which numbers, in which boxes, over which colours (plotters' mocked backend).
public final class RecordingCanvas: Canvas {
  /// One drawing call.
  public enum Operation: Equatable {
    /// `fill(path, color)`.
    case fill(Path, Color)
    /// `stroke(path, color, width, dash)`.
    case stroke(Path, Color, width: Double, dash: [Double])
    /// `text(string, origin, style)` with the box the text occupies.
    case text(String, origin: Point, style: TextStyle, box: Rect)
    /// `image(raster, rect)`.
    case image(Raster, Rect)
  }

  /// A piece of text as placed: its string, its box and its style.
  public struct PlacedText: Equatable {
    /// The characters.
    public var string: String
    /// The box it covers on the page (ascent to descent, advance wide).
    public var box: Rect
    /// Its style.
    public var style: TextStyle
  }

  /// Every call, in order.
  public private(set) var operations: [Operation] = []
  /// How text is measured: by default a stand-in for DejaVu Sans (0.6 em per character,
  /// ascent 0.93 em, descent 0.24 em); tests may pass a real font's metrics.
  public let measurer: (String, TextStyle) -> TextExtents

  /// A recording canvas measuring text with `measurer` (approximate metrics when nil).
  public init(measurer: ((String, TextStyle) -> TextExtents)? = nil) {
    self.measurer = measurer ?? { s, style in
      TextExtents(width: 0.6 * style.size * Double(s.count), ascent: 0.93 * style.size, descent: 0.24 * style.size)
    }
  }

  public func fill(_ path: Path, _ color: Color) { operations.append(.fill(path, color)) }

  public func stroke(_ path: Path, _ color: Color, width: Double, dash: [Double]) {
    operations.append(.stroke(path, color, width: width, dash: dash))
  }

  public func text(_ string: String, at origin: Point, style: TextStyle) {
    let e = measure(string, style: style)
    let box = style.vertical
      ? Rect(x: origin.x - e.ascent, y: origin.y - e.width, width: e.height, height: e.width)
      : Rect(x: origin.x, y: origin.y - e.ascent, width: e.width, height: e.height)
    operations.append(.text(string, origin: origin, style: style, box: box))
  }

  public func measure(_ string: String, style: TextStyle) -> TextExtents { measurer(string, style) }

  public func image(_ raster: Raster, in rect: Rect) { operations.append(.image(raster, rect)) }

  /// Every piece of text, in drawing order.
  public var texts: [PlacedText] {
    operations.compactMap {
      if case .text(let s, _, let style, let box) = $0 { return PlacedText(string: s, box: box, style: style) }
      return nil
    }
  }

  /// The text pieces whose string is exactly `s`.
  public func texts(_ s: String) -> [PlacedText] { texts.filter { $0.string == s } }

  /// Every image with the rectangle it fills.
  public var images: [(raster: Raster, rect: Rect)] {
    operations.compactMap {
      if case .image(let r, let rect) = $0 { return (r, rect) }
      return nil
    }
  }

  /// Pairs of text boxes that overlap by more than `tolerance` points in both directions.
  public func overlappingTexts(tolerance: Double = 0.5) -> [(PlacedText, PlacedText)] {
    let all = texts.filter { !$0.string.allSatisfy(\.isWhitespace) }
    var pairs: [(PlacedText, PlacedText)] = []
    for i in all.indices {
      let a = all[i].box.inset(tolerance)
      for j in all.indices where j > i && a.intersects(all[j].box.inset(tolerance)) { pairs.append((all[i], all[j])) }
    }
    return pairs
  }

  /// Text pieces that stick out of `bounds` (e.g. the page).
  public func textsOutside(_ bounds: Rect) -> [PlacedText] { texts.filter { !bounds.contains($0.box) } }

  /// The smallest font size used.
  public var smallestTextSize: Double? { texts.map(\.style.size).min() }
}
