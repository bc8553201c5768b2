import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Landscape: the engine's loss over the plane of the optimizers' paths")
struct LandscapeFigureTests {
  /// The engine's loss at (x, y) of the plane, recomputed from scratch: the lesson's network built
  /// afresh by `LessonRun`, its trainable parameters set to c + x·d₁ + y·d₂ (and the rest to the
  /// landscape's), evaluated by `Trainer.evaluate` on the first samples of the training split.
  static func loss(_ source: FigureSource, _ data: Figure.Landscape, x: Double, y: Double) throws -> Double {
    let fresh = try LessonRun(source.lesson, seed: source.run!.seed)
    var offset = 0
    for p in fresh.model.layers.flatMap({ $0.parameters }) where p.trainable {
      for i in 0..<p.value.count { p.value.data[i] = data.centre[offset + i] + x * data.directions[0][offset + i] + y * data.directions[1][offset + i] }
      offset += p.value.count
    }
    for (p, value) in zip(fresh.model.layers.flatMap { $0.parameters.filter { !$0.trainable } }, data.fixed) { p.value = value }
    #expect(offset == data.centre.count)
    let train = fresh.split.train.subset(Array(0..<data.samples))
    return Trainer.evaluate(model: fresh.model, loss: fresh.loss, data: train).loss
  }

  @Test("grid points recomputed through the engine give the figure's losses; the directions are orthonormal; the lesson's path ends at the centre",
        arguments: ["momentum-vs-sgd", "xor", "test:small-cnn"])
  func gridIsTheEnginesLoss(_ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    let figure = try Catalogue.make(.landscape, source, options())[0]
    let data = try Figure.landscape(source)
    let side = data.xs.count
    for (c, r) in [(0, 0), (side - 1, side - 1), (side / 2, 3), (1, side - 2)] {
      let expected = try Self.loss(source, data, x: data.xs[c], y: data.ys[r])
      #expect(abs(data.losses[r * side + c] - expected) <= 1e-12 * max(1, expected), "\(lesson) (\(c), \(r)): \(data.losses[r * side + c]) vs \(expected)")
    }
    let dot = { (a: [Double], b: [Double]) in zip(a, b).reduce(0) { $0 + $1.0 * $1.1 } }
    #expect(abs(dot(data.directions[0], data.directions[0]) - 1) < 1e-9 && abs(dot(data.directions[1], data.directions[1]) - 1) < 1e-9)
    #expect(abs(dot(data.directions[0], data.directions[1])) < 1e-9)
    let end = data.paths[data.centreOf].points.last!
    #expect(abs(end.x) < 1e-9 && abs(end.y) < 1e-9, "the centre is the end of \(data.paths[data.centreOf].name)'s path")
    // Every path starts at one point: the same seed, the same initial weights.
    let starts = data.paths.map { $0.points[0] }
    #expect(starts.allSatisfy { abs($0.x - starts[0].x) < 1e-9 && abs($0.y - starts[0].y) < 1e-9 })
    try expectReadable(figure, .slide)
  }

  @Test("momentum-vs-sgd: both paths drawn, each ending at its own run's weights projected; momentum ends where the loss is far lower")
  func momentumValley() throws {
    let source = try lessonSource("momentum-vs-sgd", epochs: 0)
    let canvas = try record(try Catalogue.make(.landscape, source, options())[0])
    let data = try Figure.landscape(source)
    #expect(data.paths.map(\.name) == ["SGD", "momentum"] && data.centreOf == 1)
    // Each path's end is its run's final weights: projected from the engine's own training.
    for (k, configuration) in source.lesson.compare.enumerated() {
      let fresh = try LessonRun(source.lesson, seed: source.run!.seed)
      fresh.trainer.optimizer = configuration.make()
      try fresh.train()
      let weights = fresh.model.layers.flatMap { $0.parameters.filter(\.trainable) }.flatMap(\.value.data)
      let x = zip(weights, data.centre).enumerated().reduce(0.0) { $0 + ($1.element.0 - $1.element.1) * data.directions[0][$1.offset] }
      let y = zip(weights, data.centre).enumerated().reduce(0.0) { $0 + ($1.element.0 - $1.element.1) * data.directions[1][$1.offset] }
      let end = data.paths[k].points.last!
      #expect(abs(end.x - x) < 1e-9 && abs(end.y - y) < 1e-9, "\(configuration)")
    }
    // Two coloured path lines drawn over the contours, one per optimizer.
    for k in 0..<2 {
      let strokes = canvas.operations.filter { if case .stroke(_, let c, let w, _) = $0 { return c == ClassColors.color(k) && abs(w - Theme.slide.lineWidth) < 1e-9 }; return false }
      #expect(strokes.count >= 1, "path \(k + 1)")
    }
    #expect(canvas.texts("SGD").count == 1 && canvas.texts("momentum").count == 1)
    let atMomentum = try Self.loss(source, data, x: 0, y: 0), atSGD = try Self.loss(source, data, x: data.paths[0].points.last!.x, y: data.paths[0].points.last!.y)
    #expect(atMomentum < atSGD / 100, "\(atMomentum) \(atSGD)")
  }

  @Test("PNG, SVG and PDF in both themes; the SVG is byte-identical when drawn again")
  func formats() throws {
    let source = try lessonSource("xor", epochs: 0)
    for theme in Theme.all {
      let figure = try Catalogue.make(.landscape, source, options(theme))[0]
      let png = try FigureFile.render(figure, as: .png, scale: 1)
      #expect(Array(png.prefix(4)) == [0x89, 0x50, 0x4E, 0x47])
      let svg = try FigureFile.render(figure, as: .svg)
      #expect(xmlError(svg) == nil)
      #expect(try FigureFile.render(try Catalogue.make(.landscape, try lessonSource("xor", epochs: 0), options(theme))[0], as: .svg) == svg)
      let pdf = try FigureFile.render(figure, as: .pdf)
      #expect(Array(pdf.prefix(4)) == Array("%PDF".utf8))
      try expectReadable(figure, theme)
    }
  }

  @Test("refusals: no data names architecture; a network whose grid cannot fit its budget names optimizers; --untrained is refused")
  func refusals() throws {
    // 30,000 hidden units on the digits: 121 points of 64 samples are some 4 s of forward passes.
    let wide = try Lesson.parse("""
      data: {dataset: digits}
      network: [{type: dense, units: 30000}, relu, {type: dense, units: 10}, softmax]
      loss: cross_entropy
      optimizer: {type: sgd, learning_rate: 0.1}
      train: {epochs: 1, batch_size: 32}
      """, path: "wide.yaml")
    let sources = [try lessonSource("tiny-vgg", epochs: 0), FigureSource(run: try LessonRun(wide))]
    for (source, phrase) in zip(sources, ["architecture", "optimizers"]) {
      let lesson = source.lesson.path
      do { try Catalogue.check(.landscape, source, options()); Issue.record("accepted \(lesson)") } catch {
        #expect(error.description.contains(phrase) && !error.description.contains("\n"), "\(lesson): \(error.description)")
      }
    }
    let xor = try lessonSource("xor", epochs: 0)
    #expect(throws: FigureError.self) { try Catalogue.check(.landscape, xor, options(trained: false)) }
  }
}
