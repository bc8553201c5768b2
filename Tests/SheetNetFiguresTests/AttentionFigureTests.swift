import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// `attention` on the shipped lesson attention-reverse (one causal block, 2 heads, 7 tokens),
/// trained once: the numbers in the cells are the engine's A for the sample, each unmasked row sums
/// to 1, masked cells are empty, the axes carry the sample's characters, the page keeps the
/// layout rules; a lesson without self-attention is refused in one sentence.
@Suite("Attention figure", .serialized)
struct AttentionFigureTests {
  /// attention-reverse trained as the lesson says (30 epochs, a few seconds).
  nonisolated(unsafe) static let source: FigureSource? = try? lessonSource("attention-reverse")

  /// The engine's A [1, h, T, T] for evaluation sample `sample` (1-based), from a forward pass of
  /// the trained network in evaluation mode, and the sample's tokens as characters.
  static func engine(_ source: FigureSource, sample: Int = 1) -> (a: Tensor, tokens: [String]) {
    let data = source.run!.evaluationSet.data
    let x = data.x.gathering(rows: [sample - 1])
    _ = source.model.forward(x, Step(training: false))
    let layer = source.model.layers.compactMap { $0 as? SelfAttention }.first!
    return (layer.attentionWeights, x.data.map { data.vocabulary[Int($0)] })
  }

  /// The texts drawn inside cell (i, j) of the head drawn in `grid`.
  static func cellTexts(_ canvas: RecordingCanvas, _ grid: Rect, _ t: Int, _ i: Int, _ j: Int) -> [String] {
    let w = grid.width / Double(t), h = grid.height / Double(t)
    let cell = Rect(x: grid.x + w * Double(j), y: grid.y + h * Double(i), width: w, height: h)
    return canvas.texts.filter { cell.contains($0.box, tolerance: 0.5) }.map(\.string)
  }

  @Test("the cells print the engine's A to 2 decimals; rows sum to 1; masked cells stay empty; axes are the tokens")
  func numbers() throws {
    let source = try #require(Self.source)
    for sample in [1, 3] {
      var o = options(.slide)
      o.sample = sample
      o.given = [.sample]
      let figures = try Catalogue.make(.attention, source, o)
      #expect(figures.count == 1)
      let canvas = try record(figures[0])
      let (a, tokens) = Self.engine(source, sample: sample)
      let (h, t) = (a.shape[1], a.shape[2])
      #expect(h == 2 && t == 7)
      let grids = canvas.images.filter { $0.raster.width == t && $0.raster.height == t }.map(\.rect).sorted { $0.x < $1.x }
      #expect(grids.count == h)
      for (head, grid) in grids.enumerated() {
        for i in 0..<t {
          var sum = 0.0, printed = 0.0
          for j in 0..<t {
            let v = a.data[(head * t + i) * t + j]
            let texts = Self.cellTexts(canvas, grid, t, i, j)
            if j > i {
              #expect(texts.isEmpty, "head \(head + 1) masked cell (\(i), \(j)) shows \(texts)")
              #expect(v == 0)
            } else {
              #expect(texts == [NumberFormat.fixed(v, digits: 2)], "head \(head + 1) cell (\(i), \(j)): \(texts) for \(v)")
              printed += Double(texts.first ?? "") ?? .nan
            }
            sum += v
          }
          #expect(abs(sum - 1) < 1e-12)
          // Printed to 2 decimals, a row of i + 1 numbers sums to 1 within half a hundredth each.
          #expect(abs(printed - 1) <= 0.005 * Double(i + 1) + 1e-9, "head \(head + 1) row \(i) prints a sum of \(printed)")
        }
        // The key tokens above the grid and the query tokens left of it, in order.
        let above = canvas.texts.filter { $0.box.maxY <= grid.y && $0.box.y > grid.y - 40 && $0.box.midX > grid.x && $0.box.midX < grid.maxX }
          .sorted { $0.box.midX < $1.box.midX }.map(\.string)
        let left = canvas.texts.filter { $0.box.maxX <= grid.x && $0.box.x > grid.x - 40 && $0.box.midY > grid.y && $0.box.midY < grid.maxY }
          .sorted { $0.box.midY < $1.box.midY }.map(\.string)
        #expect(above == tokens)
        #expect(left == tokens)
      }
      let title = canvas.texts.first!.string
      #expect(title.contains("attention-reverse") && title.contains("2 heads") && title.contains(tokens.joined()) && title.contains("attention1"), "\(title)")
      #expect(canvas.texts.contains { $0.string.contains("each row sums to 1") })
    }
  }

  @Test("slide and print keep the layout rules")
  func layout() throws {
    let source = try #require(Self.source)
    for theme in Theme.all {
      for figure in try Catalogue.make(.attention, source, options(theme)) { try expectReadable(figure, theme) }
    }
  }

  @Test("4 heads of 32 tokens fill the page (grids over 40 % of it), every k-th token on the axes in order, a title that fits, the rules kept")
  func manyTokens() throws {
    let (t, h) = (32, 4)
    let tokens = "abcdefghijklmnopqrstuvwxyzABCDEF".map(String.init)
    // Causal rows of equal weights: query i spreads 1 over keys 0…i.
    let grid = (0..<t * t).map { k in k % t <= k / t ? 1 / Double(k / t + 1) : 0 }
    let long = "Attention of attention1 (attention layer 1 of 2), 4 heads, on “abcdefghijklmnopqrstuvw…”: a-long-lesson, after 10 epochs"
    let short = "Attention of attention1, 4 heads: a-long-lesson, after 10 epochs"
    for theme in Theme.all {
      let figure = Figure.attentionMaps(Array(repeating: grid, count: h), tokens: tokens, causal: true, theme: theme,
                                        titles: [long, short], subtitles: ["rows: query token, columns: key token; each row sums to 1"])
      try expectReadable(figure, theme)
      let canvas = try record(figure)
      #expect(canvas.texts.first?.string == short, "\(theme.name): the title that fits is written")
      let grids = canvas.images.filter { $0.raster.width == t && $0.raster.height == t }.map(\.rect)
      #expect(grids.count == h)
      let content = Rect(theme.size).inset(theme.margin)
      let share = grids.map { $0.width * $0.height }.reduce(0, +) / (content.width * content.height)
      #expect(share > 0.4, "\(theme.name): the grids cover \(share) of the page")
      // Every k-th token from the first, in order: k the same along an axis of every head.
      func everyKth(_ labels: [String]) -> Bool {
        guard labels.count >= 2, let k = tokens.firstIndex(of: labels[1]) else { return false }
        return labels == stride(from: 0, to: t, by: k).map { tokens[$0] }
      }
      for g in grids {
        let keys = canvas.texts.filter { $0.box.maxY <= g.y && $0.box.maxY > g.y - theme.gap * 0.5 && $0.box.midX > g.x && $0.box.midX < g.maxX }
          .sorted { $0.box.midX < $1.box.midX }.map(\.string)
        let queries = canvas.texts.filter { $0.box.maxX <= g.x && $0.box.maxX > g.x - theme.gap * 0.5 && $0.box.midY > g.y && $0.box.midY < g.maxY }
          .sorted { $0.box.midY < $1.box.midY }.map(\.string)
        #expect(everyKth(keys) && everyKth(queries), "\(theme.name): keys \(keys), queries \(queries)")
      }
    }
  }

  @Test("--layer takes the attention layer by name or position and refuses another layer in one line")
  func layer() throws {
    let source = try #require(Self.source)
    let position = source.model.layers.firstIndex { $0 is SelfAttention }! + 1
    for name in ["attention1", String(position)] {
      var o = options()
      o.layer = name
      o.given = [.layer]
      #expect(try Catalogue.make(.attention, source, o).count == 1)
    }
    var o = options()
    o.layer = "1"
    o.given = [.layer]
    #expect(throws: FigureError.self) { try Catalogue.check(.attention, source, o) }
    do { try Catalogue.check(.attention, source, o) } catch {
      #expect(error.description.contains("--layer 1") && !error.description.contains("\n") && error.description.contains("attention1"))
    }
  }

  @Test("a lesson without self-attention is refused in one sentence")
  func refusal() throws {
    let source = try lessonSource("xor", epochs: 0)
    do {
      try Catalogue.check(.attention, source, options())
      Issue.record("attention accepted xor")
    } catch {
      let line = error.description
      #expect(!line.contains("\n") && line.contains("attention draws self_attention layers' weights") && line.contains("has none; try"), "\(line)")
    }
  }
}
