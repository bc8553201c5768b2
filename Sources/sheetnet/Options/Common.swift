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

/// Whether a command reuses a saved model or trains: `--model FILE`, `--retrain`.
struct ModelOptions: ParsableArguments {
  @Option(help: "Reuse this model file (default: Output/<lesson>/model.json when it was made from the same lesson text, data, seed and SheetNet version).")
  var model: String?

  @Flag(help: "Train the lesson even when a matching model is saved.")
  var retrain = false

  func validate() throws {
    if model != nil && retrain { throw ValidationError("give --model or --retrain, not both") }
  }

  /// Brings `run` to the end of its training: restores the saved model when it matches, else
  /// trains (with a progress bar on a terminal) and saves model.json and history.csv in the
  /// lesson's output folder, so the next command reuses them. Returns true when it reused.
  /// Training estimated to take longer than `timeLimit` allows is refused before it starts.
  func prepare(_ run: LessonRun, progress: Bool, timeLimit: TimeLimitOptions) throws -> Bool {
    if !retrain {
      let path = model ?? "\(run.outputFolder)/model.json"
      do {
        switch try run.restoreSaved(modelPath: path) {
        case .reused: return true
        case .absent:
          if model != nil { throw SheetNetError.model("--model \(path): no such file; train the lesson first (sheetnet train), or drop --model") }
        case .stale(let why):
          if model != nil { throw SheetNetError.model("--model: \(why); use the lesson it came from, or --retrain") }
        }
      } catch let error as SheetNetError where model == nil {
        // A damaged saved model in the default place is replaced by training, not fatal.
        FileHandle.standardError.write(Data("sheetnet: note: retraining: \(error.description)\n".utf8))
      }
    }
    try timeLimit.check(run, epochs: run.trainer.epochs, "training \(Limits.grouped(run.trainer.epochs)) epoch\(run.trainer.epochs == 1 ? "" : "s") for the figure")
    let bar = ProgressBar(enabled: progress && stderrIsTerminal)
    try run.train { bar.update($0) }
    bar.finish()
    var batch = OutputBatch(folder: run.outputFolder)
    batch.add(ModelFile(run: run, savedIn: run.outputFolder).text, as: "model.json")
    batch.add(run.history.csv(layers: run.model.layers.map(\.name)), as: "history.csv")
    try batch.commit()
    return false
  }
}
