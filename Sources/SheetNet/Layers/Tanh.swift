import Foundation

/// Hyperbolic tangent, a = tanh(z), with slope 1 − a².
public final class Tanh: Activation {
  public static let kind = "tanh"
  public static let keys: [String] = []
  public static let symbol = "tanh"
  public static let formula = "a = tanh(z) = (eᶻ − e⁻ᶻ) / (eᶻ + e⁻ᶻ)"
  public static let slopeFormula = "∂L/∂z = ∂L/∂a · (1 − a²)"
  public var name = "tanh"
  public var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  public var buffers = (outputs: TensorPair(), inputGradients: TensorPair())

  /// A tanh layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  /// tanh(z).
  public func apply(_ z: Double) -> Double { tanh(z) }
  /// 1 − a².
  public func slope(z: Double, a: Double) -> Double { 1 - a * a }
  public func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double]) {
    ("(1 − {1}²)", [a])
  }
  /// TANH(z).
  public func cellForward(_ z: Formula) -> Formula { .call("TANH", [z]) }
  /// ∂L/∂a · (1 − a²).
  public func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula { delta * (.number(1) - .pow(a, .number(2))) }
}
