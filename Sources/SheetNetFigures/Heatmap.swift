/// A grid of numbers shown as coloured cells, each with its value written in when it fits.
public struct Heatmap {
  /// Values row-major, `columns` per row.
  public var values: [Double]
  /// Rows and columns.
  public var rows: Int, columns: Int
  /// How values become colours.
  public var colormap: Colormap
  /// Which values map to the ends of the colormap.
  public var scale: ColorScale
  /// Write each value in its cell (when the cell is large enough), with this many significant digits.
  public var numbers: Int? = 2
  /// Thin lines between cells (for grids read cell by cell, like a convolution's input).
  public var cellLines = false

  /// A heat map.
  public init(values: [Double], rows: Int, columns: Int, colormap: Colormap, scale: ColorScale, numbers: Int? = 2, cellLines: Bool = false) {
    precondition(values.count == rows * columns, "Heatmap \(rows)×\(columns) needs \(rows * columns) values, got \(values.count)")
    self.values = values
    self.rows = rows
    self.columns = columns
    self.colormap = colormap
    self.scale = scale
    self.numbers = numbers
    self.cellLines = cellLines
  }

  /// The rectangle of cell (r, c) when the map fills `rect`.
  public func cell(_ r: Int, _ c: Int, in rect: Rect) -> Rect {
    let w = rect.width / Double(columns), h = rect.height / Double(rows)
    return Rect(x: rect.x + Double(c) * w, y: rect.y + Double(r) * h, width: w, height: h)
  }

  /// The text written in each cell: fewer digits for whole numbers (counts, pixels).
  public func label(_ v: Double) -> String {
    if v == v.rounded() && abs(v) < 1e5 { return NumberFormat.fixed(v, digits: 0) }
    return NumberFormat.significant(v, numbers ?? 2)
  }

  /// The text size at which every number fits its cell, or nil when even the theme's
  /// smallest size for numbers in cells (`cellMinimum`) does not.
  public func numberSize(on canvas: any Canvas, cell: Size, theme: Theme) -> Double? {
    guard numbers != nil else { return nil }
    let widest = values.map(label).max { $0.count < $1.count } ?? ""
    var size = min(theme.tickSize, cell.height * 0.5)
    while size >= theme.cellMinimum {
      if canvas.measure(widest, style: TextStyle(size: size)).width <= cell.width * 0.9 { return size }
      size -= 0.5
    }
    return nil
  }

  /// Draws the cells in `rect` with square-or-not cells filling it, numbers where they fit,
  /// and an outline. Returns whether numbers were written.
  @discardableResult
  public func draw(on canvas: any Canvas, in rect: Rect, theme: Theme) -> Bool {
    canvas.image(Raster(values: values, width: columns, colormap: colormap, scale: scale), in: rect)
    if cellLines {
      for r in 1..<max(rows, 1) {
        let y = rect.y + rect.height * Double(r) / Double(rows)
        canvas.line(Point(rect.x, y), Point(rect.maxX, y), Color.white.opacity(0.9), width: theme.hairline)
      }
      for c in 1..<max(columns, 1) {
        let x = rect.x + rect.width * Double(c) / Double(columns)
        canvas.line(Point(x, rect.y), Point(x, rect.maxY), Color.white.opacity(0.9), width: theme.hairline)
      }
    }
    canvas.stroke(rect, Theme.ink, width: theme.hairline)
    let first = cell(0, 0, in: rect)
    guard let size = numberSize(on: canvas, cell: Size(first.width, first.height), theme: theme) else { return false }
    for r in 0..<rows {
      for c in 0..<columns {
        let v = values[r * columns + c]
        let color = colormap(scale(v)).legibleText
        canvas.text(label(v), cell(r, c, in: rect).center, TextStyle(size: size, color: color))
      }
    }
    return true
  }
}
