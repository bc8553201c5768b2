import Foundation
import SheetNet

/// Writes a `Formula` in Excel's A1 syntax and evaluates it the way a spreadsheet does, given
/// where every entry sits (`StepWorkbook.blocks`) and the values of the cells it reads.
struct FormulaText {
  let blocks: [Block]
  let index: [String: Int]
  let sheetNames: [String]

  /// The block of an entry name, or a precise internal error.
  func block(_ name: String) throws(SheetNetError) -> Block {
    guard let i = index[name] else { throw .model("worksheet: a formula reads \(name), which the step did not record") }
    return blocks[i]
  }

  /// The cells of a range reference: sheet and rectangle.
  func rectangle(_ name: String, _ first: Int, _ last: Int) throws(SheetNetError) -> (sheet: Int, top: Int, left: Int, bottom: Int, right: Int) {
    let b = try block(name)
    guard try cuts(name, first, last).isEmpty else {
      throw .model("worksheet: a formula reads a range of \(name) across its bands without cutting it; report this as a SheetNet bug")
    }
    let (p, q) = (b.cell(first), b.cell(last))
    return (b.sheet, min(p.row, q.row), min(p.column, q.column), max(p.row, q.row), max(p.column, q.column))
  }

  /// Where a range of a block printed in bands (`Placement.perBand`) is cut: the first element
  /// of each band it enters after its first, as offsets from `first`; empty when it lies in one
  /// band (or its block is not cut). A range that crosses bands must be a run of one matrix row
  /// or one sample (first…last consecutive); anything else cannot be cut and is refused.
  func cuts(_ name: String, _ first: Int, _ last: Int) throws(SheetNetError) -> [Int] {
    let b = try block(name), p = b.placement
    guard p.bands > 1, p.bandOf(first) != p.bandOf(last) else { return [] }
    guard first / p.bandedLength == last / p.bandedLength else {
      throw .model("worksheet: a formula reads a range of \(name) across its bands that is not one row of a matrix or one sample; report this as a SheetNet bug")
    }
    return ((first + 1)...last).filter { p.bandOf($0) != p.bandOf($0 - 1) }.map { $0 - first }
  }

  /// `f` with every range that crosses the bands of a block cut into one range per band:
  /// SUMPRODUCT(a, b) over runs of equal length becomes the sum of the SUMPRODUCTs of their
  /// pieces (each argument cut at the same offsets, TRANSPOSE kept on each piece); SUM, MAX and
  /// AVERAGE take the pieces as more arguments. The same numbers, so the spreadsheet, the
  /// evaluator and the engine agree; unchanged when nothing crosses a band.
  func unbanded(_ f: Formula) throws(SheetNetError) -> Formula {
    switch f {
    case .number, .cell, .named: return f
    case .range(let name, let first, let last):
      guard try cuts(name, first, last).isEmpty else {
        throw .model("worksheet: a formula reads a range of \(name) across its bands where it cannot be cut; report this as a SheetNet bug")
      }
      return f
    case .add(let a, let b): return .add(try unbanded(a), try unbanded(b))
    case .sub(let a, let b): return .sub(try unbanded(a), try unbanded(b))
    case .mul(let a, let b): return .mul(try unbanded(a), try unbanded(b))
    case .div(let a, let b): return .div(try unbanded(a), try unbanded(b))
    case .pow(let a, let b): return .pow(try unbanded(a), try unbanded(b))
    case .neg(let a): return .neg(try unbanded(a))
    case .greater(let a, let b): return .greater(try unbanded(a), try unbanded(b))
    case .greaterOrEqual(let a, let b): return .greaterOrEqual(try unbanded(a), try unbanded(b))
    case .equal(let a, let b): return .equal(try unbanded(a), try unbanded(b))
    case .call(let name, let args):
      // A range argument, bare or under TRANSPOSE: (entry, first, last, transposed).
      func run(_ a: Formula) -> (String, Int, Int, Bool)? {
        if case .range(let e, let f, let l) = a { return (e, f, l, false) }
        if case .call("TRANSPOSE", let inner) = a, inner.count == 1, case .range(let e, let f, let l) = inner[0] { return (e, f, l, true) }
        return nil
      }
      var offsets = Set<Int>()
      for a in args { if let (e, f, l, _) = run(a) { offsets.formUnion(try cuts(e, f, l)) } }
      if offsets.isEmpty {
        var out: [Formula] = []
        for a in args { out.append(try unbanded(a)) }
        return .call(name, out)
      }
      /// The pieces of a run cut at `starts` (offsets of each piece's first element).
      func pieces(_ a: Formula, _ starts: [Int]) -> [Formula] {
        guard let (e, f, l, transposed) = run(a) else { return [a] }
        return starts.indices.map { p in
          let end = p + 1 < starts.count ? starts[p + 1] - 1 : l - f
          let r = Formula.range(e, f + starts[p], f + end)
          return transposed ? .call("TRANSPOSE", [r]) : r
        }
      }
      switch name {
      case "SUMPRODUCT":
        let lengths = Set(args.compactMap(run).map { $0.2 - $0.1 })
        guard args.allSatisfy({ run($0) != nil }), lengths.count == 1 else {
          throw .model("worksheet: a SUMPRODUCT across the bands of a matrix reads ranges of different lengths; report this as a SheetNet bug")
        }
        let cut = args.map { pieces($0, [0] + offsets.sorted()) }
        return .sum(cut[0].indices.map { p in .call(name, cut.map { $0[p] }) })
      case "SUM", "MAX", "AVERAGE":
        var out: [Formula] = []
        for a in args {
          guard let (e, f, l, _) = run(a) else { out.append(try unbanded(a)); continue }
          out += pieces(a, [0] + (try cuts(e, f, l)))
        }
        return .call(name, out)
      default:
        throw .model("worksheet: \(name) reads a range across the bands of a matrix; report this as a SheetNet bug")
      }
    }
  }

  /// The formula as text for a cell on sheet `sheet` (references to other sheets get a prefix).
  func text(_ f: Formula, on sheet: Int) throws(SheetNetError) -> String {
    var out = ""
    try write(f, on: sheet, into: &out, minimum: 0)
    return out
  }

  private func precedence(_ f: Formula) -> Int {
    switch f {
    case .greater, .greaterOrEqual, .equal: 0
    case .add, .sub: 1
    case .mul, .div: 2
    case .pow: 3
    default: 5
    }
  }

  private func prefix(_ target: Int, _ sheet: Int) -> String { target == sheet ? "" : A1.sheetPrefix(sheetNames[target]) }

  private func write(_ f: Formula, on sheet: Int, into out: inout String, minimum: Int) throws(SheetNetError) {
    let wrap = precedence(f) < minimum
    if wrap { out += "(" }
    switch f {
    case .number(let x): out += x < 0 || (x == 0 && x.sign == .minus) ? "(" + number(x) + ")" : number(x)
    case .cell(let name, let i):
      let b = try block(name)
      let (r, c) = b.cell(i)
      out += prefix(b.sheet, sheet) + A1.cell(r, c)
    case .range(let name, let first, let last):
      let r = try rectangle(name, first, last)
      out += prefix(r.sheet, sheet) + A1.cell(r.top, r.left)
      if r.top != r.bottom || r.left != r.right { out += ":" + A1.cell(r.bottom, r.right) }
    case .named(let name): out += name
    case .add(let a, let b): try binary(a, "+", b, 1, 2, sheet, &out)
    case .sub(let a, let b): try binary(a, "-", b, 1, 2, sheet, &out)
    case .mul(let a, let b): try binary(a, "*", b, 2, 3, sheet, &out)
    case .div(let a, let b): try binary(a, "/", b, 2, 3, sheet, &out)
    case .pow(let a, let b): try binary(a, "^", b, 4, 4, sheet, &out)
    case .greater(let a, let b): try binary(a, ">", b, 1, 1, sheet, &out)
    case .greaterOrEqual(let a, let b): try binary(a, ">=", b, 1, 1, sheet, &out)
    case .equal(let a, let b): try binary(a, "=", b, 1, 1, sheet, &out)
    case .neg(let a):
      out += "(-"
      try write(a, on: sheet, into: &out, minimum: 4)
      out += ")"
    case .call(let name, let args):
      out += name + "("
      for (k, a) in args.enumerated() {
        if k > 0 { out += "," }
        try write(a, on: sheet, into: &out, minimum: 0)
      }
      out += ")"
    }
    if wrap { out += ")" }
  }

  private func binary(_ a: Formula, _ op: String, _ b: Formula, _ left: Int, _ right: Int, _ sheet: Int, _ out: inout String) throws(SheetNetError) {
    try write(a, on: sheet, into: &out, minimum: left)
    out += op
    try write(b, on: sheet, into: &out, minimum: right)
  }

  /// A number as a formula or CSV writes it: the shortest text that reads back to the same Double.
  func number(_ x: Double) -> String { shortestNumber(x) }

  // MARK: Evaluation

  /// A value during evaluation: one number or a rectangle of numbers (rows of columns).
  enum Value {
    case scalar(Double)
    case array([[Double]])

    var elements: [Double] {
      switch self {
      case .scalar(let x): [x]
      case .array(let rows): rows.flatMap { $0 }
      }
    }
  }

  /// The value of `f`, reading cells through `value(sheet, row, column)` (empty cells read 0).
  func evaluate(_ f: Formula, _ value: (Int, Int, Int) -> Double) throws(SheetNetError) -> Value {
    func scalar(_ f: Formula) throws(SheetNetError) -> Double {
      switch try evaluate(f, value) {
      case .scalar(let x): return x
      case .array(let rows): return rows.first?.first ?? 0
      }
    }
    func map(_ v: Value, _ op: (Double) -> Double) -> Value {
      switch v {
      case .scalar(let x): .scalar(op(x))
      case .array(let rows): .array(rows.map { $0.map(op) })
      }
    }
    func zip2(_ a: Value, _ b: Value, _ op: (Double, Double) -> Double) throws(SheetNetError) -> Value {
      switch (a, b) {
      case (.scalar(let x), .scalar(let y)): return .scalar(op(x, y))
      case (.array(let r), .scalar(let y)): return .array(r.map { $0.map { op($0, y) } })
      case (.scalar(let x), .array(let r)): return .array(r.map { $0.map { op(x, $0) } })
      case (.array(let r), .array(let s)):
        guard r.count == s.count, r.first?.count == s.first?.count else { throw .model("worksheet: ranges of different sizes") }
        return .array(Swift.zip(r, s).map { Swift.zip($0, $1).map(op) })
      }
    }
    switch f {
    case .number(let x): return .scalar(x)
    case .cell(let name, let i):
      let b = try block(name)
      let (r, c) = b.cell(i)
      return .scalar(value(b.sheet, r, c))
    case .range(let name, let first, let last):
      let r = try rectangle(name, first, last)
      return .array((r.top...r.bottom).map { row in (r.left...r.right).map { value(r.sheet, row, $0) } })
    case .named(let name):
      throw .model("worksheet: the name \(name) has no value here")
    case .add(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value), +)
    case .sub(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value), -)
    case .mul(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value), *)
    case .div(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value), /)
    case .pow(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value)) { Foundation.pow($0, $1) }
    case .neg(let a): return map(try evaluate(a, value)) { -$0 }
    case .greater(let a, let b): return .scalar(try scalar(a) > scalar(b) ? 1 : 0)
    case .greaterOrEqual(let a, let b): return .scalar(try scalar(a) >= scalar(b) ? 1 : 0)
    case .equal(let a, let b): return try zip2(try evaluate(a, value), try evaluate(b, value)) { $0 == $1 ? 1 : 0 }  // element-wise on a range
    case .call(let name, let args):
      var values: [Value] = []
      for a in args where name != "IF" { values.append(try evaluate(a, value)) }
      switch name {
      case "SUM": return .scalar(values.reduce(0) { $0 + $1.elements.reduce(0, +) })
      case "AVERAGE":
        let all = values.flatMap(\.elements)
        return .scalar(all.reduce(0, +) / Double(all.count))
      case "MAX": return .scalar(values.flatMap(\.elements).max() ?? 0)
      case "SUMPRODUCT":
        var product = values[0]
        for v in values.dropFirst() { product = try zip2(product, v, *) }
        return .scalar(product.elements.reduce(0, +))
      case "EXP": return map(values[0], Foundation.exp)
      case "LN": return map(values[0], Foundation.log)
      case "SQRT": return map(values[0]) { $0.squareRoot() }
      case "TANH": return map(values[0], Foundation.tanh)
      case "ERF": return map(values[0], Foundation.erf)
      case "PI": return .scalar(Double.pi)
      case "ABS": return map(values[0], Swift.abs)
      case "TRANSPOSE":
        guard case .array(let rows) = values[0], let width = rows.first?.count else { return values[0] }
        return .array((0..<width).map { c in rows.map { $0[c] } })
      case "MATCH":
        let target = values[0].elements.first ?? 0
        return .scalar(Double((values[1].elements.firstIndex(of: target) ?? -1) + 1))
      case "IF": return try scalar(args[0]) != 0 ? evaluate(args[1], value) : evaluate(args[2], value)
      default: throw .model("worksheet: no evaluator for \(name)")
      }
    }
  }
}

/// The shortest decimal text that reads back to the same Double: `0.1`, `-0`, `3`, `1e-5`,
/// `1.5e+20` → `1.5e20`.
public func shortestNumber(_ x: Double) -> String {
  if x == 0 { return x.sign == .minus ? "-0" : "0" }
  if x == x.rounded(), Swift.abs(x) < 1e15 { return String(Int64(x)) }
  var text = "\(x)"
  if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
    var exponent = String(text[text.index(after: e)...])
    let negative = exponent.hasPrefix("-")
    exponent = String(exponent.drop { $0 == "-" || $0 == "+" || $0 == "0" })
    text = String(text[..<e]) + "e" + (negative ? "-" : "") + (exponent.isEmpty ? "0" : exponent)
  }
  return text
}
