import Foundation

/// Reads numeric CSV: one sample per line, numeric features and one integer label column.
///
/// RFC 4180 as spreadsheets write it: lines end in LF, CRLF or CR; a UTF-8 byte-order mark is
/// skipped; a field in double quotes may hold commas, line breaks and doubled quotes (`""`).
/// A header line is recognised when any field of the first line is not a number (or when
/// `header` says so). Blank lines are skipped; spaces around a field are ignored.
/// Errors name the file and line: a ragged row, a field that is not a finite number, an unclosed
/// quote, a row with no feature columns, a label that is not a whole number 0 … `Limits.classes` − 1.
public enum CSVData {
  /// Parses `text` (named `file` in errors). `labelColumn` counts from 0; −1 means the last.
  /// With `labelColumn` nil every column is a feature and no labels are returned.
  public static func parse(_ text: String, file: String, labelColumn: Int? = -1, header: Bool? = nil) throws(SheetNetError) -> (x: Tensor, labels: [Int]?, header: [String]?) {
    var rows: [[Double]] = []
    var labels: [Int] = []
    var headerFields: [String]? = nil
    var width: Int? = nil
    for (lineNumber, fields) in try records(text, file: file) {
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
      if labelIndex != nil, fields.count == 1 {
        throw .data("\(file) line \(lineNumber): the row holds only a label and no feature columns; each row needs the features, then the label (e.g. 5.1,3.5,0)")
      }
      var row: [Double] = []
      row.reserveCapacity(fields.count)
      for (c, field) in fields.enumerated() {
        let at = "\(file) line \(lineNumber), column \(c + 1)"
        guard !field.isEmpty else { throw .data("\(at) is empty; every field needs a number") }
        guard let v = Double(field) else { throw .data("\(at): '\(field.prefix(40))' is not a number") }
        guard v.isFinite else {
          throw .data("\(at): '\(field.prefix(40))' is not a finite number (infinite, NaN or beyond ±1.8e308); write an ordinary number")
        }
        if c == labelIndex {
          label = try self.label(v, field, at)
        } else {
          row.append(v)
        }
      }
      rows.append(row)
      if let label { labels.append(label) }
    }
    guard let first = rows.first, !first.isEmpty else {
      throw .data("\(file): no data rows\(headerFields == nil ? "" : " (only a header line)"); give one sample a line: the features, then the label")
    }
    return (Tensor(rows: rows), labelColumn == nil ? nil : labels, headerFields)
  }

  /// A label as a class number: whole, ≥ 0 and below `Limits.classes`.
  private static func label(_ v: Double, _ field: String, _ at: String) throws(SheetNetError) -> Int {
    let shown = field.prefix(40)
    let what = "labels are class numbers 0, 1, 2, …; check that the label column is the right one (the last, unless the lesson sets label_column)"
    guard v >= 0 else { throw .data("\(at): the label \(shown) is negative; \(what)") }
    guard v == v.rounded() else { throw .data("\(at): the label \(shown) is not a whole number; \(what)") }
    guard v < Double(Limits.classes) else {
      throw .data("\(at): the label \(shown) is too large: SheetNet handles at most \(Limits.grouped(Limits.classes)) classes (labels 0 … \(Limits.grouped(Limits.classes - 1))); \(what)")
    }
    return Int(v)
  }

  /// The non-blank records of `text` with the line each starts on, fields unquoted and unquoted
  /// fields trimmed of spaces.
  static func records(_ text: String, file: String) throws(SheetNetError) -> [(line: Int, fields: [String])] {
    let comma = UInt8(ascii: ","), quote = UInt8(ascii: "\""), lf = UInt8(ascii: "\n"), cr = UInt8(ascii: "\r")
    let bytes = Array(text.utf8)
    var i = bytes.starts(with: [0xEF, 0xBB, 0xBF]) ? 3 : 0
    var line = 1
    var out: [(line: Int, fields: [String])] = []
    var fields: [String] = []
    var anyQuoted = false
    func isBlank(_ b: UInt8) -> Bool { b == 0x20 || b == 0x09 }
    /// Steps over a line end at i (CRLF, LF or CR), counting the line.
    func lineEnd() -> Bool {
      guard i < bytes.count, bytes[i] == lf || bytes[i] == cr else { return false }
      if bytes[i] == cr, i + 1 < bytes.count, bytes[i + 1] == lf { i += 1 }
      i += 1
      line += 1
      return true
    }
    while i <= bytes.count {
      let recordLine = line
      fields.removeAll(keepingCapacity: true)
      anyQuoted = false
      while true {
        // One field, then a comma (another field follows) or the end of the record.
        var start = i
        while start < bytes.count, isBlank(bytes[start]) { start += 1 }
        if start < bytes.count, bytes[start] == quote {
          anyQuoted = true
          let opened = line
          i = start + 1
          var value: [UInt8] = []
          while true {
            guard i < bytes.count else {
              throw .data("\(file) line \(opened), column \(fields.count + 1): a quoted field is never closed; end it with \" (write a quote inside quotes as \"\")")
            }
            if bytes[i] == quote {
              if i + 1 < bytes.count, bytes[i + 1] == quote { value.append(quote); i += 2; continue }
              i += 1
              break
            }
            if bytes[i] == lf || (bytes[i] == cr && !(i + 1 < bytes.count && bytes[i + 1] == lf)) { line += 1 }
            value.append(bytes[i])
            i += 1
          }
          while i < bytes.count, isBlank(bytes[i]) { i += 1 }
          guard i == bytes.count || bytes[i] == comma || bytes[i] == lf || bytes[i] == cr else {
            throw .data("\(file) line \(line), column \(fields.count + 1): text after the closing quote; put the whole field in quotes and write a quote inside as \"\"")
          }
          fields.append(String(decoding: value, as: UTF8.self))
        } else {
          i = start
          while i < bytes.count, bytes[i] != comma, bytes[i] != lf, bytes[i] != cr { i += 1 }
          // Blanks (spaces, tabs) around an unquoted field are not part of it; trimmed as bytes,
          // which reads the shipped digits in a few milliseconds (Foundation's trimming took 0.1 s).
          var end = i
          while end > start, isBlank(bytes[end - 1]) { end -= 1 }
          fields.append(String(decoding: bytes[start..<end], as: UTF8.self))
        }
        if i < bytes.count, bytes[i] == comma { i += 1; continue }
        break
      }
      let atEnd = i >= bytes.count
      _ = lineEnd()
      if !(fields.count == 1 && fields[0].isEmpty && !anyQuoted) { out.append((recordLine, fields)) }
      if atEnd { break }
    }
    return out
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
    let (x, labels, names) = try parse(text, file: path, labelColumn: labelColumn, header: header)
    var data = Dataset(name: path, x: x, labels: labels)
    // The header's names of the feature columns (the label's column left out).
    if var names, names.count == x.columns + (labelColumn == nil ? 0 : 1) {
      if let labelColumn { names.remove(at: labelColumn < 0 ? names.count + labelColumn : labelColumn) }
      data.featureNames = names
    }
    return data
  }
}
