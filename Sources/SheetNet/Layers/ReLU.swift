/// Rectified linear unit, a = max(0, z), element-wise.
///
/// At z = 0 the slope is taken as 0 (as PyTorch does); a workbook writes IF(z>0, ∂L/∂a, 0).
public final class ReLU: Activation {
  public static let kind = "relu"
  public static let keys: [String] = []
  public static let symbol = "ReLU"
  public static let formula = "a = ReLU(z) = max(0, z)"
  public static let slopeFormula = "∂L/∂z = ∂L/∂a · [z > 0]"
  public var name = "relu"
  public var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  public var buffers = (outputs: TensorPair(), inputGradients: TensorPair())

  /// A ReLU layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  /// max(0, z).
  public func apply(_ z: Double) -> Double { z > 0 ? z : 0 }
  /// 1 for z > 0, else 0.
  public func slope(z: Double, a: Double) -> Double { z > 0 ? 1 : 0 }
  /// δ·[a > 0], reading δ and a only (a > 0 exactly when z > 0): one stream less than z and a.
  public func slopes(_ delta: Tensor, into dz: inout Tensor) {
    Kernels.zip(delta, a, into: &dz) { $0 * ($1 > 0 ? 1 : 0) }
  }
  public func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double]) {
    (z > 0 ? "1  (z = {1} > 0)" : "0  (z = {1} ≤ 0)", [z])
  }
  /// IF(z > 0, z, 0).
  public func cellForward(_ z: Formula) -> Formula { .when(.greater(z, .number(0)), z, .number(0)) }
  /// IF(z > 0, ∂L/∂a, 0).
  public func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula { .when(.greater(z, .number(0)), delta, .number(0)) }
}
