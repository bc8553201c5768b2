import Foundation

/// Samples and what the network should output for them.
///
/// Classification sets carry `labels` (class indices 0..<classes); regression and hand-worked
/// sets carry explicit `targets` rows. `x` is batch first: [N, features] or [N, C, H, W].
public struct Dataset: Sendable {
  /// Where the data came from (`digits`, a CSV path, `inline`).
  public var name: String
  /// The inputs, one sample per row of the first axis.
  public var x: Tensor
  /// Class index of each sample, when the set is labelled.
  public var labels: [Int]?
  /// Explicit target rows [N, K], when given instead of labels.
  public var explicitTargets: Tensor?
  /// Class names, index = label (may be empty).
  public var classNames: [String]
  /// Each input feature's name, index = column of x (iris: `sepal length (cm)`, …; a CSV file's
  /// header); empty when the data names none.
  public var featureNames: [String] = []
  /// For token sequences (`dataset: sequences` or `text`): each token id's text, id = index.
  /// x then holds ids [N, T] and the targets the next token's id at every position [N, T], −1
  /// where a position does not count (`Sequences`); empty for every other dataset.
  public var vocabulary: [String]
  /// Whether each token sample is one question with one answer (`dataset: sequences`), so that
  /// whole-sequence accuracy means something; false for text windows and every other dataset.
  public var answersWhole = false

  /// A dataset; give `labels` or `targets`.
  public init(name: String, x: Tensor, labels: [Int]? = nil, targets: Tensor? = nil, classNames: [String] = [], vocabulary: [String] = []) {
    self.name = name
    self.x = x
    self.labels = labels
    self.explicitTargets = targets
    self.classNames = classNames
    self.vocabulary = vocabulary
  }

  /// True for token sequences: ids in, the next token's id out at each position.
  public var isTokens: Bool { !vocabulary.isEmpty }

  /// Number of samples.
  public var count: Int { x.rows }
  /// Number of classes (max label + 1, or the names given).
  public var classes: Int { max(classNames.count, (labels?.max() ?? -1) + 1) }

  /// The targets for a network with `outputs` units: one-hot rows for K > 1 outputs, 0/1 for a
  /// single output, or the explicit rows.
  public func targets(outputs: Int) -> Tensor {
    if let explicitTargets { return explicitTargets }
    guard let labels else { return Tensor(shape: [count, outputs]) }
    var t = Tensor(shape: [count, outputs])
    for (n, label) in labels.enumerated() {
      if outputs == 1 { t.data[n] = Double(label) } else if label < outputs { t.data[n * outputs + label] = 1 }
    }
    return t
  }

  /// The samples at `indices`, in that order.
  public func subset(_ indices: [Int]) -> Dataset {
    var part = Dataset(name: name, x: x.gathering(rows: indices), labels: labels.map { l in indices.map { l[$0] } },
                       targets: explicitTargets?.gathering(rows: indices), classNames: classNames, vocabulary: vocabulary)
    part.answersWhole = answersWhole
    part.featureNames = featureNames
    return part
  }

  /// The same samples with each sample reshaped, e.g. [64] → [1, 8, 8].
  public func reshaped(sample shape: [Int]) throws(SheetNetError) -> Dataset {
    guard shape.reduce(1, *) == x.columns else {
      throw .shape("\(name) has \(x.columns) features per sample, which cannot be shaped \(shapeText(shape))")
    }
    var d = self
    d.x = x.reshaped([count] + shape)
    return d
  }
}

/// A seeded split into training, validation and test sets.
public struct Split: Sendable {
  /// The samples training steps run on.
  public var train: Dataset
  /// Held out and measured after each epoch (nil when the lesson keeps none).
  public var validation: Dataset?
  /// Held out for the final judgement (nil when the lesson keeps none).
  public var test: Dataset?

  /// Shuffles with `rng`, then takes `validation` and `test` fractions (the rest trains).
  /// With both fractions 0, everything trains (and a lesson evaluates on the training set).
  public init(_ data: Dataset, validation: Double, test: Double, rng: inout SeededGenerator) {
    let order = rng.permutation(data.count)
    let nTest = Int((Double(data.count) * test).rounded())
    let nValidation = Int((Double(data.count) * validation).rounded())
    self.test = nTest > 0 ? data.subset(Array(order[0..<nTest])) : nil
    self.validation = nValidation > 0 ? data.subset(Array(order[nTest..<nTest + nValidation])) : nil
    self.train = data.subset(Array(order[(nTest + nValidation)...]))
  }
}

/// How inputs are scaled before training; statistics come from the training split only.
public enum Preprocess: Equatable, Sendable {
  /// Inputs as they are.
  case none
  /// x ← x / d (e.g. 16 for the digits' 0…16 pixels).
  case divide(Double)
  /// x ← (x − μ) / σ per feature, μ and σ from the training split (σ = 0 leaves x − μ).
  case standardize(mean: [Double], std: [Double])

  /// Fits the scaling to training inputs (standardize computes μ and σ here).
  public static func standardized(_ x: Tensor) -> Preprocess {
    let f = x.columns, n = Double(max(x.rows, 1))
    var mean = [Double](repeating: 0, count: f), std = [Double](repeating: 0, count: f)
    for r in 0..<x.rows { for c in 0..<f { mean[c] += x.data[r * f + c] } }
    for c in 0..<f { mean[c] /= n }
    for r in 0..<x.rows { for c in 0..<f { let d = x.data[r * f + c] - mean[c]; std[c] += d * d } }
    for c in 0..<f { std[c] = (std[c] / n).squareRoot() }
    return .standardize(mean: mean, std: std)
  }

  /// The scaled inputs.
  public func apply(_ x: Tensor) -> Tensor {
    switch self {
    case .none: return x
    case .divide(let d):
      var y = x
      Kernels.map(x, into: &y) { $0 / d }
      return y
    case .standardize(let mean, let std):
      var y = x
      let f = x.columns
      for r in 0..<x.rows {
        for c in 0..<f {
          let s = std[c % std.count]
          y.data[r * f + c] = (x.data[r * f + c] - mean[c % mean.count]) / (s > 0 ? s : 1)
        }
      }
      return y
    }
  }
}
