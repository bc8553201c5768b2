import SheetNet

/// `confusion`: how often each true class (row) was predicted as each class (column), on the
/// test split; colour is the fraction of the row, the number is the count.
extension Figure {
  static func checkConfusion(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.confusion)
    guard run.split.train.labels != nil else {
      throw .notApplicable("confusion needs class labels, but \(source.lesson.path) gives target values (y); it has no classes to confuse, try training for its learning curves")
    }
  }

  /// The evaluation split's confusion counts from the engine's predictions: counts[t·K + p] is
  /// how many samples of true class t were predicted as class p.
  struct Confusion {
    /// `test`, or the split used when the lesson holds out no test split.
    var split: String
    /// The samples judged.
    var data: Dataset
    /// The engine's evaluation (loss, accuracy, each sample's predicted class).
    var evaluation: Evaluation
    /// K, the classes (the model's outputs, at least 2).
    var classes: Int
    /// K × K counts, row = true class, column = predicted.
    var counts: [Int]
    /// The classes' names, as `classLabels` gives them.
    var names: [String]
  }

  /// The names a figure writes for the first `count` classes of `data`: the dataset's own (iris
  /// species, letters A…J, the digits 0…9 of `digits`), else "class 0", "class 1", …. A
  /// generated or inline set only numbers its classes, and a bare "0" or "1" on a matrix's edge
  /// reads as a count, not a class.
  static func classLabels(_ data: Dataset, count: Int) -> [String] {
    (0..<count).map { k in
      guard k < data.classNames.count else { return "class \(k)" }
      let name = data.classNames[k]
      return name == String(k) && data.name != "digits" ? "class \(k)" : name
    }
  }

  /// The confusion of the trained network on the lesson's evaluation split (test, else
  /// validation, else training).
  static func confusionCounts(_ source: FigureSource, _ run: LessonRun) -> Confusion {
    let (split, data) = run.evaluationSet
    let evaluation = run.evaluate(data)
    let outputs = source.model.outputShape.reduce(1, *)
    let k = max(data.classes, (evaluation.predictions.max() ?? 0) + 1, outputs == 1 ? 2 : outputs)
    var counts = [Int](repeating: 0, count: k * k)
    for (p, t) in zip(evaluation.predictions, data.labels ?? []) where p < k && t < k { counts[t * k + p] += 1 }
    return Confusion(split: split, data: data, evaluation: evaluation, classes: k, counts: counts, names: classLabels(data, count: k))
  }

  static func confusion(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.confusion)
    let c = confusionCounts(source, run)
    let note = c.split == "test" ? "" : " (the lesson holds out no test split)"
    return confusionMatrix(c.counts, classes: c.names, theme: options.theme,
                           title: "Confusion matrix: \(source.name), \(c.split) split\(note)",
                           subtitle: "\(NumberFormat.integer(c.data.count)) samples, accuracy \(NumberFormat.percent(c.evaluation.accuracy ?? 0)); rows: true class, columns: predicted")
  }

  /// The square grid of a K×K matrix in `body`, with room on the left for the "true class"
  /// title and the row names, on top for "predicted class" and the column names, and `right`
  /// points on the right (a colour bar); the whole group centred on the page. Returns the grid
  /// and the rectangle the labels start from.
  /// With `square` false the grid takes all the room (cells wider than tall on a wide page).
  static func matrixGrid(_ canvas: any Canvas, _ body: Rect, classes: [String], right: Double, theme: Theme, square: Bool = true) -> (grid: Rect, labels: Rect) {
    let lh = canvas.measure("Ag", style: theme.label).height, th = canvas.measure("Ag", style: theme.tick).height
    let nameWidth = classes.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0
    let leftLabels = lh + nameWidth + theme.gap * 0.5
    let area = body.inset(top: lh + th + theme.gap * 0.5, left: leftLabels)
    let width = max(0, area.width - (right > 0 ? right + theme.gap : 0))
    let side = max(0, min(width, area.height))
    let offset = square ? max(0, (body.width - (leftLabels + side + (right > 0 ? theme.gap + right : 0))) / 2) : 0
    let labels = body.inset(left: offset)
    return (Rect(x: labels.x + leftLabels, y: area.y, width: square ? side : width, height: square ? side : area.height), labels)
  }

  /// Cell (row, column) of a K×K grid.
  static func matrixCell(_ grid: Rect, _ k: Int, _ row: Int, _ column: Int) -> Rect {
    Rect(x: grid.x + grid.width * Double(column) / Double(k), y: grid.y + grid.height * Double(row) / Double(k), width: grid.width / Double(k), height: grid.height / Double(k))
  }

  /// The class names along the top and the left of `grid`, and the axis titles.
  static func matrixLabels(_ canvas: any Canvas, grid: Rect, labels: Rect, classes: [String], theme: Theme) {
    let k = classes.count
    for (j, name) in classes.enumerated() {
      let r = matrixCell(grid, k, 0, j)
      canvas.text(name, Point(r.midX, grid.y - theme.gap * 0.25), canvas.fitting(name, width: r.width * 0.95, theme.tick, minimum: theme.minimumSize), anchor: .bottom)
      let row = matrixCell(grid, k, j, 0)
      canvas.text(name, Point(grid.x - theme.gap * 0.25, row.midY), theme.tick, anchor: .right)
    }
    canvas.text("predicted class", Point(grid.midX, labels.y), theme.label, anchor: .top)
    var vertical = theme.label
    vertical.vertical = true
    canvas.text("true class", Point(labels.x, grid.midY), vertical, anchor: Anchor(x: 0.5, y: 0))
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
      let barWidth = bar.width(on: canvas, theme: theme)
      // Cells as wide as the page allows (a wide page gets wide cells, not empty margins).
      let (grid, labels) = matrixGrid(canvas, body, classes: classes, right: barWidth, theme: theme, square: false)
      let barRect = Rect(x: grid.maxX + theme.gap, y: grid.y, width: barWidth, height: grid.height)
      canvas.image(Raster(values: fractions, width: k, colormap: .viridis, scale: ColorScale(lower: 0, upper: 1)), in: grid)
      canvas.stroke(grid, Theme.ink, width: theme.hairline)
      let cell = matrixCell(grid, k, 0, 0)
      let widest = counts.map { NumberFormat.integer($0) }.max { $0.count < $1.count } ?? "0"
      // As large as the cell allows (up to 1.25 × the label size), never under the cell minimum.
      var size = max(theme.cellMinimum, min(theme.labelSize * 1.5, cell.height * 0.5))
      while size > theme.cellMinimum && canvas.measure(widest, style: TextStyle(size: size)).width > cell.width * 0.9 { size = max(theme.cellMinimum, size - 0.5) }
      for i in 0..<k * k {
        let r = matrixCell(grid, k, i / k, i % k)
        let style = TextStyle(size: size, bold: i / k == i % k, color: Colormap.viridis(fractions[i]).legibleText)
        canvas.text(NumberFormat.integer(counts[i]), r.center, style)
      }
      matrixLabels(canvas, grid: grid, labels: labels, classes: classes, theme: theme)
      bar.draw(on: canvas, in: barRect, theme: theme)
    }
  }
}
