/// Leaky ReLU, a = z for z > 0 and α·z otherwise (α = 0.01 unless the lesson says).
///
/// At z = 0 the slope is taken as α, matching a workbook's IF(z>0, 1, α).
public final class LeakyReLU: Activation {
  public static let kind = "leaky_relu"
  public static let keys = ["alpha"]
  public static let symbol = "LeakyReLU"
  public static let formula = "a = z if z > 0, else α·z"
  public static let slopeFormula = "∂L/∂z = ∂L/∂a · (1 if z > 0, else α)"
  public var name = "leaky_relu"
  public var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  public var buffers = (outputs: TensorPair(), inputGradients: TensorPair())
  /// The slope for negative z.
  public let alpha: Double

  /// A leaky ReLU with slope `alpha` below zero.
  public init(alpha: Double = 0.01) { self.alpha = alpha }
  public convenience init(options: LayerOptions) throws(SheetNetError) {
    self.init(alpha: try options.double("alpha", default: 0.01))
  }
  public var options: [(key: String, value: Value)] { [("alpha", .number(alpha))] }

  /// z for z > 0, else α·z.
  public func apply(_ z: Double) -> Double { z > 0 ? z : alpha * z }
  /// 1 for z > 0, else α.
  public func slope(z: Double, a: Double) -> Double { z > 0 ? 1 : alpha }
  public func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double]) {
    z > 0 ? ("1  (z = {1} > 0)", [z]) : ("{1}  (z = {2} ≤ 0)", [alpha, z])
  }
  /// IF(z > 0, z, α·z).
  public func cellForward(_ z: Formula) -> Formula { .when(.greater(z, .number(0)), z, .number(alpha) * z) }
  /// IF(z > 0, ∂L/∂a, ∂L/∂a·α).
  public func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula {
    .when(.greater(z, .number(0)), delta, delta * .number(alpha))
  }
}
