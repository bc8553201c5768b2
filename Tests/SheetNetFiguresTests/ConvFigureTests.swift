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

  /// The written terms of one page, added up at the written precision: the sum line's terms
  /// (with its rounding term, if any) to its total, the partial sums, b and the rounding to z,
  /// positives + negatives (+ rounding) to z; the products to the channel's Σ within the rounding
  /// of each (half a unit each); and z against the engine's. Returns the rounding written.
  @discardableResult
  func expectTermsAddUp(_ canvas: RecordingCanvas, z exact: Double, channels: Int, bias: Bool, _ label: String) throws -> Int {
    let zText = try #require(canvas.texts.first { $0.string.hasPrefix("z") && $0.string.contains(" = ") && $0.style.color == Theme.accent }).string
    let zWritten = String(zText.split(separator: " = ").last!)
    // The decimals the page says it rounds to: "every number: its exact value rounded to 2 decimals …".
    let note = try #require(canvas.texts.first { $0.string.hasPrefix("every number") && $0.string.contains("rounded to ") }).string
    let d = try #require(Int(note[note.range(of: "rounded to ")!.upperBound...].prefix { $0.isNumber }))
    #expect(d >= 2, "\(label): z written with \(d) decimals")
    let zUnits = writtenUnits(zWritten, d)
    #expect(abs(writtenNumber(zWritten)! - exact) <= 0.5 * pow(10, -Double(d)) + 1e-12, "\(label): \(zWritten) against the engine's \(exact)")
    // Every number written at d decimals (or 0).
    func units(_ s: String) -> Int {
      let s = s.replacingOccurrences(of: " rounding", with: "")
      #expect(s == "0" || s.trimmingCharacters(in: CharacterSet(charactersIn: "()")) == "0" || writtenDecimals(s) == d, "\(label): \(s) not at \(d) decimals")
      return writtenUnits(s, d)
    }
    // Positives + negatives (+ rounding) = z.
    let split = try #require(canvas.texts.first { $0.string.hasPrefix("positives ") || ($0.string.contains(" rounding = ") && !$0.style.bold) }).string
    let numbers = split.replacingOccurrences(of: "positives ", with: "").replacingOccurrences(of: "negatives ", with: "")
      .components(separatedBy: " = ").flatMap { $0.components(separatedBy: " + ") }
    let rounding = numbers.count == 4 ? units(numbers[2]) : 0
    #expect((numbers.count == 3 || (numbers.count == 4 && numbers[2].hasSuffix(" rounding") && rounding != 0))
            && numbers.dropLast().map(units).reduce(0, +) == units(numbers.last!) && units(numbers.last!) == zUnits, "\(label): \(split)")
    // Products → Σ, each product within half a unit.
    let products = try #require(image(below: "x ⊙ W", in: canvas), "\(label): products grid")
    let productTexts = texts(in: products.rect, of: canvas).map(\.string)
    #expect(productTexts.count == products.raster.width * products.raster.height, "\(label): every product written")
    let sigma = try #require(canvas.texts.first { $0.string.hasPrefix("Σ = ") }).string
    let partial = units(String(sigma.split(separator: " = ").last!))
    #expect(2 * abs(productTexts.map(units).reduce(0, +) - partial) <= productTexts.count + 1, "\(label): products \(productTexts) add up to \(sigma) within their rounding")
    // Partial sums (+ b) + rounding → z.
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
      #expect(cells.map(units).reduce(0, +) + b + rounding == zUnits, "\(label): partial sums \(cells) + b + rounding add up to \(zWritten)")
      let detail = sigma.split(separator: " = ")[1]  // "S₇"
      #expect(detail.hasPrefix("S"))
    } else if heading.components(separatedBy: " = ").count == 4 {
      // "z = Σ x ⊙ W + b = t₁ + … + t₉ + b [+ r rounding] = z"
      let parts = heading.components(separatedBy: " = ")
      let terms = parts[2].components(separatedBy: " + ")
      #expect(terms.count == products.raster.width * products.raster.height + (bias ? 1 : 0) + (rounding == 0 ? 0 : 1))
      #expect(terms.map(units).reduce(0, +) == units(parts[3]) && units(parts[3]) == zUnits, "\(label): \(heading)")
      #expect(zip(productTexts, terms).allSatisfy { units($0) == units($1) }, "\(label): the sum line's terms are the grid's products")
    } else {
      // Too long for the page: "z = Σ x ⊙ W + b (b = 0.05), the 9 products and the bias".
      if bias {
        let b0 = try #require(heading.range(of: "(b = "), "\(label): b written")
        b = units(String(heading[b0.upperBound...].prefix { $0 != ")" }))
      }
    }
    return rounding
  }

  /// Fails on the old rule, which nudged products so that they add up (1 × 0.3649 written 0.37).
  @Test("every written product is the exact x·W rounded to the nearest, and where the rounded terms miss z the rounding is written",
        arguments: ["conv1", "conv2"])
  func exactProducts(_ layer: String) throws {
    let source = try lessonSource("digits-cnn", epochs: 2)
    let (x, z, conv) = convNumbers(source, layer, sample: 0)
    let g = conv.window!, w = conv.W.value.data
    var roundings = 0, pages = 0
    for p in stride(from: 0, to: g.positions, by: 3) {
      var o = options()
      o.layer = layer
      o.at = GridPosition(row: p / g.outW + 1, column: p % g.outW + 1)
      let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
      if try expectTermsAddUp(canvas, z: z[p], channels: g.channels, bias: conv.useBias, "\(layer) at \(p)") != 0 { roundings += 1 }
      pages += 1
      // The detail channel (named in the subtitle for several) and its window's exact products.
      let c = g.channels == 1 ? 0 : try #require(canvas.texts.lazy.compactMap { t -> Int? in
        guard t.string.hasSuffix(" in detail"), let r = t.string.range(of: "channel ", options: .backwards) else { return nil }
        return Int(t.string[r.upperBound...].prefix { $0.isNumber })
      }.first) - 1
      let (i, j) = (p / g.outW, p % g.outW)
      let products = try #require(image(below: "x ⊙ W", in: canvas))
      let written = texts(in: products.rect, of: canvas).sorted { ($0.box.midY, $0.box.x) < ($1.box.midY, $1.box.x) }.map(\.string)
      let d = writtenDecimals(written.first { $0 != "0" } ?? "0.00")
      for u in 0..<g.kernelH {
        for v in 0..<g.kernelW {
          let (y, xx) = (i * g.strideH + u - g.padTop, j * g.strideW + v - g.padLeft)
          let input = y >= 0 && y < g.height && xx >= 0 && xx < g.width ? x[(c * g.height + y) * g.width + xx] : 0
          let exact = input * w[((0 * g.channels + c) * g.kernelH + u) * g.kernelW + v]
          let rounded = (exact * pow(10, Double(d))).rounded(.toNearestOrAwayFromZero)
          let k = u * g.kernelW + v
          #expect(rounded == 0 ? written[k] == "0" : writtenUnits(written[k], d) == Int(rounded),
                  "\(layer) at \(p), cell \(k): written \(written[k]), exact \(exact)")
        }
      }
    }
    #expect(roundings > 0, "\(layer): some of the \(pages) pages need a rounding term (else this test could not tell the rules apart)")
  }

  @Test("conv-step writes nothing under 16 pt on a slide: cell numbers and bar labels included", arguments: ["conv1", "conv2"])
  func sixteenPoints(_ layer: String) throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    var o = options()
    o.layer = layer
    let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
    let small = canvas.texts.filter { $0.style.size < Theme.slide.minimumSize - 1e-9 }.map { "'\($0.string)' \($0.style.size) pt" }
    #expect(small.isEmpty, "\(small)")
  }

  @Test("the layout audit lets a number go under 16 pt only inside a grid cell (an image), not on a bar")
  func auditCellNumbers() throws {
    let canvas = try recording()
    canvas.fill(Rect(x: 100, y: 100, width: 200, height: 40), Colormap.diverging(0.82))
    canvas.text("0.41", Point(150, 120), TextStyle(size: 14))
    canvas.image(Raster(width: 1, height: 1, pixels: [Color.white]), in: Rect(x: 100, y: 200, width: 60, height: 40))
    canvas.text("0.63", Point(130, 220), TextStyle(size: 14))
    let problems = LayoutAudit(canvas, size: Theme.slide.size, theme: .slide).problems.filter { $0.contains(" pt, under ") }
    #expect(problems.count == 1 && problems[0].hasPrefix("'0.41'") && problems[0].contains("outside a grid cell"), "\(problems)")
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

  @Test("the contribution bar stacks the terms so that they reach z: positives from 0, negatives back from their sum to the marker at z")
  func contributionBar() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    for layer in ["conv1", "conv2"] {
      var o = options()
      o.layer = layer
      let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
      let split = try #require(canvas.texts.first { $0.string.hasPrefix("positives ") || ($0.string.contains(" rounding = ") && !$0.style.bold) }).string
      let numbers = split.replacingOccurrences(of: "positives ", with: "").replacingOccurrences(of: "negatives ", with: "")
        .replacingOccurrences(of: " rounding", with: "").components(separatedBy: " = ").flatMap { $0.components(separatedBy: " + ") }.compactMap(writtenNumber)
      let (p, n) = (numbers[0], numbers[1])
      func segments(_ color: Color) -> [Rect] {
        canvas.operations.compactMap { if case .fill(let path, let c) = $0, c == color { return path.bounds } else { return nil } }
      }
      let positive = segments(Colormap.diverging(0.82)), negative = segments(Colormap.diverging(0.18))
      let rounding = segments(Color(hex: 0xB0B0B0))
      #expect(!positive.isEmpty && !negative.isEmpty, "\(layer): both signs drawn")
      let pw = positive.map(\.width).reduce(0, +), nw = negative.map(\.width).reduce(0, +)
      #expect(abs(pw / nw - p / abs(n)) < 1e-6 * max(1, p / abs(n)), "\(layer): widths in proportion to \(p) and \(n)")
      // Positives (and a positive rounding) end where the negatives start; the negatives (and a
      // negative rounding) end at the marker.
      let up = rounding.filter { $0.y < negative[0].y }, down = rounding.filter { $0.y >= negative[0].y }
      let positiveEnd = (positive + up).map(\.maxX).max()!, negativeStart = negative.map(\.maxX).max()!, negativeEnd = (negative + down).map(\.x).min()!
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

  @Test("conv-step with many input channels writes every channel's partial sum, each row named by its channels")
  func partialSums() throws {
    let source = try lessonSource("digits-cnn", epochs: 1)
    var o = options()
    o.layer = "conv2"
    let canvas = try record(try Catalogue.make(.convStep, source, o)[0])
    let title = try #require(canvas.texts.first { $0.string.hasPrefix("partial sums") })
    let strips = canvas.images.filter { $0.raster.height == 1 && $0.raster.width > 1 && $0.rect.y > title.box.maxY }.sorted { $0.rect.y < $1.rect.y }
    #expect(strips.map(\.raster.width).reduce(0, +) == 32)
    var first = 1
    for strip in strips {
      let name = "\(first)–\(first + strip.raster.width - 1)"
      #expect(canvas.texts(name).contains { abs($0.box.midY - strip.rect.midY) < 1 && $0.box.maxX <= strip.rect.x }, "row \(name) named at its left")
      #expect(texts(in: strip.rect, of: canvas).count == strip.raster.width, "row \(name): every S written")
      first += strip.raster.width
    }
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
    // The grid that makes the squares largest on a slide: 11 columns, 6 rows of equal squares
    // (12 × 6 gives the same rows and smaller squares, 8 × 8 leaves the slide's sides empty).
    #expect(Set(maps.map { ($0.rect.x * 100).rounded() }).count == 11)
    #expect(Set(maps.map { ($0.rect.y * 100).rounded() }).count == 6)
    #expect(maps.allSatisfy { abs($0.rect.width - $0.rect.height) < 1e-9 })
    #expect(canvas.texts("activation").count == 1)
  }
}
