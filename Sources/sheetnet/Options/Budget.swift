import ArgumentParser
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetWorksheets

/// `--no-time-limit`, for every command that trains: without it, training estimated to take
/// longer than `Limits.trainingTime` (1 hour) is refused before it starts.
struct TimeLimitOptions: ParsableArguments {
  @Flag(help: "Train even when the estimated training time is above the limit (1 hour).")
  var noTimeLimit = false

  /// The limit these options give.
  var limit: TimeLimit { TimeLimit(lifted: noTimeLimit) }

  /// Throws one line when training `run` for `epochs` epochs is estimated to take too long.
  func check(_ run: LessonRun, epochs: Int, _ doing: String) throws { try limit.check(run, epochs: epochs, doing) }

  /// Throws one line when training `run` up to step `step` (and checking it) takes too long.
  func check(_ run: LessonRun, steps step: Int, check: Bool = false, _ doing: String) throws {
    try limit.check(run, steps: step, check: check, doing)
  }
}

/// The training time a command allows: `Limits.trainingTime`, or none (`--no-time-limit`).
struct TimeLimit {
  /// True with --no-time-limit.
  var lifted = false

  /// The limit in seconds, nil with --no-time-limit. SHEETNET_TIME_LIMIT (seconds) lowers it for
  /// tests, which cannot wait an hour to see the refusal lifted.
  var seconds: Double? {
    if lifted { return nil }
    if let text = ProcessInfo.processInfo.environment["SHEETNET_TIME_LIMIT"], let s = Double(text), s >= 0 { return s }
    return Limits.trainingTime
  }

  /// Throws one line when training `run` for `epochs` epochs (`doing`: "training 100,000 epochs")
  /// is estimated to take longer than the limit.
  func check(_ run: LessonRun, epochs: Int, _ doing: String) throws {
    try check(run, seconds: run.trainingSeconds(epochs: epochs), samples: Double(run.split.train.count) * Double(epochs), doing)
  }


  /// Throws one line when training `run` up to step `step` (and with `check` a gradient check of
  /// that step, `Limits.gradientCheckSeconds`) is estimated to take too long.
  func check(_ run: LessonRun, steps step: Int, check: Bool = false, _ doing: String) throws {
    var seconds = run.trainingSeconds(steps: step)
    if check { seconds += Limits.gradientCheckSeconds(run.model, batch: min(run.trainer.batchSize, run.split.train.count)) }
    try self.check(run, seconds: seconds, samples: Double(step) * Double(min(run.trainer.batchSize, run.split.train.count)), doing,
                   remedy: check ? "drop --check, trace fewer samples or use a smaller network" : "trace an earlier --step or use a smaller network")
  }

  /// Throws one line when `estimate` seconds of training `run` on `samples` samples in all
  /// (`doing`) is above the limit.
  func check(_ run: LessonRun, seconds estimate: Double, samples: Double, _ doing: String,
             remedy: String = "train fewer epochs or a smaller network") throws {
    guard let limit = seconds, estimate > limit else { return }
    let rate = String(format: "%.1f", Limits.multiplyAddsPerSecond / 1e9)
    throw SheetNetError.lesson(
      "\(run.lesson.path): \(doing) would take about \(Limits.duration(estimate)) (\(Budget.count(samples)) samples trained at about "
        + "\(Budget.count(Limits.workPerSample(run.model, batch: min(run.trainer.batchSize, run.split.train.count)))) multiply-adds each, \(rate) billion a second), more than the \(Limits.duration(limit)) SheetNet allows; "
        + "\(remedy), or give --no-time-limit")
  }
}

/// The memory a command needs beyond its run's data and training, estimated by `Limits` before
/// anything is allocated, each past `Limits.memoryBytes` refused with one line.
enum Budget {
  /// 12,345 or "1.2e+12" for a count that may be huge.
  static func count(_ x: Double) -> String { x < 1e15 ? Limits.grouped(Int(x)) : String(format: "%.1e", x) }

  /// Refuses a run whose model.json (written after training, or read back) does not fit beside it.
  static func checkSaving(_ run: LessonRun) throws {
    let states = Limits.optimizerStates(run.optimizer)
    try Limits.checkMemory(Limits.saturated(run.memoryBytes, plus: run.savedModelBytes), "\(run.lesson.path): training and its model.json",
                           "\(Limits.grouped(run.model.parameterCount)) parameters\(states > 0 ? " and \(states) optimizer state\(states == 1 ? "" : "s") each" : ""), \(Limits.grouped(Limits.bytesPerSavedNumber)) bytes a number in model.json",
                           "use a smaller network")
  }

  /// How a refusal tells the user to make a traced step smaller, on the command line or in a
  /// lesson's `build:` section.
  struct StepRemedies {
    /// How to trace fewer samples.
    var fewer = "trace fewer samples with --sample 1 or --batch 2"
    /// How to write worksheets of values only (CSV holds more cells).
    var valuesOnly = "export values only with --format csv"
    /// What else makes it smaller.
    var otherwise = "use a smaller network"
    /// How to make no worksheets, where that is a choice.
    var noWorksheets: String? = nil
    /// The command line's.
    static let commandLine = StepRemedies()
    /// A lesson's `build:` section's.
    static let build = StepRemedies(fewer: "trace fewer samples with build: {sample: 1}", valuesOnly: "write values only with build: {worksheets: csv}",
                                    otherwise: "use a smaller network or data set, or list fewer figures in build: {figures: […]}",
                                    noWorksheets: "make none with build: {worksheets: none}")
  }

  /// What a traced step is made into, for `checkStep`.
  struct StepViews {
    /// trace.txt and trace.json.
    var text = false
    /// Worksheets of at most this many cells.
    var cells: Int? = nil
    /// A gradient-check table (`trace --check`).
    var check = false
  }

  /// The size of step `step` of `run` on the samples asked for.
  static func stepSize(_ run: LessonRun, step: Int, sample: Int?, batch: Int?) -> (size: Limits.TraceSize, samples: Int) {
    let samples = run.tracedBatch(step: step, sample: sample, prefix: batch)
    return (Limits.traceSize(run.model, optimizer: run.optimizer, batch: samples), samples)
  }

  /// Refuses a traced step whose views would not fit in memory beside `run` and `others` (named
  /// parts already held: build's second run, model.json, figures), before it is traced; and a
  /// workbook that would certainly hold more than its cell limit.
  static func checkStep(_ run: LessonRun, step: Int, sample: Int?, batch: Int?, views: StepViews, others: [(String, Int)] = [],
                        what: String? = nil, remedies: StepRemedies = .commandLine) throws {
    let (size, samples) = stepSize(run, step: step, sample: sample, batch: batch)
    let path = run.lesson.path
    if let cells = views.cells, size.atLeast > cells {
      let csvLimit = 20 * workbookCellLimit
      let ways = (samples > 1 ? [remedies.fewer] : []) + (cells < csvLimit && size.atLeast <= csvLimit ? [remedies.valuesOnly] : [])
        + (remedies.noWorksheets.map { [$0] } ?? []) + ["use a smaller network"]
      throw SheetNetError.lesson("\(path): the workbook for step \(step) would hold at least \(Limits.grouped(size.atLeast)) cells, more than the \(Limits.grouped(cells)) a workbook is written for; \(ways.joined(separator: ", or "))")
    }
    var parts: [(String, Int)] = [("the run", run.memoryBytes)] + others
    var traced = views.text ? size.renderedBytes : size.heldBytes
    if views.cells != nil { traced = Limits.saturated(traced, plus: size.exportedBytes - size.heldBytes) }
    parts.append(("the traced step", traced))
    if views.check { parts.append(("the gradient check", Limits.saturated(run.model.parameterCount, times: 2 * (8 + Limits.bytesPerRenderedNumber)))) }
    let bytes = parts.reduce(0) { Limits.saturated($0, plus: $1.1) }
    let what = what ?? "tracing step \(step)" + (views.cells == nil ? " and writing its text and JSON" : " and its worksheets")
    let remedy = (samples > 1 ? remedies.fewer + ", or " : "") + remedies.otherwise
    try Limits.checkMemory(bytes, "\(path): \(what)",
                           "\(Limits.grouped(size.values)) numbers traced and \(Limits.grouped(size.arithmetic)) in its equations on \(samples) sample\(samples == 1 ? "" : "s"); "
                             + breakdown(parts), remedy)
  }

  /// "the run 1.2 GB, the traced step 3.4 GB": the parts of an estimate, largest first, those of
  /// at least 0.1 GB.
  static func breakdown(_ parts: [(String, Int)]) -> String {
    let shown = parts.filter { $0.1 >= 1 << 30 / 10 }.sorted { $0.1 > $1.1 }.map { "\($0.0) \(Limits.gigabytes($0.1))" }
    return shown.isEmpty ? "each part under 0.1 GB" : shown.joined(separator: ", ")
  }

  /// Refuses a figure that would not fit beside its run and model.json.
  static func checkFigure(_ kind: FigureKind, _ run: LessonRun, _ options: FigureOptions, scale: Double) throws {
    let saved = kind.needsTraining && options.trained ? run.savedModelBytes : 0  // written after training, or read back
    let parts = [("the run", run.memoryBytes), ("model.json", saved), ("the figure", Catalogue.memoryBytes(kind, FigureSource(run: run), options, scale: scale))]
    let evaluated = run.evaluationSet.data.count
    try Limits.checkMemory(parts.reduce(0) { Limits.saturated($0, plus: $1.1) }, "\(run.lesson.path): figure \(kind.rawValue)",
                           "\(Limits.grouped(run.model.parameterCount)) parameters, \(Limits.grouped(evaluated)) \(run.evaluationSet.name) samples, \(String(format: "%g", scale)) pixels a point; " + breakdown(parts),
                           "use a smaller network or data set" + (scale > options.theme.defaultScale ? ", or a smaller --scale" : ""))
  }
}
