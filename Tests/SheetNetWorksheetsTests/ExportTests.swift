import Foundation
import SheetNet
import SheetNetTrace
import Testing
import ZIPFoundation
@testable import SheetNetWorksheets

/// CSV worksheets read back to the trace's numbers bit for bit; text never runs as a formula;
/// the same step gives the same bytes; the command writes all or nothing.
@Suite struct ExportTests {
  /// Splits RFC 4180 text into rows of fields (quotes and doubled quotes honoured), after the
  /// byte-order mark every file starts with.
  func parseCSV(_ text: String) -> [[String]] {
    var rows: [[String]] = [], row: [String] = [], field = "", quoted = false
    #expect(text.hasPrefix(CSV.byteOrderMark), "a CSV file without its byte-order mark")
    var chars = Array(text.unicodeScalars.drop { $0 == "\u{FEFF}" })[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" { if chars.first == "\"" { field.unicodeScalars.append("\""); chars.removeFirst() } else { quoted = false } }
        else { field.unicodeScalars.append(c) }
      } else if c == "\"" { quoted = true }
      else if c == "," { row.append(field); field = "" }
      else if c == "\r" { continue }
      else if c == "\n" { row.append(field); rows.append(row); row = []; field = "" }
      else { field.unicodeScalars.append(c) }
    }
    return rows
  }

  /// 0-based (row, column) of an A1 address.
  func address(_ a: Substring) -> (Int, Int) {
    let letters = a.prefix { $0.isLetter }, digits = a.dropFirst(letters.count)
    let column = letters.unicodeScalars.reduce(0) { $0 * 26 + Int($1.value) - 64 } - 1
    return (Int(digits)! - 1, column)
  }

  @Test(arguments: ["mazur", "xor", "digits-cnn"])
  func csvReadsBackBitExactAgainstTraceJSON(_ lesson: String) throws {
    let traced = try tracedLesson(lesson, step: lesson == "mazur" ? 1 : 2, sample: lesson == "digits-cnn" ? 1 : nil)  // Mazur trains one step
    let files = Dictionary(uniqueKeysWithValues: try StepWorkbook(traced).csvFiles().map { ($0.name, $0.text) })
    // trace.json, as `trace --save` writes it, parsed back.
    let document = try Value.parseJSON(TraceJSON.document(traced).json())
    var fromJSON: [String: [Double]] = [:]
    for e in document["entries"]!.list! { fromJSON[e["name"]!.string!] = e["values"]!.list!.map { $0.number! } }

    // entries.csv: one row per element.
    var tidy: [String: [Double]] = [:]
    for row in parseCSV(files["entries.csv"]!).dropFirst() { tidy[row[0], default: []].append(Double(row[5])!) }
    // The sheets, through index.csv's ranges, in the layout's element order.
    let index = parseCSV(files["index.csv"]!)
    #expect(index[0] == ["entry", "kind", "sheet", "file", "part", "range", "shape", "editable"])
    var checked = 0
    for row in index.dropFirst() where row[1] == "entry" && row[4].isEmpty {
      let want = try #require(fromJSON[row[0]], "\(row[0]) is not in trace.json")
      #expect(tidy[row[0]]!.map(\.bitPattern) == want.map(\.bitPattern), "\(row[0]) in entries.csv")
      let sheet = parseCSV(files[row[3]]!)
      // A block's numbers: its grids' ranges in order when it has parts, else its whole range;
      // each range row by row, except a batched [N, K] block, whose samples are its columns.
      let parts = index.filter { $0[0] == row[0] && !$0[4].isEmpty }.map { $0[5] }
      var values: [Double] = []
      for range in parts.isEmpty ? [row[5]] : parts {
        let corners = range.split(separator: ":")
        let (top, left) = address(corners[0]), (bottom, right) = address(corners.last!)
        // A sheet's CSV: a header line, then each row led by its number.
        for r in top...bottom { for c in left...right { values.append(Double(sheet[r + 1][c + 1])!) } }
      }
      let shape = row[6].split(separator: "×").map { Int($0)! }
      if shape.count == 2, traced.tracer.entry(row[0])!.batched {
        let (n, k) = (shape[0], shape[1])
        values = (0..<n * k).map { values[($0 % k) * n + $0 / k] }
      }
      #expect(values.map(\.bitPattern) == want.map(\.bitPattern), "\(row[0]) in \(row[3]) \(row[5])")
      checked += 1
    }
    #expect(checked == traced.tracer.entries.count)
  }

  static let hostileName = #"=HYPERLINK("http://x","y")"#

  /// A layer named as a formula is refused when the lesson is read (names keep `Names`' rule);
  /// the most formula-like names the rule allows start with '-' (`-1-1`, `-A1`), and stay text.
  @Test func aHostileLayerNameStaysInertText() throws {
    func lesson(_ first: String, _ second: String) -> String {
      """
      data: {dataset: inline, x: [[0, 1], [1, 0]], labels: [0, 1]}
      network:
        - {type: dense, units: 2, name: '\(first)'}
        - {type: dense, units: 1, name: '\(second)'}
        - sigmoid
      loss: binary_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.1}
      """
    }
    #expect(throws: SheetNetError.self) { try tracedYAML(lesson(Self.hostileName, "+SUM(1,2)")) }
    let book = try StepWorkbook(try tracedYAML(lesson("-1-1", "-A1")))
    for (name, text) in book.csvFiles() {
      for field in parseCSV(text).joined() {
        #expect(!["=", "+", "-", "@", "\t", "\r"].contains(where: { field.hasPrefix($0) }) || Double(field) != nil, "\(name): '\(field)' would run as a formula")
      }
      #expect(!text.contains("\n-A1") && !text.contains(",-A1") && !text.contains(",-1-1"), "\(name)")
    }
    #expect(book.workbook.sheets.allSatisfy { !$0.name.contains(where: { "[]:*?/\\".contains($0) }) && $0.name.count <= 31 })
    // In the workbook the names are shared strings, and formulas name their sheets in quotes.
    let archive = try Archive(data: Data(try XLSX.data(book.workbook)), accessMode: .read)
    var xml: [String: String] = [:]
    for entry in archive {
      var data = Data()
      _ = try archive.extract(entry) { data.append($0) }
      xml[entry.path] = String(decoding: data, as: UTF8.self)
    }
    #expect(xml["xl/sharedStrings.xml"]!.contains("<t>-A1.forward.z</t>"))
    var quoted = 0
    for (path, text) in xml where path.hasPrefix("xl/worksheets/") {
      #expect(!text.contains("<f>-A1") && !text.contains("<f>-1-1") && !text.contains("(-A1") && !text.contains("(-1-1"), "\(path) holds a name outside quotes")
      quoted += text.components(separatedBy: "&apos;-1-1 forward&apos;!").count - 1
    }
    #expect(quoted > 0)
  }

  @Test func theSameStepGivesTheSameBytes() throws {
    let first = try WorksheetExport.files(try StepWorkbook(try tracedLesson("xor", step: 3)), format: .both)
    let second = try WorksheetExport.files(try StepWorkbook(try tracedLesson("xor", step: 3)), format: .both)
    #expect(first.map(\.name) == second.map(\.name))
    for (a, b) in zip(first, second) { #expect(a.bytes == b.bytes, "\(a.name) differs between two runs") }
  }

  @Test func aStepTooLargeForAWorkbookIsRefusedWithAHint() throws {
    let traced = try tracedLesson("digits-cnn")  // the whole batch of 32
    #expect {
      _ = try StepWorkbook(traced)
    } throws: { error in
      let m = (error as? SheetNetError)?.description ?? ""
      return m.contains("400,000") && m.contains("--sample 1") && m.contains("--batch")
    }
  }

  @Test func aNonFiniteStepIsRefused() throws {
    let yaml = """
      data: {dataset: inline, x: [[1, 1]], y: [[0]]}
      network: [{type: dense, units: 1, weights: [[1e200, 1e200]]}]
      loss: mse
      optimizer: {type: sgd, learning_rate: 0.1}
      """
    #expect {
      _ = try StepWorkbook(try tracedYAML(yaml))
    } throws: { error in
      let m = (error as? SheetNetError)?.description ?? ""
      return m.contains("not finite") && m.contains("loss.L")
    }
  }

  // MARK: The command

  @Test func exportWritesTheFolderAndAFailureLeavesItUntouched() throws {
    let folder = NSTemporaryDirectory() + "sheetnet-export-\(getpid())-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let ok = try sheetnet(["export", "Worksheets/mazur.yaml", "--output", folder])
    #expect(ok.status == 0, "\(ok.err)")
    let before = contents(folder)
    #expect(before.keys.contains("step.xlsx") && before.keys.contains("index.csv") && before.keys.contains("entries.csv") && before.keys.contains("01-input.csv"))

    // Each failure: one line, status 1, and the earlier export exactly as it was.
    let failures: [[String]] = [
      ["export", "Worksheets/digits-cnn.yaml", "--output", folder],  // too large for a workbook
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--format", "pdf"],
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--sample", "9"],
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--sample", "1", "--batch", "1"],
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--step", "0"],
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--batch", "-3"],
      ["export", "Worksheets/mazur.yaml", "--output", folder, "--seed", "x"],
      ["export", "Worksheets/nowhere.yaml", "--output", folder],
      ["export", "Worksheets/mazur.yaml", "--output", folder + "/step.xlsx"],  // a file, not a folder
    ]
    for args in failures {
      let r = try sheetnet(args)
      #expect(r.status == 1, "\(args): status \(r.status)")
      #expect(r.err.hasPrefix("sheetnet: error: ") && r.err.split(separator: "\n").count == 1, "\(args): \(r.err)")
      #expect(contents(folder) == before, "\(args) changed the earlier export")
    }
    // No temporary folder is left beside it.
    let parent = (folder as NSString).deletingLastPathComponent, leaf = (folder as NSString).lastPathComponent
    #expect(try FileManager.default.contentsOfDirectory(atPath: parent).filter { $0.hasPrefix(".\(leaf).") }.isEmpty)

    // csv only replaces the folder with CSV files alone.
    let csv = try sheetnet(["export", "Worksheets/mazur.yaml", "--output", folder, "--format", "csv"])
    #expect(csv.status == 0)
    #expect(!contents(folder).keys.contains("step.xlsx") && contents(folder)["index.csv"] == before["index.csv"])
  }
}
