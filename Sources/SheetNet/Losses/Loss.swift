import Foundation

/// A loss L(y, t) averaged over the batch, and where backpropagation starts.
public protocol Loss: Sendable, SheetFormulas {
  /// The word lesson files use (`cross_entropy`).
  static var kind: String { get }
  /// The loss in course notation, e.g. `L = −(1/N) Σₙ Σₖ tₙₖ·log aₙₖ`.
  static var formula: String { get }
  /// L for the network's output y and the targets t (both [N, K]); `last` is the final layer.
  func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double
  /// Writes the gradient that starts backpropagation into `delta` (y's shape, every element
  /// overwritten) and returns `skipsLast`: when true the gradient is ∂L/∂z, taken with respect
  /// to the input of the final layer (a fused softmax or sigmoid), which is then skipped;
  /// otherwise it is ∂L/∂y.
  func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool
  /// Writes the loss and its gradient into the trace.
  func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool)
}

extension Loss {
  /// The kind of this loss.
  public var kind: String { Self.kind }

  /// The gradient that starts backpropagation as a new tensor, and `skipsLast` (see above).
  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?) -> (delta: Tensor, skipsLast: Bool) {
    var delta = Tensor(overwrittenShape: y.shape)
    let skipsLast = gradient(output: y, target: t, last: last, into: &delta)
    return (delta, skipsLast)
  }
}

/// Every loss a lesson may name.
public let lossKinds: [String: any Loss] = [
  CrossEntropy.kind: CrossEntropy(), BinaryCrossEntropy.kind: BinaryCrossEntropy(),
  MeanSquaredError.kind: MeanSquaredError(), HalfSquaredError.kind: HalfSquaredError(),
  TokenCrossEntropy.kind: TokenCrossEntropy(),
]

/// m = maxₖ zₖ and s = Σₖ e^(zₖ − m) over the `width` logits of z starting at `start`: one row's
/// log-sum-exp, log Σₖ e^zₖ = m + log s, in the softmax's own order (the cross-entropy losses).
func maxAndSum(_ z: Tensor, start: Int, width: Int) -> (m: Double, s: Double) {
  var m = -Double.infinity, s = 0.0
  for j in 0..<width { m = max(m, z.data[start + j]) }
  for j in 0..<width { s += exp(z.data[start + j] - m) }
  return (m, s)
}
