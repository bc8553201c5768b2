import Foundation

/// SheetNet's own seeded generator: xoshiro256** (Blackman and Vigna), seeded through SplitMix64.
///
/// Never the system's generator: the same seed gives the same stream on every platform, so a
/// lesson's split, initial weights, shuffles and dropout masks are reproducible anywhere.
public struct SeededGenerator: RandomNumberGenerator, Sendable {
  private var s: (UInt64, UInt64, UInt64, UInt64)

  /// A generator whose four state words are SplitMix64(seed) drawn four times.
  public init(seed: UInt64) {
    var x = seed
    func splitMix() -> UInt64 {
      x &+= 0x9E37_79B9_7F4A_7C15
      var z = x
      z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
      z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
      return z ^ (z >> 31)
    }
    s = (splitMix(), splitMix(), splitMix(), splitMix())
  }

  /// Next 64 random bits: result = rotl(s₁·5, 7)·9, then the xoshiro state transition.
  public mutating func next() -> UInt64 {
    let result = ((s.1 &* 5) << 7 | (s.1 &* 5) >> 57) &* 9
    let t = s.1 << 17
    s.2 ^= s.0; s.3 ^= s.1; s.1 ^= s.2; s.0 ^= s.3
    s.2 ^= t
    s.3 = s.3 << 45 | s.3 >> 19
    return result
  }

  /// Uniform in [0, 1) with 53 random bits: (next() >> 11) · 2⁻⁵³.
  public mutating func unit() -> Double { Double(next() >> 11) * 0x1.0p-53 }

  /// Uniform in [lo, hi): lo + (hi − lo)·unit().
  public mutating func uniform(_ lo: Double, _ hi: Double) -> Double { lo + (hi - lo) * unit() }

  /// Uniform integer in 0..<n without modulo bias (rejection on the top of the range).
  public mutating func below(_ n: Int) -> Int {
    precondition(n > 0, "below(n) needs n > 0")
    let bound = UInt64(n), limit = UInt64.max - UInt64.max % bound
    while true {
      let r = next()
      if r < limit { return Int(r % bound) }
    }
  }

  /// Standard normal N(0, 1) by Box–Muller on two uniforms (for generated datasets' noise).
  public mutating func normal() -> Double {
    let u1 = 1 - unit(), u2 = unit()
    return (-2 * log(u1)).squareRoot() * cos(2 * Double.pi * u2)
  }

  /// A Fisher–Yates shuffle of 0..<n driven by this generator.
  public mutating func permutation(_ n: Int) -> [Int] {
    var p = Array(0..<n)
    if n > 1 {
      for i in stride(from: n - 1, to: 0, by: -1) { p.swapAt(i, below(i + 1)) }
    }
    return p
  }

  /// A child generator for an independent stream (e.g. one per purpose: split, init, shuffle).
  public mutating func fork() -> SeededGenerator { SeededGenerator(seed: next()) }
}

/// Weight initialisation schemes (uniform forms, so only √ is needed and every platform agrees).
public enum Initializer: String, Sendable, Codable, CaseIterable {
  /// Glorot/Xavier uniform: W ~ U(−r, r), r = √(6 / (fan_in + fan_out)); suits sigmoid and tanh.
  case glorot
  /// He/Kaiming uniform: W ~ U(−r, r), r = √(6 / fan_in); suits ReLU.
  case he
  /// All zeros (biases; or to show why symmetric weights never learn).
  case zeros

  /// `count` weights for a layer with the given fans.
  public func sample(count: Int, fanIn: Int, fanOut: Int, rng: inout SeededGenerator) -> [Double] {
    let r: Double
    switch self {
    case .glorot: r = (6.0 / Double(max(fanIn + fanOut, 1))).squareRoot()
    case .he: r = (6.0 / Double(max(fanIn, 1))).squareRoot()
    case .zeros: return [Double](repeating: 0, count: count)
    }
    return (0..<count).map { _ in rng.uniform(-r, r) }
  }
}
