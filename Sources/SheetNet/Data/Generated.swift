import Foundation

/// TensorFlow Playground's 2-D classification sets, drawn from our seeded generator.
///
/// Points lie in roughly [−6, 6]² as in Playground; `noise` in 0…1 scales each set's jitter.
/// Labels are 0 and 1 (spiral and gauss may be asked for more classes with `classes`).
public enum Generated {
  /// The names a lesson may use under `data.dataset`.
  public static let kinds = ["xor", "circle", "gauss", "spiral", "moons"]

  /// `count` points of the named set.
  public static func make(_ kind: String, count: Int, noise: Double, classes: Int = 2, rng: inout SeededGenerator) -> Dataset {
    var points: [[Double]] = []
    var labels: [Int] = []
    func add(_ x: Double, _ y: Double, _ label: Int) { points.append([x, y]); labels.append(label) }
    switch kind {
    case "circle":
      // Playground: inside r ∈ [0, 2.5] is class 1, the ring r ∈ [3.5, 5] is class 0.
      for i in 0..<count {
        let inside = i < count / 2
        let r = inside ? rng.uniform(0, 2.5) : rng.uniform(3.5, 5)
        let angle = rng.uniform(0, 2 * .pi)
        let x = r * cos(angle), y = r * sin(angle)
        let nx = rng.uniform(-5, 5) * noise, ny = rng.uniform(-5, 5) * noise
        add(x + nx, y + ny, (x + nx) * (x + nx) + (y + ny) * (y + ny) < 9 ? 1 : 0)
      }
    case "xor":
      // Playground: uniform in [−5, 5]² kept 0.3 off the axes; class 1 when x·y ≥ 0.
      for _ in 0..<count {
        var x = rng.uniform(-5, 5), y = rng.uniform(-5, 5)
        x += x > 0 ? 0.3 : -0.3
        y += y > 0 ? 0.3 : -0.3
        let nx = rng.uniform(-5, 5) * noise, ny = rng.uniform(-5, 5) * noise
        add(x + nx, y + ny, (x + nx) * (y + ny) >= 0 ? 1 : 0)
      }
    case "gauss":
      // Clusters with σ = 0.5 + 3.5·noise around centres on a circle of radius 2.8.
      let sigma = 0.5 + 3.5 * noise
      for i in 0..<count {
        let c = i % classes
        let angle = 2 * Double.pi * Double(c) / Double(classes) + .pi / 4
        add(2.8 * cos(angle) + rng.normal() * sigma * 0.5, 2.8 * sin(angle) + rng.normal() * sigma * 0.5, c)
      }
    case "spiral":
      // Arms of radius 5·t/n turning by 1.75·2π, one arm per class, jittered by noise.
      let perClass = count / classes
      for c in 0..<classes {
        let delta = 2 * Double.pi * Double(c) / Double(classes)
        for i in 0..<perClass {
          let r = Double(i) / Double(perClass) * 5
          let t = 1.75 * Double(i) / Double(perClass) * 2 * .pi + delta
          add(r * sin(t) + rng.uniform(-1, 1) * noise, r * cos(t) + rng.uniform(-1, 1) * noise, c)
        }
      }
    default:  // moons
      // Two interleaved half circles (as scikit-learn's make_moons), scaled ×2.5 and centred.
      for i in 0..<count {
        let upper = i < count / 2
        let t = rng.uniform(0, .pi)
        let x = upper ? cos(t) : 1 - cos(t), y = upper ? sin(t) : 0.5 - sin(t)
        add((x - 0.5) * 2.5 + rng.normal() * noise * 0.5, (y - 0.25) * 2.5 + rng.normal() * noise * 0.5, upper ? 0 : 1)
      }
    }
    return Dataset(name: kind, x: Tensor(rows: points), labels: labels, classNames: (0..<max(classes, 2)).map(String.init))
  }
}
