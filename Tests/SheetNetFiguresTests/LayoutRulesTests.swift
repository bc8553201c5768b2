import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// Every kind on every shipped lesson it applies to, slide and print, held to the rules in
/// `Theme` (`LayoutAudit`): the smallest text, the clearance between elements and from the page's
/// edge, and the empty share of the page. One test per lesson trains it once and draws every
/// kind; a kind that refuses the lesson is skipped (refusals are tested elsewhere).
@Suite("Layout rules: every kind, every lesson, slide and print")
struct LayoutRulesTests {
  /// The shipped lessons, with the epochs each is trained for here (the lesson's own for the
  /// small ones; a few for the digits, whose figures look the same after 3 epochs as after 20).
  static let lessons: [(String, Int?)] = [
    ("mazur", nil), ("xor", nil), ("iris-mlp", 30), ("spiral", 60), ("digits-mlp", 3), ("digits-cnn", 2), ("tiny-vgg", nil),
    ("letters-cnn", 1), ("momentum-vs-sgd", nil), ("overfitting", 60), ("attention-reverse", 3),
    ("attention-by-hand", nil), ("tiny-gpt", 1),
  ]

  /// Kinds to draw: all, or those named in SHEETNET_LAYOUT_KINDS (comma-separated) while working
  /// on a few.
  static var kinds: [FigureKind] {
    guard let only = ProcessInfo.processInfo.environment["SHEETNET_LAYOUT_KINDS"] else { return FigureKind.allCases }
    return only.split(separator: ",").compactMap { FigureKind(rawValue: String($0)) }
  }

  /// Lessons to draw: all, or those named in SHEETNET_LAYOUT_LESSONS (comma-separated) while
  /// working on a few.
  static func drawn(_ lesson: String) -> Bool {
    guard let only = ProcessInfo.processInfo.environment["SHEETNET_LAYOUT_LESSONS"] else { return true }
    return only.split(separator: ",").contains { $0 == lesson }
  }

  /// Known exceptions, each a defect to mend ("lesson kind theme"); none today.
  static let known: Set<String> = []

  @Test("each kind keeps the rules", arguments: lessons.map(\.0))
  func rules(_ lesson: String) throws {
    guard Self.drawn(lesson) else { return }
    let epochs = Self.lessons.first { $0.0 == lesson }!.1
    let source = try lessonSource(lesson, epochs: epochs)
    var drawn = 0
    for kind in Self.kinds {
      for theme in Theme.all {
        let figures: [Figure]
        do {
          figures = try Catalogue.make(kind, source, options(theme))
        } catch {
          continue
        }
        for figure in figures {
          if Self.known.contains("\(lesson) \(kind.rawValue) \(theme.name)") {
            withKnownIssue("\(lesson) \(kind.rawValue) \(theme.name): a known layout defect") { try expectReadable(figure, theme) }
          } else {
            try expectReadable(figure, theme)
          }
          drawn += 1
        }
      }
    }
    #expect(drawn > 0 || Self.kinds.count < FigureKind.allCases.count, "no kind drew \(lesson)")
  }
}
