import Foundation
import Testing
@testable import SheetNet

/// Hostile lessons get one line naming the key or line and the valid range, before anything large
/// is allocated; nothing crashes or hangs.
struct LessonLimitsTests {
  static let data = "data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}\nloss: binary_cross_entropy\n"

  /// The error a lesson gives when loaded and prepared, or "no error".
  func message(_ yaml: String, path: String = "bad.yaml") -> String {
    do {
      _ = try LessonRun(try Lesson.parse(yaml, path: path))
      return "no error"
    } catch {
      return error.description
    }
  }

  @Test func hugeLayersAreRefusedBeforeAllocation() {
    let dense = message(Self.data + "network:\n  - {type: dense, units: 999999999}\n")
    #expect(dense.contains("dense1") && dense.contains("50,000,000") && dense.contains("weights"), "\(dense)")
    let conv = message("data: {dataset: inline, x: [[1, 2, 3, 4]], y: [[1]], shape: [1, 2, 2]}\nloss: mse\nnetwork:\n  - {type: conv2d, filters: 999999, kernel: 99, padding: same}\n  - flatten\n  - {type: dense, units: 1}\n")
    #expect(conv.contains("conv1") && conv.contains("50,000,000"), "\(conv)")
    let batch = message("data: {dataset: digits}\nnetwork:\n  - {type: dense, units: 100000}\n  - {type: dense, units: 10}\ntrain: {batch_size: 100000}\n")
    #expect(batch.contains("GB") && batch.contains("batch_size"), "\(batch)")
  }

  @Test func shapesMustHavePositiveExtents() {
    for shape in ["[0, 64, 64]", "[-1, -2, 2]", "[]", "[1.5, 2]", "[1, 1, 1, 2]"] {
      let m = message("data: {dataset: inline, x: [[1, 2]], y: [[1]], shape: \(shape)}\nloss: mse\nnetwork: [flatten, {type: dense, units: 1}]\n")
      #expect(m.contains("line 1") && m.contains("'shape'") && m.contains("≥ 1"), "\(shape): \(m)")
    }
  }

  @Test func labelsMustBeClassNumbers() {
    for label in ["1e300", "-1", "0.5", "10000"] {
      let m = message("data: {dataset: inline, x: [[0], [1]], labels: [0, \(label)]}\nnetwork: [{type: dense, units: 2}]\n")
      #expect(m.contains("line 1") && m.contains("label 2") && m.contains("class numbers"), "\(label): \(m)")
    }
  }

  @Test func emptyFeaturesAreRefused() {
    let m = message("data: {dataset: inline, x: [[], []], labels: [0, 1]}\nnetwork: [{type: dense, units: 2}]\n")
    #expect(m.contains("line 1") && m.contains("'x'"), "\(m)")
  }

  @Test func aSplitThatLeavesNothingToTrainOnIsRefused() {
    let m = message("data: {dataset: inline, x: [[0], [1], [2], [3]], labels: [0, 1, 0, 1], split: {validation: 0.5, test: 0.4}}\nnetwork: [{type: dense, units: 2}]\n")
    #expect(m.contains("no samples to train on"), "\(m)")
  }

  @Test func yamlAliasesAndDeepNestingAreRefusedQuickly() {
    // The "billion laughs": nine levels of nine aliases each.
    var yaml = "a0: &a0 [x, x, x, x, x, x, x, x, x]\n"
    for i in 1...9 { yaml += "a\(i): &a\(i) [" + Array(repeating: "*a\(i - 1)", count: 9).joined(separator: ", ") + "]\n" }
    let start = Date()
    let m = message(yaml + "data: *a9\n")
    #expect(m.contains("bad.yaml") && m.contains("alias"), "\(m)")
    #expect(Date().timeIntervalSince(start) < 5)
    let deep = message(String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n")
    #expect(deep.contains("deeper than 64") || deep.contains("not valid YAML"), "\(deep)")
  }

  @Test func trainingLimitsAreStated() {
    let epochs = message(Self.data + "network: [{type: dense, units: 1}, sigmoid]\ntrain: {epochs: 1000000000}\n")
    #expect(epochs.contains("'epochs' must be between 0 and 100000"), "\(epochs)")
    let batch = message(Self.data + "network: [{type: dense, units: 1}, sigmoid]\ntrain: {batch_size: 0}\n")
    #expect(batch.contains("'batch_size' must be between 1 and 100000"), "\(batch)")
  }

  @Test func optimizerErrorsNameTheOptimizerAndItsLine() {
    let m = message(Self.data + "network: [{type: dense, units: 1}, sigmoid]\noptimizer: {type: sgd, learning_rate: fast}\n")
    #expect(m.contains("bad.yaml line 4, optimizer (sgd)") && !m.contains("layer 1"), "\(m)")
  }

  @Test func pathsStayInsideTheProject() throws {
    let folder = NSTemporaryDirectory() + "sheetnet-paths-\(getpid())/project/Worksheets"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: NSTemporaryDirectory() + "sheetnet-paths-\(getpid())") }
    let lesson = folder + "/leak.yaml"
    let read = message("data: {dataset: csv, file: ../../../../../../../../etc/passwd}\nnetwork: [{type: dense, units: 2}]\n", path: lesson)
    #expect(read.contains("outside the lesson's project") && !read.contains("root:"), "\(read)")
    let write = message(Self.data + "network: [{type: dense, units: 1}]\noutput: ../../../../x\n", path: lesson)
    #expect(write.contains("line 4") && write.contains("output '../../../../x' resolves to") && write.contains("--output"), "\(write)")
    // Inside the project (the folder above Worksheets/) is fine.
    #expect(!message(Self.data + "network: [{type: dense, units: 1}]\noutput: ../Output/inside\n", path: lesson).contains("outside"))
  }
}
