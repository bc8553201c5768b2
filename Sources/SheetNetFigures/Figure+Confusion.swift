import SheetNet

/// `confusion`: how often each true class (row) was predicted as each class (column), on the
/// test split; colour is the fraction of the row, the number is the count.
extension Figure {
  static func checkConfusion(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.confusion)
    guard run.split.train.labels != nil else {
      throw .notApplicable("confusion needs class labels, but \(source.lesson.path) gives target values (y); it has no classes to confuse")
    }
  }

  static func confusion(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.confusion)
    let (split, data) = run.evaluationSet
    let evaluation = run.evaluate(data)
    let k = max(data.classes, (evaluation.predictions.max() ?? 0) + 1, source.model.outputShape.reduce(1, *) == 1 ? 2 : source.model.outputShape.reduce(1, *))
    var counts = [Int](repeating: 0, count: k * k)
    for (p, t) in zip(evaluation.predictions, data.labels ?? []) where p < k && t < k { counts[t * k + p] += 1 }
    let names = (0..<k).map { $0 < data.classNames.count ? data.classNames[$0] : String($0) }
    let note = split == "test" ? "" : " (the lesson holds out no test split)"
    return confusionMatrix(counts, classes: names, theme: options.theme,
                           title: "Confusion matrix: \(source.name), \(split) split\(note)",
                           subtitle: "\(NumberFormat.integer(data.count)) samples, accuracy \(NumberFormat.percent(evaluation.accuracy ?? 0)); rows: true class, columns: predicted")
  }

  /// A K×K matrix of counts (row = true class, column = predicted), coloured by the fraction of
  /// the row so that small classes read as clearly as large ones.
  public static func confusionMatrix(_ counts: [Int], classes: [String], theme: Theme, title: String, subtitle: String) -> Figure {
    let k = classes.count
    return Figure(name: "confusion", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let fractions = (0..<k * k).map { i -> Double in
        let row = counts[(i / k) * k..<(i / k + 1) * k].reduce(0, +)
        return row == 0 ? 0 : Double(counts[i]) / Double(row)
      }
      let bar = ColorBar(colormap: .viridis, scale: ColorScale(lower: 0, upper: 1), title: "fraction of row")
      let label = theme.label, tick = theme.tick
      let lh = canvas.measure("Ag", style: label).height, th = canvas.measure("Ag", style: tick).height
      let nameWidth = classes.map { canvas.measure($0, style: tick).width }.max() ?? 0
      let barWidth = bar.width(on: canvas, theme: theme)
      // Left: the "true class" title and the row names; top: "predicted" and the column names;
      // right: the colour bar. The whole group is centred on the page.
      let leftLabels = lh + nameWidth + theme.gap * 0.5
      let area = body.inset(top: lh + th + theme.gap * 0.5, left: leftLabels)
      let side = max(0, min(area.width - barWidth - theme.gap, area.height))
      let offset = max(0, (body.width - (leftLabels + side + theme.gap + barWidth)) / 2)
      let rest = body.inset(left: offset)
      let grid = Rect(x: rest.x + leftLabels, y: area.y, width: side, height: side)
      let barRect = Rect(x: grid.maxX + theme.gap, y: grid.y, width: barWidth, height: side)
      let map = Heatmap(values: fractions, rows: k, columns: k, colormap: .viridis, scale: ColorScale(lower: 0, upper: 1))
      canvas.image(Raster(values: fractions, width: k, colormap: .viridis, scale: map.scale), in: grid)
      canvas.stroke(grid, Theme.ink, width: theme.hairline)
      let cell = map.cell(0, 0, in: grid)
      let widest = counts.map { NumberFormat.integer($0) }.max { $0.count < $1.count } ?? "0"
      // As large as the cell allows (up to 1.25 × the label size), never under the cell minimum.
      var size = max(theme.cellMinimum, min(theme.labelSize * 1.25, cell.height * 0.5))
      while size > theme.cellMinimum && canvas.measure(widest, style: TextStyle(size: size)).width > cell.width * 0.9 { size = max(theme.cellMinimum, size - 0.5) }
      for i in 0..<k * k {
        let r = map.cell(i / k, i % k, in: grid)
        let style = TextStyle(size: size, bold: i / k == i % k, color: Colormap.viridis(fractions[i]).legibleText)
        canvas.text(NumberFormat.integer(counts[i]), r.center, style)
      }
      for (j, name) in classes.enumerated() {
        let r = map.cell(0, j, in: grid)
        canvas.text(name, Point(r.midX, grid.y - theme.gap * 0.25), canvas.fitting(name, width: r.width * 0.95, tick, minimum: theme.minimumSize), anchor: .bottom)
        let row = map.cell(j, 0, in: grid)
        canvas.text(name, Point(grid.x - theme.gap * 0.25, row.midY), tick, anchor: .right)
      }
      canvas.text("predicted class", Point(grid.midX, rest.y), label, anchor: .top)
      var vertical = label
      vertical.vertical = true
      canvas.text("true class", Point(rest.x, grid.midY), vertical, anchor: Anchor(x: 0.5, y: 0))
      bar.draw(on: canvas, in: barRect, theme: theme)
    }
  }
}
