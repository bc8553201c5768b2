import Foundation
import Testing
@testable import SheetNet

/// `sheetnet figure` reuses the lesson's saved model when it matches, and then draws the very
/// same figure, byte for byte, as after training; anything that changes the run retrains.
@Suite(.serialized) struct FigureReuseTests {
  /// Runs the built binary in `folder`: (status, stdout, stderr).
  func sheetnet(_ arguments: [String], in folder: String) throws -> (Int32, String, String) { try runSheetnet(arguments, in: folder) }

  /// "trained" or "reused", from `--json`.
  func model(_ json: String) -> String? {
    guard let v = try? Value.parseJSON(json) else { return nil }
    return v["model"]?.string
  }

  @Test("trained, then reused with identical bytes; --retrain, a changed lesson and another seed train", arguments: [
    ("xor", "decision-boundary"), ("iris-mlp", "training"),
  ])
  func reuse(_ lesson: String, _ kind: String) throws {
    let root = NSTemporaryDirectory() + "sheetnet-reuse-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    var text = try String(contentsOfFile: packagePath("Worksheets/\(lesson).yaml"), encoding: .utf8)
    if lesson == "iris-mlp" { text = text.replacingOccurrences(of: "epochs: 100", with: "epochs: 12") }
    try text.write(toFile: "\(root)/Worksheets/\(lesson).yaml", atomically: true, encoding: .utf8)
    let args = ["figure", kind, "Worksheets/\(lesson).yaml", "--format", "svg", "--json"]
    let svg = "\(root)/Output/\(lesson)/figures/\(kind).svg"

    let first = try sheetnet(args, in: root)
    #expect(first.0 == 0, "\(first.2)")
    #expect(model(first.1) == "trained")
    let trainedBytes = FileManager.default.contents(atPath: svg)
    #expect(FileManager.default.fileExists(atPath: "\(root)/Output/\(lesson)/model.json"))

    let second = try sheetnet(args, in: root)
    #expect(model(second.1) == "reused")
    #expect(FileManager.default.contents(atPath: svg) == trainedBytes, "the reused model draws a different figure")

    let forced = try sheetnet(args + ["--retrain"], in: root)
    #expect(model(forced.1) == "trained")
    #expect(FileManager.default.contents(atPath: svg) == trainedBytes)

    // Another seed trains, and saves nothing: the lesson's folder keeps the lesson's own model.
    let saved = FileManager.default.contents(atPath: "\(root)/Output/\(lesson)/model.json")
    let seeded = try sheetnet(args + ["--seed", "7"], in: root)
    #expect(model(seeded.1) == "trained")
    #expect(model(try sheetnet(args + ["--seed", "7"], in: root).1) == "trained")
    #expect(FileManager.default.contents(atPath: "\(root)/Output/\(lesson)/model.json") == saved, "the seed-7 model replaced the lesson's")
    #expect(model(try sheetnet(args, in: root).1) == "reused")

    try (text + "\n# edited\n").write(toFile: "\(root)/Worksheets/\(lesson).yaml", atomically: true, encoding: .utf8)
    #expect(model(try sheetnet(args, in: root).1) == "trained")

    // A damaged saved model is retrained with a note, not fatal; the figure is still right.
    try "{\"format\": \"sheetnet-model\"".write(toFile: "\(root)/Output/\(lesson)/model.json", atomically: true, encoding: .utf8)
    try text.write(toFile: "\(root)/Worksheets/\(lesson).yaml", atomically: true, encoding: .utf8)
    let damaged = try sheetnet(args, in: root)
    #expect(damaged.0 == 0 && model(damaged.1) == "trained")
    #expect(damaged.2.contains("note: retraining"))
    #expect(FileManager.default.contents(atPath: svg) == trainedBytes)
  }
}
