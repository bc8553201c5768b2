import Foundation

/// Logistic sigmoid, a = σ(z) = 1 / (1 + e⁻ᶻ), with slope σ′(z) = a·(1 − a).
///
/// Evaluated as 1/(1 + e⁻ᶻ) for z ≥ 0 and eᶻ/(1 + eᶻ) for z < 0, so no large exponent overflows.
public final class Sigmoid: Activation {
  public static let kind = "sigmoid"
  public static let keys: [String] = []
  public static let symbol = "σ"
  public static let formula = "a = σ(z) = 1 / (1 + e⁻ᶻ)"
  public static let slopeFormula = "∂L/∂z = ∂L/∂a · a·(1 − a)"
  public var name = "sigmoid"
  public var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  public var buffers = (outputs: TensorPair(), inputGradients: TensorPair())

  /// A sigmoid layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  /// σ(z).
  public func apply(_ z: Double) -> Double { Sigmoid.sigma(z) }
  /// σ(z) = 1/(1 + e⁻ᶻ), stable for large |z|.
  public static func sigma(_ z: Double) -> Double {
    z >= 0 ? 1 / (1 + exp(-z)) : exp(z) / (1 + exp(z))
  }
  /// a·(1 − a).
  public func slope(z: Double, a: Double) -> Double { a * (1 - a) }
  public func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double]) {
    ("{1}·(1 − {1})", [a])
  }
  /// IF(z ≥ 0, 1/(1 + e⁻ᶻ), eᶻ/(1 + eᶻ)), the engine's overflow-free form.
  public func cellForward(_ z: Formula) -> Formula { .sigmoid(z) }
  /// ∂L/∂a · a·(1 − a).
  public func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula { delta * (a * (.number(1) - a)) }
}
