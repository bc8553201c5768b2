import Foundation

/// Gaussian error linear unit, a = z·Φ(z) = ½·z·(1 + erf(z/√2)), the exact form of PyTorch's
/// nn.GELU (not its tanh approximation), as in BERT and GPT-2's successors.
///
/// Φ is the standard normal's cumulative distribution: z is kept in the proportion a normal
/// variable falls below it, so large z pass (a ≈ z), very negative z give ≈ 0, and small
/// negative z dip below 0 (the minimum is about −0.17 at z ≈ −0.75). Slope: Φ(z) + z·φ(z),
/// φ(z) = e^(−z²/2)/√(2π) the normal density. gelu(1) = Φ(1) ≈ 0.841345, gelu(−1) ≈ −0.158655.
public final class GELU: Activation {
  public static let kind = "gelu"
  public static let keys: [String] = []
  public static let symbol = "GELU"
  public static let formula = "a = GELU(z) = z·Φ(z) = ½·z·(1 + erf(z/√2))"
  public static let slopeFormula = "∂L/∂z = ∂L/∂a · (Φ(z) + z·φ(z)), φ(z) = e^(−z²/2)/√(2π)"
  public var name = "gelu"
  public var z = Tensor(shape: [0]), a = Tensor(shape: [0])
  public var buffers = (outputs: TensorPair(), inputGradients: TensorPair())
  /// u = 1 + erf(z/√2) = 2Φ(z) of the last forward pass: a = ½·z·u forward and Φ(z) = ½·u
  /// backward share one erf per element (the same numbers as calling `apply` and `slope`).
  private var onePlusErf = Tensor(shape: [0]), onePlusErfs = TensorPair()

  /// A GELU layer.
  public init() {}
  public convenience init(options: LayerOptions) throws(SheetNetError) { self.init() }

  /// Φ(z) = ½·(1 + erf(z/√2)), the standard normal's cumulative distribution.
  public static func Phi(_ z: Double) -> Double { 0.5 * (1 + erf(z / 2.0.squareRoot())) }
  /// φ(z) = e^(−z²/2)/√(2π), the standard normal's density.
  public static func phi(_ z: Double) -> Double { exp(-z * z / 2) / (2 * Double.pi).squareRoot() }

  /// ½·z·(1 + erf(z/√2)).
  public func apply(_ z: Double) -> Double { 0.5 * z * (1 + erf(z / 2.0.squareRoot())) }
  /// Φ(z) + z·φ(z).
  public func slope(z: Double, a: Double) -> Double { GELU.Phi(z) + z * GELU.phi(z) }

  /// a = ½·z·u with u = 1 + erf(z/√2), kept for `slopes`.
  public func activate(_ z: Tensor, into a: inout Tensor) {
    onePlusErf = onePlusErfs.next(z.shape) { u in Kernels.map(z, into: &u) { 1 + erf($0 / 2.0.squareRoot()) } }
    Kernels.zip(z, onePlusErf, into: &a) { z, u in 0.5 * z * u }
  }

  /// ∂L/∂z = ∂L/∂a · (Φ(z) + z·φ(z)) with Φ(z) = ½·u from forward: no second erf.
  public func slopes(_ delta: Tensor, into dz: inout Tensor) {
    Kernels.zip(delta, z, onePlusErf, into: &dz) { delta, z, u in delta * (0.5 * u + z * GELU.phi(z)) }
  }
  /// (Φ(z) + z·φ(z)) with the three numbers: Φ(z), z, φ(z).
  public func slopeArithmetic(z: Double, a: Double) -> (template: String, args: [Double]) {
    ("({1} + {2}·{3})", [GELU.Phi(z), z, GELU.phi(z)])
  }
  /// 0.5*z*(1+ERF(z/SQRT(2))).
  public func cellForward(_ z: Formula) -> Formula {
    .number(0.5) * z * (.number(1) + .call("ERF", [z / .sqrt(.number(2))]))
  }
  /// ∂L/∂a · (0.5*(1+ERF(z/SQRT(2))) + z*EXP(-z^2/2)/SQRT(2*PI())).
  public func cellBackward(delta: Formula, z: Formula, a: Formula) -> Formula {
    let Phi = .number(0.5) * (.number(1) + .call("ERF", [z / .sqrt(.number(2))]))
    let phi = Formula.exp(-(Formula.pow(z, .number(2))) / .number(2)) / .sqrt(.number(2) * .call("PI", []))
    return delta * (Phi + z * phi)
  }
}
