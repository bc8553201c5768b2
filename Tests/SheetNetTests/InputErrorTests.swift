import Foundation
import Testing
@testable import SheetNet

/// Bad input gets one clear message naming the file, line or layer, and what to do.
struct InputErrorTests {
  static let base = """
    data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
    loss: binary_cross_entropy
    """

  func message(_ yaml: String, file: String = "bad.yaml") -> String {
    do {
      let lesson = try Lesson.parse(yaml, path: file)
      _ = try LessonRun(lesson)
      return "no error"
    } catch {
      return error.description
    }
  }

  @Test func unknownLayerSuggestsTheNearest() {
    let m = message(Self.base + "\nnetwork:\n  - {type: dense, units: 1}\n  - sigmoud\n")
    #expect(m.contains("bad.yaml line 5") && m.contains("unknown layer type 'sigmoud'") && m.contains("did you mean 'sigmoid'?"), "\(m)")
  }

  @Test func unknownKeySuggestsTheNearest() {
    let m = message(Self.base + "\nnetwork:\n  - {type: dense, unit: 1}\n")
    #expect(m.contains("line 4") && m.contains("unknown key 'unit'") && m.contains("did you mean 'units'?"), "\(m)")
    let top = message("epoch: 3\n" + Self.base)
    #expect(top.contains("line 1") && top.contains("unknown key 'epoch'"), "\(top)")
  }

  @Test func sizesThatDoNotFitNameBothLayers() {
    let m = message(Self.base + "\nnetwork:\n  - {type: dense, units: 3}\n  - {type: dense, units: 1, weights: [[1, 2]]}\n")
    #expect(m.contains("layer 2 (dense2)") && m.contains("layer 1 (dense1)") && m.contains("1×3"), "\(m)")
    let classes = message(Self.base.replacingOccurrences(of: "[0, 1, 1, 0]", with: "[0, 1, 2, 0]") + "\nnetwork:\n  - {type: dense, units: 2}\n")
    #expect(classes.contains("3 classes") && classes.contains("2 outputs"), "\(classes)")
  }

  @Test func missingDataFile() {
    let m = message("data: {dataset: csv, file: nowhere.csv}\nnetwork: [relu]\n", file: "/tmp/lesson.yaml")
    #expect(m.contains("/tmp/nowhere.csv") && m.contains("no such data file"), "\(m)")
  }

  @Test func csvRaggedRowAndNonNumberNameFileAndLine() {
    #expect(throws: SheetNetError.data("my.csv line 3: 2 fields, but earlier rows have 3; every row needs the same number of columns")) {
      try CSVData.parse("a,b,label\n1,2,0\n3,1\n", file: "my.csv")
    }
    do {
      _ = try CSVData.parse("1,2,0\n3,x4,1\n", file: "my.csv")
      Issue.record("no error")
    } catch {
      #expect(error.description == "my.csv line 2, column 2: 'x4' is not a number")
    }
  }

  @Test func negativeLearningRate() {
    let m = message(Self.base + "\nnetwork: [{type: dense, units: 1}]\noptimizer: {type: sgd, learning_rate: -0.1}\n")
    #expect(m.contains("must not be negative"), "\(m)")
  }

  @Test func unwritableOutputFolder() throws {
    let file = NSTemporaryDirectory() + "sheetnet-file-\(getpid())"
    _ = FileManager.default.createFile(atPath: file, contents: Data("x".utf8))
    defer { try? FileManager.default.removeItem(atPath: file) }
    #expect(throws: SheetNetError.self) { try AtomicFile.write("model", to: file + "/out/model.json") }
    #expect(throws: SheetNetError.io("\(file) is a file, not a folder; choose another --output")) { try AtomicFile.makeFolder(file) }
  }

  @Test func malformedYAMLAndEmptyFile() {
    #expect(message("data: [unclosed\n").contains("not valid YAML"))
    #expect(message("").contains("empty"))
  }

  @Test func nonFiniteTrainingStopsWithEpochStepAndLayer() throws {
    let yaml = """
      data: {dataset: digits, preprocess: none, split: {test: 0.2}}
      network:
        - {type: dense, units: 32}
        - relu
        - {type: dense, units: 10}
      optimizer: {type: sgd, learning_rate: 1.0e+300}
      train: {epochs: 2, batch_size: 32}
      """
    let run = try LessonRun(try Lesson.parse(yaml, path: "absurd.yaml"))
    do {
      try run.train()
      Issue.record("training an absurd learning rate did not stop")
    } catch {
      let m = error.description
      #expect(m.contains("epoch 1, step") && m.contains("dense") && m.contains("Lower the learning rate"), "\(m)")
    }
  }
}

/// The command line prints one line and exits non-zero, writing nothing, on bad input.
struct CommandLineErrorTests {
  func sheetnet(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    let process = Process()
    process.executableURL = packageRoot.appendingPathComponent(".build/debug/sheetnet")
    if !FileManager.default.fileExists(atPath: process.executableURL!.path) {
      // Built under another scratch path: find the binary next to the test bundle.
      let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent()
      process.executableURL = here.appendingPathComponent("sheetnet")
    }
    process.arguments = args
    let out = Pipe(), err = Pipe()
    process.standardOutput = out
    process.standardError = err
    try process.run()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self),
            String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self))
  }

  @Test func badLessonGivesOneLineAndNoOutput() throws {
    let folder = NSTemporaryDirectory() + "sheetnet-cli-\(getpid())"
    let lesson = folder + ".yaml"
    try "data: {dataset: iris}\nnetwork:\n  - {type: dense, unitz: 3}\n".write(toFile: lesson, atomically: true, encoding: .utf8)
    defer { try? FileManager.default.removeItem(atPath: lesson) }
    let r = try sheetnet(["train", lesson, "--output", folder])
    #expect(r.status == 1)
    #expect(r.err.hasPrefix("sheetnet: error: ") && r.err.split(separator: "\n").count == 1, "\(r.err)")
    #expect(r.err.contains("did you mean 'units'?"))
    #expect(!FileManager.default.fileExists(atPath: folder))
  }
}
