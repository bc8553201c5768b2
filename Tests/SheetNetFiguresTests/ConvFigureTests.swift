import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

/// A written number as figures write it ("−0.13", "(−0.13)", "0") as a Double.
func writtenNumber(_ s: String) -> Double? {
  Double(s.trimmingCharacters(in: CharacterSet(charactersIn: "() ")).replacingOccurrences(of: "−", with: "-"))
}

/// The decimals of a written number ("−0.130" → 3, "0" → 0).
func writtenDecimals(_ s: String) -> Int {
  guard let dot = s.firstIndex(of: ".") else { return 0 }
  return s[s.index(after: dot)...].prefix { $0.isNumber }.count
}

/// A written number in units of 10^−decimals, exactly.
func writtenUnits(_ s: String, _ decimals: Int) -> Int {
  Int((writtenNumber(s)! * pow(10.0, Double(decimals))).rounded())
}

/// The texts written inside `rect`.
func texts(in rect: Rect, of canvas: RecordingCanvas) -> [RecordingCanvas.PlacedText] {
  canvas.texts.filter { rect.contains($0.box, tolerance: 0.5) }
}

/// The first image below the (first) text `title`, under its middle.
func image(below title: String, in canvas: RecordingCanvas) -> (raster: Raster, rect: Rect)? {
  guard let t = canvas.texts(title).first else { return nil }
  return canvas.images.filter { $0.rect.y >= t.box.maxY - 0.5 && $0.rect.x <= t.box.midX && $0.rect.maxX >= t.box.midX }.min { $0.rect.y < $1.rect.y }
}

/// The conv layer's input for a sample, [C, H, W], forwarded layer by layer (evaluation mode),
/// and its z [F, outH, outW] from a traced pass through the whole model: the engine's numbers,
/// independent of the figure.
func convNumbers(_ source: FigureSource, _ name: String, sample: Int) -> (x: [Double], z: [Double], conv: Conv2D) {
  let data = source.run!.evaluationSet.data
  let conv = source.model.layer(named: name) as! Conv2D
  var a = data.x.gathering(rows: [sample])
  for layer in source.model.layers {
    if layer === conv { break }
    a = layer.forward(a, Step(training: false))
  }
  let tracer = Tracer()
  _ = source.model.forward(data.x.gathering(rows: [sample]), Step(training: false, tracer: tracer))
  return (a.data, tracer.entry("\(name).forward.z")!.value.data, conv)
}

@Suite("Convolution figures: conv-step and feature-maps show the engine's numbers, and they add up")
struct ConvFigureTests {
  // MARK: conv-step

  @Test("each page ends its sum with the engine's z, rounded as written; --positions continues row by row from --at", arguments: [1, 4])
  func convStep(_ filter: Int) throws {
    let source = try lessonSource("test:small-cnn", epochs: 1)
    var o = options()
    o.positions = 4
    o.filter = filter
    o.at = GridPosition(row: 2, column: 7)
    let pages = try Catalogue.make(.convStep, source, o)
    #expect(pages.map(\.name) == ["conv-step-1", "conv-step-2", "conv-step-3", "conv-step-4"])
    let z = convNumbers(source, "conv1", sample: 0).z  // [8, 8, 8]
    // (2, 7), (2, 8), (3, 1), (3, 2): row-major from the position asked for.
    for (page, p) in zip(pages, [14, 15, 16, 17]) {
      let canvas = try record(page)
      let name = "z" + subscripted(p / 8 + 1) + "," + subscripted(p % 8 + 1) + " = "
      let written = try #require(canvas.texts.first { $0.string.hasPrefix(name) && $0.style.color == Theme.accent }?.string)
      let value = String(written.dropFirst(name.count))
      let exact = z[(filter - 1) * 64 + p]
      #expect(abs(writtenNumber(value)! - exact) <= 0.5 * pow(10, -Double(writtenDecimals(value))) + 1e-12, "\(written) against the engine's \(exact)")
      #expect(canvas.texts.contains { $0.string.contains("output (\(p / 8 + 1), \(p % 8 + 1))") })
    }
  }

  @Test("the default window is the largest |z| with its centre on ink, from the model's own z, and it is not all zeros",
        arguments: [("test:small-cnn", "conv1"), ("test:small-cnn", "conv2"), ("digits-cnn", "conv1"), ("digits-cnn", "conv2")])
  func defaultWindow(_ lesson: String, _ layer: String) throws {
    let source = try lessonSource(lesson, epochs: 1)
    for sample in [1, 2, 7] {
      for filter in [1, 2] {
        var o = options()
        o.layer = layer
        o.sample = sample
        o.filter = filter
        let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
        let (x, z, conv) = convNumbers(source, layer, sample: sample - 1)
        let g = conv.window!
        var best: Int? = nil
        for p in 0..<g.positions {
          let (y, c) = ((p / g.outW) * g.strideH + (g.kernelH - 1) / 2 - g.padTop, (p % g.outW) * g.strideW + (g.kernelW - 1) / 2 - g.padLeft)
          guard y >= 0 && y < g.height && c >= 0 && c < g.width, (0..<g.channels).contains(where: { x[($0 * g.height + y) * g.width + c] != 0 }) else { continue }
          if best == nil || abs(z[(filter - 1) * g.positions + p]) > abs(z[(filter - 1) * g.positions + best!]) { best = p }
        }
        let p = try #require(best, "sample \(sample) has ink under some window centre")
        #expect(canvas.texts.contains { $0.string.contains("at output (\(p / g.outW + 1), \(p % g.outW + 1))") },
                "\(lesson) \(layer) sample \(sample) filter \(filter): expected output (\(p / g.outW + 1), \(p % g.outW + 1))")
        let window = try #require(image(below: "window x", in: canvas))
        let numbers = texts(in: window.rect, of: canvas).map(\.string)
        #expect(numbers.count == g.kernelH * g.kernelW)
        #expect(numbers.contains { $0 != "0" }, "the window holds ink")
      }
    }
  }

  /// The written terms of one page, added up at the written precision: the products to the
  /// channel's Σ, the partial sums and b to z, the sum line's terms to its total, positives +
  /// negatives to z; and z against the engine's.
  func expectTermsAddUp(_ canvas: RecordingCanvas, z exact: Double, channels: Int, bias: Bool, _ label: String) throws {
    let zText = try #require(canvas.texts.first { $0.string.hasPrefix("z") && $0.string.contains(" = ") && $0.style.color == Theme.accent }).string
    let zWritten = String(zText.split(separator: " = ").last!)
    // The decimals the page says it rounds to: "terms rounded to 2 decimals so that they add up".
    let note = try #require(canvas.texts.first { $0.string.hasPrefix("terms rounded to ") }).string
    let d = try #require(Int(note.dropFirst("terms rounded to ".count).prefix { $0.isNumber }))
    #expect(d >= 2, "\(label): z written with \(d) decimals")
    let zUnits = writtenUnits(zWritten, d)
    #expect(abs(writtenNumber(zWritten)! - exact) <= 0.5 * pow(10, -Double(d)) + 1e-12, "\(label): \(zWritten) against the engine's \(exact)")
    // Every number written at d decimals (or 0).
    func units(_ s: String) -> Int {
      #expect(s == "0" || s.trimmingCharacters(in: CharacterSet(charactersIn: "()")) == "0" || writtenDecimals(s) == d, "\(label): \(s) not at \(d) decimals")
      return writtenUnits(s, d)
    }
    // Products → Σ.
    let products = try #require(image(below: "x ⊙ W", in: canvas), "\(label): products grid")
    let productTexts = texts(in: products.rect, of: canvas).map(\.string)
    #expect(productTexts.count == products.raster.width * products.raster.height, "\(label): every product written")
    let sigma = try #require(canvas.texts.first { $0.string.hasPrefix("Σ = ") }).string
    let partial = units(String(sigma.split(separator: " = ").last!))
    #expect(productTexts.map(units).reduce(0, +) == partial, "\(label): products \(productTexts) add up to \(sigma)")
    // Partial sums (+ b) → z.
    let heading = try #require(canvas.texts.first { $0.string.hasPrefix("z") && $0.style.bold && $0.style.color == Theme.ink && $0.string.contains(" = ") }).string
    var b = 0
    if channels > 1 {
      let title = try #require(canvas.texts.first { $0.string.hasPrefix("partial sums") })
      let strips = canvas.images.filter { $0.raster.height == 1 && $0.raster.width <= channels && $0.rect.y > title.box.maxY }
      let cells = strips.flatMap { texts(in: $0.rect, of: canvas) }.map(\.string)
      #expect(cells.count == channels, "\(label): \(cells.count) partial sums written")
      if bias {
        let b0 = try #require(heading.range(of: "(b = "), "\(label): b written")
        b = units(String(heading[b0.upperBound...].prefix { $0 != ")" }))
      }
      #expect(cells.map(units).reduce(0, +) + b == zUnits, "\(label): partial sums \(cells) + b add up to \(zWritten)")
      let detail = sigma.split(separator: " = ")[1]  // "S₇"
      #expect(detail.hasPrefix("S"))
    } else if heading.components(separatedBy: " = ").count == 4 {
      // "z = Σ x ⊙ W + b = t₁ + … + t₉ + b = z"
      let parts = heading.components(separatedBy: " = ")
      let terms = parts[2].components(separatedBy: " + ")
      #expect(terms.count == products.raster.width * products.raster.height + (bias ? 1 : 0))
      #expect(terms.map(units).reduce(0, +) == units(parts[3]) && units(parts[3]) == zUnits, "\(label): \(heading)")
      if bias { b = units(terms.last!) }
      #expect(partial + b == zUnits, "\(label): Σ \(partial) + b \(b) = \(zUnits)")
    } else {
      // Too long for the page: "z = Σ x ⊙ W + b (b = 0.05), the 9 products and the bias".
      if bias {
        let b0 = try #require(heading.range(of: "(b = "), "\(label): b written")
        b = units(String(heading[b0.upperBound...].prefix { $0 != ")" }))
      }
      #expect(partial + b == zUnits, "\(label): Σ \(partial) + b \(b) = \(zUnits)")
    }
    // Positives + negatives = z.
    let split = try #require(canvas.texts.first { $0.string.hasPrefix("positives ") }).string
    let numbers = split.replacingOccurrences(of: "positives ", with: "").replacingOccurrences(of: "negatives ", with: "")
      .components(separatedBy: " = ").flatMap { $0.components(separatedBy: " + ") }
    #expect(numbers.count == 3 && units(numbers[0]) + units(numbers[1]) == units(numbers[2]) && units(numbers[2]) == zUnits, "\(label): \(split)")
  }

  @Test("the written terms add up at the written precision, at many positions, both lessons, both conv layers, slide and print",
        arguments: [("test:small-cnn", "conv1"), ("test:small-cnn", "conv2"), ("digits-cnn", "conv1"), ("digits-cnn", "conv2")])
  func termsAddUp(_ lesson: String, _ layer: String) throws {
    let source = try lessonSource(lesson, epochs: 1)
    let (_, z, conv) = convNumbers(source, layer, sample: 0)
    let g = conv.window!
    for p in stride(from: 0, to: g.positions, by: g.positions > 16 ? 5 : 1) {
      for (theme, filter) in [(Theme.slide, 1), (.print, 2), (.slide, conv.filters)] {
        var o = options(theme)
        o.layer = layer
        o.filter = filter
        o.at = GridPosition(row: p / g.outW + 1, column: p % g.outW + 1)
        let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
        // Print may be too small for every grid's numbers; the slide writes them all.
        guard theme == .slide || image(below: "x ⊙ W", in: canvas).map({ !texts(in: $0.rect, of: canvas).isEmpty }) == true else { continue }
        try expectTermsAddUp(canvas, z: z[(filter - 1) * g.positions + p], channels: g.channels, bias: conv.useBias, "\(lesson) \(layer) filter \(filter) at \(p) (\(theme.name))")
      }
    }
  }

  @Test("the rounding rule: apportioned terms stay within one unit of the exact ones and add up to the total")
  func apportion() {
    var rng = SeededGenerator(seed: 7)
    for _ in 0..<200 {
      let values = (0..<Int.random(in: 1...40, using: &rng)).map { _ in Double.random(in: -2...2, using: &rng) }
      let total = Int((values.reduce(0, +) * 100).rounded(.toNearestOrAwayFromZero))
      let units = Figure.apportion(values, total: total, scale: 100)
      #expect(units.reduce(0, +) == total)
      for (u, v) in zip(units, values) { #expect(abs(Double(u) - v * 100) < 1) }
    }
  }

  @Test("the contribution bar stacks the terms so that they reach z: positives from 0, negatives back from their sum to the marker at z")
  func contributionBar() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    for layer in ["conv1", "conv2"] {
      var o = options()
      o.layer = layer
      let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
      let split = try #require(canvas.texts.first { $0.string.hasPrefix("positives ") }).string
      let numbers = split.replacingOccurrences(of: "positives ", with: "").replacingOccurrences(of: "negatives ", with: "")
        .components(separatedBy: " = ").flatMap { $0.components(separatedBy: " + ") }.compactMap(writtenNumber)
      let (p, n) = (numbers[0], numbers[1])
      func segments(_ color: Color) -> [Rect] {
        canvas.operations.compactMap { if case .fill(let path, let c) = $0, c == color { return path.bounds } else { return nil } }
      }
      let positive = segments(Colormap.diverging(0.82)), negative = segments(Colormap.diverging(0.18))
      #expect(!positive.isEmpty && !negative.isEmpty, "\(layer): both signs drawn")
      let pw = positive.map(\.width).reduce(0, +), nw = negative.map(\.width).reduce(0, +)
      #expect(abs(pw / nw - p / abs(n)) < 1e-6 * max(1, p / abs(n)), "\(layer): widths in proportion to \(p) and \(n)")
      // Positives end where the negatives start; the negatives end at the marker.
      let positiveEnd = positive.map(\.maxX).max()!, negativeStart = negative.map(\.maxX).max()!, negativeEnd = negative.map(\.x).min()!
      #expect(abs(positiveEnd - negativeStart) < 1e-6)
      let marker = canvas.operations.compactMap { op -> Rect? in
        if case .stroke(let path, let c, _, _) = op, c == Theme.accent, let b = path.bounds, b.width == 0, b.height > 0 { return b }
        return nil
      }
      #expect(marker.contains { abs($0.x - negativeEnd) < 1e-6 }, "\(layer): the marker at z")
    }
  }

  @Test("conv-step: numbers in cells keep apart, x and W have colour strips, and the page is used to its bottom")
  func convStepLayout() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    for theme in Theme.all {
      let figure = try Catalogue.make(.convStep, source, options(theme))[0]
      let canvas = try record(figure)
      for grid in canvas.images where grid.raster.width > 1 && grid.raster.height > 1 {
        let cellWidth = grid.rect.width / Double(grid.raster.width)
        let inside = texts(in: grid.rect, of: canvas).sorted { ($0.box.midY, $0.box.x) < ($1.box.midY, $1.box.x) }
        for (a, b) in zip(inside, inside.dropFirst()) where abs(a.box.midY - b.box.midY) < 1 {
          #expect(b.box.x - a.box.maxX >= 0.15 * cellWidth, "'\(a.string)' and '\(b.string)' \(b.box.x - a.box.maxX) pt apart in \(theme.name)")
        }
      }
      for name in ["x", "W"] {
        let label = try #require(canvas.texts(name).first { $0.style.bold }, "a colour strip titled \(name)")
        #expect(canvas.images.contains { $0.raster.height == 1 && $0.raster.width > 8 && abs($0.rect.midY - label.box.midY) < 2 && $0.rect.x > label.box.maxX })
      }
      let content = Rect(figure.size).inset(theme.margin)
      #expect(canvas.texts.contains { $0.box.maxY >= content.maxY - content.height * 0.06 }, "\(theme.name): something written at the bottom")
    }
  }

  @Test("conv-step with many input channels writes every channel's partial sum under its number")
  func partialSums() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    var o = options()
    o.layer = "conv2"
    let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
    let title = try #require(canvas.texts.first { $0.string.hasPrefix("partial sums") })
    let below = canvas.texts.filter { $0.box.y > title.box.maxY }
    for c in 1...32 { #expect(below.contains { $0.string == String(c) }, "channel \(c)") }
  }

  @Test("conv-step refuses out-of-range options, naming the range")
  func options_() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    func refusal(_ change: (inout FigureOptions) -> Void) -> String {
      var o = options()
      change(&o)
      do { try Catalogue.check(.convStep, source, o); return "accepted" } catch { return error.description }
    }
    #expect(refusal { $0.filter = 9 } == "--filter 9 is beyond conv1's filters; choose 1 to 8")
    #expect(refusal { $0.layer = "dense1" }.contains("conv1, conv2"))
    #expect(refusal { $0.at = GridPosition(row: 9, column: 3) } == "--at 9,3 is outside conv1's 8×8 output; rows and columns run from 1 to 8")
    #expect(refusal { $0.at = GridPosition(row: 1, column: 0) }.contains("rows and columns run from 1 to 8"))
    #expect(refusal { $0.at = GridPosition(row: 8, column: 6); $0.positions = 4 }.contains("choose 1 to 3"))
    #expect(refusal { $0.layer = "conv2"; $0.at = GridPosition(row: 1, column: 1); $0.positions = 5 }.contains("choose 1 to 4"))
    #expect(refusal { $0.positions = 0 }.contains("--positions"))
    #expect(refusal { $0.layer = "conv2"; $0.at = GridPosition(row: 2, column: 2) } == "accepted")
  }

  @Test("conv figures refuse dense lessons", arguments: [
    (FigureKind.convStep, "digits-mlp", "no conv2d"), (.featureMaps, "iris-mlp", "has none"),
  ])
  func refusals(_ kind: FigureKind, _ lesson: String, _ phrase: String) throws {
    let source = try lessonSource(lesson, epochs: 0)
    do { try Catalogue.check(kind, source, options()); Issue.record("accepted") } catch { #expect(error.description.contains(phrase), "\(error.description)") }
  }

  // MARK: feature-maps

  @Test("feature maps: a row per image-shaped layer, every channel, numbered")
  func featureMaps() throws {
    let source = try lessonSource("test:small-cnn", epochs: 1)
    let canvas = try record(try Catalogue.make(.featureMaps, source, options())[0])
    let names = ["input", "conv1", "relu1", "maxpool1", "conv2", "relu2"]
    for name in names { #expect(canvas.texts(name).filter { $0.style.size == Theme.slide.labelSize }.count == 1, "row \(name)") }
    let maps = canvas.images.filter { $0.raster.width != 1 && $0.raster.height != 1 }  // not the colour strips
    #expect(maps.count == 1 + 8 + 8 + 8 + 16 + 16)
    #expect(maps[0].raster.width == 8 && maps[9].raster.width == 8 && maps[17].raster.width == 4 && maps[25].raster.width == 2)
    // Under every map of every layer but the input: 1…8 in five rows, 9…16 in two.
    for c in 1...16 { #expect(canvas.texts(String(c)).count == (c <= 8 ? 5 : 2), "channel \(c) numbered") }
  }

  @Test("feature maps of digits-cnn: all 32 channels of every layer, numbered, each map over its own range", arguments: Theme.all)
  func featureMapsRanges(_ theme: Theme) throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    var o = options(theme)
    o.sample = 3
    let canvas = try record(try Catalogue.make(.featureMaps, source, o)[0])
    // The engine's outputs, layer by layer, in evaluation mode.
    var a = source.run!.evaluationSet.data.x.gathering(rows: [2])
    var expected: [[Double]] = [a.data]
    var kinds: [Bool] = [true]  // input?
    for layer in source.model.layers {
      a = layer.forward(a, Step(training: false))
      guard a.rank == 4 else { break }
      let plane = a.shape[2] * a.shape[3]
      for c in 0..<a.shape[1] { expected.append(Array(a.data[c * plane..<(c + 1) * plane])); kinds.append(false) }
    }
    let maps = canvas.images.filter { $0.raster.width != 1 && $0.raster.height != 1 }
    #expect(maps.count == expected.count)
    // Every map but the input's numbered with its channel: 1…32 under each of the 7 layers.
    for c in 1...32 { #expect(canvas.texts(String(c)).count == (expected.count - 1) / 32, "channel \(c) numbered") }
    for (k, (map, values)) in zip(maps, expected).enumerated() {
      // Its own range: the largest value (or |value|) takes the colormap's end.
      let colormap: Colormap = kinds[k] ? .greys : values.allSatisfy { $0 >= 0 } ? .viridis : .diverging
      let scale: ColorScale = colormap.name == "RdBu" ? .symmetric(values) : .magnitude(values)
      #expect(map.raster == Raster(values: values, width: map.raster.width, colormap: colormap, scale: scale), "map \(k)")
      if let top = values.map(abs).max(), top > 0 {
        #expect(map.raster.pixels.contains(colormap(1)) || map.raster.pixels.contains(colormap(0)), "map \(k) reaches an end of its colours")
      }
    }
    #expect(canvas.texts.contains { $0.string.contains("own range") })
  }

  // MARK: Layout

  @Test("conv figures read well on slide and print", arguments: [FigureKind.convStep, .featureMaps, .overview], ["test:small-cnn", "digits-cnn"])
  func readable(_ kind: FigureKind, _ lesson: String) throws {
    let source = try lessonSource(lesson, epochs: 1)
    for theme in Theme.all {
      var variants = [options(theme)]
      if kind == .convStep {
        for layer in ["conv1", "conv2"] {
          var o = options(theme)
          o.layer = layer
          o.at = GridPosition(row: 1, column: 1)
          o.positions = 2
          variants.append(o)
        }
      }
      for o in variants {
        for figure in try Catalogue.make(kind, source, o) {
          try expectReadable(figure, theme)
          #expect(xmlError(try FigureFile.render(figure, as: .svg)) == nil)
        }
      }
    }
  }

  @Test("conv-step, feature-maps and overview for digits-cnn are quick (well under 0.5 s in a release build)")
  func quick() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    for kind in [FigureKind.convStep, .overview, .featureMaps] {
      var o = options()
      if kind == .convStep { o.layer = "conv2" }
      let clock = ContinuousClock()
      let elapsed = try clock.measure {
        let figure = try Catalogue.make(kind, source, o)[0]
        _ = try record(figure)
      }
      // A debug build is several times slower than release; this bound still catches a slow path.
      #expect(elapsed < .seconds(2), "\(kind.rawValue): \(elapsed)")
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
    // The grid that makes the squares largest on a slide: 12 columns, 6 rows of equal squares.
    #expect(Set(maps.map { ($0.rect.x * 100).rounded() }).count == 12)
    #expect(Set(maps.map { ($0.rect.y * 100).rounded() }).count == 6)
    #expect(maps.allSatisfy { abs($0.rect.width - $0.rect.height) < 1e-9 })
    #expect(canvas.texts("activation").count == 1)
  }
}
