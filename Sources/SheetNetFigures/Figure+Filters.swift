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

  /// Activation maximisation under an image prior: gradient ascent on a class score z_k, not on
  /// the pixels themselves (which finds "fooling" patterns: high scores, nothing recognisable)
  /// but on the coefficients of the training images' main patterns, their principal components,
  /// kept as far from the average image as a typical training image is. This is a Gaussian prior
  /// fitted to the training images in a decorrelated (whitened) parametrisation, with jitter and
  /// several starts (Simonyan et al. 2014; Yosinski et al. 2015; Olah et al. 2017, "Feature
  /// visualization", on decorrelated parametrisations).
  struct Ascent: Sendable {
    /// Principal components used: at most this many, and at most a quarter of the pixels.
    var components = 24
    /// Gradient steps from each start.
    var steps = 120
    /// Starts per class: the average image and `starts − 1` seeded random typical images; the
    /// result is the start that ends with the highest score (the network's own class first).
    var starts = 4
    /// In each of the first `jitterSteps` steps the image is shifted by up to ± `jitter` pixels
    /// (seeded) and the gradient taken there, so no single pixel pattern can be exploited.
    var jitter = 1
    var jitterSteps = 80
    /// Step size in the whitened coefficients; the gradient is divided by its RMS.
    var rate = 0.1
    /// Training images the prior is fitted on (the first ones), to keep the figure quick.
    var sample = 1000
    /// Training images shown beside each class's image: those with the highest z_k.
    var examples = 3
    /// An image counts as recognisable when the network predicts its class and its difference
    /// from the average image correlates with the class's (mean image − average image) by at
    /// least this much (Pearson, over pixels).
    var recognisable = 0.5

    /// The recipe in words, for README and tests.
    var description: String {
      "\(components) principal components, \(steps) steps from \(starts) starts, jitter ±\(jitter) px (first \(min(jitterSteps, steps))), rate \(NumberFormat.shortest(rate)), prior fitted on \(sample) training images"
    }
  }

  /// The class scores z_k (before softmax; ±z for a single sigmoid output) of `layers[..<end]`.
  static func scoreLayers(_ model: Sequential) -> Int {
    let last = model.layers.last
    return model.layers.count - (last is Softmax || last is Sigmoid ? 1 : 0)
  }

  /// The scores z [rows, K] of inputs `x` (for a single output, −z and +z for classes 0 and 1).
  static func allScores(_ model: Sequential, _ x: Tensor) -> [[Double]] {
    let end = scoreLayers(model), outputs = model.outputShape.reduce(1, *)
    var a = x
    let step = Step(training: false)
    for layer in model.layers[..<end] { a = layer.forward(a, step) }
    return (0..<x.rows).map { r in outputs == 1 ? [-a.data[r], a.data[r]] : Array(a.data[r * outputs..<(r + 1) * outputs]) }
  }

  /// The class scores of inputs `x` [K, …]: row k's score for class k, z_k.
  static func classScores(_ model: Sequential, _ x: Tensor) -> [Double] {
    allScores(model, x).enumerated().map { $1[$0] }
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

  /// A Gaussian model of the training images in whitened coordinates: x = μ + Σ_j c_j·σ_j·u_j,
  /// with μ the average image, u_j the top principal directions (orthonormal) and σ_j² their
  /// variances; a typical training image has ‖c‖ ≈ `radius`.
  struct ImagePrior {
    /// The average image μ, [n].
    let mean: [Double]
    /// u_j, each [n].
    let directions: [[Double]]
    /// σ_j.
    let deviations: [Double]
    /// The median ‖c‖ of the training images it was fitted on.
    let radius: Double

    /// x(c) = μ + Σ_j c_j·σ_j·u_j.
    func image(_ c: [Double]) -> [Double] {
      var x = mean
      for (j, u) in directions.enumerated() where c[j] != 0 {
        let a = c[j] * deviations[j]
        for i in x.indices { x[i] += a * u[i] }
      }
      return x
    }

    /// c(x) = (u_jᵀ(x − μ) / σ_j)_j.
    func coefficients(_ x: ArraySlice<Double>) -> [Double] {
      let start = x.startIndex
      return directions.enumerated().map { j, u in
        var s = 0.0
        for i in u.indices { s += u[i] * (x[start + i] - mean[i]) }
        return s / deviations[j]
      }
    }

    /// ∂z/∂c_j = σ_j·u_jᵀ·∂z/∂x.
    func coefficientGradient(_ g: ArraySlice<Double>) -> [Double] {
      let start = g.startIndex
      return directions.enumerated().map { j, u in
        var s = 0.0
        for i in u.indices { s += u[i] * g[start + i] }
        return s * deviations[j]
      }
    }
  }

  /// The prior of the first `sample` rows of `x` [N, n]: covariance C = X̃ᵀX̃/N of the centred
  /// images (a matrix product by the engine's kernels), its top `components` eigenvectors by
  /// orthogonal iteration (V ← orth(C·V), 60 times, from a seeded start), σ_j² = u_jᵀ·C·u_j.
  /// O(sample·n² + 60·n²·k).
  static func imagePrior(_ x: Tensor, components k: Int, sample: Int, rng: inout SeededGenerator) -> ImagePrior {
    let n = x.columns, m = min(sample, x.rows)
    var centred = Tensor(shape: [m, n])
    var mean = [Double](repeating: 0, count: n)
    for r in 0..<m { for i in 0..<n { mean[i] += x.data[r * n + i] / Double(m) } }
    for r in 0..<m { for i in 0..<n { centred.data[r * n + i] = x.data[r * n + i] - mean[i] } }
    var covariance = Tensor(shape: [n, n])
    Kernels.gemm(centred, transposeA: true, centred, into: &covariance, path: .swift)
    for i in 0..<covariance.count { covariance.data[i] /= Double(m) }
    // V [n, k], columns orthonormalised after each multiplication (modified Gram–Schmidt).
    var v = Tensor(shape: [n, k], data: (0..<n * k).map { _ in rng.normal() })
    func orthonormalise(_ v: inout Tensor) {
      for j in 0..<k {
        for q in 0..<j {
          var dot = 0.0
          for i in 0..<n { dot += v.data[i * k + j] * v.data[i * k + q] }
          for i in 0..<n { v.data[i * k + j] -= dot * v.data[i * k + q] }
        }
        var norm = 0.0
        for i in 0..<n { norm += v.data[i * k + j] * v.data[i * k + j] }
        norm = max(norm.squareRoot(), 1e-300)
        for i in 0..<n { v.data[i * k + j] /= norm }
      }
    }
    orthonormalise(&v)
    var cv = Tensor(shape: [n, k])
    for _ in 0..<60 {
      Kernels.gemm(covariance, v, into: &cv, path: .swift)
      v = cv
      orthonormalise(&v)
    }
    Kernels.gemm(covariance, v, into: &cv, path: .swift)
    let directions = (0..<k).map { j in (0..<n).map { v.data[$0 * k + j] } }
    let deviations = (0..<k).map { j in max((0..<n).reduce(0.0) { $0 + v.data[$1 * k + j] * cv.data[$1 * k + j] }, 1e-24).squareRoot() }
    var prior = ImagePrior(mean: mean, directions: directions, deviations: deviations, radius: 1)
    let norms = (0..<m).map { r in prior.coefficients(x.data[r * n..<(r + 1) * n]).reduce(0) { $0 + $1 * $1 }.squareRoot() }.sorted()
    prior = ImagePrior(mean: mean, directions: directions, deviations: deviations, radius: norms[m / 2])
    return prior
  }

  /// One image per class k, the best of `ascent.starts` ascents of z_k over whitened
  /// coefficients c with ‖c‖ ≤ the prior's radius: each step, with s a seeded shift of at most
  /// ± `jitter` pixels (none after `jitterSteps`), g = ∂z_k/∂x at shift(clip(x(c))), shifted
  /// back; c ← c + rate·g_c/rms(g_c) with g_c = ∂z/∂c; then c scaled back onto the ball if it
  /// left it. Returns the images [K, …] (clipped to [lower, upper]) and their scores z_k.
  static func maximiseClassScores(_ model: Sequential, prior: ImagePrior, lower lo: Double, upper hi: Double, ascent: Ascent,
                                  rng: inout SeededGenerator) -> (Tensor, [Double]) {
    let end = scoreLayers(model), outputs = model.outputShape.reduce(1, *)
    let classes = outputs == 1 ? 2 : outputs, starts = max(1, ascent.starts)
    let n = model.inputShape.reduce(1, *), k = prior.directions.count
    let image = imageShape(model.inputShape)
    let (h, w) = image.map { ($0.height, $0.width) } ?? (1, n)
    // Row r = class (r / starts), start (r % starts): the average image, then random typical ones.
    var c = (0..<classes * starts).map { r -> [Double] in
      guard r % starts > 0 else { return [Double](repeating: 0, count: k) }
      let draw = (0..<k).map { _ in rng.normal() }
      let norm = draw.reduce(0) { $0 + $1 * $1 }.squareRoot()
      return draw.map { $0 / max(norm, 1e-300) * prior.radius * 0.5 }
    }
    func images() -> Tensor {
      Tensor(shape: [classes * starts] + model.inputShape, data: c.flatMap { prior.image($0).map { min(hi, max(lo, $0)) } })
    }
    let step = Step(training: false)
    var delta = Tensor(shape: [classes * starts, outputs])
    for r in 0..<classes * starts {
      let cls = r / starts
      if outputs == 1 { delta.data[r] = cls == 1 ? 1 : -1 } else { delta.data[r * outputs + cls] = 1 }
    }
    for s in 0..<ascent.steps {
      let jitter = image == nil || s >= ascent.jitterSteps ? 0 : ascent.jitter
      let dy = rng.below(2 * jitter + 1) - jitter, dx = rng.below(2 * jitter + 1) - jitter
      var a = shifted(images(), dy, dx, height: h, width: w, fill: lo)
      for layer in model.layers[..<end] { a = layer.forward(a, step) }
      let g = shifted(inputGradient(model, end: end, delta.reshaped(a.shape), step), -dy, -dx, height: h, width: w, fill: 0)
      for r in c.indices {
        let gc = prior.coefficientGradient(g.data[r * n..<(r + 1) * n])
        let rms = (gc.reduce(0) { $0 + $1 * $1 } / Double(k)).squareRoot()
        guard rms > 0 else { continue }
        for j in 0..<k { c[r][j] += ascent.rate * gc[j] / rms }
        let norm = c[r].reduce(0) { $0 + $1 * $1 }.squareRoot()
        if norm > prior.radius { c[r] = c[r].map { $0 * prior.radius / norm } }
      }
    }
    let all = images(), scores = allScores(model, all)
    var best = [Int](repeating: 0, count: classes)
    for cls in 0..<classes {
      // The network's own class first, then the highest score.
      func rank(_ r: Int) -> (Int, Double) { (scores[r].indices.max { scores[r][$0] < scores[r][$1] } == cls ? 1 : 0, scores[r][cls]) }
      best[cls] = (cls * starts..<(cls + 1) * starts).max { rank($0) < rank($1) }!
    }
    let x = Tensor(shape: [classes] + model.inputShape, data: best.flatMap { Array(all.data[$0 * n..<($0 + 1) * n]) })
    return (x, best.enumerated().map { cls, r in scores[r][cls] })
  }

  /// Each class's mean training image [K][n]; nil without labels or with a class absent.
  static func classMeans(_ train: Dataset, classes: Int) -> [[Double]]? {
    guard let labels = train.labels else { return nil }
    let n = train.x.columns
    var sums = [[Double]](repeating: [Double](repeating: 0, count: n), count: classes), counts = [Int](repeating: 0, count: classes)
    for (r, label) in labels.enumerated() where label < classes {
      counts[label] += 1
      for i in 0..<n { sums[label][i] += train.x.data[r * n + i] }
    }
    guard counts.allSatisfy({ $0 > 0 }) else { return nil }
    return sums.enumerated().map { k, sum in sum.map { $0 / Double(counts[k]) } }
  }

  /// Pearson's correlation of a and b (0 when either is constant).
  static func correlation(_ a: [Double], _ b: [Double]) -> Double {
    let n = Double(a.count), ma = a.reduce(0, +) / n, mb = b.reduce(0, +) / n
    var ab = 0.0, aa = 0.0, bb = 0.0
    for i in a.indices { ab += (a[i] - ma) * (b[i] - mb); aa += (a[i] - ma) * (a[i] - ma); bb += (b[i] - mb) * (b[i] - mb) }
    return aa > 0 && bb > 0 ? ab / (aa * bb).squareRoot() : 0
  }

  /// The class images and what is said of them.
  struct ClassImages {
    /// Each class's image, [n].
    let images: [[Double]]
    /// Its score z_k.
    let scores: [Double]
    /// The class the network predicts for it.
    let predicted: [Int]
    /// corr(x − μ, m_k − μ): its likeness to its class's mean image, both as differences from
    /// the average image; nil without labels.
    let likeness: [Double]?
    /// Indices of the training images with the highest z_k, per class.
    let examples: [[Int]]

    /// Whether image k is recognisable by `Ascent.recognisable`'s rule.
    func recognisable(_ k: Int, threshold: Double) -> Bool { predicted[k] == k && (likeness?[k] ?? 0) >= threshold }
  }

  /// `maximiseClassScores` with the prior fitted on the run's training images, seeded by the
  /// run's seed; each image's predicted class and likeness to its class's mean; the training
  /// images with the highest z_k.
  static func classImages(_ run: LessonRun, _ model: Sequential, ascent: Ascent) -> ClassImages {
    let train = run.split.train
    let lo = train.x.data.min() ?? 0, hi = train.x.data.max() ?? 1
    let outputs = model.outputShape.reduce(1, *), classes = outputs == 1 ? 2 : outputs
    let n = model.inputShape.reduce(1, *)
    var rng = SeededGenerator(seed: run.seed)
    let flat = train.x.reshaped([train.count, n])
    let prior = imagePrior(flat, components: min(ascent.components, max(1, n / 4)), sample: ascent.sample, rng: &rng)
    let (x, scores) = maximiseClassScores(model, prior: prior, lower: lo, upper: hi, ascent: ascent, rng: &rng)
    let images = (0..<classes).map { Array(x.data[$0 * n..<($0 + 1) * n]) }
    let predicted = allScores(model, x).map { z in z.indices.max { z[$0] < z[$1] }! }
    let likeness = classMeans(train, classes: classes).map { means in
      (0..<classes).map { k in correlation(zip(images[k], prior.mean).map(-), zip(means[k], prior.mean).map(-)) }
    }
    let trainScores = allScores(model, train.x)
    let examples = (0..<classes).map { k in Array(trainScores.indices.sorted { trainScores[$0][k] > trainScores[$1][k] || (trainScores[$0][k] == trainScores[$1][k] && $0 < $1) }.prefix(ascent.examples)) }
    return ClassImages(images: images, scores: scores, predicted: predicted, likeness: likeness, examples: examples)
  }

  /// For each class k, the image x* = argmax z_k(x) under the training images' prior
  /// (`Ascent`), beside the training images with the highest z_k; each caption says whether it
  /// is recognisable (`Ascent.recognisable`).
  static func classInputs(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.filters)
    let model = source.model, theme = options.theme
    let (channels, h, w) = imageShape(model.inputShape)!
    let train = run.split.train
    let lo = train.x.data.min() ?? 0, hi = train.x.data.max() ?? 1
    let ascent = Ascent()
    let result = classImages(run, model, ascent: ascent)
    let classes = result.images.count, plane = h * w, n = model.inputShape.reduce(1, *)
    let names = (0..<classes).map { className(train, $0) }
    let pixelScale = ColorScale(lower: lo, upper: hi)
    let passed = (0..<classes).filter { result.recognisable($0, threshold: ascent.recognisable) }.count
    let first = channels > 1 ? " (first channel)" : ""
    let lines = ["For each class, the image\(first) the network scores highest, built from the training images' main patterns and kept",
                 "as typical as a training image; beside it, the \(ascent.examples) training images it scores highest.",
                 result.likeness == nil ? "" : "\(passed) of \(classes) recognisable: the network calls it the class, and it looks like the class's average image (r ≥ \(NumberFormat.shortest(ascent.recognisable)))"]
    return Figure(name: "filters-classes", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "Inputs that most excite each class: \(state(source, options))", lines: lines)
      let lineHeight = canvas.measure("Ag", style: theme.tick).height + theme.clearance
      let captionLines = 2.0
      let gap = theme.gap * 0.5
      // A cell: the class's image, and a column of the training examples a third as wide.
      let aspect = Double(w) / Double(h) * (1 + 1.0 / Double(ascent.examples))
      // The grid giving the widest pictures, or one with no empty places if nearly as wide.
      func pictureWidth(_ c: Int) -> Double {
        let r = (classes + c - 1) / c
        return min((body.width - gap * Double(c - 1)) / Double(c), ((body.height - gap * Double(r - 1)) / Double(r) - lineHeight * captionLines - 2) * aspect)
      }
      let widest = (1...classes).max { pictureWidth($0) < pictureWidth($1) }!
      let even = (1...classes).filter { classes % $0 == 0 }.max { pictureWidth($0) < pictureWidth($1) }!
      let c = pictureWidth(even) >= 0.85 * pictureWidth(widest) ? even : widest, r = (classes + c - 1) / c
      let cellW = (body.width - gap * Double(c - 1)) / Double(c), cellH = (body.height - gap * Double(r - 1)) / Double(r)
      for k in 0..<classes {
        let cell = Rect(x: body.x + Double(k % c) * (cellW + gap), y: body.y + Double(k / c) * (cellH + gap), width: cellW, height: cellH)
        let (caption, picture) = cell.splitBottom(lineHeight * captionLines, gap: 2)
        let pair = picture.fitted(aspect: aspect)
        let thumbGap = theme.gap * 0.1
        let (main, side) = pair.splitLeft(pair.width * Double(ascent.examples) / Double(ascent.examples + 1), gap: thumbGap)
        let square = main.fitted(aspect: Double(w) / Double(h))
        canvas.image(Raster(values: Array(result.images[k].prefix(plane)), width: w, colormap: .greys, scale: pixelScale), in: square)
        canvas.stroke(square, Theme.accent, width: theme.hairline * 1.5)
        for (j, rect) in side.rows(ascent.examples, gap: thumbGap).enumerated() where j < result.examples[k].count {
          let t = result.examples[k][j], thumb = rect.fitted(aspect: Double(w) / Double(h))
          canvas.image(Raster(values: Array(train.x.data[t * n..<t * n + plane]), width: w, colormap: .greys, scale: pixelScale), in: thumb)
          canvas.stroke(thumb, Theme.muted, width: theme.hairline * 0.5)
        }
        let ok = result.recognisable(k, threshold: ascent.recognisable)
        let verdict = result.likeness == nil ? "z = \(NumberFormat.significant(result.scores[k], 3))"
          : ok ? "r = \(NumberFormat.significant(result.likeness![k], 2))" : result.predicted[k] != k ? "taken for \(names[result.predicted[k]])" : "not recognisable"
        let texts = [("class \(names[k])", theme.tick.emphasized), (verdict, ok ? theme.tick : theme.tick.colored(Theme.accent))]
        for (j, (text, style)) in texts.enumerated() {
          canvas.text(text, Point(pair.midX, caption.y + Double(j) * lineHeight), canvas.fitting(text, width: cellW, style, minimum: theme.minimumSize), anchor: .top)
        }
      }
    }
  }
}
