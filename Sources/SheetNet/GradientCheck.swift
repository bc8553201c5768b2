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
    /// ∂L/∂θ from the layer's backward pass.
    public var analytic: Tensor
    /// (L(θ + h) − L(θ − h)) / 2h for each element: central differences.
    public var numeric: Tensor
    /// max over elements of |g − ĝ| / max(|g| + |ĝ|, 1e-4), kinks left out.
    public var relativeError: Double
    /// Elements whose ±h perturbation switches a ReLU or a max-pool winner (a point where the
    /// loss has no derivative, e.g. z = 0 exactly): central differences cannot check them, so
    /// they are counted here and left out of `relativeError`.
    public var kinks: Int = 0
  }

  /// Where the piecewise-linear layers switch: the sign of every ReLU input and every max-pool
  /// winner, hashed. Two forward passes with the same pattern lie on one smooth piece.
  static func switchPattern(_ model: Sequential) -> Int {
    var h = Hasher()
    for layer in model.layers {
      if let r = layer as? ReLU { for z in r.z.data { h.combine(z > 0) } }
      if let r = layer as? LeakyReLU { for z in r.z.data { h.combine(z > 0) } }
      if let m = layer as? MaxPool2D { h.combine(m.winners) }
    }
    return h.finalize()
  }

  /// Largest relative error between two gradients of the same shape: maxᵢ |gᵢ − nᵢ| / max(|gᵢ| + |nᵢ|, 1e-4).
  /// +∞ when the counts differ or there is nothing to compare, so a missing or empty gradient never passes.
  public static func relativeError(_ g: Tensor, _ n: Tensor) -> Double {
    guard g.count == n.count, g.count > 0 else { return .infinity }
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
  /// differences of the loss. Parameters are left as they were; no update is made. Elements on
  /// a kink (see `Result.kinks`) are counted, not compared.
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
        var smooth: [Int] = []
        for i in 0..<p.value.count {
          let keep = p.value.data[i]
          p.value.data[i] = keep + h
          let up = value()
          let patternUp = switchPattern(model)
          p.value.data[i] = keep - h
          let down = value()
          let patternDown = switchPattern(model)
          p.value.data[i] = keep
          n.data[i] = (up - down) / (2 * h)
          if patternUp == patternDown { smooth.append(i) }
        }
        let error = relativeError(Tensor(smooth.map { g.data[$0] }), Tensor(smooth.map { n.data[$0] }))
        results.append(Result(name: "\(layer.name).\(p.name)", analytic: g, numeric: n, relativeError: error,
                              kinks: p.value.count - smooth.count))
      }
    }
    _ = model.forward(x, step())  // leave the caches as the unperturbed pass made them
    return results
  }
}
