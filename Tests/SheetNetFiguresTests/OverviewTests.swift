import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Overview: one sample through a CNN, every layer's real maps, then p")
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
}
