import ArgumentParser
import Foundation
import SheetNet

/// `sheetnet train LESSON`: trains a lesson, prints its results and writes `model.json`.
struct Train: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "train",
    abstract: "Train a lesson's network and write Output/<lesson>/model.json.",
    discussion: "A progress bar with loss, accuracy and time left appears on a terminal only.")

  @OptionGroup var options: LessonOptions

  @Option(help: "Train for this many epochs instead of the lesson's.")
  var epochs: Int?

  @Flag(help: "Print the results as JSON on standard output (no progress bar).")
  var json = false

  @OptionGroup var timeLimit: TimeLimitOptions

  func validate() throws {
    if let epochs, epochs < 0 || epochs > 1_000_000 { throw ValidationError("--epochs must be between 0 and 1000000") }
  }

  func run() {
    guarded {
      let run = try options.run()
      if let epochs { run.trainer.epochs = epochs }
      try Budget.checkSaving(run)
      try timeLimit.check(run, epochs: run.trainer.epochs, "training \(Limits.grouped(run.trainer.epochs)) epoch\(run.trainer.epochs == 1 ? "" : "s")")
      let folder = options.folder(for: run)
      try AtomicFile.checkCanMake(folder)
      if !json { printEscaped("\(run.lesson.name): \(run.lesson.title.isEmpty ? run.lesson.path : run.lesson.title) (seed \(run.seed))") }
      let bar = ProgressBar(enabled: !json && stderrIsTerminal)
      let start = Date()
      try run.train { bar.update($0) }
      let seconds = Date().timeIntervalSince(start)
      bar.finish()
      let results = TrainingResults(run: run, seconds: seconds)
      // The model and its history are one batch: both replaced, or neither.
      var batch = OutputBatch(folder: folder)
      try batch.add(ModelFile(run: run, savedIn: folder).text, as: "model.json")
      try batch.add(run.history.csv(layers: run.model.layers.map(\.name)), as: "history.csv")
      try batch.commit()
      if json {
        print(results.json.json())
      } else {
        printEscaped(results.table)
        printEscaped("Model written to \(batch.path(of: "model.json")); history to \(batch.path(of: "history.csv"))")
      }
    }
  }
}

/// Final losses and accuracies of a lesson run.
struct TrainingResults {
  let run: LessonRun
  let seconds: Double
  let sets: [(name: String, evaluation: Evaluation, samples: Int)]

  init(run: LessonRun, seconds: Double) {
    self.run = run
    self.seconds = seconds
    var sets = [("train", run.evaluate(run.split.train), run.split.train.count)]
    if let v = run.split.validation { sets.append(("validation", run.evaluate(v), v.count)) }
    if let t = run.split.test { sets.append(("test", run.evaluate(t), t.count)) }
    self.sets = sets
  }

  var json: Value {
    var pairs: [(key: String, value: Value)] = [
      ("lesson", .string(run.lesson.name)), ("seed", .number(Double(run.seed))),
      ("epochs", .number(Double(run.history.epochs.count))), ("parameters", .number(Double(run.model.parameterCount))),
    ]
    for (name, e, samples) in sets {
      var set: [(key: String, value: Value)] = [("loss", .number(e.loss)), ("accuracy", e.accuracy.map { .number($0) } ?? .null), ("samples", .number(Double(samples)))]
      if let s = e.sequenceAccuracy { set.append(("sequence_accuracy", .number(s))) }
      pairs.append((name, .map(set)))
    }
    pairs.append(("seconds", .number((seconds * 1000).rounded() / 1000)))
    return .map(pairs)
  }

  /// Whether the lesson's data are token sequences (accuracy is then per position).
  var tokens: Bool { run.split.train.isTokens }

  var table: String {
    let epochs = run.history.epochs.count
    var lines = ["After \(epochs) epoch\(epochs == 1 ? "" : "s") (\(String(format: "%.2f", seconds)) s, \(run.model.parameterCount) parameters):",
                 "              loss    accuracy   samples" + (run.split.train.answersWhole ? "   whole sequences" : "")]
    for (name, e, samples) in sets {
      let acc = e.accuracy.map { String(format: "%8.2f%%", $0 * 100) } ?? "       —"
      lines.append("  " + name.padding(toLength: 10, withPad: " ", startingAt: 0) + String(format: " %8.5f  ", e.loss) + acc + String(format: "  %7d", samples)
                   + (e.sequenceAccuracy.map { String(format: "   %8.2f%%", $0 * 100) } ?? ""))
    }
    if tokens { lines.append("(accuracy: the positions that count whose likeliest token is the target)") }
    return lines.joined(separator: "\n")
  }
}

/// A one-line progress bar on standard error, redrawn at most ten times a second.
final class ProgressBar {
  let enabled: Bool
  var last = Date.distantPast
  let start = Date()

  init(enabled: Bool) { self.enabled = enabled }

  func update(_ p: TrainingProgress) {
    guard enabled else { return }
    let now = Date()
    let stepsDone = (p.epoch - 1) * p.stepsPerEpoch + p.step
    let stepsAll = max(p.epochs * p.stepsPerEpoch, 1)
    let done = Double(stepsDone) / Double(stepsAll)
    guard now.timeIntervalSince(last) > 0.1 || done >= 1 else { return }
    last = now
    let width = 24, filled = Int(done * Double(width))
    let elapsed = now.timeIntervalSince(start)
    let left = done > 0 ? elapsed * (1 - done) / done : 0
    let bar = String(repeating: "█", count: filled) + String(repeating: "░", count: width - filled)
    let line = String(format: "\r%@ epoch %d/%d  loss %.4f  acc %.1f%%  %.1f s left ", bar, p.epoch, p.epochs, p.loss, p.accuracy * 100, left)
    FileHandle.standardError.write(Data(line.utf8))
  }

  func finish() {
    guard enabled else { return }
    FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8))
  }
}
