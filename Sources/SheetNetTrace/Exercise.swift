import Foundation
import SheetNet

/// Which quantities of an exercise sheet are left blank for the student.
public enum ExerciseBlank: Sendable, Equatable {
  /// The default mix: the first layer's z₁ and the a₁ after it, the output δ₁, the first layer's
  /// ∂L/∂W₁,₁ and its new W₁,₁ (the issue's "a neuron's z and a, a δ, a dW, a new weight").
  case mix
  /// Neuron 1 of every layer in the forward pass (each z₁ and a₁), and the loss.
  case forward
  /// Element 1 of every gradient: the loss's ∂L/∂y (or fused ∂L/∂z), each δ₁, ∂L/∂W₁,₁, ∂L/∂b₁, ∂L/∂x₁.
  case backward
  /// Every new weight and every optimizer state of the update.
  case update
  /// These element names, as the exercise names them (`hidden.forward.z[1]`, `loss.L`); `:` in
  /// place of an index stands for every index along that axis (`attention1.forward.A[1,3,:]`,
  /// the weights of query 3 over every key).
  case cells([String])

  /// What a blank choice may be, for messages.
  public static let usage = "mix, forward, backward, update, or quantity names separated by commas such as hidden.forward.z[1] (':' for a whole axis, as in attention1.forward.A[1,3,:])"

  /// `forward`, `backward`, `update`, `mix`, or names separated by commas (a comma inside an
  /// index's brackets is part of the name); nil when a name is empty or longer than 200 characters.
  public init?(_ text: String) {
    switch text.trimmingCharacters(in: .whitespaces) {
    case "mix": self = .mix
    case "forward": self = .forward
    case "backward": self = .backward
    case "update": self = .update
    default:
      // Commas inside brackets belong to an index: output.update.W[2,1],loss.L is two names.
      var names: [String] = [], current = "", depth = 0
      for c in text {
        if c == "[" { depth += 1 } else if c == "]" { depth -= 1 }
        if c == "," && depth <= 0 { names.append(current.trimmingCharacters(in: .whitespaces)); current = "" } else { current.append(c) }
      }
      names.append(current.trimmingCharacters(in: .whitespaces))
      guard !names.isEmpty, names.allSatisfy({ !$0.isEmpty && $0.count <= 200 }) else { return nil }
      self = .cells(names)
    }
  }
}

/// The part of the step an exercise works on: by default the whole step, the usual numbers
/// given (the input, the weights and optimizer state before the step, the targets); with a
/// focus, only the focused entries are the sheet's quantities and only the `given` entries its
/// given numbers, so one piece of a larger network (a row of attention) fits a page.
public struct ExerciseFocus: Sendable, Equatable {
  /// The trace entries whose elements are the sheet's quantities, shown in step order (empty:
  /// every quantity of the step).
  public var entries: [String]
  /// The trace entries shown as given numbers instead of the usual ones (empty: the usual).
  public var given: [String]

  /// A focus on `entries` with `given` given; both empty: the whole step.
  public init(entries: [String] = [], given: [String] = []) {
    self.entries = entries
    self.given = given
  }

  /// Entry names separated by commas (spaces around them ignored); nil when one is empty or
  /// longer than 200 characters.
  public static func names(_ text: String) -> [String]? {
    let names = text.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) }
    return names.allSatisfy({ !$0.isEmpty && $0.count <= 200 }) ? names : nil
  }
}

/// One number of an exercise sheet: a given (input, target, weight before the step, optimizer
/// state before it) or a quantity of the step (z, a, L, δ, dW, new W), blank or filled.
public struct ExerciseRow: Sendable {
  /// The element's name: the trace entry and its 1-based index, `hidden.forward.z[1]`,
  /// `output.update.W[2,1]`; a scalar is the entry alone, `loss.L`.
  public var name: String
  /// The trace entry (`hidden.forward.z`) and the element's flat index in it.
  public var entry: String, element: Int
  /// The layer (`hidden`, `loss`, `input`) and the part of the step.
  public var layer: String, phase: Phase
  /// The course label: `z₁`, `∂L/∂W₁,₂`, `W₂,₁`.
  public var label: String
  /// The entry's formula in course notation, e.g. `zⱼ = Σᵢ Wⱼᵢ·xᵢ + bⱼ`.
  public var formula: String
  /// The element's arithmetic with the real numbers (nil for a given or a copied value).
  public var arithmetic: Arithmetic?
  /// The engine's number.
  public var value: Double
  /// The number as the sheet works it (the key's answer): a given as printed; a quantity its
  /// arithmetic line evaluated from the printed numbers above it, rounded to `decimals` places.
  /// It differs from `value` by less than a unit of the last shown digit or so.
  public var worked: Double
  /// Decimals the sheet shows (and a blank asks for).
  public var decimals: Int
  /// Whether the student fills it in.
  public var blank: Bool

  /// The worked value as the sheet shows it: `decimals` places, ASCII minus, no negative zero.
  public var shown: String { Exercise.format(worked, decimals: decimals) }
  /// Half a unit of the last shown digit: the largest distance from the answer the check accepts.
  public var tolerance: Double { 0.5 * pow(10, -Double(decimals)) }
}

/// A hand-calculation exercise made from one real training step: the network's inputs, weights
/// and hyperparameters given, every quantity of the step in order, some left blank.
///
/// The step is the lesson's first training step on the first sample of its training split
/// (one sample, so every number fits a page). Without a seed the lesson's own numbers are used;
/// with one, the inputs become one-decimal numbers in [−1, 1] and every weight and bias a
/// two-decimal number in [−0.99, 0.99], drawn from `SeededGenerator(seed:)`, so the arithmetic
/// can be done by hand; the network's shape, targets, loss and optimizer stay the lesson's.
/// The step is the engine's (traced with `TracedStep`); the numbers shown are worked from the
/// printed digits (see `Exercise+Worked`), so hand arithmetic reproduces every printed line.
public final class Exercise {
  /// The most numbers (givens and quantities) a sheet holds: about two printed pages.
  public static let valueLimit = 90

  /// Which lessons suit a sheet, for refusals.
  static let suits = "exercise sheets suit small networks such as Worksheets/mazur.yaml and Worksheets/xor.yaml"

  /// Why `run`'s network is too large for a hand-calculation sheet (more weights than
  /// `valueLimit`), or nil when its weights fit. The count does not change with training, so a
  /// caller holding a trained run asks this before making a fresh one for the sheet.
  public static func refusal(_ run: LessonRun) -> SheetNetError? {
    let parameters = run.model.parameterCount
    guard parameters > valueLimit else { return nil }
    return .lesson("\(run.lesson.path): \(Limits.grouped(parameters)) weights are too many for a hand-calculation sheet (at most \(valueLimit) numbers); \(suits)")
  }
  /// Significant digits a computed quantity is shown with (and a blank asks for).
  public static let significantDigits = 5
  /// Decimals a given number is shown with at most (longer ones are rounded, and the sheet says so).
  public static let givenDecimals = 6

  /// The lesson's name and title.
  public let lesson: String, title: String
  /// The seed of the drawn numbers, nil for the lesson's own.
  public let seed: UInt64?
  /// The traced step the numbers come from.
  public let traced: TracedStep
  /// The given numbers, in step order: x, W, b (and state before the step), targets.
  public let givens: [ExerciseRow]
  /// The hyperparameters the update reads: (name, value, meaning).
  public let hyperparameters: [(name: String, value: Double, meaning: String)]
  /// Every quantity of the step in the order the engine computed it.
  public let rows: [ExerciseRow]
  /// Whether some given number is shown rounded (the lesson's weights are long decimals).
  public let givensRounded: Bool

  /// The blank rows.
  public var blanks: [ExerciseRow] { rows.filter(\.blank) }

  /// Whether the sheet works on part of the step (a focus).
  public let isFocused: Bool

  /// For a token lesson, the sample's tokens as the sheet names them: `tokens a a b`, each as
  /// `Sequences.shown` shows it; nil for other data.
  public var tokens: String? {
    let data = traced.run.split.train
    guard data.isTokens, let x = traced.tracer.entry("input.forward.x") else { return nil }
    return "tokens " + x.value.data.map { Sequences.shown(id: $0, data.vocabulary) }.joined(separator: " ")
  }

  /// Traces the lesson's first step on one sample (with the seeded numbers when `seed` is given)
  /// and marks the blanks. Throws one line for a lesson too big for a sheet, an unknown or given
  /// cell name, or a step that is not finite.
  public init(_ lesson: Lesson, blank: ExerciseBlank, seed: UInt64?, focus: ExerciseFocus = ExerciseFocus()) throws(SheetNetError) {
    let run = try LessonRun(lesson)
    if let refusal = Exercise.refusal(run) { throw refusal }
    let suits = Exercise.suits
    var request = TracedStep.Request(step: 1, sample: 1)
    if let seed {
      // Token ids stay the lesson's (a drawn id would be no token); the tables that stand for a
      // token or a position (embedding E, learned P) are what such a network reads, so they are
      // drawn as inputs are.
      let tokens = run.split.train.isTokens
      let features = run.split.train.x.shape.dropFirst().reduce(1, *)
      var rng = SeededGenerator(seed: seed)
      let x = tokens ? nil : (0..<features).map { _ in Double(rng.below(21) - 10) / 10 }
      var weights: [[Double]] = []
      for layer in run.model.layers {
        let readsTokens = tokens && (layer is Embedding || layer is Positional)
        for p in layer.parameters {
          weights.append((0..<p.value.count).map { _ in readsTokens ? Double(rng.below(21) - 10) / 10 : Double(rng.below(199) - 99) / 100 })
        }
      }
      let drawn = weights
      request.edit = { batch, model, _ in
        if let x { batch = Tensor(shape: batch.shape, data: x) }
        var n = 0
        for layer in model.layers {
          for p in layer.parameters {
            p.value = Tensor(shape: p.value.shape, data: drawn[n])
            n += 1
          }
        }
      }
    }
    let traced = try TracedStep(run, request)
    if let bad = traced.tracer.firstNonFinite {
      throw .training("\(lesson.path): the step holds a number that is not finite (first in \(bad.name)); lower the learning rate")
    }
    self.traced = traced
    self.lesson = lesson.name
    self.title = lesson.title.isEmpty ? lesson.name : lesson.title
    self.seed = seed

    // Givens: the input, each layer's parameters before the step, optimizer state before it, targets.
    let parameterEntries = Set(run.model.layers.flatMap { layer in layer.parameters.map { Tracer.name(layer.name, .forward, $0.name) } })
    func isUsuallyGiven(_ e: TraceEntry) -> Bool {
      e.name == "input.forward.x" || e.name == "loss.t" || parameterEntries.contains(e.name) || (e.phase == .update && e.name.hasSuffix(".before"))
    }
    // A focus names entries of this step: each must exist, the givens and the quantities apart.
    let entryNames = traced.tracer.entries.map(\.name)
    for (name, key) in focus.entries.map({ ($0, "focus") }) + focus.given.map({ ($0, "given") }) where !entryNames.contains(name) {
      throw .lesson("exercise \(key): no entry named '\(name.prefix(60))' in \(lesson.name)'s step\(didYouMean(name, in: entryNames)); the names are those of `sheetnet trace`, e.g. \(entryNames.prefix(3).joined(separator: ", "))")
    }
    if let both = focus.entries.first(where: focus.given.contains) {
      throw .lesson("exercise focus: \(both) is named as given and as a quantity to work out; name it once")
    }
    if let given = focus.entries.first(where: { name in traced.tracer.entry(name).map(isUsuallyGiven) ?? false }) {
      throw .lesson("exercise focus: \(given) is a given number (an input, a weight before the step or a target), not computed; list it under 'given'")
    }
    let focused = !focus.entries.isEmpty
    // The optimizer's numbers, when the sheet works on the update (a focus on the forward pass needs none).
    let updates = !focused || focus.entries.contains { traced.tracer.entry($0)?.phase == .update }
    hyperparameters = updates ? run.optimizer.sheetNames.filter { $0.name == "learning_rate" || $0.value != 0 } : []
    func isGiven(_ e: TraceEntry) -> Bool { focus.given.isEmpty ? isUsuallyGiven(e) : focus.given.contains(e.name) }
    // The first layer's ∂L/∂x is no part of the update; a δ that only copies the value above is shown once.
    let firstInputGradient = run.model.layers.first.map { Tracer.name($0.name, .backward, $0.inputGradientKey) }
    var givens: [ExerciseRow] = [], rows: [ExerciseRow] = []
    var earlier: [[Double]] = []
    var rounded = false
    // The worked numbers of every element of the step, by the engine's number (see
    // Exercise+Worked): givens as printed, each quantity from its line's printed numbers.
    var worked: [UInt64: Double] = [:]
    var workedOf: [String: [Double]] = [:]
    for e in traced.tracer.entries {
      let given = isGiven(e)
      var values: [Double] = []
      for i in 0..<e.value.count {
        let v = e.value.data[i]
        var w: Double
        if given {
          w = Exercise.rounded(v, decimals: Exercise.shortDecimals(v))
        } else if let a = e.explain?(i) {
          let numbers = a.args.map { worked[$0.bitPattern] ?? Exercise.worked($0) }
          let line = Arithmetic(lhs: a.lhs, template: a.template, args: numbers, result: a.result).expression(Exercise.written)
          let bound = 1e-3 * (abs(v) + (numbers.map(abs).max() ?? 0))
          // A line that is not arithmetic alone (masked, a token's row) keeps the engine's number.
          w = Exercise.evaluate(line).flatMap { abs($0 - v) <= bound ? Exercise.worked($0) : nil } ?? Exercise.worked(v)
        } else {
          w = worked[v.bitPattern] ?? Exercise.worked(v)
        }
        if w == 0 { w = 0 }  // no negative zero
        worked[v.bitPattern] = w
        values.append(w)
      }
      workedOf[e.name] = values
      defer { earlier.append(e.value.data) }
      if focused {
        if !given && !focus.entries.contains(e.name) { continue }
      } else {
        let copiedDelta = e.phase == .backward && e.symbol == "δ" && e.explain == nil && earlier.contains(e.value.data)
        if !given && (e.name == firstInputGradient || copiedDelta || (!focus.given.isEmpty && isUsuallyGiven(e))) { continue }
      }
      for i in 0..<e.value.count {
        let v = e.value.data[i], w = values[i]
        let decimals = given ? Exercise.shortDecimals(v) : Exercise.decimals(w)
        if given && !Exercise.showsExactly(v, decimals: decimals) { rounded = true }
        let row = ExerciseRow(
          name: Exercise.elementName(e, i), entry: e.name, element: i, layer: e.layer, phase: e.phase,
          label: elementLabel(e.symbol, e.value.shape, i, batch: e.batched && e.value.rank >= 2), formula: e.formula,
          arithmetic: given ? nil : e.explain?(i), value: v, worked: w, decimals: decimals, blank: false)
        if given { givens.append(row) } else { rows.append(row) }
      }
    }
    givensRounded = rounded
    let total = givens.count + rows.count
    guard total <= Exercise.valueLimit else {
      throw .lesson("\(lesson.path): one step holds \(total) numbers (\(givens.count) given, \(rows.count) computed), more than the \(Exercise.valueLimit) a hand-calculation sheet holds; \(suits)")
    }

    // The blanks.
    let names = rows.map(\.name)
    var chosen = Set<String>()
    let layers = run.model.layers
    let denseIndex = layers.firstIndex { !$0.parameters.isEmpty }
    func first(_ entry: String) -> String? { rows.first { $0.entry == entry }?.name }
    switch blank {
    case .mix:
      if let index = denseIndex {
        let dense = layers[index]
        var picks = [first(Tracer.name(dense.name, .forward, dense.outputKey))]
        if index + 1 < run.model.layers.count {
          let next = run.model.layers[index + 1]
          picks.append(first(Tracer.name(next.name, .forward, next.outputKey)))
        }
        picks.append(rows.first { ($0.phase == .loss || $0.phase == .backward) && $0.arithmetic != nil && $0.label.hasPrefix("∂L/∂z") }?.name
                     ?? rows.first { $0.phase == .loss && $0.entry != "loss.L" }?.name)
        if let p = dense.parameters.first {
          picks.append(first(Tracer.name(dense.name, .backward, "d" + p.name)))
          picks.append(first(Tracer.name(dense.name, .update, p.name)))
        }
        chosen = Set(picks.compactMap { $0 })
      }
    case .forward:
      var seen = Set<String>()
      for r in rows where r.phase == .forward && seen.insert(r.entry).inserted { chosen.insert(r.name) }
      if let l = first("loss.L") { chosen.insert(l) }
    case .backward:
      var seen = Set<String>()
      for r in rows where (r.phase == .backward || (r.phase == .loss && r.entry != "loss.L")) && seen.insert(r.entry).inserted { chosen.insert(r.name) }
    case .update:
      for r in rows where r.phase == .update { chosen.insert(r.name) }
    case .cells(let wanted):
      let givenNames = Set(givens.map(\.name))
      for w in wanted where w.contains(":") {
        let matching = names.filter { Exercise.matches($0, w) }
        guard !matching.isEmpty else {
          throw .lesson("--blank: no quantity matches '\(w.prefix(60))' in \(lesson.name)'s step; ':' stands for every index along one axis, e.g. \(names.first(where: { $0.contains(",") }).map(Exercise.wildcardExample) ?? "dense1.forward.z[:]")")
        }
        chosen.formUnion(matching)
      }
      for w in wanted where !w.contains(":") {
        // A scalar may be written with its index: loss.L[1] is loss.L.
        let name = names.contains(w) ? w : w.hasSuffix("[1]") && names.contains(String(w.dropLast(3))) ? String(w.dropLast(3)) : nil
        if let name { chosen.insert(name); continue }
        if givenNames.contains(w) {
          throw .lesson("--blank: \(w) is given on the sheet (an input, a weight before the step or a target), not computed; blank a quantity of the step, e.g. \(names.first ?? "")")
        }
        throw .lesson("--blank: no quantity named '\(w.prefix(60))' in \(lesson.name)'s step\(didYouMean(w, in: names)); the names are those of `sheetnet trace` with a 1-based index, e.g. \(names.prefix(3).joined(separator: ", "))")
      }
    }
    if chosen.isEmpty { throw .lesson("--blank: \(lesson.name)'s step has no quantity of that kind to leave blank") }
    // A later quantity equal to a blank (db = δ on one sample, v = dW at the first step) is left
    // blank too, and a blank's number is written as its label in later arithmetic (σ(z₁)), so no
    // answer stands on the sheet.
    let givenValues = Set(givens.map(\.value.bitPattern))
    var masks: [UInt64: String] = [:]
    var marked = rows
    for n in marked.indices {
      let bits = marked[n].value.bitPattern
      if chosen.contains(marked[n].name) || (masks[bits] != nil && !givenValues.contains(bits)) {
        marked[n].blank = true
        if !givenValues.contains(bits) && masks[bits] == nil { masks[bits] = marked[n].label }
      }
    }
    self.rows = marked
    self.givens = givens
    self.masks = masks
    self.workedValues = worked
    self.workedEntries = workedOf
    isFocused = focused
  }

  /// The worked number (see `ExerciseRow.worked`) of every element of the step, by the
  /// engine's number's bits.
  let workedValues: [UInt64: Double]
  /// The worked numbers of each trace entry, element by element (row-major), for the workbook's
  /// hidden step, which rounds each quantity as the sheet does.
  public let workedEntries: [String: [Double]]

  /// The labels that stand for blank numbers in arithmetic, by the number's bits.
  let masks: [UInt64: String]

  /// A row's arithmetic with the numbers put in by `number`, each number the worked one the
  /// sheet prints above (`Exercise.written` prints it as the sheet does), each blank's number
  /// written as its label (`σ(z₁)`, `0.4·a₁ + 0.45·a₂ + 0.6`); the entry's formula when it has none.
  public func arithmetic(_ row: ExerciseRow, _ number: (Double) -> String) -> String {
    guard let a = row.arithmetic else { return row.formula }
    // A blank's own line never names itself (xor's dW₁,₁ = δ₁·1 where δ₁ is shown above it).
    return a.expression { x in
      masks[x.bitPattern].flatMap { $0 == row.label ? nil : $0 } ?? number(workedValues[x.bitPattern] ?? Exercise.worked(x))
    }
  }

  /// A row's arithmetic with every number put in as printed, blanks too (the key's line).
  public func workedLine(_ row: ExerciseRow) -> String? {
    row.arithmetic?.expression { Exercise.written(workedValues[$0.bitPattern] ?? Exercise.worked($0)) }
  }

  /// `entry[i,j]` with 1-based indices (a batch of one drops the sample index); a scalar is the entry alone.
  public static func elementName(_ e: TraceEntry, _ i: Int) -> String {
    var shape = e.value.shape
    if e.batched && shape.count >= 2 && shape[0] == 1 { shape.removeFirst() }
    if shape.reduce(1, *) == 1 { return e.name }
    var index: [Int] = [], rest = i
    for n in shape.reversed() { index.append(rest % max(n, 1) + 1); rest /= max(n, 1) }
    return e.name + "[" + index.reversed().map(String.init).joined(separator: ",") + "]"
  }

  /// Decimals that show `x` to `significantDigits` significant digits (0…10).
  public static func decimals(_ x: Double) -> Int {
    guard x != 0, x.isFinite else { return significantDigits - 1 }
    let magnitude = Int(floor(log10(abs(x))))
    return min(max(significantDigits - 1 - magnitude, 0), 10)
  }

  /// The fewest decimals (at most `givenDecimals`) that write `x` exactly as its shortest form,
  /// e.g. 0.15 → 2; a longer decimal gets `givenDecimals` (and is shown rounded). A number that
  /// short decimals made by arithmetic (0.3 + 0.1 = 0.30000000000000004, a given q = W·x) is
  /// within binary rounding of its short form and counts as it (`showsExactly`).
  public static func shortDecimals(_ x: Double) -> Int {
    for d in 0..<givenDecimals where showsExactly(x, decimals: d) { return d }
    return givenDecimals
  }

  /// Whether `x` written with `decimals` places reads back as `x`, but for binary rounding
  /// (within 10⁻¹² of its magnitude, far below any digit a sheet asks for).
  public static func showsExactly(_ x: Double, decimals: Int) -> Bool {
    guard let shown = Double(format(x, decimals: decimals)) else { return false }
    return shown == x || abs(shown - x) <= 1e-12 * max(abs(x), 1e-300)
  }

  /// Whether the element name `name` (`attention1.forward.A[1,3,2]`) fits `pattern`, whose `:`
  /// indices stand for any index (`attention1.forward.A[1,3,:]`).
  public static func matches(_ name: String, _ pattern: String) -> Bool {
    func split(_ s: String) -> (String, [Substring])? {
      guard s.hasSuffix("]"), let open = s.firstIndex(of: "[") else { return nil }
      return (String(s[..<open]), s[s.index(after: open)..<s.index(before: s.endIndex)].split(separator: ",", omittingEmptySubsequences: false))
    }
    guard let element = split(name), let wanted = split(pattern), element.0 == wanted.0, element.1.count == wanted.1.count else { return false }
    return zip(element.1, wanted.1).allSatisfy { index, want in
      let w = want.trimmingCharacters(in: .whitespaces)
      return w == ":" || index == w
    }
  }

  /// `name` with its last index made `:`: `dense1.forward.W[2,1]` → `dense1.forward.W[2,:]`.
  static func wildcardExample(_ name: String) -> String {
    guard let comma = name.lastIndex(of: ",") else { return name }
    return name[...comma] + ":]"
  }

  /// `x` with `decimals` places (0…17), ASCII minus, never `-0`.
  public static func format(_ x: Double, decimals: Int) -> String {
    let s = String(format: "%.\(min(max(decimals, 0), 17))f", x)
    return s.hasPrefix("-") && s.dropFirst().allSatisfy({ $0 == "0" || $0 == "." }) ? String(s.dropFirst()) : s
  }

  /// A number in an arithmetic line: at most `significantDigits` significant digits, no
  /// trailing zeros (0.15, 0.59327, −0.0084), ASCII minus.
  public static func compact(_ x: Double) -> String {
    var s = format(x, decimals: decimals(x))
    if s.contains(".") {
      while s.hasSuffix("0") { s.removeLast() }
      if s.hasSuffix(".") { s.removeLast() }
    }
    return s == "-0" ? "0" : s
  }

  /// answers.csv: one line per blank — its name, label, the answer (the worked number, shortest
  /// round-trip digits), as shown, the decimals asked for, the accepted distance, and the
  /// engine's number at full precision. Name and label are text cells, guarded as every CSV's
  /// (`CSVCell.text`); the rest are numbers.
  public var answersCSV: String {
    var out = "name,label,answer,shown,decimals,tolerance,engine\r\n"
    for r in blanks {
      out += ([r.name, r.label].map(CSVCell.text) + [Value.jsonNumber(r.worked), r.shown, String(r.decimals), Value.jsonNumber(r.tolerance), Value.jsonNumber(r.value)])
        .joined(separator: ",") + "\r\n"
    }
    return out
  }
}
