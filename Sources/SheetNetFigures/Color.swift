import Foundation

/// An sRGB colour with straight (not premultiplied) alpha, each channel in 0…1.
public struct Color: Equatable, Hashable, Sendable {
  /// Red, green, blue and opacity.
  public var r: Double, g: Double, b: Double, a: Double

  /// A colour from channels in 0…1.
  public init(r: Double, g: Double, b: Double, a: Double = 1) {
    self.r = r
    self.g = g
    self.b = b
    self.a = a
  }

  /// A colour from a 24-bit `0xRRGGBB` value.
  public init(hex: UInt32, alpha: Double = 1) {
    self.init(r: Double((hex >> 16) & 0xFF) / 255, g: Double((hex >> 8) & 0xFF) / 255, b: Double(hex & 0xFF) / 255, a: alpha)
  }

  /// The same colour with opacity `a`.
  public func opacity(_ a: Double) -> Color { Color(r: r, g: g, b: b, a: a) }

  /// Linear blend: (1 − t)·self + t·other, channel by channel.
  public func mixed(with other: Color, _ t: Double) -> Color {
    Color(r: r + (other.r - r) * t, g: g + (other.g - g) * t, b: b + (other.b - b) * t, a: a + (other.a - a) * t)
  }

  /// Relative luminance (WCAG 2): 0.2126·R + 0.7152·G + 0.0722·B on linearised channels.
  public var luminance: Double {
    func linear(_ c: Double) -> Double { c <= 0.04045 ? c / 12.92 : pow((c + 0.055) / 1.055, 2.4) }
    return 0.2126 * linear(r) + 0.7152 * linear(g) + 0.0722 * linear(b)
  }

  /// Black or white, whichever reads better on top of this colour (WCAG contrast).
  public var legibleText: Color {
    // Contrast with black is (L + 0.05)/0.05, with white 1.05/(L + 0.05); equal at L ≈ 0.179.
    luminance > 0.179 ? Theme.ink : .white
  }

  /// Opaque white.
  public static let white = Color(r: 1, g: 1, b: 1)
  /// Opaque black.
  public static let black = Color(r: 0, g: 0, b: 0)
  /// Fully transparent.
  public static let clear = Color(r: 0, g: 0, b: 0, a: 0)
}

/// A grid of colours, row-major from the top-left pixel: what `Canvas.image` draws, each pixel a
/// sharp square (nearest-neighbour, never smoothed).
public struct Raster: Equatable, Sendable {
  /// Pixels per row.
  public let width: Int
  /// Rows.
  public let height: Int
  /// width × height colours, row by row.
  public var pixels: [Color]

  /// A raster from its pixels, row-major.
  public init(width: Int, height: Int, pixels: [Color]) {
    precondition(width > 0 && height > 0 && pixels.count == width * height,
                 "Raster \(width)×\(height) needs \(width * height) pixels, got \(pixels.count)")
    self.width = width
    self.height = height
    self.pixels = pixels
  }

  /// Values (row-major, `width` per row) coloured through `colormap` after `scale` maps them to 0…1.
  public init(values: [Double], width: Int, colormap: Colormap, scale: ColorScale) {
    self.init(width: width, height: values.count / max(width, 1), pixels: values.map { colormap(scale($0)) })
  }

  /// The pixel in row `row`, column `column`.
  public subscript(row: Int, column: Int) -> Color { pixels[row * width + column] }
}
