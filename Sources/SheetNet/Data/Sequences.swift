import Foundation

/// Token sequences for attention lessons: the seeded tasks of `dataset: sequences` and the
/// characters of `dataset: text`. The vocabulary is also the dataset's class names (a position's
/// class is the token that comes next), so model files record it as their `classes`.
///
/// A network reads ids x₁ … x_T and predicts, at every position t, the next token x_{t+1}
/// (a language model's next-token prediction). The targets hold that id, or −1 where the
/// position does not count: the loss (`TokenCrossEntropy`) and the accuracies skip it.
public enum Sequences {
  /// The tasks of `dataset: sequences`.
  public static let tasks = ["reverse", "sort", "copy"]
  /// The most symbols a task may use: the digits 0–9, then the letters a–z.
  public static let maxSymbols = 36

  /// The symbols of a task's vocabulary: "0" … "9", then "a" … "z".
  public static func symbols(_ count: Int) -> [String] {
    Array("0123456789abcdefghijklmnopqrstuvwxyz".prefix(count)).map(String.init)
  }

  /// `count` samples of `task` on `length` random symbols a₁ … a_L drawn from `vocabulary`
  /// symbols. The answer b is a reversed (`reverse`), sorted (`sort`) or as it is (`copy`). The
  /// network reads x = a₁ … a_L b₁ … b_{L−1} (T = 2L − 1 tokens) and predicts the next token at
  /// each position; only the answer counts: the target at t ≥ L (1-based) is b_{t−L+1}, the
  /// targets of the first L − 1 positions are −1. A causal network has to work out b from a.
  public static func task(_ task: String, length: Int, vocabulary: Int, count: Int, rng: inout SeededGenerator) -> Dataset {
    let T = 2 * length - 1
    var x = Tensor(shape: [count, T]), y = Tensor(shape: [count, T], repeating: -1)
    for n in 0..<count {
      let a = (0..<length).map { _ in rng.below(vocabulary) }
      let b: [Int] = switch task {
      case "reverse": a.reversed()
      case "sort": a.sorted()
      default: a
      }
      let sequence = a + b  // 2L tokens; x drops the last, the targets drop the first
      for t in 0..<T {
        x.data[n * T + t] = Double(sequence[t])
        if t >= length - 1 { y.data[n * T + t] = Double(sequence[t + 1]) }
      }
    }
    var tasks = Dataset(name: task, x: x, targets: y, classNames: symbols(vocabulary), vocabulary: symbols(vocabulary))
    tasks.answersWhole = true
    return tasks
  }

  /// Windows of `context` characters of `text`: x = c_i … c_{i+T−1}, targets c_{i+1} … c_{i+T}
  /// (every position counts). With `count`, that many windows start at seeded positions;
  /// without, one starts every `stride` characters. The vocabulary is the text's distinct
  /// characters, sorted by code point. Throws when the text is shorter than one window.
  public static func text(_ text: String, name: String, context: Int, count: Int?, stride: Int, rng: inout SeededGenerator) throws(SheetNetError) -> Dataset {
    let characters = Array(text).map(String.init)
    guard characters.count > context else {
      throw .data("\(name) holds \(characters.count) characters; a window of context \(context) needs at least \(context + 1); use a smaller context or a longer text")
    }
    let vocabulary = Array(Set(characters)).sorted { $0.unicodeScalars.lexicographicallyPrecedes($1.unicodeScalars) }
    let id = Dictionary(uniqueKeysWithValues: vocabulary.enumerated().map { ($1, Double($0)) })
    let ids = characters.map { id[$0]! }
    let last = characters.count - context - 1  // the last window's start
    let starts = count.map { c in (0..<c).map { _ in rng.below(last + 1) } } ?? Array(Swift.stride(from: 0, through: last, by: stride))
    let T = context
    var x = Tensor(shape: [starts.count, T]), y = Tensor(shape: [starts.count, T])
    for (n, i) in starts.enumerated() {
      for t in 0..<T {
        x.data[n * T + t] = ids[i + t]
        y.data[n * T + t] = ids[i + t + 1]
      }
    }
    return Dataset(name: name, x: x, targets: y, classNames: vocabulary, vocabulary: vocabulary)
  }

  /// A token as traces, figures and worksheets show it: its character, with a space, a line
  /// break, a tab and an empty token made visible (␣ ↵ ⇥ ∅), every other control character as its
  /// Control Pictures sign (U+0007 → ␇, U+007F → ␡), and any other invisible or format character
  /// (C1 controls, bidirectional overrides, zero-width marks, separators) as `U+XXXX`: no token can
  /// hide itself or reorder the text around it.
  public static func shown(_ token: String) -> String {
    switch token {
    case " ": return "␣"
    case "\n": return "↵"
    case "\t": return "⇥"
    case "": return "∅"
    default: break
    }
    var out = ""
    for s in token.unicodeScalars {
      switch s.value {
      case 0x00..<0x20: out.unicodeScalars.append(Unicode.Scalar(0x2400 + s.value)!)
      case 0x7F: out += "␡"
      default:
        switch s.properties.generalCategory {
        case .control, .format, .lineSeparator, .paragraphSeparator, .privateUse, .surrogate, .unassigned:
          let hex = String(s.value, radix: 16, uppercase: true)
          out += "U+" + String(repeating: "0", count: max(0, 4 - hex.count)) + hex
        default: out.unicodeScalars.append(s)
        }
      }
    }
    return out
  }

  /// The token of `id` in `vocabulary`, shown as `shown(_:)` does; "?" for an id that is no token.
  public static func shown(id: Double, _ vocabulary: [String]) -> String {
    let i = Int(exactly: id) ?? -1
    return i >= 0 && i < vocabulary.count ? shown(vocabulary[i]) : "?"
  }

  /// `ids` as their tokens, joined: [3, 1] with vocabulary "0"…"9" → "31".
  public static func spelled(_ ids: some Sequence<Double>, _ vocabulary: [String]) -> String {
    ids.map { id in
      let i = Int(id)
      return id == id.rounded() && i >= 0 && i < vocabulary.count ? vocabulary[i] : "?"
    }.joined()
  }
}

/// A layer that reads token ids and needs the vocabulary's size before it is built (the
/// embedding): a lesson's run sets it from the data when the lesson leaves it out.
public protocol TokenInput: Layer {
  /// V, the number of distinct tokens.
  var vocabulary: Int? { get set }
}

/// A layer whose positions may or may not read later positions (self-attention): `sample` needs
/// every such layer causal.
public protocol CausalityReporting {
  /// True when position t reads only positions ≤ t.
  var isCausal: Bool { get }
}
