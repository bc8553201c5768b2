import Testing
@testable import SheetNet

/// Central-difference checks (relative error ≤ 1e-6) for the dense layer and every activation.
struct DenseActivationGradientTests {
  @Test(arguments: [(1, 3, 2), (4, 5, 3), (7, 8, 1), (3, 64, 10)])
  func dense(batch: Int, inputs: Int, units: Int) throws {
    for seed in UInt64(1)...3 {
      let layer = try built(Dense(units), [inputs], seed: seed)
      layer.b.value = randomTensor([units], seed: seed + 10)
      let x = randomTensor([batch, inputs], seed: seed + 20)
      for r in GradientCheck.layer(layer, input: x) {
        #expect(r.relativeError <= 1e-6, "\(r.name) batch \(batch) \(inputs)→\(units) seed \(seed): \(r.relativeError)")
      }
    }
  }

  static let activations: [@Sendable () -> any Layer] = [
    { ReLU() }, { LeakyReLU(alpha: 0.1) }, { Sigmoid() }, { Tanh() }, { Softmax() },
  ]

  @Test(arguments: 0..<5, [[1, 4], [3, 6], [5, 10]])
  func activation(index: Int, shape: [Int]) throws {
    for seed in UInt64(1)...3 {
      let layer = DenseActivationGradientTests.activations[index]()
      var rng = SeededGenerator(seed: seed)
      _ = try layer.build(inputShape: Array(shape.dropFirst()), rng: &rng)
      let x = randomTensor(shape, seed: seed, lo: -3, hi: 3)
      for r in GradientCheck.layer(layer, input: x) {
        #expect(r.relativeError <= 1e-6, "\(layer.kind) \(shape) seed \(seed): \(r.relativeError)")
      }
    }
  }

  @Test("the gradient check cannot pass on nothing: an empty or mismatched gradient is an infinite error")
  func checkNeedsNumbers() {
    #expect(GradientCheck.relativeError(Tensor(shape: [0]), Tensor(shape: [0])) == .infinity)
    #expect(GradientCheck.relativeError(Tensor(shape: [2], data: [1, 2]), Tensor(shape: [3], data: [1, 2, 3])) == .infinity)
    #expect(GradientCheck.relativeError(Tensor(shape: [0]), Tensor(shape: [2], data: [1, 2])) == .infinity)
    // |1 − 1.5| / (1 + 1.5) = 0.2; the error is the worst element's.
    #expect(GradientCheck.relativeError(Tensor(shape: [2], data: [1, 2]), Tensor(shape: [2], data: [1.5, 2])) == 0.2)
  }

  @Test func activationEdgeValues() {
    #expect(ReLU().apply(-1) == 0 && ReLU().apply(0) == 0 && ReLU().apply(1) == 1)
    #expect(ReLU().slope(z: 0, a: 0) == 0)
    #expect(LeakyReLU(alpha: 0.1).apply(-1) == -0.1 && LeakyReLU(alpha: 0.1).slope(z: 0, a: 0) == 0.1)
    #expect(Sigmoid().apply(0) == 0.5 && Sigmoid().apply(-800) == 0 && Sigmoid().apply(800) == 1)
    #expect(Tanh().apply(0) == 0 && Tanh().slope(z: 0, a: 0) == 1)
    let p = Softmax.probabilities(Tensor(rows: [[1000, 1000, -1000]]))
    #expect(p.data == [0.5, 0.5, 0])
  }
}
