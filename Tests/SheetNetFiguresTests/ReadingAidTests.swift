import CairoKit
import Foundation
@testable import SheetNet
@testable import SheetNetFigures
import Testing

/// Edge strokes of a neuron diagram: two-point lines not in ink (neuron rings are ink), with
/// their weight's colour (opacity apart), opacity and dash.
private func edgeStrokes(_ canvas: RecordingCanvas) -> [(from: Point, to: Point, color: Color, dash: [Double])] {
  canvas.operations.compactMap { op in
    guard case .stroke(let path, let c, _, let dash) = op, path.elements.count == 2, c != Theme.ink,
          case .move(let a) = path.elements[0], case .line(let b) = path.elements[1] else { return nil }
    return (a, b, c, dash)
  }
}

/// What a student reads off the smaller figures: class names instead of bare numbers, how many
/// edges an architecture draws and where its colour scale ends, each mistake's probability, and
/// an overview's labels all on one side of their columns.
@Suite("Reading aids: class names, edges drawn, a robust colour scale, p on mistakes, labels on one side")
struct ReadingAidTests {
  // MARK: confusion

  @Test("class names: the dataset's own (species, letters, digits), else \"class k\" for numbered classes",
        arguments: [("xor", ["class 0", "class 1"]), ("spiral", ["class 0", "class 1"]), ("iris-mlp", ["setosa", "versicolor", "virginica"]),
                    ("digits-mlp", (0...9).map(String.init)), ("letters-cnn", ["A", "B", "C", "D", "E", "F", "G", "H", "I", "J"])])
  func classNames(_ lesson: String, _ names: [String]) throws {
    let source = try lessonSource(lesson, epochs: 1)
    let canvas = try record(try Catalogue.make(.confusion, source, options())[0])
    let grid = try #require(canvas.images.first { $0.raster.width == names.count }).rect
    for (k, name) in names.enumerated() {
      // Once over its column (above the grid), once beside its row (left of it).
      let placed = canvas.texts(name)
      let column = Rect(x: grid.x + grid.width * Double(k) / Double(names.count), y: 0, width: grid.width / Double(names.count), height: grid.y)
      let row = Rect(x: 0, y: grid.y + grid.height * Double(k) / Double(names.count), width: grid.x, height: grid.height / Double(names.count))
      #expect(placed.contains { column.contains($0.box.center) }, "\(lesson): \(name) over column \(k)")
      #expect(placed.contains { row.contains($0.box.center) }, "\(lesson): \(name) beside row \(k)")
    }
    // No bare class number names a 2-class set's rows.
    if names.count == 2 { #expect(canvas.texts("0").allSatisfy { grid.contains($0.box) } && canvas.texts("1").allSatisfy { grid.contains($0.box) }) }
  }
}
