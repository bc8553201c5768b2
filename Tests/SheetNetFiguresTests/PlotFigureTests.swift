import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

// MARK: What was drawn, read back from a recording

/// A filled circle (a dot or a marker): its centre, radius and colour.
private func dots(_ canvas: RecordingCanvas, _ color: Color? = nil) -> [(center: Point, radius: Double, color: Color)] {
  canvas.operations.compactMap {
    guard case .fill(let path, let c) = $0, color == nil || c == color!, path.elements.count == 3,
          case .arc(let centre, let r, _, _) = path.elements[1] else { return nil }
    return (centre, r, c)
  }
}

/// Stroked circles: centre, radius, colour.
private func rings(_ canvas: RecordingCanvas) -> [(center: Point, radius: Double, color: Color)] {
  canvas.operations.compactMap {
    guard case .stroke(let path, let c, _, _) = $0, path.elements.count == 3, case .arc(let centre, let r, _, _) = path.elements[1] else { return nil }
    return (centre, r, c)
  }
}

/// Filled triangles (arrowheads): their tips (first point).
private func arrowheads(_ canvas: RecordingCanvas) -> [Point] {
  canvas.operations.compactMap {
    guard case .fill(let path, _) = $0, path.elements.count == 4, case .move(let tip) = path.elements[0],
          case .line = path.elements[1], case .line = path.elements[2], case .close = path.elements[3] else { return nil }
    return tip
  }
}

/// A lesson of Worksheets/ with a validation split, trained for `epochs`.
private func withValidation(_ name: String, epochs: Int) throws -> FigureSource {
  var lesson = try Lesson.load(packagePath("Worksheets/\(name).yaml"))
  lesson.data.validation = 0.2
  let run = try LessonRun(lesson)
  run.trainer.epochs = epochs
  try run.train()
  return FigureSource(run: run)
}

@Suite("Plots: training, activations, decision boundary, graph, architecture, mistakes, filmstrip")
struct PlotFigureTests {
  // MARK: training

  @Test("training draws training and validation per epoch, test once after the last epoch, from History's numbers")
  func trainingCurves() throws {
    let source = try withValidation("iris-mlp", epochs: 8)
    let history = source.run!.history.epochs
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    let mid = Theme.slide.size.width / 2
    let training = dots(canvas, Color(hex: 0x0072B2)).filter { $0.center.x < mid }.sorted { $0.center.x < $1.center.x }
    let validation = dots(canvas, Color(hex: 0xE69F00)).filter { $0.center.x < mid }.sorted { $0.center.x < $1.center.x }
    let test = dots(canvas, Color(hex: 0xD55E00)).filter { $0.center.x < mid }.sorted { $0.center.x < $1.center.x }
    // The test split is not looked at every epoch: one point, after the last.
    try #require(training.count == history.count && validation.count == history.count && test.count == 1)
    // One linear map from loss to y holds for every dot of both curves: the dots are History's losses.
    let (a, b) = (training.first!, training.last!)
    let slope = (b.center.y - a.center.y) / (history.last!.trainLoss - history.first!.trainLoss)
    func y(_ loss: Double) -> Double { a.center.y + slope * (loss - history.first!.trainLoss) }
    for (dot, record) in zip(training, history) { #expect(abs(dot.center.y - y(record.trainLoss)) < 0.01) }
    for (dot, record) in zip(validation, history) { #expect(abs(dot.center.y - y(record.validationLoss!)) < 0.01) }
    #expect(abs(test[0].center.y - y(history.last!.testLoss!)) < 0.01 && abs(test[0].center.x - b.center.x) < 0.01)
    // The names stand right of the plot, past every curve's end, each near its own end's height.
    for (name, last) in [("training", training.last!), ("validation", validation.last!), ("test", test[0])] {
      let label = canvas.texts(name).filter { $0.box.x < mid }
      try #require(label.count == 1, "\(name) is named once in the loss panel")
      #expect(label[0].box.x > last.center.x + last.radius)
      #expect(abs(label[0].box.midY - last.center.y) <= label[0].box.height * 2, "\(name) label far from its curve's end")
    }
    // The note says which loss is an epoch's mean and when the others are measured.
    let steps = (source.run!.split.train.count + 15) / 16
    #expect(canvas.texts.contains { $0.string.contains("training: the mean of each epoch's \(steps) batch losses") })
    #expect(canvas.texts.contains { $0.string.contains("validation: after each epoch") })
    #expect(canvas.texts.contains { $0.string.contains("test, once after training: loss \(NumberFormat.significant(history.last!.testLoss!, 3))") })
  }

  @Test("no curve label covers a curve: every label's box is clear of every line drawn", arguments: ["iris-mlp", "spiral", "overfitting"])
  func trainingLabelsClearOfCurves(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 12)
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    let names = canvas.texts.filter { ["training", "validation", "test"].contains($0.string) }
    #expect(names.count >= 2)
    let curveColors = [Color(hex: 0x0072B2), Color(hex: 0xE69F00), Color(hex: 0xD55E00)]
    for case .stroke(let path, let color, let width, _) in canvas.operations where curveColors.contains(color) && width >= Theme.slide.lineWidth {
      let points = path.elements.compactMap { e -> Point? in
        switch e {
        case .move(let p), .line(let p): return p
        default: return nil
        }
      }
      // Every point of every curve, and the segments between them sampled finely.
      for (p, q) in zip(points, points.dropFirst()) {
        for k in 0...20 {
          let t = Double(k) / 20, x = p.x + (q.x - p.x) * t, y = p.y + (q.y - p.y) * t
          for name in names { #expect(!name.box.contains(Point(x, y)), "\(lesson): “\(name.string)” covers a curve at (\(x), \(y))") }
        }
      }
    }
  }

  @Test("epoch ticks are whole numbers (10 epochs used to get 2.5, 5, 7.5)", arguments: [3, 7, 10, 25])
  func wholeEpochTicks(_ epochs: Int) throws {
    let history = (1...epochs).map { EpochRecord(epoch: $0, trainLoss: 1 / Double($0), trainAccuracy: 0.5, testLoss: 1.2 / Double($0), testAccuracy: 0.4) }
    for theme in Theme.all {
      let canvas = try record(Figure.trainingCurves(history, theme: theme, lesson: "t", classified: true))
      let titles = canvas.texts("epoch")
      try #require(titles.count == 2)
      for title in titles {
        // The tick labels: the row of texts (one baseline) just above the axis title.
        let near = canvas.texts.filter { $0.box.maxY <= title.box.y + 0.5 && $0.box.midY > title.box.y - title.box.height * 2.5 && abs($0.box.midX - title.box.midX) < Theme.slide.size.width / 4 }
        let rows = Dictionary(grouping: near) { ($0.box.y * 10).rounded() }
        let ticks = rows.values.max { $0.count < $1.count } ?? []
        #expect(ticks.count >= 2)
        for tick in ticks { #expect(Int(tick.string) != nil, "\(theme.name), \(epochs) epochs: tick “\(tick.string)”") }
      }
    }
  }

  @Test("a token lesson's training figure has a token-accuracy panel whose dots are History's token accuracies")
  func tokenAccuracy() throws {
    let source = try lessonSource("attention-reverse", epochs: 4)
    let history = source.run!.history.epochs
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    #expect(canvas.texts("token accuracy").count == 1, "the accuracy axis is named")
    #expect(canvas.texts.contains { $0.string.contains("token accuracy \(NumberFormat.percent(history.last!.testAccuracy!))") })
    let mid = Theme.slide.size.width / 2
    let training = dots(canvas, Color(hex: 0x0072B2)).filter { $0.center.x > mid }.sorted { $0.center.x < $1.center.x }
    try #require(training.count == history.count)
    // One linear map from accuracy to y holds for every dot: 0 % and 100 % are the axis's ends.
    let (a, b) = (training.first!, training.last!)
    let slope = (b.center.y - a.center.y) / (history.last!.trainAccuracy - history.first!.trainAccuracy)
    for (dot, record) in zip(training, history) {
      #expect(abs(dot.center.y - (a.center.y + slope * (record.trainAccuracy - history.first!.trainAccuracy))) < 0.01)
    }
    #expect(history.allSatisfy { $0.trainAccuracy > 0 && $0.trainAccuracy <= 1 })
  }

  @Test("one epoch of one step shows the loss before and after the step, from the engine")
  func mazurBeforeAfter() throws {
    let source = try lessonSource("mazur")
    let run = source.run!
    let before = run.history.epochs[0].trainLoss, after = run.evaluate(run.split.train).loss
    #expect(after < before)
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    let b = canvas.texts(NumberFormat.significant(before, 4)), a = canvas.texts(NumberFormat.significant(after, 4))
    try #require(b.count == 1 && a.count == 1, "\(canvas.texts.map(\.string))")
    // Each value stands on its bar, the lower loss on the lower bar, "before" left of "after".
    #expect(b[0].box.maxY < a[0].box.maxY && b[0].box.x < a[0].box.x)
    #expect(canvas.texts("before the step").count == 1 && canvas.texts("after the step").count == 1)
    #expect(dots(canvas).isEmpty, "no lone epoch dot on empty axes")
  }

  // MARK: activations

  @Test("activations draws exactly the network's functions, naming the layers that use them")
  func onlyTheNetworksFunctions() throws {
    let titles = ["ReLU", "LeakyReLU", "σ (sigmoid)", "tanh"]
    for (lesson, kind, expected) in [("xor", "σ (sigmoid)", "σ (sigmoid) in sigmoid1, sigmoid2"), ("digits-mlp", "ReLU", "ReLU in relu1")] {
      let canvas = try record(try Catalogue.make(.activations, try lessonSource(lesson, epochs: 1), options())[0])
      #expect(canvas.texts(expected).count == 1, "\(lesson): \(canvas.texts.map(\.string))")
      for other in titles where other != kind {
        #expect(!canvas.texts.contains { $0.string == other || $0.string.hasPrefix(other + " in") || $0.string.hasPrefix(other + ",") }, "\(lesson) draws \(other)")
      }
    }
  }

  @Test("a network with none of the four functions is refused, pointing at a kind that draws it")
  func noActivations() throws {
    let source = try lessonSource("test:linear", epochs: 0)
    #expect(throws: FigureError.self) { try Catalogue.check(.activations, source, options()) }
    try Catalogue.check(.architecture, source, options())
  }

  @Test("the histogram has a count axis; panels share one z range; f′ is far from the dots' colour")
  func histogramAxisAndColours() throws {
    let source = try lessonSource("xor")
    let canvas = try record(try Catalogue.make(.activations, source, options())[0])
    let count = canvas.texts("count")
    try #require(count.count == 1)
    #expect(count[0].style.vertical)
    // Whole-number tick labels beside the histogram (level with it, left of its axis).
    let ticks = canvas.texts.filter { Int($0.string) != nil && $0.box.maxX < count[0].box.maxX + 80 && abs($0.box.midY - count[0].box.midY) < 80 }
    #expect(Set(ticks.map(\.string)).count >= 2, "\(ticks.map(\.string))")
    // The tallest bin reaches no higher than the top tick.
    let z = source.model.layers.compactMap { $0 as? Sigmoid }.flatMap { $0.z.data }
    #expect((ticks.compactMap { Int($0.string) }.max() ?? 0) >= 1 && z.count == 12)

    // Two kinds with different z spreads: both panels get the same x tick labels.
    let marks = ["relu": Figure.Marks(layers: ["relu1"], z: (0..<200).map { Double($0) / 10 - 2 }),
                 "tanh": Figure.Marks(layers: ["tanh1"], z: (0..<200).map { Double($0) / 100 - 1 })]
    let two = try record(Figure.activationCurves(theme: .slide, marks: marks, lesson: true))
    let relu = two.texts("ReLU in relu1")[0].box, tanh = two.texts("tanh in tanh1")[0].box
    let numbers = two.texts.filter { Double($0.string.replacingOccurrences(of: "−", with: "-")) != nil }
    let left = Set(numbers.filter { $0.box.midX < (relu.maxX + tanh.x) / 2 && abs($0.box.midY - numbers.map(\.box.midY).max()!) < 1 }.map(\.string))
    let right = Set(numbers.filter { $0.box.midX > (relu.maxX + tanh.x) / 2 && abs($0.box.midY - numbers.map(\.box.midY).max()!) < 1 }.map(\.string))
    #expect(!left.isEmpty && left == right, "\(left) vs \(right)")

    // f′'s line colour is at least half the RGB cube's diagonal away from the dots' vermillion.
    let dashed = canvas.operations.compactMap { op -> Color? in
      if case .stroke(_, let c, _, let dash) = op, !dash.isEmpty { return c }
      return nil
    }
    try #require(!dashed.isEmpty)
    for c in Set(dashed) {
      let d = abs(c.r - Theme.accent.r) + abs(c.g - Theme.accent.g) + abs(c.b - Theme.accent.b)
      #expect(d > 0.8, "f′ colour \(c) is too close to the vermillion dots")
    }
  }

  // MARK: decision boundary

  @Test("the decision boundary's legend rings held-out points (a stroke), and its regions are fine enough for scale 4")
  func decisionBoundaryLegendAndResolution() throws {
    let source = try lessonSource("spiral", epochs: 20)
    for theme in Theme.all {
      let canvas = try record(try Catalogue.make(.decisionBoundary, source, options(theme))[0])
      let label = canvas.texts("ringed: held out")
      try #require(label.count == 1)
      let beside = { (p: Point) in p.x < label[0].box.x && p.x > label[0].box.x - theme.tickSize * 2.5 && abs(p.y - label[0].box.midY) < theme.tickSize }
      #expect(rings(canvas).contains { beside($0.center) }, "no ring beside the label")
      #expect(!dots(canvas).contains { beside($0.center) }, "a filled dot beside the label")
      // The regions: at least two samples a point of the drawn plane (or the 512 cap).
      let plane = canvas.images.max { $0.raster.width < $1.raster.width }!
      #expect(Double(plane.raster.width) >= min(512, 2 * plane.rect.width), "\(plane.raster.width) samples over \(plane.rect.width) pt")
    }
  }

  // MARK: graph

  @Test("graph edges end at distinct points in arrowheads; the loss's symbol is the same everywhere")
  func graphEdgesAndSymbol() throws {
    for (lesson, symbol) in [("mazur", "E"), ("xor", "L")] {
      let canvas = try record(try Catalogue.make(.graph, try lessonSource(lesson), options())[0])
      let tips = arrowheads(canvas)
      #expect(tips.count >= 10)
      for i in tips.indices {
        for j in tips.indices where j > i {
          #expect(abs(tips[i].x - tips[j].x) + abs(tips[i].y - tips[j].y) > 1, "\(lesson): two edges end at \(tips[i])")
        }
      }
      // The loss column's header, the loss node and every gradient use one symbol.
      let header = canvas.texts.filter { $0.string.contains("Σ ½") || $0.string.contains("cross-entropy") || $0.string.contains("mean (") }
      try #require(header.count == 1)
      #expect(header[0].string.hasPrefix(symbol))
      #expect(canvas.texts.contains { $0.string.hasPrefix("\(symbol) = ") })
      let gradients = canvas.texts.filter { $0.string.hasPrefix("∂") }
      #expect(!gradients.isEmpty && gradients.allSatisfy { $0.string.hasPrefix("∂\(symbol)") }, "\(lesson): \(gradients.map(\.string))")
    }
  }

  @Test("xor's graph is the lesson's real step 1: its batch of 4, momentum's v, the batch's ∂L/∂W and W′ as the engine traced them", arguments: [1, 3])
  func graphRealStep(_ sample: Int) throws {
    let source = try lessonSource("xor", epochs: 0)
    var o = options()
    o.sample = sample
    o.given = [.sample]
    let canvas = try record(try Catalogue.make(.graph, source, o)[0])
    // Step 1 as the engine trains it, traced from a fresh run (what `gradients` and `sheetnet trace` show).
    let point = TracePoint(step: 1, tracer: Tracer())
    try LessonRun(source.lesson, seed: source.run!.seed).train(trace: point)
    let tracer = point.tracer!, batch = try #require(point.location?.indices)
    #expect(batch.count == 4)
    func below(_ label: RecordingCanvas.PlacedText) -> [String] {
      canvas.texts.filter { abs($0.box.x - label.box.x) < 0.5 && $0.box.y > label.box.y + 1 && $0.box.y < label.box.y + label.box.height * 1.8 }
        .sorted { $0.box.y < $1.box.y }.map(\.string)
    }
    for layer in ["dense1", "dense2"] {
      let w = try #require(tracer.entry("\(layer).forward.W")?.value), dW = try #require(tracer.entry("\(layer).backward.dW")?.value)
      let updated = try #require(tracer.entry("\(layer).update.W")?.value), v = try #require(tracer.entry("\(layer).update.W.v")?.value)
      let l = layer == "dense1" ? "¹" : "²"
      for k in 0..<w.count {
        let name = "W\(l)" + elementLabel("", w.shape, k, batch: false)
        let label = canvas.texts("\(name) = \(NumberFormat.shortest(w.data[k], significant: 4)) → \(NumberFormat.shortest(updated.data[k], significant: 4))")
        try #require(label.count == 1, "\(name): \(canvas.texts.filter { $0.string.hasPrefix(name) }.map(\.string))")
        #expect(below(label[0]) == ["∂L = \(NumberFormat.significant(dW.data[k], 4)), v = \(NumberFormat.significant(v.data[k], 4))"], "\(name)")
      }
    }
    // The flow is the chosen sample's row of the batch.
    let x = try #require(tracer.entry("input.forward.x")?.value)
    for i in 0..<2 { #expect(canvas.texts("x\(subscripted(i + 1)) = \(NumberFormat.shortest(x.data[(sample - 1) * 2 + i], significant: 4))").count == 1) }
    #expect(canvas.texts("L = \(NumberFormat.shortest(point.loss!, significant: 4))").count == 1)
    // This sample's own loss under L, by hand: −[t·log a + (1 − t)·log(1 − a)].
    let a = tracer.entry("sigmoid2.forward.a")!.value.data[sample - 1], t = tracer.entry("loss.t")!.value.data[sample - 1]
    #expect(canvas.texts("this sample: \(NumberFormat.shortest(-(t * log(a) + (1 - t) * log(1 - a)), significant: 4))").count == 1)
    #expect(canvas.texts.contains { $0.string.contains("momentum (η = 0.5, β = 0.9)") && $0.string.contains("a batch of samples") })
    #expect(canvas.texts.contains { $0.string.contains("training sample \(batch[sample - 1] + 1)") })
    // The old figure's step, sample 1 alone, has another gradient: the two cannot be confused.
    let alone = TracePoint(step: 1, tracer: Tracer(), indices: [batch[0]])
    try LessonRun(source.lesson, seed: source.run!.seed).train(trace: alone)
    let dWalone = alone.tracer!.entry("dense1.backward.dW")!.value, dWbatch = tracer.entry("dense1.backward.dW")!.value
    #expect(zip(dWalone.data, dWbatch.data).contains { abs($0 - $1) > 1e-6 })
  }

  // MARK: architecture

  @Test("digits-mlp's architecture draws at most 16 neurons a layer with … and the sizes, edges by |w|, and a PNG under 1 MB")
  func denseArchitecture() throws {
    let source = try lessonSource("digits-mlp", epochs: 1)
    let figure = try Catalogue.make(.architecture, source, options())[0]
    let canvas = try record(figure)
    let neurons = rings(canvas).filter { $0.color == Theme.ink }
    let columns = Dictionary(grouping: neurons) { Int($0.center.x.rounded()) }
    #expect(columns.count == 3)
    #expect(columns.values.allSatisfy { $0.count <= 16 }, "\(columns.values.map(\.count))")
    #expect(canvas.texts("…").count == 2)
    #expect(canvas.texts("64 inputs").count == 1 && canvas.texts("64 units · ReLU").count == 1 && canvas.texts("10 units · softmax").count == 1)
    // Edges: the widest (strongest) opaque, the thinnest faint.
    let edges = canvas.operations.compactMap { op -> (width: Double, alpha: Double)? in
      if case .stroke(let path, let c, let w, _) = op, path.elements.count == 2, c != Theme.ink { return (w, c.a) }
      return nil
    }
    #expect(edges.count > 16 && edges.count <= 16 * 16 + 16 * 10)
    #expect(edges.max { $0.width < $1.width }!.alpha == 1)
    #expect(edges.min { $0.width < $1.width }!.alpha < 0.5)
    let png = try FigureFile.render(figure, as: .png, scale: 2)
    #expect(png.count < 1_000_000, "\(png.count) bytes")
  }

  @Test("conv networks up to tiny-vgg's nine blocks stay in one row", arguments: ["test:small-cnn", "digits-cnn", "tiny-vgg"])
  func blocksInOneRow(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    for theme in Theme.all {
      let canvas = try record(try Catalogue.make(.architecture, source, options(theme, trained: false))[0])
      let blocks = canvas.operations.compactMap { op -> Rect? in
        if case .fill(let path, _) = op, case .arc = path.elements.first { return path.bounds }
        return nil
      }.filter { $0.height > theme.size.height * 0.3 }
      #expect(blocks.count >= 6)
      #expect(Set(blocks.map { Int($0.y.rounded()) }).count == 1, "\(lesson) (\(theme.name)): blocks on several rows")
      #expect(blocks.allSatisfy { $0.maxX <= theme.size.width - theme.margin + 0.5 })
    }
  }

  @Test("a network too long for one row (tiny-gpt's two transformer blocks) wraps onto two rows, broken between residual blocks, read in order")
  func blocksWrap() throws {
    let source = try lessonSource("tiny-gpt", epochs: 0)
    let names = ["input", "embedding1", "attention1", "dense1", "dense2", "attention2", "dense3", "dense4", "dense5"]
    for theme in Theme.all {
      let figure = try Catalogue.make(.architecture, source, options(theme, trained: false))[0]
      try expectReadable(figure, theme)
      let canvas = try record(figure)
      let drawn = canvas.texts.filter { $0.style.bold && names.contains($0.string) }
      #expect(Set(drawn.map { Int($0.box.y.rounded()) }).count == 2, "\(theme.name): the blocks are not on two rows")
      #expect(drawn.sorted { ($0.box.y, $0.box.x) < ($1.box.y, $1.box.x) }.map(\.string) == names)
      // The four residual frames (dashed), each within one row.
      let frames = canvas.operations.compactMap { op -> Rect? in
        if case .stroke(let path, _, _, let dash) = op, !dash.isEmpty { return path.bounds }
        return nil
      }
      #expect(frames.count == 4 && frames.allSatisfy { $0.height < theme.size.height / 2 }, "\(theme.name): \(frames)")
    }
  }

  // MARK: mistakes

  @Test("mistakes draws each misclassified test image inside its (true, predicted) cell, as the engine predicts")
  func mistakes() throws {
    let source = try lessonSource("digits-mlp", epochs: 2)
    let run = source.run!
    let test = run.split.test!
    let predictions = run.evaluate(test).predictions
    let scale = ColorScale.linear(test.x.data)
    func picture(_ n: Int) -> Raster { Raster(values: Array(test.x.data[n * 64..<(n + 1) * 64]), width: 8, colormap: .greys, scale: scale) }
    for theme in Theme.all {
      let canvas = try record(try Catalogue.make(.mistakes, source, options(theme))[0])
      // The class names along the top (columns) and down the left (rows) locate the cells.
      let names = (0..<10).map(String.init)
      let tops = names.map { n in canvas.texts(n).min { $0.box.y < $1.box.y }! }
      let lefts = names.map { n in canvas.texts(n).min { $0.box.x < $1.box.x }! }
      let step = (tops[9].box.midX - tops[0].box.midX) / 9, rowStep = (lefts[9].box.midY - lefts[0].box.midY) / 9
      func cell(_ p: Point) -> (row: Int, column: Int) {
        (Int(((p.y - lefts[0].box.midY) / rowStep).rounded()), Int(((p.x - tops[0].box.midX) / step).rounded()))
      }
      var drawn: [Int: Int] = [:]  // cell → thumbnails
      for (raster, rect) in canvas.images {
        let (t, p) = cell(rect.center)
        #expect(t != p)
        let candidates = test.labels!.indices.filter { test.labels![$0] == t && predictions[$0] == p }
        #expect(candidates.contains { picture($0) == raster }, "a thumbnail in cell (\(t), \(p)) is none of that cell's mistakes")
        // Wholly inside its cell.
        #expect(abs(rect.midX - (tops[0].box.midX + Double(p) * step)) + rect.width / 2 <= step / 2 + 0.5)
        #expect(abs(rect.midY - (lefts[0].box.midY + Double(t) * rowStep)) + rect.height / 2 <= rowStep / 2 + 0.5)
        drawn[t * 10 + p, default: 0] += 1
      }
      for t in 0..<10 {
        for p in 0..<10 {
          let n = test.labels!.indices.filter { test.labels![$0] == t && predictions[$0] == p }.count
          if t == p {
            let c = Point(tops[0].box.midX + Double(p) * step, lefts[0].box.midY + Double(t) * rowStep)
            #expect(canvas.texts(String(n)).contains { abs($0.box.midX - c.x) < 1 && abs($0.box.midY - c.y) < 1 }, "diagonal (\(t), \(t)) count \(n)")
          } else if n > (drawn[t * 10 + p] ?? 0) {
            // The rest are counted: "+N" with N the ones not drawn.
            let rest = n - (drawn[t * 10 + p] ?? 0)
            #expect(canvas.texts("+\(rest)").contains { cell($0.box.center) == (t, p) }, "(\(t), \(p)): \(n) mistakes, no +\(rest)")
          }
        }
      }
      #expect(drawn.values.reduce(0, +) > 0)
    }
  }

  // MARK: filmstrip

  @Test("filmstrip's epoch-0 column is the initial network's regions, its last the trained network's")
  func filmstrip() throws {
    let source = try lessonSource("xor")  // trained for the lesson's 1,000 epochs, as the filmstrip
    let run = source.run!
    let canvas = try record(try Catalogue.make(.filmstrip, source, options())[0])
    let regions = canvas.images.filter { $0.raster.width > 64 }.sorted { $0.rect.x < $1.rect.x }
    try #require(regions.count == 4)
    let chosen = Figure.filmstripDefaultEpochs(run.history.epochs.map(\.trainLoss))
    #expect(chosen.count == 4 && chosen.first == 0 && chosen.last == 1000)
    #expect(chosen.map { $0 == 0 ? "epoch 0 (initial)" : "epoch \(NumberFormat.integer($0))" }.allSatisfy { !canvas.texts($0).isEmpty })
    // The regions as the decision-boundary figure defines them, from the engine's outputs.
    func expected(_ model: Sequential, _ g: Int) -> Raster {
      let xs = (0..<run.split.train.count).map { run.split.train.x.data[$0 * 2] }, ys = (0..<run.split.train.count).map { run.split.train.x.data[$0 * 2 + 1] }
      let pad = { (lo: Double, hi: Double) in (lo - 0.1 * (hi - lo), hi + 0.1 * (hi - lo)) }
      let (x0, x1) = pad(xs.min()!, xs.max()!), (y0, y1) = pad(ys.min()!, ys.max()!)
      var data: [Double] = []
      for r in 0..<g {
        for c in 0..<g { data += [x0 + (x1 - x0) * (Double(c) + 0.5) / Double(g), y1 - (y1 - y0) * (Double(r) + 0.5) / Double(g)] }
      }
      let a = model.predict(Tensor(shape: [g * g, 2], data: data))
      return Raster(width: g, height: g, pixels: a.data.map { out in
        let p = [1 - out, out]
        let k = p[1] > p[0] ? 1 : 0
        return Color.white.mixed(with: ClassColors.color(k), 0.12 + 0.5 * max(0, (p[k] - 0.5) / 0.5))
      })
    }
    let initial = try LessonRun(run.lesson, seed: run.seed).model
    #expect(regions[0].raster == expected(initial, regions[0].raster.width))
    #expect(regions[3].raster == expected(run.model, regions[3].raster.width))
  }

  @Test("the default epochs are where the loss drop passes a third and two thirds of the whole drop")
  func filmstripDefaultEpochs() {
    // L₁ = 1, min 0.1: the drop passes 0.3 at epoch 4 (0.5) and 0.6 at epoch 5 (0.2).
    #expect(Figure.filmstripDefaultEpochs([1, 1, 0.9, 0.5, 0.2, 0.1, 0.1]) == [0, 4, 5, 7])
    // One sudden drop: the second column is the next epoch after the first that passes two thirds.
    #expect(Figure.filmstripDefaultEpochs([1, 1, 0.1, 0.1, 0.1]) == [0, 3, 4, 5])
    // A loss that never falls: evenly spaced.
    #expect(Figure.filmstripDefaultEpochs([1, 1, 1, 1, 1, 1]) == [0, 2, 4, 6])
    #expect(Figure.filmstripDefaultEpochs([0.7]) == [0, 1])
  }

  @Test("xor's default frames differ: each column's loss is at least a sixth of the whole drop from the next (0, 1, 10 were alike)")
  func filmstripFramesDiffer() throws {
    let source = try lessonSource("xor")
    let canvas = try record(try Catalogue.make(.filmstrip, source, options())[0])
    let losses = canvas.texts.filter { $0.string.hasPrefix("loss ") }.sorted { $0.box.x < $1.box.x }.compactMap { Double($0.string.dropFirst(5)) }
    try #require(losses.count == 4)
    let drop = losses[0] - losses[3]
    #expect(drop > 0.3)
    for (a, b) in zip(losses, losses.dropFirst()) { #expect(a - b > drop / 6, "\(losses)") }
  }

  @Test("--epochs is checked: range, count, repeats", arguments: [
    ([0, 1001], "between 0 and 1000"), ([-1], "between 0 and 1000"), ([0, 1, 2, 3, 4, 5, 6], "at most 6"), ([10, 1, 10], "twice"), ([], "at least one"),
  ])
  func filmstripEpochs(_ epochs: [Int], _ phrase: String) throws {
    let source = try lessonSource("xor", epochs: 0)
    var o = options()
    o.epochs = epochs
    o.given = [.epochs]
    do {
      try Catalogue.check(.filmstrip, source, o)
      Issue.record("\(epochs) accepted")
    } catch {
      #expect(error.description.contains(phrase), "\(error.description)")
      #expect(!error.description.contains("\n"))
      if case .option = error {} else { Issue.record("not an option error: \(error)") }
    }
    o.epochs = [0, 5, 1000]
    try Catalogue.check(.filmstrip, source, o)
  }

  // MARK: refusals

  /// Every refusal that names another kind names one that draws the lesson.
  @Test("a refusal suggests only kinds that accept the lesson", arguments: LayoutRulesTests.lessons.map(\.0))
  func refusalsSuggestKindsThatApply(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    for kind in FigureKind.allCases {
      do {
        try Catalogue.check(kind, source, options())
      } catch {
        let words = Set(error.description.split { !($0.isLetter || $0.isNumber || $0 == "-") }.map(String.init))
        for other in FigureKind.allCases where other != kind && words.contains(other.rawValue) {
          do {
            try Catalogue.check(other, source, options())
          } catch let refusal {
            Issue.record("\(kind.rawValue) refuses \(lesson) suggesting \(other.rawValue), which refuses it too: \(refusal.description)")
          }
        }
      }
    }
  }
}
