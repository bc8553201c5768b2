import SheetNet
import SheetNetTrace

/// An exercise as a workbook: the sheet `Exercise` shows the given numbers and every quantity of
/// the step, the blanks as empty yellow boxes; beside each box a check cell says `right` (green)
/// when the typed value is within half a unit of the last asked digit of the answer, `wrong`
/// (red) otherwise, `not a number` (red) for text (0,5 typed where the spreadsheet wants 0.5),
/// and nothing while the box is empty.
///
/// The answers are not stored as numbers: the traced step's own workbook (`StepWorkbook`, every
/// quantity a live formula) follows as hidden sheets whose inputs, weights, targets and
/// hyperparameters are references to the given cells of `Exercise`; a check compares the box
/// with that formula's result:
/// `IF(ISBLANK(D27),"",IF(ISNUMBER(D27),IF(ABS(D27-'hidden forward'!B14)<=0.5*10^-5+1E-12,"right","wrong"),"not a number"))`.
/// Each quantity of the hidden step is rounded as the sheet shows it, `ROUND(…, decimals)`, and
/// the given cells hold the givens as printed, so the hidden step is worked from the printed
/// digits as the answer key is (`ExerciseRow.worked`).
public struct ExerciseWorkbook {
  /// The workbook, ready for `XLSX.data`.
  public private(set) var workbook = Workbook()
  /// Where each blank sits on the `Exercise` sheet (0-based): its answer box and its check cell.
  public private(set) var boxes: [(name: String, row: Int, column: Int, checkColumn: Int)] = []

  /// The name of the visible sheet.
  public static let sheetName = "Exercise"
  /// Check colours: fill and text (Excel's "good" and "bad" styles).
  public static let rightFill = "C6EFCE", rightFont = "006100", wrongFill = "FFC7CE", wrongFont = "9C0006"

  /// What a check says of text typed in a box (a number written with a decimal comma where the
  /// spreadsheet wants a point, a word).
  public static let notANumber = "not a number"

  /// Lays `exercise` out. Throws when its step cannot be written as formulas. With `lock`, for
  /// graded use: the workbook's structure is protected (the hidden answer sheets cannot be
  /// shown), every sheet is protected with its formulas hidden (no check shows which cell holds
  /// its answer), and only the answer boxes take typing. No password: a deterrent, not a secret.
  public init(_ exercise: Exercise, lock: Bool = false) throws(SheetNetError) {
    let step = try StepWorkbook(exercise.traced)
    var sheet = Sheet(name: Self.sheetName, fileName: "exercise.csv")
    var row = 0
    func put(_ column: Int, _ content: Content, _ style: CellStyle = .plain) {
      sheet.cells.append(Cell(row: row, column: column, content, style: style))
    }
    put(0, .text("Exercise: \(exercise.title)"), .title); row += 1
    put(0, .text("One training step of \(exercise.lesson) on one sample\(exercise.tokens.map { " (\($0))" } ?? ""), \(exercise.seed.map { "numbers drawn with seed \($0)" } ?? "the lesson's own numbers")\(exercise.isFocused ? ", worked on in part" : ""). Fill every yellow box."), .note); row += 1
    put(0, .text("The check beside a box turns green (right) when your value is within half a unit of the last digit asked for, red (wrong) otherwise, or says 'not a number' for text (type 0.5, not 0,5); an empty box is not checked."), .note); row += 2

    // Givens: the cells the hidden sheets read.
    var givenCell: [String: String] = [:]  // "entry#i" → absolute reference on Exercise
    let prefix = A1.sheetPrefix(Self.sheetName)
    put(0, .text("Given"), .title); row += 1
    put(0, .text("quantity"), .label); put(1, .text("name"), .label); put(2, .text("value"), .label); row += 1
    for g in exercise.givens {
      put(0, .text(g.label)); put(1, .text(g.name), .note); put(2, .number(g.worked), .number(.fixed(g.decimals)))
      givenCell["\(g.entry)#\(g.element)"] = prefix + "$C$\(row + 1)"
      row += 1
    }
    var hyperCell: [String: String] = [:]
    for h in exercise.hyperparameters {
      put(0, .text(h.name)); put(1, .text(h.meaning), .note); put(2, .number(h.value), .number(.general))
      hyperCell[h.name] = prefix + "$C$\(row + 1)"
      row += 1
    }
    if exercise.givensRounded {
      put(0, .text("Some given numbers are shown rounded to \(Exercise.givenDecimals) decimals; the step is worked from them as shown."), .note); row += 1
    }
    row += 1

    // The step.
    put(0, .text("One training step"), .title); row += 1
    for (c, h) in ["quantity", "name", "arithmetic", "value", "check"].enumerated() { put(c, .text(h), .label) }
    row += 1
    let (valueColumn, checkColumn) = (3, 4)
    for r in exercise.rows {
      put(0, .text(r.label)); put(1, .text(r.name), .note)
      put(2, .text(exercise.arithmetic(r, Exercise.written)), .note)
      if r.blank {
        guard let block = step.block(r.entry) else { throw .model("exercise: \(r.entry) has no cell in the step workbook; report this as a SheetNet bug") }
        let (br, bc) = block.cell(r.element)
        let answer = A1.sheetPrefix(step.workbook.sheets[block.sheet].name) + A1.cell(br, bc)
        let box = A1.cell(row, valueColumn)
        put(valueColumn, .empty, .answerBox)
        put(checkColumn, .textFormula(#"IF(ISBLANK(\#(box)),"",IF(ISNUMBER(\#(box)),IF(ABS(\#(box)-\#(answer))<=0.5*10^-\#(r.decimals)+1E-12,"right","wrong"),"\#(Self.notANumber)"))"#,
                                      cached: ""), .verdict)
        let check = "$" + A1.column(checkColumn) + String(row + 1)
        sheet.conditionalFills.append(ConditionalFill(top: row, left: valueColumn, bottom: row, right: checkColumn,
                                                      formula: check + #"="right""#, fill: Self.rightFill, font: Self.rightFont))
        sheet.conditionalFills.append(ConditionalFill(top: row, left: valueColumn, bottom: row, right: checkColumn,
                                                      formula: check + #"="wrong""#, fill: Self.wrongFill, font: Self.wrongFont))
        sheet.conditionalFills.append(ConditionalFill(top: row, left: valueColumn, bottom: row, right: checkColumn,
                                                      formula: check + #"="\#(Self.notANumber)""#, fill: Self.wrongFill, font: Self.wrongFont))
        boxes.append((r.name, row, valueColumn, checkColumn))
      } else {
        put(valueColumn, .number(r.worked), .number(.fixed(r.decimals)))
      }
      row += 1
    }
    sheet.columnWidths = [ColumnWidth(first: 0, last: 0, width: 14), ColumnWidth(first: 1, last: 1, width: 26),
                          ColumnWidth(first: 2, last: 2, width: 48), ColumnWidth(first: 3, last: 3, width: 12), ColumnWidth(first: 4, last: 4, width: 14)]
    sheet.frozenRows = 1
    sheet.print.fit = .width
    sheet.print.landscape = true

    // The step's own workbook, hidden, reading the givens (a focus's given q, k, v replace
    // their formulas too, so every check follows the numbers the sheet gives).
    // Every quantity of the hidden step is rounded as the sheet shows it,
    // ROUND(formula, decimals), so the step is worked from the printed digits as the key is
    // (see Exercise+Worked) and a check compares with the number the key shows.
    var hidden = step.workbook.sheets
    var cellAt: [[Int: Int]] = hidden.map { sheet in
      Dictionary(sheet.cells.indices.map { (sheet.cells[$0].row << 20 | sheet.cells[$0].column, $0) }, uniquingKeysWith: { _, last in last })
    }
    for block in step.blocks where block.isEntry {
      let worked = exercise.workedEntries[block.name]
      for i in 0..<block.shape.reduce(1, *) {
        let (r, c) = block.cell(i)
        if let ref = givenCell["\(block.name)#\(i)"] {
          let value = worked?[i] ?? exercise.traced.tracer.entry(block.name)?.value.data[i] ?? 0
          hidden[block.sheet].cells.append(Cell(row: r, column: c, .formula(ref, cached: value, array: false), style: .number(.general)))
          cellAt[block.sheet][r << 20 | c] = hidden[block.sheet].cells.count - 1
          continue
        }
        guard let w = worked?[i], let n = cellAt[block.sheet][r << 20 | c],
              case .formula(let text, _, let array) = hidden[block.sheet].cells[n].content else { continue }
        hidden[block.sheet].cells[n].content = .formula("ROUND(\(text),\(Exercise.decimals(w)))", cached: w, array: array)
      }
    }
    var names = step.workbook.names
    for n in names.indices {
      if let ref = hyperCell[names[n].name], let h = exercise.hyperparameters.first(where: { $0.name == names[n].name }) {
        hidden[names[n].sheet].cells.append(Cell(row: names[n].row, column: names[n].column, .formula(ref, cached: h.value, array: false), style: .number(.general)))
      }
      names[n].sheet += 1
    }
    for s in hidden.indices {
      hidden[s].hidden = true
      hidden[s].protected = lock
    }
    sheet.protected = lock
    workbook.sheets = [sheet] + hidden
    workbook.names = names
    workbook.locksStructure = lock
  }
}
