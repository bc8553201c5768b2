import Foundation
import SheetNet
import SheetNetFigures

/// Renders figures to PNG, SVG or PDF bytes and writes them atomically.
///
/// Determinism: the same figure gives the same bytes. PDF carries no creation date; SVG's
/// surface and image ids, which Cairo numbers from a process-wide counter, are renumbered in
/// order of appearance; PNG is identical on the same machine (same Cairo, pixman and fonts).
public enum FigureFile {
  /// The figure encoded as `format`; PNG has `scale` pixels per point, recorded in its pHYs
  /// chunk as scale × 72 dpi (a slide's default 2 is 144 dpi; print's 300/72 is 300 dpi).
  public static func render(_ figure: Figure, as format: ImageFormat, scale: Double = 2) throws(CairoError) -> [UInt8] {
    switch format {
    case .png:
      let surface = try pngSurface(figure, scale: scale)
      return try surface.pngBytes(pixelsPerPoint: scale)
    case .svg, .pdf:
      let surface = try Surface.document(format, width: figure.size.width, height: figure.size.height)
      try draw(figure, on: surface, scale: 1, vector: true)
      let bytes = try surface.documentBytes()
      return format == .svg ? canonicalSVGIdentifiers(bytes) : bytes
    }
  }

  /// Several figures of one page size as the pages of one PDF, in order (deterministic, like
  /// `render`). Throws when `pages` is empty or the sizes differ.
  public static func pdf(pages: [Figure]) throws(CairoError) -> [UInt8] {
    guard let first = pages.first, pages.allSatisfy({ $0.size == first.size }) else {
      throw .invalidSize("a PDF needs at least one page, all of one size")
    }
    let surface = try Surface.document(.pdf, width: first.size.width, height: first.size.height)
    let context = try Context(surface)
    let canvas = CairoCanvas(context, vector: true, fonts: try FontFaces.load())
    for figure in pages {
      figure.draw(canvas)
      if let error = canvas.error { throw error }
      try context.check("drawing \(figure.name)")
      try context.showPage()
    }
    return try surface.documentBytes()
  }

  /// The figure drawn on an image surface of scale × its size in pixels (for tests that read pixels).
  public static func pngSurface(_ figure: Figure, scale: Double) throws(CairoError) -> Surface {
    guard scale > 0, scale <= 16 else { throw .invalidSize("--scale must be above 0 and at most 16, not \(scale)") }
    // Whole pixels covering the page; a product a rounding error above a whole number (468 × 300/72
    // = 1950.0000000000002) is that number, not one pixel more.
    func pixels(_ points: Double) -> Int { Int((points * scale - 1e-6).rounded(.up)) }
    let surface = try Surface.image(width: pixels(figure.size.width), height: pixels(figure.size.height))
    try draw(figure, on: surface, scale: scale, vector: false)
    return surface
  }

  private static func draw(_ figure: Figure, on surface: Surface, scale: Double, vector: Bool) throws(CairoError) {
    let context = try Context(surface)
    try context.scale(scale, scale)
    let canvas = CairoCanvas(context, vector: vector, fonts: try FontFaces.load())
    figure.draw(canvas)
    if let error = canvas.error { throw error }
    try context.check("drawing \(figure.name)")
  }

  /// Renders and writes `figure` to `path` atomically (a temporary file, then a rename).
  public static func write(_ figure: Figure, as format: ImageFormat, scale: Double = 2, to path: String) throws(CairoError) {
    try writeAtomically(try render(figure, as: format, scale: scale), to: path)
  }

  /// Writes `bytes` to a temporary file beside `path`, then renames it over `path`
  /// (`AtomicFile`): readers see the old file or the whole new one, never half of it. Creates
  /// missing folders.
  public static func writeAtomically(_ bytes: [UInt8], to path: String) throws(CairoError) {
    do { try AtomicFile.write(bytes, to: path) } catch { throw .io(error.description) }
  }

  /// Renumbers Cairo's process-wide SVG ids (`surface17`, `image21`) from 1 in order of first
  /// appearance, both where defined (`id="…"`) and where referenced (`#…`). O(bytes).
  public static func canonicalSVGIdentifiers(_ bytes: [UInt8]) -> [UInt8] {
    let prefixes: [[UInt8]] = [Array("surface".utf8), Array("image".utf8)]
    var maps: [[Int: Int]] = [[:], [:]]
    var out: [UInt8] = []
    out.reserveCapacity(bytes.count + 64)
    func isDigit(_ b: UInt8) -> Bool { b >= 48 && b <= 57 }
    bytes.withUnsafeBufferPointer { p in
      var i = 0, copied = 0  // p[..<copied] is already in `out`; the rest goes in whole runs
      while i < p.count {
        let b = p[i]
        i += 1
        // An id starts after `id="` or `#`.
        let afterHash = b == UInt8(ascii: "#")
        let afterID = b == UInt8(ascii: "\"") && i >= 4 && p[i - 4] == UInt8(ascii: "i") && p[i - 3] == UInt8(ascii: "d") && p[i - 2] == UInt8(ascii: "=")
        guard afterHash || afterID else { continue }
        for (k, prefix) in prefixes.enumerated() where i + prefix.count < p.count && p[i..<i + prefix.count].elementsEqual(prefix) {
          var j = i + prefix.count, n = 0
          guard isDigit(p[j]) else { break }
          while j < p.count && isDigit(p[j]) { n = n * 10 + Int(p[j] - 48); j += 1 }
          let next = maps[k][n] ?? (maps[k].count + 1)
          maps[k][n] = next
          out.append(contentsOf: p[copied..<i])
          out.append(contentsOf: prefix)
          out.append(contentsOf: String(next).utf8)
          i = j
          copied = j
          break
        }
      }
      out.append(contentsOf: p[copied...])
    }
    return out
  }
}
