import SheetNet

/// `embeddings`: the token vectors of an embedding layer (the rows of E) projected onto their
/// two principal directions, each token a labelled point (its character, not its id). Both axes
/// share one scale, so distances on the page are proportional to distances between the
/// projected vectors.
extension Figure {
  /// The embedding layers of the network, in order.
  static func embeddingLayers(_ model: Sequential) -> [Embedding] {
    model.layers.compactMap { $0 as? Embedding }
  }

  static func checkEmbeddings(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let layers = embeddingLayers(source.model)
    guard !layers.isEmpty else {
      throw .notApplicable("embeddings draws an embedding layer's token vectors, but \(source.lesson.path) has none; \(suggestion([.architecture], for: source))")
    }
    _ = try pick(options.layer, in: source.model, among: layers, what: "embedding layers")
  }

  static func embeddings(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.embeddings)
    let theme = options.theme
    let layer = try pick(options.layer, in: source.model, among: embeddingLayers(source.model), what: "embedding layers") as! Embedding
    let E = layer.E.value
    let (v, d) = (E.shape[0], E.shape[1])
    let rows = (0..<v).map { Array(E.data[$0 * d..<($0 + 1) * d]) }
    let pca = EmbeddingProjection(rows: rows)
    let vocabulary = run.split.train.vocabulary
    let labels = (0..<v).map { $0 < vocabulary.count ? Sequences.shown(vocabulary[$0]) : "#\($0)" }
    let (share1, share2) = (NumberFormat.percent(pca.shares.0), NumberFormat.percent(pca.shares.1))
    let subtitle = "\(layer.name): \(v) tokens × \(d) numbers, centred, seen along the 2 directions of most variance"
    let xs = pca.coordinates.map(\.0), ys = pca.coordinates.map(\.1)
    return Figure(name: "embeddings", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: "Token embeddings: \(state(source, options))", subtitle: subtitle)
      let style = theme.label.emphasized
      let radius = theme.lineWidth * 1.6
      // Each range padded by the largest label a side, then the narrower one widened so that one
      // unit is as long on both axes (the area's aspect comes from a first layout of the axes).
      let (x0, x1) = padRange(xs.min() ?? 0, xs.max() ?? 0), (y0, y1) = padRange(ys.min() ?? 0, ys.max() ?? 0)
      func plot(_ x: (Double, Double), _ y: (Double, Double)) -> Plot {
        Plot(x: x, y: y, xTitle: "PC 1 (\(share1) of variance)", yTitle: "PC 2 (\(share2))", series: [])
      }
      func equalScale(_ area: Rect) -> ((Double, Double), (Double, Double)) {
        let scale = min(area.width / max(x1 - x0, 1e-12), area.height / max(y1 - y0, 1e-12))
        let (wx, wy) = (area.width / scale, area.height / scale)
        let (cx, cy) = ((x0 + x1) / 2, (y0 + y1) / 2)
        return ((cx - wx / 2, cx + wx / 2), (cy - wy / 2, cy + wy / 2))
      }
      var (xr, yr) = ((x0, x1), (y0, y1))
      for _ in 0..<2 {
        let trial = RecordingCanvas(measurer: { canvas.measure($0, style: $1) })
        (xr, yr) = equalScale(plot(xr, yr).draw(on: trial, in: body, theme: theme))
      }
      let chart = plot(xr, yr)
      let area = chart.draw(on: canvas, in: body, theme: theme)
      let points = zip(xs, ys).map { chart.map($0, $1, area) }
      let boxes = placeLabels(labels.map { canvas.measure($0, style: style) }, at: points, radius: radius, in: area, clearance: theme.clearance * 2)
      for (k, p) in points.enumerated() {
        let box = boxes[k]
        // A label pushed away from its point is tied to it by a leader line.
        let nearest = Point(min(max(p.x, box.x), box.maxX), min(max(p.y, box.y), box.maxY))
        if ((nearest.x - p.x) * (nearest.x - p.x) + (nearest.y - p.y) * (nearest.y - p.y)).squareRoot() > radius * 2.5 {
          canvas.line(p, nearest, Theme.muted, width: theme.hairline)
        }
      }
      for (k, p) in points.enumerated() {
        canvas.fill(Path.circle(p, radius: radius), Theme.accent)
        canvas.text(labels[k], Point(boxes[k].x, boxes[k].y), style, anchor: .topLeft)
      }
    }
  }

  /// Boxes for labels of the given sizes beside `points`, none overlapping another label or any
  /// point, inside `area`: each label, in order, takes the first free place among eight around its
  /// point at a growing distance (right first, then left, above, below and the diagonals). A label
  /// that finds none stays on the right of its point.
  static func placeLabels(_ sizes: [TextExtents], at points: [Point], radius: Double, in area: Rect, clearance: Double) -> [Rect] {
    let dots = points.map { Rect(x: $0.x - radius, y: $0.y - radius, width: radius * 2, height: radius * 2) }
    var placed: [Rect] = []
    let directions: [(Double, Double)] = [(1, 0), (-1, 0), (0, -1), (0, 1), (1, -1), (-1, -1), (1, 1), (-1, 1)]
    for (p, e) in zip(points, sizes) {
      let (w, h) = (e.width, e.height)
      func box(_ dx: Double, _ dy: Double, _ gap: Double) -> Rect {
        // The box's near side `gap` from the point in the direction (dx, dy).
        let x = dx > 0 ? p.x + gap : dx < 0 ? p.x - gap - w : p.x - w / 2
        let y = dy > 0 ? p.y + gap : dy < 0 ? p.y - gap - h : p.y - h / 2
        return Rect(x: x, y: y, width: w, height: h)
      }
      func free(_ r: Rect) -> Bool {
        let padded = r.inset(-clearance)
        return area.contains(r, tolerance: 0) && !placed.contains { $0.intersects(padded) } && !dots.contains { $0.intersects(padded) }
      }
      var chosen: Rect? = nil
      search: for step in 0..<24 {
        let gap = radius * 1.5 + Double(step) * h * 0.5
        for (dx, dy) in directions where free(box(dx, dy, gap)) {
          chosen = box(dx, dy, gap)
          break search
        }
      }
      placed.append(chosen ?? box(1, 0, radius * 1.5))
    }
    return placed
  }
}

/// Rows of a matrix (token vectors) centred and projected onto their two principal directions,
/// the eigenvectors of the d×d covariance C = XᵀX / V with the largest eigenvalues, found by
/// Jacobi rotations (plain Swift, the same numbers on every run). Each direction's sign is fixed:
/// its component of largest magnitude is positive (the first such, on a tie).
public struct EmbeddingProjection: Sendable {
  /// The mean row, subtracted before projecting.
  public let mean: [Double]
  /// The first and second principal directions (unit vectors of length d; the second is zeros
  /// when d = 1).
  public let directions: [[Double]]
  /// Each row's coordinates (PC 1, PC 2).
  public let coordinates: [(Double, Double)]
  /// The share of the total variance along each direction (0…1; 0 and 0 when every row is the same).
  public let shares: (Double, Double)

  /// The projection of `rows` (V rows of d numbers each, V ≥ 1).
  public init(rows: [[Double]]) {
    let v = rows.count, d = rows.first?.count ?? 0
    let mean = (0..<d).map { j in rows.map { $0[j] }.reduce(0, +) / Double(max(v, 1)) }
    self.mean = mean
    let centred = rows.map { r in (0..<d).map { r[$0] - mean[$0] } }
    var c = [[Double]](repeating: [Double](repeating: 0, count: d), count: d)
    for i in 0..<d {
      for j in i..<d {
        let s = centred.map { $0[i] * $0[j] }.reduce(0, +) / Double(max(v, 1))
        c[i][j] = s
        c[j][i] = s
      }
    }
    let total = (0..<d).map { c[$0][$0] }.reduce(0, +)
    let (values, vectors) = EmbeddingProjection.eigen(c)
    // Largest eigenvalue first; equal ones in index order.
    let order = values.indices.sorted { values[$0] != values[$1] ? values[$0] > values[$1] : $0 < $1 }
    var directions: [[Double]] = order.prefix(2).map { k in
      var u = (0..<d).map { vectors[$0][k] }
      let big = u.indices.max { abs(u[$0]) != abs(u[$1]) ? abs(u[$0]) < abs(u[$1]) : $0 > $1 } ?? 0
      if !u.isEmpty && u[big] < 0 { u = u.map { -$0 } }
      return u
    }
    while directions.count < 2 { directions.append([Double](repeating: 0, count: d)) }
    self.directions = directions
    let (first, second) = (directions[0], directions[1])
    func dot(_ a: [Double], _ b: [Double]) -> Double { zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    coordinates = centred.map { r in (dot(r, first), dot(r, second)) }
    let lambda: [Double] = order.prefix(2).map { max(values[$0], 0) } + [0, 0]
    shares = total > 0 ? (min(lambda[0] / total, 1), min(lambda[1] / total, 1)) : (0, 0)
  }

  /// Eigenvalues and eigenvectors (the columns of the second result) of a symmetric matrix, by
  /// cyclic Jacobi rotations: each rotation zeroes one off-diagonal pair, and sweeps repeat
  /// until the off-diagonal part is negligible.
  static func eigen(_ matrix: [[Double]]) -> (values: [Double], vectors: [[Double]]) {
    var a = matrix
    let n = a.count
    var q = (0..<n).map { i in (0..<n).map { $0 == i ? 1.0 : 0.0 } }
    let scale = a.flatMap { $0 }.map { $0 * $0 }.reduce(0, +)
    for _ in 0..<100 {
      var off = 0.0
      for i in 0..<n { for j in 0..<n where j != i { off += a[i][j] * a[i][j] } }
      if off <= scale * 1e-30 || off == 0 { break }
      for p in 0..<n {
        for r in (p + 1)..<n where a[p][r] != 0 {
          // The rotation by θ in the (p, r) plane with tan 2θ = 2a_pr / (a_rr − a_pp).
          let theta = (a[r][r] - a[p][p]) / (2 * a[p][r])
          let t = (theta >= 0 ? 1.0 : -1.0) / (abs(theta) + (theta * theta + 1).squareRoot())
          let cs = 1 / (t * t + 1).squareRoot(), sn = t * cs
          for k in 0..<n {
            let (akp, akr) = (a[k][p], a[k][r])
            a[k][p] = cs * akp - sn * akr
            a[k][r] = sn * akp + cs * akr
          }
          for k in 0..<n {
            let (apk, ark) = (a[p][k], a[r][k])
            a[p][k] = cs * apk - sn * ark
            a[r][k] = sn * apk + cs * ark
          }
          for k in 0..<n {
            let (qkp, qkr) = (q[k][p], q[k][r])
            q[k][p] = cs * qkp - sn * qkr
            q[k][r] = sn * qkp + cs * qkr
          }
        }
      }
    }
    return ((0..<n).map { a[$0][$0] }, q)
  }
}
