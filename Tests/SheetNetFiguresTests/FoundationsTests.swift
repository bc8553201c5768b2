import Foundation
import SheetNetFigures
import Testing

@Suite("Figures foundations: colormaps, number formats, layout, recording canvas")
struct FoundationsTests {
  @Test("viridis hits its table at the stops and #21918c at the middle")
  func viridis() {
    let v = Colormap.viridis
    #expect(v(0) == Color(r: 0.267004, g: 0.004874, b: 0.329415))
    #expect(v(1) == Color(r: 0.993248, g: 0.906157, b: 0.143936))
    let mid = v(128.0 / 255)
    #expect(abs(mid.r * 255 - 0x21) < 1 && abs(mid.g * 255 - 0x91) < 1 && abs(mid.b * 255 - 0x8C) < 1)
  }

  @Test("sequential maps grow steadily lighter or darker", arguments: [Colormap.viridis, Colormap.greys])
  func monotonic(_ map: Colormap) {
    let l = (0...50).map { map(Double($0) / 50).luminance }
    let increasing = zip(l, l.dropFirst()).allSatisfy { $0 < $1 }, decreasing = zip(l, l.dropFirst()).allSatisfy { $0 > $1 }
    #expect(increasing || decreasing, "\(map.name) luminance is not monotonic: \(l)")
  }

  @Test("the diverging map puts zero on white and is symmetric in lightness")
  func diverging() {
    let s = ColorScale.symmetric([-0.3, 0.1, 0.2])
    #expect(s.lower == -0.3 && s.upper == 0.3)
    #expect(s(0) == 0.5)
    #expect(Colormap.diverging(s(0)) == Color(hex: 0xF7F7F7))
    for t in stride(from: 0.0, through: 0.5, by: 0.05) {
      #expect(abs(Colormap.diverging(0.5 - t).luminance - Colormap.diverging(0.5 + t).luminance) < 0.08, "t = \(t)")
    }
  }

  @Test("non-finite values get the 'bad' grey; values outside the scale clamp")
  func edges() {
    #expect(Colormap.viridis(.nan) == Colormap.viridis.bad)
    #expect(Colormap.viridis(-3) == Colormap.viridis(0))
    #expect(Colormap.viridis(7) == Colormap.viridis(1))
    #expect(ColorScale.magnitude([0, 0]).upper == 1)
  }

  @Test("text on a colour picks black or white by contrast")
  func legibleText() {
    #expect(Colormap.viridis(0).legibleText == .white)
    #expect(Colormap.viridis(1).legibleText == Theme.ink)
    #expect(Colormap.diverging(0.5).legibleText == Theme.ink)
  }

  @Test("numbers print the same in every locale, with a true minus and no −0", arguments: [
    (-0.12345, 3, "−0.123"), (-0.0004, 3, "0.000"), (2.5, 0, "3"), (-2.5, 0, "−3"), (0.1, 4, "0.1000"), (1234.5678, 2, "1234.57"),
  ])
  func fixed(_ x: Double, _ digits: Int, _ expected: String) {
    #expect(NumberFormat.fixed(x, digits: digits) == expected)
  }

  @Test("significant digits switch to ×10ⁿ outside 10⁻³…10⁵", arguments: [
    (0.0012345, "0.00123"), (9.996, "10.0"), (0.999, "0.999"), (1234.5, "1235"), (0.000012345, "1.23×10⁻⁵"),
    (-123456.0, "−1.23×10⁵"), (0.0, "0"), (0.2984, "0.298"),
  ])
  func significant(_ x: Double, _ expected: String) {
    #expect(NumberFormat.significant(x, 3) == expected)
  }

  @Test("integers, percentages and tick labels")
  func others() {
    #expect(NumberFormat.integer(1797) == "1,797")
    #expect(NumberFormat.integer(-1234567) == "−1,234,567")
    #expect(NumberFormat.percent(0.97222) == "97.2%")
    #expect(NumberFormat.ticks([0, 0.5, 1], step: 0.5) == ["0.0", "0.5", "1.0"])
    #expect(NumberFormat.ticks([0, 20, 40], step: 20) == ["0", "20", "40"])
  }

  @Test("nice ticks step by 1, 2, 2.5 or 5 × 10ᵏ and stay inside the range")
  func ticks() {
    let t = Ticks.nice(-0.37, 1.42, count: 5)
    #expect(t.step == 0.5)
    #expect(t.values == [0, 0.5, 1])
    #expect(Ticks.padded(0.13, 0.91) == (0, 1))
    #expect(Ticks.decades(0.003, 2) == [0.001, 0.01, 0.1, 1, 10])
  }

  @Test("splitting a rectangle leaves the rest, with gaps")
  func layout() {
    let page = Rect(x: 0, y: 0, width: 100, height: 50)
    let (top, rest) = page.splitTop(10, gap: 5)
    #expect(top == Rect(x: 0, y: 0, width: 100, height: 10))
    #expect(rest == Rect(x: 0, y: 15, width: 100, height: 35))
    let (left, right) = page.splitLeft(30)
    #expect(left.width == 30 && right.x == 30 && right.width == 70)
    let cols = page.columns(3, gap: 5)
    #expect(cols.map(\.width) == [30, 30, 30] && cols[2].maxX == 100)
    #expect(page.rows(2, weights: [1, 4]).map(\.height) == [10, 40])
    #expect(page.grid(rows: 2, columns: 2).count == 4)
    #expect(page.fitted(aspect: 1) == Rect(x: 25, y: 0, width: 50, height: 50))
    #expect(Rect(x: 0, y: 0, width: 400, height: 400).bestGrid(count: 64) == (8, 8))
    #expect(Rect(x: 0, y: 0, width: 800, height: 200).bestGrid(count: 8) == (2, 4))
    #expect(page.inset(60) == Rect(x: 60, y: 60, width: 0, height: 0))
  }

  @Test("anchored text lands where asked; overlaps are found")
  func recordingCanvas() {
    let canvas = RecordingCanvas()
    let box = canvas.text("0.25", Point(100, 50), TextStyle(size: 10), anchor: .center)
    #expect(abs(box.midX - 100) < 1e-9 && abs(box.midY - 50) < 1e-9)
    #expect(canvas.texts("0.25").first.map { abs($0.box.y - box.y) < 1e-9 && $0.box.x == box.x } == true)
    let vertical = canvas.text("loss", Point(20, 100), TextStyle(size: 10, vertical: true), anchor: .center)
    #expect(abs(vertical.midX - 20) < 1e-9 && abs(vertical.midY - 100) < 1e-9 && vertical.height > vertical.width)
    #expect(canvas.texts("loss").first.map { abs($0.box.y - vertical.y) < 1e-9 && abs($0.box.x - vertical.x) < 1e-9 } == true)
    #expect(canvas.overlappingTexts().isEmpty)
    canvas.text("0.5", Point(102, 50), TextStyle(size: 10))
    #expect(canvas.overlappingTexts().count == 1)
  }

  @Test("a colour bar is labelled: its title and ticks from lower to upper")
  func colorBar() {
    let canvas = RecordingCanvas()
    let bar = ColorBar(colormap: .diverging, scale: .symmetric([-1, 0.4]), title: "∂L/∂W")
    bar.draw(on: canvas, in: Rect(x: 0, y: 0, width: bar.width(on: canvas, theme: .slide), height: 300), theme: .slide)
    let strings = canvas.texts.map(\.string)
    #expect(strings.first == "∂L/∂W")
    #expect(strings.contains("−1.0") && strings.contains("0.0") && strings.contains("1.0"))
    #expect(canvas.images.count == 1)
    #expect(canvas.overlappingTexts().isEmpty)
  }

  @Test("a heat map writes every value in its own cell when the cells are large enough")
  func heatmap() {
    let canvas = RecordingCanvas()
    let map = Heatmap(values: [1, -2, 3.5, 0], rows: 2, columns: 2, colormap: .diverging, scale: .symmetric([1, -2, 3.5, 0]))
    let rect = Rect(x: 10, y: 10, width: 200, height: 200)
    #expect(map.draw(on: canvas, in: rect, theme: .slide))
    for (i, s) in ["1", "−2", "3.5", "0"].enumerated() {
      let placed = canvas.texts(s)
      #expect(placed.count == 1)
      #expect(map.cell(i / 2, i % 2, in: rect).contains(placed[0].box))
    }
    let tiny = Heatmap(values: [Double](repeating: 0.123, count: 400), rows: 20, columns: 20, colormap: .viridis, scale: .linear([0, 1]))
    #expect(!tiny.draw(on: RecordingCanvas(), in: Rect(x: 0, y: 0, width: 100, height: 100), theme: .slide))
  }

  @Test("a polyline keeps the points that matter: corners stay, straight runs go, nothing strays past the tolerance")
  func essentialPoints() {
    let line = (0...10).map { Point(Double($0), 2 * Double($0) + 1) }
    #expect(Path.essential(line, tolerance: 0.01) == [line[0], line[10]])
    // A ReLU: flat, a corner at x = 5, then straight up.
    let relu = (0...10).map { Point(Double($0), Double(max(0, $0 - 5))) }
    #expect(Path.essential(relu, tolerance: 0.01) == [relu[0], relu[5], relu[10]])
    // A sampled sine: every dropped point lies within the tolerance of the kept line.
    let sine = (0...400).map { Point(Double($0) / 10, 20 * sin(Double($0) / 40)) }
    let kept = Path.essential(sine, tolerance: 0.02)
    #expect(kept.count < sine.count / 4 && kept.first == sine.first && kept.last == sine.last)
    for q in sine {  // its distance to the kept segment it falls under
      let i = kept.lastIndex { $0.x <= q.x }!, j = min(i + 1, kept.count - 1)
      let (a, b) = (kept[i], kept[j])
      let (dx, dy) = (b.x - a.x, b.y - a.y)
      let d = i == j ? 0 : abs(dx * (q.y - a.y) - dy * (q.x - a.x)) / (dx * dx + dy * dy).squareRoot()
      #expect(d <= 0.02, "x = \(q.x)")
    }
    #expect(Path.essential([Point(1, 1), Point(1, 1), Point(1, 1)], tolerance: 0.1) == [Point(1, 1), Point(1, 1)])
  }
}
