import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// The filled circles (the tokens' points) a figure drew, in drawing order.
private func points(_ canvas: RecordingCanvas) -> [Point] {
  canvas.operations.compactMap {
    guard case .fill(let path, let c) = $0, c == Theme.accent, path.elements.count == 3,
          case .arc(let centre, _, _, _) = path.elements[1] else { return nil }
    return centre
  }
}

private func distance(_ a: [Double], _ b: [Double]) -> Double {
  zip(a, b).map { ($0 - $1) * ($0 - $1) }.reduce(0, +).squareRoot()
}

@Suite("Embeddings: token vectors on their two principal directions")
struct EmbeddingsFigureTests {
  /// attention-reverse trained a few epochs (about a second; the figure reads E as it is).
  static func trained() throws -> FigureSource { try lessonSource("attention-reverse", epochs: 4) }

  @Test("rows on a line: all the variance on PC 1, none on PC 2, coordinates along the line")
  func line() {
    // (0, 0), (1, 2), (2, 4), (3, 6): the mean is (1.5, 3), the direction (1, 2)/√5.
    let p = EmbeddingProjection(rows: [[0, 0], [1, 2], [2, 4], [3, 6]])
    #expect(abs(p.shares.0 - 1) < 1e-12 && abs(p.shares.1) < 1e-12)
    #expect(abs(p.directions[0][0] - 1 / 5.0.squareRoot()) < 1e-12 && abs(p.directions[0][1] - 2 / 5.0.squareRoot()) < 1e-12)
    for (k, c) in p.coordinates.enumerated() {
      #expect(abs(c.0 - (Double(k) - 1.5) * 5.0.squareRoot()) < 1e-12 && abs(c.1) < 1e-12)
    }
  }

  @Test("a 2×2 diagonal spread: 80 % and 20 %, axes along the coordinates, signs fixed")
  func diagonal() {
    // x spreads ±2, y ±1: variances 4 and 1 of 5.
    let p = EmbeddingProjection(rows: [[2, 0], [-2, 0], [0, 1], [0, -1]])
    #expect(abs(p.shares.0 - 0.8) < 1e-12 && abs(p.shares.1 - 0.2) < 1e-12)
    #expect(abs(p.directions[0][0] - 1) < 1e-12 && abs(p.directions[1][1] - 1) < 1e-12)
  }

  @Test("the lesson's E: directions are unit eigenvectors of the covariance (checked here by power iteration), a projection never lengthens a distance")
  func lessonProjection() throws {
    let source = try Self.trained()
    let e = source.model.layers.compactMap { $0 as? Embedding }[0].E.value
    let (v, d) = (e.shape[0], e.shape[1])
    let rows = (0..<v).map { Array(e.data[$0 * d..<($0 + 1) * d]) }
    let p = EmbeddingProjection(rows: rows)
    // The covariance, and its top eigenvector by power iteration, written independently here.
    let mean = (0..<d).map { j in rows.map { $0[j] }.reduce(0, +) / Double(v) }
    let x = rows.map { r in (0..<d).map { r[$0] - mean[$0] } }
    let c = (0..<d).map { i in (0..<d).map { j in x.map { $0[i] * $0[j] }.reduce(0, +) / Double(v) } }
    func times(_ u: [Double]) -> [Double] { c.map { row in zip(row, u).map { $0 * $1 }.reduce(0, +) } }
    var u = [Double](repeating: 1, count: d)
    for _ in 0..<5000 {
      let w = times(u)
      let n = w.map { $0 * $0 }.reduce(0, +).squareRoot()
      u = w.map { $0 / n }
    }
    let big = u.indices.max { abs(u[$0]) < abs(u[$1]) }!
    if u[big] < 0 { u = u.map { -$0 } }
    #expect(distance(u, p.directions[0]) < 1e-6, "PC 1 \(p.directions[0]) vs power iteration \(u)")
    let lambda1 = zip(u, times(u)).map { $0 * $1 }.reduce(0, +)
    let total = (0..<d).map { c[$0][$0] }.reduce(0, +)
    #expect(abs(p.shares.0 - lambda1 / total) < 1e-9)
    // PC 2 is a unit eigenvector orthogonal to PC 1, with a smaller eigenvalue.
    let u2 = p.directions[1], cu2 = times(u2)
    let lambda2 = zip(u2, cu2).map { $0 * $1 }.reduce(0, +)
    #expect(distance(cu2, u2.map { $0 * lambda2 }) < 1e-9 && abs(zip(u2, u).map { $0 * $1 }.reduce(0, +)) < 1e-6)
    #expect(lambda2 <= lambda1 && abs(p.shares.1 - lambda2 / total) < 1e-9)
    for i in 0..<v {
      #expect(abs(p.coordinates[i].0 - zip(x[i], p.directions[0]).map { $0 * $1 }.reduce(0, +)) < 1e-12)
      for j in 0..<v where j != i {
        let projected = ((p.coordinates[i].0 - p.coordinates[j].0) * (p.coordinates[i].0 - p.coordinates[j].0)
                         + (p.coordinates[i].1 - p.coordinates[j].1) * (p.coordinates[i].1 - p.coordinates[j].1)).squareRoot()
        #expect(projected <= distance(rows[i], rows[j]) + 1e-12)
      }
    }
  }

  @Test("each point lies where the projection puts it, one scale on both axes, labelled with its character")
  func drawnPoints() throws {
    let source = try Self.trained()
    let e = source.model.layers.compactMap { $0 as? Embedding }[0].E.value
    let (v, d) = (e.shape[0], e.shape[1])
    let p = EmbeddingProjection(rows: (0..<v).map { Array(e.data[$0 * d..<($0 + 1) * d]) })
    let canvas = try record(try Catalogue.make(.embeddings, source, options())[0])
    let drawn = points(canvas)
    try #require(drawn.count == v)
    // page = origin + s·(PC 1, −PC 2): the scale from the two points farthest apart on PC 1.
    let (a, b) = (p.coordinates.indices.min { p.coordinates[$0].0 < p.coordinates[$1].0 }!, p.coordinates.indices.max { p.coordinates[$0].0 < p.coordinates[$1].0 }!)
    let s = (drawn[b].x - drawn[a].x) / (p.coordinates[b].0 - p.coordinates[a].0)
    #expect(s > 0)
    for k in 0..<v {
      #expect(abs(drawn[k].x - (drawn[a].x + s * (p.coordinates[k].0 - p.coordinates[a].0))) < 1e-6)
      #expect(abs(drawn[k].y - (drawn[a].y - s * (p.coordinates[k].1 - p.coordinates[a].1))) < 1e-6)
    }
    // The labels are the vocabulary's characters, each once, each near its point.
    let vocabulary = source.run!.split.train.vocabulary
    #expect(vocabulary == (0..<10).map(String.init))
    for (k, token) in vocabulary.enumerated() {
      let label = canvas.texts(token).filter { $0.style.size == Theme.slide.labelSize }
      try #require(label.count == 1, "\(token) labelled \(label.count) times")
      let box = label[0].box
      let gap = max(box.x - drawn[k].x, drawn[k].x - box.maxX, box.y - drawn[k].y, drawn[k].y - box.maxY, 0)
      #expect(gap < Theme.slide.labelSize * 4, "\(token) label \(gap) pt from its point")
    }
    #expect(!canvas.texts.filter { $0.string.hasPrefix("PC 1 (") && $0.string.hasSuffix("of variance)") }.isEmpty)
    #expect(!canvas.texts.filter { $0.string.hasPrefix("PC 2 (") }.isEmpty)
  }

  @Test("reads well on slide and print, trained and as initialised")
  func readable() throws {
    let source = try Self.trained()
    for theme in Theme.all { try expectReadable(try Catalogue.make(.embeddings, source, options(theme))[0], theme) }
    let initial = try lessonSource("attention-reverse", epochs: 0)
    for theme in Theme.all { try expectReadable(try Catalogue.make(.embeddings, initial, options(theme, trained: false))[0], theme) }
  }

  @Test("two renders give the same SVG bytes")
  func deterministic() throws {
    let source = try Self.trained()
    let first = try FigureFile.render(try Catalogue.make(.embeddings, source, options())[0], as: .svg, scale: 1)
    let second = try FigureFile.render(try Catalogue.make(.embeddings, source, options())[0], as: .svg, scale: 1)
    #expect(first == second)
  }

  @Test("--layer names an embedding layer; a lesson without one is refused in one sentence")
  func refusals() throws {
    var o = options()
    o.layer = "embedding1"
    o.given = [.layer]
    let source = try Self.trained()
    _ = try Catalogue.make(.embeddings, source, o)
    o.layer = "dense1"
    do {
      try Catalogue.check(.embeddings, source, o)
      Issue.record("--layer dense1 accepted")
    } catch {
      #expect(error.description.contains("--layer dense1") && error.description.contains("embedding"))
    }
    let xor = try lessonSource("xor", epochs: 0)
    do {
      try Catalogue.check(.embeddings, xor, options())
      Issue.record("xor accepted")
    } catch {
      #expect(error.description.hasPrefix("embeddings draws an embedding layer's token vectors, but "), "\(error.description)")
      #expect(error.description.contains("has none; try architecture") && !error.description.contains("\n"), "\(error.description)")
    }
  }
}
