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
    for s in ["z¹₁ = 0.3775", "a¹₁ = 0.5933", "a²₁ = 0.7514", "L = 0.2984", "W²₁,₁ = 0.4000 → 0.3589", "∂L = 0.08217",
              "W¹₁,₁ = 0.1500 → 0.1498", "∂L = 4.386×10⁻⁴", "t₁ = 0.01000"] {
      #expect(strings.contains(s), "missing \(s)")
    }
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

  /// Smooth lessons only: ReLU zeros tie in max-pooling windows (digits-cnn), where the loss has
  /// kinks and central differences split the gradient between the tied inputs.
  @Test("saliency |∂L/∂x| agrees with central differences of the loss", arguments: ["iris-mlp", "spiral"])
  func saliency(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 2)
    let run = source.run!
    let data = run.split.test!
    let x = data.x.gathering(rows: [0]), t = data.targets(outputs: source.model.outputShape.reduce(1, *)).gathering(rows: [0])
    let (dx, _) = Figure.saliencyValues(source.model, run.loss, x, t)
    let h = 1e-5
    for i in stride(from: 0, to: x.count, by: max(1, x.count / 8)) {
      var up = x, down = x
      up.data[i] += h
      down.data[i] -= h
      let step = Step(training: false)
      let lUp = run.loss.value(output: source.model.forward(up, step), target: t, last: source.model.layers.last)
      let lDown = run.loss.value(output: source.model.forward(down, step), target: t, last: source.model.layers.last)
      let numeric = abs((lUp - lDown) / (2 * h))
      #expect(abs(numeric - dx.data[i]) <= 1e-6 + 1e-4 * numeric, "x[\(i)]: numeric \(numeric), backward \(dx.data[i])")
    }
  }

  @Test("activation maximisation raises every class score above a blank input's")
  func maximisation() throws {
    let source = try lessonSource("digits-mlp", epochs: 3)
    let model = source.model
    var one = Figure.Ascent(), many = Figure.Ascent()
    one.steps = 1
    many.steps = 40
    var rng = SeededGenerator(seed: 1), rng2 = SeededGenerator(seed: 1)
    let (_, before) = Figure.maximiseClassScores(model, lower: 0, upper: 1, ascent: one, rng: &rng)
    let (_, after) = Figure.maximiseClassScores(model, lower: 0, upper: 1, ascent: many, rng: &rng2)
    for k in 0..<10 { #expect(after[k] > before[k] + 1, "class \(k): \(before[k]) → \(after[k])") }
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

  @Test("refusals for gradients, filters and graph", arguments: [
    (FigureKind.filters, "iris-mlp", "not an image"), (.graph, "digits-mlp", "at most 24 parameters"), (.graph, "digits-cnn", "other layers"),
    (.filters, "tiny-vgg", "needs data"),
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
