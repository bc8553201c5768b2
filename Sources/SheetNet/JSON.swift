import Foundation
#if canImport(Glibc)
import Glibc
#endif

extension Value {
  /// JSON text with keys in the order given, numbers in Swift's shortest round-trip form
  /// (so parsing them back gives the same Double bit for bit), two-space indentation when `pretty`.
  /// Lists of numbers stay on one line. Non-finite numbers become null (JSON has none).
  public func json(pretty: Bool = true) -> String {
    var out = ""
    write(&out, indent: pretty ? 0 : nil)
    return out
  }

  /// A Double as JSON: shortest round-trip digits, integers without a fraction.
  public static func jsonNumber(_ x: Double) -> String {
    guard x.isFinite else { return "null" }
    if x == 0 && x.sign == .minus { return "-0.0" }
    if x == x.rounded(), abs(x) < 1e15 { return String(Int64(x)) }
    return "\(x)"
  }

  private func write(_ out: inout String, indent: Int?) {
    let pad = indent.map { String(repeating: "  ", count: $0 + 1) }
    let end = indent.map { "\n" + String(repeating: "  ", count: $0) } ?? ""
    switch self {
    case .null: out += "null"
    case .bool(let b): out += b ? "true" : "false"
    case .number(let x): out += Value.jsonNumber(x)
    case .string(let s): Value.writeString(s, &out)
    case .list(let items):
      if items.isEmpty { out += "[]"; return }
      let flat = items.allSatisfy { if case .number = $0 { return true }; if case .string = $0 { return true }; return false }
      if flat || indent == nil {
        out += "["
        for (i, item) in items.enumerated() {
          if i > 0 { out += indent == nil ? "," : ", " }
          item.write(&out, indent: nil)
        }
        out += "]"
      } else {
        out += "["
        for (i, item) in items.enumerated() {
          out += (i > 0 ? "," : "") + "\n" + pad!
          item.write(&out, indent: indent! + 1)
        }
        out += end + "]"
      }
    case .map(let pairs):
      if pairs.isEmpty { out += "{}"; return }
      out += "{"
      for (i, p) in pairs.enumerated() {
        out += (i > 0 ? "," : "") + (pad.map { "\n" + $0 } ?? "")
        Value.writeString(p.key, &out)
        out += indent == nil ? ":" : ": "
        p.value.write(&out, indent: indent.map { $0 + 1 })
      }
      out += end + "}"
    }
  }

  private static func writeString(_ s: String, _ out: inout String) {
    out += "\""
    for u in s.unicodeScalars {
      switch u {
      case "\"": out += "\\\""
      case "\\": out += "\\\\"
      case "\n": out += "\\n"
      case "\r": out += "\\r"
      case "\t": out += "\\t"
      default:
        // Every control character escaped (C0 as JSON requires, DEL and C1 too), so JSON shown
        // on a terminal cannot drive it.
        if Terminal.isControl(u) { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
      }
    }
    out += "\""
  }

  /// Parses JSON text (numbers through Swift's correctly rounded `Double(String)`).
  ///
  /// Hostile input is refused, never crashes: arrays and objects may nest at most
  /// `maxJSONDepth` deep, numbers must follow JSON's grammar and be finite Doubles (`1e999` is
  /// refused, not read as infinity), keys may not repeat within an object. Throws one line with
  /// the character offset of the first problem.
  public static func parseJSON(_ text: String) throws(SheetNetError) -> Value {
    var p = JSONParser(Array(text.utf8))
    let v = try p.value(depth: 0)
    p.skipSpace()
    guard p.i == p.bytes.count else { throw .model("unexpected text after the JSON value at character \(p.i)") }
    return v
  }

  /// How deeply arrays and objects may nest in JSON that `parseJSON` reads (a model file needs
  /// fewer than ten levels).
  public static let maxJSONDepth = 64
}

private struct JSONParser {
  let bytes: [UInt8]
  var i = 0
  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func skipSpace() {
    while i < bytes.count {
      switch bytes[i] {
      case 0x20, 0x0A, 0x0D, 0x09: i += 1
      default: return
      }
    }
  }

  func fail(_ what: String) -> SheetNetError { .model("malformed JSON at character \(i): \(what)") }

  mutating func value(depth: Int) throws(SheetNetError) -> Value {
    skipSpace()
    guard i < bytes.count else { throw fail("unexpected end of file") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      guard depth < Value.maxJSONDepth else { throw deep() }
      i += 1
      var pairs: [(key: String, value: Value)] = []
      var seen = Set<String>()
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .map(pairs) }
      while true {
        skipSpace()
        let at = i
        let key = try string()
        guard seen.insert(key).inserted else {
          throw .model("malformed JSON at character \(at): the key \"\(key.prefix(40))\" appears twice in one object; keep one")
        }
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        i += 1
        pairs.append((key, try value(depth: depth + 1)))
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of file") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "}") { i += 1; return .map(pairs) }
        throw fail("expected ',' or '}'")
      }
    case UInt8(ascii: "["):
      guard depth < Value.maxJSONDepth else { throw deep() }
      i += 1
      var items: [Value] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
      while true {
        items.append(try value(depth: depth + 1))
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of file") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
        throw fail("expected ',' or ']'")
      }
    case UInt8(ascii: "\""): return .string(try string())
    case UInt8(ascii: "t"): try literal("true"); return .bool(true)
    case UInt8(ascii: "f"): try literal("false"); return .bool(false)
    case UInt8(ascii: "n"): try literal("null"); return .null
    default: return .number(try number())
    }
  }

  /// The error for one bracket too many.
  func deep() -> SheetNetError {
    .model("JSON nested deeper than \(Value.maxJSONDepth) levels at character \(i); the file is damaged or not one SheetNet wrote")
  }

  /// A number as JSON writes it: -?(0|[1-9][0-9]*)(.[0-9]+)?([eE][+-]?[0-9]+)?, finite as a Double.
  mutating func number() throws(SheetNetError) -> Double {
    let start = i
    func isDigit(_ b: UInt8) -> Bool { b >= UInt8(ascii: "0") && b <= UInt8(ascii: "9") }
    func digits() -> Int {
      let from = i
      while i < bytes.count, isDigit(bytes[i]) { i += 1 }
      return i - from
    }
    func bad() -> SheetNetError {
      var end = start
      while end < bytes.count, end - start < 20, !" \n\r\t,]}:".utf8.contains(bytes[end]) { end += 1 }
      if end == start, start < bytes.count { end = start + 1 }
      let token = String(decoding: bytes[start..<end], as: UTF8.self)
      return .model("malformed JSON at character \(start): expected a value (a number, \"text\", true, false, null, [ or {) but found '\(token)'")
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "-") { i += 1 }
    let whole = i
    guard digits() > 0 else { throw bad() }
    if bytes[whole] == UInt8(ascii: "0"), i - whole > 1 { throw bad() }  // no leading zeros
    if i < bytes.count, bytes[i] == UInt8(ascii: ".") {
      i += 1
      guard digits() > 0 else { throw bad() }
    }
    if i < bytes.count, bytes[i] == UInt8(ascii: "e") || bytes[i] == UInt8(ascii: "E") {
      i += 1
      if i < bytes.count, bytes[i] == UInt8(ascii: "+") || bytes[i] == UInt8(ascii: "-") { i += 1 }
      guard digits() > 0 else { throw bad() }
    }
    let token = String(decoding: bytes[start..<i], as: UTF8.self)
    guard let x = Double(token) else { throw bad() }
    guard x.isFinite else {
      let shown = token.count > 40 ? String(token.prefix(37)) + "…" : token
      throw .model("malformed JSON at character \(start): the number \(shown) is beyond the range of a Double (±1.8e308); the file is damaged")
    }
    return x
  }

  mutating func literal(_ word: String) throws(SheetNetError) {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("expected \(word)") }
    i += w.count
  }

  /// Four hex digits after `\u`, at `i + 1 … i + 4`.
  func hex4() -> UInt32? {
    guard i + 4 < bytes.count else { return nil }
    var code: UInt32 = 0
    for b in bytes[i + 1...i + 4] {
      let d: UInt8
      switch b {
      case UInt8(ascii: "0")...UInt8(ascii: "9"): d = b - UInt8(ascii: "0")
      case UInt8(ascii: "a")...UInt8(ascii: "f"): d = b - UInt8(ascii: "a") + 10
      case UInt8(ascii: "A")...UInt8(ascii: "F"): d = b - UInt8(ascii: "A") + 10
      default: return nil
      }
      code = code << 4 | UInt32(d)
    }
    return code
  }

  mutating func string() throws(SheetNetError) -> String {
    guard i < bytes.count, bytes[i] == UInt8(ascii: "\"") else { throw fail("expected a string") }
    i += 1
    var out: [UInt8] = []
    while i < bytes.count, bytes[i] != UInt8(ascii: "\"") {
      if bytes[i] == UInt8(ascii: "\\"), i + 1 < bytes.count {
        i += 1
        switch bytes[i] {
        case UInt8(ascii: "n"): out.append(0x0A)
        case UInt8(ascii: "r"): out.append(0x0D)
        case UInt8(ascii: "t"): out.append(0x09)
        case UInt8(ascii: "b"): out.append(0x08)
        case UInt8(ascii: "f"): out.append(0x0C)
        case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): out.append(bytes[i])
        case UInt8(ascii: "u"):
          guard var code = hex4() else { throw fail("bad \\u escape (it needs four hex digits)") }
          i += 4
          if (0xD800..<0xDC00).contains(code) {
            // A UTF-16 surrogate pair, \uD83D\uDE00.
            guard i + 2 < bytes.count, bytes[i + 1] == UInt8(ascii: "\\"), bytes[i + 2] == UInt8(ascii: "u") else {
              throw fail("bad \\u escape (a high surrogate without its low half)")
            }
            i += 2
            guard let low = hex4(), (0xDC00..<0xE000).contains(low) else { throw fail("bad \\u escape (a high surrogate without its low half)") }
            i += 4
            code = 0x10000 + ((code - 0xD800) << 10) + (low - 0xDC00)
          }
          guard let scalar = Unicode.Scalar(code) else { throw fail("bad \\u escape (a lone surrogate)") }
          out += Array(String(Character(scalar)).utf8)
        default: throw fail("bad escape '\\\(Unicode.Scalar(bytes[i]))' in a string (JSON has \\\" \\\\ \\/ \\b \\f \\n \\r \\t \\uXXXX)")
        }
      } else {
        out.append(bytes[i])
      }
      i += 1
    }
    guard i < bytes.count else { throw fail("unterminated string") }
    i += 1
    return String(decoding: out, as: UTF8.self)
  }
}
