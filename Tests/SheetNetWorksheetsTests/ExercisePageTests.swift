import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
import Testing
@testable import sheetnet

/// The real exercise pages of the shipped lessons (every blank choice, several seeds) keep the
/// print rules with real font metrics: nothing under 8 pt, no text on text, nothing in the
/// margins, at most a quarter of a page empty; and every number on them is the engine's.
@Suite struct ExercisePageTests {
  @Test(arguments: ["mazur", "xor"])
  func realPagesKeepThePrintRules(_ name: String) throws {
    let lesson = try Lesson.load(packageRoot.appendingPathComponent("Worksheets/\(name).yaml").path)
    let context = try Context(try Surface.image(width: 1, height: 1))
    let measurer = CairoCanvas(context, fonts: try FontFaces.load())
    for (blank, seed) in [(ExerciseBlank.mix, nil), (.forward, 1), (.backward, 2), (.update, 3), (.mix, 4)] as [(ExerciseBlank, UInt64?)] {
      let exercise = try Exercise(lesson, blank: blank, seed: seed)
      let content = ExerciseCommand.sheetContent(exercise)
      for answers in [false, true] {
        var texts: [String] = []
        for page in ExerciseSheet.pages(content, answers: answers) {
          let canvas = RecordingCanvas(measurer: { measurer.measure($0, style: $1) })
          page.draw(canvas)
          let audit = LayoutAudit(canvas, size: page.size, theme: ExerciseSheet.theme)
          #expect(audit.problems.isEmpty, "\(name) \(blank) seed \(seed.map(String.init) ?? "-") \(page.name): \(audit.problems.prefix(3))")
          texts += canvas.texts.map(\.string)
        }
        // Each quantity's value, the engine's number to the shown decimals, stands on the pages
        // once per row that shows it: every filled row, and on the key the blanks too (a value
        // may repeat: db = δ for one sample).
        var visible: [String: Int] = [:]
        for r in exercise.rows where !r.blank || answers {
          visible[Exercise.format(r.value, decimals: r.decimals).replacingOccurrences(of: "-", with: "−"), default: 0] += 1
        }
        for r in exercise.rows {
          let shown = Exercise.format(r.value, decimals: r.decimals).replacingOccurrences(of: "-", with: "−")
          #expect(texts.filter { $0 == shown }.count == visible[shown, default: 0], "\(name) \(r.name) \(shown), blank \(r.blank), key \(answers)")
        }
      }
    }
  }
}
