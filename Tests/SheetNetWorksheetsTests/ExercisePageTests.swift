import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
import Testing
@testable import sheetnet

/// The real exercise pages of the shipped lessons (every blank choice, several seeds) keep the
/// print rules with real font metrics: nothing under 8 pt, no text on text, nothing in the
/// margins, at most a quarter of a page empty; and every number on them is the key's (worked from
/// the printed digits).
@Suite struct ExercisePageTests {
  @Test(arguments: ["mazur", "xor"])
  func realPagesKeepThePrintRules(_ name: String) throws {
    let lesson = try Lesson.load(packageRoot.appendingPathComponent("Worksheets/\(name).yaml").path)
    for (blank, seed) in [(ExerciseBlank.mix, nil), (.forward, 1), (.backward, 2), (.update, 3), (.mix, 4)] as [(ExerciseBlank, UInt64?)] {
      let exercise = try Exercise(lesson, blank: blank, seed: seed)
      let content = ExerciseCommand.sheetContent(exercise)
      for answers in [false, true] {
        let texts = try auditedExerciseTexts(content, answers: answers, "\(name) \(blank) seed \(seed.map(String.init) ?? "-")")
        // Each quantity's value, the worked number to the shown decimals, stands on the pages
        // once per row that shows it: every filled row, and on the key the blanks too (a value
        // may repeat: db = δ for one sample).
        var visible: [String: Int] = [:]
        for r in exercise.rows where !r.blank || answers {
          visible[r.shown.replacingOccurrences(of: "-", with: "−"), default: 0] += 1
        }
        for r in exercise.rows {
          let shown = r.shown.replacingOccurrences(of: "-", with: "−")
          #expect(texts.filter { $0 == shown }.count == visible[shown, default: 0], "\(name) \(r.name) \(shown), blank \(r.blank), key \(answers)")
        }
        // No blank's answer stands anywhere on the exercise, not even inside later arithmetic
        // (there its label stands for it: σ(z₁)).
        if !answers {
          let tokens = Set(texts.flatMap { $0.split(whereSeparator: { !"0123456789.−".contains($0) }).map { $0.hasPrefix("−") ? String($0.dropFirst()) : String($0) } })
          // A number may stand there legitimately as a given or a filled quantity of the same value
          // (with t = 0, ∂L/∂z = a; with x₁ = x₂, dW₁,₁ = dW₁,₂).
          let filled = exercise.givens + exercise.rows.filter { !$0.blank }
          let givens = Set(filled.flatMap { [Exercise.written(abs($0.worked)), Exercise.format(abs($0.worked), decimals: $0.decimals)] })
          for r in exercise.blanks {
            for form in [Exercise.written(abs(r.worked)), Exercise.format(abs(r.worked), decimals: r.decimals)] where !givens.contains(form) {
              #expect(!tokens.contains(form), "\(name) seed \(seed.map(String.init) ?? "-"): the answer of \(r.name) (\(form)) is on the exercise")
            }
          }
        }
      }
    }
  }
}
