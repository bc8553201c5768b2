import Foundation
import SheetNet
import SheetNetTrace
import Testing
@testable import SheetNetWorksheets

/// Each exported workbook, opened in LibreOffice, fully recalculated and read back cell by cell,
/// gives the engine's numbers; and after a student's edit (an input pixel, a weight, the learning
/// rate) it gives the numbers the engine computes on the same edit: the formulas are live.
@Suite(.serialized) struct WorkbookRecalcTests {
  struct Case: Sendable {
    var label: String, lesson: String, step = 1, sample: Int? = nil, batch: Int? = nil
    /// A lesson given as text instead of a shipped one.
    var yaml: String? = nil
  }

  static let cases: [Case] = [
    Case(label: "mazur", lesson: "mazur"),
    Case(label: "xor", lesson: "xor", step: 2),
    Case(label: "iris-mlp", lesson: "iris-mlp", step: 2),
    Case(label: "digits-mlp --batch 4", lesson: "digits-mlp", batch: 4),
    Case(label: "digits-cnn --step 3 --sample 1", lesson: "digits-cnn", step: 3, sample: 1),
    Case(label: "digits-cnn --step 3 --batch 2", lesson: "digits-cnn", step: 3, batch: 2),
    Case(label: "conv zoo step 2", lesson: "conv-zoo", step: 2, yaml: Synthetic.convZoo),
    Case(label: "pool zoo step 2", lesson: "pool-zoo", step: 2, yaml: Synthetic.poolZoo),
    Case(label: "strided step 2", lesson: "strided", step: 2, yaml: Synthetic.strided),
    Case(label: "a layer named _x0041_ step 2", lesson: "escape-like", step: 2, yaml: Synthetic.escapeLike),
    Case(label: "layer norm step 2", lesson: "layer-norm", step: 2, yaml: Synthetic.layerNorm),
    Case(label: "layer norm on sequences step 2", lesson: "layer-norm-sequence", step: 2, yaml: Synthetic.layerNormSequence),
    Case(label: "attention step 2", lesson: "attention", step: 2, yaml: Synthetic.attention),
    Case(label: "attention plain step 2", lesson: "attention-plain", step: 2, yaml: Synthetic.attentionPlain),
    Case(label: "sequence step 2", lesson: "sequence", step: 2, yaml: Synthetic.sequence),
    Case(label: "tokens step 2 --batch 3", lesson: "tokens", step: 2, batch: 3, yaml: Synthetic.tokens),
    Case(label: "transformer step 2", lesson: "transformer", step: 2, yaml: Synthetic.transformer),
    Case(label: "attention-reverse --sample 1", lesson: "attention-reverse", sample: 1),
    Case(label: "attention-by-hand step 2", lesson: "attention-by-hand", step: 2),
  ]

  /// The three edits a student makes, one per run, each with what the engine does for it.
  enum Edit: CaseIterable { case pixel, weight, learningRate }

  @Test(arguments: 0..<cases.count)
  func libreOfficeRecalculatesTheEngineNumbers(_ index: Int) throws {
    guard LibreOffice.required(by: "libreOfficeRecalculatesTheEngineNumbers") else { return }
    let c = Self.cases[index]
    let request = TracedStep.Request(step: c.step, sample: c.sample, batch: c.batch)
    let traced = try TracedStep(try run(c), request)
    let book = try StepWorkbook(traced)
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-recalc-\(UUID().uuidString)")
    try FileManager.default.createDirectory(at: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("step.xlsx").path
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))

    let names = book.workbook.sheets.map(\.name)
    let formulaCells = book.formulas.keys.sorted { ($0.sheet, $0.row, $0.column) < ($1.sheet, $1.row, $1.column) }
    // Every entry cell that holds a formula, with its block and element, for the edited runs.
    var entryCells: [(block: Block, element: Int)] = []
    for b in book.blocks where b.isEntry && !b.editable { for i in 0..<b.shape.reduce(1, *) { entryCells.append((b, i)) } }

    // The edits: the middle input pixel + 0.5, the first weight of the first layer with weights
    // + 0.1, and the learning rate doubled.
    let x = book.block("input.forward.x")!
    let pixel = x.shape.reduce(1, *) / 2
    let weightBlock = book.blocks.first { $0.isEntry && $0.editable && $0.name.hasSuffix(".forward.W") }!
    let layerName = String(weightBlock.name.split(separator: ".")[0])
    let rate = book.workbook.names.first { $0.name == "learning_rate" }!
    let oldPixel = traced.tracer.entry("input.forward.x")!.value.data[pixel]
    let oldWeight = traced.tracer.entry(weightBlock.name)!.value.data[0]
    let oldRate = traced.run.optimizer.learningRate
    func edit(_ e: Edit) -> LibreOffice.Edit {
      switch e {
      case .pixel: let (r, col) = x.cell(pixel); return .init(names[x.sheet], r, col, oldPixel + 0.5)
      case .weight: let (r, col) = weightBlock.cell(0); return .init(names[weightBlock.sheet], r, col, oldWeight + 0.1)
      case .learningRate: return .init(names[rate.sheet], rate.row, rate.column, oldRate * 2)
      }
    }
    var runs = [LibreOffice.Run(read: formulaCells.map { .init(names[$0.sheet], $0.row, $0.column) })]
    let entryRefs = entryCells.map { cell -> LibreOffice.CellRef in let (r, col) = cell.block.cell(cell.element); return .init(names[cell.block.sheet], r, col) }
    for e in Edit.allCases { runs.append(.init(edits: [edit(e)], read: entryRefs)) }
    let results = try LibreOffice.recalc(workbook: path, runs: runs)
    print("\(c.label): \(book.workbook.cellCount) cells, \(book.workbook.formulaCount) formulas; LibreOffice load \(String(format: "%.2f", results[0].loadSeconds)) s, recalculation \(String(format: "%.2f", results[0].recalcSeconds)) s")

    // As written: every formula cell equals its cached value (the engine's number).
    var mismatches = 0
    for (k, address) in formulaCells.enumerated() {
      let want = book.cachedValue(sheet: address.sheet, row: address.row, column: address.column)
      guard let got = results[0].values[k], close(got, want) else {
        mismatches += 1
        if mismatches <= 5 {
          let seen = results[0].values[k].map { "\($0)" } ?? "error \(results[0].errors[k] ?? 0)"
          Issue.record("\(c.label): \(names[address.sheet])!\(A1.cell(address.row, address.column)) is \(seen) in LibreOffice, \(want) in the engine")
        }
        continue
      }
    }
    #expect(mismatches == 0, "\(c.label): \(mismatches) of \(formulaCells.count) formula cells differ")

    // After each edit: the engine on the same edit.
    for (r, e) in Edit.allCases.enumerated() {
      var edited = request
      let (p, w, rateValue, layer) = (pixel, oldWeight + 0.1, oldRate * 2, layerName)
      switch e {
      case .pixel: edited.edit = { x, _, _ in x.data[p] += 0.5 }
      case .weight: edited.edit = { _, model, _ in model.layer(named: layer)!.parameters[0].value.data[0] = w }
      case .learningRate: edited.edit = { _, _, optimizer in optimizer.learningRate = rateValue }
      }
      let engine = try TracedStep(try run(c), edited)
      var changed = 0, bad = 0
      for (k, cell) in entryCells.enumerated() {
        let want = engine.tracer.entry(cell.block.name)!.value.data[cell.element]
        let before = traced.tracer.entry(cell.block.name)!.value.data[cell.element]
        if want != before { changed += 1 }
        guard let got = results[r + 1].values[k], close(got, want) else {
          bad += 1
          let seen = results[r + 1].values[k].map { "\($0)" } ?? "an error"
          if bad <= 5 { Issue.record("\(c.label), edited \(e): \(cell.block.name)[\(cell.element + 1)] is \(seen) in LibreOffice, \(want) in the engine") }
          continue
        }
      }
      #expect(bad == 0, "\(c.label), edited \(e): \(bad) cells differ")
      #expect(changed > 0, "\(c.label), edited \(e): the edit changed nothing, so it proves nothing")
    }
  }

  func run(_ c: Case) throws -> LessonRun {
    if let yaml = c.yaml { return try LessonRun(try Lesson.parse(yaml, path: "\(c.lesson).yaml")) }
    return try LessonRun(try Lesson.load(packageRoot.appendingPathComponent("Worksheets/\(c.lesson).yaml").path))
  }
}
