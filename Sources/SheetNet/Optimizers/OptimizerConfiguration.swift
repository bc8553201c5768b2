/// An optimizer's hyper-parameters, typed and checked once: what a lesson's `optimizer:` and a
/// model file's `"optimizer"` both become, and the one thing optimizers are built from.
///
/// SGD reads `learning_rate` (0.01), `momentum` (0), `nesterov` (false), `weight_decay` (0); Adam
/// reads `learning_rate` (0.001), `beta1` (0.9), `beta2` (0.999), `epsilon` (1e-8),
/// `weight_decay` (0). Rates are ≥ 0, the learning rate > 0, momentum and the betas < 1.
public struct OptimizerConfiguration: Equatable, Sendable {
  /// The optimizers SheetNet has.
  public enum Kind: String, CaseIterable, Sendable {
    /// Stochastic gradient descent (with momentum or Nesterov when μ > 0).
    case sgd
    /// Adam with bias correction.
    case adam
  }

  /// Which optimizer.
  public var kind: Kind
  /// η, the step size.
  public var learningRate: Double
  /// μ (SGD): how much of the last velocity each step keeps.
  public var momentum = 0.0
  /// Nesterov's look-ahead form (SGD).
  public var nesterov = false
  /// β₁ (Adam): decay of the first moment.
  public var beta1 = 0.9
  /// β₂ (Adam): decay of the second moment.
  public var beta2 = 0.999
  /// ε (Adam): keeps the step finite when ŝ is 0.
  public var epsilon = 1e-8
  /// λ: L2 decay added to each gradient, g = dθ + λ·θ.
  public var weightDecay = 0.0

  /// The defaults of `kind` (plain SGD with η = 0.01, or Adam with η = 0.001).
  public init(kind: Kind) {
    self.kind = kind
    learningRate = kind == .adam ? 0.001 : 0.01
  }

  /// Reads and checks `options` (keys of `optimizerKeys[kind]`, numbers or true/false);
  /// errors are one line starting with `location` ("Worksheets/x.yaml line 20").
  public init(kind name: String, options: [(key: String, value: Value)], location: String) throws(SheetNetError) {
    guard let kind = Kind(rawValue: name) else {
      let kinds = Kind.allCases.map(\.rawValue)
      throw .lesson("\(location): unknown optimizer '\(name)'\(didYouMean(name, in: kinds))  (valid: \(kinds.joined(separator: ", ")))")
    }
    self.init(kind: kind)
    let context = "\(location.isEmpty ? "" : location + ", ")optimizer (\(name))"
    let allowed = optimizerKeys[name] ?? []
    for (key, value) in options {
      guard allowed.contains(key) else {
        throw .lesson("\(context): unknown optimizer key '\(key)'\(didYouMean(key, in: allowed))  (valid for \(name): \(allowed.joined(separator: ", ")))")
      }
      if key == "nesterov" {
        guard case .bool(let b) = value else { throw .lesson("\(context): 'nesterov' must be true or false, got \(value.described)") }
        nesterov = b
        continue
      }
      guard let x = value.number, x.isFinite else { throw .lesson("\(context): '\(key)' must be a number, got \(value.described)") }
      guard x >= 0 else {
        throw .lesson("\(context): optimizer '\(key)' must not be negative, got \(x); a learning rate is a step size such as 0.01")
      }
      switch key {
      case "learning_rate": learningRate = x
      case "momentum": momentum = x
      case "beta1": beta1 = x
      case "beta2": beta2 = x
      case "epsilon": epsilon = x
      default: weightDecay = x
      }
    }
    guard learningRate > 0 else { throw .lesson("\(context): the learning rate must be greater than 0, e.g. 0.01") }
    guard momentum < 1 else { throw .lesson("\(context): momentum must be below 1 (usually 0.9)") }
    guard beta1 < 1, beta2 < 1 else { throw .lesson("\(context): beta1 and beta2 must be below 1 (usually 0.9 and 0.999)") }
  }

  /// A fresh optimizer (step count 0, no state) with these settings.
  public func make() -> any Optimizer {
    switch kind {
    case .sgd: SGD(learningRate: learningRate, momentum: momentum, nesterov: nesterov, weightDecay: weightDecay)
    case .adam: Adam(learningRate: learningRate, beta1: beta1, beta2: beta2, epsilon: epsilon, weightDecay: weightDecay)
    }
  }
}
