/// A colormap: one lookup from t ∈ [0, 1] to a colour, piecewise linear between stops.
///
/// NaN and ±∞ map to `bad` (a mid grey), so a broken value is visible rather than silently
/// coloured as an extreme.
public struct Colormap: Sendable {
  /// The name shown in legends (`viridis`, `RdBu`).
  public let name: String
  /// Positions in 0…1 (increasing, first 0, last 1) and their colours.
  public let stops: [(position: Double, color: Color)]
  /// The colour of non-finite values.
  public var bad = Color(hex: 0x9E9E9E)

  /// A map through evenly spaced colours.
  public init(name: String, colors: [Color]) {
    precondition(colors.count >= 2, "a colormap needs at least two colours")
    self.name = name
    self.stops = colors.enumerated().map { (Double($0.offset) / Double(colors.count - 1), $0.element) }
  }

  /// A map through colours at given positions.
  public init(name: String, stops: [(position: Double, color: Color)]) {
    precondition(stops.count >= 2 && stops.first!.position == 0 && stops.last!.position == 1,
                 "a colormap's stops must start at 0 and end at 1")
    self.name = name
    self.stops = stops
  }

  /// The colour at t, clamped to [0, 1]: linear interpolation between the two nearest stops.
  /// O(log stops).
  public func callAsFunction(_ t: Double) -> Color {
    guard t.isFinite else { return bad }
    let t = min(max(t, 0), 1)
    var lo = 0, hi = stops.count - 1
    while hi - lo > 1 {
      let mid = (lo + hi) / 2
      if stops[mid].position <= t { lo = mid } else { hi = mid }
    }
    let (p0, c0) = stops[lo], (p1, c1) = stops[hi]
    return c0.mixed(with: c1, p1 > p0 ? (t - p0) / (p1 - p0) : 0)
  }

  /// Viridis (van der Walt and Smith, 2015; CC0): perceptually uniform, colour-blind safe and
  /// legible in greyscale. For magnitudes (|∂L/∂x|, activations ≥ 0, counts).
  /// 17 samples of the 256-entry table (entries 0, 16, …, 240, 255), interpolated linearly.
  public static let viridis = Colormap(name: "viridis", stops: [
    (0 / 255, Color(r: 0.267004, g: 0.004874, b: 0.329415)),
    (16 / 255, Color(r: 0.282327, g: 0.094955, b: 0.417331)),
    (32 / 255, Color(r: 0.278826, g: 0.175490, b: 0.483397)),
    (48 / 255, Color(r: 0.258965, g: 0.251537, b: 0.524736)),
    (64 / 255, Color(r: 0.229739, g: 0.322361, b: 0.545706)),
    (80 / 255, Color(r: 0.199430, g: 0.387607, b: 0.554642)),
    (96 / 255, Color(r: 0.172719, g: 0.448791, b: 0.557885)),
    (112 / 255, Color(r: 0.149039, g: 0.508051, b: 0.557250)),
    (128 / 255, Color(r: 0.127568, g: 0.566949, b: 0.550556)),
    (144 / 255, Color(r: 0.120638, g: 0.625828, b: 0.533488)),
    (160 / 255, Color(r: 0.157851, g: 0.683765, b: 0.501686)),
    (176 / 255, Color(r: 0.246070, g: 0.738910, b: 0.452024)),
    (192 / 255, Color(r: 0.369214, g: 0.788888, b: 0.382914)),
    (208 / 255, Color(r: 0.515992, g: 0.831158, b: 0.294279)),
    (224 / 255, Color(r: 0.678489, g: 0.863742, b: 0.189503)),
    (240 / 255, Color(r: 0.845561, g: 0.887322, b: 0.099702)),
    (255 / 255, Color(r: 0.993248, g: 0.906157, b: 0.143936)),
  ])

  /// Diverging blue–white–red for signed values (weights, gradients): ColorBrewer's RdBu (Brewer,
  /// 11 classes; marked colour-blind safe) reversed so negatives are blue, zero is white and
  /// positives are red. Use with `ColorScale.symmetric` so 0 sits exactly on white.
  public static let diverging = Colormap(name: "RdBu", colors: [
    0x053061, 0x2166AC, 0x4393C3, 0x92C5DE, 0xD1E5F0, 0xF7F7F7, 0xFDDBC7, 0xF4A582, 0xD6604D, 0xB2182B, 0x67001F,
  ].map { Color(hex: $0) })

  /// Greys for images: 0 is white paper, 1 is black ink (ColorBrewer's Greys), as digits are
  /// written.
  public static let greys = Colormap(name: "Greys", colors: [
    0xFFFFFF, 0xF0F0F0, 0xD9D9D9, 0xBDBDBD, 0x969696, 0x737373, 0x525252, 0x252525, 0x000000,
  ].map { Color(hex: $0) })
}

/// Colours for classes, distinguishable with the common colour-vision deficiencies: the
/// Okabe–Ito palette (blue and orange first, as TensorFlow Playground's two classes), then three
/// of Paul Tol's for up to ten classes; beyond ten the colours repeat.
public enum ClassColors {
  /// The palette, class 0 first.
  public static let palette: [Color] = [
    0x0072B2, 0xE69F00, 0x009E73, 0xCC79A7, 0x56B4E9, 0xD55E00, 0xF0E442, 0x999999, 0x882255, 0x44AA99,
  ].map { Color(hex: $0) }

  /// The colour of class `k`.
  public static func color(_ k: Int) -> Color { palette[((k % palette.count) + palette.count) % palette.count] }
}

/// Maps data values to t ∈ [0, 1] for a colormap.
public struct ColorScale: Equatable, Sendable {
  /// The value mapped to 0.
  public let lower: Double
  /// The value mapped to 1.
  public let upper: Double

  /// A linear scale from `lower` (t = 0) to `upper` (t = 1).
  public init(lower: Double, upper: Double) {
    self.lower = lower
    self.upper = upper
  }

  /// Min to max of the finite values (a span of 1 around a constant).
  public static func linear(_ values: [Double]) -> ColorScale {
    let finite = values.filter(\.isFinite)
    guard let lo = finite.min(), let hi = finite.max() else { return ColorScale(lower: 0, upper: 1) }
    return lo < hi ? ColorScale(lower: lo, upper: hi) : ColorScale(lower: lo - 0.5, upper: hi + 0.5)
  }

  /// 0 to max for magnitudes (values ≥ 0), so 0 is always the darkest colour.
  public static func magnitude(_ values: [Double]) -> ColorScale {
    let hi = values.filter(\.isFinite).max() ?? 0
    return ColorScale(lower: 0, upper: hi > 0 ? hi : 1)
  }

  /// −m to +m with m = max |v|, so 0 maps to exactly 0.5 (white on the diverging map).
  public static func symmetric(_ values: [Double]) -> ColorScale {
    let m = values.filter(\.isFinite).map(abs).max() ?? 0
    return ColorScale(lower: -(m > 0 ? m : 1), upper: m > 0 ? m : 1)
  }

  /// t = (v − lower)/(upper − lower), not clamped (the colormap clamps).
  public func callAsFunction(_ v: Double) -> Double { upper > lower ? (v - lower) / (upper - lower) : 0.5 }
}
