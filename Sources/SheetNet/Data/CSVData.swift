import Foundation

/// Reads numeric CSV: one sample per line, numeric features and one integer label column.
///
/// A header line is recognised when any field of the first line is not a number (or when
/// `header` says so). Blank lines are skipped.
/// Errors name the file and line: a ragged row, a field that is not a number, a label that is
/// not a whole number ≥ 0.
public enum CSVData {
  /// Parses `text` (named `file` in errors). `labelColumn` counts from 0; −1 means the last.
  /// With `labelColumn` nil every column is a feature and no labels are returned.
  public static func parse(_ text: String, file: String, labelColumn: Int? = -1, header: Bool? = nil) throws(SheetNetError) -> (x: Tensor, labels: [Int]?, header: [String]?) {
    var rows: [[Double]] = []
    var labels: [Int] = []
    var headerFields: [String]? = nil
    var width: Int? = nil
    var lineNumber = 0
    for rawLine in text.split(separator: "\n", omittingEmptySubsequences: false) {
      lineNumber += 1
      let line = rawLine.trimmingCharacters(in: .whitespacesAndNewlines)
      if line.isEmpty { continue }
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
      if rows.isEmpty && headerFields == nil && (header ?? fields.contains { Double($0) == nil }) {
        headerFields = fields
        continue
      }
      if let width, fields.count != width {
        throw .data("\(file) line \(lineNumber): \(fields.count) fields, but earlier rows have \(width); every row needs the same number of columns")
      }
      width = fields.count
      var label: Int? = nil
      let labelIndex = labelColumn.map { $0 < 0 ? fields.count + $0 : $0 }
      if let labelIndex, labelIndex < 0 || labelIndex >= fields.count {
        throw .data("\(file) line \(lineNumber): no column \(labelColumn!) for the label in a row of \(fields.count) fields")
      }
      var row: [Double] = []
      row.reserveCapacity(fields.count)
      for (c, field) in fields.enumerated() {
        guard let v = Double(field), v.isFinite else {
          throw .data("\(file) line \(lineNumber), column \(c + 1): '\(field.prefix(40))' is not a number")
        }
        if c == labelIndex {
          guard v >= 0, v == v.rounded(), v < 1e6 else {
            throw .data("\(file) line \(lineNumber), column \(c + 1): the label \(field) must be a whole number 0, 1, 2, …")
          }
          label = Int(v)
        } else {
          row.append(v)
        }
      }
      rows.append(row)
      if let label { labels.append(label) }
    }
    guard let first = rows.first, !first.isEmpty else { throw .data("\(file): no data rows") }
    return (Tensor(rows: rows), labelColumn == nil ? nil : labels, headerFields)
  }

  /// Reads and parses a CSV file.
  public static func load(_ path: String, labelColumn: Int? = -1, header: Bool? = nil) throws(SheetNetError) -> Dataset {
    guard FileManager.default.fileExists(atPath: path) else {
      throw .data("\(path): no such data file; check the path in the lesson (it is relative to the lesson file)")
    }
    let text: String
    do { text = try String(contentsOfFile: path, encoding: .utf8) } catch {
      throw .data("\(path): cannot read it as UTF-8 text")
    }
    let (x, labels, _) = try parse(text, file: path, labelColumn: labelColumn, header: header)
    return Dataset(name: path, x: x, labels: labels)
  }
}
