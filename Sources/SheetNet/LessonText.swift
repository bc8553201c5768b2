/// Text from a lesson or a model file on its way out: names are data, never paths; free text
/// reaches a terminal with its control characters escaped and a CSV cell unable to run as a formula.

/// The rule for every name that becomes part of a file or sheet name: a lesson's `name`, a
/// layer's `name`, and the names a model file stores.
///
/// A name is 1 … 64 ASCII letters, digits, `_`, `-` and `.`, not starting with `.`: it cannot
/// climb out of a folder (`..`, `/`), hide a file, break a line or a terminal, or spell the same
/// file differently on another system.
package enum Names {
  /// The longest name, in characters.
  package static let maxLength = 64

  /// What to write instead, for the end of an error message.
  package static let rule = "use letters, digits, _ - . (ASCII, at most \(maxLength), not starting with '.')"

  /// Why `name` breaks the rule ("is empty", "holds '/'", …), or nil when it keeps it.
  package static func problem(_ name: String) -> String? {
    if name.isEmpty { return "is empty" }
    if let bad = name.unicodeScalars.first(where: { !isAllowed($0) }) {
      return "holds '\(Terminal.escaped(String(Character(bad))))'"
    }
    if name.hasPrefix(".") { return "starts with '.'" }
    if name.unicodeScalars.count > maxLength { return "is \(name.unicodeScalars.count) characters long, more than \(maxLength)" }
    return nil
  }

  /// `name` as an error message quotes it: escaped, and cut after 40 characters.
  package static func quoted(_ name: String) -> String {
    "'" + Terminal.escaped(name.count > 40 ? String(name.prefix(40)) + "…" : name) + "'"
  }

  /// Throws `.lesson("<where>: name '…' <problem>; use …")` unless `name` keeps the rule.
  package static func check(_ name: String, _ location: String) throws(SheetNetError) {
    if let problem = problem(name) { throw .lesson("\(location): name \(quoted(name)) \(problem); \(rule)") }
  }

  private static func isAllowed(_ s: Unicode.Scalar) -> Bool {
    switch s {
    case "a"..."z", "A"..."Z", "0"..."9", "_", "-", ".": true
    default: false
    }
  }
}

/// Text for a terminal.
package enum Terminal {
  /// `text` with every control character visible: C0 controls, DEL and C1 controls (U+0080 …
  /// U+009F, which some terminals read as ESC sequences) become `\e` (escape), `\n`, `\r`, `\t`,
  /// `\xHH` (other C0 and DEL) or `\u{HH}` (C1). Other characters, backslashes included, are
  /// left as they are, so escaping twice changes nothing more. With `keepingLineBreaks` a line
  /// feed stays a line break (for text of several lines).
  package static func escaped(_ text: String, keepingLineBreaks: Bool = false) -> String {
    guard text.unicodeScalars.contains(where: { isControl($0) && !(keepingLineBreaks && $0 == "\n") }) else { return text }
    var out = ""
    out.reserveCapacity(text.utf8.count + 8)
    for s in text.unicodeScalars {
      guard isControl(s), !(keepingLineBreaks && s == "\n") else { out.unicodeScalars.append(s); continue }
      switch s {
      case "\u{1B}": out += "\\e"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      case _ where s.value < 0x80: out += "\\x" + hex(s.value)
      default: out += "\\u{" + hex(s.value) + "}"
      }
    }
    return out
  }

  /// C0 (U+0000 … U+001F), DEL (U+007F), C1 (U+0080 … U+009F).
  package static func isControl(_ s: Unicode.Scalar) -> Bool { s.value < 0x20 || (0x7F...0x9F).contains(s.value) }

  private static func hex(_ v: UInt32) -> String {
    let digits = String(v, radix: 16, uppercase: true)
    return digits.count < 2 ? "0" + digits : digits
  }
}

/// Text cells of CSV files (RFC 4180), the one guard every CSV writer uses.
package enum CSVCell {
  /// A text field, neutralised and quoted as needed.
  package static func text(_ s: String) -> String { quoted(neutralised(s)) }

  /// Text that a spreadsheet would run as a formula (starting with `=`, `+`, `-`, `@`, a tab or
  /// a carriage return, as OWASP's CSV injection guidance lists) gets a leading apostrophe, so
  /// it stays text.
  package static func neutralised(_ s: String) -> String {
    guard let first = s.unicodeScalars.first, "=+-@\t\r".unicodeScalars.contains(first) else { return s }
    return "'" + s
  }

  /// A field in double quotes (quotes doubled) when it holds a comma, a quote or a line break.
  package static func quoted(_ s: String) -> String {
    guard s.contains(where: { $0 == "," || $0 == "\"" || $0 == "\n" || $0 == "\r" || $0 == "\r\n" }) else { return s }
    return "\"" + s.replacingOccurrences(of: "\"", with: "\"\"") + "\""
  }
}
