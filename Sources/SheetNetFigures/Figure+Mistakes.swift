import SheetNet

/// `mistakes`: the confusion matrix of the evaluation split (as `confusion` judges it) with each
/// misclassified input drawn as a thumbnail inside its cell (row = true class, column =
/// predicted), so a lecturer can point at the 4 that was read as a 9, with the network's
/// probability p for the class it predicted written beside it (how sure it was of the wrong
/// answer) where the cell has room. Diagonal cells give their count; a cell with more mistakes than fit shows as many as
/// fit and "+N".
extension Figure {
  static func checkMistakes(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.mistakes)
    guard run.split.train.labels != nil else {
      throw .notApplicable("mistakes shows misclassified images, but \(source.lesson.path) gives target values (y), not class labels; try training for its learning curves")
    }
    guard imageShape(source.model.inputShape) != nil else {
      throw .notApplicable("mistakes draws the misclassified inputs as images, but the \(shapeText(source.model.inputShape)) inputs of \(source.lesson.path) are not images; try confusion for the counts")
    }
  }

  /// Sample `n` of `data` as a picture: greys (0 white … 1 black after `scale`) for one
  /// channel, colour for three.
  static func thumbnail(_ data: Dataset, _ n: Int, shape: (channels: Int, height: Int, width: Int), scale: ColorScale) -> Raster {
    let (c, h, w) = shape
    let size = c * h * w
    let values = Array(data.x.data[n * size..<(n + 1) * size])
    guard c == 3 else { return Raster(values: Array(values[0..<h * w]), width: w, colormap: .greys, scale: scale) }
    let pixels = (0..<h * w).map { i in
      Color(r: min(max(scale(values[i]), 0), 1), g: min(max(scale(values[h * w + i]), 0), 1), b: min(max(scale(values[2 * h * w + i]), 0), 1))
    }
    return Raster(width: w, height: h, pixels: pixels)
  }

  /// The samples of each cell, in the split's order: cells[t·K + p] for true class t predicted as p.
  static func cellSamples(_ c: Confusion) -> [[Int]] {
    var cells = [[Int]](repeating: [], count: c.classes * c.classes)
    for (n, (p, t)) in zip(c.evaluation.predictions, c.data.labels ?? []).enumerated() where p < c.classes && t < c.classes {
      cells[t * c.classes + p].append(n)
    }
    return cells
  }

  /// p written beside a thumbnail: two decimals without the leading zero, as probabilities are
  /// often printed (".93"), so that two thumbnails with their p fit across a cell; ">.99" above
  /// 0.995, never "1.00" for an answer that was wrong.
  static func mistakeProbability(_ p: Double) -> String { p >= 0.995 ? ">.99" : String(NumberFormat.fixed(p, digits: 2).dropFirst()) }

  static func mistakes(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.mistakes)
    let theme = options.theme
    let c = confusionCounts(source, run)
    let shape = imageShape(source.model.inputShape)!
    let scale = ColorScale.linear(c.data.x.data)
    let cells = cellSamples(c)
    let k = c.classes
    // Every misclassified sample's picture, made once, and the network's p for the class it
    // predicted (one forward pass of the mistakes in evaluation mode).
    var pictures: [Int: Raster] = [:]
    for (i, samples) in cells.enumerated() where i / k != i % k {
      for n in samples { pictures[n] = thumbnail(c.data, n, shape: shape, scale: scale) }
    }
    let wrongSamples = pictures.keys.sorted()
    var confidence: [Int: Double] = [:]
    if !wrongSamples.isEmpty {
      let p = probabilities(forwardAll(source.model, c.data.x.gathering(rows: wrongSamples)), model: source.model)
      for (row, n) in wrongSamples.enumerated() { confidence[n] = p[row][c.evaluation.predictions[n]] }
    }
    let wrong = c.data.count - cells.enumerated().filter { $0.offset / k == $0.offset % k }.map(\.element.count).reduce(0, +)
    let note = c.split == "test" ? "" : " (the lesson holds out no test split)"
    let subtitle = "\(NumberFormat.integer(wrong)) of \(NumberFormat.integer(c.data.count)) misclassified (accuracy \(NumberFormat.percent(c.evaluation.accuracy ?? 0))); p beside each where it fits: how sure the network was"
    return Figure(name: "mistakes", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Mistakes: \(source.name), \(c.split) split\(note)", subtitle: subtitle)
      let (grid, labels) = matrixGrid(canvas, body, classes: c.names, right: 0, theme: theme, square: false)
      let first = matrixCell(grid, k, 0, 0)
      // Thumbnails, each with its p on its right: in each cell q across and r down, as large as
      // lets the cell show all its mistakes, but never under a tick size nor so low that the p
      // of two rows touch.
      // A cell too small for all its mistakes with their p (a crowded cell on a print page)
      // shows them without it, when that lets them all be seen.
      let gap = max(theme.hairline, min(first.width, first.height) * 0.04)
      let pStyle = TextStyle(size: theme.cellMinimum)
      let labelWidth = (confidence.values.map(mistakeProbability) + [".00"]).map { canvas.measure($0, style: pStyle).width }.max()! + gap
      /// The thumbnail side and the q × r slots of a cell holding `count` mistakes, each slot
      /// `pWidth` wider for its p (0: none).
      func layout(_ count: Int, pWidth: Double) -> (slot: Double, q: Int, r: Int) {
        // Stacked p labels keep the clearance between them.
        let smallest = max(theme.tickSize, pWidth > 0 ? canvas.measure(".00", style: pStyle).height + theme.clearance - gap : 0)
        var slot = max(smallest, min(first.height - 2 * gap, first.width - 2 * gap - pWidth)), q = 1, r = 1
        while true {
          q = max(1, Int((first.width - gap) / (slot + pWidth + gap)))
          r = max(1, Int((first.height - gap) / (slot + gap)))
          if q * r >= count || slot <= smallest { break }
          slot = max(smallest, slot - 0.5)
        }
        return (slot, q, r)
      }
      let countStyle = canvas.fitting(String(c.data.count), width: first.width * 0.85, TextStyle(size: max(theme.cellMinimum, min(theme.labelSize * 1.25, first.height * 0.5)), bold: true), minimum: theme.cellMinimum)
      for t in 0..<k {
        for p in 0..<k {
          let cell = matrixCell(grid, k, t, p)
          let samples = cells[t * k + p]
          if t == p {
            canvas.fill(cell, Color(hex: 0x009E73).opacity(0.12 + 0.25 * Double(samples.count) / Double(max(c.data.count / k, 1))))
            canvas.text(NumberFormat.integer(samples.count), cell.center, countStyle)
            continue
          }
          guard !samples.isEmpty else { continue }
          canvas.fill(cell, Theme.accent.opacity(0.1))
          var pWidth = labelWidth
          var (slot, q, r) = layout(samples.count, pWidth: pWidth)
          if q * r < samples.count {
            let bare = layout(samples.count, pWidth: 0)
            if bare.q * bare.r >= samples.count { (slot, q, r, pWidth) = (bare.slot, bare.q, bare.r, 0) }
          }
          let m = q * r
          // The rows in use are centred in the cell.
          let rows = min(r, (samples.count + q - 1) / q)
          /// The i-th slot of the cell: a thumbnail and its p, left to right, row by row.
          func slotRect(_ cell: Rect, _ i: Int) -> Rect {
            let x0 = cell.x + (cell.width - Double(q) * (slot + pWidth) - Double(q - 1) * gap) / 2
            let y0 = cell.y + (cell.height - Double(rows) * slot - Double(rows - 1) * gap) / 2
            return Rect(x: x0 + Double(i % q) * (slot + pWidth + gap), y: y0 + Double(i / q) * (slot + gap), width: slot + pWidth, height: slot)
          }
          // Too many: the last slot (or, when "+N" is wider than a slot, the last row) says how many more.
          var shown = min(samples.count, m)
          var more: (text: String, rect: Rect)? = nil
          if samples.count > m {
            let oneSlot = (text: "+\(samples.count - (m - 1))", rect: slotRect(cell, m - 1))
            let style = TextStyle(size: theme.cellMinimum, bold: true)
            if canvas.measure(oneSlot.text, style: style).width <= slot + pWidth || q == 1 {
              shown = m - 1
              more = oneSlot
            } else {
              shown = m - q
              let row = slotRect(cell, m - q)
              more = ("+\(samples.count - shown)", Rect(x: row.x, y: row.y, width: slotRect(cell, m - 1).maxX - row.x, height: slot))
            }
          }
          for (i, n) in samples.prefix(shown).enumerated() {
            let s = slotRect(cell, i)
            let r = Rect(x: s.x, y: s.y, width: slot, height: slot)
            canvas.image(pictures[n]!, in: r)
            canvas.stroke(r, Theme.muted, width: theme.hairline * 0.5)
            if pWidth > 0 { canvas.text(mistakeProbability(confidence[n]!), Point(r.maxX + gap, r.midY), pStyle, anchor: .left) }
          }
          if let more {
            let style = canvas.fitting(more.text, width: more.rect.width, TextStyle(size: min(theme.tickSize, max(theme.cellMinimum, more.rect.height * 0.7)), bold: true, color: Theme.accent), minimum: theme.cellMinimum)
            canvas.text(more.text, more.rect.center, style)
          }
        }
      }
      for i in 1..<k {
        let x = grid.x + grid.width * Double(i) / Double(k), y = grid.y + grid.height * Double(i) / Double(k)
        canvas.line(Point(x, grid.y), Point(x, grid.maxY), Theme.grid, width: theme.hairline)
        canvas.line(Point(grid.x, y), Point(grid.maxX, y), Theme.grid, width: theme.hairline)
      }
      canvas.stroke(grid, Theme.ink, width: theme.hairline)
      matrixLabels(canvas, grid: grid, labels: labels, classes: c.names, theme: theme)
    }
  }
}
