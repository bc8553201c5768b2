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
        if u.value < 0x20 { out += String(format: "\\u%04x", u.value) } else { out.unicodeScalars.append(u) }
      }
    }
    out += "\""
  }

  /// Parses JSON text (numbers through Swift's correctly rounded `Double(String)`).
  /// Throws a message with the character offset of the first problem.
  public static func parseJSON(_ text: String) throws(SheetNetError) -> Value {
    var p = JSONParser(Array(text.utf8))
    let v = try p.value()
    p.skipSpace()
    guard p.i == p.bytes.count else { throw .model("unexpected text after the JSON value at character \(p.i)") }
    return v
  }
}

private struct JSONParser {
  let bytes: [UInt8]
  var i = 0
  init(_ bytes: [UInt8]) { self.bytes = bytes }

  mutating func skipSpace() {
    while i < bytes.count, [0x20, 0x0A, 0x0D, 0x09].contains(bytes[i]) { i += 1 }
  }

  func fail(_ what: String) -> SheetNetError { .model("malformed JSON at character \(i): \(what)") }

  mutating func value() throws(SheetNetError) -> Value {
    skipSpace()
    guard i < bytes.count else { throw fail("unexpected end of file") }
    switch bytes[i] {
    case UInt8(ascii: "{"):
      i += 1
      var pairs: [(key: String, value: Value)] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "}") { i += 1; return .map(pairs) }
      while true {
        skipSpace()
        let key = try string()
        skipSpace()
        guard i < bytes.count, bytes[i] == UInt8(ascii: ":") else { throw fail("expected ':'") }
        i += 1
        pairs.append((key, try value()))
        skipSpace()
        guard i < bytes.count else { throw fail("unexpected end of file") }
        if bytes[i] == UInt8(ascii: ",") { i += 1; continue }
        if bytes[i] == UInt8(ascii: "}") { i += 1; return .map(pairs) }
        throw fail("expected ',' or '}'")
      }
    case UInt8(ascii: "["):
      i += 1
      var items: [Value] = []
      skipSpace()
      if i < bytes.count, bytes[i] == UInt8(ascii: "]") { i += 1; return .list(items) }
      while true {
        items.append(try value())
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
    default:
      let start = i
      while i < bytes.count, "+-0123456789.eE".utf8.contains(bytes[i]) { i += 1 }
      guard i > start, let x = Double(String(decoding: bytes[start..<i], as: UTF8.self)) else { throw fail("expected a value") }
      return .number(x)
    }
  }

  mutating func literal(_ word: String) throws(SheetNetError) {
    let w = Array(word.utf8)
    guard i + w.count <= bytes.count, Array(bytes[i..<i + w.count]) == w else { throw fail("expected \(word)") }
    i += w.count
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
        case UInt8(ascii: "u"):
          guard i + 4 < bytes.count, let code = UInt32(String(decoding: bytes[i + 1...i + 4], as: UTF8.self), radix: 16),
            let scalar = Unicode.Scalar(code)
          else { throw fail("bad \\u escape") }
          out += Array(String(Character(scalar)).utf8)
          i += 4
        default: out.append(bytes[i])
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
