import CairoKit
import Foundation
#if canImport(FoundationXML)
  import FoundationXML
#endif
import SheetNet
import SheetNetFigures
import Testing

/// The folder holding the package (for Worksheets/ and the reference images).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A path inside the package.
func packagePath(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

/// SHEETNET_RECORD=1, the one re-record switch of every snapshot suite (trace text, reference
/// images, the gallery), rewrites the reference PNGs; the run then fails on purpose so a recording never
/// passes for a check.
let recordReferences = ProcessInfo.processInfo.environment["SHEETNET_RECORD"] == "1"

/// Measures text with Cairo's real DejaVu Sans metrics, for overlap checks on a `RecordingCanvas`.
func cairoMeasurer() throws -> (String, TextStyle) -> TextExtents {
  let context = try Context(try Surface.image(width: 1, height: 1))
  let canvas = CairoCanvas(context, fonts: try FontFaces.load())
  return { canvas.measure($0, style: $1) }
}

/// A recording canvas with real font metrics.
func recording() throws -> RecordingCanvas { RecordingCanvas(measurer: try cairoMeasurer()) }

/// Draws `figure` on a recording canvas with real font metrics.
func record(_ figure: Figure) throws -> RecordingCanvas {
  let canvas = try recording()
  figure.draw(canvas)
  return canvas
}

/// Checks the theme's typography and spacing rules (`LayoutAudit`): no text under the theme's
/// minimum (numbers in cells excepted down to `cellMinimum`), text kept `clearance` apart and off
/// image edges, nothing within half a margin of the page's edge, at most 25 % of the page empty.
func expectReadable(_ figure: Figure, _ theme: Theme, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let canvas = try record(figure)
  let audit = LayoutAudit(canvas, size: figure.size, theme: theme)
  for problem in audit.problems.prefix(8) {
    Issue.record("\(figure.name) (\(theme.name)): \(problem)", sourceLocation: sourceLocation)
  }
  if audit.problems.count > 8 {
    Issue.record("\(figure.name) (\(theme.name)): and \(audit.problems.count - 8) more problems", sourceLocation: sourceLocation)
  }
}

/// Compares `figure` rendered at scale 1 with `References/<name>.png`: the same size, and no
/// more than 0.5% of pixels differing by more than 48 in any channel (antialiasing may move).
func expectMatchesReference(_ figure: Figure, _ name: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
  try expectMatchesReference(figure, path: packagePath("Tests/SheetNetFiguresTests/References/\(name).png"), sourceLocation: sourceLocation)
}

/// Compares `figure` rendered at scale 1 with the PNG at `path` (see above).
func expectMatchesReference(_ figure: Figure, path: String, sourceLocation: SourceLocation = #_sourceLocation) throws {
  let name = (path as NSString).lastPathComponent
  let bytes = try FigureFile.render(figure, as: .png, scale: 1)
  if recordReferences {
    try FigureFile.writeAtomically(bytes, to: path)
    Issue.record("recorded \(path); unset SHEETNET_RECORD and run again", sourceLocation: sourceLocation)
    return
  }
  guard let data = FileManager.default.contents(atPath: path) else {
    Issue.record("no reference image \(path); run with SHEETNET_RECORD=1 to record it", sourceLocation: sourceLocation)
    return
  }
  let expected = try Surface.png([UInt8](data)).rgbaPixels()
  let actual = try Surface.png(bytes).rgbaPixels()
  #expect(expected.width == actual.width && expected.height == actual.height,
          "\(name): \(actual.width)×\(actual.height), reference \(expected.width)×\(expected.height)", sourceLocation: sourceLocation)
  guard expected.width == actual.width, expected.height == actual.height else { return }
  var differing = 0
  for p in 0..<(actual.width * actual.height) {
    let d = (0..<4).map { abs(Int(actual.rgba[p * 4 + $0]) - Int(expected.rgba[p * 4 + $0])) }.max()!
    if d > 48 { differing += 1 }
  }
  let fraction = Double(differing) / Double(actual.width * actual.height)
  #expect(fraction <= 0.005, "\(name): \(NumberFormat.percent(fraction, digits: 2)) of pixels differ from the reference", sourceLocation: sourceLocation)
}

/// Parses `bytes` as XML and returns the parser error, if any.
func xmlError(_ bytes: [UInt8]) -> (any Error)? {
  let parser = XMLParser(data: Data(bytes))
  return parser.parse() ? nil : (parser.parserError ?? CocoaError(.fileReadCorruptFile))
}

/// The lesson `Worksheets/<name>.yaml`, its run built and trained for `epochs` (the lesson's
/// own count when nil; 0 leaves it as initialised).
/// Names starting `test:` come from the tests' own Lessons/ folder (fixed shapes the tests count
/// on, whatever happens to Worksheets/).
func lessonSource(_ name: String, epochs: Int? = nil) throws -> FigureSource {
  let path = name.hasPrefix("test:") ? "Tests/SheetNetFiguresTests/Lessons/\(name.dropFirst(5)).yaml" : "Worksheets/\(name).yaml"
  LetterRenderer.register()  // as the sheetnet command does at start (dataset: letters)
  let lesson = try Lesson.load(packagePath(path))
  if lesson.data.dataset == "none" { return try FigureSource(lessonWithoutData: lesson, seed: nil) }
  let run = try LessonRun(lesson)
  if let epochs { run.trainer.epochs = epochs }
  if run.trainer.epochs > 0 { try run.train() }
  return FigureSource(run: run)
}

/// Options for a page size.
func options(_ theme: Theme = .slide, trained: Bool = true) -> FigureOptions {
  var o = FigureOptions()
  o.theme = theme
  o.trained = trained
  return o
}
