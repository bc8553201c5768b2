import Foundation

/// What a token model must beat: the cross-entropy of two counting models, fitted on the training
/// split and measured on another, in nats per counted position (the loss `token_cross_entropy`
/// reports, so the three numbers compare directly).
///
///     unigram:  p(y) = (c(y) + 1) / (N + V)
///     bigram:   p(y | x) = (c(x, y) + 1) / (c(x) + V)
///
/// c counts the training split's counted positions (target ≥ 0): c(y) how often y is a target,
/// c(x, y) how often target y follows input token x at the same position, c(x) how often x is
/// the input of a counted position; N = Σ c(y), V the vocabulary's size. Adding one to every count
/// (Laplace smoothing) keeps an unseen pair at a small probability rather than 0 (an infinite
/// loss). The bigram model sees one token back; a network that reads the context does better.
public struct CountingBaselines: Sendable, Equatable {
  /// Cross-entropy of the unigram model, nats per position.
  public var unigram: Double
  /// Cross-entropy of the bigram model, nats per position.
  public var bigram: Double
  /// Positions measured.
  public var positions: Int

  /// The two baselines of `train`'s counts measured on `evaluation`; nil unless both are token
  /// data (ids in 0 ..< V with targets) with at least one counted position.
  public static func measure(train: Dataset, on evaluation: Dataset) -> CountingBaselines? {
    let v = train.vocabulary.count
    guard v > 0, evaluation.vocabulary == train.vocabulary,
          let trainTargets = train.explicitTargets, let targets = evaluation.explicitTargets,
          trainTargets.count == train.x.count, targets.count == evaluation.x.count else { return nil }
    func id(_ value: Double) -> Int? {
      guard let i = Int(exactly: value), i >= 0, i < v else { return nil }
      return i
    }
    var unigramCounts = [Double](repeating: 0, count: v), pairCounts = [Double](repeating: 0, count: v * v)
    var inputCounts = [Double](repeating: 0, count: v), total = 0.0
    for (xValue, yValue) in zip(train.x.data, trainTargets.data) {
      guard let x = id(xValue), let y = id(yValue) else { continue }  // a masked position (−1) does not count
      unigramCounts[y] += 1
      pairCounts[x * v + y] += 1
      inputCounts[x] += 1
      total += 1
    }
    var unigram = 0.0, bigram = 0.0, positions = 0
    for (xValue, yValue) in zip(evaluation.x.data, targets.data) {
      guard let x = id(xValue), let y = id(yValue) else { continue }
      unigram -= log((unigramCounts[y] + 1) / (total + Double(v)))
      bigram -= log((pairCounts[x * v + y] + 1) / (inputCounts[x] + Double(v)))
      positions += 1
    }
    guard positions > 0 else { return nil }
    return CountingBaselines(unigram: unigram / Double(positions), bigram: bigram / Double(positions), positions: positions)
  }
}
