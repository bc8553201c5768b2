import ArgumentParser
import Foundation
import SheetNet

/// Options every lesson-driven command shares.
struct LessonOptions: ParsableArguments {
  @Argument(help: "A lesson: its name (xor), its file (Worksheets/xor.yaml) or either without .yaml.")
  var lesson: String

  @Option(help: "Seed for the split, initial weights, shuffles and dropout (default: the lesson's).")
  var seed: UInt64?

  @Option(help: "Output folder (default: Output/<lesson>/ beside the project's Worksheets/, else in the current folder).")
  var output: String?

  /// Loads the lesson and prepares its run (data, split, network), or exits with one clear line.
  func run() throws -> LessonRun {
    try LessonRun(try loadLesson(), seed: seed)
  }

  /// The lesson the argument names (see `Project.lessonFile`).
  func loadLesson() throws -> Lesson { try Lesson.load(try Project.lessonFile(lesson)) }

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

  /// Refuses the step before it is traced when its views would not fit in memory (`Budget`) or
  /// training up to it (and the gradient check) would take longer than the time limit.
  func checkBudget(_ run: LessonRun, views: Budget.StepViews, timeLimit: TimeLimitOptions) throws {
    // A step or sample out of range: TracedStep says what is wrong.
    let perEpoch = max(1, (run.split.train.count + run.trainer.batchSize - 1) / max(run.trainer.batchSize, 1))
    guard step >= 1 && step <= max(run.trainer.epochs, 1) * perEpoch, (sample ?? 1) >= 1 && (sample ?? 1) <= run.split.train.count,
          (batch ?? 1) >= 1 else { return }
    let check = views.check
    try Budget.checkStep(run, step: step, sample: sample, batch: batch, views: views)
    try timeLimit.check(run, steps: step, check: check, "training up to step \(Limits.grouped(step))\(check ? " and checking its gradients" : "")")
  }
}

/// Prints text of several lines to standard output with every control character but the line
/// feed escaped (`Terminal.escaped`): lesson titles, names and paths cannot drive the terminal.
func printEscaped(_ text: String) {
  print(Terminal.escaped(text, keepingLineBreaks: true))
}

/// Prints a SheetNet error as one line on standard error (control characters escaped) and exits
/// with status 1.
func fail(_ error: any Error) -> Never {
  let message = Terminal.escaped((error as? SheetNetError)?.description ?? String(describing: error))
  FileHandle.standardError.write(Data("sheetnet: error: \(message)\n".utf8))
  exit(1)
}

/// Runs `body`, turning any SheetNet error into one line and a non-zero exit (no stack trace).
func guarded<T>(_ body: () throws -> T) -> T {
  do { return try body() } catch { fail(error) }
}

/// True when standard error is a terminal (progress bars and colour only then, never with NO_COLOR for colour).
var stderrIsTerminal: Bool { isatty(2) == 1 }
/// Standard error's terminal width in columns (80 when it cannot be told): a progress line
/// longer than this would wrap, and its redraw would no longer overwrite it.
var stderrColumns: Int {
  var size = winsize()
  return ioctl(2, UInt(TIOCGWINSZ), &size) == 0 && size.ws_col >= 20 ? Int(size.ws_col) : 80
}
/// True when standard output is a terminal.
var stdoutIsTerminal: Bool { isatty(1) == 1 }
/// Colour on standard output: a terminal, and NO_COLOR unset.
var useColor: Bool { stdoutIsTerminal && ProcessInfo.processInfo.environment["NO_COLOR"] == nil }

/// Refuses a model file that is not the network its own lesson makes (a layer, option, shape,
/// loss or optimizer changed since training; `ModelFile.mismatchWithItsLesson`), naming the first
/// difference. `inputShape`: the lesson's samples' shape when the command has it (nil reads the
/// lesson's data to learn it).
func requireItsLesson(_ file: ModelFile, path: String, inputShape: [Int]? = nil) throws {
  if let why = try file.mismatchWithItsLesson(modelPath: path, inputShape: inputShape) {
    throw SheetNetError.model("\(path): \(why); use the model the lesson made (sheetnet train \(file.lessonName) writes it)")
  }
}

/// Whether a command reuses a saved model or trains: `--model FILE`, `--retrain`.
struct ModelOptions: ParsableArguments {
  @Option(help: "Reuse this model file (default: Output/<lesson>/model.json when it was made from the same lesson text, data, seed and SheetNet version, and holds the lesson's very network).")
  var model: String?

  @Flag(help: "Train the lesson even when a matching model is saved.")
  var retrain = false

  func validate() throws {
    if model != nil && retrain { throw ValidationError("give --model or --retrain, not both") }
  }

  /// Brings `run` to the end of its training: restores the saved model when it matches, else
  /// trains (with a progress bar on a terminal). Returns true when it reused; a command that
  /// trained saves the model with `save` once its own files are written. Training estimated to
  /// take longer than `timeLimit` allows is refused before it starts.
  func prepare(_ run: LessonRun, progress: Bool, timeLimit: TimeLimitOptions) throws -> Bool {
    if !retrain {
      let path = model ?? "\(run.outputFolder)/model.json"
      do {
        switch try run.restoreSaved(modelPath: path) {
        case .reused: return true
        case .absent:
          if model != nil { throw SheetNetError.model("--model \(path): no such file; train the lesson first (sheetnet train), or drop --model") }
        case .stale(let why):
          // `why` names the file and its first difference from this run (what it was made from,
          // or a layer, option or shape that is not the lesson's).
          if model != nil { throw SheetNetError.model("--model \(why); use the model the lesson made, or --retrain") }
        }
      } catch let error as SheetNetError where model == nil {
        // A damaged saved model in the default place is replaced by training, not fatal.
        FileHandle.standardError.write(Data("sheetnet: note: retraining: \(error.description)\n".utf8))  // escaped by SheetNetError
      }
    }
    try timeLimit.check(run, epochs: run.trainer.epochs, "training \(Limits.grouped(run.trainer.epochs)) epoch\(run.trainer.epochs == 1 ? "" : "s")")
    let bar = ProgressBar(enabled: progress && stderrIsTerminal)
    try run.train { bar.update($0) }
    bar.finish()
    return false
  }

  /// Saves a trained run's model.json and history.csv in the lesson's folder, so the next command
  /// reuses them, but only where that folder is the command's own output and the run is the
  /// lesson's (its own seed): a command writing elsewhere (`--output`) or with another `--seed`
  /// saves nothing, and the lesson's folder never holds a model beside files of another run.
  func save(_ run: LessonRun, commandOutput: String?) throws {
    guard commandOutput == nil, run.seed == run.lesson.seed else { return }
    var batch = OutputBatch(folder: run.outputFolder)
    try batch.add(ModelFile(run: run, savedIn: run.outputFolder).text, as: "model.json")
    try batch.add(run.history.csv(layers: run.model.layers.map(\.name)), as: "history.csv")
    try batch.commit()
  }
}
