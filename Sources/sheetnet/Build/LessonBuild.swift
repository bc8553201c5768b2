import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
import SheetNetWorksheets

/// One lesson built into `Output/<lesson>/`: its model (reused or trained), the traced step
/// (trace.txt, trace.json), worksheets, figures, exercise sheet and page, all made in memory
/// first and then committed as one batch (`WorksheetExport.write`, `.replaceOwned`): a lesson
/// whose build fails leaves its earlier folder exactly as it was.
struct LessonBuild {
  /// The lesson file.
  let path: String
  /// Rebuild even when `build.json` says the folder is up to date.
  var force = false
  /// Train even when a matching model is saved.
  var retrain = false
  /// The training time allowed (`--no-time-limit` lifts it).
  var timeLimit = TimeLimit()

  /// What a build did, for the summary table and `build.json`.
  struct Result {
    var lesson = "", title = "", folder = ""
    /// `trained`, `reused`, `up to date` or `no data`.
    var model = ""
    /// Files made, by kind: trace, worksheets, figures, exercise, page.
    var made: [(kind: String, count: Int)] = []
    /// Seconds per stage: train, trace, export, figures, exercise, write.
    var seconds: [(stage: String, value: Double)] = []

    /// As one JSON object (what the child process reports).
    var json: Value {
      .map([
        ("lesson", .string(lesson)), ("title", .string(title)), ("folder", .string(folder)), ("model", .string(model)),
        ("made", .map(made.map { ($0.kind, .number(Double($0.count))) })),
        ("seconds", .map(seconds.map { ($0.stage, .number(($0.value * 1000).rounded() / 1000)) })),
      ])
    }

    /// Read back from `json`.
    init(_ value: Value) {
      lesson = value["lesson"]?.string ?? ""
      title = value["title"]?.string ?? ""
      folder = value["folder"]?.string ?? ""
      model = value["model"]?.string ?? ""
      if case .map(let m)? = value["made"] { made = m.map { ($0.key, Int($0.value.number ?? 0)) } }
      if case .map(let s)? = value["seconds"] { seconds = s.map { ($0.key, $0.value.number ?? 0) } }
    }

    init() {}

    /// The previous build's result, as a skipped lesson reports it.
    func markedUpToDate(seconds: Double) -> Result {
      var r = self
      r.model = "up to date"
      r.seconds = [("check", seconds)]
      return r
    }
  }

  /// Builds the lesson; `progress` hears each stage as it starts (and training's fraction done).
  func run(progress: @escaping (String, Double?) -> Void) throws -> Result {
    var result = Result()
    var clock = DispatchTime.now().uptimeNanoseconds
    func lap(_ stage: String) {
      let now = DispatchTime.now().uptimeNanoseconds
      result.seconds.append((stage, Double(now - clock) / 1e9))
      clock = now
    }
    let lesson = try Lesson.load(path)
    let spec = lesson.build
    result.lesson = lesson.name
    result.title = lesson.title
    var files: [(name: String, bytes: [UInt8])] = []
    func add(_ text: String, _ name: String) { files.append((name, Array(text.utf8))) }

    // A lesson without data: only its architecture and its page.
    guard lesson.data.dataset != "none" else {
      let folder = lesson.outputFolder
      result.folder = folder
      if !force, let previous = Self.upToDate(folder: folder, fingerprint: lesson.fingerprint, lesson: lesson) {
        return previous.markedUpToDate(seconds: Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9)
      }
      result.model = "no data"
      let source = try FigureSource(lessonWithoutData: lesson, seed: nil)
      progress("figures", nil)
      let figures = try figureFiles(try figurePlan(source, lesson: lesson, trained: false), source)
      files += figures
      result.made.append(("figures", figures.count))
      lap("figures")
      try finish(lesson: lesson, folder: folder, fingerprint: lesson.fingerprint, files: &files, result: &result, traceText: nil,
                 facts: [("Network", source.model.layers.map(\.name).joined(separator: " → ")), ("Parameters", "\(source.model.parameterCount)")])
      lap("write")
      return result
    }

    let run = try LessonRun(lesson)
    let folder = run.outputFolder
    result.folder = folder
    let fingerprint = run.fingerprint
    if !force, let previous = Self.upToDate(folder: folder, fingerprint: fingerprint, lesson: lesson) {
      return previous.markedUpToDate(seconds: Double(DispatchTime.now().uptimeNanoseconds - clock) / 1e9)
    }

    // 1. The model: the saved one when it was made from this very lesson, else training.
    progress("train", 0)
    var reused = false
    if !retrain {
      do {
        if case .reused = try run.restoreSaved(modelPath: "\(folder)/model.json") { reused = true }
      } catch {
        reused = false  // a damaged saved model is replaced by training
      }
    }
    // The figures are planned before training, so the one training records what they read.
    let source = FigureSource(run: run)
    let checked = try figurePlan(source, lesson: lesson, trained: true, prepare: false)
    try checkBudget(run, plan: checked, reused: reused)
    let plan = try prepare(checked, source, explicit: lesson.build.figures != nil)
    if !reused {
      try run.train { p in
        let all = max(1, p.epochs * p.stepsPerEpoch)
        progress("train", Double((p.epoch - 1) * p.stepsPerEpoch + p.step) / Double(all))
      }
    }
    result.model = reused ? "reused" : "trained"
    add(ModelFile(run: run, savedIn: folder).text, "model.json")
    add(run.history.csv(layers: run.model.layers.map(\.name)), "history.csv")
    lap("train")

    // 2. The traced step, from the lesson's seeded start (a few steps: cheap), on the lesson's
    // choice of samples.
    progress("trace", nil)
    let fresh = try LessonRun(lesson)
    let sample = Self.tracedSample(lesson)
    let traced = try TracedStep(fresh, .init(step: spec.step, sample: sample, batch: spec.batch))
    let text = Trace.plainText(traced)
    add(text, "trace.txt")
    add(TraceJSON.document(traced).json() + "\n", "trace.json")
    result.made.append(("trace", 2))
    lap("trace")

    // 3. Worksheets of that step.
    if let format = WorksheetFormat(rawValue: spec.worksheets) {
      progress("export", nil)
      let book = try StepWorkbook(traced, limit: format == .csv ? 20 * workbookCellLimit : workbookCellLimit)
      let sheets = try WorksheetExport.files(book, format: format)
      files += sheets.map { ("worksheets/\($0.name)", $0.bytes) }
      result.made.append(("worksheets", sheets.count))
      lap("export")
    }

    // 4. Figures of the trained network.
    progress("figures", nil)
    let figures = try figureFiles(plan, source)
    files += figures
    result.made.append(("figures", figures.count))
    lap("figures")

    // 5. Text the trained network generates, for the page (token lessons; `generate:`).
    let generated = try Self.generatedText(run, lesson)
    if generated != nil { lap("generate") }

    // 6. The exercise sheet: asked for, or by default when the network fits a hand sheet.
    var facts = Self.facts(run)
    if spec.exercise {
      progress("exercise", nil)
      let blank: ExerciseBlank
      if let text = spec.exerciseBlank {
        guard let parsed = ExerciseBlank(text) else {
          throw SheetNetError.lesson("\(spec.location): exercise blank '\(text.prefix(40))' must be \(ExerciseBlank.usage)")
        }
        blank = parsed
      } else {
        blank = .mix
      }
      do {
        // Too many weights is known from this run: no second run is made just to be refused.
        if let refusal = Exercise.refusal(run) { throw refusal }
        let focus = ExerciseFocus(entries: spec.exerciseFocus, given: spec.exerciseGiven)
        let sheet = try ExerciseCommand.files(lesson: lesson, blank: blank, seed: spec.exerciseSeed, focus: focus, lock: spec.exerciseLock)
        files += sheet.map { ("exercise/\($0.name)", [UInt8]($0.data)) }
        result.made.append(("exercise", sheet.count))
      } catch {
        let reason = (error as? SheetNetError)?.description ?? "\(error)"
        if spec.exerciseAsked { throw SheetNetError.lesson("\(spec.location): exercise: \(reason)") }
        facts.append(("Exercise sheet", "none: " + reason.replacingOccurrences(of: lesson.path + ": ", with: "")))
      }
      lap("exercise")
    }

    try finish(lesson: lesson, folder: folder, fingerprint: fingerprint, files: &files, result: &result, traceText: text, facts: facts,
               generated: generated)
    lap("write")
    return result
  }

  /// The sample the build traces: the lesson's `build: {sample}`, else one sample when neither
  /// it nor `batch` is given and the batch is larger than 8 (a readable trace), else the batch.
  static func tracedSample(_ lesson: Lesson) -> Int? {
    lesson.build.sample ?? (lesson.build.batch == nil && lesson.batchSize > 8 ? 1 : nil)
  }

  /// Refuses, before training, a build that would not fit in memory (two runs of the lesson —
  /// the trained one and the fresh one traced —, model.json, the traced step with its text,
  /// JSON and worksheets, the figures) or would train longer than the time limit (the training
  /// unless the model is reused, the steps up to the traced one, the filmstrip's own training
  /// when the model is reused).
  func checkBudget(_ run: LessonRun, plan: [FigurePlan], reused: Bool) throws {
    let spec = run.lesson.build
    let source = FigureSource(run: run)
    var figures: [(String, Int)] = plan.map { ($0.kind.rawValue, Catalogue.memoryBytes($0.kind, source, $0.options, scale: $0.options.theme.defaultScale)) }
    let total = figures.reduce(0) { Limits.saturated($0, plus: $1.1) }
    figures.sort { $0.1 > $1.1 }
    let figureName = figures.first.map { "the figures (\($0.0) the largest)" } ?? "the figures"
    let cells: Int? = WorksheetFormat(rawValue: spec.worksheets).map { $0 == .csv ? 20 * workbookCellLimit : workbookCellLimit }
    try Budget.checkStep(run, step: spec.step, sample: Self.tracedSample(run.lesson), batch: spec.batch, views: .init(text: true, cells: cells),
                         others: [("the traced run", run.memoryBytes), ("model.json", run.savedModelBytes), (figureName, total)],
                         what: "building the lesson", remedies: .build)
    let batch = Double(min(run.trainer.batchSize, run.split.train.count)), samples = Double(run.split.train.count)
    var seconds = run.trainingSeconds(steps: spec.step), trained = Double(spec.step) * batch
    if !reused { seconds += run.trainingSeconds(); trained += samples * Double(run.trainer.epochs) }
    if reused, let filmstrip = plan.first(where: { $0.kind == .filmstrip }) {
      let epochs = filmstrip.options.epochs?.max() ?? run.trainer.epochs
      seconds += run.trainingSeconds(epochs: epochs)
      trained += samples * Double(epochs)
    }
    try timeLimit.check(run, seconds: seconds, samples: trained,
                        "building the lesson (\(reused ? "its saved model reused" : "training \(Limits.grouped(run.trainer.epochs)) epoch\(run.trainer.epochs == 1 ? "" : "s")"))")
  }

  /// Adds the page and `build.json`, then commits `files` into the lesson's folder, removing
  /// SheetNet's earlier files that are not among them.
  func finish(lesson: Lesson, folder: String, fingerprint: String, files: inout [(name: String, bytes: [UInt8])],
              result: inout Result, traceText: String?, facts: [(String, String)], generated: LessonPage.Generated? = nil) throws {
    var page = LessonPage(lesson: lesson, result: result, files: files.map(\.name), traceText: traceText, facts: facts)
    page.generated = generated
    files.append(("index.html", Array(page.html.utf8)))
    result.made.append(("page", 1))
    var manifest = result.json
    if case .map(var pairs) = manifest {
      pairs.append(("intent", .string(lesson.intent)))
      pairs.append(("fingerprint", .string(fingerprint)))
      pairs.append(("lesson_modified", .number(Self.modified(lesson.path))))
      pairs.append(("files", .list(files.map { .string($0.name) } + [.string("build.json")])))
      manifest = .map(pairs)
    }
    files.append(("build.json", Array((manifest.json() + "\n").utf8)))
    try WorksheetExport.write(files, to: folder, mode: .replaceOwned)
  }

  /// A figure to draw: its kind, options and format, and where the lesson asked for it.
  struct FigurePlan {
    var kind: FigureKind, options: FigureOptions, format: ImageFormat, location: String
  }

  /// The figures asked for (or every kind that applies, in `defaultFigures`' order), each checked
  /// and prepared (`Catalogue.prepare`), so that the run's one training records what they read.
  /// Call it before the run trains.
  /// With `prepare: false` the kinds are only checked (`Catalogue.check`); `prepare(_:_:)` then
  /// prepares them.
  func figurePlan(_ source: FigureSource, lesson: Lesson, trained: Bool, prepare: Bool = true) throws -> [FigurePlan] {
    var plan: [FigurePlan] = []
    let order = Self.defaultFigures + FigureKind.allCases.filter { !Self.defaultFigures.contains($0) }
    let requests = lesson.build.figures ?? order.map { BuildSpec.FigureRequest(kind: $0.rawValue, location: lesson.path) }
    let explicit = lesson.build.figures != nil
    for request in requests {
      guard let kind = FigureKind(rawValue: request.kind) else {
        let kinds = FigureKind.allCases.map(\.rawValue)
        throw SheetNetError.lesson("\(request.location): unknown figure kind '\(request.kind)'\(didYouMean(request.kind, in: kinds)); kinds: \(kinds.joined(separator: ", "))")
      }
      let (options, format) = try Self.figureOptions(request, source: source)
      if !trained && kind != FigureKind.architecture { continue }
      do {
        if prepare { try Catalogue.prepare(kind, source, options) } else { try Catalogue.check(kind, source, options) }
      } catch {
        if explicit { throw SheetNetError.lesson("\(request.location): \(kind.rawValue): \(error.description)") }
        continue  // a default kind that does not apply to this lesson
      }
      plan.append(FigurePlan(kind: kind, options: options, format: format, location: request.location))
    }
    return plan
  }

  /// Prepares the planned figures (`Catalogue.prepare`), so the run's one training records what
  /// they read; as `figurePlan` does, a default kind that does not apply is dropped.
  func prepare(_ plan: [FigurePlan], _ source: FigureSource, explicit: Bool) throws -> [FigurePlan] {
    var prepared: [FigurePlan] = []
    for item in plan {
      do { try Catalogue.prepare(item.kind, source, item.options) } catch {
        if explicit { throw SheetNetError.lesson("\(item.location): \(item.kind.rawValue): \(error.description)") }
        continue
      }
      prepared.append(item)
    }
    return prepared
  }

  /// The planned figures drawn from the run as it is now, as files under `figures/`.
  func figureFiles(_ plan: [FigurePlan], _ source: FigureSource) throws -> [(name: String, bytes: [UInt8])] {
    var out: [(name: String, bytes: [UInt8])] = []
    for item in plan {
      let figures: [SheetNetFigures.Figure]
      do { figures = try Catalogue.make(item.kind, source, item.options) } catch {
        throw SheetNetError.lesson("\(item.location): \(item.kind.rawValue): \(error.description)")
      }
      for figure in figures {
        let bytes = try FigureFile.render(figure, as: item.format, scale: item.options.theme.defaultScale)
        out.append(("figures/\(figure.name).\(item.format.rawValue)", bytes))
      }
    }
    return out
  }


  /// Every kind, in the order a lecture tells it: the network and how it learned, what it
  /// decides, what it sees inside, then one step's arithmetic. A lesson without `figures:` gets
  /// each of these that applies to it.
  static let defaultFigures: [FigureKind] = [
    .architecture, .overview, .training, .decisionBoundary, .filmstrip, .confusion, .mistakes, .featureMaps, .filters, .embeddings,
    .attention, .generation, .convStep, .activations, .graph, .gradients, .optimizers,
  ]

  /// A figure entry's options, read and checked by `sheetnet figure`'s own parser (the entry
  /// `{kind: conv-step, positions: 2}` is `sheetnet figure conv-step LESSON --positions 2`), so
  /// the two accept exactly the same values.
  static func figureOptions(_ request: BuildSpec.FigureRequest, source: FigureSource) throws -> (FigureOptions, ImageFormat) {
    var arguments = [request.kind, source.lesson.path]
    for (key, value) in request.options.sorted(by: { $0.key < $1.key }) { arguments += ["--\(key)", value] }
    let command: Figure
    do { command = try Figure.parse(arguments) } catch {
      let message = Figure.message(for: error).split(separator: "\n").first.map(String.init) ?? "\(error)"
      throw SheetNetError.lesson("\(request.location): \(request.kind): \(message.hasPrefix("Error: ") ? String(message.dropFirst(7)) : message)")
    }
    let options = command.figureOptions(lastEpoch: source.run?.trainer.epochs ?? source.lesson.epochs)
    return (options, ImageFormat(rawValue: command.format.rawValue)!)
  }


  /// The previous build's result when `folder/build.json` was made from the same fingerprint,
  /// the lesson file has not been touched since, and every file it lists is still there.
  static func upToDate(folder: String, fingerprint: String, lesson: Lesson) -> Result? {
    guard let data = FileManager.default.contents(atPath: "\(folder)/build.json"),
          let value = try? Value.parseJSON(String(decoding: data, as: UTF8.self)),
          value["fingerprint"]?.string == fingerprint,
          value["lesson_modified"]?.number == modified(lesson.path),
          case .list(let names)? = value["files"] else { return nil }
    for name in names {
      guard let n = name.string, FileManager.default.fileExists(atPath: "\(folder)/\(n)") else { return nil }
    }
    return Result(value)
  }

  /// The lesson file's modification time (seconds since 1970), 0 when unknown.
  static func modified(_ path: String) -> Double {
    let date = (try? FileManager.default.attributesOfItem(atPath: path)[.modificationDate]) as? Date
    return date.map { ($0.timeIntervalSince1970 * 1000).rounded() / 1000 } ?? 0
  }

  /// The text the page shows a token lesson's network generate: `build: {generate: …}`, or for
  /// `dataset: text` the defaults (the first evaluation window's first half continued by 300
  /// characters at temperature 0.8, seed 1); nil for other lessons and with `generate: none`.
  /// The tokens are `Generation.sample`'s, as `sheetnet sample` draws them.
  static func generatedText(_ run: LessonRun, _ lesson: Lesson) throws -> LessonPage.Generated? {
    let vocabulary = run.split.train.vocabulary
    guard lesson.build.generates, !vocabulary.isEmpty, lesson.build.generate != nil || lesson.data.dataset == "text" else { return nil }
    var asked = lesson.build.generate ?? BuildSpec.Generate()
    if asked.location.isEmpty { asked.location = lesson.build.location.isEmpty ? lesson.path : lesson.build.location }
    if let open = run.model.layers.first(where: { ($0 as? any CausalityReporting)?.isCausal == false }) {
      guard lesson.build.generate == nil else {
        throw SheetNetError.lesson("\(asked.location): generate: \(open.name) reads the positions after each one, so the network cannot generate one token at a time; give it causal: true, or drop 'generate'")
      }
      return nil
    }
    let prompt = try asked.prompt.map { try Generation.ids($0, vocabulary, source: "\(asked.location): generate: prompt", lesson: lesson.name) }
      ?? SheetNetFigures.Figure.generationPrompt(run, sample: 0).prompt
    let tokens = Generation.sample(model: run.model, prompt: prompt, length: asked.length, temperature: asked.temperature,
                                   seed: asked.seed, top: 0, vocabulary: vocabulary)
    return LessonPage.Generated(prompt: prompt.map { vocabulary[$0] }.joined(), text: tokens.map(\.text).joined(), options: asked,
                                lesson: lesson.name)
  }

  /// What the page says of a trained run: network, training and the final loss and accuracy.
  static func facts(_ run: LessonRun) -> [(String, String)] {
    var facts: [(String, String)] = [
      ("Network", run.model.layers.map(\.name).joined(separator: " → ")),
      ("Parameters", "\(run.model.parameterCount)"),
      ("Training", "\(run.trainer.epochs) epoch\(run.trainer.epochs == 1 ? "" : "s"), batches of \(run.trainer.batchSize), \(run.split.train.count) training sample\(run.split.train.count == 1 ? "" : "s")"),
    ]
    var sets = [("Training split", run.split.train)]
    if let v = run.split.validation { sets.append(("Validation split", v)) }
    if let t = run.split.test { sets.append(("Test split", t)) }
    for (name, set) in sets {
      let e = run.evaluate(set)
      facts.append((name, String(format: "loss %.5f", e.loss)
        + (e.accuracy.map { String(format: set.isTokens ? ", token accuracy %.2f %%" : ", accuracy %.2f %%", $0 * 100) } ?? "")
        + (e.sequenceAccuracy.map { String(format: ", whole sequences %.2f %%", $0 * 100) } ?? "")))
    }
    // What a token network must beat: counting models fitted on the training split (CountingBaselines).
    if let (name, set) = sets.dropFirst().first, let b = CountingBaselines.measure(train: run.split.train, on: set) {
      facts.append(("Counting baselines", String(format: "on the %@: unigram loss %.5f, bigram loss %.5f (training split's counts, add-one)",
                                                 name.lowercased(), b.unigram, b.bigram)))
    }
    return facts
  }
}
