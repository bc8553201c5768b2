import Foundation
import SheetNet
import SheetNetTrace
@testable import SheetNetWorksheets
import Testing
import ZIPFoundation

#if canImport(FoundationXML)
import FoundationXML
#endif

/// The XLSX writer on a tiny hand-made workbook: deterministic bytes, well-formed parts, and
/// formulas that LibreOffice recalculates to the right numbers after an edit.
@Suite struct XLSXTests {
  static let odd = "it's odd"

  /// Summary: a title, learning_rate = 0.5 in B2, a formula reading the other sheet, a link.
  /// "it's odd": numbers in A1:B2, C1 = A1*learning_rate, C2 = SUMPRODUCT((A1:B1-A2:B2)^2) as
  /// an array formula, awkward text, a colour scale, a link back, frozen panes 1/1.
  static func workbook() -> Workbook {
    var summary = Sheet(name: "Summary", fileName: "01-summary.csv")
    summary.cells = [
      Cell(row: 0, column: 0, .text("SheetNet step"), style: .title),
      Cell(row: 1, column: 0, .text("learning rate"), style: .label),
      Cell(row: 1, column: 1, .number(0.5), style: .input(.general)),
      Cell(row: 2, column: 0, .text("twice C2 of it's odd"), style: .label),
      Cell(row: 2, column: 1, .formula("\(A1.sheetPrefix(odd))C2*2", cached: 22.625, array: false), style: .number(.fixed(4))),
      Cell(row: 3, column: 0, .text("→ it's odd"), style: .note),
    ]
    summary.links = [SheetLink(row: 3, column: 0, sheet: odd)]
    summary.columnWidths = [ColumnWidth(first: 0, last: 0, width: 24)]

    var sheet = Sheet(name: odd, fileName: "02-odd.csv")
    // Out of order on purpose: the writer sorts by row, then column.
    sheet.cells = [
      Cell(row: 1, column: 1, .number(-0.25), style: .input(.general)),
      Cell(row: 0, column: 0, .number(1), style: .input(.general)),
      Cell(row: 0, column: 1, .number(2), style: .input(.general)),
      Cell(row: 1, column: 0, .number(3.5), style: .input(.general)),
      Cell(row: 0, column: 2, .formula("A1*learning_rate", cached: 0.5, array: false), style: .number(.fixed(4))),
      Cell(row: 1, column: 2, .formula("SUMPRODUCT((A1:B1-A2:B2)^2)", cached: 11.3125, array: true), style: .number(.fixed(4))),
      Cell(row: 0, column: 3, .formula("1/(A1-1)", cached: 0, array: false)),  // #DIV/0! in a spreadsheet
      Cell(row: 3, column: 0, .text("a <b> & \"c\" 'd' _x0041_ tab\tend"), style: .plain),
      Cell(row: 4, column: 0, .text("← Summary"), style: .note),
      Cell(row: 5, column: 0, .number(-0.0)),
      Cell(row: 5, column: 1, .number(1e-7)),
    ]
    sheet.colorScales = [
      ColorScale(top: 0, left: 0, bottom: 1, right: 1, low: -1, mid: 0, high: 4, lowColor: "2166AC", highColor: "B2182B"),
      ColorScale(top: 0, left: 2, bottom: 1, right: 2, low: 0, mid: nil, high: 20, lowColor: "FFFFFF", highColor: "1B7837"),
    ]
    sheet.links = [SheetLink(row: 4, column: 0, sheet: "Summary")]
    sheet.frozenRows = 1
    sheet.frozenColumns = 1
    sheet.columnWidths = [ColumnWidth(first: 1, last: 2, width: 12.5), ColumnWidth(first: 0, last: 0, width: 30)]

    var workbook = Workbook()
    workbook.sheets = [summary, sheet]
    workbook.names = [DefinedName(name: "learning_rate", sheet: 0, row: 1, column: 1)]
    return workbook
  }

  /// The parts of an .xlsx, by path.
  static func parts(_ bytes: [UInt8]) throws -> [String: Data] {
    let archive = try Archive(data: Data(bytes), accessMode: .read)
    var parts: [String: Data] = [:]
    for entry in archive {
      var data = Data()
      _ = try archive.extract(entry) { data.append($0) }
      parts[entry.path] = data
    }
    return parts
  }

  @Test func sameWorkbookSameBytes() throws {
    let first = try XLSX.data(Self.workbook())
    let second = try XLSX.data(Self.workbook())
    #expect(first == second)
    #expect(first.starts(with: [0x50, 0x4B, 0x03, 0x04]))  // a zip
  }

  @Test func everyPartIsWellFormedXML() throws {
    let parts = try Self.parts(XLSX.data(Self.workbook()))
    let expected = [
      "[Content_Types].xml", "_rels/.rels", "docProps/app.xml", "docProps/core.xml", "xl/workbook.xml",
      "xl/_rels/workbook.xml.rels", "xl/styles.xml", "xl/sharedStrings.xml",
      "xl/worksheets/sheet1.xml", "xl/worksheets/sheet2.xml",
    ]
    #expect(Set(parts.keys) == Set(expected))
    for (path, data) in parts.sorted(by: { $0.key < $1.key }) {
      let parser = XMLParser(data: data)
      #expect(parser.parse(), "\(path) is not well-formed XML: \(String(describing: parser.parserError))")
    }
    let workbook = String(decoding: parts["xl/workbook.xml"] ?? Data(), as: UTF8.self)
    #expect(workbook.contains(#"<definedName name="learning_rate">&apos;Summary&apos;!$B$2</definedName>"#))
    #expect(workbook.contains(#"<sheet name="it&apos;s odd" sheetId="2" r:id="rId2"/>"#))
    #expect(workbook.contains(#"fullCalcOnLoad="1""#))

    let sheet = String(decoding: parts["xl/worksheets/sheet2.xml"] ?? Data(), as: UTF8.self)
    let (number, input) = (XLSX.styleIndex(.number(.fixed(4))), XLSX.styleIndex(.input(.general)))
    #expect(sheet.contains(#"<c r="C2" s="\#(number)"><f t="array" ref="C2">SUMPRODUCT((A1:B1-A2:B2)^2)</f><v>11.3125</v></c>"#))
    #expect(sheet.contains(#"<c r="C1" s="\#(number)"><f>A1*learning_rate</f><v>0.5</v></c>"#))
    #expect(sheet.contains(#"<c r="A6"><v>0</v></c><c r="B6"><v>1e-07</v></c>"#))
    #expect(sheet.contains(#"<pane xSplit="1" ySplit="1" topLeftCell="B2" activePane="bottomRight" state="frozen"/>"#))
    #expect(sheet.contains(#"<hyperlink ref="A5" location="&apos;Summary&apos;!A1" display="Summary"/>"#))
    #expect(sheet.contains(#"<cfRule type="colorScale" priority="1">"#))
    #expect(sheet.contains(#"<cfRule type="colorScale" priority="2">"#))
    #expect(sheet.contains(#"<cols><col min="1" max="1" width="30" customWidth="1"/>"#))
    // Rows ascending, cells ascending within a row.
    #expect(sheet.contains(#"<row r="1"><c r="A1" s="\#(input)"><v>1</v></c><c r="B1" s="\#(input)"><v>2</v></c><c r="C1""#))

    let strings = String(decoding: parts["xl/sharedStrings.xml"] ?? Data(), as: UTF8.self)
    #expect(strings.contains("a &lt;b&gt; &amp; &quot;c&quot; &apos;d&apos; _x005F_x0041_ tab\tend"))
    #expect(strings.contains(#"count="6" uniqueCount="6""#))
  }

  /// A layer named `_x0041_` (a legal name that reads as an OOXML escape): its sheets keep the
  /// name, written `_x005F_x0041_ …` where the format decodes escapes (a sheet's name, a link's
  /// location and text, shared strings), and formulas name it as written (`<f>` is not decoded).
  @Test func aLayerNamedLikeAnEscapeKeepsItsSheetName() throws {
    let traced = try tracedYAML(Synthetic.escapeLike, name: "escape-like")
    let book = try StepWorkbook(traced)
    #expect(book.workbook.sheets.map(\.name).contains("_x0041_ forward"))
    let parts = try Self.parts(XLSX.data(book.workbook))
    let workbook = String(decoding: parts["xl/workbook.xml"] ?? Data(), as: UTF8.self)
    #expect(workbook.contains(#"<sheet name="_x005F_x0041_ forward""#))
    #expect(!workbook.contains(#"<sheet name="_x0041_"#))
    let sheets = parts.filter { $0.key.hasPrefix("xl/worksheets/") }.map { String(decoding: $0.value, as: UTF8.self) }.joined()
    #expect(sheets.contains("<f>IF(&apos;_x0041_ forward&apos;!"))
    #expect(!sheets.contains("&apos;_x005F_x0041_ forward&apos;!B"))  // formulas are not escaped
    #expect(sheets.contains(#"location="&apos;_x005F_x0041_ forward&apos;!A1" display="_x005F_x0041_ forward""#))
    let strings = String(decoding: parts["xl/sharedStrings.xml"] ?? Data(), as: UTF8.self)
    #expect(strings.contains("_x005F_x0041_.forward.z") && !strings.contains(">_x0041_.forward.z"))
  }

  @Test func xmlEscapingDropsForbiddenCharacters() throws {
    var workbook = Workbook()
    var sheet = Sheet(name: "S", fileName: "s.csv")
    sheet.cells = [
      Cell(row: 0, column: 0, .text("a\u{0}b\u{1}c\u{B}d\u{C}e\u{1F}f\u{FFFE}g\u{FFFF}h\r\ni\tj")),
      Cell(row: 0, column: 1, .text("a\u{0}b\u{1}c\u{B}d\u{C}e\u{1F}f\u{FFFE}g\u{FFFF}h\r\ni\tj")),  // deduplicated
    ]
    workbook.sheets = [sheet]
    let parts = try Self.parts(XLSX.data(workbook))
    let data = parts["xl/sharedStrings.xml"] ?? Data()
    #expect(XMLParser(data: data).parse())
    let strings = String(decoding: data, as: UTF8.self)
    #expect(strings.contains(#"count="2" uniqueCount="1"><si><t xml:space="preserve">abcdefgh&#13;"# + "\ni\tj</t></si>"))
  }

  @Test func badWorkbooksThrow() {
    var workbook = Self.workbook()
    workbook.sheets[1].name = "a/b"
    #expect(throws: SheetNetError.self) { try XLSX.data(workbook) }
    workbook = Self.workbook()
    workbook.names[0].sheet = 7
    #expect(throws: SheetNetError.self) { try XLSX.data(workbook) }
    workbook = Self.workbook()
    workbook.sheets[0].cells.append(Cell(row: 1_048_576, column: 0, .number(1)))
    #expect(throws: SheetNetError.self) { try XLSX.data(workbook) }
    for bad in ["lr1", "R1C1", "r", "1rate", "learning rate", ""] {
      workbook = Self.workbook()
      workbook.names[0].name = bad
      #expect(throws: SheetNetError.self, "\(bad)") { try XLSX.data(workbook) }
    }
    workbook = Self.workbook()
    workbook.names.append(DefinedName(name: "Learning_Rate", sheet: 1, row: 0, column: 0))
    #expect(throws: SheetNetError.self) { try XLSX.data(workbook) }
    workbook = Self.workbook()
    workbook.sheets[1].colorScales[0].lowColor = "blue"
    #expect(throws: SheetNetError.self) { try XLSX.data(workbook) }
  }

  @Test func libreOfficeRecalculatesAfterAnEdit() throws {
    guard LibreOffice.required(by: "XLSXTests.libreOfficeRecalculatesAfterAnEdit") else { return }
    let dir = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-xlsx-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: dir) }
    let path = dir.appendingPathComponent("step.xlsx").path
    try Data(XLSX.data(Self.workbook())).write(to: URL(fileURLWithPath: path))

    let read = [
      LibreOffice.CellRef(Self.odd, 0, 2), LibreOffice.CellRef(Self.odd, 1, 2), LibreOffice.CellRef("Summary", 2, 1),
      LibreOffice.CellRef(Self.odd, 5, 1), LibreOffice.CellRef(Self.odd, 3, 0), LibreOffice.CellRef(Self.odd, 20, 20),
      LibreOffice.CellRef(Self.odd, 0, 3),
    ]
    let start = Date()
    let results = try LibreOffice.recalc(workbook: path, runs: [
      LibreOffice.Run(read: read),
      LibreOffice.Run(edits: [LibreOffice.Edit("Summary", 1, 1, 2)], read: read),
      LibreOffice.Run(edits: [LibreOffice.Edit("Summary", 1, 1, 2), LibreOffice.Edit(Self.odd, 1, 0, 0)], read: read),
    ])
    let seconds = Date().timeIntervalSince(start)
    print(
      "LibreOffice: \(String(format: "%.2f", seconds)) s in all; load "
        + results.map { String(format: "%.3f", $0.loadSeconds) }.joined(separator: ", ") + " s; recalc "
        + results.map { String(format: "%.4f", $0.recalcSeconds) }.joined(separator: ", ") + " s; read "
        + results.map { String(format: "%.4f", $0.readSeconds) }.joined(separator: ", ") + " s")
    try #require(results.count == 3)
    // Text and empty cells read as 0; 1/(A1-1) is LibreOffice's error 532 (#DIV/0!).
    for result in results { #expect(result.errors == [6: 532], "errors: \(result.errors)") }
    #expect(results[0].values == [0.5, 11.3125, 22.625, 1e-7, 0, 0, nil])
    // learning_rate = 2: C1 follows; the array formula does not read it.
    #expect(results[1].values == [2, 11.3125, 22.625, 1e-7, 0, 0, nil])
    // And A2 = 0: (1 - 0)² + (2 + 0.25)² = 6.0625.
    #expect(results[2].values == [2, 6.0625, 12.125, 1e-7, 0, 0, nil])
  }
}
