import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import Testing

@Suite("Figure catalogue: which numbers are drawn where, and refusals")
struct CatalogueTests {
  @Test("activations marks the sigmoid panel with every z of XOR and reports saturation truthfully")
  func activations() throws {
    let source = try lessonSource("xor", epochs: 200)
    let canvas = try record(try Catalogue.make(.activations, source, options())[0])
    // 4 samples × (2 + 1) sigmoid units = 12 pre-activations, each a dot on the curve.
    let dots = canvas.operations.filter { if case .fill(_, let c) = $0 { return c == Theme.accent.opacity(0.55) }; return false }
    #expect(dots.count == 12)
    // Only the network's own function is drawn (the other three used to be, "not in this network").
    #expect(canvas.texts("not in this network").isEmpty)
    let z = source.model.layers.compactMap { $0 as? Sigmoid }.flatMap { $0.z.data }
    let saturated = Double(z.filter { Sigmoid.sigma($0) * (1 - Sigmoid.sigma($0)) < 0.05 }.count) / Double(z.count)
    #expect(canvas.texts.filter { $0.string.contains("\(NumberFormat.percent(saturated, digits: 0)) saturated (f′ < 0.05)") }.count == 1)
  }

  @Test("training writes the last epoch's numbers from the history")
  func training() throws {
    let source = try lessonSource("iris-mlp", epochs: 5)
    let last = source.run!.history.epochs.last!
    let canvas = try record(try Catalogue.make(.training, source, options())[0])
    let subtitle = canvas.texts.map(\.string).first { $0.hasPrefix("Epoch 5:") }
    #expect(subtitle?.contains("training loss \(NumberFormat.significant(last.trainLoss, 3))") == true)
    #expect(subtitle?.contains("accuracy \(NumberFormat.percent(last.trainAccuracy))") == true)
  }

  @Test("confusion writes each count in its cell; the diagonal over the total is the accuracy")
  func confusion() throws {
    let counts = [5, 1, 0, 2, 7, 1, 0, 0, 9]
    let figure = Figure.confusionMatrix(counts, classes: ["a", "b", "c"], theme: .slide, title: "t", subtitle: "s")
    let canvas = try record(figure)
    let grid = canvas.images.first { $0.raster.width == 3 }!.rect
    for (i, n) in counts.enumerated() {
      let cell = Rect(x: grid.x + Double(i % 3) * grid.width / 3, y: grid.y + Double(i / 3) * grid.height / 3, width: grid.width / 3, height: grid.height / 3)
      #expect(canvas.texts(String(n)).contains { cell.contains($0.box) }, "count \(n) of cell \(i) is not inside it")
    }
    // Cells are coloured by the fraction of their row: row 2 = (0, 0, 9) is all on the diagonal.
    let raster = canvas.images.first { $0.raster.width == 3 }!.raster
    #expect(raster[2, 2] == Colormap.viridis(1))

    let source = try lessonSource("iris-mlp", epochs: 20)
    let run = source.run!
    let evaluation = run.evaluate(run.split.test!)
    let page = try record(try Catalogue.make(.confusion, source, options())[0])
    let cells = page.images.first { $0.raster.width == 3 }!.rect
    let drawn = page.texts.filter { cells.contains($0.box) }
    #expect(drawn.compactMap { Int($0.string) }.reduce(0, +) == run.split.test!.count)
    let diagonal = drawn.filter(\.style.bold).compactMap { Int($0.string) }.reduce(0, +)
    #expect(Double(diagonal) / Double(run.split.test!.count) == evaluation.accuracy)
  }

  @Test("architecture writes Mazur's eight weights on their edges and both biases in the neurons")
  func mazurArchitecture() throws {
    let source = try lessonSource("mazur", epochs: 0)
    let canvas = try record(try Catalogue.make(.architecture, source, options(trained: false))[0])
    for w in ["0.150", "0.200", "0.250", "0.300", "0.400", "0.450", "0.500", "0.550"] {
      #expect(canvas.texts(w).count == 1, "weight \(w)")
    }
    #expect(canvas.texts("0.35").count == 2 && canvas.texts("0.60").count == 2)
    #expect(canvas.texts("x₁").count == 1 && canvas.texts("x₂").count == 1)
  }

  @Test("a conv network becomes a block diagram with every shape and parameter count")
  func blockDiagram() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    let canvas = try record(try Catalogue.make(.architecture, source, options(trained: false))[0])
    let strings = Set(canvas.texts.map(\.string))
    for s in ["1×8×8", "8×8×8", "8×4×4", "16×2×2", "64", "10", "80 params", "1,168 params", "650 params", "8 @ 3×3 same", "max 2×2"] {
      #expect(strings.contains(s), "missing \(s)")
    }
    // Summary-only lessons (dataset: none) still get their architecture.
    // (A long network in one row writes the count over "params".)
    let vgg = try record(try Catalogue.make(.architecture, try lessonSource("tiny-vgg"), options())[0])
    #expect(vgg.texts("16,910 params").count == 1 || (vgg.texts("16,910").count == 1 && vgg.texts("params").count >= 1))
  }

  @Test("the decision boundary's regions agree with the points where XOR is learnt")
  func decisionBoundary() throws {
    let source = try lessonSource("xor")
    let canvas = try record(try Catalogue.make(.decisionBoundary, source, options())[0])
    let (regions, area) = canvas.images.max { $0.raster.width < $1.raster.width }!
    let g = regions.width
    #expect(canvas.images.count == 4)  // the plane, two hidden-neuron maps and their colour bar
    let x = source.run!.split.train.x, labels = source.run!.split.train.labels!
    // The plane spans the data ±10%: (−0.1, 1.1) on both axes, row 0 at the top.
    for n in 0..<4 {
      let column = Int((x.data[n * 2] + 0.1) / 1.2 * Double(g)), row = Int((1.1 - x.data[n * 2 + 1]) / 1.2 * Double(g))
      let pixel = regions[min(row, g - 1), min(column, g - 1)]
      let tint = ClassColors.color(labels[n])
      #expect(abs(pixel.r - tint.r) + abs(pixel.g - tint.g) + abs(pixel.b - tint.b) < abs(pixel.r - ClassColors.color(1 - labels[n]).r) + abs(pixel.g - ClassColors.color(1 - labels[n]).g) + abs(pixel.b - ClassColors.color(1 - labels[n]).b))
    }
    #expect(area.width > 0)
  }

  @Test("figures that do not apply refuse with one sentence", arguments: [
    (FigureKind.decisionBoundary, "digits-mlp", "2 inputs"), (.decisionBoundary, "mazur", "class labels"), (.confusion, "mazur", "class labels"),
    (.training, "tiny-vgg", "needs data"), (.activations, "tiny-vgg", "needs data"),
  ])
  func refusals(_ kind: FigureKind, _ lesson: String, _ phrase: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    do {
      try Catalogue.check(kind, source, options())
      Issue.record("\(kind.rawValue) accepted \(lesson)")
    } catch {
      #expect(error.description.contains(phrase), "\(error.description)")
      #expect(!error.description.contains("\n"))
    }
  }
}

@Suite("Figures read well: no overlapping text, nothing off the page, nothing too small")
struct ReadabilityTests {
  static let cases: [(FigureKind, String)] = [
    (.activations, "xor"), (.activations, "digits-mlp"), (.training, "xor"), (.training, "iris-mlp"), (.confusion, "digits-mlp"),
    (.confusion, "iris-mlp"), (.architecture, "mazur"), (.architecture, "xor"), (.architecture, "digits-mlp"), (.architecture, "iris-mlp"),
    (.architecture, "digits-cnn"), (.architecture, "tiny-vgg"), (.decisionBoundary, "xor"), (.decisionBoundary, "spiral"),
  ]

  @Test("every kind on its lessons, slide and print", arguments: cases)
  func readable(_ kind: FigureKind, _ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: lesson == "xor" || lesson == "mazur" ? nil : 3)
    for theme in Theme.all {
      for figure in try Catalogue.make(kind, source, options(theme)) {
        try expectReadable(figure, theme)
        #expect(xmlError(try FigureFile.render(figure, as: .svg)) == nil, "\(figure.name) SVG is not well-formed")
      }
    }
  }
}

@Suite("Reference images")
struct ReferenceImageTests {
  @Test("activation curves, print size")
  func activations() throws {
    try expectMatchesReference(Figure.activationCurves(theme: .print), "activations-print")
  }

  @Test("Mazur's network as initialised, print size")
  func mazur() throws {
    try expectMatchesReference(try Catalogue.make(.architecture, try lessonSource("mazur", epochs: 0), options(.print, trained: false))[0], "architecture-mazur-print")
  }

  @Test("a confusion matrix, print size")
  func confusion() throws {
    let figure = Figure.confusionMatrix([5, 1, 0, 2, 7, 1, 0, 0, 9], classes: ["setosa", "versicolor", "virginica"], theme: .print,
                                        title: "Confusion matrix", subtitle: "rows: true class, columns: predicted")
    try expectMatchesReference(figure, "confusion-print")
  }
}
