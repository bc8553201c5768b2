import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Gradients, filters and graph: the numbers drawn are the engine's")
struct GradientFigureTests {
  @Test("the graph of Mazur's step shows his published numbers (4 significant digits)")
  func mazurGraph() throws {
    let source = try lessonSource("mazur", epochs: 0)
    let canvas = try record(try Catalogue.make(.graph, source, options())[0])
    let strings = Set(canvas.texts.map(\.string))
    // Mazur (2015): net_h1 = 0.3775, out_h1 = 0.593269992, out_o1 = 0.75136507, E = 0.298371109,
    // ∂E/∂w5 = 0.082167041, w5⁺ = 0.35891648, w1⁺ = 0.149780716.
    // Mazur's loss is E (half_sse), and the graph names it so throughout.
    for s in ["z¹₁ = 0.3775", "a¹₁ = 0.5933", "a²₁ = 0.7514", "E = 0.2984", "W²₁,₁ = 0.4 → 0.3589", "∂E = 0.08217",
              "W¹₁,₁ = 0.15 → 0.1498", "∂E = 4.386×10⁻⁴", "t₁ = 0.01"] {
      #expect(strings.contains(s), "missing \(s)")
    }
  }

  /// A token network small enough to work by hand: by default 3 tokens, d = 2, one causal head.
  static func tinyTokens(data: String = "{dataset: sequences, task: reverse, length: 2, vocabulary: 3, count: 30}",
                         network: [String] = ["{type: embedding, size: 2}", "{type: self_attention, heads: 1, causal: true}", "{type: dense, units: 3}", "softmax"]) throws -> FigureSource {
    let layers = network.map { "  " + ($0.hasPrefix(" ") ? $0 : "- " + $0) }.joined(separator: "\n")
    let lesson = try Lesson.parse("""
      data: \(data)
      network:
      \(layers)
      loss: token_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.5}
      train: {epochs: 1, batch_size: 10}
      """, path: "tiny.yaml")
    let run = try LessonRun(lesson)
    try run.train()
    return FigureSource(run: run)
  }

  @Test("a tiny token network's graph: each token's vector and ∂L/∂ of it are the engine's traced step 1 (its batch), L and p(t) too", arguments: [1, 2])
  func sequenceGraph(_ sample: Int) throws {
    let source = try Self.tinyTokens()
    var o = options()
    o.sample = sample
    let canvas = try record(try Catalogue.make(.graph, source, o)[0])
    // The engine's own step 1 as training takes it (a batch of 10 sequences), traced from a fresh run.
    let point = TracePoint(step: 1, tracer: Tracer())
    try LessonRun(source.lesson, seed: source.run!.seed).train(trace: point)
    let tracer = point.tracer!
    let batch = try #require(point.location?.indices)
    #expect(batch.count == 10)
    let n = sample - 1  // the sequence's place in the batch
    #expect(canvas.texts.contains { $0.string.contains("training sequence \(batch[n] + 1)") })
    let text = { (v: Double) -> String in
      guard abs(v) < 0.1 else { return NumberFormat.shortest(v, significant: 2) }
      let s = NumberFormat.shortest((v * 1000).rounded() / 1000, significant: 2)
      return s == "−0" ? "0" : s
    }
    // Columns: embedding1 (a, δ), attention1 (y, δ), dense1 (z, δ = ∂L/∂z, the loss fused with the softmax).
    let entries = [("embedding1", "a"), ("attention1", "y"), ("dense1", "z")]
    let nodes = canvas.operations.compactMap { op -> Rect? in
      if case .fill(let path, let c) = op, c == Color(hex: 0xF2F2F2) { return path.bounds }
      return nil
    }
    #expect(nodes.count == 3 * entries.count)
    guard nodes.count == 3 * entries.count else { return }
    for (c, (layer, key)) in entries.enumerated() {
      let value = try #require(tracer.entry("\(layer).forward.\(key)")?.value), delta = try #require(tracer.entry("\(layer).backward.delta")?.value)
      let d = value.count / (3 * batch.count)
      for k in 0..<3 {
        let inside = canvas.texts.filter { nodes[c * 3 + k].contains($0.box, tolerance: 0.5) }.sorted { $0.box.midY < $1.box.midY }
        let values = inside.filter { $0.style.color == Theme.ink }.map(\.string), grads = inside.filter { $0.style.color == Theme.muted }.map(\.string)
        #expect(values == (0..<d).map { text(value.data[(n * 3 + k) * d + $0]) }, "\(layer), token \(k + 1)")
        #expect(grads == (0..<d).map { text(delta.data[(n * 3 + k) * d + $0]) }, "\(layer), token \(k + 1): ∂L/∂")
      }
    }
    #expect(canvas.texts("L = \(NumberFormat.shortest(point.loss!, significant: 3))").count == 1)
    // reverse with L = 2: position 1 is masked, positions 2 and 3 scored; p(t) is the softmax's.
    #expect(canvas.texts("not scored").count == 1)
    let p = try #require(tracer.entry("softmax1.forward.a")?.value), t = try #require(tracer.entry("loss.t")?.value)
    for k in 1..<3 {
      let target = Int(t.data[n * 3 + k])
      #expect(canvas.texts("p(\(target)) = \(NumberFormat.shortest(p.data[(n * 3 + k) * 3 + target], significant: 2))").count >= 1, "position \(k + 1)")
    }
    // Attention's edges: query i reads keys 1…i (causal), 1 + 2 + 3 = 6 curves into its column.
    let attentionX = nodes[3].x
    let into = canvas.operations.filter { op in
      if case .stroke(let path, _, _, _) = op, case .curve(_, _, let end)? = path.elements.last { return abs(end.x + Theme.slide.tickSize * 0.45 - attentionX) < 3 }
      return false
    }
    #expect(into.count == 6)
  }

  @Test("the token graph keeps the layout rules at its limits (a residual block, d = 4; 4 tokens of 3)", arguments: [Theme.slide, .print])
  func sequenceGraphLayout(_ theme: Theme) throws {
    let block = try Self.tinyTokens(network: ["{type: embedding, size: 4}", "residual:", "    - {type: self_attention, heads: 2, causal: true}",
                                              "{type: dense, units: 3}", "softmax"])
    let long = try Self.tinyTokens(data: "{dataset: text, text: abcabcbacbcacabbcaacbbac, context: 4, stride: 1}",
                                   network: ["{type: embedding, size: 3}", "{type: self_attention, heads: 1, causal: true}", "{type: dense, units: 3}", "softmax"])
    #expect(long.model.inputShape == [4])
    for source in [try Self.tinyTokens(), block, long] {
      try expectReadable(try Catalogue.make(.graph, source, options(theme))[0], theme)
    }
    let canvas = try record(try Catalogue.make(.graph, block, options(theme))[0])
    #expect(canvas.texts("⊕ residual1").count == 1 && canvas.texts("x + f(x)").count == 1)
  }

  @Test("the first-step grids write the traced ∂L/∂W in their own cells")
  func firstStepGrids() throws {
    let source = try lessonSource("mazur", epochs: 0)
    let pages = try Catalogue.make(.gradients, source, options(trained: false))
    #expect(pages.map(\.name) == ["gradients-saliency", "gradients-step"])
    let canvas = try record(pages[1])
    let tracer = Tracer()
    try LessonRun(source.lesson).train(trace: TracePoint(step: 1, tracer: tracer))
    let dW = tracer.entry("output.backward.dW")!.value
    // The ∂L/∂W map of the second row: the fifth 2×2 raster drawn.
    let grids = canvas.images.filter { $0.raster.width == 2 && $0.raster.height == 2 }
    #expect(grids.count == 6)
    let rect = grids[4].rect
    for i in 0..<4 {
      let cell = Rect(x: rect.x + Double(i % 2) * rect.width / 2, y: rect.y + Double(i / 2) * rect.height / 2, width: rect.width / 2, height: rect.height / 2)
      let label = NumberFormat.significant(dW.data[i], 2)
      #expect(canvas.texts(label).contains { cell.contains($0.box) }, "∂L/∂W element \(i) = \(label)")
    }
  }

  /// Smooth lessons only: ReLU zeros tie in max-pooling windows (digits-cnn), where the score has
  /// kinks and central differences split the gradient between the tied inputs.
  @Test("saliency |∂z_c/∂x| (the predicted class's score) agrees with central differences of that score", arguments: ["iris-mlp", "spiral"])
  func saliency(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 2)
    let run = source.run!
    let data = run.split.test!
    let x = data.x.gathering(rows: [0])
    let (dx, y) = Figure.saliencyValues(source.model, x)
    let c = Figure.predictedClasses(y, model: source.model)[0]
    let step = Step(training: false)
    func score(_ x: Tensor) -> Double {
      var z = x
      for layer in source.model.layers.dropLast() { z = layer.forward(z, step) }  // before softmax
      return z.data[c]
    }
    let h = 1e-5
    for i in stride(from: 0, to: x.count, by: max(1, x.count / 8)) {
      var up = x, down = x
      up.data[i] += h
      down.data[i] -= h
      let numeric = abs((score(up) - score(down)) / (2 * h))
      #expect(abs(numeric - dx.data[i]) <= 1e-6 + 1e-4 * numeric, "x[\(i)]: numeric \(numeric), backward \(dx.data[i])")
    }
  }

  /// Fails on |∂L/∂x|: once p ≈ 100 % (two epochs of digits-cnn are enough) the loss's gradient
  /// is (p − t)·∂z/∂x ≈ 0 and most maps read 10⁻⁵ to 10⁻⁸ of the largest; the class score's does not.
  @Test("a trained digits-cnn's saliency maps are not flat: every map's largest value is at least 1 % of the largest of all")
  func saliencyNotFlat() throws {
    let source = try lessonSource("digits-cnn", epochs: 4)
    let run = source.run!
    let data = run.evaluationSet.data
    let canvas = try record(try Catalogue.make(.gradients, source, options())[0])
    #expect(canvas.texts.contains { $0.string.hasPrefix("Saliency |∂z/∂x| of the predicted class's score") })
    #expect(!canvas.texts.contains { $0.string.hasPrefix("≈ 0") }, "no map marked ≈ 0")
    // The same on the first 40 test digits, four at a time as the page draws them, against the loss's gradient.
    var lossFlat = 0
    for start in stride(from: 0, to: 40, by: 4) {
      let rows = Array(start..<start + 4)
      let x = data.x.gathering(rows: rows), t = data.targets(outputs: 10).gathering(rows: rows)
      let dzdx = Figure.saliencyValues(source.model, x).0
      let peaks = (0..<4).map { r in dzdx.data[r * 64..<(r + 1) * 64].max()! }
      #expect(peaks.min()! >= 0.01 * peaks.max()!, "digits \(start + 1)–\(start + 4): peaks \(peaks)")
      // ∂L/∂x of the same four, for contrast: the figure's old quantity.
      let step = Step(training: false)
      let out = source.model.forward(x, step)
      let (delta, skips) = run.loss.gradient(output: out, target: t, last: source.model.layers.last)
      let dLdx = Figure.inputGradient(source.model, end: source.model.layers.count - (skips ? 1 : 0), delta, step)
      let lossPeaks = (0..<4).map { r in dLdx.data[r * 64..<(r + 1) * 64].map(abs).max()! }
      if lossPeaks.min()! < 0.01 * lossPeaks.max()! { lossFlat += 1 }
    }
    #expect(lossFlat >= 5, "the loss's gradient is flat for most groups of four (\(lossFlat) of 10), so this test could fail")
  }

  @Test("iris's saliency bars are named by the four measurements")
  func saliencyFeatureNames() throws {
    let source = try lessonSource("iris-mlp", epochs: 5)
    let canvas = try record(try Catalogue.make(.gradients, source, options())[0])
    for name in ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"] {
      #expect(canvas.texts(name).count == 1, "\(name)")
    }
    #expect(canvas.texts("x₁").isEmpty)
  }

  /// Fails on plain pixel ascent, whose letters scored 39–59 against class means of 1–7 and
  /// looked like none of them (digits-cnn about 5 of 10).
  @Test("class images under the training images' prior are recognisable: the network's own class and r ≥ 0.5 with the class's mean image, for most classes",
        arguments: [("digits-cnn", 4), ("letters-cnn", 2)])
  func classImagesRecognisable(_ lesson: String, _ epochs: Int) throws {
    let source = try lessonSource(lesson, epochs: epochs)
    let model = source.model, run = source.run!
    let ascent = Figure.Ascent()
    let result = Figure.classImages(run, model, ascent: ascent)
    let passed = (0..<10).filter { result.recognisable($0, threshold: ascent.recognisable) }
    #expect(passed.count >= 7, "\(lesson): \(passed.count) of 10 recognisable; likeness \(result.likeness ?? []), predicted \(result.predicted)")
    // The scores are the engine's, and each image beats the average image on its class's score.
    let x = Tensor(shape: [10] + model.inputShape, data: result.images.flatMap { $0 })
    #expect(zip(Figure.classScores(model, x), result.scores).allSatisfy { abs($0 - $1) <= 1e-9 * max(1, abs($1)) })
    let lo = run.split.train.x.data.min()!, hi = run.split.train.x.data.max()!
    #expect(x.data.allSatisfy { $0 >= lo && $0 <= hi }, "the images stay in the data's range")
    let n = model.inputShape.reduce(1, *)
    let average = (0..<n).map { i in (0..<run.split.train.count).map { run.split.train.x.data[$0 * n + i] }.reduce(0, +) / Double(run.split.train.count) }
    let flat = Figure.classScores(model, Tensor(shape: [10] + model.inputShape, data: Array((0..<10).map { _ in average }.joined())))
    for k in 0..<10 { #expect(result.scores[k] > flat[k], "class \(k): \(result.scores[k]) against the average image's \(flat[k])") }
    // The page: the count in the subtitle, each class's image and its three best training images.
    let canvas = try record(try Catalogue.make(.filters, source, options())[1])
    #expect(canvas.texts.contains { $0.string.hasPrefix("\(passed.count) of 10 recognisable") })
    let (_, h, w) = Figure.imageShape(model.inputShape)!
    let scale = ColorScale(lower: lo, upper: hi)
    let images = canvas.images.filter { $0.raster.width == w && $0.raster.height == h }
    #expect(images.count == 10 * (1 + ascent.examples))
    guard images.count == 10 * (1 + ascent.examples) else { return }
    for k in 0..<10 {
      let group = images[(k * (1 + ascent.examples))..<((k + 1) * (1 + ascent.examples))].map(\.raster)
      #expect(group[0] == Raster(values: result.images[k], width: w, colormap: .greys, scale: scale), "class \(k)'s image")
      for (j, t) in result.examples[k].enumerated() {
        #expect(group[1 + j] == Raster(values: Array(run.split.train.x.data[t * n..<(t + 1) * n]), width: w, colormap: .greys, scale: scale), "class \(k)'s example \(j + 1)")
      }
      let z = Figure.allScores(model, run.split.train.x).map { $0[k] }
      #expect(z[result.examples[k][0]] == z.max()!, "class \(k): the first example is the training image with the highest z_k")
    }
  }

  @Test("with --untrained filters draws the kernels as initialised only and says why")
  func untrainedFilters() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    let pages = try Catalogue.make(.filters, source, options(trained: false))
    #expect(pages.map(\.name) == ["filters-weights"])
    let canvas = try record(pages[0])
    #expect(canvas.texts.contains { $0.string.contains("need a trained network") && $0.string.contains("drop --untrained") })
    #expect(canvas.texts.contains { $0.string.contains("as initialised") })
    #expect(try Catalogue.make(.filters, source, options()).map(\.name) == ["filters-weights", "filters-classes"])
  }

  @Test("first-layer kernels write each weight of conv1 in its cell")
  func kernels() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    let canvas = try record(try Catalogue.make(.filters, source, options(trained: false))[0])
    let conv = source.model.layers[0] as! Conv2D
    let tiles = canvas.images.filter { $0.raster.width == 3 && $0.raster.height == 3 }
    #expect(tiles.count == 8)
    for (f, tile) in tiles.enumerated() {
      for i in 0..<9 {
        let cell = Rect(x: tile.rect.x + Double(i % 3) * tile.rect.width / 3, y: tile.rect.y + Double(i / 3) * tile.rect.height / 3,
                        width: tile.rect.width / 3, height: tile.rect.height / 3)
        let label = NumberFormat.significant(conv.W.value.data[f * 9 + i], 2)
        #expect(canvas.texts(label).contains { cell.contains($0.box) }, "filter \(f + 1) weight \(i)")
      }
    }
  }

  /// The first training step of a fresh run of `source`'s lesson, traced by the engine's own
  /// `LessonRun` (independent of the figure's own fresh trainer).
  static func tracedFirstStep(_ source: FigureSource) throws -> Tracer {
    let tracer = Tracer()
    try LessonRun(source.lesson, seed: source.run!.seed).train(trace: TracePoint(step: 1, tracer: tracer))
    return tracer
  }

  /// W, dW and ΔW = W′ − W of `layer` in a traced step.
  static func stepTensors(_ tracer: Tracer, _ layer: String) -> [Tensor] {
    let w = tracer.entry("\(layer).forward.W")!.value, updated = tracer.entry("\(layer).update.W")!.value
    var delta = updated
    for i in 0..<delta.count { delta.data[i] -= w.data[i] }
    return [w, tracer.entry("\(layer).backward.dW")!.value, delta]
  }

  @Test("a conv layer's W, dW and ΔW are drawn as 3×3 kernel tiles (filters down, channels across), each panel on its own symmetric scale with a bar")
  func kernelTiles() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    let pages = try Catalogue.make(.gradients, source, options(trained: false))
    #expect(pages.map(\.name) == ["gradients-saliency", "gradients-step-conv1", "gradients-step-conv2", "gradients-step-dense1"])
    let canvas = try record(pages[2])
    let tensors = Self.stepTensors(try Self.tracedFirstStep(source), "conv2")  // W [16, 8, 3, 3]
    let (filters, channels) = (min(16, Figure.tileGrid.rows), min(8, Figure.tileGrid.columns))
    let tiles = canvas.images.filter { $0.raster.width == 3 && $0.raster.height == 3 }
    #expect(tiles.count == 3 * filters * channels)
    guard tiles.count == 3 * filters * channels else { return }
    for (panel, tensor) in tensors.enumerated() {
      let scale = ColorScale.symmetric(tensor.data)
      for f in 0..<filters {
        for c in 0..<channels {
          let start = (f * 8 + c) * 9
          let tile = tiles[(panel * filters + f) * channels + c]
          #expect(tile.raster == Raster(values: Array(tensor.data[start..<start + 9]), width: 3, colormap: .diverging, scale: scale), "panel \(panel + 1), filter \(f + 1), channel \(c + 1)")
          if c > 0 { #expect(abs(tile.rect.y - tiles[(panel * filters + f) * channels].rect.y) < 1e-9 && tile.rect.x > tiles[(panel * filters + f) * channels + c - 1].rect.maxX) }
          if f > 0 { #expect(tile.rect.y > tiles[(panel * filters + f - 1) * channels + c].rect.maxY) }
        }
      }
    }
    #expect(canvas.texts.contains { $0.string.contains("rows: filters 1–\(filters) of 16; columns: input channels 1–\(channels)") })
    let bars = canvas.images.filter { ($0.raster.width == 1 && $0.raster.height == 128) || ($0.raster.width == 64 && $0.raster.height == 1) }
    #expect(bars.count == 3, "a colour bar per panel")
  }

  @Test("a transformer's first step: the embedding's E and attention's Wq, Wk, Wv, Wo each get a page of the traced value, gradient and update")
  func sequenceWeights() throws {
    let source = try lessonSource("attention-reverse", epochs: 0)
    let pages = try Catalogue.make(.gradients, source, options(trained: false))
    #expect(pages.map(\.name) == ["gradients-step-embedding1", "gradients-step-attention1-Wq", "gradients-step-attention1-Wk",
                                   "gradients-step-attention1-Wv", "gradients-step-attention1-Wo", "gradients-step-dense1"])
    let tracer = try Self.tracedFirstStep(source)
    for (page, (layer, symbol)) in zip(pages, [("embedding1", "E"), ("attention1", "Wq"), ("attention1", "Wk"), ("attention1", "Wv"), ("attention1", "Wo")]) {
      let w = try #require(tracer.entry("\(layer).forward.\(symbol)")?.value), dw = try #require(tracer.entry("\(layer).backward.d\(symbol)")?.value)
      var delta = try #require(tracer.entry("\(layer).update.\(symbol)")?.value)
      for i in 0..<delta.count { delta.data[i] -= w.data[i] }
      let canvas = try record(page)
      let maps = canvas.images.filter { $0.raster.width == w.shape[1] && $0.raster.height == w.shape[0] }
      #expect(maps.count == 3, "\(page.name)")
      guard maps.count == 3 else { continue }
      for (map, tensor) in zip(maps, [w, dw, delta]) {
        #expect(map.raster == Raster(values: tensor.data, width: w.shape[1], colormap: .diverging, scale: .symmetric(tensor.data)), "\(page.name)")
      }
      #expect(canvas.texts("∂L/∂\(symbol), the gradient").count == 1, "\(page.name): the panels name \(symbol)")
      try expectReadable(page, .slide)
    }
    // Head h's rows of Wq are said, and E's rows are the tokens.
    #expect(try record(pages[1]).texts.contains { $0.string.contains("head 1: 1–8, head 2: 9–16") })
    #expect(try record(pages[0]).texts.contains { $0.string.contains("rows: token ids 0–9 (0 1 2 3 4 5 6 7 8 9)") })
    // --layer picks the attention layer by name.
    var o = options(trained: false)
    o.layer = "attention1"
    #expect(try Catalogue.make(.gradients, source, o).map(\.name).filter { $0.hasPrefix("gradients-step") }.count == 4)
  }

  @Test("the note under ΔW explains Adam's first step exactly when the optimizer is Adam",
        arguments: [("mazur", false), ("xor", false), ("iris-mlp", true), ("test:small-cnn", true)])
  func adamNote(_ lesson: String, _ adam: Bool) throws {
    let source = try lessonSource(lesson, epochs: 0)
    let optimizer = source.lesson.optimizer.make()
    #expect((optimizer is Adam) == adam)
    let tracer = try Self.tracedFirstStep(source)
    let pages = try Catalogue.make(.gradients, source, options(trained: false)).filter { $0.name.hasPrefix("gradients-step") }
    #expect(!pages.isEmpty)
    for page in pages {
      let canvas = try record(page)
      let note = canvas.texts.filter { $0.string.contains("−η·sign(dW)") && !$0.style.bold }  // not the panel's title
      #expect(note.isEmpty != adam, "\(page.name): the Adam note")
      let maps = canvas.images.filter { $0.raster.width > 1 && $0.raster.height > 1 && !($0.raster.width == 64 && $0.raster.height == 1) }
      // The ΔW panel: the last third of the maps drawn (W, dW, ΔW in turn).
      let panel = maps.suffix(maps.count / 3).map(\.rect)
      if let first = note.first, let left = panel.map(\.x).min(), let right = panel.map(\.maxX).max(), let bottom = panel.map(\.maxY).max() {
        #expect(first.box.y >= bottom && first.box.x < right && first.box.maxX > left, "\(page.name): the note is under the ΔW panel")
      }
      if adam {
        let eta = NumberFormat.shortest(optimizer.learningRate)
        #expect(canvas.texts.contains { $0.string.contains("±\(eta) for every weight") })
      } else {
        #expect(canvas.texts.contains { $0.string.contains("ΔW = −η·dW") })
      }
    }
    // What the note says holds for the engine's numbers: Adam's first ΔW is ±η wherever |dW| ≫ ε.
    if adam {
      let layer = source.model.layers.first { $0 is Dense || $0 is Conv2D }!.name
      let t = Self.stepTensors(tracer, layer)
      for (g, d) in zip(t[1].data, t[2].data) where abs(g) > 1e-5 {
        #expect(abs(d + optimizer.learningRate * (g > 0 ? 1 : -1)) < 1e-3 * optimizer.learningRate)
      }
    }
  }

  /// Fails on the old page, where Adam's ±η pattern took a third of the slide and no row was named.
  @Test("under Adam the first step's ΔW (a ±η sign pattern) gets a smaller panel than the gradient, and rows are named by class or feature",
        arguments: [("iris-mlp", "dense1", ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"]),
                    ("iris-mlp", "dense2", ["setosa", "versicolor", "virginica"]),
                    ("digits-cnn", "dense1", (0...9).map(String.init))])
  func adamStepPanels(_ lesson: String, _ layer: String, _ names: [String]) throws {
    let source = try lessonSource(lesson, epochs: 0)
    #expect(source.lesson.optimizer.make() is Adam)
    var o = options(trained: false)
    o.layer = layer
    let page = try #require(try Catalogue.make(.gradients, source, o).first { $0.name == "gradients-step-\(layer)" })
    let canvas = try record(page)
    let maps = canvas.images.filter { $0.raster.width > 1 && $0.raster.height > 1 && !($0.raster.width == 64 && $0.raster.height == 1) }
    #expect(maps.count % 3 == 0 && !maps.isEmpty)
    let third = maps.count / 3
    func area(_ panel: Int) -> Double {
      let rects = maps[(panel * third)..<((panel + 1) * third)].map(\.rect)
      return (rects.map(\.maxX).max()! - rects.map(\.x).min()!) * (rects.map(\.maxY).max()! - rects.map(\.y).min()!)
    }
    #expect(area(2) <= 0.6 * area(1), "\(layer): ΔW panel \(area(2)) against the gradient's \(area(1))")
    #expect(canvas.texts("ΔW = −η·sign(dW)").count == 1)
    // Each name once, left of the first panel, beside its row.
    let first = maps[0..<third].map(\.rect)
    let left = first.map(\.x).min()!
    for name in names {
      let placed = canvas.texts(name).filter { $0.box.maxX <= left + 0.5 }
      #expect(placed.count >= 1, "\(layer): row \(name) named")
      if let t = placed.first { #expect(t.box.midY >= first.map(\.y).min()! && t.box.midY <= first.map(\.maxY).max()!, "\(name) beside the map") }
    }
    try expectReadable(page, .slide)
  }

  @Test("the saliency maps share one colour scale, a map below 10⁻³ of the largest is marked ≈ 0, and the scale is stated")
  func saliencyScale() throws {
    let source = try lessonSource("digits-mlp", epochs: nil)
    let run = source.run!
    let data = run.evaluationSet.data
    let rows = [0, 1, 2, 3]
    let (dx, _) = Figure.saliencyValues(source.model, data.x.gathering(rows: rows))
    let scale = ColorScale.magnitude(dx.data)
    let canvas = try record(try Catalogue.make(.gradients, source, options())[0])
    let maps = canvas.images.filter { $0.raster.width == 8 && $0.raster.height == 8 }.enumerated().filter { $0.offset % 2 == 1 }.map(\.element)
    #expect(maps.count == 4)
    for (r, map) in maps.enumerated() {
      let values = Array(dx.data[r * 64..<(r + 1) * 64])
      #expect(map.raster == Raster(values: values, width: 8, colormap: .viridis, scale: scale), "map \(r + 1) on the shared scale")
      let peak = values.max()!
      let marked = canvas.texts("≈ 0 (max \(NumberFormat.significant(peak, 2)))").count == 1
      #expect(marked == (peak < 1e-3 * scale.upper), "map \(r + 1): largest \(peak) of \(scale.upper)")
    }
    #expect(canvas.texts.contains { $0.string.contains("one colour scale from 0 to \(NumberFormat.significant(scale.upper, 2))") })
  }

  @Test("gradient norms: History's numbers on a log axis, a line per layer labelled at its end instead of a legend")
  func norms() throws {
    let source = try lessonSource("iris-mlp", epochs: 12)
    let history = source.run!.history
    let page = try Catalogue.make(.gradients, source, options()).last!
    #expect(page.name == "gradients-norms")
    let canvas = try record(page)
    #expect(canvas.texts.contains { $0.string.contains("mean ‖∂L/∂θ‖₂ over each epoch's steps") || $0.string.contains("Mean ‖∂L/∂θ‖₂ over each epoch's steps") })
    #expect(canvas.texts.contains { $0.string.contains("trainable parameters only") })
    // The markers at each (epoch, norm): x = c + d·epoch, y = a − b·log₁₀(norm), fixed by the first layer's first and last.
    let layers = ["dense1", "dense2"]
    let markers = layers.indices.map { k in
      canvas.operations.compactMap { op -> Point? in
        guard case .fill(let path, let color) = op, color == ClassColors.color(k), let b = path.bounds, b.width < 20 else { return nil }
        return Point(b.midX, b.midY)
      }
    }
    let epochs = history.epochs
    #expect(markers.allSatisfy { $0.count == epochs.count })
    guard markers.allSatisfy({ $0.count == epochs.count }), epochs.count > 1 else { return }
    let v = { (k: Int, e: Int) in log10(epochs[e].gradientNorms[layers[k]]!) }
    let (p0, p1) = (markers[0][0], markers[0][epochs.count - 1])
    let d = (p1.x - p0.x) / Double(epochs.count - 1), b = (p0.y - p1.y) / (v(0, epochs.count - 1) - v(0, 0))
    for k in layers.indices {
      for e in epochs.indices {
        #expect(abs(markers[k][e].x - (p0.x + d * Double(e))) < 0.01, "\(layers[k]) epoch \(e + 1): x")
        #expect(abs(markers[k][e].y - (p0.y - b * (v(k, e) - v(0, 0)))) < 0.01, "\(layers[k]) epoch \(e + 1): y is History's norm")
      }
    }
    // Each label right of the lines, beside its line's last point; the higher norm's label higher.
    let right = markers.flatMap { $0 }.map(\.x).max()!
    let labels = layers.map { canvas.texts($0) }
    #expect(labels.allSatisfy { $0.count == 1 })
    guard labels.allSatisfy({ $0.count == 1 }) else { return }
    for k in layers.indices {
      let box = labels[k][0].box
      #expect(box.x > right, "\(layers[k])'s label is right of the plot, not in a legend")
      #expect(abs(box.midY - markers[k].last!.y) < 3 * box.height, "\(layers[k])'s label is beside its line's end")
    }
    let last = layers.indices.map { epochs.last!.gradientNorms[layers[$0]]! }
    #expect((labels[0][0].box.midY < labels[1][0].box.midY) == (last[0] > last[1]))
  }

  @Test("refusals for gradients, filters and graph", arguments: [
    (FigureKind.filters, "iris-mlp", "not an image"), (.graph, "digits-mlp", "at most 24 parameters"), (.graph, "digits-cnn", "other layers"),
    (.filters, "tiny-vgg", "needs data"), (.graph, "attention-reverse", "at most 4 tokens of at most 4 numbers (12 in all) and 4 layers"),
  ])
  func refusals(_ kind: FigureKind, _ lesson: String, _ phrase: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    #expect(throws: FigureError.self) { try Catalogue.check(kind, source, options()) }
    do { try Catalogue.check(kind, source, options()) } catch { #expect(error.description.contains(phrase), "\(error.description)") }
  }

  @Test("--sample and --layer out of range are option errors that name the range")
  func optionErrors() throws {
    let source = try lessonSource("mazur", epochs: 0)
    var o = options()
    o.sample = 2
    do { try Catalogue.check(.graph, source, o); Issue.record("accepted --sample 2") } catch { #expect(error.description.contains("between 1 and 1")) }
    o.sample = 1
    o.layer = "conv9"
    do { try Catalogue.check(.gradients, source, o); Issue.record("accepted --layer conv9") } catch { #expect(error.description.contains("hidden, output")) }
  }
}

@Suite("Figures of gradients, filters and graphs read well")
struct ReadabilityTests2 {
  static let cases: [(FigureKind, String)] = [
    (.gradients, "mazur"), (.gradients, "iris-mlp"), (.gradients, "digits-mlp"), (.gradients, "digits-cnn"),
    (.filters, "digits-mlp"), (.filters, "digits-cnn"), (.graph, "mazur"), (.graph, "xor"),
  ]

  @Test("slide and print", arguments: cases)
  func readable(_ kind: FigureKind, _ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: lesson == "mazur" ? nil : 2)
    for theme in Theme.all {
      for figure in try Catalogue.make(kind, source, options(theme)) {
        try expectReadable(figure, theme)
        #expect(xmlError(try FigureFile.render(figure, as: .svg)) == nil, "\(figure.name) SVG is not well-formed")
      }
    }
  }
}
