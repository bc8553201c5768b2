import SheetNetFigures

/// SheetNetFigures' `Canvas` drawn through a Cairo `Context`.
///
/// The protocol's methods cannot throw, so the first Cairo error is kept in `error`, later
/// calls are skipped, and `FigureFile` throws it when the figure is done.
public final class CairoCanvas: Canvas {
  /// The context drawn on.
  public let context: Context
  /// The first error met, if any.
  public private(set) var error: CairoError?
  /// Vector output embeds rasters upscaled to this many pixels per point of drawn width (0: as
  /// they are), so viewers that smooth embedded images (SVG has no nearest-neighbour hint in
  /// Cairo 1.16) blur only the last half point at cell edges.
  private let rasterFactor: Int
  private var font: (size: Double, bold: Bool)? = nil
  private var metrics: [String: TextExtents] = [:]

  /// DejaVu Sans from its files; nil: Cairo's toy text API through fontconfig.
  private let fonts: FontFaces?

  /// A canvas on `context`; on `vector` surfaces images are embedded upscaled (see above).
  /// Text uses `fonts`, or fontconfig's match for the theme's family when nil.
  public init(_ context: Context, vector: Bool = false, fonts: FontFaces?) {
    self.context = context
    self.rasterFactor = vector ? 2 : 0
    self.fonts = fonts
  }

  private func attempt(_ body: () throws(CairoError) -> Void) {
    guard error == nil else { return }
    do { try body() } catch { self.error = error }
  }

  private func build(_ path: Path) throws(CairoError) {
    try context.newPath()
    for element in path.elements {
      switch element {
      case .move(let p): try context.moveTo(p.x, p.y)
      case .line(let p): try context.lineTo(p.x, p.y)
      case .curve(let c1, let c2, let p): try context.curveTo(c1.x, c1.y, c2.x, c2.y, p.x, p.y)
      case .arc(let c, let r, let start, let end): try context.arc(c.x, c.y, radius: r, start: start, end: end)
      case .close: try context.closePath()
      }
    }
  }

  public func fill(_ path: Path, _ color: Color) {
    attempt { () throws(CairoError) in
      try build(path)
      try context.setSource(r: color.r, g: color.g, b: color.b, a: color.a)
      try context.fill()
    }
  }

  public func stroke(_ path: Path, _ color: Color, width: Double, dash: [Double]) {
    attempt { () throws(CairoError) in
      try build(path)
      try context.setSource(r: color.r, g: color.g, b: color.b, a: color.a)
      try context.setLineWidth(width)
      try context.setDash(dash)
      try context.setRoundLines()
      try context.stroke()
    }
  }

  private func use(_ style: TextStyle) throws(CairoError) {
    if font?.bold != style.bold || font == nil {
      if let fonts { try context.setFontFace(fonts.face(bold: style.bold)) } else { try context.selectFont(Theme.fontFamily, bold: style.bold) }
    }
    if font?.size != style.size || font?.bold != style.bold { try context.setFontSize(style.size) }
    font = (style.size, style.bold)
  }

  public func text(_ string: String, at origin: Point, style: TextStyle) {
    attempt { () throws(CairoError) in
      try use(style)
      try context.setSource(r: style.color.r, g: style.color.g, b: style.color.b, a: style.color.a)
      if style.vertical {
        try context.save()
        try context.translate(origin.x, origin.y)
        try context.rotate(-Double.pi / 2)
        try context.moveTo(0, 0)
        try context.showText(string)
        try context.restore()
      } else {
        try context.moveTo(origin.x, origin.y)
        try context.showText(string)
      }
      try context.newPath()
    }
  }

  public func measure(_ string: String, style: TextStyle) -> TextExtents {
    let key = "\(style.bold ? "b" : "r")\(style.size)|\(string)"
    if let known = metrics[key] { return known }
    var result = TextExtents(width: 0.6 * style.size * Double(string.count), ascent: 0.93 * style.size, descent: 0.24 * style.size)
    attempt { () throws(CairoError) in
      try use(style)
      let (ascent, descent) = try context.fontExtents()
      result = TextExtents(width: try context.textAdvance(string), ascent: ascent, descent: descent)
    }
    metrics[key] = result
    return result
  }

  public func image(_ raster: Raster, in rect: Rect) {
    attempt { () throws(CairoError) in
      let factor = rasterFactor == 0 ? 1 : max(1, min(64, Int((rect.width * Double(rasterFactor) / Double(raster.width)).rounded(.up))))
      let pixels = raster.pixels
      let image = try Surface.image(width: raster.width, height: raster.height, factor: factor) { i in
        let c = pixels[i]
        return (c.r, c.g, c.b, c.a)
      }
      let w = Double(raster.width * factor), h = Double(raster.height * factor)
      try context.save()
      try context.translate(rect.x, rect.y)
      try context.scale(rect.width / w, rect.height / h)
      try context.setSource(image: image, x: 0, y: 0)
      try context.rectangle(0, 0, w, h)
      try context.fill()
      try context.restore()
    }
  }
}
