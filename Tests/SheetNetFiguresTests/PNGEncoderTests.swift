import CairoKit
import SheetNet
import SheetNetFigures
import Testing

/// CairoKit's PNG encoder writes its own deflate stream (copies of the pixel on the left and of
/// the row above, fixed Huffman codes, four bands). Each case is decoded twice, independently:
/// by Cairo's reader (libpng and zlib) and by the engine's own `Inflate`, whose output must be
/// exactly the rows the PNG describes, with the Adler-32 the stream ends on.
@Suite("PNG encoder: every kind of row, decoded two ways")
struct PNGEncoderTests {
  /// A test pattern: `pixel(x, y)` as straight RGBA in 0…1.
  struct Pattern: CustomTestStringConvertible, Sendable {
    let name: String, width: Int, height: Int
    let pixel: @Sendable (Int, Int) -> (Double, Double, Double, Double)
    var testDescription: String { "\(name) \(width)×\(height)" }
  }

  static let patterns: [Pattern] = [
    // Runs longer than one copy (86 pixels), blocks of repeated rows crossing band boundaries,
    // rows that repeat the row above only in part, and scattered literal pixels.
    Pattern(name: "blocks, runs and noise", width: 301, height: 37) { x, y in
      if y % 9 == 4 && x % 7 == 3 { return (Double(x % 5) / 4, Double(y % 3) / 2, 0.5, 1) }
      if x < 200 { return (Double(y / 4 % 2), Double(x / 50) / 4, 0.25, 1) }
      return (1, 1, 1, 1)
    },
    // Each 2×3 block one value, as a raster scaled up by whole pixels.
    Pattern(name: "scaled raster", width: 96, height: 60) { x, y in
      let v = Double((x / 2 * 7 + y / 3 * 13) % 17) / 16
      return (v, 1 - v, v * v, 1)
    },
    // One translucent pixel in the last band: the RGB attempt gives up and RGBA is written.
    Pattern(name: "translucent pixel late", width: 40, height: 12) { x, y in
      x == 39 && y == 11 ? (0.2, 0.4, 0.6, 0.5) : (Double(x % 3) / 2, 0.5, 0.5, 1)
    },
    Pattern(name: "translucent everywhere", width: 33, height: 9) { x, y in
      (Double(x) / 32, Double(y) / 8, 0.5, Double((x + y) % 4) / 3)
    },
    // A row wider than deflate's 32 KB window: no copies of the row above are possible.
    Pattern(name: "wider than the window", width: 11000, height: 3) { x, y in
      (Double(x / 300 % 2), Double(y), 0.5, 1)
    },
    Pattern(name: "one pixel", width: 1, height: 1) { _, _ in (0.1, 0.2, 0.3, 1) },
    Pattern(name: "fewer rows than bands", width: 5, height: 2) { x, _ in (Double(x) / 4, 0, 1, 1) },
  ]

  @Test("lossless, and a valid zlib stream", arguments: patterns)
  func roundTrip(_ pattern: Pattern) throws {
    let surface = try Surface.image(width: pattern.width, height: pattern.height) { i in
      pattern.pixel(i % pattern.width, i / pattern.width)
    }
    let expected = try surface.rgbaPixels()
    let png = try surface.pngBytes()

    // Cairo's reader.
    #expect(try Surface.png(png).rgbaPixels().rgba == expected.rgba)

    // The engine's inflater, on the IDAT data: rows of filter byte 0, then RGB or RGBA.
    let (colourType, idat) = try #require(chunks(png))
    let alpha = colourType == 6
    #expect(alpha == expected.rgba.enumerated().contains { $0.offset % 4 == 3 && $0.element != 255 })
    #expect(idat.count > 6 && (Int(idat[0]) << 8 | Int(idat[1])) % 31 == 0)
    let (raw, end) = try Inflate.inflate(idat, from: 2)
    var rows: [UInt8] = []
    for y in 0..<pattern.height {
      rows.append(0)
      for x in 0..<pattern.width {
        let p = (y * pattern.width + x) * 4
        rows += expected.rgba[p..<p + (alpha ? 4 : 3)]
      }
    }
    #expect(raw == rows)
    #expect(end == idat.count - 4)
    let trailer = idat[(idat.count - 4)...].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    #expect(trailer == adler32(rows))
  }

  @Test("flat colour and repeated rows compress: under 2 % of the raw bytes")
  func compresses() throws {
    let surface = try Surface.image(width: 640, height: 360) { i in
      let (x, y) = (i % 640, i / 640)
      return x > 100 && x < 300 && y > 50 && y < 250 ? (Double(x / 20 % 2), 0.3, Double(y / 20 % 2), 1) : (1, 1, 1, 1)
    }
    #expect(try surface.pngBytes().count * 50 < 640 * 360 * 3)  // 8.6 KB here; libpng's level 6 gives 1.6 KB
  }

  /// The colour type and the IDAT data joined, from a PNG's chunks.
  /// The pHYs chunk's (x, y pixels per unit, unit), nil when there is none.
  func physical(_ png: [UInt8]) -> (UInt32, UInt32, UInt8)? {
    var i = 8
    while i + 8 <= png.count {
      let length = png[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
      if String(decoding: png[i + 4..<i + 8], as: UTF8.self) == "pHYs" {
        let d = Array(png[i + 8..<i + 8 + length])
        let x = d[0..<4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }, y = d[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
        return (x, y, d[8])
      }
      i += 12 + length
    }
    return nil
  }

  @Test("a figure's PNG records its resolution: a slide at its default scale is 144 dpi, print at its default 300 dpi", arguments: Theme.all)
  func resolution(_ theme: Theme) throws {
    let figure = Figure(name: "dpi", size: theme.size) { $0.fill(Rect(theme.size), Color.white) }
    let png = try FigureFile.render(figure, as: .png, scale: theme.defaultScale)
    let surface = try Surface.png(png).rgbaPixels()
    #expect(Double(surface.width) == (theme.size.width * theme.dpi / 72).rounded(.up))
    #expect(theme.name == "print" ? surface.width == 1950 && surface.height == 1200 : surface.width == 1920 && surface.height == 1080)
    let (x, y, unit) = try #require(physical(png))
    #expect(unit == 1 && x == y)
    // Pixels per metre back to dots per inch: within the rounding of a whole number per metre.
    #expect(abs(Double(x) * 0.0254 - theme.dpi) < 0.02, "\(Double(x) * 0.0254) dpi")
    #expect(surface.rgba.count == surface.width * surface.height * 4)
  }

  func chunks(_ png: [UInt8]) -> (UInt8, [UInt8])? {
    var i = 8, idat: [UInt8] = [], colour: UInt8? = nil
    while i + 8 <= png.count {
      let length = png[i..<i + 4].reduce(0) { $0 << 8 | Int($1) }
      let type = String(decoding: png[i + 4..<i + 8], as: UTF8.self)
      if type == "IHDR" { colour = png[i + 8 + 9] }
      if type == "IDAT" { idat += png[i + 8..<i + 8 + length] }
      i += 12 + length
    }
    return colour.map { ($0, idat) }
  }

  /// Adler-32 (RFC 1950): s₁ = 1 + Σ bytes, s₂ = Σ s₁ after each byte, both mod 65521.
  func adler32(_ bytes: [UInt8]) -> UInt32 {
    var s1: UInt32 = 1, s2: UInt32 = 0
    for b in bytes {
      s1 = (s1 + UInt32(b)) % 65521
      s2 = (s2 + s1) % 65521
    }
    return s2 << 16 | s1
  }
}
