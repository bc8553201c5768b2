import CairoKit
import Foundation
import SheetNetFigures
import Testing

/// A small figure using every Canvas call: fills, strokes, text (both directions), an image.
func sampleFigure(_ theme: Theme = .print) -> Figure {
  Figure(name: "sample", size: theme.size) { canvas in
    let body = canvas.page(theme.size, theme, title: "Sample: σ(z) and a weight grid", subtitle: "every Canvas call once")
    let (left, right) = body.splitLeft(body.width * 0.5, gap: theme.gap)
    Plot(x: (-4, 4), y: (0, 1), xTitle: "z", yTitle: "σ(z)", series: [
      .init(points: stride(from: -4.0, through: 4, by: 0.1).map { ($0, 1 / (1 + exp(-$0))) }, color: ClassColors.color(0), label: "σ"),
    ]).draw(on: canvas, in: left, theme: theme)
    let values: [Double] = [0.15, -0.2, 0.25, -0.3, 0.4, -0.45]
    let scale = ColorScale.symmetric(values)
    let bar = ColorBar(colormap: .diverging, scale: scale, title: "W")
    let (barRect, mapRect) = right.splitRight(bar.width(on: canvas, theme: theme), gap: theme.gap * 0.5)
    Heatmap(values: values, rows: 2, columns: 3, colormap: .diverging, scale: scale).draw(on: canvas, in: mapRect, theme: theme)
    bar.draw(on: canvas, in: barRect, theme: theme)
  }
}

@Suite("CairoKit: surfaces, statuses, formats, determinism")
struct CairoKitTests {
  @Test("PNG: signature, size = scale × points, and pixels where the figure put them")
  func png() throws {
    let fig = Figure(name: "square", size: Size(40, 20)) { canvas in
      canvas.fill(Rect(Size(40, 20)), .white)
      canvas.fill(Rect(x: 0, y: 0, width: 20, height: 20), Color(hex: 0x0072B2))
    }
    let bytes = try FigureFile.render(fig, as: .png, scale: 2)
    #expect(Array(bytes.prefix(8)) == [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A])
    let pixels = try Surface.png(bytes).rgbaPixels()
    #expect(pixels.width == 80 && pixels.height == 40)
    #expect(Array(pixels.rgba[0..<4]) == [0x00, 0x72, 0xB2, 0xFF])
    let right = (10 * 80 + 70) * 4
    #expect(Array(pixels.rgba[right..<right + 4]) == [0xFF, 0xFF, 0xFF, 0xFF])
  }

  @Test("CairoKit's PNG encoder is lossless: Cairo's own reader gets every pixel back (RGB and RGBA)", arguments: [true, false])
  func pngEncoderLossless(_ opaque: Bool) throws {
    let figure = Figure(name: "mixed", size: Size(64, 40)) { canvas in
      if opaque { canvas.fill(Rect(Size(64, 40)), .white) }
      canvas.fill(Path.circle(Point(20, 20), radius: 15), Color(hex: 0xD55E00, alpha: 0.6))
      canvas.text("Ag 0.5", Point(40, 20), TextStyle(size: 9))
      canvas.image(Raster(values: (0..<16).map(Double.init), width: 4, colormap: .viridis, scale: .linear([0, 15])), in: Rect(x: 44, y: 26, width: 16, height: 12))
    }
    let surface = try FigureFile.pngSurface(figure, scale: 1.5)
    let ours = try Surface.png(try surface.pngBytes()).rgbaPixels()
    let cairos = try Surface.png(try surface.cairoPNGBytes()).rgbaPixels()
    #expect(ours.width == 96 && ours.height == 60)
    #expect(ours.rgba == cairos.rgba)
    #expect(try surface.pngBytes()[25] == (opaque ? 2 : 6))  // colour type: RGB or RGBA
  }

  @Test("DejaVu Sans loads from its file and measures as fontconfig's match for it does")
  func fonts() throws {
    let faces = try #require(try FontFaces.load(), "DejaVu Sans is not installed (fonts-dejavu-core)")
    #expect(faces.path.hasSuffix("DejaVuSans.ttf"))
    let context = try Context(try Surface.image(width: 1, height: 1))
    let direct = CairoCanvas(context, fonts: faces), toy = CairoCanvas(context, fonts: nil)
    for style in [TextStyle(size: 13), TextStyle(size: 22, bold: true)] {
      let a = direct.measure("∂L/∂W₁,₂ = −0.0123", style: style), b = toy.measure("∂L/∂W₁,₂ = −0.0123", style: style)
      #expect(abs(a.width - b.width) < 1e-6 && abs(a.ascent - b.ascent) < 1e-6, "\(a) vs \(b)")
    }
  }

  @Test("rasters stay sharp: nearest-neighbour pixels, no smoothing")
  func sharpImage() throws {
    let fig = Figure(name: "checker", size: Size(20, 20)) { canvas in
      canvas.image(Raster(width: 2, height: 2, pixels: [.black, .white, .white, .black]), in: Rect(Size(20, 20)))
    }
    let p = try Surface.png(try FigureFile.render(fig, as: .png, scale: 1)).rgbaPixels()
    for (x, y, v) in [(9, 9, 0), (10, 9, 255), (9, 10, 255), (10, 10, 0), (0, 19, 255)] as [(Int, Int, UInt8)] {
      #expect(p.rgba[(y * 20 + x) * 4] == v, "pixel (\(x), \(y))")
    }
  }

  @Test("SVG is well-formed XML and the same bytes every time, even within one process", arguments: Theme.all)
  func svg(_ theme: Theme) throws {
    let a = try FigureFile.render(sampleFigure(theme), as: .svg)
    let b = try FigureFile.render(sampleFigure(theme), as: .svg)
    #expect(xmlError(a) == nil)
    #expect(a == b)
    let text = String(decoding: a, as: UTF8.self)
    #expect(text.contains("<svg") && text.contains("id=\"surface1\"") && text.contains("#image1"))
  }

  @Test("PDF is the same bytes every time and carries no creation date")
  func pdf() throws {
    let a = try FigureFile.render(sampleFigure(), as: .pdf)
    let b = try FigureFile.render(sampleFigure(), as: .pdf)
    #expect(a == b)
    #expect(String(decoding: a.prefix(5), as: UTF8.self) == "%PDF-")
    #expect(!String(decoding: a, as: UTF8.self).contains("CreationDate"))
  }

  @Test("PNG is the same bytes every time")
  func pngDeterministic() throws {
    #expect(try FigureFile.render(sampleFigure(), as: .png, scale: 1) == FigureFile.render(sampleFigure(), as: .png, scale: 1))
  }

  @Test("sizes no surface can have are refused with a sentence")
  func invalidSizes() {
    #expect(throws: CairoError.self) { try FigureFile.render(sampleFigure(), as: .png, scale: 0) }
    #expect(throws: CairoError.self) { try FigureFile.render(sampleFigure(), as: .png, scale: 100) }
    #expect(throws: CairoError.self) { try Surface.image(width: 0, height: 10) }
    do {
      _ = try FigureFile.render(sampleFigure(), as: .png, scale: 0)
    } catch {
      #expect(error.description.contains("--scale"))
    }
  }

  @Test("a corrupt PNG is a typed error, not a crash")
  func corruptPNG() {
    #expect(throws: CairoError.self) { try Surface.png([1, 2, 3]) }
  }

  @Test("writing is atomic: the finished file appears, no temporary is left, bad folders are errors")
  func atomicWrite() throws {
    let folder = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-fig-\(ProcessInfo.processInfo.processIdentifier)")
    defer { try? FileManager.default.removeItem(at: folder) }
    let path = folder.appendingPathComponent("deep/er/sample.svg").path
    try FigureFile.write(sampleFigure(), as: .svg, to: path)
    #expect(FileManager.default.fileExists(atPath: path))
    let leftovers = try FileManager.default.contentsOfDirectory(atPath: (path as NSString).deletingLastPathComponent)
    #expect(leftovers.sorted() == [".sheetnet-manifest", "sample.svg"], "the figure and the manifest of the folder SheetNet made, no temporary")
    #expect(throws: CairoError.self) { try FigureFile.write(sampleFigure(), as: .svg, to: "/proc/sheetnet-cannot/x.svg") }
  }

  @Test("canonical SVG ids renumber definitions and references alike")
  func canonicalIDs() {
    let svg = ##"<g id="surface17"><image id="image21"/><use xlink:href="#image21"/><use xlink:href="#image30"/>data:image/png</g>"##
    let out = String(decoding: FigureFile.canonicalSVGIdentifiers(Array(svg.utf8)), as: UTF8.self)
    #expect(out == ##"<g id="surface1"><image id="image1"/><use xlink:href="#image1"/><use xlink:href="#image2"/>data:image/png</g>"##)
  }

  @Test("the sample figure reads well on both page sizes", arguments: Theme.all)
  func readable(_ theme: Theme) throws {
    try expectReadable(sampleFigure(theme), theme)
  }
}
