/// One token a network generated: its text, the network's probability for it, and the likeliest
/// other tokens with theirs.
public struct GeneratedToken: Sendable {
  /// The token as its vocabulary entry (a character).
  public var text: String
  /// Its id in the vocabulary.
  public var id: Int
  /// The network's probability for it: softmax(z) at the last real position (at temperature 1;
  /// the temperature changes the draw, never this number).
  public var probability: Double
  /// The `top` likeliest other tokens, most likely first (ties: lower id first).
  public var alternatives: [(text: String, probability: Double)]

  /// A generated token.
  public init(text: String, id: Int, probability: Double, alternatives: [(text: String, probability: Double)]) {
    self.text = text
    self.id = id
    self.probability = probability
    self.alternatives = alternatives
  }
}

/// Token-by-token generation from a trained sequence network (a language model's sampling loop).
public enum Generation {
  /// `text` as ids of `vocabulary`, one character a token. Throws one line naming `source` (the
  /// option or lesson line the text came from) and the first character that is no token.
  public static func ids(_ text: String, _ vocabulary: [String], source: String, lesson: String) throws(SheetNetError) -> [Int] {
    var ids: [Int] = []
    for character in text {
      guard let id = vocabulary.firstIndex(of: String(character)) else {
        throw .lesson("\(source): '\(Terminal.escaped(String(character)))' is not in \(lesson)'s vocabulary (\(Terminal.escaped(vocabulary.joined())))")
      }
      ids.append(id)
    }
    guard !ids.isEmpty else { throw .lesson("\(source): give at least one token to continue") }
    return ids
  }

  /// Generates `length` tokens after `prompt` (ids). At each step the network reads the last T
  /// tokens (T, its sequence length), right-padded with token 0 when fewer (a causal network never
  /// reads the padding), in evaluation mode; z are the scores at the last real position — the
  /// logits before the final softmax layer when there is one, else the outputs. The token's
  /// probability is softmax(z). At `temperature` 0 the next token is the argmax (the first on a
  /// tie); otherwise one draw u = `SeededGenerator(seed:)`.unit() walks the cumulative
  /// softmax(z / temperature) and takes the first token where it falls below 0 (the last token if
  /// rounding leaves some of u over). Each token carries the `top` likeliest others.
  public static func sample(model: Sequential, prompt: [Int], length: Int, temperature: Double, seed: UInt64, top: Int, vocabulary: [String]) -> [GeneratedToken] {
    let T = model.inputShape.first ?? 1, V = vocabulary.count
    var rng = SeededGenerator(seed: seed)
    var sequence = prompt, out: [GeneratedToken] = []
    let step = Step(training: false)
    for _ in 0..<length {
      let window = Array(sequence.suffix(T))
      let x = Tensor(shape: [1, T], data: (0..<T).map { $0 < window.count ? Double(window[$0]) : 0 })
      let y = model.forward(x, step)  // [1, T, V]
      let p = window.count - 1
      let scores = (model.layers.last as? Softmax)?.z ?? y
      let z = (0..<V).map { scores.data[p * V + $0] }
      let probabilities = Softmax.probabilities(Tensor(shape: [1, V], data: z)).data
      let next: Int
      if temperature == 0 {
        next = probabilities.indices.max { probabilities[$0] < probabilities[$1] }!
      } else {
        let tempered = Softmax.probabilities(Tensor(shape: [1, V], data: z.map { $0 / temperature })).data
        var u = rng.unit(), chosen = V - 1
        for k in 0..<V {
          u -= tempered[k]
          if u < 0 { chosen = k; break }
        }
        next = chosen
      }
      let ranked = probabilities.indices.sorted { probabilities[$0] > probabilities[$1] || (probabilities[$0] == probabilities[$1] && $0 < $1) }
      let alternatives = ranked.filter { $0 != next }.prefix(top).map { (text: vocabulary[$0], probability: probabilities[$0]) }
      out.append(GeneratedToken(text: vocabulary[next], id: next, probability: probabilities[next], alternatives: alternatives))
      sequence.append(next)
    }
    return out
  }
}
