/// Central-difference gradient checks: ∂L/∂θ ≈ (L(θ + h) − L(θ − h)) / 2h, compared with backprop.
///
/// Relative error per element: |g − ĝ| / max(|g| + |ĝ|, 1e-4); a tensor's error is the largest
/// over its elements. The floor keeps gradients that are truly 0 (a dead ReLU) from dividing
/// rounding noise (about 1e-11 with h = 1e-5) by nothing: below 1e-4 the check is absolute.
/// Cost: two forward passes per checked element.
public enum GradientCheck {
  /// The analytic and numerical gradients of one tensor and their largest relative error.
  public struct Result: Sendable {
    /// `dense1.W`, `input`.
    public var name: String
    public var analytic: Tensor
    public var numeric: Tensor
    /// max over elements of |g − ĝ| / max(|g| + |ĝ|, 1e-4).
    public var relativeError: Double
  }

  /// Largest relative error between two gradients of the same shape.
  public static func relativeError(_ g: Tensor, _ n: Tensor) -> Double {
    var worst = 0.0
    for i in 0..<g.count {
      let a = g.data[i], b = n.data[i]
      worst = max(worst, abs(a - b) / max(abs(a) + abs(b), 1e-4))
    }
    return worst
  }

  /// Checks one layer on input `x`: L = Σ r ⊙ layer(x) with a fixed random probe r, so
  /// ∂L/∂a = r. Returns a result for the input and for every parameter.
  /// `step` must be in training mode for layers that behave differently (dropout re-uses its
  /// mask: pass a step whose generator is re-seeded by `fresh` before every forward pass).
  public static func layer(_ layer: any Layer, input x: Tensor, h: Double = 1e-5, seed: UInt64 = 7,
                           training: Bool = true, fresh: (() -> Step)? = nil) -> [Result] {
    let makeStep = fresh ?? { Step(training: training, rng: SeededGenerator(seed: seed)) }
    var rng = SeededGenerator(seed: seed)
    let y = layer.forward(x, makeStep())
    let r = Tensor(shape: y.shape, data: (0..<y.count).map { _ in rng.uniform(-1, 1) })
    func loss(_ input: Tensor) -> Double {
      let out = layer.forward(input, makeStep())
      var s = 0.0
      for i in 0..<out.count { s += r.data[i] * out.data[i] }
      return s
    }
    _ = layer.forward(x, makeStep())
    let dx = layer.backward(r, makeStep())
    let grads = layer.parameters.map { $0.grad }
    var results: [Result] = []
    var numeric = Tensor(shape: x.shape)
    var probe = x
    for i in 0..<x.count {
      let keep = probe.data[i]
      probe.data[i] = keep + h
      let up = loss(probe)
      probe.data[i] = keep - h
      let down = loss(probe)
      probe.data[i] = keep
      numeric.data[i] = (up - down) / (2 * h)
    }
    results.append(Result(name: "\(layer.name).input", analytic: dx, numeric: numeric, relativeError: relativeError(dx, numeric)))
    for (p, g) in zip(layer.parameters, grads) {
      var n = Tensor(shape: p.value.shape)
      for i in 0..<p.value.count {
        let keep = p.value.data[i]
        p.value.data[i] = keep + h
        let up = loss(x)
        p.value.data[i] = keep - h
        let down = loss(x)
        p.value.data[i] = keep
        n.data[i] = (up - down) / (2 * h)
      }
      results.append(Result(name: "\(layer.name).\(p.name)", analytic: g, numeric: n, relativeError: relativeError(g, n)))
    }
    return results
  }

  /// Checks every parameter of a network for one batch: backprop's ∂L/∂θ against central
  /// differences of the loss. Parameters are left as they were; no update is made.
  /// `seed` re-seeds the pass generator before each forward pass so dropout masks repeat.
  public static func network(_ model: Sequential, x: Tensor, t: Tensor, loss: any Loss, h: Double = 1e-5, seed: UInt64 = 7) -> [Result] {
    func step() -> Step { Step(training: true, rng: SeededGenerator(seed: seed)) }
    func value() -> Double {
      let y = model.forward(x, step())
      return loss.value(output: y, target: t, last: model.layers.last)
    }
    let y = model.forward(x, step())
    let (delta, skipsLast) = loss.gradient(output: y, target: t, last: model.layers.last)
    model.backward(delta, from: skipsLast ? model.layers.count - 1 : model.layers.count, step())
    var results: [Result] = []
    for layer in model.layers {
      for p in layer.parameters {
        let g = p.grad
        var n = Tensor(shape: p.value.shape)
        for i in 0..<p.value.count {
          let keep = p.value.data[i]
          p.value.data[i] = keep + h
          let up = value()
          p.value.data[i] = keep - h
          let down = value()
          p.value.data[i] = keep
          n.data[i] = (up - down) / (2 * h)
        }
        results.append(Result(name: "\(layer.name).\(p.name)", analytic: g, numeric: n, relativeError: relativeError(g, n)))
      }
    }
    return results
  }
}
