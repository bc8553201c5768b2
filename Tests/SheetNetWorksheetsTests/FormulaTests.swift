import Foundation
import SheetNet
import SheetNetTrace
import Testing
@testable import SheetNetWorksheets

/// Every formula cell, evaluated from the engine's numbers in the cells it reads, gives the
/// engine's own number for that cell: the formulas say what the engine computes.
@Suite struct FormulaTests {
  nonisolated(unsafe) static let cases: [(String, @Sendable () throws -> TracedStep)] = [
    ("mazur", { try tracedLesson("mazur") }),
    ("xor step 2", { try tracedLesson("xor", step: 2) }),
    ("iris-mlp step 2", { try tracedLesson("iris-mlp", step: 2) }),
    ("digits-mlp --batch 4", { try tracedLesson("digits-mlp", batch: 4) }),
    ("digits-cnn step 3 --sample 1", { try tracedLesson("digits-cnn", step: 3, sample: 1) }),
    ("digits-cnn step 3 --batch 2", { try tracedLesson("digits-cnn", step: 3, batch: 2) }),
    ("conv zoo step 2", { try tracedYAML(Synthetic.convZoo, step: 2) }),
    ("pool zoo step 2", { try tracedYAML(Synthetic.poolZoo, step: 2) }),
    ("strided step 2", { try tracedYAML(Synthetic.strided, step: 2) }),
    ("binary step 2", { try tracedYAML(Synthetic.binary, step: 2) }),
    ("logits", { try tracedYAML(Synthetic.logits) }),
    ("layer norm step 2", { try tracedYAML(Synthetic.layerNorm, step: 2) }),
    ("layer norm on sequences step 2", { try tracedYAML(Synthetic.layerNormSequence, step: 2) }),
    ("attention step 2", { try tracedYAML(Synthetic.attention, step: 2) }),
    ("attention plain step 2", { try tracedYAML(Synthetic.attentionPlain, step: 2) }),
    ("sequence step 2", { try tracedYAML(Synthetic.sequence, step: 2) }),
    ("sequence step 2 --batch 1", { try tracedYAML(Synthetic.sequence, step: 2, batch: 1) }),
    ("tokens step 2", { try tracedYAML(Synthetic.tokens, step: 2) }),
    ("transformer step 2", { try tracedYAML(Synthetic.transformer, step: 2) }),
    ("tokens step 1 --batch 3", { try tracedYAML(Synthetic.tokens, batch: 3) }),
    ("attention-reverse --sample 1", { try tracedLesson("attention-reverse", sample: 1) }),
    ("attention-by-hand step 2", { try tracedLesson("attention-by-hand", step: 2) }),
  ]

  @Test(arguments: 0..<cases.count)
  func everyFormulaGivesTheEngineNumber(_ c: Int) throws {
    let traced = try Self.cases[c].1()
    let book = try StepWorkbook(traced)
    let text = FormulaText(blocks: book.blocks, index: book.blockIndex, sheetNames: book.workbook.sheets.map(\.name))
    var named: [String: Double] = [:]
    for n in book.workbook.names { named[n.name] = book.cachedValue(sheet: n.sheet, row: n.row, column: n.column) }
    var checked = 0, worst = (0.0, "")
    for (address, formula) in book.formulas {
      let resolved = substitute(formula, named)
      guard case .scalar(let got) = try text.evaluate(resolved, { book.cachedValue(sheet: $0, row: $1, column: $2) }) else {
        Issue.record("\(Self.cases[c].0): an array where a number belongs at \(address)")
        continue
      }
      let want = book.cachedValue(sheet: address.sheet, row: address.row, column: address.column)
      let error = abs(got - want) / max(abs(want), 1e-3)
      if error > worst.0 { worst = (error, "\(book.workbook.sheets[address.sheet].name)!\(A1.cell(address.row, address.column))") }
      if !close(got, want) {
        Issue.record("\(Self.cases[c].0): \(book.workbook.sheets[address.sheet].name)!\(A1.cell(address.row, address.column)) = \(got), engine \(want): \(try text.text(formula, on: address.sheet))")
        return
      }
      checked += 1
    }
    #expect(checked > 10)
    // Every entry of the step is in the workbook.
    for e in traced.tracer.entries { #expect(book.block(e.name) != nil, "\(e.name) missing") }
  }

  /// Replaces named cells by their values.
  func substitute(_ f: Formula, _ named: [String: Double]) -> Formula {
    switch f {
    case .named(let n): .number(named[n]!)
    case .number, .cell, .range: f
    case .add(let a, let b): .add(substitute(a, named), substitute(b, named))
    case .sub(let a, let b): .sub(substitute(a, named), substitute(b, named))
    case .mul(let a, let b): .mul(substitute(a, named), substitute(b, named))
    case .div(let a, let b): .div(substitute(a, named), substitute(b, named))
    case .pow(let a, let b): .pow(substitute(a, named), substitute(b, named))
    case .greater(let a, let b): .greater(substitute(a, named), substitute(b, named))
    case .greaterOrEqual(let a, let b): .greaterOrEqual(substitute(a, named), substitute(b, named))
    case .equal(let a, let b): .equal(substitute(a, named), substitute(b, named))
    case .neg(let a): .neg(substitute(a, named))
    case .call(let name, let args): .call(name, args.map { substitute($0, named) })
    }
  }
}
