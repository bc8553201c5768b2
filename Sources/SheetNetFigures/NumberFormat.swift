import Foundation

/// Numbers as figures print them, the same in every locale: a point for decimals, a true minus
/// sign (−, U+2212), halves rounded away from zero, and no "−0".
public enum NumberFormat {
  /// `x` with exactly `digits` decimals: fixed(−0.12345, 3) = "−0.123". Falls back to
  /// `scientific` beyond 10¹⁵.
  public static func fixed(_ x: Double, digits: Int) -> String {
    guard x.isFinite else { return x.isNaN ? "NaN" : (x < 0 ? "−∞" : "∞") }
    let d = max(0, min(digits, 15))
    let power = pow(10.0, Double(d))
    let scaled = (abs(x) * power).rounded(.toNearestOrAwayFromZero)
    guard scaled < 9e15 else { return scientific(x, significant: 3) }
    let n = UInt64(scaled)
    var body = String(n)
    if d > 0 {
      if body.count <= d { body = String(repeating: "0", count: d - body.count + 1) + body }
      body.insert(".", at: body.index(body.endIndex, offsetBy: -d))
    }
    return (x < 0 && n != 0 ? "−" : "") + body
  }

  /// `x` with `significant` significant digits, fixed-point between 10⁻³ and 10⁵ and
  /// `1.23×10⁻⁵` outside: significant(0.0012345) = "0.00123", significant(1234.5) = "1235".
  public static func significant(_ x: Double, _ significant: Int = 3) -> String {
    guard x.isFinite else { return fixed(x, digits: 0) }
    if x == 0 { return "0" }
    let magnitude = Int(floor(log10(abs(x))))
    if magnitude < -3 || magnitude >= 5 { return scientific(x, significant: significant) }
    // Rounding may carry into the next power of ten (9.996 → 10.0); recompute digits then.
    var digits = max(0, significant - 1 - magnitude)
    let power = pow(10.0, Double(digits))
    let rounded = (abs(x) * power).rounded(.toNearestOrAwayFromZero) / power
    if rounded >= pow(10.0, Double(magnitude + 1)) { digits = max(0, digits - 1) }
    return fixed(x, digits: digits)
  }

  /// The fewest digits (up to `significant`) that give `x` back at that precision:
  /// shortest(0.01) = "0.01", shortest(0.125) = "0.125", shortest(2) = "2".
  public static func shortest(_ x: Double, significant: Int = 4) -> String {
    var text = NumberFormat.significant(x, significant)
    guard text.contains("."), !text.contains("×") else { return text }
    while text.hasSuffix("0") { text.removeLast() }
    if text.hasSuffix(".") { text.removeLast() }
    return text
  }

  /// `m×10ᵉ` with `significant` digits in m: scientific(0.000012345, 3) = "1.23×10⁻⁵".
  public static func scientific(_ x: Double, significant: Int = 3) -> String {
    guard x.isFinite, x != 0 else { return x == 0 ? "0" : fixed(x, digits: 0) }
    var e = Int(floor(log10(abs(x))))
    var m = x / pow(10.0, Double(e))
    let d = max(0, significant - 1)
    if abs((m * pow(10.0, Double(d))).rounded(.toNearestOrAwayFromZero)) >= 10 * pow(10.0, Double(d)) {
      e += 1
      m /= 10
    }
    return fixed(m, digits: d) + "×10" + superscript(e)
  }

  /// A whole number with thousands separated by commas: 1797 → "1,797".
  public static func integer(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return (n < 0 ? "−" : "") + out
  }

  /// A fraction as a percentage: percent(0.9722, 1) = "97.2%".
  public static func percent(_ fraction: Double, digits: Int = 1) -> String { fixed(fraction * 100, digits: digits) + "%" }

  /// Tick labels for evenly spaced `values` `step` apart: just enough decimals to tell them apart.
  public static func ticks(_ values: [Double], step: Double) -> [String] {
    guard step > 0, step.isFinite else { return values.map { significant($0) } }
    let largest = values.map(abs).max() ?? 0
    if largest >= 1e5 || (largest > 0 && largest < 1e-3) { return values.map { $0 == 0 ? "0" : scientific($0, significant: 2) } }
    // The fewest decimals that write the step exactly (0.25 needs 2, 0.5 needs 1, 20 needs 0).
    var digits = 0
    while digits < 6 {
      let scaled = step * pow(10.0, Double(digits))
      if abs(scaled - scaled.rounded()) < 1e-6 * max(1, scaled) { break }
      digits += 1
    }
    return values.map { fixed($0, digits: digits) }
  }

  /// Superscript digits and sign: −5 → "⁻⁵".
  public static func superscript(_ n: Int) -> String {
    let digits: [Character] = ["⁰", "¹", "²", "³", "⁴", "⁵", "⁶", "⁷", "⁸", "⁹"]
    return (n < 0 ? "⁻" : "") + String(n.magnitude).map { String(digits[Int(String($0))!]) }.joined()
  }
}
