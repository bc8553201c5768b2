import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

@Suite("Convolution figures: the sum written is the traced forward value")
struct ConvFigureTests {
  @Test("each conv-step page ends its sum with the engine's z, and the window's numbers are the input's", arguments: [1, 4])
  func convStep(_ filter: Int) throws {
    let source = try lessonSource("test:small-cnn", epochs: 1)
    var o = options()
    o.positions = 4
    o.filter = filter
    let pages = try Catalogue.make(.convStep, source, o)
    #expect(pages.map(\.name) == ["conv-step-1", "conv-step-2", "conv-step-3", "conv-step-4"])
    // An independent traced forward pass of the same sample.
    let data = source.run!.evaluationSet.data
    let tracer = Tracer()
    _ = source.model.forward(data.x.gathering(rows: [0]), Step(training: false, tracer: tracer))
    let z = tracer.entry("conv1.forward.z")!.value  // [1, 8, 8, 8]
    for (p, page) in pages.enumerated() {
      let canvas = try record(page)
      let expected = "= " + NumberFormat.significant(z.data[(filter - 1) * 64 + p], 4)
      #expect(canvas.texts(expected).count == 1, "page \(p + 1) should end with \(expected)")
      #expect(canvas.texts(expected).first?.style.bold == true)
      // The first line names the output cell, (1, p + 1).
      #expect(canvas.texts.contains { $0.string.hasPrefix("z₁," + subscripted(p + 1) + " = ") })
    }
  }

  @Test("the products written are the window's input and the kernel's weights, in reading order")
  func products() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    let pages = try Catalogue.make(.convStep, source, options(trained: false))
    let canvas = try record(pages[0])
    let conv = source.model.layers[0] as! Conv2D
    let w = conv.W.value.data
    // Window (1, 1) with one zero ring: the top row and left column read padding zeros.
    let first = canvas.texts.first { $0.string.hasPrefix("z₁,₁ = ") }!.string
    func n(_ v: Double) -> String { let s = NumberFormat.significant(v, 2); return s.hasPrefix("−") ? "(\(s))" : s }
    #expect(first == "z₁,₁ = 0·\(n(w[0])) + 0·\(n(w[1])) + 0·\(n(w[2]))")
  }

  @Test("feature maps: a row per image-shaped layer, one map per channel, coloured from the forward pass")
  func featureMaps() throws {
    let source = try lessonSource("test:small-cnn", epochs: 1)
    let canvas = try record(try Catalogue.make(.featureMaps, source, options())[0])
    let names = ["input", "conv1", "relu1", "maxpool1", "conv2", "relu2"]
    for name in names { #expect(canvas.texts(name).count == 1, "row \(name)") }
    let maps = canvas.images.filter { $0.raster.width != 1 && $0.raster.height != 1 }  // not the colour strips
    #expect(maps.count == 1 + 8 + 8 + 8 + 16 + 16)
    #expect(maps[0].raster.width == 8 && maps[9].raster.width == 8 && maps[17].raster.width == 4 && maps[25].raster.width == 2)
  }

  @Test("conv figures refuse dense lessons and out-of-range options", arguments: [
    (FigureKind.convStep, "digits-mlp", "no conv2d"), (.featureMaps, "iris-mlp", "has none"),
  ])
  func refusals(_ kind: FigureKind, _ lesson: String, _ phrase: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    do { try Catalogue.check(kind, source, options()); Issue.record("accepted") } catch { #expect(error.description.contains(phrase), "\(error.description)") }
  }

  @Test("options out of range name the range")
  func options_() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    var o = options()
    o.filter = 9
    do { try Catalogue.check(.convStep, source, o); Issue.record("accepted --filter 9") } catch { #expect(error.description.contains("between 1 and 8")) }
    o.filter = 1
    o.layer = "dense1"
    do { try Catalogue.check(.convStep, source, o); Issue.record("accepted --layer dense1") } catch { #expect(error.description.contains("conv1, conv2")) }
    o.layer = "conv2"
    o.positions = 5
    do { try Catalogue.check(.convStep, source, o); Issue.record("accepted --positions 5") } catch { #expect(error.description.contains("at most 4")) }
  }

  @Test("conv figures read well on slide and print", arguments: [FigureKind.convStep, .featureMaps, .architecture, .gradients, .filters], ["test:small-cnn", "digits-cnn"])
  func readable(_ kind: FigureKind, _ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 1)
    for theme in Theme.all {
      var o = options(theme)
      o.layer = kind == .convStep ? "conv2" : nil
      o.positions = kind == .convStep ? 2 : 3
      for figure in try Catalogue.make(kind, source, o) + (kind == .convStep ? try Catalogue.make(kind, source, options(theme)) : []) {
        try expectReadable(figure, theme)
        #expect(xmlError(try FigureFile.render(figure, as: .svg)) == nil)
      }
    }
  }

  @Test("the benchmark figures need no lesson and read well")
  func bench() throws {
    for theme in Theme.all {
      try expectReadable(Figure.benchFeatureMaps(theme: theme), theme)
      try expectReadable(Figure.activationCurves(theme: theme), theme)
    }
    let canvas = try record(Figure.benchFeatureMaps(theme: .slide))
    let maps = canvas.images.filter { $0.raster.width == 28 && $0.raster.height == 28 }
    #expect(maps.count == 64)
    // An 8×8 grid: eight columns and eight rows of equal squares.
    #expect(Set(maps.map { ($0.rect.x * 100).rounded() }).count == 8)
    #expect(Set(maps.map { ($0.rect.y * 100).rounded() }).count == 8)
    #expect(maps.allSatisfy { abs($0.rect.width - $0.rect.height) < 1e-9 })
    #expect(canvas.texts("activation").count == 1)
  }
}
