import Foundation
import SheetNet
import ZIPFoundation

/// Writes a Workbook as an OOXML spreadsheet (.xlsx): formulas with their cached values, text as
/// shared strings, styles, frozen panes, column widths, colour scales, links between sheets and
/// defined names.
///
/// The zip container comes from ZIPFoundation, built in memory with deflate and a fixed entry date
/// (1980-01-01 00:00 UTC); every XML part is written here, so the same workbook gives the same
/// bytes. The workbook asks to be recalculated on open (`fullCalcOnLoad`), so a spreadsheet shows
/// its own results; the cached values are the engine's, for readers that do not recalculate.
public enum XLSX {
  /// The .xlsx bytes. Deterministic: the same workbook gives the same bytes (fixed zip dates).
  ///
  /// Of two cells (or links) at one place, the later in the sheet's list is written. A `.number`
  /// that is not finite is written as the error `#NUM!`, a non-finite cached value as 0.
  ///
  /// Throws `SheetNetError.io` when the workbook cannot be written as XLSX (a sheet name Excel
  /// refuses, a cell beyond Excel's 1,048,576 rows × 16,384 columns, a defined name or link to a
  /// sheet that does not exist) or when the zip container fails.
  public static func data(_ workbook: Workbook) throws -> [UInt8] {
    try validate(workbook)
    var strings = SharedStrings()
    var parts: [(path: String, bytes: [UInt8])] = []
    var sheetParts: [[UInt8]] = []
    sheetParts.reserveCapacity(workbook.sheets.count)
    let dxfs = differentialStyles(workbook)
    for sheet in workbook.sheets {
      sheetParts.append(worksheet(sheet, strings: &strings, dxfs: dxfs))
    }
    parts.append(("[Content_Types].xml", contentTypes(sheetCount: workbook.sheets.count)))
    parts.append(("_rels/.rels", Array(packageRelationships.utf8)))
    parts.append(("docProps/app.xml", Array(appProperties.utf8)))
    parts.append(("docProps/core.xml", Array(coreProperties.utf8)))
    parts.append(("xl/workbook.xml", workbookPart(workbook)))
    parts.append(("xl/_rels/workbook.xml.rels", workbookRelationships(sheetCount: workbook.sheets.count)))
    parts.append(("xl/styles.xml", Array(styles(dxfs: dxfs).utf8)))
    parts.append(("xl/sharedStrings.xml", strings.part()))
    for (i, bytes) in sheetParts.enumerated() {
      parts.append(("xl/worksheets/sheet\(i + 1).xml", bytes))
    }
    return try zip(parts)
  }

  // MARK: Checks

  /// Excel's limits: rows and columns of a sheet.
  static let maxRows = 1_048_576, maxColumns = 16_384

  /// Throws for anything Excel or LibreOffice would refuse or repair.
  private static func validate(_ workbook: Workbook) throws {
    if workbook.sheets.isEmpty { throw SheetNetError.io("cannot write the XLSX workbook: it has no sheet") }
    if workbook.sheets[0].hidden { throw SheetNetError.io("cannot write the XLSX workbook: its first sheet, the one it opens on, is hidden") }
    var seen = Set<String>()
    for sheet in workbook.sheets {
      let name = sheet.name
      let why: String? =
        name.isEmpty ? "is empty"
        : name.utf16.count > 31 ? "is longer than 31 characters"
        : name.contains(where: { "[]:*?/\\".contains($0) }) ? "contains one of []:*?/\\"
        : name.hasPrefix("'") || name.hasSuffix("'") ? "starts or ends with an apostrophe"
        : !seen.insert(name.lowercased()).inserted ? "is used twice (Excel ignores case)"
        : nil
      if let why { throw SheetNetError.io("cannot write the XLSX workbook: sheet name '\(name)' \(why)") }
    }
    let names = Set(workbook.sheets.map(\.name))
    for sheet in workbook.sheets {
      for cell in sheet.cells where !inRange(cell.row, cell.column) {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: cell (row \(cell.row), column \(cell.column)) of sheet '\(sheet.name)' "
            + "is outside Excel's \(maxRows) rows × \(maxColumns) columns")
      }
      for link in sheet.links where !names.contains(link.sheet) || !inRange(link.row, link.column) {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: sheet '\(sheet.name)' links to sheet '\(link.sheet)' from "
            + "(row \(link.row), column \(link.column)); no such sheet or cell")
      }
      for scale in sheet.colorScales
      where !inRange(scale.top, scale.left) || !inRange(scale.bottom, scale.right)
        || scale.top > scale.bottom || scale.left > scale.right
        || ![scale.lowColor, scale.midColor, scale.highColor].allSatisfy(isColor)
        || ![scale.low, scale.mid ?? 0, scale.high].allSatisfy(\.isFinite) {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: a colour scale of sheet '\(sheet.name)' has no valid rectangle, "
            + "colours or thresholds")
      }
      for fill in sheet.conditionalFills
      where !inRange(fill.top, fill.left) || !inRange(fill.bottom, fill.right)
        || fill.top > fill.bottom || fill.left > fill.right || !isColor(fill.fill) || !isColor(fill.font) || fill.formula.isEmpty {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: a conditional fill of sheet '\(sheet.name)' has no valid rectangle, colours or formula")
      }
      for width in sheet.columnWidths
      where !inRange(0, width.first) || !inRange(0, width.last) || width.first > width.last {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: a column width of sheet '\(sheet.name)' covers no valid columns")
      }
      if let a = sheet.print.area, !inRange(a.top, a.left) || !inRange(a.bottom, a.right) || a.top > a.bottom || a.left > a.right {
        throw SheetNetError.io("cannot write the XLSX workbook: the print area of sheet '\(sheet.name)' is no valid rectangle")
      }
      if !(0..<maxRows).contains(sheet.print.titleRows) || !(0..<maxColumns).contains(sheet.print.titleColumns) {
        throw SheetNetError.io("cannot write the XLSX workbook: the print titles of sheet '\(sheet.name)' are outside the sheet")
      }
    }
    var definedNames = Set<String>()
    for name in workbook.names {
      guard workbook.sheets.indices.contains(name.sheet), inRange(name.row, name.column) else {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: defined name '\(name.name)' refers to no cell of the workbook")
      }
      guard isDefinedName(name.name), definedNames.insert(name.name.lowercased()).inserted else {
        throw SheetNetError.io(
          "cannot write the XLSX workbook: '\(name.name)' is not a valid defined name, or is used twice")
      }
    }
  }

  /// Letters, digits, `_` and `.`, starting with a letter or `_`, and not a cell reference
  /// (`AB12`, `R1C1`, `R`, `C`), as Excel requires of a name.
  static func isDefinedName(_ name: String) -> Bool {
    let scalars = Array(name.unicodeScalars)
    guard let first = scalars.first, first == "_" || first.properties.isAlphabetic,
      scalars.allSatisfy({ $0 == "_" || $0 == "." || $0.properties.isAlphabetic || ("0"..."9").contains($0) })
    else { return false }
    let upper = name.uppercased()
    if upper == "R" || upper == "C" { return false }
    func isCellReference(_ s: Substring) -> Bool {  // A1 or R1C1 style
      let letters = s.prefix(while: { $0 >= "A" && $0 <= "Z" })
      let digits = s.dropFirst(letters.count)
      if (1...3).contains(letters.count), !digits.isEmpty, digits.allSatisfy(\.isNumber) { return true }
      if s.first == "R" {
        let rest = s.dropFirst().drop(while: \.isNumber)
        if rest.first == "C", rest.dropFirst().allSatisfy(\.isNumber) { return true }
      }
      return false
    }
    return !isCellReference(Substring(upper))
  }

  /// Six hex digits (RGB) or eight (ARGB), with or without `#`.
  private static func isColor(_ s: String) -> Bool {
    let hex = s.hasPrefix("#") ? s.dropFirst() : Substring(s)
    return (hex.count == 6 || hex.count == 8) && hex.allSatisfy(\.isHexDigit)
  }

  private static func inRange(_ row: Int, _ column: Int) -> Bool {
    row >= 0 && row < maxRows && column >= 0 && column < maxColumns
  }

  // MARK: Zip

  /// 1980-01-01 00:00 UTC, the earliest date a zip entry holds.
  private static let entryDate = Date(timeIntervalSince1970: 315_532_800)

  /// The parts as a zip archive, deflated, in the order given.
  private static func zip(_ parts: [(path: String, bytes: [UInt8])]) throws -> [UInt8] {
    do {
      let archive = try Archive(data: Data(), accessMode: .create)
      for part in parts {
        let data = Data(part.bytes)
        try archive.addEntry(
          with: part.path, type: .file, uncompressedSize: Int64(data.count), modificationDate: entryDate,
          compressionMethod: .deflate, bufferSize: 256 * 1024
        ) { position, size in
          let start = data.startIndex + Int(position)
          return data.subdata(in: start..<start + size)
        }
      }
      guard let data = archive.data else { throw SheetNetError.io("the in-memory zip archive has no data") }
      return [UInt8](data)
    } catch let error as SheetNetError {
      throw SheetNetError.io("cannot write the XLSX zip container: \(error.description)")
    } catch {
      throw SheetNetError.io("cannot write the XLSX zip container: \(error)")
    }
  }

  // MARK: Package parts

  private static let xmlDeclaration = #"<?xml version="1.0" encoding="UTF-8" standalone="yes"?>"# + "\n"
  private static let mainNamespace = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
  private static let relationshipNamespace =
    "http://schemas.openxmlformats.org/officeDocument/2006/relationships"

  private static func contentTypes(sheetCount: Int) -> [UInt8] {
    let ct = "application/vnd.openxmlformats-officedocument.spreadsheetml"
    var x = XMLBytes(capacity: 1500 + 140 * sheetCount)
    x.raw(xmlDeclaration)
    x.raw(#"<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">"#)
    x.raw(#"<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>"#)
    x.raw(#"<Default Extension="xml" ContentType="application/xml"/>"#)
    x.raw(#"<Override PartName="/xl/workbook.xml" ContentType="\#(ct).sheet.main+xml"/>"#)
    for i in 0..<sheetCount {
      x.raw(#"<Override PartName="/xl/worksheets/sheet\#(i + 1).xml" ContentType="\#(ct).worksheet+xml"/>"#)
    }
    x.raw(#"<Override PartName="/xl/styles.xml" ContentType="\#(ct).styles+xml"/>"#)
    x.raw(#"<Override PartName="/xl/sharedStrings.xml" ContentType="\#(ct).sharedStrings+xml"/>"#)
    x.raw(#"<Override PartName="/docProps/core.xml" "#)
    x.raw(#"ContentType="application/vnd.openxmlformats-package.core-properties+xml"/>"#)
    x.raw(#"<Override PartName="/docProps/app.xml" "#)
    x.raw(#"ContentType="application/vnd.openxmlformats-officedocument.extended-properties+xml"/>"#)
    x.raw("</Types>")
    return x.bytes
  }

  private static let packageRelationships =
    xmlDeclaration
    + #"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#
    + #"<Relationship Id="rId1" Type="\#(relationshipNamespace)/officeDocument" Target="xl/workbook.xml"/>"#
    + #"<Relationship Id="rId2" "#
    + #"Type="http://schemas.openxmlformats.org/package/2006/relationships/metadata/core-properties" "#
    + #"Target="docProps/core.xml"/>"#
    + #"<Relationship Id="rId3" Type="\#(relationshipNamespace)/extended-properties" Target="docProps/app.xml"/>"#
    + "</Relationships>"

  private static let appProperties =
    xmlDeclaration
    + #"<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/extended-properties" "#
    + #"xmlns:vt="http://schemas.openxmlformats.org/officeDocument/2006/docPropsVTypes">"#
    + "<Application>SheetNet</Application><DocSecurity>0</DocSecurity><ScaleCrop>false</ScaleCrop>"
    + "<LinksUpToDate>false</LinksUpToDate><SharedDoc>false</SharedDoc>"
    + "<HyperlinksChanged>false</HyperlinksChanged></Properties>"

  /// Core properties without dates, so the bytes never depend on the clock.
  private static let coreProperties =
    xmlDeclaration
    + #"<cp:coreProperties xmlns:cp="http://schemas.openxmlformats.org/package/2006/metadata/core-properties" "#
    + #"xmlns:dc="http://purl.org/dc/elements/1.1/" xmlns:dcterms="http://purl.org/dc/terms/" "#
    + #"xmlns:dcmitype="http://purl.org/dc/dcmitype/" xmlns:xsi="http://www.w3.org/2001/XMLSchema-instance">"#
    + "<dc:creator>SheetNet</dc:creator>"
    + "</cp:coreProperties>"

  private static func workbookPart(_ workbook: Workbook) -> [UInt8] {
    var x = XMLBytes(capacity: 1024 + 120 * (workbook.sheets.count + workbook.names.count))
    x.raw(xmlDeclaration)
    x.raw(#"<workbook xmlns="\#(mainNamespace)" xmlns:r="\#(relationshipNamespace)">"#)
    x.raw("<workbookPr/>")
    if workbook.locksStructure { x.raw(#"<workbookProtection lockStructure="1"/>"#) }
    x.raw(#"<bookViews><workbookView activeTab="0"/></bookViews><sheets>"#)
    for (i, sheet) in workbook.sheets.enumerated() {
      x.raw(#"<sheet name=""#)
      x.attribute(sheet.name, xstring: true)  // ST_Xstring: a layer named _x0041_ must not become "A"
      x.raw(#"" sheetId="\#(i + 1)""#)
      if sheet.hidden { x.raw(#" state="hidden""#) }
      x.raw(#" r:id="rId\#(i + 1)"/>"#)
    }
    x.raw("</sheets>")
    // Each sheet's print area and print titles: names local to the sheet (`localSheetId`).
    var printNames: [(name: String, sheet: Int, text: String)] = []
    for (i, sheet) in workbook.sheets.enumerated() {
      let prefix = A1.sheetPrefix(sheet.name)
      if let a = sheet.print.area {
        printNames.append(("_xlnm.Print_Area", i, prefix + "$" + A1.column(a.left) + "$\(a.top + 1):$" + A1.column(a.right) + "$\(a.bottom + 1)"))
      }
      var titles: [String] = []
      if sheet.print.titleColumns > 0 { titles.append(prefix + "$A:$" + A1.column(sheet.print.titleColumns - 1)) }
      if sheet.print.titleRows > 0 { titles.append(prefix + "$1:$\(sheet.print.titleRows)") }
      if !titles.isEmpty { printNames.append(("_xlnm.Print_Titles", i, titles.joined(separator: ","))) }
    }
    if !workbook.names.isEmpty || !printNames.isEmpty {
      x.raw("<definedNames>")
      for p in printNames {
        x.raw(#"<definedName name="\#(p.name)" localSheetId="\#(p.sheet)">"#)
        x.text(p.text)
        x.raw("</definedName>")
      }
      for name in workbook.names {
        x.raw(#"<definedName name=""#)
        x.attribute(name.name)
        x.raw(#"">"#)
        x.text(A1.sheetPrefix(workbook.sheets[name.sheet].name) + "$" + A1.column(name.column) + "$\(name.row + 1)")
        x.raw("</definedName>")
      }
      x.raw("</definedNames>")
    }
    x.raw(#"<calcPr calcId="191029" fullCalcOnLoad="1"/></workbook>"#)
    return x.bytes
  }

  private static func workbookRelationships(sheetCount: Int) -> [UInt8] {
    let type = relationshipNamespace
    var x = XMLBytes(capacity: 512 + 140 * sheetCount)
    x.raw(xmlDeclaration)
    x.raw(#"<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">"#)
    for i in 0..<sheetCount {
      x.raw(#"<Relationship Id="rId\#(i + 1)" Type="\#(type)/worksheet" Target="worksheets/sheet\#(i + 1).xml"/>"#)
    }
    x.raw(#"<Relationship Id="rId\#(sheetCount + 1)" Type="\#(type)/styles" Target="styles.xml"/>"#)
    x.raw(#"<Relationship Id="rId\#(sheetCount + 2)" Type="\#(type)/sharedStrings" Target="sharedStrings.xml"/>"#)
    x.raw("</Relationships>")
    return x.bytes
  }

  // MARK: Styles

  /// The index in `cellXfs` of each style (0 is the default and is not written on cells); a
  /// formula cell of a protected sheet takes the same style's variant that hides the formula,
  /// `styleCount` further on.
  static func styleIndex(_ style: CellStyle) -> Int {
    switch style {
    case .plain: 0
    case .title: 1
    case .label: 2
    case .note: 3
    case .answerBox: 4
    case .verdict: 5
    case .number(let f): 6 + formatIndex(f)
    case .input(let f): 6 + NumberFormat.all.count + formatIndex(f)
    }
  }

  /// Styles before their formula-hiding variants.
  static var styleCount: Int { 6 + 2 * NumberFormat.all.count }

  /// The position of `format` in `NumberFormat.all` (decimals clamped to 0…10).
  private static func formatIndex(_ format: NumberFormat) -> Int {
    switch format {
    case .general: 0
    case .fixed(let d): 1 + min(max(d, 0), 10)
    case .scientific: 12
    }
  }

  /// The `numFmtId` of a format: General is built in (0), the others are ours from 164 on.
  private static func formatID(_ format: NumberFormat) -> Int {
    let i = formatIndex(format)
    return i == 0 ? 0 : 163 + i
  }

  /// The (fill, font) colour pairs of every sheet's conditional fills, each once, in order of
  /// first use: their index is the `dxfId` a rule names.
  private static func differentialStyles(_ workbook: Workbook) -> [String] {
    var seen: [String] = []
    for sheet in workbook.sheets {
      for fill in sheet.conditionalFills where !seen.contains(dxfKey(fill)) { seen.append(dxfKey(fill)) }
    }
    return seen
  }

  /// `fill|font`, the key of a conditional fill's differential style.
  private static func dxfKey(_ fill: ConditionalFill) -> String { argb(fill.fill) + "|" + argb(fill.font) }

  /// Fonts: 0 regular, 1 bold, 2 grey italic, 3 italic. Fills: 0 none and 1 gray125 (both
  /// required), 2 light yellow for editable cells and answer boxes. Borders: 1 thin grey (answer
  /// boxes), 2 thin dark gold (editable cells: a colour scale paints fills, never borders).
  /// Number formats from 164: `NumberFormat.all` but General. The styles of `styleIndex`, then the
  /// same again with hidden formulas (for protected sheets); answer boxes are unlocked. `dxfs` are
  /// the conditional fills' (fill, font) pairs.
  private static func styles(dxfs: [String]) -> String {
    let font = #"<sz val="11"/><name val="Calibri"/><family val="2"/>"#
    func xf(numFmt: Int = 0, font: Int = 0, fill: Int = 0, border: Int = 0, centred: Bool = false, unlocked: Bool = false, hidden: Bool = false) -> String {
      var s = #"<xf numFmtId="\#(numFmt)" fontId="\#(font)" fillId="\#(fill)" borderId="\#(border)" xfId="0""#
      if numFmt != 0 { s += #" applyNumberFormat="1""# }
      if font != 0 { s += #" applyFont="1""# }
      if fill != 0 { s += #" applyFill="1""# }
      if border != 0 { s += #" applyBorder="1""# }
      if centred { s += #" applyAlignment="1""# }
      if unlocked || hidden { s += #" applyProtection="1""# }
      var inner = centred ? #"<alignment horizontal="center"/>"# : ""
      if unlocked || hidden { inner += "<protection" + (unlocked ? #" locked="0""# : "") + (hidden ? #" hidden="1""# : "") + "/>" }
      return s + (inner.isEmpty ? "/>" : ">" + inner + "</xf>")
    }
    func all(hidden: Bool) -> [String] {
      [xf(hidden: hidden), xf(font: 1, hidden: hidden), xf(font: 2, hidden: hidden), xf(font: 3, hidden: hidden),
       xf(fill: 2, border: 1, unlocked: true, hidden: hidden), xf(font: 1, centred: true, hidden: hidden)]
        + NumberFormat.all.map { xf(numFmt: formatID($0), hidden: hidden) }
        + NumberFormat.all.map { xf(numFmt: formatID($0), fill: 2, border: 2, hidden: hidden) }
    }
    let formats = NumberFormat.all.dropFirst().map { #"<numFmt numFmtId="\#(formatID($0))" formatCode="\#($0.code)"/>"# }
    let dxfPart = dxfs.map { key -> String in
      let colours = key.split(separator: "|")
      return #"<dxf><font><color rgb="\#(colours[1])"/></font><fill><patternFill patternType="solid">"#
        + #"<fgColor rgb="\#(colours[0])"/><bgColor rgb="\#(colours[0])"/></patternFill></fill></dxf>"#
    }.joined()
    func edges(_ style: String, _ colour: String) -> String {
      ["left", "right", "top", "bottom"].map { #"<\#($0) style="\#(style)"><color rgb="\#(colour)"/></\#($0)>"# }.joined() + "<diagonal/>"
    }
    let xfs = all(hidden: false) + all(hidden: true)
    return xmlDeclaration
      + #"<styleSheet xmlns="\#(mainNamespace)">"#
      + #"<numFmts count="\#(formats.count)">"# + formats.joined() + "</numFmts>"
      + #"<fonts count="4"><font>\#(font)</font><font><b/>\#(font)</font>"#
      + #"<font><i/><sz val="11"/><color rgb="FF666666"/><name val="Calibri"/><family val="2"/></font>"#
      + #"<font><i/>\#(font)</font></fonts>"#
      + #"<fills count="3"><fill><patternFill patternType="none"/></fill>"#
      + #"<fill><patternFill patternType="gray125"/></fill>"#
      + #"<fill><patternFill patternType="solid"><fgColor rgb="FF\#(editableFill)"/><bgColor indexed="64"/></patternFill></fill>"#
      + "</fills>"
      + #"<borders count="3"><border><left/><right/><top/><bottom/><diagonal/></border>"#
      + "<border>" + edges("thin", "FF7F7F7F") + "</border><border>" + edges("thin", "FF" + editableBorder) + "</border></borders>"
      + #"<cellStyleXfs count="1"><xf numFmtId="0" fontId="0" fillId="0" borderId="0"/></cellStyleXfs>"#
      + #"<cellXfs count="\#(xfs.count)">"# + xfs.joined() + "</cellXfs>"
      + #"<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/></cellStyles>"#
      + (dxfs.isEmpty ? #"<dxfs count="0"/>"# : #"<dxfs count="\#(dxfs.count)">"# + dxfPart + "</dxfs>")
      + #"<tableStyles count="0" defaultTableStyle="TableStyleMedium2" "#
      + #"defaultPivotStyle="PivotStyleLight16"/></styleSheet>"#
  }

  /// The fill of editable cells and answer boxes (light yellow), and the border of editable cells
  /// (dark gold), RGB.
  public static let editableFill = "FFF2CC", editableBorder = "BF9000"

  // MARK: Shared strings

  /// Every text of the workbook once, in order of first use.
  private struct SharedStrings {
    var index: [String: Int] = [:]
    var strings: [String] = []
    var references = 0

    mutating func id(_ s: String) -> Int {
      references += 1
      if let i = index[s] { return i }
      index[s] = strings.count
      strings.append(s)
      return strings.count - 1
    }

    func part() -> [UInt8] {
      var x = XMLBytes(capacity: 256 + strings.reduce(0) { $0 + $1.utf8.count + 20 })
      x.raw(xmlDeclaration)
      x.raw(#"<sst xmlns="\#(mainNamespace)" count="\#(references)" uniqueCount="\#(strings.count)">"#)
      for s in strings {
        let keepSpace = s.first.map(\.isWhitespace) == true || s.last.map(\.isWhitespace) == true
          || s.contains(where: { $0 == "\n" || $0 == "\t" || $0 == "\r\n" || $0 == "\r" })
        x.raw(keepSpace ? #"<si><t xml:space="preserve">"# : "<si><t>")
        x.text(s, xstring: true)
        x.raw("</t></si>")
      }
      x.raw("</sst>")
      return x.bytes
    }
  }

  // MARK: Worksheets

  /// A number as `<v>` text: shortest round-trip digits, integers without a fraction, -0 as 0,
  /// a non-finite number as 0 (callers give finite numbers).
  static func number(_ x: Double) -> String {
    guard x.isFinite else { return "0" }
    return x == 0 ? "0" : Value.jsonNumber(x)
  }

  private static func worksheet(_ sheet: Sheet, strings: inout SharedStrings, dxfs: [String]) -> [UInt8] {
    let order = cellOrder(sheet.cells)
    var maxColumn = 0
    for cell in sheet.cells { maxColumn = max(maxColumn, cell.column) }
    let letters = (0...maxColumn).map { Array(A1.column($0).utf8) }
    var x = XMLBytes(capacity: 1024 + 48 * sheet.cells.count)
    x.raw(xmlDeclaration)
    x.raw(#"<worksheet xmlns="\#(mainNamespace)" xmlns:r="\#(relationshipNamespace)">"#)
    if sheet.print.fit != .none { x.raw(#"<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>"#) }

    // dimension
    if sheet.cells.isEmpty {
      x.raw(#"<dimension ref="A1"/>"#)
    } else {
      var top = Int.max, left = Int.max, bottom = 0, right = 0
      for cell in sheet.cells {
        top = min(top, cell.row)
        left = min(left, cell.column)
        bottom = max(bottom, cell.row)
        right = max(right, cell.column)
      }
      x.raw(#"<dimension ref=""#)
      x.raw(range(top, left, bottom, right))
      x.raw(#""/>"#)
    }

    // sheetViews, with frozen panes
    x.raw(#"<sheetViews><sheetView workbookViewId="0">"#)
    let rows = min(max(sheet.frozenRows, 0), maxRows - 1), columns = min(max(sheet.frozenColumns, 0), maxColumns - 1)
    if rows > 0 || columns > 0 {
      let pane = rows > 0 && columns > 0 ? "bottomRight" : rows > 0 ? "bottomLeft" : "topRight"
      let topLeft = A1.cell(rows, columns)
      x.raw("<pane")
      if columns > 0 { x.raw(#" xSplit="\#(columns)""#) }
      if rows > 0 { x.raw(#" ySplit="\#(rows)""#) }
      x.raw(#" topLeftCell="\#(topLeft)" activePane="\#(pane)" state="frozen"/>"#)
      x.raw(#"<selection pane="\#(pane)" activeCell="\#(topLeft)" sqref="\#(topLeft)"/>"#)
    }
    x.raw("</sheetView></sheetViews>")
    x.raw(#"<sheetFormatPr defaultRowHeight="15"/>"#)

    // cols
    if !sheet.columnWidths.isEmpty {
      x.raw("<cols>")
      var next = 0  // the first column not yet given a width: Excel refuses overlapping runs
      for width in sheet.columnWidths.sorted(by: { ($0.first, $0.last) < ($1.first, $1.last) }) {
        let first = max(width.first, next)
        guard first <= width.last else { continue }
        next = width.last + 1
        let w = width.width.isFinite ? min(max(width.width, 0), 255) : 8.43
        x.raw(#"<col min="\#(first + 1)" max="\#(width.last + 1)" width="\#(number(w))" customWidth="1"/>"#)
      }
      x.raw("</cols>")
    }

    // sheetData (the hot loop: static markup, integers and letters appended without Strings)
    x.raw("<sheetData>")
    var currentRow = -1
    for i in order {
      let cell = sheet.cells[i]
      if cell.row != currentRow {
        if currentRow >= 0 { x.markup("</row>") }
        currentRow = cell.row
        x.markup("<row r=\"")
        x.int(cell.row + 1)
        x.markup("\">")
      }
      x.markup("<c r=\"")
      x.bytes.append(contentsOf: letters[cell.column])
      x.int(cell.row + 1)
      let style = styleIndex(cell.style) + (sheet.protected && cell.isFormula ? styleCount : 0)
      if style != 0 {
        x.markup("\" s=\"")
        x.int(style)
      }
      switch cell.content {
      case .text(let s):
        x.markup("\" t=\"s\"><v>")
        x.int(strings.id(s))
        x.markup("</v></c>")
      case .number(let v):
        if v.isFinite {
          x.markup("\"><v>")
          x.raw(number(v))
          x.markup("</v></c>")
        } else {
          x.markup("\" t=\"e\"><v>#NUM!</v></c>")
        }
      case .formula(let f, let cached, let array):
        if array {
          x.markup("\"><f t=\"array\" ref=\"")
          x.bytes.append(contentsOf: letters[cell.column])
          x.int(cell.row + 1)
          x.markup("\">")
        } else {
          x.markup("\"><f>")
        }
        x.text(f)
        x.markup("</f><v>")
        x.raw(number(cached))
        x.markup("</v></c>")
      case .textFormula(let f, let cached):
        x.markup("\" t=\"str\"><f>")
        x.text(f)
        x.markup("</f><v>")
        x.text(cached)
        x.markup("</v></c>")
      case .empty:
        x.markup("\"/>")
      }
    }
    if currentRow >= 0 { x.markup("</row>") }
    x.raw("</sheetData>")
    if sheet.protected { x.raw(#"<sheetProtection sheet="1" objects="1" scenarios="1"/>"#) }

    // conditionalFormatting: colour scales, priorities 1, 2, … in order
    for (i, scale) in sheet.colorScales.enumerated() {
      x.raw(#"<conditionalFormatting sqref=""#)
      x.raw(range(scale.top, scale.left, scale.bottom, scale.right))
      x.raw(#""><cfRule type="colorScale" priority="\#(i + 1)"><colorScale>"#)
      x.raw(#"<cfvo type="num" val="\#(number(scale.low))"/>"#)
      if let mid = scale.mid { x.raw(#"<cfvo type="num" val="\#(number(mid))"/>"#) }
      x.raw(#"<cfvo type="num" val="\#(number(scale.high))"/>"#)
      for color in scale.mid == nil ? [scale.lowColor, scale.highColor] : [scale.lowColor, scale.midColor, scale.highColor] {
        x.raw(#"<color rgb=""#)
        x.attribute(argb(color))
        x.raw(#""/>"#)
      }
      x.raw("</colorScale></cfRule></conditionalFormatting>")
    }
    // conditional fills: expression rules, priorities after the colour scales
    for (i, fill) in sheet.conditionalFills.enumerated() {
      x.raw(#"<conditionalFormatting sqref=""#)
      x.raw(range(fill.top, fill.left, fill.bottom, fill.right))
      let dxf = dxfs.firstIndex(of: dxfKey(fill)) ?? 0
      x.raw(#""><cfRule type="expression" dxfId="\#(dxf)" priority="\#(sheet.colorScales.count + i + 1)"><formula>"#)
      x.text(fill.formula)
      x.raw("</formula></cfRule></conditionalFormatting>")
    }

    // hyperlinks: internal, so no relationship
    if !sheet.links.isEmpty {
      x.raw("<hyperlinks>")
      let links = sheet.links.sorted(by: { ($0.row, $0.column) < ($1.row, $1.column) })
      for (n, link) in links.enumerated() {
        if n + 1 < links.count, (links[n + 1].row, links[n + 1].column) == (link.row, link.column) { continue }
        x.raw(#"<hyperlink ref="\#(A1.cell(link.row, link.column))" location=""#)
        x.attribute(A1.sheetPrefix(link.sheet) + "A1", xstring: true)
        x.raw(#"" display=""#)
        x.attribute(link.sheet, xstring: true)
        x.raw(#""/>"#)
      }
      x.raw("</hyperlinks>")
    }

    x.raw(#"<pageMargins left="0.7" right="0.7" top="0.75" bottom="0.75" header="0.3" footer="0.3"/>"#)
    let print = sheet.print
    if print.fit != .none || print.landscape {
      x.raw(#"<pageSetup orientation="\#(print.landscape ? "landscape" : "portrait")""#)
      if print.fit != .none { x.raw(#" fitToWidth="1" fitToHeight="\#(print.fit == .page ? 1 : max(print.pagesHigh, 0))""#) }
      x.raw("/>")
    }
    x.raw("</worksheet>")
    return x.bytes
  }

  /// `B3:E9`, or `B3` for one cell.
  private static func range(_ top: Int, _ left: Int, _ bottom: Int, _ right: Int) -> String {
    top == bottom && left == right ? A1.cell(top, left) : A1.cell(top, left) + ":" + A1.cell(bottom, right)
  }

  /// `2166AC` → `FF2166AC`; eight hex digits are kept as ARGB.
  private static func argb(_ rgb: String) -> String {
    let hex = rgb.hasPrefix("#") ? String(rgb.dropFirst()) : rgb
    return (hex.count == 6 ? "FF" + hex : hex).uppercased()
  }

  /// Indices of `cells` by row, then column; of two cells at one place only the later is kept.
  private static func cellOrder(_ cells: [Cell]) -> [Int] {
    // Key: row (20 bits) | column (14 bits) | index (30 bits), so sorting keys sorts by place,
    // then by position in `cells`.
    precondition(cells.count < 1 << 30, "too many cells for one sheet")
    var keys = [UInt64]()
    keys.reserveCapacity(cells.count)
    var sorted = true
    for (i, cell) in cells.enumerated() {
      let key = UInt64(cell.row) << 44 | UInt64(cell.column) << 30 | UInt64(i)
      if let last = keys.last, last > key { sorted = false }
      keys.append(key)
    }
    if !sorted { keys.sort() }
    var order = [Int]()
    order.reserveCapacity(keys.count)
    for (n, key) in keys.enumerated() {
      if n + 1 < keys.count, keys[n + 1] >> 30 == key >> 30 { continue }  // a later cell at the same place
      order.append(Int(key & (1 << 30 - 1)))
    }
    return order
  }
}

/// UTF-8 XML built by appending: raw markup, escaped text and attribute values, integers.
struct XMLBytes {
  var bytes: [UInt8] = []

  init(capacity: Int) { bytes.reserveCapacity(capacity) }

  /// Markup, appended as is.
  mutating func raw(_ s: String) { bytes.append(contentsOf: s.utf8) }

  /// Constant markup, appended as is (cheaper than a String in unoptimised builds).
  mutating func markup(_ s: StaticString) { s.withUTF8Buffer { bytes.append(contentsOf: $0) } }

  /// A non-negative integer in decimal.
  mutating func int(_ n: Int) {
    precondition(n >= 0)
    var power = 1
    while power <= n / 10 { power *= 10 }
    var rest = n
    while power > 0 {
      bytes.append(UInt8(48 + rest / power))
      rest %= power
      power /= 10
    }
  }

  /// Element text: `& < > " '` escaped, a carriage return as `&#13;` (a parser would turn a raw
  /// one into a line feed), tab and line feed as is, characters XML 1.0 forbids left out.
  /// With `xstring`, an underscore that would start an Excel `_xHHHH_` escape is itself escaped
  /// (`_x005F_`), so Excel shows the text as written.
  mutating func text(_ s: String, xstring: Bool = false) { escape(s, attribute: false, xstring: xstring) }

  /// An attribute value (in double quotes): as text, and tab and line feed as character references.
  /// `xstring` as for `text`: for attributes of type ST_Xstring (ECMA-376 Part 1 §22.9.2.19),
  /// which readers decode — a sheet's name, a hyperlink's location and display text. Formulas
  /// (`<f>`, defined names, conditional formulas) are read as written and take no `_x005F_`.
  mutating func attribute(_ s: String, xstring: Bool = false) { escape(s, attribute: true, xstring: xstring) }

  private mutating func escape(_ s: String, attribute: Bool, xstring: Bool) {
    var s = s
    s.withUTF8 { utf8 in
      let n = utf8.count
      var i = 0, start = 0  // bytes start..<i are pending, to be copied as they are
      while i < n {
        let b = utf8[i]
        // Letters and most other bytes need nothing; the switch sees digits, punctuation, controls.
        if b > 0x3E && b != 0x5F && b != 0xEF { i += 1; continue }
        let replacement: StaticString?
        var skip = 1
        switch b {
        case 0x26: replacement = "&amp;"
        case 0x3C: replacement = "&lt;"
        case 0x3E: replacement = "&gt;"
        case 0x22: replacement = "&quot;"
        case 0x27: replacement = "&apos;"
        case 0x09: replacement = attribute ? "&#9;" : nil
        case 0x0A: replacement = attribute ? "&#10;" : nil
        case 0x0D: replacement = "&#13;"
        case _ where b < 0x20: replacement = ""  // forbidden in XML 1.0
        case 0xEF where i + 2 < n && utf8[i + 1] == 0xBF && (utf8[i + 2] == 0xBE || utf8[i + 2] == 0xBF):
          replacement = ""  // U+FFFE, U+FFFF
          skip = 3
        case 0x5F where xstring && XMLBytes.startsExcelEscape(utf8, at: i):
          replacement = "_x005F_"  // `_` itself, as Excel reads it
        default: replacement = nil
        }
        guard let replacement else { i += 1; continue }
        if start < i { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<i])) }
        replacement.withUTF8Buffer { bytes.append(contentsOf: $0) }
        i += skip
        start = i
      }
      if start < n { bytes.append(contentsOf: UnsafeBufferPointer(rebasing: utf8[start..<n])) }
    }
  }

  /// Whether `_xHHHH_` (four hex digits) starts at `i`.
  private static func startsExcelEscape(_ utf8: UnsafeBufferPointer<UInt8>, at i: Int) -> Bool {
    guard i + 6 < utf8.count, utf8[i + 1] == UInt8(ascii: "x"), utf8[i + 6] == UInt8(ascii: "_") else { return false }
    for j in i + 2...i + 5 {
      let c = utf8[j] | 0x20
      guard (c >= UInt8(ascii: "0") && c <= UInt8(ascii: "9")) || (c >= UInt8(ascii: "a") && c <= UInt8(ascii: "f"))
      else { return false }
    }
    return true
  }
}
