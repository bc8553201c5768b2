/// The page a figure is made for: its size in points, and the type sizes and line weights that
/// read well there. One typeface throughout: DejaVu Sans (fontconfig substitutes its default
/// sans-serif face when DejaVu is not installed).
public struct Theme: Equatable, Sendable {
  /// `slide` or `print`.
  public let name: String
  /// The page: 960 × 540 pt for a 16:9 slide (13.33 × 7.5 in), 468 × 288 pt for print (6.5 in wide).
  public let size: Size
  /// White space around the figure.
  public let margin: Double
  /// Gap between panels.
  public let gap: Double
  /// Figure title.
  public let titleSize: Double
  /// Panel titles and axis titles.
  public let labelSize: Double
  /// Tick labels, legends, numbers in cells.
  public let tickSize: Double
  /// The smallest text a figure may use for words: titles, labels, ticks, legends, notes.
  public let minimumSize: Double
  /// The smallest text for a number written inside a grid cell (a pixel, a weight, a count);
  /// nothing at all is drawn smaller.
  public let cellMinimum: Double
  /// The least distance between two pieces of text, and between text and an image it is not
  /// written on.
  public let clearance: Double
  /// Pixels per inch of a PNG at the default scale (written in its pHYs chunk): 144 for a slide
  /// (scale 2, 1920 × 1080), 300 for print.
  public let dpi: Double
  /// Data lines.
  public let lineWidth: Double
  /// Axes and outlines.
  public let hairline: Double

  /// The typeface every figure uses.
  public static let fontFamily = "DejaVu Sans"
  /// Text and axes.
  public static let ink = Color(hex: 0x222222)
  /// Secondary text (subtitles, notes).
  public static let muted = Color(hex: 0x666666)
  /// Grid lines.
  public static let grid = Color(hex: 0xE3E3E3)
  /// The highlight for what a figure points at (conv windows, marked samples): Okabe–Ito vermillion.
  public static let accent = Color(hex: 0xD55E00)
  /// Figure background.
  public static let paper = Color.white

  /// A 16:9 slide, 960 × 540 pt; a 1920 × 1080 PNG at the default scale 2 (144 dpi).
  /// No text under 16 pt, except numbers inside grid cells (14 pt), so the back row reads it.
  public static let slide = Theme(
    name: "slide", size: Size(960, 540), margin: 24, gap: 24, titleSize: 26, labelSize: 18, tickSize: 16,
    minimumSize: 16, cellMinimum: 14, clearance: 1, dpi: 144, lineWidth: 2.5, hairline: 1)

  /// A handout figure 6.5 in wide, 468 × 288 pt, as a 300 dpi PNG (1950 × 1200). No text under 8 pt.
  public static let print = Theme(
    name: "print", size: Size(468, 288), margin: 10, gap: 10, titleSize: 12, labelSize: 9.5, tickSize: 8,
    minimumSize: 8, cellMinimum: 8, clearance: 0.5, dpi: 300, lineWidth: 1.25, hairline: 0.5)

  /// The most of a page's area (inside its margins) a figure may leave empty.
  public static let maximumEmptyShare = 0.25

  /// Pixels per point for a PNG at this theme's resolution: `dpi` / 72.
  public var defaultScale: Double { dpi / 72 }

  /// Both themes, by name.
  public static let all = [slide, print]

  /// Figure title style.
  public var title: TextStyle { TextStyle(size: titleSize, bold: true) }
  /// Panel and axis title style.
  public var label: TextStyle { TextStyle(size: labelSize) }
  /// Tick and legend style.
  public var tick: TextStyle { TextStyle(size: tickSize) }
  /// Secondary notes.
  public var note: TextStyle { TextStyle(size: tickSize, color: Theme.muted) }
}
