import Foundation
import SheetNet

/// `filters`: two pages. The first layer's weights seen as images (a conv layer's kernels, or a
/// dense layer's weights into each unit laid out like the input image), and activation
/// maximisation: for each class, the input that most excites its score, found by regularised
/// gradient ascent on the input itself (∂z_k/∂x from the layers' own backward passes).
///
/// With `--untrained` only the first page is drawn: the kernels as initialised are worth seeing,
/// but the input an untrained network's class score prefers is noise; the page says so.
extension Figure {
  static func checkFilters(_ source: FigureSource) throws(FigureError) {
    _ = try source.requireRun(.filters)
    let model = source.model
    guard let first = model.layers.first(where: { $0 is Dense || $0 is Conv2D }) else {
      throw .notApplicable("filters shows first-layer weights, but \(source.lesson.path) has no dense or conv2d layer")
    }
    // A dense first layer draws its rows as images of a flat input (a 2-D input is a sequence to it).
    guard first is Conv2D || (first === model.layers.first && model.inputShape.count == 1 && imageShape(model.inputShape) != nil) else {
      throw .notApplicable("filters draws first-layer weights as images, but the \(shapeText(model.inputShape)) inputs of \(source.lesson.path) are not an image; try architecture or gradients")
    }
  }

  static func filters(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] {
    guard options.trained else { return [try firstLayerWeights(source, options)] }
    return [try firstLayerWeights(source, options), try classInputs(source, options)]
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
      // The colours' meaning on the first line when it fits, else on its own.
      let colours = "red: the unit responds to ink there, blue: against it"
      let width = theme.size.width - 2 * theme.margin
      let first = canvas.measure("\(what); \(colours)", style: theme.note).width <= width ? ["\(what); \(colours)"] : [what, colours.prefix(1).uppercased() + colours.dropFirst()]
      let body = notedPage(canvas, theme, title: "First-layer weights: \(state(source, options))",
                           lines: first + [options.trained ? "" : "The inputs that most excite each class need a trained network (an untrained one's are noise): drop --untrained"])
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

  /// Activation maximisation's recipe: gradient ascent on the input with the regularisers that
  /// make the result look like data (Yosinski et al. 2015, "Understanding neural networks
  /// through deep visualization"; Olah et al. 2017, "Feature visualization"; the Keras blog's
  /// "How convolutional neural networks see the world").
  struct Ascent: Sendable {
    /// Gradient steps.
    var steps = 100
    /// In each of the first `jitterSteps` steps the image is shifted by up to ± `jitter` pixels
    /// (seeded), the gradient taken there and shifted back, so no single pixel pattern can be
    /// exploited; the last steps climb unshifted to sharpen the result (a pixel is an eighth
    /// of an 8×8 digit, so a shift in every step blurs it).
    var jitter = 1
    var jitterSteps = 70
    /// A Gaussian blur of standard deviation `sigma` pixels every `blurEvery` steps.
    var blurEvery = 6
    var sigma = 0.5
    /// L2 decay: x ← (1 − decay)·x every step, pulling unused pixels back to 0.
    var decay = 0.01
    /// Step size as a share of the data's range; the gradient is divided by its RMS, so
    /// x ← x + rate·(upper − lower)·g/rms(g).
    var rate = 0.05

    /// The recipe in words, for the page.
    var description: String {
      "\(steps) steps, jitter ±\(jitter) px (first \(min(jitterSteps, steps))), blur σ = \(NumberFormat.shortest(sigma)) every \(blurEvery) steps, L2 decay \(NumberFormat.shortest(decay))"
    }
  }

  /// The class scores z_k (before softmax; ±z for a single sigmoid output) of `layers[..<end]`.
  static func scoreLayers(_ model: Sequential) -> Int {
    let last = model.layers.last
    return model.layers.count - (last is Softmax || last is Sigmoid ? 1 : 0)
  }

  /// The class scores of inputs `x` [K, …]: row k's score for class k, z_k (or −z, +z for the two
  /// classes of a single output).
  static func classScores(_ model: Sequential, _ x: Tensor) -> [Double] {
    let end = scoreLayers(model), outputs = model.outputShape.reduce(1, *)
    var a = x
    let step = Step(training: false)
    for layer in model.layers[..<end] { a = layer.forward(a, step) }
    return (0..<x.rows).map { k in outputs == 1 ? (k == 1 ? a.data[k] : -a.data[k]) : a.data[k * outputs + k] }
  }

  /// Each C×H×W plane of the batch `x` moved `dy` rows down and `dx` columns right, `fill` where
  /// nothing moves in.
  static func shifted(_ x: Tensor, _ dy: Int, _ dx: Int, height: Int, width: Int, fill: Double) -> Tensor {
    guard dy != 0 || dx != 0 else { return x }
    var out = Tensor(shape: x.shape, repeating: fill)
    let plane = height * width
    for p in 0..<(x.count / plane) {
      for y in 0..<height where y - dy >= 0 && y - dy < height {
        for c in 0..<width where c - dx >= 0 && c - dx < width {
          out.data[p * plane + y * width + c] = x.data[p * plane + (y - dy) * width + (c - dx)]
        }
      }
    }
    return out
  }

  /// Each H×W plane of `x` blurred by a Gaussian of standard deviation σ (radius ⌈2σ⌉), rows
  /// then columns; at the edges the weights inside the image are renormalised to sum to 1.
  static func blurred(_ x: Tensor, sigma: Double, height: Int, width: Int) -> Tensor {
    let radius = max(1, Int((2 * sigma).rounded(.up)))
    let kernel = (-radius...radius).map { exp(-Double($0 * $0) / (2 * sigma * sigma)) }
    let plane = height * width
    func pass(_ v: Tensor, along rows: Bool) -> Tensor {
      var out = v
      for p in 0..<(v.count / plane) {
        for y in 0..<height {
          for c in 0..<width {
            var sum = 0.0, weight = 0.0
            for (k, w) in kernel.enumerated() {
              let (yy, cc) = rows ? (y, c + k - radius) : (y + k - radius, c)
              guard yy >= 0, yy < height, cc >= 0, cc < width else { continue }
              sum += w * v.data[p * plane + yy * width + cc]
              weight += w
            }
            out.data[p * plane + y * width + c] = sum / weight
          }
        }
      }
      return out
    }
    return pass(pass(x, along: true), along: false)
  }

  /// One input per class, each pushed up its class score z_k by `ascent` from a blank input
  /// (every pixel `lower`), kept within [lower, upper]; the jitter is drawn from `rng`. Returns
  /// the inputs [K, …] and each one's class score at the end.
  ///
  /// Each step: every `blurEvery` steps first x ← blur_σ(x); then, with s a seeded shift of at
  /// most ± `jitter` pixels (none after `jitterSteps`), g = shift⁻¹(∂z_k/∂x at shift(x)) and
  /// x ← clip((1 − decay)·(x + rate·(upper − lower)·g/rms(g))). O(steps × a forward and a
  /// backward pass of K inputs).
  static func maximiseClassScores(_ model: Sequential, lower lo: Double, upper hi: Double, ascent: Ascent, rng: inout SeededGenerator) -> (Tensor, [Double]) {
    let end = scoreLayers(model)
    let outputs = model.outputShape.reduce(1, *)
    let classes = outputs == 1 ? 2 : outputs
    let n = model.inputShape.reduce(1, *)
    let image = imageShape(model.inputShape)
    let (h, w) = image.map { ($0.height, $0.width) } ?? (1, n)
    let eta = ascent.rate * (hi - lo)
    var x = Tensor(shape: [classes] + model.inputShape, repeating: lo)
    let step = Step(training: false)
    var delta = Tensor(shape: [classes, outputs])
    for k in 0..<classes {
      if outputs == 1 { delta.data[k] = k == 1 ? 1 : -1 } else { delta.data[k * outputs + k] = 1 }
    }
    for s in 0..<ascent.steps {
      // Blur first, so the last thing each step does is climb.
      if image != nil, s > 0, s % ascent.blurEvery == 0 {
        x = blurred(x, sigma: ascent.sigma, height: h, width: w)
      }
      let jitter = image == nil || s >= ascent.jitterSteps ? 0 : ascent.jitter
      let dy = rng.below(2 * jitter + 1) - jitter, dx = rng.below(2 * jitter + 1) - jitter
      var a = shifted(x, dy, dx, height: h, width: w, fill: lo)
      for layer in model.layers[..<end] { a = layer.forward(a, step) }
      let g = shifted(inputGradient(model, end: end, delta.reshaped(a.shape), step), -dy, -dx, height: h, width: w, fill: 0)
      for k in 0..<classes {
        let row = g.data[k * n..<(k + 1) * n]
        let rms = (row.reduce(0) { $0 + $1 * $1 } / Double(n)).squareRoot()
        for i in k * n..<(k + 1) * n {
          let moved = rms > 0 ? x.data[i] + eta * g.data[i] / rms : x.data[i]
          x.data[i] = min(hi, max(lo, (1 - ascent.decay) * moved))
        }
      }
    }
    return (x, classScores(model, x))
  }

  /// Each class's mean training image, [K, …], and its class score; nil without labels.
  static func meanImageScores(_ model: Sequential, _ train: Dataset, classes: Int) -> [Double]? {
    guard let labels = train.labels else { return nil }
    let n = train.x.columns
    var sums = [Double](repeating: 0, count: classes * n), counts = [Int](repeating: 0, count: classes)
    for (r, label) in labels.enumerated() where label < classes {
      counts[label] += 1
      for i in 0..<n { sums[label * n + i] += train.x.data[r * n + i] }
    }
    guard counts.allSatisfy({ $0 > 0 }) else { return nil }
    for k in 0..<classes { for i in 0..<n { sums[k * n + i] /= Double(counts[k]) } }
    return classScores(model, Tensor(shape: [classes] + model.inputShape, data: sums))
  }

  /// For each class k, x* = argmax z_k(x) over inputs within the training data's range, by
  /// `Ascent` (jitter seeded from the run's seed), beside the score of the class's mean image.
  static func classInputs(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.filters)
    let model = source.model, theme = options.theme
    let (channels, h, w) = imageShape(model.inputShape)!
    let lo = run.split.train.x.data.min() ?? 0, hi = run.split.train.x.data.max() ?? 1
    let outputs = model.outputShape.reduce(1, *)
    let classes = outputs == 1 ? 2 : outputs
    let n = model.inputShape.reduce(1, *)
    let ascent = Ascent()
    var rng = SeededGenerator(seed: run.seed)
    let (x, scores) = maximiseClassScores(model, lower: lo, upper: hi, ascent: ascent, rng: &rng)
    let means = meanImageScores(model, run.split.train, classes: classes)
    let names = (0..<classes).map { className(run.split.train, $0) }
    let images = (0..<classes).map { k in Array(x.data[k * n..<k * n + h * w]) }
    let pixelScale = ColorScale(lower: lo, upper: hi)
    let range = "\(NumberFormat.shortest(lo, significant: 2))–\(NumberFormat.shortest(hi, significant: 2))"
    let lines = ["Gradient ascent on each class score z (before softmax) from a blank image, kept in the data's range \(range):",
                 ascent.description + (channels > 1 ? "; first channel shown" : ""),
                 means == nil ? "" : "Under each: the score z it reaches, and the score of the class's mean training image"]
    return Figure(name: "filters-classes", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "Inputs that most excite each class: \(state(source, options))", lines: lines)
      let bar = ColorBar(colormap: .greys, scale: pixelScale, title: "input x")
      let (barRect, rest) = body.splitRight(bar.width(on: canvas, theme: theme), gap: theme.gap)
      let lineHeight = canvas.measure("Ag", style: theme.tick).height + theme.clearance
      let captionLines = means == nil ? 2 : 3
      let gap = theme.gap * 0.5
      let (r, c) = rest.bestGrid(count: classes, aspect: Double(w) / Double(h), gap: gap + lineHeight * Double(captionLines))
      let cellW = (rest.width - gap * Double(c - 1)) / Double(c), cellH = (rest.height - gap * Double(r - 1)) / Double(r)
      for k in 0..<classes {
        let cell = Rect(x: rest.x + Double(k % c) * (cellW + gap), y: rest.y + Double(k / c) * (cellH + gap), width: cellW, height: cellH)
        let (caption, picture) = cell.splitBottom(lineHeight * Double(captionLines), gap: 2)
        let square = picture.fitted(aspect: Double(w) / Double(h))
        canvas.image(Raster(values: images[k], width: w, colormap: .greys, scale: pixelScale), in: square)
        canvas.stroke(square, Theme.ink, width: theme.hairline)
        var texts = [("class \(names[k])", theme.tick.emphasized), ("z = \(NumberFormat.significant(scores[k], 3))", theme.tick)]
        if let means { texts.append(("mean \(names[k]): \(NumberFormat.significant(means[k], 3))", theme.note)) }
        for (j, (text, style)) in texts.enumerated() {
          canvas.text(text, Point(square.midX, caption.y + Double(j) * lineHeight), canvas.fitting(text, width: cellW, style, minimum: theme.minimumSize), anchor: .top)
        }
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: rest.y, width: barRect.width, height: min(rest.height, theme.size.height * 0.5)), theme: theme)
    }
  }
}
