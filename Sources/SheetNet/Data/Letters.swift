import Foundation
import Yams

/// One letter to draw: which letter, in which font, how tall, slanted and shifted. The engine
/// draws every one of these choices from the lesson's data generator; a `GlyphRenderer` only draws.
public struct Glyph: Sendable, Equatable {
  /// The letter, "A"…"J".
  public var letter: Character
  /// Index into the renderer's `fonts`.
  public var font: Int
  /// The letter's ink height as a fraction of the image side.
  public var height: Double
  /// Horizontal shear: a point at height h above the baseline moves right by slant·h.
  public var slant: Double
  /// Shift of the ink's centre from the image's centre, in pixels (right, down).
  public var dx: Double, dy: Double

  /// A glyph to draw.
  public init(letter: Character, font: Int, height: Double, slant: Double, dx: Double, dy: Double) {
    self.letter = letter
    self.font = font
    self.height = height
    self.slant = slant
    self.dx = dx
    self.dy = dy
  }
}

/// Something that draws letters as grey images. The engine does not draw glyphs itself (it
/// imports no graphics library); CairoKit's `LetterRenderer` draws them with the machine's fonts.
public protocol GlyphRenderer: Sendable {
  /// The font files it draws with, in a fixed (sorted) order; `Glyph.font` indexes this list.
  /// The generated data depend on them, so they are part of the data's fingerprint.
  var fonts: [String] { get }
  /// `glyphs` as side × side grey images, ink 1 on paper 0, row by row, one image after another.
  func render(_ glyphs: [Glyph], side: Int) throws(SheetNetError) -> [Double]
}

/// `dataset: letters`, a notMNIST-style set: the letters A…J drawn with the machine's fonts, each
/// sample with its own font, height, slant and shift drawn from the data stream of the seed.
///
/// The renderer comes from outside the engine: `register` is called once at program start (the
/// `sheetnet` command registers CairoKit's `LetterRenderer`), and `Lesson.parse` hands it to the
/// lesson (`Lesson.glyphRenderer`), which a program may also set itself. Without one a letters
/// lesson fails with one line. A different renderer is refused once one is registered, so the
/// numbers of a process never change under it.
public enum Letters {
  /// The dataset's name in lessons.
  public static let kind = "letters"
  /// The letters, class k = letters[k].
  public static let alphabet: [Character] = ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"]
  /// Image sides a lesson may ask for (`size`), in pixels.
  public static let sides = 8...64
  /// Most pixels a generated set may hold in all (count × size², 160 MB as Float64).
  public static let maxPixels = 20_000_000
  /// Most images a lesson may ask for (drawing one takes some 20 µs; notMNIST's small set has
  /// about 19,000).
  public static let maxCount = 60_000
  /// The ranges the per-sample choices are drawn from, uniformly: ink height as a fraction of
  /// the side, slant, and shift as a fraction of the side.
  package static let heights = 0.5...0.8, slants = -0.3...0.3, shifts = -0.1...0.1

  private static let lock = NSLock()
  nonisolated(unsafe) private static var current: (any GlyphRenderer)?

  /// Registers the renderer letters lessons are drawn with. Registering the same fonts again is
  /// harmless; a renderer with other fonts, once one is registered, is refused (returns false).
  @discardableResult
  public static func register(_ renderer: any GlyphRenderer) -> Bool {
    lock.lock()
    defer { lock.unlock() }
    if let current { return current.fonts == renderer.fonts }
    current = renderer
    return true
  }

  /// The registered renderer, if any.
  public static var registered: (any GlyphRenderer)? {
    lock.lock()
    defer { lock.unlock() }
    return current
  }

  /// The one line a letters lesson gets when nothing can draw its letters.
  static func missingRenderer(_ path: String) -> SheetNetError {
    .data("\(path): dataset letters needs a letter renderer, which the engine does not have: the sheetnet command registers CairoKit's (LetterRenderer.register()); a program using the engine alone must call Letters.register or set Lesson.glyphRenderer first")
  }

  /// The choices for `count` samples: sample i is letter i mod `classes`; its font, height,
  /// slant and shift are drawn from `rng` in that order.
  package static func glyphs(count: Int, side: Int, classes: Int, fonts: Int, rng: inout SeededGenerator) -> [Glyph] {
    let s = Double(side)
    return (0..<count).map { i in
      let font = rng.below(fonts)
      let height = rng.uniform(heights.lowerBound, heights.upperBound)
      let slant = rng.uniform(slants.lowerBound, slants.upperBound)
      let dx = rng.uniform(shifts.lowerBound, shifts.upperBound) * s
      let dy = rng.uniform(shifts.lowerBound, shifts.upperBound) * s
      return Glyph(letter: alphabet[i % classes], font: font, height: height, slant: slant, dx: dx, dy: dy)
    }
  }

  /// `count` letters of the first `classes` letters as 1 × side × side images, pixels 0…1.
  public static func make(count: Int, side: Int, classes: Int, renderer: any GlyphRenderer, rng: inout SeededGenerator) throws(SheetNetError) -> Dataset {
    guard !renderer.fonts.isEmpty else {
      throw .data("dataset letters: no fonts to draw with; install fonts-dejavu-core")
    }
    let glyphs = glyphs(count: count, side: side, classes: classes, fonts: renderer.fonts.count, rng: &rng)
    let pixels = try renderer.render(glyphs, side: side)
    guard pixels.count == count * side * side, pixels.allSatisfy({ $0.isFinite }) else {
      throw .data("dataset letters: the renderer gave \(pixels.count) pixels for \(count) images of \(side)×\(side)")
    }
    return Dataset(name: kind, x: Tensor(shape: [count, 1, side, side], data: pixels), labels: glyphs.indices.map { $0 % classes },
                   classNames: alphabet.prefix(classes).map(String.init))
  }

  /// 16 hex digits of FNV-1a over the fonts' names, the pixels' bits and the labels: what the
  /// fingerprint of a run on generated letters covers (other fonts, other data, retraining).
  static func digest(_ data: Dataset, fonts: [String]) -> String {
    var hash = FNV1a()
    hash.add("fonts \(fonts.joined(separator: "\n"))\n")
    var bytes: [UInt8] = []
    bytes.reserveCapacity(data.x.count * 8)
    for v in data.x.data { withUnsafeBytes(of: v.bitPattern.littleEndian) { bytes.append(contentsOf: $0) } }
    hash.add(bytes: bytes)
    hash.add((data.labels ?? []).map(String.init).joined(separator: ","))
    return hash.hex
  }
}

extension Lesson {
  /// The letters keys of `data`: `size` (the side, letters only), `classes` (default 10 for
  /// letters, the first that many of A…J) and `count` (at most `Letters.maxCount`), whose images
  /// may hold at most `Letters.maxPixels` pixels in all.
  static func parseLetters(_ d: inout DataSpec, _ m: [String: Node], _ node: Node, _ r: Reader) throws(SheetNetError) {
    guard d.dataset == Letters.kind else {
      if let v = m["size"] { throw .lesson("\(r.at(v)): 'size' is the image side of dataset letters; \(d.dataset) data has none") }
      return
    }
    if let v = m["size"] { d.size = try r.int(v, "size", min: Letters.sides.lowerBound, max: Letters.sides.upperBound) }
    if m["classes"] == nil { d.classes = Letters.alphabet.count }
    guard d.count <= Letters.maxCount else {
      throw .lesson("\(r.at(m["count"] ?? node)): letters: 'count' must be at most \(Limits.grouped(Letters.maxCount)) images, got \(Limits.grouped(d.count))")
    }
    guard d.count * d.size * d.size <= Letters.maxPixels else {
      throw .lesson("\(r.at(node)): letters: \(Limits.grouped(d.count)) images of \(d.size)×\(d.size) would hold \(Limits.grouped(d.count * d.size * d.size)) pixels, more than the \(Limits.grouped(Letters.maxPixels)) a generated set may; ask for fewer or smaller images")
    }
  }
}
