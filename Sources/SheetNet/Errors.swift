/// Everything that can go wrong with a user's input, each with a message that names the file,
/// line or layer and says what to do. Programmer mistakes inside the engine are preconditions.
public enum SheetNetError: Error, Equatable, CustomStringConvertible {
  /// A lesson file or layer option is wrong.
  case lesson(String)
  /// Layers or data whose shapes do not fit together.
  case shape(String)
  /// A data file (CSV, IDX) is malformed or missing.
  case data(String)
  /// Training produced a non-finite number.
  case training(String)
  /// A model file is malformed or does not match its architecture.
  case model(String)
  /// A file or folder could not be read or written.
  case io(String)

  /// The one line shown to the user, its control characters escaped (`\e`, `\n`; see
  /// `Terminal.escaped`): a message quoting a lesson's text cannot break the line or drive the terminal.
  public var description: String {
    switch self {
    case .lesson(let m), .shape(let m), .data(let m), .training(let m), .model(let m), .io(let m): Terminal.escaped(m)
    }
  }
}
