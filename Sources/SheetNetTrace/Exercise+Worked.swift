import Foundation
import SheetNet

/// The numbers of an exercise as a student works them: each printed line evaluated from the
/// printed digits above it, then rounded as the sheet shows it.
///
/// The engine carries every quantity at full precision; a sheet prints 5 significant digits. A
/// line computed from unrounded numbers can then disagree with the same line computed by hand
/// from the printed ones in its last digit (0.0099542 by hand against 0.0099543 printed). So the
/// key holds the *worked* numbers: a given is the number as printed, and a computed quantity is
/// its arithmetic line evaluated with the printed numbers put in, rounded half away from zero to
/// the digits it is shown with. The workbook's hidden step rounds each quantity the same way
/// (`ROUND`), so the PDF, answers.csv and the checks agree.
extension Exercise {
  /// `x` rounded to `decimals` places, half away from zero as a hand and a spreadsheet's `ROUND`
  /// do (a tie that binary cannot hold exactly, 0.3589165, still counts as a tie).
  public static func rounded(_ x: Double, decimals: Int) -> Double {
    guard x.isFinite else { return x }
    let scale = pow(10, Double(min(max(decimals, 0), 17)))
    let scaled = x * scale
    // Nudge by a few units in the last place so a decimal tie stored just below .5 rounds up.
    let nudged = scaled + (scaled >= 0 ? 1 : -1) * abs(scaled) * 4 * Double.ulpOfOne
    return nudged.rounded(.toNearestOrAwayFromZero) / scale
  }

  /// A computed quantity as the sheet shows it: `significantDigits` significant digits.
  public static func worked(_ x: Double) -> Double { rounded(x, decimals: decimals(x)) }

  /// A number in an arithmetic line as the sheet prints it: a short decimal in full (a given
  /// 0.123456), anything else with `significantDigits` significant digits (`compact`).
  public static func written(_ x: Double) -> String {
    let d = shortDecimals(x)
    guard showsExactly(x, decimals: d) else { return compact(x) }
    var s = format(x, decimals: d)
    if s.contains(".") {
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
  }

  /// The value of a printed arithmetic line, `0.15·0.05 + 0.2·0.1 + 0.35`, `σ(0.3775)`,
  /// `e^(0.2 − 0.5) / (e^(0.2 − 0.5) + e^(0.5 − 0.5))`, `(0.1·0.2 + 0.3·0.4) / √2`, as a student
  /// evaluates it: `+ − · / ^ ² √ ½`, parentheses, `σ( )`, `tanh( )`, `ln( )`, `exp( )`,
  /// `max( , )`, `e^`; ASCII or Unicode minus. Nil when the line is not arithmetic alone
  /// ("masked (key 3 > query 2)").
  public static func evaluate(_ line: String) -> Double? {
    var parser = LineParser(Array(line.replacingOccurrences(of: "−", with: "-").filter { !$0.isWhitespace }))
    guard let value = parser.sum(), parser.atEnd else { return nil }
    return value
  }
}

/// A recursive-descent reader of one arithmetic line (see `Exercise.evaluate`).
struct LineParser {
  let text: [Character]
  var at = 0

  init(_ text: [Character]) { self.text = text }

  var atEnd: Bool { at == text.count }
  var next: Character? { at < text.count ? text[at] : nil }

  mutating func take(_ c: Character) -> Bool {
    if next == c { at += 1; return true }
    return false
  }

  mutating func take(_ word: String) -> Bool {
    let w = Array(word)
    guard at + w.count <= text.count, Array(text[at..<at + w.count]) == w else { return false }
    at += w.count
    return true
  }

  /// term (± term)*
  mutating func sum() -> Double? {
    guard var total = product() else { return nil }
    while true {
      if take("+") { guard let t = product() else { return nil }; total += t }
      else if take("-") { guard let t = product() else { return nil }; total -= t }
      else { return total }
    }
  }

  /// factor ((· | × | / ) factor)*
  mutating func product() -> Double? {
    guard var total = unary() else { return nil }
    while true {
      if take("·") || take("×") || take("*") { guard let f = unary() else { return nil }; total *= f }
      else if take("/") { guard let f = unary() else { return nil }; total /= f }
      else { return total }
    }
  }

  /// −factor, or a power.
  mutating func unary() -> Double? {
    if take("-") { return unary().map { -$0 } }
    return power()
  }

  /// primary (^ unary | ²)*
  mutating func power() -> Double? {
    guard var base = primary() else { return nil }
    while true {
      if take("²") { base *= base }
      else if take("^") { guard let e = unary() else { return nil }; base = pow(base, e) }
      else { return base }
    }
  }

  /// A number, ½, (sum), √primary, e^…, or a function of its arguments.
  mutating func primary() -> Double? {
    if take("(") {
      guard let v = sum(), take(")") else { return nil }
      return v
    }
    if take("½") { return 0.5 }
    if take("√") { return power().map { $0.squareRoot() } }
    for (name, f) in [("σ", { (x: Double) in 1 / (1 + exp(-x)) }), ("tanh", tanh), ("ln", log), ("exp", exp)] as [(String, (Double) -> Double)] {
      let start = at
      if take(name) && take("(") {
        guard let v = sum(), take(")") else { return nil }
        return f(v)
      }
      at = start
    }
    let start = at
    if take("max") && take("(") {
      var values: [Double] = []
      repeat {
        guard let v = sum() else { return nil }
        values.append(v)
      } while take(",")
      guard take(")") else { return nil }
      return values.max()
    }
    at = start
    if take("e^") { return power().map { exp($0) } }  // e^(…) or e^2
    var digits = ""
    while let c = next, c.isASCII && (c.isNumber || c == ".") { digits.append(c); at += 1 }
    return digits.isEmpty ? nil : Double(digits)
  }
}
