/// The part of a training step a trace entry belongs to, in the order a step runs.
public enum Phase: String, Sendable, Codable, CaseIterable {
  /// z = W·x + b, a = f(z): values from the input to the output.
  case forward
  /// L and its first gradient (∂L/∂z fused with softmax or sigmoid, else ∂L/∂y).
  case loss
  /// δ, dW, db, dx: gradients from the loss back to the input.
  case backward
  /// θ′ = θ − η·g and the optimizer's state.
  case update
}

/// One scalar's arithmetic with the real numbers plugged in.
///
/// `template` holds `{0}`, `{1}`, … where the numbers `args` go, so a renderer chooses the digits:
/// lhs `z₁`, template `{0}·{1} + {2}·{3} + {4}` renders as `z₁ = 0.15·0.05 + 0.2·0.1 + 0.35 = 0.3775`.
public struct Arithmetic: Sendable, Equatable, Codable {
  /// The scalar being computed, e.g. `z₁`, `a[2,3]`, `W₁₂`.
  public var lhs: String
  /// The right-hand side with numbered holes.
  public var template: String
  /// The numbers for the holes, in order.
  public var args: [Double]
  /// The value the engine computed (not recomputed from the text).
  public var result: Double

  /// An equation `lhs = template(args) = result`.
  public init(lhs: String, template: String, args: [Double], result: Double) {
    self.lhs = lhs
    self.template = template
    self.args = args
    self.result = result
  }

  /// `lhs = a₁·b₁ + a₂·b₂ + … + t₁ + … = result`: the products in order, then the terms; the
  /// right-hand side reads 0 when there is nothing to add.
  public init(lhs: String, products: [(Double, Double)], plus terms: [Double] = [], result: Double) {
    var parts: [String] = [], args: [Double] = []
    for (a, b) in products {
      parts.append("{\(args.count)}·{\(args.count + 1)}")
      args += [a, b]
    }
    for t in terms {
      parts.append("{\(args.count)}")
      args.append(t)
    }
    self.init(lhs: lhs, template: parts.isEmpty ? "0" : parts.joined(separator: " + "), args: args, result: result)
  }

  /// The template with each hole replaced by `format(arg)`; a negative number that follows an
  /// operator is put in parentheses: `0.14·0.4 + (−0.038)·0.5`.
  public func expression(_ format: (Double) -> String) -> String {
    var out = ""
    var i = template.startIndex
    while i < template.endIndex {
      if template[i] == "{", let close = template[i...].firstIndex(of: "}"),
        let n = Int(template[template.index(after: i)..<close]), n < args.count
      {
        let text = format(args[n])
        let previous = out.last { $0 != " " }
        let afterOperator = previous.map { "·+−-/×^".contains($0) } ?? false
        out += afterOperator && (text.hasPrefix("−") || text.hasPrefix("-")) ? "(\(text))" : text
        i = template.index(after: close)
      } else {
        out.append(template[i])
        i = template.index(after: i)
      }
    }
    return out
  }
}

/// One named value of a traced step: what it is, how it is computed, and its numbers.
public struct TraceEntry: Sendable {
  /// Unique, ordered name: `dense1.forward.z`, `dense1.backward.dW`, `dense1.update.W`.
  public var name: String
  /// The layer (`dense1`), or `loss`.
  public var layer: String
  /// Which part of the step.
  public var phase: Phase
  /// The course symbol: `z`, `a`, `δ`, `dW`, `W`, `v`.
  public var symbol: String
  /// The formula in course notation, e.g. `z = x·Wᵀ + b`.
  public var formula: String
  /// The values (batch first where the value has a batch).
  public var value: Tensor
  /// Whether the first axis of `value` is the batch (activations, gradients of activations,
  /// targets) rather than part of a parameter or statistic (W, dW, μ, the loss).
  public var batched: Bool
  /// Writes out the arithmetic of element `i` (flat index), when the layer can.
  public var explain: (@Sendable (Int) -> Arithmetic)?

  /// A trace entry.
  public init(
    name: String, layer: String, phase: Phase, symbol: String, formula: String, value: Tensor, batched: Bool = true,
    explain: (@Sendable (Int) -> Arithmetic)? = nil
  ) {
    self.name = name
    self.batched = batched
    self.layer = layer
    self.phase = phase
    self.symbol = symbol
    self.formula = formula
    self.value = value
    self.explain = explain
  }
}

/// Collects the entries of one step in the order the engine computes them.
///
/// Layers call `record` from the same code that trains; with no tracer attached (`step.tracer`
/// nil) nothing is built, so an untraced step costs one branch per layer.
public final class Tracer {
  /// Entries in the order they were computed.
  public private(set) var entries: [TraceEntry] = []

  /// An empty tracer.
  public init() {}

  /// Appends `layer.phase.key` (`loss.key` for the loss) with its formula and values.
  /// `batched` says whether the value's first axis is the batch (default: yes, except in the
  /// update phase, whose entries are parameters and optimizer state).
  public func record(
    _ layer: String, _ phase: Phase, _ key: String, batched: Bool? = nil, symbol: String? = nil, formula: String,
    _ value: Tensor, explain: (@Sendable (Int) -> Arithmetic)? = nil
  ) {
    entries.append(
      TraceEntry(
        name: Tracer.name(layer, phase, key), layer: layer, phase: phase, symbol: symbol ?? key,
        formula: formula, value: value, batched: batched ?? (phase != .update), explain: explain))
  }

  /// The entry name of `key` recorded by `layer` in `phase`: `dense1.forward.z`, `loss.L`.
  public static func name(_ layer: String, _ phase: Phase, _ key: String) -> String {
    layer == phase.rawValue ? "\(layer).\(key)" : "\(layer).\(phase.rawValue).\(key)"
  }

  /// The key of an entry name recorded by `layer` in `phase` (`dense1.forward.z` → `z`).
  public static func key(of name: String, layer: String, phase: Phase) -> String {
    let prefix = layer == phase.rawValue ? "\(layer)." : "\(layer).\(phase.rawValue)."
    return name.hasPrefix(prefix) ? String(name.dropFirst(prefix.count)) : name
  }

  /// The entry with this exact name, if recorded.
  public func entry(_ name: String) -> TraceEntry? { entries.first { $0.name == name } }

  /// The first entry holding a NaN or an infinity: where a step first went wrong.
  public var firstNonFinite: TraceEntry? { entries.first { !$0.value.isFinite } }
}

/// Subscript digits for unit labels: 12 → "₁₂".
public func subscripted(_ n: Int) -> String {
  let digits: [Character] = ["₀", "₁", "₂", "₃", "₄", "₅", "₆", "₇", "₈", "₉"]
  return String(String(n).map { $0 == "-" ? "₋" : digits[Int(String($0))!] })
}

/// The label of element `i` of a value of `shape` for a course reader, 1-based.
///
/// With `batch` (values that carry a batch first) a batch of one drops the sample index (`z₂`),
/// otherwise `z[3,2]` (sample 3, unit 2). Parameters (`batch: false`) keep every index: `W₂,₁`.
public func elementLabel(_ symbol: String, _ shape: [Int], _ i: Int, batch: Bool = true) -> String {
  var index: [Int] = []
  var rest = i
  for n in shape.reversed() {
    index.append(rest % max(n, 1))
    rest /= max(n, 1)
  }
  index.reverse()
  if batch && shape.count >= 2 && shape[0] == 1 { index.removeFirst() }
  if index.isEmpty { return symbol }
  if index.count <= 2 {
    return symbol + index.map { subscripted($0 + 1) }.joined(separator: ",")
  }
  return symbol + "[" + index.map { String($0 + 1) }.joined(separator: ",") + "]"
}
