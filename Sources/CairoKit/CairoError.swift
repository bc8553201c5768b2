/// CairoKit: the only Swift code that calls Cairo. Surfaces (image, SVG, PDF) and contexts are
/// classes that own their C pointer and free it in `deinit`; every Cairo status is checked and
/// turned into a thrown `CairoError`. `CairoCanvas` adapts a context to SheetNetFigures' `Canvas`
/// and `FigureFile` renders a `Figure` to PNG, SVG or PDF bytes or writes it atomically.
import CCairo

/// What went wrong while drawing or writing a figure, with what to do about it.
public enum CairoError: Error, Equatable, CustomStringConvertible {
  /// Cairo reported a non-success status during `operation` (its code and Cairo's own words).
  case status(operation: String, code: Int, message: String)
  /// A figure could not be written: the whole line, naming the file and what to do.
  case io(String)
  /// A size or scale that no surface can have.
  case invalidSize(String)
  /// The typeface could not be loaded.
  case font(String)

  /// The one line shown to the user.
  public var description: String {
    switch self {
    case .status(let operation, let code, let message):
      let hint = code == Int(CAIRO_STATUS_NO_MEMORY.rawValue)
        ? "; the figure is too large for memory, lower --scale" : code == Int(CAIRO_STATUS_WRITE_ERROR.rawValue)
        ? "; check that the output folder exists and is writable" : ""
      return "cairo failed in \(operation): \(message) (status \(code))\(hint)"
    case .io(let m), .invalidSize(let m), .font(let m): return m
    }
  }

  /// Throws when `status` is not success.
  static func check(_ status: cairo_status_t, _ operation: @autoclosure () -> String) throws(CairoError) {
    guard status != CAIRO_STATUS_SUCCESS else { return }
    throw failure(status, operation())
  }

  /// The error for a failed `status` during `operation`.
  static func failure(_ status: cairo_status_t, _ operation: String) -> CairoError {
    .status(operation: operation, code: Int(status.rawValue), message: String(cString: cairo_status_to_string(status)))
  }
}
