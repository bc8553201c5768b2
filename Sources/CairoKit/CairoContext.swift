import CCairo

/// A Cairo drawing context on a `Surface`. Owns its `cairo_t` (destroyed in `deinit`) and keeps
/// the surface alive. Cairo records the first error in the context and ignores later calls, so
/// every method checks `cairo_status` afterwards and throws what it finds.
public final class Context {
  let pointer: OpaquePointer
  /// The surface drawn on.
  public let surface: Surface

  /// A context drawing on `surface`, with metric hinting off so text measures the same on
  /// image and vector surfaces (a figure's layout does not depend on the format).
  public init(_ surface: Surface) throws(CairoError) {
    let cr = cairo_create(surface.pointer)!
    let status = cairo_status(cr)
    guard status == CAIRO_STATUS_SUCCESS else {
      cairo_destroy(cr)
      throw CairoError.failure(status, "creating a drawing context")
    }
    self.pointer = cr
    self.surface = surface
    guard let options = cairo_font_options_create() else { throw .status(operation: "creating font options", code: -1, message: "out of memory") }
    defer { cairo_font_options_destroy(options) }
    try CairoError.check(cairo_font_options_status(options), "creating font options")
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
    cairo_set_font_options(cr, options)
    try check("setting font options")
  }

  deinit { cairo_destroy(pointer) }

  /// Throws the context's error status, if any.
  public func check(_ operation: @autoclosure () -> String) throws(CairoError) {
    try CairoError.check(cairo_status(pointer), operation())
  }

  // MARK: State

  /// Pushes the graphics state (transform, source, line and font settings).
  /// Ends the current page of a document surface and starts the next (the same size).
  public func showPage() throws(CairoError) { cairo_show_page(pointer); try check("show page") }

  public func save() throws(CairoError) { cairo_save(pointer); try check("save") }
  /// Pops the graphics state pushed by `save`.
  public func restore() throws(CairoError) { cairo_restore(pointer); try check("restore") }
  /// Moves the origin by (dx, dy).
  public func translate(_ dx: Double, _ dy: Double) throws(CairoError) { cairo_translate(pointer, dx, dy); try check("translate") }
  /// Scales user space by (sx, sy).
  public func scale(_ sx: Double, _ sy: Double) throws(CairoError) { cairo_scale(pointer, sx, sy); try check("scale") }
  /// Rotates user space by `angle` radians (clockwise on screen).
  public func rotate(_ angle: Double) throws(CairoError) { cairo_rotate(pointer, angle); try check("rotate") }

  // MARK: Paths

  /// Clears the current path.
  public func newPath() throws(CairoError) { cairo_new_path(pointer); try check("new path") }
  /// Starts a sub-path.
  public func moveTo(_ x: Double, _ y: Double) throws(CairoError) { cairo_move_to(pointer, x, y); try check("move to") }
  /// A line to (x, y).
  public func lineTo(_ x: Double, _ y: Double) throws(CairoError) { cairo_line_to(pointer, x, y); try check("line to") }
  /// A cubic Bézier curve.
  public func curveTo(_ x1: Double, _ y1: Double, _ x2: Double, _ y2: Double, _ x3: Double, _ y3: Double) throws(CairoError) {
    cairo_curve_to(pointer, x1, y1, x2, y2, x3, y3)
    try check("curve to")
  }
  /// A circular arc, clockwise on screen from `start` to `end` radians.
  public func arc(_ cx: Double, _ cy: Double, radius: Double, start: Double, end: Double) throws(CairoError) {
    cairo_arc(pointer, cx, cy, radius, start, end)
    try check("arc")
  }
  /// Closes the current sub-path.
  public func closePath() throws(CairoError) { cairo_close_path(pointer); try check("close path") }
  /// A rectangle sub-path.
  public func rectangle(_ x: Double, _ y: Double, _ w: Double, _ h: Double) throws(CairoError) {
    cairo_rectangle(pointer, x, y, w, h)
    try check("rectangle")
  }

  // MARK: Painting

  /// Paints with a solid colour from now on (straight alpha).
  public func setSource(r: Double, g: Double, b: Double, a: Double) throws(CairoError) {
    cairo_set_source_rgba(pointer, r, g, b, a)
    try check("set colour")
  }
  /// Fills the current path (non-zero winding) and clears it.
  public func fill() throws(CairoError) { cairo_fill(pointer); try check("fill") }
  /// Strokes the current path and clears it.
  public func stroke() throws(CairoError) { cairo_stroke(pointer); try check("stroke") }
  /// Paints the current source everywhere (within the clip).
  public func paint() throws(CairoError) { cairo_paint(pointer); try check("paint") }
  /// Line width in user units.
  public func setLineWidth(_ w: Double) throws(CairoError) { cairo_set_line_width(pointer, w); try check("set line width") }
  /// Round joins and caps (for smooth curves and dots).
  public func setRoundLines() throws(CairoError) {
    cairo_set_line_join(pointer, CAIRO_LINE_JOIN_ROUND)
    cairo_set_line_cap(pointer, CAIRO_LINE_CAP_ROUND)
    try check("set line join")
  }
  /// Dash pattern (on/off lengths); empty for solid lines.
  public func setDash(_ dashes: [Double]) throws(CairoError) {
    dashes.withUnsafeBufferPointer { cairo_set_dash(pointer, $0.baseAddress, Int32($0.count), 0) }
    try check("set dash")
  }

  /// Uses an image surface as the source at (x, y), sampled nearest-neighbour (sharp pixels).
  public func setSource(image: Surface, x: Double, y: Double) throws(CairoError) {
    cairo_set_source_surface(pointer, image.pointer, x, y)
    try check("set image source")
    let pattern = cairo_get_source(pointer)
    cairo_pattern_set_filter(pattern, CAIRO_FILTER_NEAREST)
    try CairoError.check(cairo_pattern_status(pattern), "set image filter")
  }

  // MARK: Text

  /// Selects a face of `family` (fontconfig resolves it, substituting when it is missing).
  public func selectFont(_ family: String, bold: Bool) throws(CairoError) {
    cairo_select_font_face(pointer, family, CAIRO_FONT_SLANT_NORMAL, bold ? CAIRO_FONT_WEIGHT_BOLD : CAIRO_FONT_WEIGHT_NORMAL)
    try check("select font \(family)")
  }
  /// Font size in user units.
  public func setFontSize(_ size: Double) throws(CairoError) { cairo_set_font_size(pointer, size); try check("set font size") }
  /// Writes UTF-8 text at the current point (its baseline's left end).
  public func showText(_ text: String) throws(CairoError) { cairo_show_text(pointer, text); try check("show text") }
  /// The advance width of `text` in the current font.
  public func textAdvance(_ text: String) throws(CairoError) -> Double {
    var e = cairo_text_extents_t()
    cairo_text_extents(pointer, text, &e)
    try check("measure text")
    return e.x_advance
  }
  /// The current font's ascent and descent.
  public func fontExtents() throws(CairoError) -> (ascent: Double, descent: Double) {
    var e = cairo_font_extents_t()
    cairo_font_extents(pointer, &e)
    try check("measure font")
    return (e.ascent, e.descent)
  }
}

extension Surface {
  /// An image surface holding `width` × `height` pixels given as straight-alpha RGBA in 0…1,
  /// row-major; each pixel repeated `factor` × `factor` times (nearest-neighbour upscaling).
  public static func image(width: Int, height: Int, factor: Int = 1, rgba: (Int) -> (Double, Double, Double, Double)) throws(CairoError) -> Surface {
    let s = try Surface.image(width: width * factor, height: height * factor)
    cairo_surface_flush(s.pointer)
    try CairoError.check(cairo_surface_status(s.pointer), "preparing the image")
    guard let data = cairo_image_surface_get_data(s.pointer) else {
      throw .status(operation: "writing image pixels", code: -1, message: "no pixel data")
    }
    let stride = Int(cairo_image_surface_get_stride(s.pointer))
    for y in 0..<height {
      for x in 0..<width {
        let (r, g, b, a) = rgba(y * width + x)
        // ARGB32 is premultiplied, one native-endian 32-bit word per pixel.
        func byte(_ c: Double) -> UInt32 { UInt32((min(max(c, 0), 1) * 255).rounded()) }
        let alpha = min(max(a, 0), 1)
        let word = byte(alpha) << 24 | byte(r * alpha) << 16 | byte(g * alpha) << 8 | byte(b * alpha)
        for dy in 0..<factor {
          let row = UnsafeMutableRawPointer(data + (y * factor + dy) * stride)
          for dx in 0..<factor { row.storeBytes(of: word, toByteOffset: (x * factor + dx) * 4, as: UInt32.self) }
        }
      }
    }
    cairo_surface_mark_dirty(s.pointer)
    try CairoError.check(cairo_surface_status(s.pointer), "writing image pixels")
    return s
  }
}
