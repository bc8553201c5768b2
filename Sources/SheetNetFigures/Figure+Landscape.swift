import Foundation
import SheetNet

/// `landscape`: the loss over a plane through the weights, as filled contours, with each
/// optimizer's path drawn on it ("Why Momentum Really Works", Goh 2017, on the lesson's own
/// network). The optimizers are `optimizers`' runs (the same seed, batches and epochs; SGD,
/// momentum and Adam or the lesson's `compare:` list). The plane is the one Li et al. (2018,
/// "Visualizing the Loss Landscape of Neural Nets", §7) choose for optimizer paths: through the
/// centre c, the end of the lesson's optimizer's path (else the first path's end), spanned by the
/// two directions that best fit the paths' points around it (the top two singular vectors of the
/// matrix of θₖ − c; random directions, filter-normalised or not, are nearly orthogonal to every
/// path in many dimensions, so the paths would shrink to dots). Both directions are unit vectors
/// in the space of the trainable parameters, so both axes are in the same units and drawn to one
/// scale. Each path is drawn projected onto the plane: (θₖ − c)·d₁, (θₖ − c)·d₂.
///
/// Every grid point's loss is the engine's: the network with θ = c + x·d₁ + y·d₂ in its trainable
/// parameters (the rest, such as batch norm's running statistics, as the centre's run left them), evaluated by
/// `Trainer.evaluate` on the training split (or its first samples, within `landscapeBudget`).
/// The contours interpolate linearly between grid points (two triangles a cell), bands a decade
/// (or a tenth of the range) of the loss wide.
extension Figure {
  /// The seconds the grid's forward passes may take by the engine's estimate (`Limits`; a
  /// forward pass is a third of a training step): 3 s, besides `optimizerBudget` for the paths.
  public static let landscapeBudget = 3.0

  /// The grids tried, finest first: (points a side, most training samples evaluated).
  static let landscapeGrids: [(side: Int, samples: Int)] = [
    (41, Int.max), (31, Int.max), (25, Int.max), (25, 256), (25, 64), (19, 64), (15, 64), (11, 64),
  ]

  /// The most numbers the paths may keep (8 bytes each): 2²⁵, 256 MB.
  static let landscapePathLimit = 1 << 25

  /// The grid a lesson gets: the first of `landscapeGrids` whose forward passes fit
  /// `landscapeBudget`; nil when not even 11 × 11 points on 64 samples do.
  static func landscapeGrid(_ run: LessonRun) -> (side: Int, samples: Int)? {
    let forward = Limits.workPerSample(run.model, batch: 256) / 3 / Limits.multiplyAddsPerSecond
    for grid in landscapeGrids {
      let samples = min(grid.samples, run.split.train.count)
      if Double(grid.side * grid.side * samples) * forward <= landscapeBudget { return (grid.side, samples) }
    }
    return nil
  }

  /// Numbers the paths keep: every optimizer's trainable parameters at up to `pathPoints` + 1 steps.
  static func landscapePathNumbers(_ source: FigureSource) -> Int {
    let parameters = trainable(source.model, layer: nil).reduce(0) { $0 + $1.value.count }
    return Limits.saturated(parameters, times: optimizerChoices(for: source.lesson).count * (pathPoints + 1))
  }

  static func checkLandscape(_ source: FigureSource) throws(FigureError) {
    let run = try source.requireRun(.landscape)
    _ = try optimizerLayer(source, FigureOptions())
    guard landscapeGrid(run) != nil else {
      throw .notApplicable("landscape evaluates the loss at 11 × 11 points or more, but one forward pass of \(source.lesson.path)'s network on 64 samples takes too long for \(NumberFormat.shortest(landscapeBudget)) s; try optimizers")
    }
    guard landscapePathNumbers(source) <= landscapePathLimit else {
      throw .notApplicable("landscape keeps every optimizer's weights at \(pathPoints + 1) steps, but \(source.lesson.path)'s \(NumberFormat.integer(source.model.parameterCount)) parameters make that more than 256 MB; try optimizers")
    }
  }

  /// What the landscape figure draws, computed once (kept in the source's recording).
  public struct Landscape {
    /// c, the centre (the trainable parameters, flattened layer by layer, W then b).
    public var centre: [Double]
    /// d₁ and d₂, orthonormal.
    public var directions: [[Double]]
    /// Each direction's share of the paths' spread around c (σₖ² / Σσ²).
    public var shares: [Double]
    /// The grid's coordinates along d₁ (columns, left to right) and d₂ (rows, bottom to top).
    public var xs: [Double], ys: [Double]
    /// The engine's loss at each grid point, row by row from the bottom: loss[r · xs.count + c].
    public var losses: [Double]
    /// Training samples each loss is evaluated on (the first of the split).
    public var samples: Int
    /// The non-trainable parameters (batch norm's running statistics) as the centre's run left them.
    public var fixed: [Tensor]
    /// Each optimizer's name, settings, and path projected on the plane (its first point the start).
    public var paths: [(name: String, settings: String, points: [(x: Double, y: Double)])]
    /// Which path c ends (the lesson's optimizer's, else the first).
    public var centreOf: Int
    /// The span the optimizers trained.
    var span: OptimizerSpan
  }

  /// The landscape of `source`'s lesson: the optimizers' runs (shared with `optimizers`), the
  /// plane, the grid of losses.
  static func landscape(_ source: FigureSource) throws(FigureError) -> Landscape {
    if let kept = source.recording.landscape { return kept }
    let run = try source.requireRun(.landscape)
    guard let grid = landscapeGrid(run) else { throw .notApplicable("landscape does not fit its budget") }
    let choices = optimizerChoices(for: run.lesson)
    let span = optimizerSpan(run, runs: choices.count)
    let trials = try optimizerTrials(source, run, layer: nil, span: span, paths: true)
    let centreOf = trials.firstIndex { $0.choice.lessons } ?? 0
    let centre = trials[centreOf].path.last!
    let p = centre.count
    // The paths' points around c, one row each: M = [θₖ − c], N × P.
    let rows = trials.flatMap(\.path)
    var m = Tensor(shape: [rows.count, p])
    for (k, row) in rows.enumerated() {
      for i in 0..<p { m.data[k * p + i] = row[i] - centre[i] }
    }
    let (directions, shares) = principalDirections(m, count: 2)
    // Each path projected: (θₖ − c)·D, an N × 2 matrix.
    var d = Tensor(shape: [p, 2])
    for i in 0..<p { d.data[i * 2] = directions[0][i]; d.data[i * 2 + 1] = directions[1][i] }
    var projected = Tensor(shape: [rows.count, 2])
    Kernels.gemm(m, d, into: &projected, path: .swift)
    var paths: [(name: String, settings: String, points: [(x: Double, y: Double)])] = []
    var k = 0
    for trial in trials {
      paths.append((trial.choice.name, trial.choice.settings, trial.path.indices.map { j in (projected.data[(k + j) * 2], projected.data[(k + j) * 2 + 1]) }))
      k += trial.path.count
    }
    // The grid covers every path with a fifth of their extent to spare on each side, widened to
    // 1.8 : 1 (a page's plot area) so that one scale on both axes fills the plot.
    let xs = paths.flatMap { $0.points.map(\.x) }, ys = paths.flatMap { $0.points.map(\.y) }
    let pad = 0.2 * max(xs.max()! - xs.min()!, ys.max()! - ys.min()!, 1e-9)
    var (x0, x1) = (xs.min()! - pad, xs.max()! + pad), (y0, y1) = (ys.min()! - pad, ys.max()! + pad)
    let aspect = 1.8
    if x1 - x0 < aspect * (y1 - y0) {
      let more = (aspect * (y1 - y0) - (x1 - x0)) / 2
      (x0, x1) = (x0 - more, x1 + more)
    } else {
      let more = ((x1 - x0) / aspect - (y1 - y0)) / 2
      (y0, y1) = (y0 - more, y1 + more)
    }
    let gx = (0..<grid.side).map { x0 + (x1 - x0) * Double($0) / Double(grid.side - 1) }
    let gy = (0..<grid.side).map { y0 + (y1 - y0) * Double($0) / Double(grid.side - 1) }
    let fixed = trials[centreOf].fixed
    let losses = try landscapeLosses(run, centre: centre, directions: directions, fixed: fixed, xs: gx, ys: gy, samples: grid.samples)
    let result = Landscape(centre: centre, directions: directions, shares: shares, xs: gx, ys: gy, losses: losses, samples: grid.samples,
                           fixed: fixed, paths: paths, centreOf: centreOf, span: span)
    source.recording.landscape = result
    return result
  }

  /// The engine's loss at θ = c + x·d₁ + y·d₂ for each (x, y) of the grid, row by row from y₀: a
  /// copy of the network (`freshTrainer`) with `fixed` in its non-trainable parameters, evaluated
  /// by `Trainer.evaluate` on the first `samples` training samples.
  static func landscapeLosses(_ run: LessonRun, centre: [Double], directions: [[Double]], fixed: [Tensor], xs: [Double], ys: [Double], samples: Int) throws(FigureError) -> [Double] {
    let model: Sequential
    do { model = try freshTrainer(run).model } catch { throw .lesson(error.description) }
    for (p, value) in zip(model.layers.flatMap { $0.parameters.filter { !$0.trainable } }, fixed) { p.value = value }
    let parameters = trainable(model, layer: nil)
    // c, d₁ and d₂ cut into the parameters' shapes.
    var c: [Tensor] = [], d1: [Tensor] = [], d2: [Tensor] = []
    var offset = 0
    for p in parameters {
      let n = p.value.count
      c.append(Tensor(shape: p.value.shape, data: Array(centre[offset..<offset + n])))
      d1.append(Tensor(shape: p.value.shape, data: Array(directions[0][offset..<offset + n])))
      d2.append(Tensor(shape: p.value.shape, data: Array(directions[1][offset..<offset + n])))
      offset += n
    }
    let data = run.split.train.subset(Array(0..<min(samples, run.split.train.count)))
    var out: [Double] = []
    for y in ys {
      for x in xs {
        for (k, p) in parameters.enumerated() {
          p.value = c[k]
          Kernels.update(&p.value, with: d1[k], d2[k]) { $0 + x * $1 + y * $2 }
        }
        out.append(Trainer.evaluate(model: model, loss: run.loss, data: data).loss)
      }
    }
    return out
  }

  /// The `count` unit directions that best fit the rows of `m` (N × P): the top right singular
  /// vectors, from the N × N Gram matrix M·Mᵀ by power iteration with deflation, and each one's
  /// share of ‖M‖². A direction the rows do not span (a path along one line) is completed by a
  /// fixed vector made orthogonal to the others.
  static func principalDirections(_ m: Tensor, count: Int) -> (directions: [[Double]], shares: [Double]) {
    let n = m.rows, p = m.columns
    var gram = Tensor(shape: [n, n])
    Kernels.gemm(m, m, transposeB: true, into: &gram, path: .swift)
    var total = 0.0  // ‖M‖², the trace of M·Mᵀ
    for i in 0..<n { total += gram.data[i * n + i] }
    var directions: [[Double]] = [], shares: [Double] = []
    var g = gram.data
    for _ in 0..<count {
      // u ← G·u / ‖G·u‖ from a fixed start, 300 times or until it settles.
      var u = (0..<n).map { 1 + Double($0 % 7) / 7 }
      var lambda = 0.0
      for _ in 0..<300 {
        var next = [Double](repeating: 0, count: n)
        for i in 0..<n { for j in 0..<n { next[i] += g[i * n + j] * u[j] } }
        var squares = 0.0
        for x in next { squares += x * x }
        let norm = squares.squareRoot()
        guard norm > 0 else { lambda = 0; break }
        var change = 0.0
        for i in 0..<n { change += abs(next[i] / norm - u[i]) }
        u = next.map { $0 / norm }
        lambda = norm
        if change < 1e-13 * Double(n) { break }
      }
      for i in 0..<n { for j in 0..<n { g[i * n + j] -= lambda * u[i] * u[j] } }
      // v = Mᵀ·u / ‖Mᵀ·u‖, made orthogonal to the directions before it.
      var v = [Double](repeating: 0, count: p)
      if lambda > total * 1e-24 {
        for i in 0..<n where u[i] != 0 { for j in 0..<p { v[j] += u[i] * m.data[i * p + j] } }
      } else {
        v = (0..<p).map { Double(($0 * 7919) % 101) - 50 }
      }
      for d in directions {
        var dot = 0.0
        for j in 0..<p { dot += v[j] * d[j] }
        for j in 0..<p { v[j] -= dot * d[j] }
      }
      var squares = 0.0
      for x in v { squares += x * x }
      let norm = squares.squareRoot()
      directions.append(v.map { $0 / max(norm, 1e-300) })
      shares.append(total > 0 ? lambda / total : 0)
    }
    return (directions, shares)
  }

  static func landscapeFigure(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.landscape)
    let data = try landscape(source)
    let theme = options.theme
    let side = data.xs.count
    let logs = data.losses.map { log10(max($0, 1e-300)) }
    let lo = logs.filter(\.isFinite).min() ?? 0, hi = logs.filter(\.isFinite).max() ?? 1
    // Bands of a nice share of a decade: the narrowest of 0.1, 0.2, 0.25, 0.5, 1 or 2 decades that
    // gives at most 12 bands (a tenth of the range for a flat landscape).
    let step = [0.1, 0.2, 0.25, 0.5, 1, 2, 5].first { (hi - lo) / $0 <= 12 } ?? max((hi - lo) / 12, 1e-12)
    let first = (lo / step).rounded(.down) * step
    let levels = Array(stride(from: first + step, to: hi, by: step))
    let scale = ColorScale(lower: first, upper: max(first + step * Double(levels.count + 1), first + step))
    let bandColor = { (v: Double) -> Color in
      let band = ((v - first) / step).rounded(.down)
      return Colormap.viridis(scale(first + (band + 0.5) * step))
    }
    let colors = data.paths.indices.map { ClassColors.color($0) }
    let centreName = data.paths[data.centreOf].name
    let where_ = data.samples == run.split.train.count ? "the training split" : "the first \(NumberFormat.integer(data.samples)) training samples"
    let spanText = data.span.epochs.map { "\(NumberFormat.integer($0)) epoch\($0 == 1 ? "" : "s")" } ?? "\(NumberFormat.integer(data.span.steps)) steps"
    let parts = [
      "The loss on \(where_)",
      "the plane through \(centreName)'s end that best fits the paths (Li et al. 2018)",
      "\(side) × \(side) points, linear between them",
      "paths: \(spanText) from one seed, ● start, ■ end",
    ]
    let shares = data.shares.map { NumberFormat.percent($0, digits: 0) }
    // The loss at a point of the plane, linear on the grid's triangles.
    let (x0, x1, y0, y1) = (data.xs.first!, data.xs.last!, data.ys.first!, data.ys.last!)
    func value(_ x: Double, _ y: Double) -> Double {
      let u = min(max((x - x0) / (x1 - x0) * Double(side - 1), 0), Double(side - 1) - 1e-9)
      let v = min(max((y - y0) / (y1 - y0) * Double(side - 1), 0), Double(side - 1) - 1e-9)
      let (c, r) = (Int(u), Int(v)), (fu, fv) = (u - Double(Int(u)), v - Double(Int(v)))
      let a = logs[r * side + c], b = logs[r * side + c + 1], d = logs[(r + 1) * side + c], e = logs[(r + 1) * side + c + 1]
      return fu >= fv ? a + (b - a) * fu + (e - b) * fv : a + (e - d) * fu + (d - a) * fv
    }
    return Figure(name: "landscape", size: theme.size) { canvas in
      let lines = packedLines(parts, width: theme.size.width - 2 * theme.margin, style: theme.note, on: canvas)
      let body = notedPage(canvas, theme, title: "Loss landscape: \(source.name)", lines: lines)
      let bar = ColorBar(colormap: .viridis, scale: scale, title: "log₁₀ L")
      let barWidth = bar.width(on: canvas, theme: theme, height: body.height)
      // The legend of paths on the right, under the colour bar's column.
      let legendStyle = theme.tick
      let legendWidth = data.paths.map { max(canvas.measure($0.name, style: legendStyle.emphasized).width, canvas.measure($0.settings, style: theme.note).width) }.max() ?? 0
      let swatch = theme.tickSize * 1.6
      let (column, rest) = body.splitRight(max(barWidth, legendWidth + swatch + theme.tickSize * 0.5), gap: theme.gap)
      // One scale on both axes: the plot's data area as large as the rest allows.
      var plot = Plot(x: (x0, x1), y: (y0, y1), xTitle: "direction 1 (\(shares[0]) of the paths' spread)",
                      yTitle: "direction 2 (\(shares[1]))", series: [])
      let probe = plot.draw(on: RecordingCanvas(measurer: { canvas.measure($0, style: $1) }), in: rest, theme: theme)
      let units = min(probe.width / (x1 - x0), probe.height / (y1 - y0))
      let wantX = (x1 - x0) * units, wantY = (y1 - y0) * units
      // Widen the shorter span so the data area keeps its shape (the grid is square in data units).
      let extraX = (probe.width - wantX) / units / 2, extraY = (probe.height - wantY) / units / 2
      plot.x = (x0 - extraX, x1 + extraX)
      plot.y = (y0 - extraY, y1 + extraY)
      let inGrid = { (x: Double, y: Double) in x >= x0 - 1e-12 && x <= x1 + 1e-12 && y >= y0 - 1e-12 && y <= y1 + 1e-12 }
      let area = plot.draw(on: canvas, in: rest, theme: theme) { area in
        // Filled bands: one pixel every 2 pt of the page, white outside the grid.
        let w = max(2, Int(area.width / 2)), h = max(2, Int(area.height / 2))
        var pixels: [Color] = []
        pixels.reserveCapacity(w * h)
        for r in 0..<h {
          for c in 0..<w {
            let x = plot.x.lower + (plot.x.upper - plot.x.lower) * (Double(c) + 0.5) / Double(w)
            let y = plot.y.upper - (plot.y.upper - plot.y.lower) * (Double(r) + 0.5) / Double(h)
            pixels.append(inGrid(x, y) ? bandColor(value(x, y)) : .white)
          }
        }
        canvas.image(Raster(width: w, height: h, pixels: pixels), in: area)
      }
      // Contour lines on the same triangles: where each level crosses each triangle's edges.
      for level in levels {
        var path = Path()
        for r in 0..<(data.ys.count - 1) {
          for c in 0..<(data.xs.count - 1) {
            let corners = [(c, r), (c + 1, r), (c + 1, r + 1), (c, r + 1)]
            for triangle in [[0, 1, 2], [0, 2, 3]] {
              let pts = triangle.map { corners[$0] }
              var crossings: [Point] = []
              for (a, b) in [(0, 1), (1, 2), (2, 0)] {
                let (ca, ra) = pts[a], (cb, rb) = pts[b]
                let va = logs[ra * side + ca], vb = logs[rb * side + cb]
                guard (va < level) != (vb < level), va.isFinite, vb.isFinite else { continue }
                let t = (level - va) / (vb - va)
                let x = data.xs[ca] + (data.xs[cb] - data.xs[ca]) * t, y = data.ys[ra] + (data.ys[rb] - data.ys[ra]) * t
                crossings.append(plot.map(x, y, area))
              }
              if crossings.count == 2 {
                path.move(to: crossings[0])
                path.line(to: crossings[1])
              }
            }
          }
        }
        if !path.elements.isEmpty { canvas.stroke(path, Color.white.opacity(0.55), width: theme.hairline * 0.8) }
      }
      // The paths: a dark casing under each coloured line, a dot at the start, a square at the end.
      let marker = theme.lineWidth * 1.6
      for (k, path) in data.paths.enumerated() {
        let points = path.points.map { plot.map($0.x, $0.y, area) }
        canvas.stroke(Path.polyline(points), Theme.ink.opacity(0.6), width: theme.lineWidth * 1.8)
        canvas.stroke(Path.polyline(points), colors[k], width: theme.lineWidth)
        if let end = points.last {
          canvas.fill(Rect(x: end.x - marker, y: end.y - marker, width: marker * 2, height: marker * 2), colors[k])
          canvas.stroke(Rect(x: end.x - marker, y: end.y - marker, width: marker * 2, height: marker * 2), Theme.ink, width: theme.hairline)
        }
      }
      if let start = data.paths.first?.points.first.map({ plot.map($0.x, $0.y, area) }) {
        canvas.fill(Path.circle(start, radius: marker * 1.1), Color.white)
        canvas.stroke(Path.circle(start, radius: marker * 1.1), Theme.ink, width: theme.hairline * 1.5)
      }
      // The side column: the colour bar above, the paths' legend below.
      let th = canvas.measure("Ag", style: legendStyle).height, nh = canvas.measure("Ag", style: theme.note).height
      let entry = th + nh + theme.clearance * 3
      let legendHeight = Double(data.paths.count) * entry
      let (legendRect, barRect) = column.splitBottom(legendHeight, gap: theme.gap)
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: area.y, width: barRect.width, height: max(barRect.maxY - area.y, th * 4)), theme: theme)
      for (k, path) in data.paths.enumerated() {
        let top = legendRect.y + Double(k) * entry
        canvas.line(Point(legendRect.x, top + th / 2), Point(legendRect.x + swatch, top + th / 2), colors[k], width: theme.lineWidth)
        canvas.text(path.name, Point(legendRect.x + swatch + theme.tickSize * 0.4, top), legendStyle.emphasized, anchor: .topLeft)
        canvas.text(path.settings, Point(legendRect.x + swatch + theme.tickSize * 0.4, top + th + theme.clearance), theme.note, anchor: .topLeft)
      }
    }
  }
}
