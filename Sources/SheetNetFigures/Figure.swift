/// One finished figure: a file name, a page size and the drawing, ready for any `Canvas`.
///
/// Building a figure does the arithmetic (forward passes, gradients, layout inputs); `draw`
/// only places what was computed, so rendering to several formats repeats no computation.
public struct Figure {
  /// File name without extension, e.g. `activations` or `conv-step-3`.
  public var name: String
  /// Page size in points.
  public var size: Size
  /// Draws the whole figure, background included.
  public var draw: (any Canvas) -> Void

  /// A figure.
  public init(name: String, size: Size, draw: @escaping (any Canvas) -> Void) {
    self.name = name
    self.size = size
    self.draw = draw
  }
}

/// Why a figure cannot be drawn for a lesson, with what to do instead.
public enum FigureError: Error, Equatable, CustomStringConvertible {
  /// The figure does not apply to this lesson (e.g. a decision boundary for 64 inputs).
  case notApplicable(String)
  /// An option is out of range for this lesson (e.g. `--layer 7` of a 3-layer network).
  case option(String)
  /// The lesson itself failed to load or train.
  case lesson(String)

  /// The one line shown to the user.
  public var description: String {
    switch self {
    case .notApplicable(let m), .option(let m), .lesson(let m): m
    }
  }
}
