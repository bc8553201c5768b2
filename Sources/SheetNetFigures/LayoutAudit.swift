import Foundation

/// The typography and spacing rules every figure keeps, checked on what a figure drew (a
/// `RecordingCanvas`), so the rules are tested on every kind and lesson, not promised:
///
/// - no text under `Theme.minimumSize` (16 pt on a slide, 8 pt in print), except a number written
///   inside a grid cell, which may go down to `Theme.cellMinimum` (14 pt on a slide); a grid is
///   drawn as an image, so a small number must lie wholly on one, or in a cell-sized filled
///   rectangle that holds a picture (a confusion matrix's cell with its thumbnails), never on a
///   bar or a box;
/// - no two pieces of text closer than `Theme.clearance`, and no text straddling the edge of an
///   image (text on an image lies wholly inside it, like a number in its cell);
/// - nothing inside half a margin of the page's edge;
/// - at most `Theme.maximumEmptyShare` (25 %) of the page inside its margins left empty: the page
///   is cut into a 24 × 24 grid, and a cell is empty when no text, image or drawn path touches it.
public struct LayoutAudit {
  /// The grid the empty share is measured on.
  public static let grid = 24

  /// Every rule broken, one line each ("'0.19' at … is 12 pt, under 16"); empty when all hold.
  public let problems: [String]
  /// The share of the page inside its margins that nothing touches (0…1).
  public let emptyShare: Double
  /// The smallest text size used.
  public let smallestText: Double?

  /// Audits what `canvas` recorded for a page of `size` drawn with `theme`.
  public init(_ canvas: RecordingCanvas, size: Size, theme: Theme) {
    var problems: [String] = []
    let page = Rect(size)
    let texts = canvas.texts.filter { !$0.string.allSatisfy(\.isWhitespace) }
    let images = canvas.images.map(\.rect)
    // Cells that hold pictures: filled rectangles of at most 1/50 of the page with an image inside.
    let pictureCells = canvas.operations.compactMap { operation -> Rect? in
      guard case .fill(let path, _) = operation, let box = path.bounds, box.width * box.height <= page.width * page.height / 50 else { return nil }
      return images.contains { box.contains($0, tolerance: 0.5) } ? box : nil
    }

    for t in texts where t.style.size < theme.minimumSize - 1e-9 {
      let inCell = (images + pictureCells).contains { $0.contains(t.box, tolerance: 0.5) }
      let allowed = Self.isNumber(t.string) && inCell && t.style.size >= theme.cellMinimum - 1e-9
      if !allowed {
        let floor = Self.isNumber(t.string) && inCell ? theme.cellMinimum : theme.minimumSize
        let whyNot = Self.isNumber(t.string) && !inCell ? " (a number outside a grid cell)" : ""
        problems.append("'\(t.string)' at \(Self.describe(t.box)) is \(Self.points(t.style.size)) pt, under \(Self.points(floor)) pt\(whyNot)")
      }
    }
    let half = theme.clearance / 2
    for i in texts.indices {
      let a = texts[i].box.inset(-half)
      for j in texts.indices where j > i && a.intersects(texts[j].box.inset(-half)) {
        problems.append("'\(texts[i].string)' at \(Self.describe(texts[i].box)) is closer than \(Self.points(theme.clearance)) pt to '\(texts[j].string)' at \(Self.describe(texts[j].box))")
      }
    }
    for t in texts {
      for image in images where image.intersects(t.box.inset(0.5)) && !image.contains(t.box, tolerance: 0.5) {
        problems.append("'\(t.string)' at \(Self.describe(t.box)) straddles the edge of an image at \(Self.describe(image))")
        break
      }
    }
    let safe = page.inset(theme.margin / 2)
    for t in texts where !safe.contains(t.box, tolerance: 0.01) {
      problems.append("'\(t.string)' at \(Self.describe(t.box)) is within half a margin of the page's edge")
    }
    for image in images where !safe.contains(image, tolerance: 0.01) {
      problems.append("an image at \(Self.describe(image)) is within half a margin of the page's edge")
    }

    // Empty share: grid cells inside the margins that no element's box touches.
    var boxes = texts.map(\.box) + images
    for op in canvas.operations {
      switch op {
      case .fill(let path, _):
        if let b = path.bounds, b.width * b.height < 0.95 * page.width * page.height { boxes.append(b) }
      case .stroke(let path, _, let width, _):
        if let b = path.bounds { boxes.append(b.inset(-width / 2)) }
      default: break
      }
    }
    let content = page.inset(theme.margin)
    let n = Self.grid
    var empty = 0
    for r in 0..<n {
      for c in 0..<n {
        let cell = Rect(x: content.x + content.width * Double(c) / Double(n), y: content.y + content.height * Double(r) / Double(n),
                        width: content.width / Double(n), height: content.height / Double(n))
        if !boxes.contains(where: { Self.touches($0, cell) }) { empty += 1 }
      }
    }
    emptyShare = Double(empty) / Double(n * n)
    if emptyShare > Theme.maximumEmptyShare {
      problems.append("\(Int((emptyShare * 100).rounded())) % of the page is empty (at most \(Int(Theme.maximumEmptyShare * 100)) %)")
    }
    smallestText = texts.map(\.style.size).min()
    self.problems = problems
  }

  /// True for a number as figures write them: digits with a sign, point, exponent, percent or
  /// thin separators ("−0.42", "1,168", "3.1·10⁻⁵", "97 %").
  public static func isNumber(_ s: String) -> Bool {
    let allowed = Set("0123456789.,−-+·×⁰¹²³⁴⁵⁶⁷⁸⁹⁻e% \u{2009}")
    return s.contains(where: \.isNumber) && s.allSatisfy { allowed.contains($0) }
  }

  /// Touching counts (a hairline along a cell's edge touches it).
  static func touches(_ a: Rect, _ b: Rect) -> Bool {
    a.x <= b.maxX && b.x <= a.maxX && a.y <= b.maxY && b.y <= a.maxY
  }

  static func points(_ v: Double) -> String { v == v.rounded() ? String(Int(v)) : String(format: "%.1f", v) }

  static func describe(_ r: Rect) -> String {
    "(\(Int(r.x.rounded())), \(Int(r.y.rounded())), \(Int(r.width.rounded()))×\(Int(r.height.rounded())))"
  }
}

extension Path {
  /// The box every point, control point and arc of the path lies in; nil for an empty path.
  public var bounds: Rect? {
    var xs: [Double] = [], ys: [Double] = []
    for e in elements {
      switch e {
      case .move(let p), .line(let p): xs.append(p.x); ys.append(p.y)
      case .curve(let a, let b, let p): xs += [a.x, b.x, p.x]; ys += [a.y, b.y, p.y]
      case .arc(let c, let r, _, _): xs += [c.x - r, c.x + r]; ys += [c.y - r, c.y + r]
      case .close: break
      }
    }
    guard let x0 = xs.min(), let x1 = xs.max(), let y0 = ys.min(), let y1 = ys.max() else { return nil }
    return Rect(x: x0, y: y0, width: x1 - x0, height: y1 - y0)
  }
}
