import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// README's gallery (`docs/gallery/`, drawn by `make gallery` from the list in
/// `docs/gallery/gallery.txt`) is what the code draws today: every listed kind is drawn again
/// from its fully trained lesson and compared with the committed image, within the reference
/// images' tolerance (antialiasing may move). Re-record with `make gallery`.
@Suite("README gallery")
struct GalleryTests {
  /// (kind, lesson) pairs of gallery.txt.
  static let entries: [(FigureKind, String)] = {
    let text = (try? String(contentsOfFile: packagePath("docs/gallery/gallery.txt"), encoding: .utf8)) ?? ""
    return text.split(separator: "\n").filter { !$0.hasPrefix("#") }.compactMap { line in
      let parts = line.split(separator: " ")
      guard parts.count == 2, let kind = FigureKind(rawValue: String(parts[0])) else { return nil }
      return (kind, String(parts[1]))
    }
  }()

  @Test("the list names every kind once") func everyKind() {
    #expect(Self.entries.map(\.0.rawValue).sorted() == FigureKind.allCases.map(\.rawValue).sorted())
  }

  @Test("each lesson's gallery figures match the committed images", arguments: Array(Set(entries.map(\.1))).sorted())
  func matches(_ lesson: String) throws {
    let source = try lessonSource(lesson)
    for (kind, _) in Self.entries.filter({ $0.1 == lesson }) {
      for figure in try Catalogue.make(kind, source, options(.slide)) {
        try expectMatchesReference(figure, path: packagePath("docs/gallery/\(figure.name).png"))
        try expectNonTrivial(figure)
      }
    }
  }

  /// A number as figures write it, "6.6" or "3.1×10⁻⁵".
  static func written(_ s: String) -> Double? {
    let parts = s.replacingOccurrences(of: "−", with: "-").components(separatedBy: "×10")
    guard let mantissa = Double(parts[0]) else { return nil }
    guard parts.count == 2 else { return mantissa }
    let digits: [Character: Character] = ["⁰": "0", "¹": "1", "²": "2", "³": "3", "⁴": "4", "⁵": "5", "⁶": "6", "⁷": "7", "⁸": "8", "⁹": "9", "⁻": "-"]
    guard let exponent = Int(String(parts[1].compactMap { digits[$0] })) else { return nil }
    return mantissa * pow(10, Double(exponent))
  }

  @Test("written numbers read back, scientific ones too")
  func writtenNumbers() {
    #expect(Self.written("6.6") == 6.6)
    #expect(abs(Self.written("3.1×10⁻⁵")! - 3.1e-5) < 1e-18)
    #expect(Self.written(NumberFormat.significant(2.5e-8, 2)).map { abs($0 - 2.5e-8) < 1e-20 } == true)
  }

  /// A gallery figure shows something: at most a quarter of the pictures it draws (rasters of
  /// 16 pixels or more) are one flat colour (under 16 levels of 255 of contrast in every
  /// channel; a zero update may honestly be flat, a page of them may not); and a saliency page
  /// has no map whose largest value is under 1 % of the largest of all (the loss's gradient
  /// once p ≈ 100 % read 10⁻⁵ to 10⁻⁸ of it).
  func expectNonTrivial(_ figure: Figure, sourceLocation: SourceLocation = #_sourceLocation) throws {
    let canvas = try record(figure)
    let pictures = canvas.images.filter { $0.raster.width * $0.raster.height >= 16 }
    let flat = pictures.filter { image in
      let pixels = image.raster.pixels
      let spread = [\Color.r, \Color.g, \Color.b].map { channel in
        (pixels.map { $0[keyPath: channel] }.max() ?? 0) - (pixels.map { $0[keyPath: channel] }.min() ?? 0)
      }.max() ?? 0
      return spread < 16.0 / 255
    }
    #expect(4 * flat.count <= pictures.count, "\(figure.name): \(flat.count) of \(pictures.count) pictures are one flat colour", sourceLocation: sourceLocation)
    guard figure.name == "gradients-saliency" else { return }
    let scale = try #require(canvas.texts.lazy.compactMap { t -> Double? in
      guard let r = t.string.range(of: "colour scale from 0 to ") else { return nil }
      return Double(t.string[r.upperBound...].prefix { $0.isNumber || $0 == "." })
    }.first, "the saliency page states its scale", sourceLocation: sourceLocation)
    let peaks = canvas.texts.compactMap { t -> Double? in
      guard let r = t.string.range(of: "max ") else { return nil }
      return Self.written(String(t.string[r.upperBound...].prefix { $0 != ")" }))
    }
    #expect(peaks.count == 4, "four maps", sourceLocation: sourceLocation)
    for peak in peaks { #expect(peak >= 0.01 * scale, "a saliency map peaks at \(peak), under 1 % of \(scale)", sourceLocation: sourceLocation) }
  }
}
