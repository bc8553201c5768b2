import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

/// Serialized: the token tests share one trained network, and a figure reads the attention
/// weights its own forward pass leaves in the layer, which a test running beside it would overwrite.
@Suite("Overview: one sample through a CNN or one sequence through a transformer, every layer's real output, then p", .serialized)
struct OverviewTests {
  /// Every layer's output for a sample, forwarded one layer at a time in evaluation mode.
  func outputs(_ source: FigureSource, sample: Int) -> [(name: String, output: Tensor)] {
    var a = source.run!.evaluationSet.data.x.gathering(rows: [sample])
    var result = [("input", a)]
    for layer in source.model.layers {
      a = layer.forward(a, Step(training: false))
      result.append((layer.name, a))
    }
    return result
  }

  @Test("one thumbnail per channel shown, with \"+N more\" for the rest, each the layer's real map over its own range",
        arguments: [("digits-cnn", Theme.slide), ("digits-cnn", .print), ("test:small-cnn", .slide), ("test:small-cnn", .print)])
  func thumbnails(_ lesson: String, _ theme: Theme) throws {
    let source = try lessonSource(lesson, epochs: 1)
    var o = options(theme)
    o.sample = 4
    let canvas = try record(try Catalogue.make(.overview, source, o)[0])
    // A column per layer but the final softmax, each on a light block, in order.
    let columns = outputs(source, sample: 3).dropLast()
    let blocks = canvas.operations.compactMap { op -> Rect? in
      if case .fill(let path, let c) = op, c == Color(hex: 0xF3F3F3) { return path.bounds }
      return nil
    }
    #expect(blocks.count == columns.count)
    // Thumbnails: the images with a map's shape, in drawing order (column by column, channel by channel).
    let thumbnails = canvas.images.filter { $0.raster.width > 1 && $0.raster.height > 1 }
    let more = canvas.texts.compactMap { t -> Int? in
      guard t.string.hasPrefix("+") else { return nil }
      return Int(t.string.dropFirst().split(separator: " ").first ?? "")
    }
    var k = 0, hidden = 0
    for ((name, output), block) in zip(columns, blocks) where output.rank == 4 {
      let (c, h, w) = (output.shape[1], output.shape[2], output.shape[3])
      #expect(canvas.texts(name).count == 1, "column \(name) named")
      let mine = thumbnails.filter { block.contains($0.rect, tolerance: 0.01) }
      #expect(!mine.isEmpty, "\(name): thumbnails")
      let shown = mine.count
      let rest = c - shown
      if rest > 0 {
        #expect(more.contains(rest), "\(name): \"+\(rest) more\"")
        hidden += rest
      }
      for channel in 0..<shown {
        let values = Array(output.data[channel * h * w..<(channel + 1) * h * w])
        let (colormap, scale) = Figure.mapColoring(values, input: name == "input")
        #expect(thumbnails[k].raster == Raster(values: values, width: w, colormap: colormap, scale: scale), "\(name) channel \(channel + 1)")
        k += 1
      }
      #expect(canvas.texts(shapeText(Array(output.shape.dropFirst()))).count >= 1, "\(name): its shape")
    }
    #expect(k == thumbnails.count, "every thumbnail is a layer's map")
    #expect(more.reduce(0, +) == hidden)
    // Parameter counts, the engine's.
    for layer in source.model.layers where layer.parameterCount > 0 {
      #expect(canvas.texts("\(NumberFormat.integer(layer.parameterCount)) params").count >= 1, "\(layer.name): parameters")
    }
  }

  @Test("the probabilities are the model's softmax output; the predicted class is filled, the true class outlined",
        arguments: [("digits-cnn", 1), ("digits-cnn", 5), ("test:small-cnn", 2)])
  func probabilities(_ lesson: String, _ sample: Int) throws {
    let source = try lessonSource(lesson, epochs: 1)
    var o = options()
    o.sample = sample
    let canvas = try record(try Catalogue.make(.overview, source, o)[0])
    let data = source.run!.evaluationSet.data
    let p = source.model.forward(data.x.gathering(rows: [sample - 1]), Step(training: false)).data  // the softmax layer's output
    #expect(source.model.layers.last is Softmax)
    let title = try #require(canvas.texts("p (softmax)").first)
    let panel = canvas.texts.filter { $0.box.x >= title.box.x - 40 && $0.box.y > title.box.maxY }
    let predicted = p.indices.max { p[$0] < p[$1] }!
    for (k, value) in p.enumerated() {
      let name = try #require(panel.first { $0.string == data.classNames[k] }, "class \(k) named")
      let written = try #require(panel.first { abs($0.box.midY - name.box.midY) < 1 && $0.box.x > name.box.maxX }, "class \(k): p written")
      #expect(written.string == NumberFormat.fixed(value, digits: 2), "class \(k): \(written.string) against \(value)")
      #expect(written.style.bold == (k == predicted))
      #expect(name.style.bold == (k == data.labels![sample - 1]), "the true class in bold")
    }
    // The predicted bar: filled in the accent colour, as long as p of the track.
    let bars = canvas.operations.compactMap { op -> Rect? in
      if case .fill(let path, let c) = op, c == Theme.accent, let b = path.bounds, b.y > title.box.maxY, b.x >= title.box.x - 40 { return b }
      return nil
    }
    #expect(bars.count == 2)  // the bar and the legend's swatch
  }

  @Test("overview refuses networks it does not apply to, pointing to one that does", arguments: [
    ("digits-mlp", "architecture"), ("tiny-vgg", "architecture"), ("xor", "architecture"),
  ])
  func refusals(_ lesson: String, _ suggestion: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    do {
      try Catalogue.check(.overview, source, options())
      Issue.record("accepted \(lesson)")
    } catch {
      #expect(error.description.contains(suggestion), "\(error.description)")
      #expect(!error.description.contains("\n"))
    }
    // The kind suggested accepts the lesson.
    try Catalogue.check(.architecture, source, options())
  }

  @Test("overview refuses a sample out of range")
  func sampleRange() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    var o = options()
    o.sample = 10_000
    #expect(throws: FigureError.self) { try Catalogue.check(.overview, source, o) }
  }

  // MARK: Token networks

  /// attention-reverse after 3 epochs (a second or two).
  nonisolated(unsafe) static let reverse: FigureSource? = try? lessonSource("attention-reverse", epochs: 3)

  @Test("a sequence's maps are the engine's outputs of each stage, a row per token; the heads are the layer's A",
        arguments: [Theme.slide, .print])
  func sequenceMaps(_ theme: Theme) throws {
    let source = try #require(Self.reverse)
    var o = options(theme)
    o.sample = 2
    let canvas = try record(try Catalogue.make(.overview, source, o)[0])
    let outputs = outputs(source, sample: 1)  // input, then every layer (outputs[i + 1] is layer i's)
    // attention-reverse's layers: embedding, positional, skip, layer_norm, self_attention, residual,
    // skip, layer_norm, dense, gelu, dense, residual, layer_norm, dense, softmax. The stages end at
    // the embedding, the positional layer, each residual block's end, the last layer norm and the
    // last dense; the softmax is the prediction column.
    let ends = [0, 1, 5, 11, 12, 13]
    #expect(source.model.layers[5] is Residual && source.model.layers[11] is Residual && source.model.layers[14] is Softmax)
    let t = 7
    let maps = canvas.images.filter { $0.raster.height == t && $0.raster.width > 1 && $0.raster.width != t }
    #expect(maps.count == ends.count)
    for (k, end) in ends.enumerated() where k < maps.count {
      let values = outputs[end + 1].output.data
      let d = outputs[end + 1].output.shape.last!
      #expect(outputs[end + 1].output.shape == [1, t, d])
      let (colormap, scale) = Figure.mapColoring(values, input: false)
      #expect(maps[k].raster == Raster(values: values, width: d, colormap: colormap, scale: scale), "stage \(k + 1) (\(source.model.layers[end].name))")
    }
    // Left to right, one row band: every map spans the same rows.
    #expect(zip(maps, maps.dropFirst()).allSatisfy { $0.rect.maxX < $1.rect.x && abs($0.rect.y - $1.rect.y) < 1e-9 && abs($0.rect.height - $1.rect.height) < 1e-9 })
    // The row labels: the sample's tokens, top to bottom, each centred on its row.
    let data = source.run!.evaluationSet.data
    let tokens = (0..<t).map { data.vocabulary[Int(data.x.data[1 * t + $0])] }
    let rows = maps[0].rect
    for (i, token) in tokens.enumerated() {
      let y = rows.y + (Double(i) + 0.5) * rows.height / Double(t)
      #expect(canvas.texts.contains { $0.string == token && abs($0.box.midY - y) < 0.5 && $0.box.maxX <= rows.x }, "row \(i + 1) labelled \(token)")
    }
    // The heads: T×T images whose unmasked pixels are the layer's A in viridis, masked ones grey.
    let attention = source.model.layers[4] as! SelfAttention
    let a = attention.attentionWeights  // the figure's forward pass left the sample's A in the layer
    #expect(a.shape == [1, 2, t, t])
    let grids = canvas.images.filter { $0.raster.width == t && $0.raster.height == t }
    #expect(grids.count == attention.heads)
    for (h, grid) in grids.enumerated() {
      for i in 0..<t {
        for j in 0..<t {
          let expected = j > i ? Color(hex: 0xD9D9D9) : Colormap.viridis(ColorScale(lower: 0, upper: 1)(a.data[(h * t + i) * t + j]))
          #expect(grid.raster.pixels[i * t + j] == expected, "head \(h + 1) A[\(i + 1), \(j + 1)]")
        }
      }
      #expect(canvas.texts("head \(h + 1)").count == 1)
    }
    try expectReadable(try Catalogue.make(.overview, source, o)[0], theme)
  }

  @Test("the prediction column: each position's likeliest token and its p, the target with ✓ or ✗ where it is scored, — where it is masked")
  func sequencePredictions() throws {
    let source = try #require(Self.reverse)
    let data = source.run!.evaluationSet.data
    for sample in [1, 4] {
      var o = options()
      o.sample = sample
      let canvas = try record(try Catalogue.make(.overview, source, o)[0])
      let p = source.model.forward(data.x.gathering(rows: [sample - 1]), Step(training: false))  // [1, T, V], the softmax's output
      let (t, v) = (p.shape[1], p.shape[2])
      let header = try #require(canvas.texts("p").first)
      var right = 0, scored = 0
      for i in 0..<t {
        let row = Array(p.data[i * v..<(i + 1) * v])
        let top = row.indices.max { row[$0] < row[$1] }!
        // The p written on this row, under the column's "p".
        let written = canvas.texts.filter { abs($0.box.midX - header.box.midX) < 1 && $0.box.y > header.box.maxY }.sorted { $0.box.y < $1.box.y }
        #expect(written.count == t)
        guard written.count == t else { return }
        let y = written[i].box.midY
        #expect(written[i].string == NumberFormat.fixed(row[top], digits: 2), "position \(i + 1)")
        let line = canvas.texts.filter { abs($0.box.midY - y) < 0.5 && $0.box.x > header.box.maxX }.map(\.string)
        let target = data.explicitTargets!.data[(sample - 1) * t + i]
        if target < 0 {
          #expect(line == ["—"], "position \(i + 1) is masked: \(line)")
        } else {
          scored += 1
          let mark = Int(target) == top ? "✓" : "✗"
          if Int(target) == top { right += 1 }
          #expect(line == [data.vocabulary[Int(target)], mark], "position \(i + 1): \(line)")
        }
        let before = canvas.texts.filter { abs($0.box.midY - y) < 0.5 && $0.box.maxX < header.box.x && $0.box.x > header.box.x - 80 }.map(\.string)
        #expect(before.last == data.vocabulary[top], "position \(i + 1): the likeliest token")
      }
      #expect(scored == 4, "reverse with L = 4 scores the answer's 4 positions")
      #expect(canvas.texts.contains { $0.string.contains("\(right) of \(scored) scored positions right") })
    }
  }

  @Test("a token network reading more than 12 tokens is refused in one line naming the limit")
  func sequenceLimit() throws {
    let lesson = try Lesson.parse("""
      data: {dataset: sequences, task: reverse, length: 7, vocabulary: 5, count: 40}
      network:
        - {type: embedding, size: 4}
        - {type: self_attention, heads: 1, causal: true}
        - {type: dense, units: 5}
        - softmax
      loss: token_cross_entropy
      train: {epochs: 0, batch_size: 8}
      """, path: "long.yaml")
    let source = FigureSource(run: try LessonRun(lesson))
    #expect(source.model.inputShape == [13])
    do {
      try Catalogue.check(.overview, source, options())
      Issue.record("accepted 13 tokens")
    } catch {
      #expect(error.description.contains("at most 12") && error.description.contains("reads 13"), "\(error.description)")
      #expect(error.description.contains("attention"), "\(error.description)")
      #expect(!error.description.contains("\n"))
    }
  }

  @Test("a small token network without residual blocks: a stage per layer, the heads under the attention layer, none masked", arguments: [Theme.slide, .print])
  func sequencePlain(_ theme: Theme) throws {
    let lesson = try Lesson.parse("""
      data: {dataset: sequences, task: copy, length: 3, vocabulary: 4, count: 40}
      network:
        - {type: embedding, size: 4}
        - {type: self_attention, heads: 2}
        - gelu
        - {type: dense, units: 4}
        - softmax
      loss: token_cross_entropy
      train: {epochs: 1, batch_size: 8}
      """, path: "plain.yaml")
    let run = try LessonRun(lesson)
    try run.train()
    let source = FigureSource(run: run)
    let canvas = try record(try Catalogue.make(.overview, source, options(theme))[0])
    for title in ["embedding", "attention", "GELU", "dense"] { #expect(canvas.texts(title).count == 1, "\(title)") }
    let heads = canvas.images.filter { $0.raster.height == 5 && $0.raster.width == 5 }
    #expect(heads.count == 2, "two heads of T = 5")
    #expect(!heads.contains { $0.raster.pixels.contains(Color(hex: 0xD9D9D9)) }, "not causal: nothing masked")
    try expectReadable(try Catalogue.make(.overview, source, options(theme))[0], theme)
  }
}
