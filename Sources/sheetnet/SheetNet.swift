import ArgumentParser
import SheetNet

/// The `sheetnet` command: train, summarise, evaluate, trace and draw tiny networks.
@main
struct SheetNetCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "sheetnet",
    abstract: "Train tiny networks and show every number of a training step.",
    discussion: "Lessons live in Worksheets/; everything a lesson produces goes to Output/<lesson>/.",
    subcommands: [Train.self, Summary.self, Evaluate.self, Trace.self, Export.self, Figure.self])

  /// Sets up OpenBLAS (one thread), then runs the command.
  static func main() {
    Kernels.useOneThread()
    do {
      var command = try parseAsRoot()
      try command.run()
    } catch {
      exit(withError: error)
    }
  }
}
