import ArgumentParser
import CairoKit
import SheetNet

/// The `sheetnet` command: train, summarise, evaluate, trace and draw tiny networks.
@main
struct SheetNetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sheetnet",
    abstract: "Train tiny networks and show every number of a training step.",
    discussion: "Lessons live in Worksheets/; everything a lesson produces goes to Output/<lesson>/.",
    subcommands: [Build.self, Train.self, Summary.self, Evaluate.self, Trace.self, Export.self, Figure.self, Sample.self, ExerciseCommand.self, DataDump.self, BuildLesson.self])

  /// Sets up OpenBLAS (one thread) and the letter renderer (`dataset: letters`), then runs the command.
  static func main() {
    Kernels.useOneThread()
    LetterRenderer.register()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      // Help and version requests print as ArgumentParser writes them; a bad option or argument
      // is one line and status 1, like every other error.
      guard exitCode(for: error) != .success else { exit(withError: error) }
      let message = SheetNetCommand.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
      fail(SheetNetError.lesson(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message))
    }
  }
}
