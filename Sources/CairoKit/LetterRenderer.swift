import CCairo
import Foundation
import SheetNet

/// Draws the engine's `Glyph`s (`dataset: letters`) with Cairo and FreeType, in the upright
/// outline fonts of this machine that have the letters A…J, as fontconfig lists them, sorted by
/// file (DejaVu at least: fonts-dejavu-core; when fontconfig lists nothing, DejaVu Sans regular
/// and bold from `FontFaces.folders`). The images therefore depend on the fonts installed; the
/// same fonts, glyphs and Cairo give the same pixels.
///
/// Each glyph is scaled so its ink is `height` × side tall, sheared by `slant`, and its ink box
/// centred on the image's centre plus (dx, dy); grey anti-aliasing, no hinting, so sizes are not
/// rounded to whole pixels.
public final class LetterRenderer: GlyphRenderer, @unchecked Sendable {
  /// The font files drawn with, "path" or "path#index" for a face of a collection, sorted.
  public var fonts: [String] {
    lock.lock()
    defer { lock.unlock() }
    return list().map { $0.index == 0 ? $0.path : "\($0.path)#\($0.index)" }
  }
  /// The faces, listed on first use (fontconfig's start-up costs milliseconds a command that
  /// draws no letters should not pay); guarded by `lock`.
  private var faces: [(path: String, index: Int)]?
  /// Cairo font faces, made on first use (guarded by `lock`).
  private var loaded: [Int: OpaquePointer] = [:]
  private let lock = NSLock()

  /// The process's renderer over the machine's fonts (listed when first needed).
  public static let shared = LetterRenderer(faces: nil)

  /// Registers `shared` with the engine, so letters lessons can be drawn (program start).
  public static func register() { Letters.register(shared) }

  /// A renderer over the given font files (tests, or a chosen set), or over the machine's
  /// (`machineFonts`) when nil; sorted by path and index, duplicates dropped.
  public init(faces: [(path: String, index: Int)]?) {
    self.faces = faces.map(Self.sorted)
  }

  private static func sorted(_ faces: [(path: String, index: Int)]) -> [(path: String, index: Int)] {
    var unique: [(path: String, index: Int)] = []
    for f in faces.sorted(by: { ($0.path, $0.index) < ($1.path, $1.index) }) where unique.last.map({ $0 != f }) ?? true { unique.append(f) }
    return unique
  }

  /// The faces (call with `lock` held).
  private func list() -> [(path: String, index: Int)] {
    if let faces { return faces }
    let found = Self.sorted(Self.machineFonts())
    faces = found
    return found
  }

  deinit {
    for face in loaded.values { cairo_font_face_destroy(face) }
  }

  /// Upright outline faces that hold A…J, as fontconfig lists them (its own configuration,
  /// loaded here and released), or DejaVu Sans from `FontFaces.folders` when it lists none.
  public static func machineFonts() -> [(path: String, index: Int)] {
    var found: [(path: String, index: Int)] = []
    if let config = FcInitLoadConfigAndFonts() {
      defer { FcConfigDestroy(config) }
      let pattern = FcPatternCreate()
      let objects = FcObjectSetCreate()
      defer {
        FcPatternDestroy(pattern)
        FcObjectSetDestroy(objects)
      }
      FcPatternAddBool(pattern, FC_OUTLINE, FcBool(FcTrue))
      for name in [FC_FILE, FC_INDEX, FC_SLANT, FC_CHARSET] { FcObjectSetAdd(objects, name) }
      if let list = FcFontList(config, pattern, objects) {
        defer { FcFontSetDestroy(list) }
        for i in 0..<Int(list.pointee.nfont) {
          guard let font = list.pointee.fonts[i] else { continue }
          var file: UnsafeMutablePointer<FcChar8>? = nil
          var index: Int32 = 0, slant: Int32 = 0
          var charset: OpaquePointer? = nil
          guard FcPatternGetString(font, FC_FILE, 0, &file) == FcResultMatch, let file else { continue }
          _ = FcPatternGetInteger(font, FC_INDEX, 0, &index)
          guard FcPatternGetInteger(font, FC_SLANT, 0, &slant) != FcResultMatch || slant == FC_SLANT_ROMAN else { continue }
          guard FcPatternGetCharSet(font, FC_CHARSET, 0, &charset) == FcResultMatch, let charset,
            (0x41...0x4A).allSatisfy({ FcCharSetHasChar(charset, FcChar32($0)) != 0 })
          else { continue }
          let path = String(cString: UnsafeRawPointer(file).assumingMemoryBound(to: CChar.self))
          found.append((path, Int(index)))
        }
      }
    }
    if found.isEmpty {
      for folder in FontFaces.folders {
        let files = ["DejaVuSans.ttf", "DejaVuSans-Bold.ttf"].map { folder + "/" + $0 }.filter { access($0, R_OK) == 0 }
        if !files.isEmpty {
          found = files.map { ($0, 0) }
          break
        }
      }
    }
    return found
  }

  /// The Cairo face of font `k`, loaded on first use.
  private func face(_ k: Int, of faces: [(path: String, index: Int)]) throws(SheetNetError) -> OpaquePointer {
    if let face = loaded[k] { return face }
    do {
      let face = try FontFaces.face(faces[k].path, index: faces[k].index)
      loaded[k] = face
      return face
    } catch {
      throw .data("dataset letters: \(error)")
    }
  }

  /// `glyphs` as side × side grey images, ink 1 on paper 0, one after another.
  public func render(_ glyphs: [Glyph], side: Int) throws(SheetNetError) -> [Double] {
    lock.lock()
    defer { lock.unlock() }
    let faces = list()
    guard side >= 1, side <= 4096 else { throw .data("dataset letters: an image side of \(side) pixels is out of range") }
    guard let surface = cairo_image_surface_create(CAIRO_FORMAT_A8, Int32(side), Int32(side)) else {
      throw .data("dataset letters: cairo could not make a \(side)×\(side) image")
    }
    defer { cairo_surface_destroy(surface) }
    guard cairo_surface_status(surface) == CAIRO_STATUS_SUCCESS, let cr = cairo_create(surface) else {
      throw .data("dataset letters: cairo could not make a \(side)×\(side) image")
    }
    defer { cairo_destroy(cr) }
    let options = cairo_font_options_create()
    defer { cairo_font_options_destroy(options) }
    cairo_font_options_set_antialias(options, CAIRO_ANTIALIAS_GRAY)
    cairo_font_options_set_hint_style(options, CAIRO_HINT_STYLE_NONE)
    cairo_font_options_set_hint_metrics(options, CAIRO_HINT_METRICS_OFF)
    cairo_set_font_options(cr, options)
    let stride = Int(cairo_image_surface_get_stride(surface))
    var pixels: [Double] = []
    pixels.reserveCapacity(glyphs.count * side * side)
    let s = Double(side)
    for glyph in glyphs {
      guard faces.indices.contains(glyph.font) else { throw .data("dataset letters: font \(glyph.font) of \(faces.count)") }
      cairo_set_operator(cr, CAIRO_OPERATOR_CLEAR)
      cairo_paint(cr)
      cairo_set_operator(cr, CAIRO_OPERATOR_OVER)
      cairo_set_font_face(cr, try face(glyph.font, of: faces))
      let text = String(glyph.letter)
      // The ink height at 100 units, upright, gives the scale for the asked height.
      var m = cairo_matrix_t()
      cairo_matrix_init_scale(&m, 100, 100)
      cairo_set_font_matrix(cr, &m)
      var extents = cairo_text_extents_t()
      cairo_text_extents(cr, text, &extents)
      guard extents.height > 0 else { throw .data("dataset letters: \(faces[glyph.font].path) draws no ink for \(text)") }
      let scale = 100 * glyph.height * s / extents.height
      // x′ = scale·x − slant·scale·y: text space's y points down, so the top leans right.
      cairo_matrix_init(&m, scale, 0, -glyph.slant * scale, scale, 0, 0)
      cairo_set_font_matrix(cr, &m)
      cairo_text_extents(cr, text, &extents)
      let x = s / 2 + glyph.dx - (extents.x_bearing + extents.width / 2)
      let y = s / 2 + glyph.dy - (extents.y_bearing + extents.height / 2)
      cairo_set_source_rgba(cr, 0, 0, 0, 1)
      cairo_move_to(cr, x, y)
      cairo_show_text(cr, text)
      cairo_surface_flush(surface)
      guard cairo_status(cr) == CAIRO_STATUS_SUCCESS, let data = cairo_image_surface_get_data(surface) else {
        throw .data("dataset letters: cairo could not draw \(text) with \(faces[glyph.font].path)")
      }
      for row in 0..<side {
        for column in 0..<side { pixels.append(Double(data[row * stride + column]) / 255) }
      }
    }
    return pixels
  }
}
