import CairoKit
import Foundation
import Testing
@testable import SheetNetFigures

/// The exercise pages keep the print rules (LayoutAudit with real font metrics), hide the blanks'
/// answers on the sheet and show them on the key, and render to a deterministic multi-page PDF.
@Suite struct ExerciseSheetTests {
  /// A sheet shaped like Mazur's: 15 groups, `rows` quantities, every fourth one blank.
  func content(rows: Int) -> ExerciseSheet.Content {
    let groups = ["hidden.forward.z   zⱼ = Σᵢ Wⱼᵢ·xᵢ + bⱼ", "sigmoid1.forward.a   a = σ(z) = 1 / (1 + e⁻ᶻ)",
                  "loss.L   E = (1/N) Σₙ Σₖ ½·(tₙₖ − yₙₖ)²", "hidden.backward.dW   ∂L/∂Wⱼᵢ = Σₙ δₙⱼ·xₙᵢ",
                  "hidden.update.W   W ← W − η·dW"]
    var list: [ExerciseSheet.Row] = []
    for n in 0..<rows {
      let suffix: String = n / 15 > 0 ? " (\(n / 15))" : ""
      let group: String = groups[n / 3 % groups.count] + suffix
      let shown: String = String(format: "%.5f", 0.1 + Double(n) / 997)
      let arithmetic: String = "0.15·0.05 + 0.2·0.1 + (−0.35)·0.75 + 0.0043857·\(n)"
      list.append(ExerciseSheet.Row(group: group, label: "z\(n + 1)", arithmetic: arithmetic, shown: shown, blank: n % 4 == 1, decimals: 5))
    }
    return ExerciseSheet.Content(
      title: "Exercise: Mazur's step-by-step backpropagation example (2-2-2, sigmoid)", subtitle: "mazur: the first training step on one sample.",
      givens: [("input.forward.x", ["x₁ = 0.05", "x₂ = 0.1"]), ("hidden.forward.W", ["W₁,₁ = 0.15", "W₁,₂ = 0.2", "W₂,₁ = 0.25", "W₂,₂ = 0.3"]),
               ("optimizer", ["learning_rate = 0.5"])],
      note: "Some given numbers are shown rounded to 6 decimals.", rows: list)
  }

  @Test(arguments: [37, 64])
  func pagesKeepThePrintRules(_ rows: Int) throws {
    let c = content(rows: rows)
    for answers in [false, true] {
      let pages = ExerciseSheet.pages(c, answers: answers)
      #expect(pages.count == 2)
      var texts: [String] = []
      for page in pages {
        try expectReadable(page, ExerciseSheet.theme)
        let canvas = try record(page)
        #expect(LayoutAudit(canvas, size: page.size, theme: ExerciseSheet.theme).smallestText ?? 0 >= 8)
        texts += canvas.texts.map(\.string)
      }
      // Every row is on some page, once; the blanks' values only on the key.
      for r in c.rows where !r.blank { #expect(texts.filter { $0 == r.shown }.count == 1, "\(r.label)") }
      for r in c.rows where r.blank { #expect(texts.filter { $0 == r.shown }.count == (answers ? 1 : 0), "\(r.label)") }
      #expect(texts.contains { $0.hasPrefix("ANSWER KEY") } == answers)
    }
  }

  @Test func thePDFHasOnePagePerFigureAndTheSameBytesTwice() throws {
    let pages = ExerciseSheet.pages(content(rows: 37), answers: false)
    let a = try FigureFile.pdf(pages: pages), b = try FigureFile.pdf(pages: ExerciseSheet.pages(content(rows: 37), answers: false))
    #expect(a == b)
    let text = String(decoding: a, as: UTF8.self)
    #expect(text.hasPrefix("%PDF-") && text.contains("/Count 2"))
    #expect(throws: CairoError.self) { try FigureFile.pdf(pages: []) }
  }
}
