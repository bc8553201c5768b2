import Foundation
import SheetNet
import SheetNetTrace
import Testing
@testable import SheetNetWorksheets

/// What a student sees: Mazur's published digits, editable cells that look editable in every
/// lesson, classes and features by name, sheets that print on few pages, readable heat maps, and
/// CSV files that Excel and pandas open as they are.
@Suite struct PresentationTests {
  /// The parts of a workbook's .xlsx as text, by path.
  func xml(_ workbook: Workbook) throws -> [String: String] {
    try XLSXTests.parts(try XLSX.data(workbook)).mapValues { String(decoding: $0, as: UTF8.self) }
  }

  /// The text of the label cell at (row, column), if any.
  func label(_ sheet: Sheet, _ row: Int, _ column: Int) -> String? {
    sheet.cells.last { $0.row == row && $0.column == column && $0.style == .label }.flatMap { if case .text(let t) = $0.content { t } else { nil } }
  }

  // MARK: Number formats

  /// Mazur's article, "A Step by Step Backpropagation Example": each number as he printed it.
  static let mazur: [(entry: String, element: Int, published: String)] = [
    ("hidden.forward.z", 0, "0.3775"), ("sigmoid1.forward.a", 0, "0.593269992"), ("sigmoid1.forward.a", 1, "0.596884378"),
    ("sigmoid2.forward.a", 0, "0.75136507"), ("sigmoid2.forward.a", 1, "0.772928465"), ("loss.L", 0, "0.298371109"),
    ("output.backward.dW", 0, "0.082167041"), ("output.update.W", 0, "0.35891648"), ("output.update.W", 1, "0.408666186"),
    ("output.update.W", 2, "0.511301270"), ("output.update.W", 3, "0.561370121"), ("hidden.backward.dW", 0, "0.000438568"),
    ("hidden.update.W", 0, "0.149780716"), ("hidden.update.W", 1, "0.19956143"), ("hidden.update.W", 2, "0.24975114"),
    ("hidden.update.W", 3, "0.29950229"),
  ]

  @Test func eachEntryHasItsOwnFormat() throws {
    let book = try StepWorkbook(try tracedLesson("mazur"))
    func style(_ entry: String, _ i: Int) throws -> CellStyle {
      let b = try #require(book.block(entry)), (r, c) = b.cell(i)
      return try #require(book.workbook.sheets[b.sheet].cells.last { $0.row == r && $0.column == c }).style
    }
    #expect(try style("loss.L", 0) == .number(.fixed(9)))
    #expect(try style("hidden.backward.dW", 0) == .number(.scientific))  // 4.38567620E-04
    #expect(try style("hidden.forward.W", 0) == .input(.general))  // 0.15 as typed
    #expect(try style("output.update.W", 0) == .number(.fixed(9)))
    // Integers: counts, steps, classes; a short hyperparameter as typed (ε = 1E-08).
    #expect(NumberFormat.entry([7, 3], editable: false)(7) == .fixed(0))
    #expect(NumberFormat.entry([1e-8], editable: true)(1e-8) == .general)
    #expect(NumberFormat.entry([1.06e-5, 0.2], editable: false)(1.06e-5) == .scientific)
    #expect(NumberFormat.entry([2.5, 0.2], editable: false)(0.2) == .fixed(8))
    #expect(NumberFormat.entry([0.0123, 0], editable: false)(0) == .fixed(10))
    #expect(NumberFormat.scientific.code == "0.00000000E+00" && NumberFormat.fixed(9).code == "0.000000000")
    // The Summary's hyperparameters: Adam's t and ε as typed, never 1.0000 or 0.0000.
    let digits = try StepWorkbook(try tracedLesson("digits-cnn", step: 2, sample: 1))
    for name in ["adam_t", "epsilon", "learning_rate"] {
      let n = try #require(digits.workbook.names.first { $0.name == name })
      let cell = try #require(digits.workbook.sheets[0].cells.last { $0.row == n.row && $0.column == n.column })
      #expect(cell.style == .input(.general), "\(name): \(cell.style)")
    }
  }

  @Test func libreOfficeShowsMazursPublishedDigits() throws {
    guard LibreOffice.required(by: "libreOfficeShowsMazursPublishedDigits") else { return }
    let book = try StepWorkbook(try tracedLesson("mazur"))
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-mazur-digits-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("step.xlsx").path
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))
    let names = book.workbook.sheets.map(\.name)
    let refs = try Self.mazur.map { m -> LibreOffice.CellRef in
      let b = try #require(book.block(m.entry)), (r, c) = b.cell(m.element)
      return .init(names[b.sheet], r, c)
    }
    let pdf = folder.appendingPathComponent("step.pdf").path
    let result = try #require(try LibreOffice.recalc(workbook: path, runs: [.init(read: refs, strings: true, pdf: pdf)]).first)
    let shown = try #require(result.strings)
    for (m, text) in zip(Self.mazur, shown) {
      // What the cell shows, rounded to the decimals Mazur printed, is what he printed.
      let decimals = m.published.split(separator: ".").last!.count
      let value = try #require(Double(text), "\(m.entry)[\(m.element + 1)] shows '\(text)'")
      #expect(String(format: "%.\(decimals)f", value) == m.published, "\(m.entry)[\(m.element + 1)] shows \(text), Mazur printed \(m.published)")
      #expect(text.filter(\.isNumber).drop { $0 == "0" }.count >= m.published.filter(\.isNumber).drop { $0 == "0" }.count - 1, "\(text) shows fewer digits than \(m.published)")
    }
    // Printed: one page a sheet, the Summary on one.
    let pages = try pageCount(pdf)
    print("mazur: \(pages) printed pages for \(book.workbook.sheets.count) sheets")
    #expect(pages == book.workbook.sheets.count)
  }

  /// Pages of a PDF (pdfinfo from poppler-utils, else the page objects counted).
  func pageCount(_ path: String) throws -> Int {
    let data = try Data(contentsOf: URL(fileURLWithPath: path))
    let text = String(decoding: data, as: UTF8.self)
    return text.components(separatedBy: "/Type/Page").count - 1 - (text.components(separatedBy: "/Type/Pages").count - 1)
      + text.components(separatedBy: "/Type /Page").count - 1 - (text.components(separatedBy: "/Type /Pages").count - 1)
  }

  // MARK: Editable cells

  static let lessons: [(name: String, step: Int, sample: Int?)] = [
    ("mazur", 1, nil), ("xor", 2, nil), ("iris-mlp", 2, nil), ("digits-mlp", 1, 1), ("digits-cnn", 2, 1),
    ("attention-by-hand", 1, nil), ("tiny-gpt", 1, 1), ("spiral", 1, nil),
  ]

  @Test(arguments: 0..<lessons.count)
  func everyEditableCellLooksEditable(_ index: Int) throws {
    let l = Self.lessons[index]
    let book = try StepWorkbook(try tracedLesson(l.name, step: l.step, sample: l.sample))
    var editable = 0
    for b in book.blocks where b.editable {
      let sheet = book.workbook.sheets[b.sheet]
      var styles: [Int: CellStyle] = [:]
      for cell in sheet.cells { styles[key(cell.row, cell.column)] = cell.style }
      for i in 0..<b.shape.reduce(1, *) {
        let (r, c) = b.cell(i)
        guard case .input = styles[key(r, c)] else { Issue.record("\(l.name): \(b.name)[\(i + 1)] is not styled editable"); break }
        // No heat map paints over it.
        for s in sheet.colorScales where (s.top...s.bottom).contains(r) && (s.left...s.right).contains(c) {
          Issue.record("\(l.name): a colour scale covers the editable \(b.name)[\(i + 1)]")
        }
        editable += 1
      }
    }
    #expect(editable > 0)
    // Every computed block of more than one distinct value has its heat map.
    #expect(book.workbook.sheets.contains { !$0.colorScales.isEmpty })
    // In the file: every editable style has the yellow fill and the gold border.
    let styles = try xml(book.workbook)["xl/styles.xml"]!
    let xfs = styles.components(separatedBy: "<cellXfs")[1].components(separatedBy: "<xf ").dropFirst()
    let fill = styles.components(separatedBy: "<fill>").firstIndex { $0.contains(XLSX.editableFill) }.map { $0 - 1 }
    let border = styles.components(separatedBy: "<border>").firstIndex { $0.contains(XLSX.editableBorder) }.map { $0 - 1 }
    #expect(fill == 2 && border == 2, "fill \(String(describing: fill)), border \(String(describing: border))")
    for f in NumberFormat.all {
      let xf = Array(xfs)[XLSX.styleIndex(.input(f))]
      #expect(xf.contains(#"fillId="2""#) && xf.contains(#"borderId="2""#), "\(f): \(xf)")
    }
  }

  // MARK: Names

  @Test func classesFeaturesAndParametersAreNamed() throws {
    // digits: row j of the softmax and of the targets is the digit j (counted from 0).
    let digits = try StepWorkbook(try tracedLesson("digits-mlp", sample: 1))
    for entry in ["softmax1.forward.a", "loss.t"] {
      let b = try #require(digits.block(entry)), sheet = digits.workbook.sheets[b.sheet]
      for j in 0..<10 { #expect(label(sheet, b.cell(j).row, 0)?.hasSuffix(" · digit \(j)") == true, "\(entry) row \(j + 1): \(label(sheet, b.cell(j).row, 0) ?? "none")") }
    }
    #expect(label(digits.workbook.sheets[digits.block("loss.t")!.sheet], digits.block("loss.t")!.cell(8).row, 0) == "t₉ · digit 8")
    // The Summary names the predicted and the target class, through INDEX over the names.
    let summary = digits.workbook.sheets[0]
    let predicted = summary.cells.compactMap { cell -> (String, String)? in
      if case .textFormula(let f, let cached) = cell.content, f.hasPrefix("INDEX(") { return (f, cached) }
      return nil
    }
    #expect(predicted.count == 2 && predicted.allSatisfy { $0.1.hasPrefix("digit ") }, "\(predicted)")
    let traced = try tracedLesson("digits-mlp", sample: 1)
    let t = traced.tracer.entry("loss.t")!.value.data
    #expect(predicted[1].1 == "digit \(t.firstIndex(of: 1)!)")

    // iris: the species and the four measurements.
    let iris = try StepWorkbook(try tracedLesson("iris-mlp", sample: 1))
    let x = try #require(iris.block("input.forward.x")), y = try #require(iris.block("softmax1.forward.a"))
    #expect(label(iris.workbook.sheets[x.sheet], x.cell(2).row, 0) == "x₃ · petal length (cm)")
    #expect(label(iris.workbook.sheets[y.sheet], y.cell(0).row, 0) == "a₁ · setosa")
    let w = try #require(iris.block("dense1.forward.W"))
    #expect(label(iris.workbook.sheets[w.sheet], w.placement.titleRow + 1, 4) == "i=4 · petal width (cm)")
    let w2 = try #require(iris.block("dense2.forward.W"))
    #expect(label(iris.workbook.sheets[w2.sheet], w2.cell(2 * 16).row, 0) == "W j=3 · virginica")

    // Mazur's own names beside the indices: W and everything shaped like it, b.
    let mazur = try StepWorkbook(try tracedLesson("mazur"))
    for (entry, j, names) in [("hidden.forward.W", 0, "w1 w2"), ("hidden.backward.dW", 1, "w3 w4"), ("output.update.W", 1, "w7 w8")] {
      let b = try #require(mazur.block(entry))
      #expect(label(mazur.workbook.sheets[b.sheet], b.cell(j * 2).row, 0) == "\(b.symbol) j=\(j + 1) · \(names)", "\(entry)")
    }
    let b2 = try #require(mazur.block("output.forward.b"))
    #expect(label(mazur.workbook.sheets[b2.sheet], b2.cell(1).row, 0) == "b₂ · b2")
  }

  @Test func badParameterNamesAreRefusedWithTheirLine() throws {
    func lesson(_ labels: String, bias: String = "") -> String {
      """
      data: {dataset: inline, x: [[0.05, 0.10]], y: [[0.01, 0.99]]}
      network:
        - {type: dense, units: 2\(bias), labels: \(labels)}
        - sigmoid
      loss: half_sse
      optimizer: {type: sgd, learning_rate: 0.5}
      """
    }
    let cases: [(String, String, String)] = [
      ("{W: [[w1, w2, w3], [w4, w5, w6]]}", "", "labels.W gives 2 rows of 3 names, but W is 2×2"),
      ("{W: [[w1, w2], [w3]]}", "", "rows of 2 and 1 names"),
      ("{b: [b1]}", "", "labels.b gives 1 names, but b has 2"),
      ("{b: [b1, b2]}", ", use_bias: false", "use_bias: false"),
      ("{B: [b1, b2]}", "", "did you mean 'b'"),
      ("[w1, w2]", "", "'labels' must map a parameter"),
      ("{W: [[w1, {a: 1}], [w3, w4]]}", "", "not a name"),
    ]
    for (labels, bias, message) in cases {
      do {
        _ = try tracedYAML(lesson(labels, bias: bias), name: "named")
        Issue.record("\(labels) was accepted")
      } catch {
        let text = String(describing: error)
        #expect(text.contains("named.yaml line 3") && text.contains(message), "\(labels): \(text)")
      }
    }
    _ = try tracedYAML(lesson("{W: [[w1, w2], [w3, w4]], b: [b1, b1]}"), name: "named")
  }

  // MARK: Printing

  @Test func everySheetPrintsFittedToItsPageWidth() throws {
    let book = try StepWorkbook(try tracedLesson("digits-cnn", step: 2, sample: 1))
    let parts = try xml(book.workbook)
    let workbook = parts["xl/workbook.xml"]!
    for (i, sheet) in book.workbook.sheets.enumerated() {
      let text = parts["xl/worksheets/sheet\(i + 1).xml"]!
      #expect(text.contains(#"<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>"#), "\(sheet.name)")
      #expect(text.contains(#"fitToWidth="1" fitToHeight=""#), "\(sheet.name)")
      #expect(workbook.contains(#"<definedName name="_xlnm.Print_Area" localSheetId="\#(i)">"#), "\(sheet.name) has no print area")
      if i == 0 {
        #expect(text.contains(#"fitToWidth="1" fitToHeight="1"/>"#), "the Summary prints on one page")
      } else {
        #expect(workbook.contains(#"<definedName name="_xlnm.Print_Titles" localSheetId="\#(i)">\#(A1.sheetPrefix(sheet.name).replacingOccurrences(of: "'", with: "&apos;"))$1:$1</definedName>"#), "\(sheet.name)")
      }
    }
    // The print area reaches the end of the Summary's longest line, so no line is cut mid-word.
    let summary = book.workbook.sheets[0], area = try #require(summary.print.area)
    let widths = (0...area.right).map { c in summary.columnWidths.last { $0.first <= c && c <= $0.last }?.width ?? 8.43 }
    for cell in summary.cells {
      guard case .text(let t) = cell.content else { continue }
      #expect(widths[cell.column...].reduce(0, +) >= Double(t.count), "the Summary's print area cuts '\(t.prefix(40))…'")
    }
    // A wide sheet goes landscape; a tall narrow one stays portrait (Dense's W of 10 × 512 is
    // printed in bands of 32 columns, one under another: 33 columns wide).
    var short = Sheet(name: "wide", fileName: "wide.csv"), tall = Sheet(name: "tall", fileName: "tall.csv")
    for c in 0..<120 { for r in 0..<5 { short.cells.append(Cell(row: r, column: c, .number(0.5))) } }
    for r in 0..<400 { for c in 0..<3 { tall.cells.append(Cell(row: r, column: c, .number(0.5))) } }
    #expect(printSetup(short, fit: .width).landscape && !printSetup(tall, fit: .width).landscape)
    let dense = try #require(book.workbook.sheets.first { $0.name == "dense1 forward" })
    #expect(!dense.print.landscape && dense.print.area.map { $0.right } == Placement.bandColumns)
  }

  /// A wide matrix prints in bands of 32 columns one under another, a long sample's column in
  /// bands of 64 rows side by side; a formula that reads a row across bands sums one SUMPRODUCT
  /// per band (FormulaTests and WorkbookRecalcTests check the numbers), and index.csv gives one
  /// part per row and band, in element order (ExportTests reads the CSVs back through them).
  @Test func wideMatricesAndLongColumnsPrintInBands() throws {
    let book = try StepWorkbook(try tracedLesson("digits-cnn", sample: 1))
    let w = try #require(book.block("dense1.forward.W")), x = try #require(book.block("flatten1.forward.a"))
    #expect(w.placement.bands == 16 && w.placement.perBand == Placement.bandColumns)
    // W[1,33] starts band 2, twelve rows (ten rows, a header, a blank) under W[1,1].
    #expect(w.cell(32).row == w.cell(0).row + 12 && w.cell(32).column == w.cell(0).column && w.cell(31).column == 32)
    // The flattened 512: eight bands of 64 rows, each a label column and the sample's column.
    #expect(x.placement.bands == 8 && x.cell(64).row == x.cell(0).row && x.cell(64).column == x.cell(0).column + 2)
    let z = try #require(book.block("dense1.forward.z"))
    let (r, c) = z.cell(0)
    let cell = try #require(book.workbook.sheets[z.sheet].cells.first { $0.row == r && $0.column == c })
    guard case .formula(let text, _, _) = cell.content else { Issue.record("z₁ is not a formula"); return }
    #expect(text.components(separatedBy: "SUMPRODUCT(").count - 1 == 16, "\(text.prefix(200))")
    let index = book.indexCSV()
    #expect(index.contains("dense1.forward.W,entry,dense1 forward,10-dense1-forward.csv,\"1,33-64\","))
    #expect(index.split(whereSeparator: \.isNewline).filter { $0.hasPrefix("dense1.forward.W,") }.count == 1 + 10 * 16)
    #expect(index.contains("flatten1.forward.a,entry,flatten1 forward,09-flatten1-forward.csv,65-128,"))
  }

  @Test func libreOfficePrintsDigitsCNNOnAFewDozenPages() throws {
    guard LibreOffice.required(by: "libreOfficePrintsDigitsCNNOnAFewDozenPages") else { return }
    let book = try StepWorkbook(try tracedLesson("digits-cnn", sample: 1))
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-print-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("step.xlsx").path, pdf = folder.appendingPathComponent("step.pdf").path
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))
    _ = try LibreOffice.recalc(workbook: path, runs: [.init(read: [.init("Summary", 0, 0)], pdf: pdf)], timeout: 900)
    let pages = try pageCount(pdf)
    print("digits-cnn --sample 1: \(pages) printed pages for \(book.workbook.sheets.count) sheets")
    #expect(pages <= 42, "digits-cnn prints on \(pages) pages")
  }

  // MARK: Contrast

  /// WCAG 2 relative luminance of an RGB hex colour.
  static func luminance(_ hex: String) -> Double {
    let v = Int(hex, radix: 16)!
    return zip([0.2126, 0.7152, 0.0722], [v >> 16 & 255, v >> 8 & 255, v & 255]).reduce(0) { sum, pair in
      let c = Double(pair.1) / 255
      return sum + pair.0 * (c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4))
    }
  }

  /// WCAG 2 contrast ratio of two colours.
  static func contrast(_ a: String, _ b: String) -> Double {
    let (x, y) = (luminance(a), luminance(b))
    return (max(x, y) + 0.05) / (min(x, y) + 0.05)
  }

  /// The colour a scale gives at `t` ∈ [0, 1] between two colours (spreadsheets mix RGB).
  static func mix(_ a: String, _ b: String, _ t: Double) -> String {
    let (x, y) = (Int(a, radix: 16)!, Int(b, radix: 16)!)
    return [16, 8, 0].map { s in String(format: "%02X", Int((Double(x >> s & 255) * (1 - t) + Double(y >> s & 255) * t).rounded())) }.joined()
  }

  @Test func blackTextStaysReadableOnEveryHeatMapColour() throws {
    let scales = [["FFFFFF", ColorScale.sequentialHigh], [ColorScale.divergingLow, "FFFFFF", ColorScale.divergingHigh]]
    var worst = Double.infinity
    for scale in scales {
      for (a, b) in zip(scale, scale.dropFirst()) {
        for k in 0...100 { worst = min(worst, Self.contrast("000000", Self.mix(a, b, Double(k) / 100))) }
      }
    }
    #expect(worst >= 4.5, "black text on a heat-map colour has a contrast of \(worst):1")
    // The old darkest colours failed: the test can fail.
    #expect(Self.contrast("000000", "3B528B") < 4.5)
    // Every scale a workbook writes uses these colours.
    for lesson in ["mazur", "iris-mlp"] {
      for sheet in try StepWorkbook(try tracedLesson(lesson, step: lesson == "mazur" ? 1 : 2)).workbook.sheets {
        for s in sheet.colorScales {
          #expect(Set([s.lowColor, s.highColor] + (s.mid == nil ? [] : [s.midColor])).isSubset(of: ["FFFFFF", ColorScale.sequentialHigh, ColorScale.divergingLow, ColorScale.divergingHigh]))
        }
      }
    }
    // Labels (grey italic) on white and on the editable yellow; the exercise's verdicts.
    #expect(Self.contrast("666666", "FFFFFF") >= 4.5 && Self.contrast("000000", XLSX.editableFill) >= 4.5)
    #expect(Self.contrast(ExerciseWorkbook.rightFont, ExerciseWorkbook.rightFill) >= 4.5 && Self.contrast(ExerciseWorkbook.wrongFont, ExerciseWorkbook.wrongFill) >= 4.5)
  }

  // MARK: CSV

  @Test func csvFilesStartWithAByteOrderMarkAndAHeader() throws {
    let book = try StepWorkbook(try tracedLesson("iris-mlp", sample: 1))
    let files = try WorksheetExport.files(book, format: .csv)
    for file in files {
      #expect(file.bytes.starts(with: [0xEF, 0xBB, 0xBF]), "\(file.name) has no byte-order mark")
      let text = String(decoding: file.bytes.dropFirst(3), as: UTF8.self)
      let lines = text.components(separatedBy: "\r\n")
      let header = lines[0].split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      switch file.name {
      case "index.csv": #expect(header == ["entry", "kind", "sheet", "file", "part", "range", "shape", "editable"])
      case "entries.csv": #expect(header == ["entry", "layer", "phase", "symbol", "index", "value"])
      default:
        // A sheet: `row,A,B,…`, then each line led by its row number.
        #expect(header.first == "row" && Array(header.dropFirst()) == (0..<header.count - 1).map(A1.column), "\(file.name): \(lines[0])")
        for (n, line) in lines.dropFirst().dropLast().enumerated() { #expect(line.hasPrefix("\(n + 1),"), "\(file.name) line \(n + 2)") }
      }
      #expect(!text.contains("\u{FEFF}"), "\(file.name): a second byte-order mark")
    }
    // The symbols survive as UTF-8 (Excel reads them so because of the mark).
    let input = try #require(files.first { $0.name == "01-input.csv" })
    #expect(String(decoding: input.bytes, as: UTF8.self).contains("x₃ · petal length (cm)"))
  }
}
