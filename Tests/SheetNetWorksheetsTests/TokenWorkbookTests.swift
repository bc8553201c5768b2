import Foundation
import SheetNet
import SheetNetTrace
import Testing
@testable import SheetNetWorksheets

/// A token lesson's workbook reads like its text: rows of every sequence value are the sample's
/// tokens, E's rows the vocabulary, attention grids query tokens by key tokens with a live row sum
/// beside each row of A; LibreOffice sums each row of A to 1 and follows an edit of E or Wq
/// through A, the loss and the gradients; hostile tokens stay plain text.
@Suite(.serialized) struct TokenWorkbookTests {
  func attentionReverse() throws -> TracedStep {
    let lesson = try Lesson.load(packageRoot.appendingPathComponent("Worksheets/attention-reverse.yaml").path)
    return try TracedStep(try LessonRun(lesson), TracedStep.Request(step: 1, sample: 1))
  }

  /// The text of a label cell (the last written at that place), nil when there is none.
  func label(_ sheet: Sheet, _ row: Int, _ column: Int) -> String? {
    guard let cell = sheet.cells.last(where: { $0.row == row && $0.column == column }), case .text(let s) = cell.content else { return nil }
    return s
  }

  /// The row sums beside each grid of `block`: (row, column) of each, grid by grid, row by row.
  func rowSums(_ block: Block) -> [(row: Int, column: Int)] {
    guard case .grids(let count, let h, let w, _) = block.placement.kind else { return [] }
    return (0..<count).flatMap { g in (0..<h).map { r in
      let last = block.cell((g * h + r) * w + w - 1)
      return (last.row, last.column + 1)
    } }
  }

  @Test func attentionSheetsNameTheTokensOnBothAxes() throws {
    let traced = try attentionReverse()
    let book = try StepWorkbook(traced)
    let vocabulary = traced.run.split.train.vocabulary
    let ids = traced.tracer.entry("input.forward.x")!.value.data
    let T = ids.count
    func token(_ t: Int) -> String { "t\(t + 1) ‘\(vocabulary[Int(ids[t])])’" }

    // A: query tokens down, key tokens across, "Σ row" over a column of live sums of 1.
    let a = try #require(book.block("attention1.forward.A"))
    let sheet = book.workbook.sheets[a.sheet]
    guard case .grids(let grids, let h, let w, _) = a.placement.kind else { Issue.record("A is not a grid"); return }
    #expect(grids == 2 && h == T && w == T)
    for g in 0..<grids {
      let (_, left) = a.placement.gridLabel(g)
      let top = a.cell(g * h * w).row
      for i in 0..<T {
        #expect(label(sheet, top + i, left - 1) == token(i), "A grid \(g + 1), query row \(i + 1)")
        #expect(label(sheet, top - 1, left + i) == token(i), "A grid \(g + 1), key column \(i + 1)")
      }
      #expect(label(sheet, top - 1, left + w) == "Σ row")
    }
    let A = traced.tracer.entry("attention1.forward.A")!.value
    for (n, place) in rowSums(a).enumerated() {
      let cell = try #require(sheet.cells.last { $0.row == place.row && $0.column == place.column })
      guard case .formula(let text, let cached, let array) = cell.content else { Issue.record("row sum \(n + 1) is no formula"); continue }
      #expect(text.hasPrefix("SUM(") && array, "\(text)")
      #expect(abs(cached - 1) < 1e-12 && abs(cached - (0..<w).map { A.data[n * w + $0] }.reduce(0, +)) < 1e-15)
      #expect(book.formulas[.init(sheet: a.sheet, row: place.row, column: place.column)] != nil, "the row sum is evaluated with every formula")
    }
    // s, too; q (a row per token); E (a row per vocabulary token); the scores over the vocabulary.
    let s = try #require(book.block("attention1.forward.s"))
    #expect(label(book.workbook.sheets[s.sheet], s.cell(0).row - 1, 1) == token(0))
    #expect(label(book.workbook.sheets[s.sheet], s.cell(0).row, 0) == token(0))
    let q = try #require(book.block("attention1.forward.q"))
    #expect((0..<T).allSatisfy { label(book.workbook.sheets[q.sheet], q.cell($0 * q.shape[2]).row, 0) == token($0) })
    let e = try #require(book.block("embedding1.forward.E"))
    #expect((0..<vocabulary.count).allSatisfy { label(book.workbook.sheets[e.sheet], e.cell($0 * e.shape[1]).row, 0) == "id \($0) ‘\(vocabulary[$0])’" })
    let y = try #require(book.block("softmax1.forward.a"))
    let top = y.cell(0).row
    #expect((0..<vocabulary.count).allSatisfy { label(book.workbook.sheets[y.sheet], top - 1, 1 + $0) == "‘\(vocabulary[$0])’" })
    #expect(label(book.workbook.sheets[y.sheet], top + 2, 0) == token(2))
    let x = try #require(book.block("input.forward.x"))
    #expect(label(book.workbook.sheets[x.sheet], x.cell(3).row, 0) == token(3))

    // The CSV of A's sheet carries the same labels.
    let csv = try #require(book.csvFiles().first { $0.name == sheet.fileName }).text
    #expect(csv.contains(token(0) + ",") && csv.contains("Σ row"))
    // Labels never moved a formula (FormulaTests and WorkbookRecalcTests evaluate every one of
    // this workbook): no label sits on a cell of a block.
    var taken = Set<Int>()
    for b in book.blocks where b.sheet == a.sheet { for i in 0..<b.shape.reduce(1, *) { let (r, c) = b.cell(i); taken.insert(key(r, c)) } }
    for cell in sheet.cells where cell.style == .label { #expect(!taken.contains(key(cell.row, cell.column)), "a label on \(A1.cell(cell.row, cell.column))") }
  }

  /// LibreOffice sums every row of A to 1, and an edited E value or Wq weight moves A, the loss
  /// and the gradients to what the engine computes on the same edit.
  @Test func libreOfficeSumsRowsOfAAndFollowsAnEditOfEOrWq() throws {
    guard LibreOffice.required(by: "libreOfficeSumsRowsOfAAndFollowsAnEditOfEOrWq") else { return }
    let traced = try attentionReverse()
    let book = try StepWorkbook(traced)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-tokens-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("step.xlsx").path
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))
    let names = book.workbook.sheets.map(\.name)

    let a = book.block("attention1.forward.A")!
    let sums = rowSums(a).map { LibreOffice.CellRef(names[a.sheet], $0.row, $0.column) }
    let watched = ["attention1.forward.A", "loss.L", "attention1.backward.dWq", "embedding1.backward.dE", "attention1.update.Wq"]
    var cells: [(block: Block, element: Int)] = []
    for name in watched {
      let b = try #require(book.block(name), "\(name)")
      for i in 0..<b.shape.reduce(1, *) { cells.append((b, i)) }
    }
    let reads = cells.map { c -> LibreOffice.CellRef in let (r, col) = c.block.cell(c.element); return .init(names[c.block.sheet], r, col) }

    // The edits: E at the first token's row, column 1, + 0.3; Wq₁,₁ + 0.1.
    let id = Int(traced.tracer.entry("input.forward.x")!.value.data[0])
    let eBlock = book.block("embedding1.forward.E")!, wqBlock = book.block("attention1.forward.Wq")!
    let element = id * eBlock.shape[1]
    let oldE = traced.tracer.entry("embedding1.forward.E")!.value.data[element]
    let oldWq = traced.tracer.entry("attention1.forward.Wq")!.value.data[0]
    let (er, ec) = eBlock.cell(element), (wr, wc) = wqBlock.cell(0)
    let runs = [
      LibreOffice.Run(read: sums),
      LibreOffice.Run(edits: [.init(names[eBlock.sheet], er, ec, oldE + 0.3)], read: reads),
      LibreOffice.Run(edits: [.init(names[wqBlock.sheet], wr, wc, oldWq + 0.1)], read: reads),
    ]
    let results = try LibreOffice.recalc(workbook: path, runs: runs)
    #expect(sums.count == 14)
    for (n, v) in results[0].values.enumerated() {
      #expect(v.map { abs($0 - 1) <= 1e-9 } == true, "row sum \(n + 1) of A is \(v.map { "\($0)" } ?? "an error") in LibreOffice")
    }

    let lesson = try Lesson.load(packageRoot.appendingPathComponent("Worksheets/attention-reverse.yaml").path)
    for (r, edited) in [("embedding1", element, oldE + 0.3), ("attention1", 0, oldWq + 0.1)].enumerated() {
      var request = TracedStep.Request(step: 1, sample: 1)
      request.edit = { _, model, _ in model.layer(named: edited.0)!.parameters[0].value.data[edited.1] = edited.2 }
      let engine = try TracedStep(try LessonRun(lesson), request)
      var moved: Set<String> = [], bad = 0
      for (k, cell) in cells.enumerated() {
        let want = engine.tracer.entry(cell.block.name)!.value.data[cell.element]
        if want != traced.tracer.entry(cell.block.name)!.value.data[cell.element] { moved.insert(cell.block.name) }
        guard let got = results[r + 1].values[k], close(got, want) else {
          bad += 1
          if bad <= 5 { Issue.record("edited \(edited.0): \(cell.block.name)[\(cell.element + 1)] is \(results[r + 1].values[k].map { "\($0)" } ?? "an error") in LibreOffice, \(want) in the engine") }
          continue
        }
      }
      #expect(bad == 0)
      #expect(moved == Set(watched), "edited \(edited.0): only \(moved.sorted()) moved")
    }
  }

  /// Tokens a spreadsheet would run or hide (= + - @, quotes, a comma, a tab, a bell, a
  /// right-to-left override) are labels as plain, visible text, in the CSV and in LibreOffice.
  @Test func hostileTokensAreShownAsPlainText() throws {
    let yaml = #"""
      seed: 2
      data: {dataset: text, text: "=1+2-3@\"',\t\a\u202Ex =+@-", context: 3, stride: 1}
      network:
        - {type: embedding, size: 2}
        - {type: self_attention, heads: 1, causal: true, use_bias: false}
        - {type: dense, units: 15}
        - softmax
      loss: token_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.1}
      train: {epochs: 1, batch_size: 2}
      """#
    let run = try LessonRun(try Lesson.parse(yaml, path: "hostile-tokens.yaml"))
    let vocabulary = run.split.train.vocabulary
    #expect(vocabulary.count == 15, "\(vocabulary)")
    let traced = try TracedStep(run, TracedStep.Request(step: 1, sample: 1))
    let book = try StepWorkbook(traced)
    #expect(Sequences.shown("\u{7}") == "␇" && Sequences.shown("\t") == "⇥" && Sequences.shown("\u{202E}") == "U+202E")
    #expect(Sequences.shown("=") == "=" && Sequences.shown("\r\n") == "␍␊" && Sequences.shown("\u{7F}") == "␡")

    // Every label in the workbook starts with a letter or a sign no spreadsheet runs, and holds
    // no control character.
    var labels: [(sheet: Int, row: Int, column: Int, text: String)] = []
    for (s, sheet) in book.workbook.sheets.enumerated() {
      for cell in sheet.cells where cell.style == .label {
        guard case .text(let t) = cell.content else { continue }
        labels.append((s, cell.row, cell.column, t))
        #expect(!"=+-@\t\r".unicodeScalars.contains(t.unicodeScalars.first!), "\(t)")
        #expect(!t.unicodeScalars.contains { $0.properties.generalCategory == .control || $0.properties.generalCategory == .format }, "\(t.debugDescription)")
      }
    }
    let E = book.block("embedding1.forward.E")!
    let eRows = (0..<vocabulary.count).map { label(book.workbook.sheets[E.sheet], E.cell($0 * 2).row, 0)! }
    #expect(eRows.contains("id \(vocabulary.firstIndex(of: "=")!) ‘=’") && eRows.contains("id \(vocabulary.firstIndex(of: "\u{7}")!) ‘␇’"))
    #expect(eRows.contains("id \(vocabulary.firstIndex(of: "\"")!) ‘\"’") && eRows.contains("id \(vocabulary.firstIndex(of: "\u{202E}")!) ‘U+202E’"))

    // In CSV, no field starts with a sign a spreadsheet runs (a quoted field is read unquoted).
    for file in book.csvFiles() {
      for line in file.text.split(separator: "\r\n") {
        for field in line.split(separator: ",", omittingEmptySubsequences: false) {
          let f = field.hasPrefix("\"") ? field.dropFirst() : field
          if let first = f.unicodeScalars.first, "=+@\t\r".unicodeScalars.contains(first) { Issue.record("\(file.name): \(line)") }
          if f.hasPrefix("-"), Double(f) == nil, !f.hasPrefix("-'") { Issue.record("\(file.name): \(line)") }
        }
      }
    }

    // LibreOffice shows each label exactly as written, and still computes every formula.
    guard LibreOffice.required(by: "hostileTokensAreShownAsPlainText") else { return }
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-hostile-tokens-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("step.xlsx").path
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))
    let names = book.workbook.sheets.map(\.name)
    let formulas = book.formulas.keys.sorted { ($0.sheet, $0.row, $0.column) < ($1.sheet, $1.row, $1.column) }
    let results = try LibreOffice.recalc(workbook: path, runs: [
      LibreOffice.Run(read: labels.map { .init(names[$0.sheet], $0.row, $0.column) }, strings: true),
      LibreOffice.Run(read: formulas.map { .init(names[$0.sheet], $0.row, $0.column) }),
    ])
    let shown = try #require(results[0].strings)
    for (n, l) in labels.enumerated() where shown[n] != l.text {
      Issue.record("\(names[l.sheet])!\(A1.cell(l.row, l.column)) shows \(shown[n].debugDescription), written \(l.text.debugDescription)")
    }
    var bad = 0
    for (k, address) in formulas.enumerated() {
      let want = book.cachedValue(sheet: address.sheet, row: address.row, column: address.column)
      if results[1].values[k].map({ close($0, want) }) != true { bad += 1 }
    }
    #expect(bad == 0, "\(bad) of \(formulas.count) formula cells differ in LibreOffice")
  }
}
