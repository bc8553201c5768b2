import SheetNet
import SheetNetTrace

/// Where one trace entry (or helper block) sits in the workbook.
public struct Block: Sendable {
  /// The entry name (`dense1.forward.z`) or helper name (`conv1.forward.xpad`).
  public var name: String
  /// Whether it is a trace entry (false for a helper block).
  public var isEntry: Bool
  /// The sheet index in `Workbook.sheets`.
  public var sheet: Int
  /// Course symbol and description.
  public var symbol: String, formula: String
  /// Shape and whether the first axis is the batch.
  public var shape: [Int], batched: Bool
  /// Whether its cells are plain numbers the student may edit.
  public var editable: Bool
  /// How the elements are placed.
  public var placement: Placement

  /// The 0-based (row, column) of element `i`.
  public func cell(_ i: Int) -> (row: Int, column: Int) { placement.cell(i) }
  /// The rectangle holding every element (top, left, bottom, right; 0-based, inclusive).
  public var rectangle: (top: Int, left: Int, bottom: Int, right: Int) { placement.rectangle }
}

/// How a block's elements are laid out below its title row (see `SheetLayout` for the rules).
public struct Placement: Sendable {
  /// The kinds of layout.
  public enum Kind: Sendable {
    /// One cell.
    case scalar
    /// A column of `count` cells.
    case column(count: Int)
    /// [N, K] with one column per sample: K rows × N columns under a header row.
    case samples(n: Int, k: Int)
    /// [U, I]: U rows × I columns under a header row.
    case matrix(rows: Int, columns: Int)
    /// `count` grids of `height` × `width`, each under its label, `across` grids side by side
    /// in each band of rows (a blank column between neighbours).
    case grids(count: Int, height: Int, width: Int, across: Int)
  }
  /// The layout.
  public var kind: Kind
  /// The row of the block's title; the first data column is 1 (column A holds labels).
  public var titleRow: Int
  /// Grids only: rows between a grid's label and the grid (1 for a row of column labels, such as
  /// an attention grid's key tokens), and columns after each grid's last (1 for its row sums).
  /// Both 0 by default; the blank column before each grid holds its row labels when it has any.
  public var headerRows = 0, trailingColumns = 0
  /// A long axis printed in bands of `perBand` (0: one band), so that a page holds the block at
  /// a readable scale: a matrix wider than `bandColumns` in bands of columns one under another
  /// (each under its own header row, a blank row between); a batched [N, K] value longer than
  /// `bandRows` in bands of rows side by side (each led by a column of its row labels).
  public var perBand = 0
  /// The most columns a matrix shows side by side (Dense's W of 10 × 512 prints as 16 bands of
  /// 32 columns): a sheet much wider than 40 columns does not print one page wide in LibreOffice.
  public static let bandColumns = 32
  /// The most rows a sample's column holds (a flattened 512 prints as 8 columns of 64).
  public static let bandRows = 64

  /// The length of the axis that is cut into bands: a matrix's columns, a sample's K (else 0).
  public var bandedLength: Int {
    switch kind {
    case .matrix(_, let columns): columns
    case .samples(_, let k): k
    default: 0
    }
  }
  /// Bands of the block (1 when it is not cut).
  public var bands: Int { perBand > 0 && bandedLength > 0 ? (bandedLength + perBand - 1) / perBand : 1 }
  /// The band of element `i` (0 when the block is not cut).
  public func bandOf(_ i: Int) -> Int { perBand > 0 && bandedLength > 0 ? i % bandedLength / perBand : 0 }

  /// Rows from one band of grids to the next: the label row, the header rows, the grid.
  private func band(_ h: Int) -> Int { 1 + headerRows + h }
  /// Columns from one grid to the next: the grid, its trailing columns, a blank column.
  private func stride(_ w: Int) -> Int { w + trailingColumns + 1 }

  /// The 0-based (row, column) of element `i`.
  public func cell(_ i: Int) -> (row: Int, column: Int) {
    switch kind {
    case .scalar: return (titleRow + 1, 1)
    case .column: return (titleRow + 1 + i, 1)
    case .samples(let n, let k):
      let (s, j) = (i / k, i % k)
      guard perBand > 0 else { return (titleRow + 2 + j, 1 + s) }
      return (titleRow + 2 + j % perBand, 1 + j / perBand * (n + 1) + s)
    case .matrix(let rows, let columns):
      let (j, k) = (i / columns, i % columns)
      guard perBand > 0 else { return (titleRow + 2 + j, 1 + k) }
      return (titleRow + 2 + k / perBand * (rows + 2) + j, 1 + k % perBand)
    case .grids(_, let h, let w, let across):
      let (g, r, c) = (i / (h * w), i / w % h, i % w)
      return (titleRow + 1 + g / across * band(h) + 1 + headerRows + r, 1 + g % across * stride(w) + c)
    }
  }

  /// Rows the block takes, title included.
  public var height: Int {
    switch kind {
    case .scalar: 2
    case .column(let count): 1 + count
    case .samples(_, let k): 2 + (perBand > 0 ? min(k, perBand) : k)
    case .matrix(let rows, _): bands * (rows + 2)
    case .grids(let count, let h, _, let across): 1 + (count + across - 1) / across * band(h)
    }
  }

  /// The rectangle of data cells (for grids with trailing columns, their columns included).
  public var rectangle: (top: Int, left: Int, bottom: Int, right: Int) {
    switch kind {
    case .scalar: (titleRow + 1, 1, titleRow + 1, 1)
    case .column(let count): (titleRow + 1, 1, titleRow + count, 1)
    case .samples(let n, let k): perBand > 0 ? (titleRow + 2, 1, titleRow + 1 + min(k, perBand), bands * (n + 1) - 1) : (titleRow + 2, 1, titleRow + 1 + k, n)
    case .matrix(let rows, let columns): (titleRow + 2, 1, titleRow + 1 + (bands - 1) * (rows + 2) + rows, perBand > 0 ? min(columns, perBand) : columns)
    case .grids(let count, let h, let w, let across):
      (titleRow + 2 + headerRows, 1, titleRow + (count + across - 1) / across * band(h), min(count, across) * stride(w) - 1)
    }
  }

  /// The rectangle of grid `g`'s data cells alone (the whole block for a layout without grids).
  public func gridRectangle(_ g: Int) -> (top: Int, left: Int, bottom: Int, right: Int) {
    guard case .grids(_, let h, let w, _) = kind else { return rectangle }
    let first = cell(g * h * w)
    return (first.row, first.column, first.row + h - 1, first.column + w - 1)
  }

  /// At most this many grids side by side (8 kernels or feature maps across, like a figure).
  public static let gridsAcross = 8
  /// The most columns a band of grids takes (a sheet much wider than 40 columns does not print
  /// one page wide in LibreOffice).
  public static let gridColumns = 40

  /// The top-left cell of grid `g`'s label (the row above the grid and its header rows).
  public func gridLabel(_ g: Int) -> (row: Int, column: Int) {
    guard case .grids(_, let h, let w, let across) = kind else { return (titleRow + 1, 0) }
    return (titleRow + 1 + g / across * band(h), 1 + g % across * stride(w))
  }

  /// The layout of a value of `shape` (`batched`: first axis is the batch) titled at `row`.
  public static func of(_ shape: [Int], batched: Bool, at row: Int) -> Placement {
    let count = shape.reduce(1, *)
    let kind: Kind
    switch shape.count {
    case 0: kind = .scalar
    case 1: kind = count == 1 ? .scalar : .column(count: count)
    case 2: kind = batched ? .samples(n: shape[0], k: shape[1]) : .matrix(rows: shape[0], columns: shape[1])
    default:
      let (h, w) = (shape[shape.count - 2], shape[shape.count - 1])
      let grids = count / max(h * w, 1)
      // Fewer across when the grids are wide, so a band stays within `gridColumns` (8×8 maps go 4 across).
      kind = .grids(count: grids, height: h, width: w, across: max(1, min(grids, Placement.gridsAcross, Placement.gridColumns / (w + 1))))
    }
    var placement = Placement(kind: kind, titleRow: row)
    switch kind {
    case .matrix(_, let columns) where columns > bandColumns: placement.perBand = bandColumns
    case .samples(_, let k) where k > bandRows: placement.perBand = bandRows
    default: break
    }
    return placement
  }
}

/// The largest traced step a workbook is written for, in cells (about what LibreOffice
/// recalculates in ten seconds); larger steps are refused with a hint to trace fewer samples.
public let workbookCellLimit = 400_000
/// Excel's longest formula.
public let formulaLengthLimit = 8_192

/// One traced training step laid out as worksheets: the workbook model (sheets, cells, formulas
/// with the engine's values cached), where every entry sits, and the CSV views of it.
public struct StepWorkbook {
  /// The sheets and names, ready for `XLSX.data` or `csvFiles`.
  public internal(set) var workbook = Workbook()
  /// Every entry and helper block, in the order written.
  public internal(set) var blocks: [Block] = []
  /// Blocks by name.
  public internal(set) var blockIndex: [String: Int] = [:]
  /// The formula of every formula cell, by sheet, row and column (for tests and the evaluator).
  public internal(set) var formulas: [CellAddress: Formula] = [:]
  /// The number in every cell that holds one (the cached value of a formula), by sheet and
  /// `key(row, column)`: filled while the cells are written, read by the CSV writers.
  var numbers: [[Int: Double]] = []

  /// The number in a cell (its cached value for a formula), 0 when empty or text.
  public func cachedValue(sheet: Int, row: Int, column: Int) -> Double { numbers[sheet][key(row, column)] ?? 0 }

  /// A cell's address.
  public struct CellAddress: Hashable, Sendable {
    public var sheet: Int, row: Int, column: Int
    /// An address.
    public init(sheet: Int, row: Int, column: Int) {
      self.sheet = sheet
      self.row = row
      self.column = column
    }
  }

  /// The block called `name`.
  public func block(_ name: String) -> Block? { blockIndex[name].map { blocks[$0] } }

  /// Lays out `traced` as worksheets. Throws one line when the step is too large for a workbook
  /// (`limit` cells), holds a non-finite number, or has an entry no owner can write.
  public init(_ traced: TracedStep, limit: Int = workbookCellLimit) throws(SheetNetError) {
    try StepLayout(traced, limit: limit).build(into: &self)
  }
}
