import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

/// Edge strokes of a neuron diagram: two-point lines not in ink (neuron rings are ink), with
/// their weight's colour (opacity apart), opacity and dash.
private func edgeStrokes(_ canvas: RecordingCanvas) -> [(from: Point, to: Point, color: Color, dash: [Double])] {
  canvas.operations.compactMap { op in
    guard case .stroke(let path, let c, _, let dash) = op, path.elements.count == 2, c != Theme.ink,
          case .move(let a) = path.elements[0], case .line(let b) = path.elements[1] else { return nil }
    return (a, b, c, dash)
  }
}

/// What a student reads off the smaller figures: class names instead of bare numbers, how many
/// edges an architecture draws and where its colour scale ends, each mistake's probability, and
/// an overview's labels all on one side of their columns.
@Suite("Reading aids: class names, edges drawn, a robust colour scale, p on mistakes, labels on one side")
struct ReadingAidTests {
  // MARK: confusion

  @Test("class names: the dataset's own (species, letters, digits), else \"class k\" for numbered classes",
        arguments: [("xor", ["class 0", "class 1"]), ("spiral", ["class 0", "class 1"]), ("iris-mlp", ["setosa", "versicolor", "virginica"]),
                    ("digits-mlp", (0...9).map(String.init)), ("letters-cnn", ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"])])
  func classNames(_ lesson: String, _ names: [String]) throws {
    let source = try lessonSource(lesson, epochs: 1)
    let canvas = try record(try Catalogue.make(.confusion, source, options())[0])
    let grid = try #require(canvas.images.first { $0.raster.width == names.count }).rect
    for (k, name) in names.enumerated() {
      // Once over its column (above the grid), once beside its row (left of it).
      let placed = canvas.texts(name)
      let column = Rect(x: grid.x + grid.width * Double(k) / Double(names.count), y: 0, width: grid.width / Double(names.count), height: grid.y)
      let row = Rect(x: 0, y: grid.y + grid.height * Double(k) / Double(names.count), width: grid.x, height: grid.height / Double(names.count))
      #expect(placed.contains { column.contains($0.box.center) }, "\(lesson): \(name) over column \(k)")
      #expect(placed.contains { row.contains($0.box.center) }, "\(lesson): \(name) beside row \(k)")
    }
    // No bare class number names a 2-class set's rows.
    if names.count == 2 { #expect(canvas.texts("0").allSatisfy { grid.contains($0.box) } && canvas.texts("1").allSatisfy { grid.contains($0.box) }) }
  }

  // MARK: architecture

  @Test("one large weight (momentum-vs-sgd's w ≈ 20) ends the colour scale at 5 × the median |w|: it is dashed, the others keep their colours")
  func robustScale() throws {
    let source = try lessonSource("momentum-vs-sgd")
    let w = (source.model.layers[0] as! Dense).W.value.data  // [1, 5]
    let b = (source.model.layers[0] as! Dense).b.value.data[0]
    #expect(w.map(abs).max()! > 15, "the lesson's x₂ weight grows towards 20: \(w)")
    let sorted = w.map(abs).sorted()
    let limit = min(max(sorted.last!, abs(b)), Figure.clipFactor * sorted[2])
    let scale = ColorScale.symmetric([limit])
    let canvas = try record(try Catalogue.make(.architecture, source, options())[0])
    let edges = edgeStrokes(canvas)
    try #require(edges.count == 5)
    // Drawn weakest first: match each stroke to its weight by the number written on it (in order of |w|).
    for (edge, weight) in zip(edges, w.sorted { abs($0) < abs($1) }) {
      let expected = Colormap.diverging(scale(weight))
      #expect(abs(edge.color.r - expected.r) < 1e-9 && abs(edge.color.g - expected.g) < 1e-9 && abs(edge.color.b - expected.b) < 1e-9,
              "w = \(weight) on the scale ±\(limit)")
      #expect(edge.dash.isEmpty == (abs(weight) <= limit), "w = \(weight): dashed only beyond ±\(limit)")
      #expect(edge.color.a >= 0.35, "w = \(weight): no edge of a small network fades out (opacity \(edge.color.a))")
    }
    // The note may wrap: its lines are drawn one after another.
    let written = canvas.texts.map(\.string).joined(separator: " ")
    #expect(written.contains("Colours end at ±\(NumberFormat.significant(limit, 2)), 5 × the median |w| drawn; the edge beyond is dashed"))
  }

  @Test("a large diagram says how many of each layer's edges it draws (digits-mlp: at most 48 of 4,096 and of 640)")
  func edgesDrawn() throws {
    let source = try lessonSource("digits-mlp", epochs: 2)
    let canvas = try record(try Catalogue.make(.architecture, source, options())[0])
    let edges = edgeStrokes(canvas)
    // Edges of dense1 start in the input column, the leftmost.
    let left = edges.map(\.from.x).min()!
    let first = edges.filter { abs($0.from.x - left) < 0.5 }.count, second = edges.count - first
    #expect(first > 0 && first <= Figure.edgeLimit && second > 0 && second <= Figure.edgeLimit)
    let written = canvas.texts.map(\.string).joined(separator: " ")
    #expect(written.contains("Edges drawn, each layer's strongest between the neurons shown: dense1 \(first) of 4,096, dense2 \(second) of 640"),
            "\(canvas.texts.map(\.string).filter { $0.hasPrefix("Edges") })")
    // A small network draws every edge and says nothing of it.
    let mazur = try record(try Catalogue.make(.architecture, try lessonSource("mazur", epochs: 0), options(trained: false))[0])
    #expect(edgeStrokes(mazur).count == 8 && !mazur.texts.contains { $0.string.hasPrefix("Edges drawn") || $0.string.hasPrefix("Colours end") })
  }

  // MARK: mistakes

  @Test("mistakes writes beside each thumbnail the network's p for the class it predicted", arguments: [Theme.slide, .print])
  func mistakeProbabilities(_ theme: Theme) throws {
    let source = try lessonSource("digits-mlp", epochs: 2)
    let test = source.run!.split.test!
    let y = source.model.forward(test.x, Step(training: false))  // softmax rows [N, 10]
    let predictions = source.run!.evaluate(test).predictions
    let scale = ColorScale.linear(test.x.data)
    let canvas = try record(try Catalogue.make(.mistakes, source, options(theme))[0])
    #expect(canvas.images.count >= 3)
    let labels = test.labels!
    func picture(_ n: Int) -> Raster { Raster(values: Array(test.x.data[n * 64..<(n + 1) * 64]), width: 8, colormap: .greys, scale: scale) }
    var labelled = 0
    for (raster, rect) in canvas.images {
      let match = labels.indices.first(where: { predictions[$0] != labels[$0] && picture($0) == raster })
      let n = try #require(match, "every thumbnail is a misclassified test image")
      let p = y.data[n * 10 + predictions[n]]
      // Its p: the text just right of the thumbnail, on its middle line.
      var beside: [String] = []
      for t in canvas.texts where t.box.x >= rect.maxX - 0.01 && t.box.x <= rect.maxX + theme.gap && abs(t.box.midY - rect.midY) < 1 {
        beside.append(t.string)
      }
      // A crowded cell may show its thumbnails without p when there is no room for it (then
      // all of them), never with a wrong one.
      #expect(beside == [Figure.mistakeProbability(p)] || beside.isEmpty, "sample \(n + 1): p = \(p), written \(beside)")
      if !beside.isEmpty { labelled += 1 }
    }
    #expect(labelled > 0, "\(labelled) of \(canvas.images.count) thumbnails with their p")
    // On a slide a cell of one or two mistakes (every cell of the trained lesson) shows each with its p.
    if theme == .slide {
      let trained = try lessonSource("digits-mlp")
      let page = try record(try Catalogue.make(.mistakes, trained, options(theme))[0])
      for (_, rect) in page.images {
        #expect(page.texts.contains { $0.box.x >= rect.maxX - 0.01 && $0.box.x <= rect.maxX + theme.gap && abs($0.box.midY - rect.midY) < 1 }, "a trained digits-mlp thumbnail without p")
      }
    }
    #expect(Figure.mistakeProbability(0.5) == ".50" && Figure.mistakeProbability(0.994) == ".99" && Figure.mistakeProbability(0.996) == ">.99")
  }

  // MARK: overview

  @Test("overview writes every column's label above it, centred over its own column, a higher row's joined to it by a line",
        arguments: [("digits-cnn", Theme.slide), ("digits-cnn", .print), ("letters-cnn", .slide), ("test:small-cnn", .slide)])
  func overviewLabels(_ lesson: String, _ theme: Theme) throws {
    let source = try lessonSource(lesson, epochs: 1)
    let canvas = try record(try Catalogue.make(.overview, source, options(theme))[0])
    let names = ["input"] + source.model.layers.dropLast().map(\.name)
    let blocks = canvas.operations.compactMap { op -> Rect? in
      if case .fill(let path, let c) = op, c == Color(hex: 0xF3F3F3) { return path.bounds }
      return nil
    }
    try #require(blocks.count == names.count)
    let top = blocks.map(\.y).min()!
    let line = canvas.measure("Ag", style: theme.tick).height + 2 * theme.clearance
    // Vertical muted lines ending on a block's top.
    let leaders = canvas.operations.compactMap { op -> (x: Double, top: Double, bottom: Double)? in
      guard case .stroke(let path, let c, _, _) = op, c == Theme.muted, path.elements.count == 2,
            case .move(let a) = path.elements[0], case .line(let b) = path.elements[1], abs(a.x - b.x) < 1e-9 else { return nil }
      return (a.x, min(a.y, b.y), max(a.y, b.y))
    }
    for (k, name) in names.enumerated() {
      let label = try #require(canvas.texts(name).first { $0.style.bold }, "\(lesson): \(name) labelled")
      #expect(label.box.maxY <= top, "\(lesson) (\(theme.name)): \(name) is not above the blocks")
      let nearest = blocks.indices.min { abs(blocks[$0].midX - label.box.midX) < abs(blocks[$1].midX - label.box.midX) }!
      #expect(nearest == k, "\(lesson) (\(theme.name)): \(name) sits nearer column \(nearest + 1) than its own, \(k + 1)")
      // Not in the row just over the blocks (3 lines): a line from under it down to its block.
      if label.box.y < top - 3 * line - theme.gap {
        #expect(leaders.contains { abs($0.x - blocks[k].midX) < 0.01 && $0.top >= label.box.maxY && abs($0.bottom - top) <= theme.clearance * 2 },
                "\(lesson) (\(theme.name)): \(name) in a higher row without a line to its column")
      }
    }
    #expect(canvas.overlappingTexts().isEmpty)
  }

  // MARK: gradients-norms

  @Test("gradients draws the norms over training from three epochs on: Mazur's one step gets no two-dot page",
        arguments: [("mazur", nil as Int?, false), ("iris-mlp", 2, false), ("iris-mlp", 3, true)])
  func normsNeedThreeEpochs(_ lesson: String, _ epochs: Int?, _ drawn: Bool) throws {
    let source = try lessonSource(lesson, epochs: epochs)
    let history = source.run!.history
    #expect(history.epochs.count == (epochs ?? 1))
    let names = try Catalogue.make(.gradients, source, options()).map(\.name)
    #expect(names.contains("gradients-norms") == drawn, "\(lesson), \(history.epochs.count) epochs: \(names)")
    #expect(names.contains { $0.hasPrefix("gradients-step") }, "the step's gradients are still drawn: \(names)")
  }
}
