import SheetNet

/// The CSV views of a step workbook (RFC 4180: comma-separated, CRLF line ends, fields with a
/// comma, quote or line break in double quotes): one file per sheet, `index.csv` and `entries.csv`.
///
/// Each file starts with a UTF-8 byte-order mark, so Excel opened by a double click reads the
/// symbols (z₁, ∂, Σ, η) as UTF-8 rather than the system's code page; pandas and Python's
/// `utf-8-sig` drop it. Each file's first line is its header: the column names of index.csv and
/// entries.csv (the tables a program reads), and the spreadsheet's column letters (`,A,B,C`…
/// after a leading `row` field) for a sheet, whose lines are then the sheet's rows, each led by
/// its row number: `pandas.read_csv(f, index_col="row").loc[14, "B"]` is the sheet's B14.
extension StepWorkbook {
  /// Every CSV file by name, in order: the sheets (`00-summary.csv`, `01-input.csv`, …), then
  /// `index.csv` (where each entry sits) and `entries.csv` (one tidy row per element).
  public func csvFiles() -> [(name: String, text: String)] {
    var files = workbook.sheets.map { ($0.fileName, CSV.byteOrderMark + CSV.sheet($0)) }
    files.append(("index.csv", CSV.byteOrderMark + indexCSV()))
    files.append(("entries.csv", CSV.byteOrderMark + entriesCSV()))
    return files
  }

  /// index.csv: entry, kind (entry or helper), sheet, file, part, range (A1), shape, editable.
  /// Each block has a row with an empty part for its whole rectangle; a block of grids (images,
  /// feature maps, kernels) has one more row per grid, part "1,3" (its outer indices, 1-based,
  /// in element order), whose range holds that grid row by row; a matrix printed in bands of
  /// columns (`Placement.perBand`) has one row per matrix row and band, part "1,65-128"; a long
  /// batched [N, K] value printed in bands of rows one per band, part "65-128".
  func indexCSV() -> String {
    var rows = [["entry", "kind", "sheet", "file", "part", "range", "shape", "editable"]]
    func range(_ a: (Int, Int), _ b: (Int, Int)) -> String { A1.cell(a.0, a.1) + (a == b ? "" : ":" + A1.cell(b.0, b.1)) }
    for b in blocks {
      let r = b.rectangle
      let sheet = workbook.sheets[b.sheet]
      let common = [b.isEntry ? "entry" : "helper", sheet.name, sheet.fileName]
      let tail = [shapeText(b.shape), b.editable ? "yes" : "no"]
      rows.append([b.name] + common + ["", range((r.top, r.left), (r.bottom, r.right))] + tail)
      if case .matrix(let height, let columns) = b.placement.kind, b.placement.bands > 1 {
        // A matrix printed in bands: one part per row and band, "1,65-128" (row 1, columns 65 to 128).
        let per = b.placement.perBand
        for j in 0..<height {
          for band in 0..<b.placement.bands {
            let (from, to) = (band * per, min(columns, (band + 1) * per) - 1)
            let (first, last) = (b.cell(j * columns + from), b.cell(j * columns + to))
            rows.append([b.name] + common + ["\(j + 1),\(from + 1)-\(to + 1)", range((first.row, first.column), (last.row, last.column))] + tail)
          }
        }
      }
      if case .samples(let n, let k) = b.placement.kind, b.placement.bands > 1 {
        // A long [N, K] value printed in bands of rows: one part per band, "65-128" (rows 65 to 128).
        let per = b.placement.perBand
        for band in 0..<b.placement.bands {
          let (from, to) = (band * per, min(k, (band + 1) * per) - 1)
          let (first, last) = (b.cell(from), b.cell((n - 1) * k + to))
          rows.append([b.name] + common + ["\(from + 1)-\(to + 1)", range((first.row, first.column), (last.row, last.column))] + tail)
        }
      }
      if case .grids(let count, let h, let w, _) = b.placement.kind {
        for g in 0..<count {
          let (first, last) = (b.cell(g * h * w), b.cell((g + 1) * h * w - 1))
          var index: [Int] = [], rest = g
          for n in b.shape.dropLast(2).reversed() { index.append(rest % max(n, 1) + 1); rest /= max(n, 1) }
          rows.append([b.name] + common + [index.reversed().map(String.init).joined(separator: ","),
                                           range((first.row, first.column), (last.row, last.column))] + tail)
        }
      }
    }
    return CSV.text(rows.map { $0.map(CSV.Field.text) })
  }

  /// entries.csv: entry, layer, phase, symbol, index (1-based, comma-separated), value — every
  /// element of every trace entry, the engine's numbers in the shortest round-trip form.
  func entriesCSV() -> String {
    var out = CSV.text([["entry", "layer", "phase", "symbol", "index", "value"].map(CSV.Field.text)])
    out.reserveCapacity(blocks.reduce(0) { $0 + 60 * $1.shape.reduce(1, *) })
    for b in blocks where b.isEntry {
      let parts = b.name.split(separator: ".", maxSplits: 2).map(String.init)
      let (layer, phase) = parts.count == 2 ? (parts[0], parts[0]) : (parts[0], parts[1])
      let prefix = [b.name, layer, phase, b.symbol].map(CSVCell.text).joined(separator: ",") + ","
      let count = b.shape.reduce(1, *)
      var index = b.shape.map { _ in 1 }  // 1-based, counted up like an odometer
      for i in 0..<count {
        let (r, c) = b.cell(i)
        let text = index.map(String.init).joined(separator: ",")
        out += prefix + (index.count > 1 ? "\"" + text + "\"" : text) + "," + shortestNumber(cachedValue(sheet: b.sheet, row: r, column: c)) + "\r\n"
        var axis = index.count - 1
        while axis >= 0 {
          index[axis] += 1
          if index[axis] <= b.shape[axis] { break }
          index[axis] = 1
          axis -= 1
        }
      }
    }
    return out
  }
}

/// RFC 4180 writing; every text field goes through the engine's one guard, `CSVCell.text`
/// (a leading `'` on text a spreadsheet would run as a formula, quotes where needed).
public enum CSV {
  /// U+FEFF, written first in every CSV file (three bytes in UTF-8: EF BB BF).
  public static let byteOrderMark = "\u{FEFF}"

  /// One field.
  public enum Field {
    case text(String)
    case number(Double)
  }

  /// Rows of fields as CSV text, each line ended by CRLF.
  public static func text(_ rows: [[Field]]) -> String {
    var out = ""
    for row in rows {
      out += row.map { field -> String in
        switch field {
        case .number(let x): shortestNumber(x)
        case .text(let s): CSVCell.text(s)
        }
      }.joined(separator: ",")
      out += "\r\n"
    }
    return out
  }

  /// A sheet as a rectangle of fields under a header line `row,A,B,…`: each line the sheet's row
  /// number, then its cells, every line as wide as the widest, empty cells empty, formula cells as
  /// their cached values.
  static func sheet(_ sheet: Sheet) -> String {
    let rows = (sheet.cells.map(\.row).max() ?? -1) + 1, columns = (sheet.cells.map(\.column).max() ?? -1) + 1
    var grid = Array(repeating: Array(repeating: "", count: columns), count: rows)
    for c in sheet.cells {
      switch c.content {
      case .text(let s): grid[c.row][c.column] = CSVCell.text(s)
      case .number(let x): grid[c.row][c.column] = shortestNumber(x)
      case .formula(_, let cached, _): grid[c.row][c.column] = shortestNumber(cached)
      case .textFormula(_, let cached): grid[c.row][c.column] = CSVCell.text(cached)
      case .empty: grid[c.row][c.column] = ""
      }
    }
    var out = (["row"] + (0..<columns).map(A1.column)).joined(separator: ",") + "\r\n"
    for (r, row) in grid.enumerated() { out += String(r + 1) + "," + row.joined(separator: ",") + "\r\n" }
    return out
  }
}
