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
      }
    }
  }
}
