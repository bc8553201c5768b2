import Foundation
import SheetNet

/// The terminal view of a traced step: every scalar equation for small layers, statistics and
/// heatmaps for large ones, and any one unit's arithmetic in full on request.
public struct TraceText {
  /// Decimal places of every number (9, as Matt Mazur writes 0.593269992 and 0.000438568);
  /// numbers below 1e-4 or from 1e9 up use that many significant digits in scientific form.
  public var digits = 9
  /// Line width for wrapping long equations.
  public var width = 100
  /// ANSI colour (a terminal without NO_COLOR only).
  public var color = false
  /// Unicode block heatmaps; plain characters otherwise (in a pipe).
  public var unicode = false
  /// Entries with at most this many elements show every equation.
  public var equationLimit = 16
  /// Only this phase, or all.
  public var phase: Phase?
  /// Only this layer, or all.
  public var layer: String?

  /// Default view.
  public init() {}

  /// A number with `digits` decimal places, trailing zeros dropped, C locale.
  public func number(_ x: Double) -> String { TraceText.format(x, digits: digits) }

  /// `digits` decimal places without trailing zeros (0.3775, 0.082167041), scientific with
  /// `digits` significant digits below 1e-4 or from 1e9 up (1.2345e-07), a true minus sign.
  public static func format(_ x: Double, digits: Int) -> String {
    if x.isNaN { return "NaN" }
    if x.isInfinite { return x < 0 ? "−∞" : "∞" }
    if x == 0 { return "0" }
    let d = max(1, min(digits, 17))
    var s: String
    if abs(x) >= 1e-4 && abs(x) < 1e9 {
      s = String(format: "%.\(d)f", x)
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
      if s == "-0" || s == "0" { s = String(format: "%.\(d)g", x) }
    } else {
      s = String(format: "%.\(d)g", x)
    }
    return s.hasPrefix("-") ? "−" + s.dropFirst() : s
  }

  // MARK: Whole step

  /// For token data, each traced sample as its tokens (the characters behind the ids the entries
  /// show) and, under them, the token each position should predict (· where it does not count).
  func tokens(_ traced: TracedStep) -> [String] {
    let data = traced.run.split.train
    guard data.isTokens, let targets = data.explicitTargets else { return [] }
    let (t, vocabulary) = (data.x.columns, data.vocabulary)
    func shown(_ id: Double) -> String { id < 0 ? "·" : Terminal.escaped(Sequences.shown(id: id, vocabulary)) }
    var lines = ["tokens (ids \(vocabulary.count == 1 ? "0" : "0…\(vocabulary.count - 1)") are " + vocabulary.prefix(40).map { Terminal.escaped(Sequences.shown($0)) }.joined(separator: " ")
                 + (vocabulary.count > 40 ? " …" : "") + "):"]
    for n in traced.samples.prefix(8) {
      lines.append("  sample \(n + 1)  x: " + (0..<t).map { shown(data.x.data[n * t + $0]) }.joined(separator: " "))
      lines.append(String(repeating: " ", count: "  sample \(n + 1)".count) + "  t: " + (0..<t).map { shown(targets.data[n * t + $0]) }.joined(separator: " "))
    }
    if traced.samples.count > 8 { lines.append("  … \(traced.samples.count - 8) more samples") }
    return lines
  }

  /// Each traced sample's input tokens as shown (one short label a position), for the rows of
  /// token heat maps; empty for other data.
  func tokenLabels(_ traced: TracedStep) -> [[String]] {
    let data = traced.run.split.train
    guard data.isTokens else { return [] }
    let t = data.x.columns
    return traced.samples.map { n in (0..<t).map { Terminal.escaped(Sequences.shown(id: data.x.data[n * t + $0], data.vocabulary)) } }
  }

  /// The whole step as text.
  public func render(_ traced: TracedStep) -> String {
    var out: [String] = []
    let run = traced.run
    let who = traced.samples.count == 1 ? "sample \(traced.samples[0] + 1)" : "\(traced.samples.count) samples"
    out.append(bold("Trace of \(Terminal.escaped(run.lesson.name)), step \(traced.step) (epoch \(traced.epoch), step \(traced.stepInEpoch) of the epoch), \(who) of the training split, seed \(run.seed)"))
    let hyper = run.optimizer.options.compactMap { (key, value) -> String? in
      switch value {
      case .number(let x): return x == 0 && key != "learning_rate" ? nil : "\(key) \(number(x))"
      case .bool(let b): return b ? key : nil
      default: return nil
      }
    }
    out += wrap("loss \(run.loss.kind) · optimizer \(run.optimizer.kind) (\(hyper.joined(separator: ", "))) · η is the learning rate", indent: "")
    out += tokens(traced)
    var current: Phase? = nil
    let labels = tokenLabels(traced)
    for entry in traced.entries(phase: phase, layer: layer) {
      if entry.phase != current {
        current = entry.phase
        out.append("")
        out.append(bold("── \(entry.phase.rawValue) " + String(repeating: "─", count: max(4, min(width, 80) - entry.phase.rawValue.count - 4))))
      }
      let attention = traced.run.model.layer(named: entry.layer) as? SelfAttention
      out += render(entry, tokens: labels, heads: attention != nil)
      if let attention { out += workedRow(entry, attention, tokens: labels.first ?? []) }
    }
    let frozen = traced.frozen
    if !frozen.isEmpty && (phase == nil || phase == .update) && (layer == nil || frozen.contains { $0.hasPrefix(layer! + ".") }) {
      let names = frozen.filter { layer == nil || $0.hasPrefix(layer! + ".") }
      out += wrap("frozen (trainable: false, not updated; they keep their values): \(names.joined(separator: ", "))", indent: "")
    }
    if let bad = traced.tracer.firstNonFinite {
      out.append("")
      out.append(bold("First non-finite number: \(bad.name) (\(bad.formula)) holds NaN or ∞; lower the learning rate or scale the inputs."))
    }
    if let check = traced.check { out.append(""); out += checkTable(check) }
    return out.joined(separator: "\n") + "\n"
  }

  /// One entry: its heading, then equations, values, or statistics and a heatmap. `tokens` (each
  /// traced sample's tokens) label the rows of token maps; `heads` names an attention layer's
  /// [N, h, T, ·] planes heads.
  public func render(_ entry: TraceEntry, tokens: [[String]] = [], heads: Bool = false) -> [String] {
    var out = [heading(entry)]
    let v = entry.value
    let batched = isBatched(entry)
    // Equations are written out when there are few and each is short (at most 24 numbers).
    let short = v.count <= equationLimit && (entry.explain.map { $0(0).args.count <= 24 } ?? false)
    if short, let explain = entry.explain {
      for i in 0..<v.count { out += wrap(equation(explain(i)), indent: "    ") }
    } else if v.count <= equationLimit {
      let items = (0..<v.count).map { "\(elementLabel(entry.symbol, v.shape, $0, batch: batched)) = \(number(v.data[$0]))" }
      out += columns(items, indent: "    ")
      if entry.explain != nil { out.append("    (each is a long sum: expand one with --unit \(entry.layer):INDEX)") }
    } else {
      let s = v.stats
      out.append("    min \(number(s.min))   mean \(number(s.mean))   max \(number(s.max))   ‖·‖₂ \(number(v.norm))")
      out += heatmap(v, batched: batched, tokens: batched ? tokens : [], heads: heads).map { "    " + $0 }
      if entry.explain != nil { out.append("    (expand one element with --unit \(entry.layer):INDEX)") }
    }
    return out
  }

  /// Whether the value carries the batch first (activations and their gradients do; parameters,
  /// their gradients, updates and optimizer state do not), as the layer that recorded it says.
  func isBatched(_ e: TraceEntry) -> Bool { e.batched && e.value.rank >= 2 }

  /// An attention layer's arithmetic for one query, written out under its map: head 1's row of the
  /// last token of sample 1 (the query that sees every key, masked or not) in s, A, o, dA and dS,
  /// and that token's head-1 columns of q, k, v, dq, dk and dv. Rows of more than 16 keys or
  /// columns are left to `--unit`.
  func workedRow(_ entry: TraceEntry, _ layer: SelfAttention, tokens: [String]) -> [String] {
    let v = entry.value
    guard isBatched(entry), let explain = entry.explain, v.count > equationLimit, v.rank == 3 || v.rank == 4 else { return [] }
    let t = v.shape[v.rank == 4 ? 2 : 1], row = v.shape[v.rank - 1]
    guard t >= 1 else { return [] }
    let query = t - 1, token = query < tokens.count ? " ‘\(tokens[query])’" : ""
    let first: Int, count: Int
    if v.rank == 4 {  // [N, h, T, T or dₖ]: head 1, query T
      (first, count) = (query * row, row)
    } else {  // [N, T, h·dₖ or d]: token T, head 1's columns (q, k, v and their gradients), else all
      let perHead = ["q", "k", "v", "dq", "dk", "dv"].contains(entry.symbol) ? layer.headSize ?? row : row
      (first, count) = (query * row, min(perHead, row))
    }
    guard count <= 16 else { return ["    (too long to write out here: expand one row with --unit \(entry.layer):INDEX)"] }
    let what = v.rank == 4 ? "head 1, query \(t)\(token), every key" : "token \(t)\(token)" + (count < row ? ", head 1's \(count) columns" : "")
    var out = ["    worked out for \(what):"]
    for i in first..<(first + count) { out += wrap(equation(explain(i)), indent: "      ") }
    return out
  }

  func heading(_ e: TraceEntry) -> String {
    let name = color ? "\u{1B}[36m\(e.name)\u{1B}[0m" : e.name
    return "\(name)  \(e.formula)  [\(shapeText(e.value.shape))]"
  }

  /// `lhs = expression = result`.
  public func equation(_ a: Arithmetic) -> String {
    let rhs = a.expression(number)
    let plain = rhs == number(a.result) || a.template == "{0}"
    return plain ? "\(a.lhs) = \(number(a.result))" : "\(a.lhs) = \(rhs) = \(number(a.result))"
  }

  func bold(_ s: String) -> String { color ? "\u{1B}[1m\(s)\u{1B}[0m" : s }

  /// Items separated by three spaces, as many to a line as fit `width`.
  func columns(_ items: [String], indent: String) -> [String] {
    var lines: [String] = []
    var current = indent
    for item in items {
      if current.count > indent.count && current.count + 3 + item.count > max(width, 40) {
        lines.append(current)
        current = indent
      }
      current += (current.count > indent.count ? "   " : "") + item
    }
    lines.append(current)
    return lines
  }

  /// Breaks a long line at spaces (after " + " where possible) to fit `width`.
  public func wrap(_ line: String, indent: String) -> [String] {
    var lines: [String] = []
    var current = indent
    let limit = max(width, 40)
    for word in line.split(separator: " ", omittingEmptySubsequences: false) {
      let piece = String(word)
      if current.count + piece.count + 1 > limit && current.count > indent.count + 4 {
        lines.append(current)
        current = indent + "    "
      }
      current += (current.hasSuffix(" ") || current == indent ? "" : " ") + piece
    }
    lines.append(current)
    return lines.map { $0.replacingOccurrences(of: "\\s+$", with: "", options: .regularExpression) }
  }

  // MARK: Heatmaps

  /// The value as 2-D maps: [N, C, H, W] shows the first sample's channels (up to 8), [N, T, d]
  /// each sample's tokens (up to 8 samples), [R, C] the matrix itself (up to 64 rows), [N, F]
  /// the first rows. Colour on a terminal, blocks or plain
  /// characters otherwise; each map is scaled to its own range, written beneath it.
  ///
  /// `tokens` (each sample's tokens) label the rows of a token map, [N, T, d] or an attention
  /// layer's [N, h, T, ·] (`heads`: its planes are heads, each row a query token).
  public func heatmap(_ t: Tensor, batched: Bool = true, tokens: [[String]] = [], heads: Bool = false) -> [String] {
    var maps: [(title: String, rows: Int, cols: Int, values: [Double], labels: [String])] = []
    if t.rank == 4 {
      let (c, h, w) = (t.shape[1], t.shape[2], t.shape[3])
      let planes = batched ? min(c, 8) : min(t.shape[0] * c, 16)
      let labels = heads && tokens.first?.count == h ? tokens[0] : []
      for p in 0..<planes {
        let title = batched ? "sample 1, \(heads ? "head" : "channel") \(p + 1)" : (c == 1 ? "filter \(p + 1)" : "filter \(p / c + 1), channel \(p % c + 1)")
        maps.append((title, h, w, Array(t.data[p * h * w ..< (p + 1) * h * w]), labels))
      }
    } else if t.rank == 3 {
      // Tokens [N, T, d]: each sample's T × d grid (up to 8 samples, 64 tokens), a row per token.
      let (r, c) = (t.shape[1], t.shape[2])
      guard c <= max(width - 8, 16) else { return ["(too wide for a heatmap: \(c) columns)"] }
      for p in 0..<min(t.shape[0], 8) {
        let rows = min(r, 64)
        let title = (batched ? "sample \(p + 1)" : "slice \(p + 1)") + (rows < r ? ", rows 1…\(rows) of \(r)" : "")
        let labels = p < tokens.count && tokens[p].count == r ? Array(tokens[p].prefix(rows)) : []
        maps.append((title, rows, c, Array(t.data[p * r * c ..< p * r * c + rows * c]), labels))
      }
    } else if t.rank >= 2 {
      let rows = min(t.rows, 64), cols = t.columns
      guard cols <= max(width - 8, 16) else { return ["(too wide for a heatmap: \(cols) columns)"] }
      maps.append(("rows 1…\(rows) of \(t.rows)", rows, cols, Array(t.data[0..<(rows * cols)]), []))
    } else {
      return []
    }
    var out: [String] = []
    let widest = maps.map(\.cols).max() ?? 1
    // A token's label before its row: the widest label, then a space.
    let labelWidth = maps.flatMap(\.labels).map(\.count).max().map { $0 + 1 } ?? 0
    // Two characters a cell (square-looking) when that fits the line, one otherwise.
    let cellWidth = (color || unicode) && widest * 2 <= width - 8 - labelWidth ? 2 : 1
    let perRow = max(1, (width - 4) / (widest * cellWidth + 3 + labelWidth))
    for start in stride(from: 0, to: maps.count, by: perRow) {
      let group = Array(maps[start..<min(start + perRow, maps.count)])
      let height = group.map(\.rows).max() ?? 0
      for r in 0..<height {
        var line = ""
        for m in group {
          var cells = labelWidth == 0 ? "" : (r < m.labels.count ? m.labels[r] : "").padding(toLength: labelWidth, withPad: " ", startingAt: 0)
          let lo = m.values.min() ?? 0, hi = m.values.max() ?? 0
          for c in 0..<m.cols {
            cells += r < m.rows ? cell(m.values[r * m.cols + c], lo: lo, hi: hi, width: cellWidth) : String(repeating: " ", count: cellWidth)
          }
          line += cells + "   "
        }
        out.append(line)
      }
      out += columns(group.map { "\($0.title): \(TraceText.format($0.values.min() ?? 0, digits: 3)) … \(TraceText.format($0.values.max() ?? 0, digits: 3))" }, indent: "")
    }
    return out
  }

  func cell(_ v: Double, lo: Double, hi: Double, width: Int) -> String {
    let signed = lo < 0 && hi > 0
    let span = signed ? max(-lo, hi) : hi - lo
    let f = span > 0 ? (signed ? v / span : (v - lo) / span) : 0  // [−1, 1] or [0, 1]
    if color {
      let rgb: (Int, Int, Int)
      if signed {
        let m = min(1, abs(f))
        rgb = f >= 0 ? (255, Int(255 * (1 - m)), Int(255 * (1 - m))) : (Int(255 * (1 - m)), Int(255 * (1 - m)), 255)
      } else {
        let g = Int(40 + 215 * f)
        rgb = (g, g, g)
      }
      return "\u{1B}[48;2;\(rgb.0);\(rgb.1);\(rgb.2)m\(String(repeating: " ", count: width))\u{1B}[0m"
    }
    if unicode && !signed {
      let shades = [" ", "░", "▒", "▓", "█"]
      let k = min(4, Int(abs(f) * 4.999))
      return String(repeating: shades[k], count: width)
    }
    let ramp = Array(" .:-=+*#%@")
    if signed {
      // Without colour the sign needs its own glyphs: = strongly and - mildly negative, + and # positive.
      let glyph = f < -0.05 ? (f < -0.5 ? "=" : "-") : (f > 0.05 ? (f > 0.5 ? "#" : "+") : ".")
      return String(repeating: glyph, count: width)
    }
    return String(ramp[min(9, Int(f * 9.999))])
  }

  // MARK: One unit

  /// Every equation of one unit: `index` is a per-sample multi-index (1-based), `sample` 1-based.
  /// For a convolution output cell: the window, the kernel, the products, the bias and the sum.
  public func unit(_ traced: TracedStep, layer: String, index: [Int], sample: Int = 1) throws(SheetNetError) -> String {
    guard let l = traced.run.model.layer(named: layer) else {
      let names = traced.run.model.layers.map(\.name)
      throw .lesson("no layer named '\(layer)'\(didYouMean(layer, in: names)); layers: \(names.joined(separator: ", "))")
    }
    let entries = traced.tracer.entries.filter { $0.layer == layer && $0.explain != nil }
    var out: [String] = []
    var shown = 0
    for e in entries {
      let perSample = Array(e.value.shape.dropFirst())
      let batched = isBatched(e)
      let shape = batched ? perSample : e.value.shape
      guard index.count == shape.count, zip(index, shape).allSatisfy({ $0 >= 1 && $0 <= $1 }) else { continue }
      guard !batched || (sample >= 1 && sample <= e.value.rows) else { continue }
      var flat = 0
      for (i, n) in zip(index, shape) { flat = flat * n + (i - 1) }
      if batched { flat += (sample - 1) * shape.reduce(1, *) }
      let a = e.explain!(flat)
      out.append(heading(e))
      if let conv = l as? Conv2D, e.symbol == "z" {
        out += convCell(conv, a)
      } else {
        out += wrap(equation(a), indent: "    ")
      }
      shown += 1
    }
    guard shown > 0 else {
      let shapes = Set(entries.map { shapeText(Array($0.value.shape.dropFirst())) }).sorted()
      throw .lesson("--unit \(layer):\(index.map(String.init).joined(separator: ",")) fits no value of \(layer) (shapes per sample: \(shapes.joined(separator: ", "))); give 1-based indices, e.g. \(layer):1")
    }
    return out.joined(separator: "\n") + "\n"
  }

  /// A convolution cell laid out as grids: per input channel the window and the kernel, then the
  /// products, the bias and the sum (which is the forward value).
  func convCell(_ conv: Conv2D, _ a: Arithmetic) -> [String] {
    let kh = conv.kernel.height, kw = conv.kernel.width
    let channels = (a.args.count - (conv.useBias ? 1 : 0)) / (2 * kh * kw)
    var out = ["    \(a.lhs): kernel \(kh)×\(kw), stride \(conv.stride.height)×\(conv.stride.width), padding \(conv.padding.rawValue) (0 outside the image)"]
    let cellDigits = min(digits, 6)
    func grid(_ values: [Double]) -> [String] {
      let texts = values.map { TraceText.format($0, digits: cellDigits) }
      let w = texts.map(\.count).max() ?? 1
      return (0..<kh).map { r in (0..<kw).map { String(repeating: " ", count: w - texts[r * kw + $0].count) + texts[r * kw + $0] }.joined(separator: " ") }
    }
    var productTerms: [String] = []
    for c in 0..<channels {
      let base = c * 2 * kh * kw
      let window = (0..<kh * kw).map { a.args[base + 2 * $0] }
      let kernel = (0..<kh * kw).map { a.args[base + 2 * $0 + 1] }
      let products = (0..<kh * kw).map { window[$0] * kernel[$0] }
      let (g1, g2, g3) = (grid(window), grid(kernel), grid(products))
      let w1 = g1.map(\.count).max() ?? 0, w2 = g2.map(\.count).max() ?? 0
      out.append("    channel \(c + 1):  " + "window x".padding(toLength: w1, withPad: " ", startingAt: 0) + "   "
        + "kernel W".padding(toLength: w2, withPad: " ", startingAt: 0) + "   products x·W")
      for r in 0..<kh {
        out.append("                " + g1[r].padding(toLength: w1, withPad: " ", startingAt: 0) + "   "
          + g2[r].padding(toLength: w2, withPad: " ", startingAt: 0) + "   " + g3[r])
      }
      productTerms += (0..<kh * kw).map { "\(number(window[$0]))·\(number(kernel[$0]))" }
    }
    let bias = conv.useBias ? a.args.last! : nil
    out.append("    sum of the \(productTerms.count) products" + (bias.map { " + bias \(number($0))" } ?? "") + ":")
    out += wrap("\(a.lhs) = \(a.expression(number)) = \(number(a.result))", indent: "    ")
    return out
  }

  // MARK: Gradient check

  /// For each parameter tensor: largest |analytic| and |numeric| and their relative error.
  public func checkTable(_ results: [GradientCheck.Result]) -> [String] {
    var out = [bold("Gradient check (central differences, h = 1e-5, on this step's batch before the update)"),
               "  parameter          elements   analytic ∂L/∂θ₁      numeric          max relative error"]
    for r in results {
      let name = r.name.padding(toLength: 18, withPad: " ", startingAt: 0)
      let n = String(r.analytic.count).padding(toLength: 9, withPad: " ", startingAt: 0)
      let a = number(r.analytic.data.first ?? 0).padding(toLength: 20, withPad: " ", startingAt: 0)
      let m = number(r.numeric.data.first ?? 0).padding(toLength: 16, withPad: " ", startingAt: 0)
      let verdict = r.relativeError <= 1e-6 ? "ok" : "CHECK"
      let kinks = r.kinks > 0 ? "  (\(r.kinks) at a kink, left out)" : ""
      let error = r.kinks == r.analytic.count ? "—       " : String(format: "%.2e", r.relativeError)
      out.append("  \(name) \(n) \(a) \(m) \(error)  \(r.kinks == r.analytic.count ? "  " : verdict)\(kinks)")
    }
    if results.contains(where: { $0.kinks > 0 }) {
      out.append("  A kink: moving the parameter by ±h switches a ReLU (its input is 0 or crosses 0) or a max-pool")
      out.append("  winner; the loss has no derivative there (SheetNet takes ReLU′(0) = 0), so differences cannot check it.")
    }
    return out
  }
}
