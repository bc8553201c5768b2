import CCairo
import SheetNetFigures

/// The process's FreeType library, created on first use and kept for the life of the process
/// (every FreeType face, which Cairo may cache until exit, must outlive it).
nonisolated(unsafe) private let freeType: (library: FT_Library?, error: FT_Error) = {
  var library: FT_Library? = nil
  let error = FT_Init_FreeType(&library)
  return (library, error)
}()

/// The key under which a Cairo font face holds its FreeType face.
nonisolated(unsafe) private var freeTypeFaceKey = cairo_user_data_key_t()

/// Releases a FreeType face when Cairo destroys the font face made from it.
private let doneFace: cairo_destroy_func_t = { face in
  FT_Done_Face(face?.assumingMemoryBound(to: FT_FaceRec_.self))
}

/// The theme's typeface loaded straight from its files, regular and bold, as Cairo font faces
/// (owned here, destroyed in `deinit`). Loading through FreeType takes well under a millisecond,
/// where fontconfig's start-up takes 5–10 ms; when the files are not where Debian, Fedora or
/// Arch put them, `load` returns nil and text falls back to Cairo's toy API, so fontconfig
/// picks DejaVu Sans or its substitute for "DejaVu Sans" (usually the default sans-serif).
public final class FontFaces {
  /// Regular and bold `cairo_font_face_t`.
  let regular: OpaquePointer, bold: OpaquePointer
  /// The file of the regular face.
  public let path: String

  /// Folders searched for DejaVuSans.ttf and DejaVuSans-Bold.ttf, in order.
  public static let folders = [
    "/usr/share/fonts/truetype/dejavu", "/usr/share/fonts/dejavu", "/usr/share/fonts/TTF", "/usr/local/share/fonts/dejavu",
  ]

  private init(regular: OpaquePointer, bold: OpaquePointer, path: String) {
    self.regular = regular
    self.bold = bold
    self.path = path
  }

  deinit {
    cairo_font_face_destroy(regular)
    cairo_font_face_destroy(bold)
  }

  /// DejaVu Sans from the first folder that has both files, or nil when none has them.
  public static func load() throws(CairoError) -> FontFaces? {
    for folder in folders {
      let regular = folder + "/DejaVuSans.ttf", bold = folder + "/DejaVuSans-Bold.ttf"
      guard access(regular, R_OK) == 0, access(bold, R_OK) == 0 else { continue }
      let r = try face(regular)
      do {
        return FontFaces(regular: r, bold: try face(bold), path: regular)
      } catch {
        cairo_font_face_destroy(r)
        throw error
      }
    }
    return nil
  }

  /// A Cairo font face over FreeType face `index` of the file at `path` (index > 0: a face of a
  /// collection).
  static func face(_ path: String, index: Int = 0) throws(CairoError) -> OpaquePointer {
    guard freeType.error == 0, let library = freeType.library else {
      throw .font("FreeType could not start (error \(freeType.error))")
    }
    var ftFace: FT_Face? = nil
    let error = FT_New_Face(library, path, index, &ftFace)
    guard error == 0, let ftFace else { throw .font("FreeType cannot read \(path) (error \(error)); reinstall fonts-dejavu-core") }
    guard let face = cairo_ft_font_face_create_for_ft_face(ftFace, 0) else {
      FT_Done_Face(ftFace)
      throw .font("cairo could not make a font face of \(path)")
    }
    let status = cairo_font_face_set_user_data(face, &freeTypeFaceKey, UnsafeMutableRawPointer(ftFace), doneFace)
    guard status == CAIRO_STATUS_SUCCESS, cairo_font_face_status(face) == CAIRO_STATUS_SUCCESS else {
      if status != CAIRO_STATUS_SUCCESS { FT_Done_Face(ftFace) }
      cairo_font_face_destroy(face)
      throw CairoError.failure(status != CAIRO_STATUS_SUCCESS ? status : cairo_font_face_status(face), "loading the font \(path)")
    }
    return face
  }

  /// The face for a text style.
  func face(bold: Bool) -> OpaquePointer { bold ? self.bold : regular }
}

extension Context {
  /// Draws text with `face` from now on.
  func setFontFace(_ face: OpaquePointer) throws(CairoError) {
    cairo_set_font_face(pointer, face)
    try check("set font face")
  }
}
