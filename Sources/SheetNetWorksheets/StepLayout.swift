import Foundation
import SheetNet
import SheetNetTrace

/// Builds a `StepWorkbook`: groups the trace entries into sheets in step order, asks each
/// entry's owner (layer, loss or optimizer) for its formulas, places every block, then writes
/// every cell with the engine's value cached and the Summary sheet.
struct StepLayout {
  let traced: TracedStep
  let limit: Int

  init(_ traced: TracedStep, limit: Int) {
    self.traced = traced
    self.limit = limit
  }

  /// A block waiting for its cells: its formula per element (nil: editable) and, for entries,
  /// the engine's values.
  private struct Pending {
    var formula: ((Int) -> Formula)?
    var values: Tensor?
  }

  func build(into book: inout StepWorkbook) throws(SheetNetError) {
    let run = traced.run, layers = run.model.layers, entries = traced.tracer.entries
    if let bad = entries.first(where: { !$0.value.isFinite }) {
      throw .training("step \(traced.step) holds a number that is not finite (first in \(bad.name)), which a spreadsheet cannot hold; export an earlier --step, or lower the learning rate")
    }
    // The network around each layer: its input entry, and the δ it receives.
    var inputOf: [String: String] = [:], deltaOf: [String: String] = [:]
    var previous = Tracer.name("input", .forward, "x")
    for layer in layers {
      inputOf[layer.name] = previous
      previous = Tracer.name(layer.name, .forward, layer.outputKey)
    }
    let output = previous
    let recorded = Set(entries.map(\.name))
    var upstream = ["loss.dz", "loss.dy"].first { recorded.contains($0) } ?? "loss.dy"
    for layer in layers.reversed() {
      deltaOf[layer.name] = upstream
      let dx = Tracer.name(layer.name, .backward, layer.inputGradientKey)
      if recorded.contains(dx) { upstream = dx }
    }
    let last = layers.last
    let lastInput = last.map { inputOf[$0.name]! } ?? output

    // Sheets in step order: Summary, then one per (layer, phase) as the entries come; the
    // targets join the input sheet.
    var sheets: [Sheet] = [Sheet(name: "Summary", fileName: "00-summary.csv")]
    var sheetOf: [String: Int] = [:], cursor: [Int] = [2]
    var usedNames: Set<String> = ["summary"]
    func sheetIndex(_ e: TraceEntry) -> Int {
      let key = e.name == "loss.t" ? "input|forward" : "\(e.layer)|\(e.phase.rawValue)"
      if let i = sheetOf[key] { return i }
      let title = e.layer == "input" || e.name == "loss.t" ? "input" : e.layer == "loss" ? "loss" : "\(e.layer) \(e.phase.rawValue)"
      let name = uniqueSheetName(title, &usedNames)
      sheets.append(Sheet(name: name, fileName: String(format: "%02d-", sheets.count) + fileStem(name) + ".csv"))
      cursor.append(2)
      sheetOf[key] = sheets.count - 1
      return sheets.count - 1
    }

    var shapes: [String: [Int]] = [:]
    var pending: [Pending] = []
    let tokens = TokenLabels(traced)
    let axisNames = AxisNames(traced)
    func place(_ name: String, isEntry: Bool, sheet: Int, symbol: String, formula: String, shape: [Int], batched: Bool,
               cells: ((Int) -> Formula)?, values: Tensor?) {
      var placement = Placement.of(shape, batched: batched, at: cursor[sheet])
      if case .grids = placement.kind {
        // An attention grid's key tokens or the vocabulary go in a header row; softmax weights
        // get a row-sum column beside each grid (under its own header).
        let sums = TokenLabels.sumsRows(name, model: run.model)
        if sums || tokens?.axes(name, shape: shape, batched: batched).columns != nil { placement.headerRows = 1 }
        if sums { placement.trailingColumns = 1 }
      }
      cursor[sheet] += placement.height + 1
      book.blockIndex[name] = book.blocks.count
      book.blocks.append(Block(name: name, isEntry: isEntry, sheet: sheet, symbol: symbol, formula: formula, shape: shape,
                               batched: batched, editable: cells == nil, placement: placement))
      pending.append(Pending(formula: cells, values: values))
      shapes[name] = shape
    }

    let batch = traced.samples.count
    for e in entries {
      let sheet = sheetIndex(e)
      let layerName = e.layer
      let context = SheetContext(layer: layerName, input: e.layer == "loss" ? output : inputOf[layerName] ?? previous,
                                 delta: deltaOf[layerName] ?? upstream, lastKind: last?.kind ?? "", lastInput: lastInput,
                                 shapes: shapes, batch: batch)
      let key = Tracer.key(of: e.name, layer: e.layer, phase: e.phase)
      let owner: (any SheetFormulas)?
      switch (e.layer, e.phase) {
      case ("input", _): owner = nil
      case ("loss", _): owner = run.loss
      case (_, .update): owner = run.optimizer
      default: owner = run.model.layer(named: e.layer)
      }
      var cells = SheetCells.input
      if let owner {
        guard let found = owner.sheetCells(e.phase, key, context) else {
          throw .model("worksheet: \(e.name) has no spreadsheet formula; report this as a SheetNet bug")
        }
        cells = found
      }
      for h in cells.helpers {
        place(h.name, isEntry: false, sheet: sheet, symbol: h.symbol, formula: h.formula, shape: h.shape, batched: h.batched,
              cells: h.cell, values: nil)
      }
      place(e.name, isEntry: true, sheet: sheet, symbol: e.symbol, formula: e.formula, shape: e.value.shape, batched: e.batched,
            cells: cells.formula, values: e.value)
    }

    let total = book.blocks.reduce(0) { $0 + $1.shape.reduce(1, *) }
    guard total <= limit else {
      throw .lesson("the workbook for step \(traced.step) would hold \(Limits.grouped(total)) cells, more than the \(Limits.grouped(limit)) a workbook is written for; trace fewer samples with --sample 1 or --batch 2, or export values only with --format csv")
    }

    // Every cell, block by block, with values kept for the formulas that read them.
    book.workbook.sheets = sheets
    var values: [[Int: Double]] = Array(repeating: [:], count: sheets.count)
    let text = FormulaText(blocks: book.blocks, index: book.blockIndex, sheetNames: sheets.map(\.name))
    for (b, block) in book.blocks.enumerated() {
      var sheet = book.workbook.sheets[block.sheet]
      let row = block.placement.titleRow
      sheet.cells.append(Cell(row: row, column: 0, .text(block.name), style: .title))
      let describe = block.isEntry ? block.formula : "helper: " + block.formula
      sheet.cells.append(Cell(row: row, column: 1, .text(describe + "  [" + shapeText(block.shape) + "]" + (block.editable ? "  (editable)" : "")), style: .note))
      labels(block, tokens, axisNames, into: &sheet)
      let count = block.shape.reduce(1, *)
      var low = Double.infinity, high = -Double.infinity
      var contents: [Content] = []
      contents.reserveCapacity(count)
      for i in 0..<count {
        let (r, c) = block.cell(i)
        let v: Double
        if let formula = pending[b].formula {
          let f = try text.unbanded(formula(i))
          let written = try text.text(f, on: block.sheet)
          guard written.count <= formulaLengthLimit else {
            throw .lesson("the formula of \(block.name) element \(i + 1) would be \(written.count) characters, more than a spreadsheet takes (\(formulaLengthLimit)): the layer reads too many cells for one formula (fewer samples help only when it sums over the batch); export its values alone with --format csv")
          }
          if let engine = pending[b].values { v = engine.data[i] } else {
            guard case .scalar(let x) = try text.evaluate(f, { values[$0][key($1, $2)] ?? 0 }), x.isFinite else {
              throw .model("worksheet: \(block.name) element \(i + 1) is not finite")
            }
            v = x
          }
          contents.append(.formula(written, cached: v, array: f.readsRange))
          book.formulas[.init(sheet: block.sheet, row: r, column: c)] = f
        } else {
          v = pending[b].values?.data[i] ?? 0
          contents.append(.number(v))
        }
        values[block.sheet][key(r, c)] = v
        low = min(low, v)
        high = max(high, v)
      }
      // Each entry's own number format (see `NumberFormat.entry`).
      let format = NumberFormat.entry((0..<count).map { values[block.sheet][key(block.cell($0).row, block.cell($0).column)] ?? 0 }, editable: block.editable)
      for (i, content) in contents.enumerated() {
        let (r, c) = block.cell(i), v = values[block.sheet][key(r, c)] ?? 0
        sheet.cells.append(Cell(row: r, column: c, content, style: block.editable ? .input(format(v)) : .number(format(v))))
      }
      if count > 1, high > low, !block.editable {
        // A heat map over computed cells only (editable cells keep their yellow look): one scale
        // over the block, or one per grid when columns beside the grids (row sums) must keep
        // their own look; every grid on the block's one range of values.
        var rectangles = [block.rectangle]
        if block.placement.trailingColumns > 0, case .grids(let grids, _, _, _) = block.placement.kind {
          rectangles = (0..<grids).map { block.placement.gridRectangle($0) }
        }
        for rect in rectangles {
          if low >= 0 {
            sheet.colorScales.append(ColorScale(top: rect.top, left: rect.left, bottom: rect.bottom, right: rect.right, low: 0, mid: nil,
                                                high: high, lowColor: "FFFFFF", highColor: ColorScale.sequentialHigh))
          } else {
            let m = max(-low, high)
            sheet.colorScales.append(ColorScale(top: rect.top, left: rect.left, bottom: rect.bottom, right: rect.right, low: -m, mid: 0,
                                                high: m, lowColor: ColorScale.divergingLow, highColor: ColorScale.divergingHigh))
          }
        }
      }
      // Row sums beside each grid of a distribution (attention's A): a live SUM of the row, 1.
      if block.placement.trailingColumns > 0, case .grids(let grids, let h, let w, _) = block.placement.kind {
        for g in 0..<grids {
          for r in 0..<h {
            let first = (g * h + r) * w
            let f = Formula.call("SUM", [.range(block.name, first, first + w - 1)])
            guard case .scalar(let v) = try text.evaluate(f, { values[$0][key($1, $2)] ?? 0 }) else { continue }
            let (row, column) = block.cell(first + w - 1)
            sheet.cells.append(Cell(row: row, column: column + 1, .formula(try text.text(f, on: block.sheet), cached: v, array: f.readsRange), style: .number(.fixed(NumberFormat.significantDigits - 1))))
            book.formulas[.init(sheet: block.sheet, row: row, column: column + 1)] = f
            values[block.sheet][key(row, column + 1)] = v
          }
        }
      }
      book.workbook.sheets[block.sheet] = sheet
    }

    for s in 1..<book.workbook.sheets.count {
      book.workbook.sheets[s].cells.insert(Cell(row: 0, column: 0, .text("\(book.workbook.sheets[s].name): \(run.lesson.name), step \(traced.step)"), style: .title), at: 0)
      book.workbook.sheets[s].columnWidths = columnWidths(book.workbook.sheets[s], labels: 24)
      book.workbook.sheets[s].frozenRows = 1
      book.workbook.sheets[s].frozenColumns = 1
      book.workbook.sheets[s].print = printSetup(book.workbook.sheets[s], fit: .width)
    }
    book.numbers = values
    try summary(into: &book, text: text, output: output)
  }

  /// Row and column labels of a block; in a token lesson the tokens themselves (see `TokenLabels`).
  private func labels(_ block: Block, _ tokens: TokenLabels?, _ names: AxisNames, into sheet: inout Sheet) {
    let row = block.placement.titleRow
    func put(_ r: Int, _ c: Int, _ text: String) { sheet.cells.append(Cell(row: r, column: c, .text(text), style: .label)) }
    let axes: (rows: TokenLabels.Axis?, columns: TokenLabels.Axis?) = tokens?.axes(block.name, shape: block.shape, batched: block.batched) ?? (nil, nil)
    /// The label of index `k` along an axis that stands for tokens, for the traced samples `samples`.
    func token(_ axis: TokenLabels.Axis?, _ k: Int, samples: [Int], column: Bool = false) -> String? {
      guard let tokens, let axis else { return nil }
      switch axis {
      case .positions, .keys: return tokens.position(k, samples: samples)
      case .vocabulary: return column ? tokens.vocabularyColumn(k) : tokens.vocabularyRow(k)
      }
    }
    let single = traced.samples.count == 1 ? [0] : []  // an unbatched grid over positions names one sample's tokens
    switch block.placement.kind {
    case .scalar: put(row + 1, 0, block.symbol)
    case .column(let count):
      for k in 0..<count {
        let own = [names.row(block, k), names.parameter(block, k)].compactMap { $0 }
        put(row + 1 + k, 0, token(axes.rows, k, samples: single) ?? ([block.symbol + subscripted(k + 1)] + own).joined(separator: " · "))
      }
    case .samples(let n, let k):
      // A long value prints in bands of rows side by side, each led by a column of its row labels.
      for band in 0..<block.placement.bands {
        for s in 0..<n { put(row + 1, band * (n + 1) + 1 + s, "sample \(s + 1)") }
      }
      let named = n <= 4 ? Array(0..<n) : []  // beyond four samples the grids name each sample's tokens
      for j in 0..<k {
        let own = names.row(block, j).map { " · " + $0 } ?? ""
        let (r, c) = block.cell(j)
        put(r, c - 1, token(axes.rows, j, samples: named) ?? block.symbol + subscripted(j + 1) + own)
      }
    case .matrix(let rows, let columns):
      // Column labels over each band (a wide matrix prints in bands of columns), row labels beside each.
      for i in 0..<columns {
        let (r, c) = block.cell(i)
        put(r - 1, c, token(axes.columns, i, samples: single, column: true) ?? "i=\(i + 1)" + (names.column(block, i).map { " · " + $0 } ?? ""))
      }
      for j in 0..<rows {
        let own = (0..<columns).compactMap { names.parameter(block, j * columns + $0) }.joined(separator: " ")
        let label = [block.symbol + " j=\(j + 1)", names.row(block, j), own.isEmpty ? nil : own].compactMap { $0 }.joined(separator: " · ")
        for band in 0..<block.placement.bands {
          put(block.cell(j * columns + band * block.placement.perBand).row, 0, token(axes.rows, j, samples: single) ?? label)
        }
      }
    case .grids(let count, let h, let w, _):
      let perSample = max(count / max(block.batched ? block.shape[0] : 1, 1), 1)
      for g in 0..<count {
        let (r, c) = block.placement.gridLabel(g)
        // An attention layer's [N, h, T, ·] grids are one per sample and head.
        let perHead = block.shape.count == 4 && block.batched && traced.run.model.layer(named: TokenLabels.owner(block.name).layer) is any TokenGrids
        put(r, c, block.symbol + " " + (perHead ? gridLabel(block, g).replacingOccurrences(of: "channel", with: "head") : gridLabel(block, g)))
        let samples = block.batched ? [g / perSample] : single
        let top = block.cell(g * h * w).row
        if block.placement.headerRows > 0 {
          for j in 0..<w { if let text = token(axes.columns, j, samples: samples, column: true) { put(top - 1, c + j, text) } }
          if block.placement.trailingColumns > 0 { put(top - 1, c + w, "Σ row") }
        }
        for i in 0..<h { if let text = token(axes.rows, i, samples: samples) { put(top + i, c - 1, text) } }
      }
    }
  }

  /// The Summary sheet: the lesson, the hyperparameters in named cells, the loss, each sample's
  /// prediction against its target, what to change, and a link to every sheet.
  private func summary(into book: inout StepWorkbook, text: FormulaText, output: String) throws(SheetNetError) {
    let run = traced.run
    var sheet = book.workbook.sheets[0]
    var row = 0
    func put(_ c: Int, _ content: Content, _ style: CellStyle = .plain) {
      sheet.cells.append(Cell(row: row, column: c, content, style: style))
      switch content {
      case .number(let x), .formula(_, let x, _): book.numbers[0][key(row, c)] = x
      case .text, .textFormula, .empty: break
      }
    }
    func reference(_ f: Formula) throws(SheetNetError) -> Content {
      guard case .scalar(let v) = try text.evaluate(f, { book.numbers[$0][key($1, $2)] ?? 0 }) else { return .number(0) }
      return .formula(try text.text(f, on: 0), cached: v, array: f.readsRange)
    }
    put(0, .text("SheetNet worksheet: \(run.lesson.title.isEmpty ? run.lesson.name : run.lesson.title)"), .title); row += 1
    put(0, .text("lesson"), .label); put(1, .text(run.lesson.name)); row += 1
    put(0, .text("step"), .label); put(1, .text("\(traced.step) of training: epoch \(traced.epoch), step \(traced.stepInEpoch) of the epoch")); row += 1
    put(0, .text("samples"), .label)
    put(1, .text("rows " + traced.samples.map { String($0 + 1) }.joined(separator: ", ") + " of the training split (seed \(run.seed))")); row += 2

    /// A number's own format: as typed when editable and short, else 9 significant digits.
    func shown(_ content: Content, editable: Bool = false) -> CellStyle {
      guard case .number(let v) = content else {
        if case .formula(_, let v, _) = content { return .number(NumberFormat.entry([v], editable: false)(v)) }
        return .plain
      }
      return editable ? .input(NumberFormat.entry([v], editable: true)(v)) : .number(NumberFormat.entry([v], editable: false)(v))
    }
    put(0, .text("Hyperparameters"), .title); put(1, .text("named cells: change one and every update recomputes"), .note); row += 1
    for (name, value, meaning) in run.optimizer.sheetNames {
      put(0, .text(name), .label); put(1, .number(value), shown(.number(value), editable: true)); put(2, .text(meaning), .note)
      book.workbook.names.append(DefinedName(name: name, sheet: 0, row: row, column: 1))
      row += 1
    }
    row += 1

    put(0, .text("Loss"), .title); row += 1
    let loss = try reference(.cell("loss.L", 0))
    put(0, .text("L (\(run.loss.kind))"), .label); put(1, loss, shown(loss)); put(2, .text(type(of: run.loss).formula), .note)
    row += 2

    let y = text.index[output].map { book.blocks[$0] }, t = text.index["loss.t"].map { book.blocks[$0] }
    let classNames = AxisNames(traced).classes
    if let y, let t, y.shape.count == 2 {
      let (n, k) = (y.shape[0], y.shape[1])
      put(0, .text("Prediction against target"), .title); row += 1
      let classes = k > 1 && run.loss is CrossEntropy
      let named = classes && classNames.count == k
      // The class names in a row of their own, for INDEX to read (classes counted from 0).
      var namesRange = ""
      if named {
        put(0, .text("classes (counted from 0)"), .label)
        for (c, name) in classNames.enumerated() { put(1 + c, .text(name)) }
        namesRange = "$B$\(row + 1):$" + A1.column(k) + "$\(row + 1)"
        row += 1
      }
      let headers = classes ? (named ? ["predicted", "target", "p(predicted)"] : ["predicted class (from 0)", "target class (from 0)", "p(predicted)"])
        : (0..<k).map { "y" + subscripted($0 + 1) } + (0..<k).map { "t" + subscripted($0 + 1) }
      put(0, .text("sample"), .label)
      for (c, h) in headers.enumerated() { put(1 + c, .text(h), .label) }
      row += 1
      for s in 0..<n {
        put(0, .text("sample \(s + 1) (row \(traced.samples[s] + 1))"), .label)
        if classes {
          let (ys, ts) = (SheetLayout.column(output, sample: s, length: k), SheetLayout.column("loss.t", sample: s, length: k))
          for (c, column) in [ys, ts].enumerated() {
            let position = Formula.call("MATCH", [.call("MAX", [column]), column, .number(0)])
            if named {
              // The class's name: INDEX over the names row at the largest entry's position.
              guard case .formula(_, let at, _) = try reference(position) else { continue }
              put(1 + c, .textFormula("INDEX(" + namesRange + "," + (try text.text(position, on: 0)) + ")", cached: classNames[max(0, min(k - 1, Int(at) - 1))]))
            } else {
              put(1 + c, try reference(position - .number(1)), .number(.fixed(0)))
            }
          }
          let p = try reference(.call("MAX", [ys]))
          put(3, p, shown(p))
        } else {
          for j in 0..<k {
            let (yj, tj) = (try reference(.cell(output, s * k + j)), try reference(.cell("loss.t", s * k + j)))
            put(1 + j, yj, shown(yj))
            put(1 + k + j, tj, shown(tj))
          }
        }
        row += 1
      }
      row += 1
    }

    put(0, .text("What to change and what to watch"), .title); row += 1
    let lines = [
      "Change an input: a yellow cell (gold border) on the input sheet, a pixel or a feature, or a target there.",
      "Change a weight or a hyperparameter: a yellow cell on a forward sheet, or learning_rate above.",
      "Watch the loss and the prediction here recompute, every gradient on the backward sheets",
      "and every new weight on the update sheets. Coloured cells are computed (a heat map: blue below 0, red above, purple from 0 up).",
    ]
    for line in lines { put(0, .text(line), .note); row += 1 }
    row += 1

    put(0, .text("Sheets"), .title); row += 1
    for s in book.workbook.sheets.indices.dropFirst() {
      let target = book.workbook.sheets[s].name
      put(0, .text(target))
      sheet.links.append(SheetLink(row: row, column: 0, sheet: target))
      let names = book.blocks.filter { $0.sheet == s && $0.isEntry }.map(\.name)
      put(1, .text(names.joined(separator: ", ")), .note)
      row += 1
    }
    sheet.columnWidths = [ColumnWidth(first: 0, last: 0, width: 30), ColumnWidth(first: 1, last: 12, width: 14)]
    sheet.print = printSetup(sheet, fit: .page)
    sheet.print.titleRows = 0
    book.workbook.sheets[0] = sheet
  }
}

/// Column widths in characters: column A `labels` wide, every other column as wide as its widest
/// number as its format shows it (or its widest short label), at least 8; equal neighbours joined.
func columnWidths(_ sheet: Sheet, labels: Double) -> [ColumnWidth] {
  var widest: [Int: Int] = [:]
  for cell in sheet.cells where cell.column > 0 {
    let n: Int
    switch (cell.content, cell.style) {
    case (.number(let v), .number(let f)), (.number(let v), .input(let f)), (.formula(_, let v, _), .number(let f)), (.formula(_, let v, _), .input(let f)):
      n = f.shownLength(v)
    case (.text(let t), .label): n = min(t.count, 16)
    default: continue
    }
    widest[cell.column] = max(widest[cell.column] ?? 0, n)
  }
  var widths = [ColumnWidth(first: 0, last: 0, width: labels)]
  for (column, n) in widest.sorted(by: { $0.key < $1.key }) {
    let w = Double(max(n + 2, 8))
    if let last = widths.last, widths.count > 1, last.last == column - 1, last.width == w { widths[widths.count - 1].last = column } else {
      widths.append(ColumnWidth(first: column, last: column, width: w))
    }
  }
  return widths
}

/// How a sheet prints: its cells (and the empty columns its text runs on into) as the print area,
/// scaled by `fit`, the title row on every page, and in the orientation that takes fewer pages
/// (portrait on a tie): a wide sheet scaled to one page wide goes landscape, a tall narrow one
/// stays portrait, where a page holds more rows.
func printSetup(_ sheet: Sheet, fit: PrintSetup.Fit) -> PrintSetup {
  func width(_ column: Int) -> Double { sheet.columnWidths.last { $0.first <= column && column <= $0.last }?.width ?? 8.43 }
  var bottom = 0, right = 0
  for cell in sheet.cells {
    bottom = max(bottom, cell.row)
    var last = cell.column
    if case .text(let t) = cell.content {
      // Text runs on to the right; a bold or italic character is about 1.1 digits wide.
      var room = width(last)
      while room < 1.1 * Double(t.count) { last += 1; room += width(last) }
    }
    right = max(right, last)
  }
  var setup = PrintSetup()
  setup.area = (0, 0, bottom, right)
  setup.fit = fit
  setup.titleRows = 1
  let wide = (0...right).reduce(0) { $0 + width($1) }
  /// (Characters across, rows down) of a page in each orientation.
  let (portrait, landscape) = ((PrintSetup.portraitCharacters, PrintSetup.portraitRows), (PrintSetup.landscapeCharacters, PrintSetup.landscapeRows))
  /// The scale one page wide (at least the smallest a spreadsheet prints).
  func widthScale(_ page: (Double, Double)) -> Double { fit == .none ? 1 : max(min(1, page.0 / wide), PrintSetup.smallestScale) }
  /// That scale, but at most `tallScale` when the sheet is taller than a page: a long narrow sheet prints small too.
  func scale(_ page: (Double, Double)) -> Double {
    fit == .width && Double(bottom + 1) * widthScale(page) > page.1 ? min(widthScale(page), PrintSetup.tallScale) : widthScale(page)
  }
  func pages(_ page: (Double, Double)) -> (high: Double, total: Double) {
    let high = ceil(Double(bottom + 1) * scale(page) / page.1)
    return (high, high * ceil(wide * scale(page) / page.0))
  }
  setup.landscape = pages(landscape).total < pages(portrait).total
  // As many pages high as that scale takes, when it is smaller than fitting the width alone;
  // else 0 (as many as fitting the width takes).
  let page = setup.landscape ? landscape : portrait
  if scale(page) < widthScale(page) { setup.pagesHigh = Int(pages(page).high) }
  return setup
}

/// Which grid `g` of a block is, in words: "sample 1, channel 3", "filter 2, channel 1".
func gridLabel(_ block: Block, _ g: Int) -> String {
  let outer = Array(block.shape.dropLast(2))
  var index: [Int] = [], rest = g
  for n in outer.reversed() { index.append(rest % max(n, 1)); rest /= max(n, 1) }
  index.reverse()
  let words: [String]
  if outer.count == 2 { words = block.batched ? ["sample", "channel"] : ["filter", "channel"] }
  else if outer.count == 1 { words = [block.batched ? "sample" : "index"] }
  else { words = outer.map { _ in "index" } }
  return zip(words, index).map { "\($0) \($1 + 1)" }.joined(separator: ", ")
}

/// A key for a cell in one sheet's value map.
@inline(__always) func key(_ row: Int, _ column: Int) -> Int { row << 16 | column }

/// A sheet name every spreadsheet accepts and no reader mistakes for anything else: letters,
/// digits, spaces, `_`, `-` and `.` only (anything else becomes `_`, so `[]:*?/\` and quotes never
/// appear), at most 31 characters, unique in the workbook (ignoring case).
func uniqueSheetName(_ wanted: String, _ used: inout Set<String>) -> String {
  var base = String(wanted.map { $0.isLetter || $0.isNumber || " _-.".contains($0) ? $0 : "_" })
  if base.isEmpty { base = "sheet" }
  var name = String(base.prefix(31)), n = 1
  while used.contains(name.lowercased()) {
    n += 1
    let suffix = " \(n)"
    name = String(base.prefix(31 - suffix.count)) + suffix
  }
  used.insert(name.lowercased())
  return name
}

/// A file-name stem of letters, digits, `-` and `_` only: "conv1 forward" → "conv1-forward".
func fileStem(_ name: String) -> String {
  let mapped = name.lowercased().unicodeScalars.map { s -> Character in
    if s == " " { return "-" }
    if s.isASCII, s.properties.isAlphabetic || ("0"..."9").contains(Character(s)) || s == "-" || s == "_" { return Character(s) }
    return "_"
  }
  return String(mapped.prefix(60))
}
