import ArgumentParser
import Foundation
import SheetNet

/// Options every lesson-driven command shares.
struct LessonOptions: ParsableArguments {
  @Argument(help: "A lesson file, e.g. Worksheets/xor.yaml.")
  var lesson: String

  @Option(help: "Seed for the split, initial weights, shuffles and dropout (default: the lesson's).")
  var seed: UInt64?

  @Option(help: "Output folder (default: Output/<lesson>/).")
  var output: String?

  /// Loads the lesson and prepares its run (data, split, network), or exits with one clear line.
  func run() throws -> LessonRun {
    let lesson = try Lesson.load(self.lesson)
    return try LessonRun(lesson, seed: seed)
  }

  /// The folder this command writes to.
  func folder(for run: LessonRun) -> String { output ?? run.outputFolder }
}

/// Which training step `trace` and `export` record: its number and what it runs on.
struct StepOptions: ParsableArguments {
  @Option(help: "The N-th step of training (counted from 1 across epochs).")
  var step = 1

  @Option(help: "Trace one sample of the training split (1-based) instead of the mini-batch.")
  var sample: Int?

  @Option(help: "Use only the first N samples of the step's mini-batch.")
  var batch: Int?

  func validate() throws {
    if sample != nil && batch != nil { throw ValidationError("give --sample or --batch, not both") }
  }
}

/// Prints a SheetNet error as one line on standard error and exits with status 1.
func fail(_ error: any Error) -> Never {
  let message = (error as? SheetNetError)?.description ?? String(describing: error)
  FileHandle.standardError.write(Data("sheetnet: error: \(message)\n".utf8))
  exit(1)
}

/// Runs `body`, turning any SheetNet error into one line and a non-zero exit (no stack trace).
func guarded<T>(_ body: () throws -> T) -> T {
  do { return try body() } catch { fail(error) }
}

/// True when standard error is a terminal (progress bars and colour only then, never with NO_COLOR for colour).
var stderrIsTerminal: Bool { isatty(2) == 1 }
/// True when standard output is a terminal.
var stdoutIsTerminal: Bool { isatty(1) == 1 }
/// Colour on standard output: a terminal, and NO_COLOR unset.
var useColor: Bool { stdoutIsTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }
