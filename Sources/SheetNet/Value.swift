/// A configuration value as lesson files (YAML) and model files (JSON) hold it, with the line it
/// came from so that errors can point at it.
public indirect enum Value: Equatable, Sendable {
  /// A number (YAML and JSON numbers are all Float64 here).
  case number(Double)
  /// Text.
  case string(String)
  /// true or false.
  case bool(Bool)
  /// A list, in order.
  case list([Value])
  /// Keys in file order.
  case map([(key: String, value: Value)])
  /// No value (JSON null, YAML ~).
  case null

  /// Equal values: the same kind and contents (maps compare their pairs in order).
  public static func == (l: Value, r: Value) -> Bool {
    switch (l, r) {
    case let (.number(a), .number(b)): return a == b || (a.isNaN && b.isNaN)
    case let (.string(a), .string(b)): return a == b
    case let (.bool(a), .bool(b)): return a == b
    case let (.list(a), .list(b)): return a == b
    case let (.map(a), .map(b)):
      return a.count == b.count && Swift.zip(a, b).allSatisfy { $0.key == $1.key && $0.value == $1.value }
    case (.null, .null): return true
    default: return false
    }
  }

  /// The value under `key` in a map, if any.
  public subscript(key: String) -> Value? {
    if case .map(let pairs) = self { return pairs.first { $0.key == key }?.value }
    return nil
  }

  /// A number, or nil.
  public var number: Double? { if case .number(let d) = self { return d }; return nil }
  /// A string, or nil.
  public var string: String? { if case .string(let s) = self { return s }; return nil }
  /// A list, or nil.
  public var list: [Value]? { if case .list(let l) = self { return l }; return nil }
  /// Map keys in order (empty when not a map).
  public var keys: [String] { if case .map(let p) = self { return p.map(\.key) }; return [] }

  /// The value as a one-line message shows it: 99, 'text' (at most 40 characters), null, or its
  /// kind (a list, a map).
  var described: String {
    switch self {
    case .number(let x): Value.jsonNumber(x)
    case .string(let s): "'\(s.prefix(40))'"
    case .null: "null"
    default: kindName
    }
  }

  /// What kind of value this is, in words, for error messages.
  public var kindName: String {
    switch self {
    case .number: "a number"
    case .string: "text"
    case .bool: "true/false"
    case .list: "a list"
    case .map: "a map"
    case .null: "nothing"
    }
  }
}

/// The valid word nearest to `word` (Levenshtein distance ≤ 3), for "did you mean …?" hints.
public func nearest(_ word: String, in candidates: [String]) -> String? {
  func distance(_ a: [Character], _ b: [Character]) -> Int {
    if a.isEmpty { return b.count }
    var previous = Array(0...b.count)
    for (i, ca) in a.enumerated() {
      var current = [i + 1]
      for (j, cb) in b.enumerated() {
        current.append(Swift.min(previous[j + 1] + 1, current[j] + 1, previous[j] + (ca == cb ? 0 : 1)))
      }
      previous = current
    }
    return previous[b.count]
  }
  let w = Array(word.lowercased())
  let scored = candidates.map { ($0, distance(w, Array($0.lowercased()))) }.filter { $0.1 <= 3 }
  return scored.min { $0.1 < $1.1 }?.0
}

/// " (did you mean 'units'?)" or "" when nothing is close.
public func didYouMean(_ word: String, in candidates: [String]) -> String {
  nearest(word, in: candidates).map { "; did you mean '\($0)'?" } ?? ""
}
