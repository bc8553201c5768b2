import Foundation
import Testing

#if canImport(Glibc)
import Glibc
#endif

/// LibreOffice as a second spreadsheet engine: tests write a workbook, let LibreOffice load it,
/// edit inputs, recalculate every formula and read cells back as full doubles.
///
/// It runs `recalc.py` (beside this file) with the system Python, which has Debian's `uno` module
/// (python3-uno); that script starts its own headless soffice (libreoffice-calc-nogui) with a
/// throwaway profile and always ends it. The request goes through a JSON file, so a run may read
/// tens of thousands of cells.
enum LibreOffice {
  /// The system Python (a pyenv `python3` on PATH has no `uno`).
  static let python = "/usr/bin/python3"
  /// LibreOffice's launcher.
  static let soffice = "/usr/bin/soffice"
  /// The script that drives LibreOffice.
  static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
    .appendingPathComponent("recalc.py").path

  /// A cell: sheet name, 0-based row and column.
  struct CellRef: Sendable, Encodable {
    var sheet: String, row: Int, column: Int
    /// A cell of a sheet.
    init(_ sheet: String, _ row: Int, _ column: Int) {
      self.sheet = sheet
      self.row = row
      self.column = column
    }
    /// As `["Sheet", row, column]`.
    func encode(to encoder: any Encoder) throws {
      var c = encoder.unkeyedContainer()
      try c.encode(sheet)
      try c.encode(row)
      try c.encode(column)
    }
  }

  /// A number to set before recalculating.
  struct Edit: Sendable, Encodable {
    var cell: CellRef, value: Double
    /// Text typed instead of a number, when given.
    var text: String?
    /// Set `cell` to `value`.
    init(_ sheet: String, _ row: Int, _ column: Int, _ value: Double) {
      cell = CellRef(sheet, row, column)
      self.value = value
    }
    /// Set `cell` to the text `text`.
    init(_ sheet: String, _ row: Int, _ column: Int, text: String) {
      cell = CellRef(sheet, row, column)
      self.value = 0
      self.text = text
    }
    /// As `["Sheet", row, column, value]` (or the text in place of the value).
    func encode(to encoder: any Encoder) throws {
      var c = encoder.unkeyedContainer()
      try c.encode(cell.sheet)
      try c.encode(cell.row)
      try c.encode(cell.column)
      if let text { try c.encode(text) } else { try c.encode(value) }
    }
  }

  /// One load of the workbook: edits, a full recalculation, then the cells to read.
  struct Run: Sendable, Encodable {
    var edits: [Edit] = []
    var read: [CellRef]
    /// Also read each cell's text as LibreOffice shows it.
    var strings = false
    /// Export the recalculated workbook as HTML to this path (conditional formats applied).
    var html: String?
    /// Print the recalculated workbook to this PDF path (every sheet, as its print setup says).
    var pdf: String?
    /// A run.
    init(edits: [Edit] = [], read: [CellRef], strings: Bool = false, html: String? = nil, pdf: String? = nil) {
      self.edits = edits
      self.read = read
      self.strings = strings
      self.html = html
      self.pdf = pdf
    }
  }

  /// What one run read.
  struct RunResult: Sendable {
    /// The value of each cell read, in order; nil for a cell whose formula ended in an error.
    var values: [Double?]
    /// Index in `values` → LibreOffice's error number (503 #NUM!, 532 #DIV/0!, …; -1 non-finite).
    var errors: [Int: Int]
    /// Each read cell's text as shown, when the run asked for `strings`.
    var strings: [String]?
    /// Seconds spent in `calculateAll`.
    var recalcSeconds: Double
    /// Seconds spent loading the workbook.
    var loadSeconds: Double
    /// Seconds spent reading the cells back.
    var readSeconds: Double
  }

  /// Why LibreOffice cannot be used here, or nil when it can.
  static let missing: String? = {
    guard FileManager.default.isExecutableFile(atPath: soffice) else { return "no \(soffice)" }
    guard FileManager.default.isExecutableFile(atPath: python) else { return "no \(python)" }
    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = ["-c", "import uno"]
    process.environment = environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    do { try process.run() } catch { return "cannot run \(python): \(error)" }
    process.waitUntilExit()
    return process.terminationStatus == 0 ? nil : "\(python) cannot import uno"
  }()

  /// Whether `recalc` can run.
  static var available: Bool { missing == nil }

  /// For a test that needs LibreOffice: true when it is there. Otherwise, under CI (the
  /// environment variable CI set) the test fails; elsewhere it prints a loud SKIPPED line.
  static func required(by test: String, sourceLocation: SourceLocation = #_sourceLocation) -> Bool {
    guard let missing else { return true }
    let install = "apt-get install libreoffice-calc-nogui python3-uno"
    if ProcessInfo.processInfo.environment["CI"] != nil {
      Issue.record("\(test): LibreOffice is required under CI but \(missing) (\(install))", sourceLocation: sourceLocation)
    } else {
      print("SKIPPED: LibreOffice not installed (\(install)): \(missing); \(test) did not run")
    }
    return false
  }

  /// An error from a LibreOffice run: recalc.py's one line, or a timeout.
  struct Failure: Error, CustomStringConvertible {
    /// What went wrong.
    var description: String
  }

  /// Loads `workbook` once per run, applies the run's edits, recalculates and reads its cells.
  /// soffice is killed after `timeout` seconds; the whole call gives up 30 s later.
  static func recalc(workbook: String, runs: [Run], timeout: Double = 300) throws -> [RunResult] {
    let fm = FileManager.default
    let dir = fm.temporaryDirectory.appendingPathComponent("sheetnet-libreoffice-\(UUID().uuidString)")
    try fm.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? fm.removeItem(at: dir) }
    let requestURL = dir.appendingPathComponent("request.json")
    let resultURL = dir.appendingPathComponent("result.json")
    let stderrURL = dir.appendingPathComponent("stderr.txt")

    let pidURL = dir.appendingPathComponent("soffice.pid")

    struct Request: Encodable {
      var workbook: String, profile: String, timeout: Double, pid_file: String, runs: [Run]
    }
    let request = Request(
      workbook: URL(fileURLWithPath: workbook).path, profile: dir.appendingPathComponent("profile").path,
      timeout: timeout, pid_file: pidURL.path, runs: runs)
    try JSONEncoder().encode(request).write(to: requestURL)
    _ = fm.createFile(atPath: stderrURL.path, contents: nil)
    let stderr = try FileHandle(forWritingTo: stderrURL)
    defer { try? stderr.close() }

    let process = Process()
    process.executableURL = URL(fileURLWithPath: python)
    process.arguments = [script, requestURL.path, resultURL.path]
    process.environment = environment
    process.standardInput = FileHandle.nullDevice
    process.standardOutput = stderr
    process.standardError = stderr
    try process.run()
    let deadline = Date().addingTimeInterval(timeout + 30)
    while process.isRunning && Date() < deadline { usleep(50_000) }
    if process.isRunning {
      process.terminate()  // SIGTERM: recalc.py kills soffice and leaves
      let grace = Date().addingTimeInterval(10)
      while process.isRunning && Date() < grace { usleep(50_000) }
      if process.isRunning { kill(process.processIdentifier, SIGKILL) }
      process.waitUntilExit()
      // Should recalc.py have left soffice running, end its process group (started as one).
      if let text = try? String(contentsOf: pidURL, encoding: .utf8),
        let group = Int32(text.trimmingCharacters(in: .whitespacesAndNewlines)), group > 1 {
        kill(-group, SIGKILL)
      }
      throw Failure(description: "recalc.py did not finish within \(Int(timeout + 30)) s on \(workbook)")
    }
    process.waitUntilExit()
    guard process.terminationStatus == 0 else {
      let text = (try? String(contentsOf: stderrURL, encoding: .utf8)) ?? ""
      let line = text.split(separator: "\n").last(where: { $0.hasPrefix("recalc.py:") }) ?? text.suffix(500)
      throw Failure(description: "recalc.py exited \(process.terminationStatus): \(line)")
    }

    struct Response: Decodable {
      struct RunOut: Decodable { var values: [Double?], errors: [[Int]], strings: [String]? }
      var runs: [RunOut], seconds: [Double], load_seconds_per_run: [Double], read_seconds: [Double]
    }
    let response = try JSONDecoder().decode(Response.self, from: Data(contentsOf: resultURL))
    guard response.runs.count == runs.count else {
      throw Failure(description: "recalc.py answered \(response.runs.count) runs for \(runs.count)")
    }
    return response.runs.indices.map { i in
      let run = response.runs[i]
      var errors: [Int: Int] = [:]
      for pair in run.errors where pair.count == 2 { errors[pair[0]] = pair[1] }
      return RunResult(
        values: run.values, errors: errors, strings: run.strings, recalcSeconds: response.seconds[i],
        loadSeconds: response.load_seconds_per_run[i], readSeconds: response.read_seconds[i])
    }
  }

  /// This process's environment without the variables that would point the system Python at
  /// another Python's library (pyenv).
  private static var environment: [String: String] {
    var env = ProcessInfo.processInfo.environment
    for key in ["PYTHONHOME", "PYTHONPATH", "PYTHONSTARTUP", "PYTHONUSERBASE"] { env[key] = nil }
    return env
  }
}
