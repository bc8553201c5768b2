/// SheetNetWorksheets: one traced training step as worksheets — CSV files of values and an
/// OOXML workbook whose forward, backward and update cells are live formulas.
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
  /// Whether it prints landscape, scaled to one page wide (an exercise sheet).
  public var fitsPageWidth = false

  /// An empty sheet.
  public init(name: String, fileName: String) {
    self.name = name
    self.fileName = fileName
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

/// How a cell looks.
public enum CellStyle: Sendable, Equatable {
  /// Default text.
  case plain
  /// A computed number shown with 4 decimals (the cell keeps full precision).
  case number
  /// An editable number shown with 4 decimals, on a light yellow fill.
  case input
  /// A block or sheet title (bold).
  case title
  /// A row or column label (grey italic).
  case label
  /// A note to the reader (italic).
  case note
  /// A number shown with exactly this many decimals (0…10; the cell keeps full precision).
  case decimals(Int)
  /// An empty box for a student's answer: light yellow fill, a thin border, the number as typed.
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
