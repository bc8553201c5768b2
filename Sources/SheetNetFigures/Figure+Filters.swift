import SheetNet

/// `filters`: two pages. The first layer's weights seen as images (a conv layer's kernels, or a
/// dense layer's weights into each unit laid out like the input image), and activation
/// maximisation: for each class, the input that most excites its score, found by gradient ascent
/// on the input itself (∂z_k/∂x from the layers' own backward passes).
extension Figure {
  static func checkFilters(_ source: FigureSource) throws(FigureError) {
    _ = try source.requireRun(.filters)
    let model = source.model
    guard let first = model.layers.first(where: { $0 is Dense || $0 is Conv2D }) else {
      throw .notApplicable("filters shows first-layer weights, but \(source.lesson.path) has no dense or conv2d layer")
    }
    guard first is Conv2D || (first === model.layers.first && imageShape(model.inputShape) != nil) else {
      throw .notApplicable("filters draws first-layer weights as images, but the \(shapeText(model.inputShape)) inputs of \(source.lesson.path) are not an image; try architecture or gradients")
    }
  }

  static func filters(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    [try firstLayerWeights(source, options), try classInputs(source, options)]
  }

  // MARK: First-layer weights as images

  static func firstLayerWeights(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let model = source.model, theme = options.theme
    let layer = model.layers.first { $0 is Dense || $0 is Conv2D }!
    var tiles: [(caption: String, values: [Double], rows: Int, columns: Int)] = []
    let what: String
    if let conv = layer as? Conv2D {
      let w = conv.W.value, (kh, kw) = conv.kernel, c = w.shape[1]
      for f in 0..<conv.filters {
        for ch in 0..<c {
          let start = (f * c + ch) * kh * kw
          tiles.append((c == 1 ? "filter \(f + 1)" : "f\(f + 1) c\(ch + 1)", Array(w.data[start..<start + kh * kw]), kh, kw))
        }
      }
      what = "\(conv.name): \(conv.filters) kernels of \(kh)×\(kw)\(c > 1 ? " over \(c) channels" : "")"
    } else {
      let dense = layer as! Dense
      let (_, h, wd) = imageShape(model.inputShape)!
      let inputs = dense.W.value.shape[1]
      for j in 0..<min(dense.units, 64) {
        tiles.append(("\(j + 1)", Array(dense.W.value.data[j * inputs..<j * inputs + h * wd]), h, wd))
      }
      what = "\(dense.name): the weights into each of its \(dense.units) units, laid out as the \(h)×\(wd) input\(dense.units > 64 ? " (first 64)" : "")"
    }
    let scale = ColorScale.symmetric(tiles.flatMap(\.values))
    return Figure(name: "filters-weights", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "First-layer weights: \(state(source, options))",
                             subtitle: "\(what); red: the unit responds to ink there, blue: against it")
      let bar = ColorBar(colormap: .diverging, scale: scale, title: "weight")
      let (barRect, rest) = body.splitRight(bar.width(on: canvas, theme: theme), gap: theme.gap)
      let captionHeight = canvas.measure("Ag", style: theme.tick).height
      let gap = theme.gap * 0.4
      let aspect = Double(tiles[0].columns) / Double(tiles[0].rows)
      let (r, c) = rest.bestGrid(count: tiles.count, aspect: aspect, gap: gap + captionHeight)
      let cellW = (rest.width - gap * Double(c - 1)) / Double(c), cellH = (rest.height - gap * Double(r - 1)) / Double(r)
      for (i, tile) in tiles.enumerated() {
        let cell = Rect(x: rest.x + Double(i % c) * (cellW + gap), y: rest.y + Double(i / c) * (cellH + gap), width: cellW, height: cellH)
        let (caption, picture) = cell.splitTop(captionHeight, gap: 2)
        let square = picture.fitted(aspect: aspect)
        Heatmap(values: tile.values, rows: tile.rows, columns: tile.columns, colormap: .diverging, scale: scale, numbers: 2, cellLines: tile.rows <= 5)
          .draw(on: canvas, in: square, theme: theme)
        let style = canvas.fitting(tile.caption, width: cellW, theme.tick, minimum: theme.minimumSize)
        if canvas.measure(tile.caption, style: style).width <= cellW { canvas.text(tile.caption, Point(square.midX, caption.maxY), style, anchor: .bottom) }
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: rest.y, width: barRect.width, height: min(rest.height, theme.size.height * 0.5)), theme: theme)
    }
  }

  // MARK: Activation maximisation

  /// The class scores z_k (before softmax; ±z for a single sigmoid output) of `layers[..<end]`.
  static func scoreLayers(_ model: Sequential) -> Int {
    let last = model.layers.last
    return model.layers.count - (last is Softmax || last is Sigmoid ? 1 : 0)
  }

  /// One input per class, each pushed `steps` times up its class score's gradient from a blank
  /// input (every pixel `lower`), staying within [lower, upper]. Returns the inputs [K, …] and
  /// each class's score at the last step's start.
  static func maximiseClassScores(_ model: Sequential, lower lo: Double, upper hi: Double, steps: Int) -> (Tensor, [Double]) {
    let end = scoreLayers(model)
    let outputs = model.outputShape.reduce(1, *)
    let classes = outputs == 1 ? 2 : outputs
    let n = model.inputShape.reduce(1, *)
    let eta = 0.02 * (hi - lo)
    var x = Tensor(shape: [classes] + model.inputShape, repeating: lo)
    let step = Step(training: false)
    var scores = [Double](repeating: 0, count: classes)
    for _ in 0..<steps {
      var a = x
      for layer in model.layers[..<end] { a = layer.forward(a, step) }
      var delta = Tensor(shape: a.shape)
      for k in 0..<classes {
        if outputs == 1 { delta.data[k] = k == 1 ? 1 : -1 } else { delta.data[k * outputs + k] = 1 }
        scores[k] = outputs == 1 ? (k == 1 ? a.data[k] : -a.data[k]) : a.data[k * outputs + k]
      }
      let g = inputGradient(model, end: end, delta, step)
      for k in 0..<classes {
        let row = g.data[k * n..<(k + 1) * n]
        let rms = (row.reduce(0) { $0 + $1 * $1 } / Double(n)).squareRoot()
        guard rms > 0 else { continue }
        for i in 0..<n { x.data[k * n + i] = min(hi, max(lo, x.data[k * n + i] + eta * g.data[k * n + i] / rms)) }
      }
    }
    return (x, scores)
  }

  /// For each class k, x* = argmax z_k(x) over inputs within the data's range: 150 steps of
  /// x ← clip(x + η·g/rms(g)), g = ∂z_k/∂x, from a blank input (the data's minimum), with
  /// η = 2% of the data range. z_k is the class score before softmax (or ±z for one sigmoid output).
  static func classInputs(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.filters)
    let model = source.model, theme = options.theme
    let (channels, h, w) = imageShape(model.inputShape)!
    let lo = run.split.train.x.data.min() ?? 0, hi = run.split.train.x.data.max() ?? 1
    let outputs = model.outputShape.reduce(1, *)
    let classes = outputs == 1 ? 2 : outputs
    let n = model.inputShape.reduce(1, *)
    let (x, scores) = maximiseClassScores(model, lower: lo, upper: hi, steps: 150)
    let probabilities = Figure.probabilities(model.predict(x), model: model)
    let names = (0..<classes).map { className(run.split.train, $0) }
    let images = (0..<classes).map { k in Array(x.data[k * n..<k * n + h * w]) }
    let pixelScale = ColorScale(lower: lo, upper: hi)
    return Figure(name: "filters-classes", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Inputs that most excite each class: \(state(source, options))",
                             subtitle: "Gradient ascent on the input from a blank image, 150 steps on the class score z\(channels > 1 ? "; first channel shown" : "")")
      let bar = ColorBar(colormap: .greys, scale: pixelScale, title: "input x")
      let (barRect, rest) = body.splitRight(bar.width(on: canvas, theme: theme), gap: theme.gap)
      let captionHeight = canvas.measure("Ag", style: theme.tick).height
      let gap = theme.gap * 0.5
      let (r, c) = rest.bestGrid(count: classes, aspect: Double(w) / Double(h), gap: gap + captionHeight * 2)
      let cellW = (rest.width - gap * Double(c - 1)) / Double(c), cellH = (rest.height - gap * Double(r - 1)) / Double(r)
      for k in 0..<classes {
        let cell = Rect(x: rest.x + Double(k % c) * (cellW + gap), y: rest.y + Double(k / c) * (cellH + gap), width: cellW, height: cellH)
        let (caption, picture) = cell.splitBottom(captionHeight * 2, gap: 2)
        let square = picture.fitted(aspect: Double(w) / Double(h))
        canvas.image(Raster(values: images[k], width: w, colormap: .greys, scale: pixelScale), in: square)
        canvas.stroke(square, Theme.ink, width: theme.hairline)
        let title = "class \(names[k])"
        canvas.text(title, Point(square.midX, caption.y), canvas.fitting(title, width: cellW, theme.tick.emphasized, minimum: theme.minimumSize), anchor: .top)
        let detail = "z = \(NumberFormat.significant(scores[k], 3)), p = \(NumberFormat.percent(probabilities[k][k], digits: 0))"
        canvas.text(detail, Point(square.midX, caption.maxY), canvas.fitting(detail, width: cellW, theme.note, minimum: theme.minimumSize), anchor: .bottom)
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: rest.y, width: barRect.width, height: min(rest.height, theme.size.height * 0.5)), theme: theme)
    }
  }
}
