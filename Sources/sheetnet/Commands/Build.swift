import ArgumentParser
import Foundation
import SheetNet

/// `sheetnet build [LESSON…]`: every lesson (all of Worksheets/ by default) into
/// `Output/<lesson>/` — model, trace, worksheets, figures, exercise sheet and page — and
/// `Output/index.html`. Lessons build in parallel, each in its own process, so one that fails
/// (or crashes) stops only itself.
struct Build: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build",
    abstract: "Build lessons into Output/<lesson>/: model, trace, worksheets, figures, exercise sheet and an index.html page.",
    discussion: """
      With no lesson, every lesson in the project's Worksheets/. A lesson whose text, data, seed \
      and SheetNet version are unchanged since its last build, and whose file was not touched, is \
      up to date and skipped (--force rebuilds it); a rebuilt lesson reuses its saved model when \
      it matches (--retrain trains anyway). A lesson's `build:` section says what to make (README). \
      When a lesson's build succeeds its folder holds what the build made: SheetNet's earlier \
      files that it no longer makes are removed, files it did not write are never touched. When \
      it fails the folder is left as it was; the other lessons go on, and the command exits with \
      status 1 at the end.
      """)

  @Argument(help: "Lessons to build: names (xor) or files (Worksheets/xor.yaml); default: all of Worksheets/.")
  var lessons: [String] = []

  @Option(help: "Lessons built at once (default: the number of cores).")
  var jobs: Int?

  @Flag(help: "Rebuild lessons that are up to date.")
  var force = false

  @Flag(help: "Train every lesson even when a matching model is saved.")
  var retrain = false

  @OptionGroup var timeLimit: TimeLimitOptions

  @Flag(help: "Print the summary as JSON.")
  var json = false

  func validate() throws {
    if let jobs, !(1...256).contains(jobs) { throw ValidationError("--jobs must be between 1 and 256") }
  }

  /// One lesson's build as the parent sees it.
  final class Job: @unchecked Sendable {
    let path: String
    var stage = "waiting", fraction: Double? = nil
    var result: LessonBuild.Result? = nil
    var error: String? = nil
    var seconds = 0.0
    init(path: String) { self.path = path }
    /// The lesson's name as typed or as its file says.
    var name: String { result?.lesson ?? ((path as NSString).lastPathComponent as NSString).deletingPathExtension }
  }

  func run() {
    let paths: [String] = guarded {
      if lessons.isEmpty {
        let all = Project.lessonFiles()
        guard !all.isEmpty else { throw SheetNetError.lesson("no lessons: no Worksheets/ folder here or above with .yaml files; name lesson files to build") }
        return all
      }
      var seen = Set<String>()
      return try lessons.map { try Project.lessonFile($0) }.filter { seen.insert($0).inserted }
    }
    let jobs = paths.map(Job.init)
    let lock = NSLock()
    let width = self.jobs ?? max(1, ProcessInfo.processInfo.activeProcessorCount)
    let slots = DispatchSemaphore(value: width)
    let group = DispatchGroup()
    let executable = URL(fileURLWithPath: "/proc/self/exe").resolvingSymlinksInPath()
    let started = Date()
    for job in jobs {
      group.enter()
      Thread.detachNewThread {
        slots.wait()
        Build.runChild(job, executable: executable, force: force, retrain: retrain, noTimeLimit: timeLimit.noTimeLimit, lock: lock)
        slots.signal()
        group.leave()
      }
    }
    let display = stderrIsTerminal && !json
    while group.wait(timeout: .now() + 0.2) == .timedOut {
      if display { lock.withLock { Build.drawProgress(jobs, started: started) } }
    }
    if display { FileHandle.standardError.write(Data("\r\u{1B}[2K".utf8)) }
    let total = Date().timeIntervalSince(started)
    let (index, indexError) = Build.writeIndex(jobs)
    if json {
      print(Value.map([
        ("lessons", .list(jobs.map { job in
          var v = job.result?.json ?? .map([("lesson", .string(job.name))])
          if case .map(var pairs) = v {
            pairs.append(("status", .string(job.error == nil ? "ok" : "failed")))
            if let e = job.error { pairs.append(("error", .string(e))) }
            pairs.append(("wall_seconds", .number((job.seconds * 1000).rounded() / 1000)))
            v = .map(pairs)
          }
          return v
        })),
        ("index", index.map { .string($0) } ?? .null), ("seconds", .number((total * 1000).rounded() / 1000)),
      ]).json())
    } else {
      printEscaped(Build.table(jobs))
      printEscaped(String(format: "%d lesson%@ in %.1f s", jobs.count, jobs.count == 1 ? "" : "s", total) + (index.map { "; open \($0)" } ?? ""))
    }
    // One line per failed lesson. An index that could not be written is said only when no lesson
    // failed: a failed lesson's line already names the folder that refused it.
    for job in jobs { if let e = job.error { FileHandle.standardError.write(Data("sheetnet: error: \(Terminal.escaped("\(job.name): \(e)"))\n".utf8)) } }
    if jobs.contains(where: { $0.error != nil }) { Foundation.exit(1) }
    if let indexError { fail(indexError) }
  }

  /// Runs `sheetnet build-lesson` for one lesson and follows what it reports.
  static func runChild(_ job: Job, executable: URL, force: Bool, retrain: Bool, noTimeLimit: Bool, lock: NSLock) {
    let start = Date()
    let process = Process()
    process.executableURL = executable
    process.arguments = ["build-lesson", job.path] + (force ? ["--force"] : []) + (retrain ? ["--retrain"] : []) + (noTimeLimit ? ["--no-time-limit"] : [])
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    do { try process.run() } catch {
      lock.withLock { job.error = "cannot start \(executable.path): \(error.localizedDescription)"; job.stage = "failed" }
      return
    }
    // Standard error is read on its own thread, so a child writing much to it never blocks.
    final class Box: @unchecked Sendable { var data = Data() }
    let errors = Box()
    let errorReader = Thread { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
    errorReader.start()
    var pending = Data()
    while true {
      let chunk = out.fileHandleForReading.availableData
      if chunk.isEmpty { break }
      pending.append(chunk)
      while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
        let line = String(decoding: pending[pending.startIndex..<newline], as: UTF8.self)
        pending = Data(pending[(newline + 1)...])
        guard let value = try? Value.parseJSON(line) else { continue }
        lock.withLock {
          if let stage = value["stage"]?.string { job.stage = stage; job.fraction = value["fraction"]?.number }
          if let result = value["result"] { job.result = LessonBuild.Result(result) }
        }
      }
    }
    process.waitUntilExit()
    while !errorReader.isFinished { usleep(1000) }
    let message = String(decoding: errors.data, as: UTF8.self).split(separator: "\n").last.map(String.init) ?? ""
    lock.withLock {
      job.seconds = Date().timeIntervalSince(start)
      if process.terminationReason == .uncaughtSignal {
        job.error = "stopped by signal \(process.terminationStatus)"
      } else if process.terminationStatus != 0 || job.result == nil {
        job.error = message.hasPrefix("sheetnet: error: ") ? String(message.dropFirst(17)) : (message.isEmpty ? "failed (status \(process.terminationStatus))" : message)
      }
      job.stage = job.error == nil ? "done" : "failed"
    }
  }

  /// One line on standard error: lessons done of all, and what each running lesson is doing.
  static func drawProgress(_ jobs: [Job], started: Date) {
    let done = jobs.filter { $0.stage == "done" || $0.stage == "failed" }.count
    let running = jobs.filter { !["waiting", "done", "failed"].contains($0.stage) }.map { job in
      Terminal.escaped(job.name + " " + job.stage) + (job.fraction.map { String(format: " %.0f%%", $0 * 100) } ?? "")
    }
    let widthBar = 20, filled = jobs.isEmpty ? widthBar : widthBar * done / jobs.count
    var line = String(repeating: "█", count: filled) + String(repeating: "░", count: widthBar - filled)
    line += String(format: " %d/%d lessons  %.0f s  ", done, jobs.count, Date().timeIntervalSince(started)) + running.joined(separator: " · ")
    FileHandle.standardError.write(Data(("\r\u{1B}[2K" + String(line.prefix(stderrColumns - 1))).utf8))
  }

  /// The summary: lesson, what was made, seconds, model reused or trained, and the outcome.
  static func table(_ jobs: [Job]) -> String {
    var rows = [["lesson", "made", "seconds", "model", ""]]
    for job in jobs {
      let made = job.result?.made.filter { $0.count > 0 }.map { $0.kind == "page" || $0.kind == "exercise" ? $0.kind : "\($0.count) \($0.kind)" }.joined(separator: ", ") ?? "—"
      rows.append([Terminal.escaped(job.name), job.error == nil ? made : "—", String(format: "%.1f", job.seconds), job.result?.model ?? "—", job.error == nil ? "ok" : "FAILED"])
    }
    let widths = (0..<5).map { c in rows.map { $0[c].count }.max() ?? 0 }
    return rows.map { row in
      row.enumerated().map { c, cell in c == 2 ? String(repeating: " ", count: widths[c] - cell.count) + cell : cell.padding(toLength: widths[c], withPad: " ", startingAt: 0) }
        .joined(separator: "  ").trimmingCharacters(in: .whitespaces)
    }.joined(separator: "\n")
  }

  /// Writes `Output/index.html` listing every lesson folder there that a build made (the
  /// lessons of this run first, in order); returns its path (nil when there is nothing to list)
  /// or why it could not be written.
  static func writeIndex(_ jobs: [Job]) -> (path: String?, error: SheetNetError?) {
    let root = Project.outputRoot
    var entries: [IndexPage.Entry] = []
    var listed = Set<String>()
    func entry(folder: String, note: String?) -> IndexPage.Entry? {
      guard !listed.contains(folder), FileManager.default.fileExists(atPath: "\(root)/\(folder)/index.html"),
            let data = FileManager.default.contents(atPath: "\(root)/\(folder)/build.json"),
            let value = try? Value.parseJSON(String(decoding: data, as: UTF8.self)) else { return nil }
      listed.insert(folder)
      let files = value["files"]?.list?.compactMap(\.string) ?? []
      let preferred = ["figures/overview.png", "figures/decision-boundary.png", "figures/training.png", "figures/architecture.png"]
      let picture = preferred.first(where: files.contains) ?? files.first { $0.hasPrefix("figures/") && ($0.hasSuffix(".png") || $0.hasSuffix(".svg")) }
      let intent = value["intent"]?.string ?? ""
      return IndexPage.Entry(folder: folder, title: value["title"]?.string ?? folder, intent: intent, picture: picture, note: note)
    }
    for job in jobs {
      let folder = job.result.map { Project.relativePath($0.folder, from: root) } ?? job.name
      guard !folder.hasPrefix("..") else { continue }
      if let e = entry(folder: folder, note: job.error.map { "Its last build failed (\($0)); this is the build before." }) { entries.append(e) }
    }
    let others = ((try? FileManager.default.contentsOfDirectory(atPath: root)) ?? []).sorted()
    for folder in others { if let e = entry(folder: folder, note: nil) { entries.append(e) } }
    guard !entries.isEmpty else { return (nil, nil) }
    do {
      try AtomicFile.write(IndexPage(entries: entries).html, to: "\(root)/index.html")
    } catch {
      return (nil, error)
    }
    return ("\(root)/index.html", nil)
  }
}

/// `sheetnet build-lesson LESSON`: one lesson's build, for `sheetnet build`, which runs one of
/// these per lesson. Reports on standard output, a JSON object per line: `{"stage": …,
/// "fraction": …}` as it goes, then `{"result": …}`.
struct BuildLesson: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "build-lesson", abstract: "Build one lesson (sheetnet build runs this for each).", shouldDisplay: false)

  @Argument(help: "The lesson file.")
  var lesson: String

  @Flag(help: "Rebuild even when up to date.")
  var force = false

  @Flag(help: "Train even when a matching model is saved.")
  var retrain = false

  @OptionGroup var timeLimit: TimeLimitOptions

  func run() {
    guarded {
      var last = Date.distantPast
      let build = LessonBuild(path: try Project.lessonFile(lesson), force: force, retrain: retrain, timeLimit: timeLimit.limit)
      let result = try build.run { stage, fraction in
        let now = Date()
        guard fraction == nil || fraction == 0 || now.timeIntervalSince(last) > 0.2 else { return }
        last = now
        var pairs: [(key: String, value: Value)] = [("stage", .string(stage))]
        if let fraction { pairs.append(("fraction", .number((fraction * 1000).rounded() / 1000))) }
        FileHandle.standardOutput.write(Data((Value.map(pairs).json(pretty: false) + "\n").utf8))
      }
      FileHandle.standardOutput.write(Data((Value.map([("result", result.json)]).json(pretty: false) + "\n").utf8))
    }
  }
}
