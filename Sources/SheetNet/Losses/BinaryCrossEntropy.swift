import Foundation

/// Binary cross-entropy, L = −(1/(N·K)) Σ [t·log a + (1 − t)·log(1 − a)] with a = σ(z), fused.
///
/// When the network ends in `Sigmoid` the loss reads its logits z; otherwise the output is taken
/// as logits. Each term is computed as max(z, 0) − z·t + log(1 + e^−|z|), which never takes the
/// log of 0, and backpropagation starts at ∂L/∂z = (a − t)/(N·K).
public struct BinaryCrossEntropy: Loss {
  public static let kind = "binary_cross_entropy"
  public static let formula = "L = −(1/(N·K)) Σ [t·log a + (1 − t)·log(1 − a)],  a = σ(z)"
  /// The loss.
  public init() {}

  func logits(_ y: Tensor, _ last: (any Layer)?) -> Tensor { (last as? Sigmoid)?.z ?? y }

  public func value(output y: Tensor, target t: Tensor, last: (any Layer)?) -> Double {
    let z = logits(y, last)
    var total = 0.0
    for i in 0..<z.count {
      let zi = z.data[i]
      total += max(zi, 0) - zi * t.data[i] + log1p(exp(-abs(zi)))
    }
    return total / Double(max(z.count, 1))
  }

  public func gradient(output y: Tensor, target t: Tensor, last: (any Layer)?, into delta: inout Tensor) -> Bool {
    let z = logits(y, last)
    let scale = 1 / Double(max(z.count, 1))
    Kernels.zip(z, t, into: &delta) { (Sigmoid.sigma($0) - $1) * scale }
    return last is Sigmoid
  }

  public func trace(_ tracer: Tracer, output y: Tensor, target t: Tensor, last: (any Layer)?, value: Double, delta: Tensor, skipsLast: Bool) {
    let z = logits(y, last), count = Double(z.count)
    tracer.record("loss", .loss, "t", formula: "t: the targets, 0 or 1", t)
    tracer.record("loss", .loss, "L", formula: Self.formula, Tensor([value]))
    tracer.record("loss", .loss, skipsLast ? "dz" : "dy", symbol: "∂L/∂z", formula: "∂L/∂z = (σ(z) − t)/(N·K)  (sigmoid and cross-entropy together)", delta) { i in
      Arithmetic(lhs: elementLabel("∂L/∂z", delta.shape, i), template: "(σ({0}) − {1})/{2}", args: [z.data[i], t.data[i], count], result: delta.data[i])
    }
  }
}
