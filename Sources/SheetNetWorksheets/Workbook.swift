/// SheetNetWorksheets: one traced training step as worksheets — CSV files of values and an
/// OOXML workbook whose forward, backward and update cells are live formulas.
import Foundation
import SheetNet

/// A workbook as the writers see it: named sheets of cells, defined names, and presentation.
///
/// Rows and columns are 0-based here (A1 is row 0, column 0); the writers turn them into A1 text.
/// The same `Workbook` is written as CSV (values only) and as XLSX (formulas with cached values).
public struct Workbook: Sendable {
  /// The sheets in the order a student reads them (Summary first).
  public var sheets: [Sheet] = []
  /// Defined names: `learning_rate` → Summary!$B$5.
  public var names: [DefinedName] = []
  /// Whether the workbook's structure is protected: hidden sheets cannot be shown, nor sheets
  /// added, moved or renamed (an exercise with `--lock`).
  public var locksStructure = false

  /// An empty workbook.
  public init() {}

  /// Number of cells holding a value or a formula, over every sheet.
  public var cellCount: Int { sheets.reduce(0) { $0 + $1.cells.count } }
  /// Number of formula cells, over every sheet.
  public var formulaCount: Int {
    sheets.reduce(0) { total, sheet in total + sheet.cells.reduce(0) { $1.isFormula ? $0 + 1 : $0 } }
  }
}

/// A workbook-level name for one cell (hyperparameters).
public struct DefinedName: Sendable, Equatable {
  /// The name, e.g. `learning_rate` (letters, digits and underscores; never a cell reference).
  public var name: String
  /// The sheet index in `Workbook.sheets`.
  public var sheet: Int
  /// 0-based row and column of the cell.
  public var row: Int, column: Int

  /// A name for one cell.
  public init(name: String, sheet: Int, row: Int, column: Int) {
    self.name = name
    self.sheet = sheet
    self.row = row
    self.column = column
  }
}

/// One sheet: sparse cells and how to show them.
public struct Sheet: Sendable {
  /// The sheet's name: unique, at most 31 characters, none of `[]:*?/\`, not starting or ending
  /// with an apostrophe (as Excel requires).
  public var name: String
  /// The CSV file this sheet is written to, e.g. `03-hidden-forward.csv`.
  public var fileName: String
  /// Cells in any order (the writers sort them by row, then column).
  public var cells: [Cell] = []
  /// Column widths in characters; columns not listed keep the default.
  public var columnWidths: [ColumnWidth] = []
  /// Rows and columns kept in view while scrolling (frozen panes); 0 for none.
  public var frozenRows = 0, frozenColumns = 0
  /// Conditional colour scales over rectangles of cells.
  public var colorScales: [ColorScale] = []
  /// Cells that link to the top-left cell of another sheet.
  public var links: [SheetLink] = []
  /// Rectangles filled and coloured while a formula holds (an exercise's right/wrong checks).
  public var conditionalFills: [ConditionalFill] = []
  /// Whether the sheet is hidden from the tab bar (an exercise's answer sheets).
  public var hidden = false
  /// How it prints: the area, the rows and columns repeated on every page, the scaling.
  public var print = PrintSetup()
  /// Whether the sheet is protected (an exercise's answer sheets with `--lock`): cells cannot be
  /// changed but for those styled as answer boxes, and formulas are hidden from the formula bar.
  public var protected = false

  /// An empty sheet.
  public init(name: String, fileName: String) {
    self.name = name
    self.fileName = fileName
  }
}

/// How a sheet prints (OOXML `pageSetup`, `_xlnm.Print_Area`, `_xlnm.Print_Titles`).
public struct PrintSetup: Sendable, Equatable {
  /// How the sheet is scaled onto pages.
  public enum Fit: Sendable, Equatable {
    /// The spreadsheet's default, 100 %.
    case none
    /// One page wide, as many pages high as it takes (fitToWidth 1, fitToHeight 0).
    case width
    /// All on one page (fitToWidth 1, fitToHeight 1).
    case page
  }
  /// The rectangle printed (0-based rows and columns, inclusive); nil: the cells the sheet holds.
  public var area: (top: Int, left: Int, bottom: Int, right: Int)?
  /// The first `titleRows` rows and `titleColumns` columns repeat on every page.
  public var titleRows = 0, titleColumns = 0
  /// The scaling.
  public var fit = Fit.none
  /// With `.width`: at most this many pages high (fitToHeight), so that a tall, narrow sheet
  /// prints smaller; 0: as many as it takes.
  public var pagesHigh = 0
  /// Landscape instead of portrait.
  public var landscape = false

  /// The default: portrait, 100 %, no print area.
  public init() {}

  /// About the characters (of the default font's digit width) and the rows of 15 points an A4
  /// page holds inside the default margins, portrait and landscape (for choosing between them).
  public static let portraitCharacters = 90.0, portraitRows = 48.0, landscapeCharacters = 135.0, landscapeRows = 32.0
  /// The smallest scale a spreadsheet prints at (Excel's and LibreOffice's 10 %).
  public static let smallestScale = 0.1
  /// The largest scale a sheet taller than a page prints at (one page wide, `pagesHigh` high).
  public static let tallScale = 0.25

  public static func == (a: PrintSetup, b: PrintSetup) -> Bool {
    a.area.map { [$0.top, $0.left, $0.bottom, $0.right] } == b.area.map { [$0.top, $0.left, $0.bottom, $0.right] }
      && a.pagesHigh == b.pagesHigh && a.titleRows == b.titleRows && a.titleColumns == b.titleColumns && a.fit == b.fit && a.landscape == b.landscape
  }
}

/// One cell's position, content and style.
public struct Cell: Sendable {
  /// 0-based row and column.
  public var row: Int, column: Int
  /// What the cell holds.
  public var content: Content
  /// How it looks.
  public var style: CellStyle

  /// A cell.
  public init(row: Int, column: Int, _ content: Content, style: CellStyle = .plain) {
    self.row = row
    self.column = column
    self.content = content
    self.style = style
  }

  /// Whether the cell holds a formula.
  public var isFormula: Bool {
    switch content {
    case .formula, .textFormula: true
    case .text, .number, .empty: false
    }
  }
}

/// The content of a cell.
public enum Content: Sendable, Equatable {
  /// Text, never evaluated (a CSV writer neutralises text that a spreadsheet would run).
  case text(String)
  /// A plain number the student may edit (inputs, parameters before the step, state).
  case number(Double)
  /// A formula in Excel's A1 syntax without the leading `=` (`SUMPRODUCT(B3:C3,B7:C7)+D2`),
  /// the value the engine computed for it (always finite), and whether it is written as a
  /// one-cell array formula (every formula that reads a range is, so every engine evaluates a
  /// function of a range element by element).
  case formula(String, cached: Double, array: Bool)
  /// A formula whose result is text (an exercise's `right`/`wrong`), with its cached text.
  case textFormula(String, cached: String)
  /// No value: an empty cell that only carries its style (an exercise's answer box).
  case empty
}

/// How a number is shown; the cell keeps full precision whatever it shows.
public enum NumberFormat: Sendable, Hashable {
  /// The spreadsheet's General format: a number as typed (0.15, 1E-08, 3).
  case general
  /// Exactly this many decimals (0…10): `0.298371109` with 9.
  case fixed(Int)
  /// Nine significant digits in scientific notation: `4.38567620E-04`.
  case scientific

  /// Every format a workbook can use, in the order their styles are written.
  public static let all: [NumberFormat] = [.general] + (0...10).map { .fixed($0) } + [.scientific]

  /// Significant digits a number is shown with (about what a student compares with a paper).
  public static let significantDigits = 9
  /// Below this magnitude a number is shown in scientific notation.
  public static let scientificBelow = 1e-3

  /// The formats of one entry's cells, from its values: an editable entry whose every value is
  /// short (at most 9 significant digits: 0.15, 1e-8, 3) shows them as typed (General); an entry
  /// of integers (classes, counts, steps) shows integers; any other shows `significantDigits` of
  /// its largest magnitude in fixed decimals (0.298371109, 0.358916480), and each of its cells
  /// nearer 0 than 10⁻³ (but not 0) in scientific notation (4.38567620E-04, 1.06000000E-05).
  public static func entry(_ values: [Double], editable: Bool) -> (Double) -> NumberFormat {
    if editable && values.allSatisfy(isShort) { return { _ in .general } }
    if values.allSatisfy({ $0 == $0.rounded() && abs($0) < 1e9 }) { return { _ in .fixed(0) } }
    let large = values.lazy.map(abs).filter { $0 >= scientificBelow }.max()
    let decimals = large.map { min(max(significantDigits - 1 - Int(floor(log10($0))), 0), 10) } ?? significantDigits
    return { v in v != 0 && abs(v) < scientificBelow ? .scientific : .fixed(decimals) }
  }

  /// Whether `x` is written exactly with at most `significantDigits` significant digits.
  static func isShort(_ x: Double) -> Bool {
    guard x.isFinite else { return false }
    return Double(String(format: "%.\(significantDigits)g", x)) == x
  }

  /// The format code (OOXML `numFmt`).
  var code: String {
    switch self {
    case .general: "General"
    case .fixed(let d): d <= 0 ? "0" : "0." + String(repeating: "0", count: min(d, 10))
    case .scientific: "0." + String(repeating: "0", count: NumberFormat.significantDigits - 1) + "E+00"
    }
  }

  /// Characters `x` takes when shown in this format (for column widths).
  func shownLength(_ x: Double) -> Int {
    switch self {
    case .general: min(shortestNumber(x).count, 11)
    case .fixed(let d): String(format: "%.\(min(max(d, 0), 10))f", x).count
    case .scientific: String(format: "%.\(NumberFormat.significantDigits - 1)E", x).count
    }
  }
}

/// How a cell looks.
public enum CellStyle: Sendable, Equatable {
  /// Default text.
  case plain
  /// A computed number in `format`.
  case number(NumberFormat)
  /// An editable number in `format`, on a light yellow fill inside a dark gold border: the
  /// border stays when a colour scale paints the fill, and no colour scale covers editable cells.
  case input(NumberFormat)
  /// A block or sheet title (bold).
  case title
  /// A row or column label (grey italic).
  case label
  /// A note to the reader (italic).
  case note
  /// An empty box for a student's answer: light yellow fill, a thin border, the number as typed
  /// (unlocked: it takes a number on a protected sheet).
  case answerBox
  /// A right/wrong verdict: bold, centred.
  case verdict
}

/// A column width for columns `first…last` (0-based, inclusive), in characters.
public struct ColumnWidth: Sendable, Equatable {
  public var first: Int, last: Int, width: Double
  /// A width for a run of columns.
  public init(first: Int, last: Int, width: Double) {
    self.first = first
    self.last = last
    self.width = width
  }
}

/// A conditional colour scale over the rectangle rows `top…bottom`, columns `left…right`
/// (0-based, inclusive): a value at `low` gets `lowColor`, at `mid` (when given) `midColor`,
/// at `high` `highColor`, linearly between. Colours are RGB hex, e.g. `2166AC`.
public struct ColorScale: Sendable, Equatable {
  public var top: Int, left: Int, bottom: Int, right: Int
  public var low: Double, mid: Double?, high: Double
  public var lowColor: String, midColor: String, highColor: String

  /// The colours of SheetNet's heat maps: white to purple for values ≥ 0, blue through white to
  /// red around 0. Each is light enough that black text on it keeps WCAG's 4.5:1 contrast
  /// (5.6:1, 6.2:1 and 5.6:1 at the ends; every colour between is lighter).
  public static let sequentialHigh = "807DBA", divergingLow = "4393C3", divergingHigh = "D6604D"

  /// A colour scale over one rectangle.
  public init(top: Int, left: Int, bottom: Int, right: Int, low: Double, mid: Double?, high: Double,
              lowColor: String, midColor: String = "FFFFFF", highColor: String) {
    self.top = top
    self.left = left
    self.bottom = bottom
    self.right = right
    self.low = low
    self.mid = mid
    self.high = high
    self.lowColor = lowColor
    self.midColor = midColor
    self.highColor = highColor
  }
}

/// A conditional fill over the rectangle rows `top…bottom`, columns `left…right` (0-based,
/// inclusive): while `formula` (A1 syntax without `=`, written for the top-left cell and shifted
/// for the others like a relative reference) is true, the cells get `fill` as background and
/// `font` as text colour (RGB hex, e.g. `C6EFCE`).
public struct ConditionalFill: Sendable, Equatable {
  public var top: Int, left: Int, bottom: Int, right: Int
  public var formula: String
  public var fill: String, font: String

  /// A conditional fill over one rectangle.
  public init(top: Int, left: Int, bottom: Int, right: Int, formula: String, fill: String, font: String) {
    self.top = top
    self.left = left
    self.bottom = bottom
    self.right = right
    self.formula = formula
    self.fill = fill
    self.font = font
  }
}

/// A cell that links to another sheet's A1 cell.
public struct SheetLink: Sendable, Equatable {
  public var row: Int, column: Int
  /// The target sheet's name.
  public var sheet: String
  /// A link at (row, column) to `sheet`.
  public init(row: Int, column: Int, sheet: String) {
    self.row = row
    self.column = column
    self.sheet = sheet
  }
}

/// A1 helpers shared by the writers.
public enum A1 {
  /// 0 → A, 25 → Z, 26 → AA.
  public static func column(_ c: Int) -> String {
    var n = c + 1, out = ""
    while n > 0 {
      let r = (n - 1) % 26
      out = String(UnicodeScalar(UInt8(65 + r))) + out
      n = (n - 1) / 26
    }
    return out
  }

  /// (row 0, column 0) → A1.
  public static func cell(_ row: Int, _ column: Int) -> String { A1.column(column) + String(row + 1) }

  /// A sheet name as a formula prefix: `'hidden forward'!` (apostrophes doubled).
  public static func sheetPrefix(_ name: String) -> String {
    "'" + name.replacingOccurrences(of: "'", with: "''") + "'!"
  }
}
