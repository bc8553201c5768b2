import Foundation
import Yams

/// What `sheetnet build` makes of a lesson: its `build:` section (every key optional).
///
/// ```yaml
/// build:
///   step: 1                # the step traced and exported (default 1)
///   sample: 1              # trace one sample (default: the mini-batch when it holds ≤ 8, else sample 1)
///   worksheets: both       # both, csv, xlsx or none
///   figures:               # default: every kind that applies to the lesson
///     - training
///     - {kind: conv-step, layer: conv1, positions: 2}
///   exercise: {blank: forward, seed: 3}   # or none; default: when the network fits a hand sheet
///   # lock: true protects the answer sheets of exercise.xlsx (as --lock)
///   # a part of the step alone: exercise: {focus: [attention1.forward.s], given: [attention1.forward.q, …]}
///   generate: {prompt: "And God said", length: 300, temperature: 0.8, seed: 1}   # or none
/// ```
public struct BuildSpec: Sendable, Equatable {
  /// One figure to draw: its kind and the options `sheetnet figure` would take, as written.
  public struct FigureRequest: Sendable, Equatable {
    /// The kind, e.g. `conv-step` (checked against the catalogue by the command line).
    public var kind: String
    /// Option name → value as written: layer, sample, at, positions, filter, epochs, size, format.
    public var options: [String: String]
    /// `file line N`, for messages.
    public var location: String

    /// A request for `kind` with `options`.
    public init(kind: String, options: [String: String] = [:], location: String) {
      self.kind = kind
      self.options = options
      self.location = location
    }
  }

  /// The traced and exported step (1-based).
  public var step = 1
  /// One sample of the training split instead of the mini-batch; nil: the default rule.
  public var sample: Int? = nil
  /// The first N samples of the mini-batch.
  public var batch: Int? = nil
  /// `both`, `csv`, `xlsx` or `none`.
  public var worksheets = "both"
  /// The figures asked for; nil: every kind that applies.
  public var figures: [FigureRequest]? = nil
  /// False with `exercise: none`.
  public var exercise = true
  /// `--blank` of the exercise sheet (default: the command's own).
  public var exerciseBlank: String? = nil
  /// `--seed` of the exercise sheet.
  public var exerciseSeed: UInt64? = nil
  /// `--lock` of the exercise sheet: its answer sheets protected, for graded use.
  public var exerciseLock = false
  /// `--focus` and `--given` of the exercise sheet: trace entries (empty: the whole step, the usual givens).
  public var exerciseFocus: [String] = [], exerciseGiven: [String] = []
  /// True when the lesson asked for an exercise sheet explicitly (then a lesson too large for one is an error).
  public var exerciseAsked = false
  /// The page's generated text (`generate:`); nil: a text lesson's defaults, none for other lessons.
  public var generate: Generate? = nil
  /// False with `generate: none`.
  public var generates = true
  /// Where the section is, for messages.
  public var location = ""

  /// What the lesson page continues, and how: `sheetnet sample LESSON --prompt P --length N
  /// --temperature T --sample-seed S` prints the same tokens (a token lesson with a causal network).
  public struct Generate: Sendable, Equatable {
    /// The text continued, in the lesson's tokens; nil: the first half of the first evaluation sample's window.
    public var prompt: String? = nil
    /// Tokens generated (1…10,000).
    public var length = 300
    /// The softmax temperature (0…100; 0 takes the likeliest token).
    public var temperature = 0.8
    /// Seed of the draws.
    public var seed: UInt64 = 1
    /// Where it was asked for (`file line N`), or the lesson's path for the defaults.
    public var location = ""

    /// The defaults.
    public init() {}
  }

  /// The defaults.
  public init() {}

  static let keys = ["step", "sample", "batch", "worksheets", "figures", "exercise", "generate"]
  static let figureKeys = ["kind", "layer", "sample", "at", "positions", "filter", "epochs", "size", "format"]
  static let worksheetFormats = ["both", "csv", "xlsx", "none"]

  /// Reads a `build:` section.
  static func parse(_ node: Node, _ r: Reader) throws(SheetNetError) -> BuildSpec {
    let m = try r.map(node, "build", allowed: keys)
    var spec = BuildSpec()
    spec.location = r.at(node)
    if let v = m["step"] { spec.step = try r.int(v, "step", min: 1, max: Limits.steps) }
    if let v = m["sample"] { spec.sample = try r.int(v, "sample", min: 1) }
    if let v = m["batch"] { spec.batch = try r.int(v, "batch", min: 1, max: Limits.batchSize) }
    if spec.sample != nil && spec.batch != nil { throw .lesson("\(r.at(node)): give 'sample' or 'batch', not both") }
    if let v = m["worksheets"] {
      let w = v.bool == false ? "none" : try r.string(v, "worksheets")
      guard worksheetFormats.contains(w) else {
        throw .lesson("\(r.at(v)): 'worksheets' must be one of \(worksheetFormats.joined(separator: ", ")), got '\(w)'\(didYouMean(w, in: worksheetFormats))")
      }
      spec.worksheets = w
    }
    if let v = m["figures"] {
      if v.bool == false || v.string == "none" {
        spec.figures = []
      } else {
        guard let list = v.sequence else { throw .lesson("\(r.at(v)): 'figures' must be a list of kinds, e.g. [training, confusion], or none") }
        guard list.count <= 64 else { throw .lesson("\(r.at(v)): at most 64 figures, got \(list.count)") }
        var figures: [FigureRequest] = []
        for item in list {
          if case .scalar = item {
            figures.append(FigureRequest(kind: try r.string(item, "figure kind"), options: [:], location: r.at(item)))
            continue
          }
          let f = try r.map(item, "a figure", allowed: figureKeys)
          guard let kind = f["kind"] else { throw .lesson("\(r.at(item)): a figure needs a 'kind', e.g. {kind: conv-step, layer: conv1}") }
          var options: [String: String] = [:]
          for (key, value) in f where key != "kind" { options[key] = try r.string(value, key) }
          figures.append(FigureRequest(kind: try r.string(kind, "kind"), options: options, location: r.at(item)))
        }
        spec.figures = figures
      }
    }
    if let v = m["exercise"] {
      if v.bool == false || v.string == "none" {
        spec.exercise = false
      } else if v.bool == true {
        spec.exerciseAsked = true
      } else {
        let e = try r.map(v, "exercise", allowed: ["blank", "seed", "focus", "given", "lock"])
        spec.exerciseAsked = true
        if let lock = e["lock"] {
          guard let b = lock.bool else { throw .lesson("\(r.at(lock)): 'lock' must be true or false") }
          spec.exerciseLock = b
        }
        spec.exerciseBlank = try r.string(optional: e["blank"], "blank")
        spec.exerciseSeed = try r.int(optional: e["seed"], "seed", min: 0, max: Int.max).map { UInt64($0) }
        /// A list of entry names, or one string of names separated by commas.
        func names(_ key: String) throws(SheetNetError) -> [String] {
          guard let node = e[key] else { return [] }
          var items: [String] = []
          if let list = node.sequence { for item in list { items.append(try r.string(item, key)) } } else { items = [try r.string(node, key)] }
          let names = items.flatMap { $0.split(separator: ",", omittingEmptySubsequences: false).map { $0.trimmingCharacters(in: .whitespaces) } }
          guard !names.isEmpty, names.count <= 64, names.allSatisfy({ !$0.isEmpty && $0.count <= 200 }) else {
            throw .lesson("\(r.at(node)): '\(key)' must be 1 to 64 trace entry names, e.g. [attention1.forward.s, attention1.forward.A]")
          }
          return names
        }
        spec.exerciseFocus = try names("focus")
        spec.exerciseGiven = try names("given")
      }
    }
    if let v = m["generate"] {
      if v.bool == false || v.string == "none" {
        spec.generates = false
      } else {
        let g = try r.map(v, "generate", allowed: ["prompt", "length", "temperature", "seed"])
        var generate = Generate()
        generate.location = r.at(v)
        if let p = g["prompt"] {
          let prompt = try r.string(p, "prompt")
          guard !prompt.isEmpty, prompt.count <= 10_000 else { throw .lesson("\(r.at(p)): 'prompt' must hold 1 to 10000 characters of the lesson's tokens") }
          generate.prompt = prompt
        }
        generate.length = try r.int(optional: g["length"], "length", min: 1, max: 10_000) ?? generate.length
        generate.temperature = try r.number(optional: g["temperature"], "temperature", min: 0, max: 100) ?? generate.temperature
        generate.seed = try r.int(optional: g["seed"], "seed", min: 0, max: Int.max).map { UInt64($0) } ?? generate.seed
        spec.generate = generate
      }
    }
    return spec
  }
}

extension Lesson {
  /// The lesson's intent: its leading comment lines, without the `#`, joined into one paragraph.
  public var intent: String {
    var lines: [String] = []
    for line in source.split(separator: "\n", omittingEmptySubsequences: false) {
      let t = line.trimmingCharacters(in: .whitespaces)
      guard t.hasPrefix("#") else { break }
      lines.append(String(t.dropFirst()).trimmingCharacters(in: .whitespaces))
    }
    return lines.filter { !$0.isEmpty }.joined(separator: " ")
  }
}
