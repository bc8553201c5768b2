import Foundation
import SheetNet
import Testing

/// A saved model is reused only when it was made from the same lesson text, data, seed, epochs
/// and SheetNet version, and then restores exactly what training gives.
@Suite("Saved runs: reuse model.json and history.csv without retraining")
struct SavedRunTests {
  /// A temporary folder holding `files`, removed by the caller.
  func folder(_ files: [String: String]) throws -> String {
    let dir = NSTemporaryDirectory() + "sheetnet-saved-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    for (name, text) in files { try text.write(toFile: "\(dir)/\(name)", atomically: true, encoding: .utf8) }
    return dir
  }

  /// Trains `lesson` and saves model.json and history.csv as `sheetnet train` does.
  func trainAndSave(_ lesson: Lesson, into dir: String, seed: UInt64? = nil) throws -> LessonRun {
    let run = try LessonRun(lesson, seed: seed)
    try run.train()
    try ModelFile(run: run).save(to: "\(dir)/model.json")
    try run.history.csv(layers: run.model.layers.map(\.name)).write(toFile: "\(dir)/history.csv", atomically: true, encoding: .utf8)
    return run
  }

  @Test("a restored run has the trained run's weights, optimizer state, step count and history, bit for bit", arguments: ["iris-mlp", "digits-cnn"])
  func restores(_ name: String) throws {
    let dir = try folder([:])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    var lesson = try Lesson.load(packagePath("Worksheets/\(name).yaml"))
    lesson.epochs = name == "iris-mlp" ? 7 : 1
    let trained = try trainAndSave(lesson, into: dir)
    let fresh = try LessonRun(lesson)
    #expect(fresh.model.layers.flatMap(\.parameters).map(\.value) != trained.model.layers.flatMap(\.parameters).map(\.value))
    #expect(try fresh.restoreSaved(modelPath: "\(dir)/model.json") == .reused("\(dir)/model.json"))
    for (p, q) in zip(fresh.model.layers.flatMap(\.parameters), trained.model.layers.flatMap(\.parameters)) {
      #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern), "\(p.name)")
      #expect(p.state.keys.sorted() == q.state.keys.sorted())
      for (k, v) in q.state { #expect(p.state[k]!.data.map(\.bitPattern) == v.data.map(\.bitPattern)) }
    }
    #expect(fresh.optimizer.stepCount == trained.optimizer.stepCount)
    #expect(fresh.history == trained.history)
    #expect(fresh.history.epochs.allSatisfy { !$0.gradientNorms.isEmpty })
    // The evaluation the figures draw from is the same.
    let set = trained.evaluationSet.data
    #expect(fresh.evaluate(set).predictions == trained.evaluate(set).predictions)
    #expect(fresh.evaluate(set).loss.bitPattern == trained.evaluate(set).loss.bitPattern)
  }

  @Test("a changed lesson text, seed, epoch count or data file makes the saved model stale")
  func stale() throws {
    let csv = "x1,x2,label\n0,0,0\n0,1,1\n1,0,1\n1,1,0\n"
    let text = """
      seed: 1
      data: {dataset: csv, file: data.csv, label_column: 2}
      network:
        - {type: dense, units: 3}
        - tanh
        - {type: dense, units: 2}
        - softmax
      loss: cross_entropy
      optimizer: {type: sgd, learning_rate: 0.1}
      train: {epochs: 3, batch_size: 2}

      """
    let dir = try folder(["tiny.yaml": text, "data.csv": csv])
    defer { try? FileManager.default.removeItem(atPath: dir) }
    let lesson = try Lesson.load("\(dir)/tiny.yaml")
    _ = try trainAndSave(lesson, into: dir)
    let model = "\(dir)/model.json"
    #expect(try LessonRun(lesson).restoreSaved(modelPath: model) == .reused(model))
    #expect(try LessonRun(lesson, seed: 99).restoreSaved(modelPath: model) != .reused(model))
    let longer = try LessonRun(lesson)
    longer.trainer.epochs = 4
    #expect(try longer.restoreSaved(modelPath: model) != .reused(model))
    try (text + "# a comment changes the text\n").write(toFile: "\(dir)/tiny.yaml", atomically: true, encoding: .utf8)
    #expect(try LessonRun(try Lesson.load("\(dir)/tiny.yaml")).restoreSaved(modelPath: model) != .reused(model))
    try text.write(toFile: "\(dir)/tiny.yaml", atomically: true, encoding: .utf8)
    try csv.replacingOccurrences(of: "1,1,0", with: "1,1,1").write(toFile: "\(dir)/data.csv", atomically: true, encoding: .utf8)
    #expect(try LessonRun(try Lesson.load("\(dir)/tiny.yaml")).restoreSaved(modelPath: model) != .reused(model))
    #expect(try LessonRun(lesson).restoreSaved(modelPath: "\(dir)/none.json") == .absent)
  }

  @Test("a damaged history.csv is refused with its file and line", arguments: [
    ("epoch,train_loss\n", "line 1"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n2,0.5,0.5,,,,\n", "line 2"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n1,nan,0.5,,,,\n", "line 2"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n1,0.5,0.5,,,\n", "line 2"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy,norm\n", "line 1"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n1,1e999,0.5,,,,\n", "line 2"),
    ("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n1,,,,,,\n", "line 2"),
  ])
  func damagedHistory(_ text: String, _ line: String) {
    do {
      _ = try History.parse(csv: text, path: "h.csv")
      Issue.record("accepted \(text)")
    } catch {
      #expect(error.description.hasPrefix("h.csv \(line)") || error.description.hasPrefix("h.csv:"), "\(error.description)")
      #expect(!error.description.contains("\n"))
    }
  }

  @Test("history.csv round-trips every number, missing splits included")
  func historyRoundTrip() throws {
    var h = History()
    h.epochs = [
      EpochRecord(epoch: 1, trainLoss: 0.1 + 0.2, trainAccuracy: 1.0 / 3, validationLoss: nil, validationAccuracy: nil, testLoss: 5e-324, testAccuracy: 0,
                  gradientNorms: ["dense1": .pi, "dense2": 1e300]),
      EpochRecord(epoch: 2, trainLoss: -0.0, trainAccuracy: 1, validationLoss: 2, validationAccuracy: 0.5, gradientNorms: ["dense1": 0]),
    ]
    let back = try History.parse(csv: h.csv(layers: ["dense1", "relu", "dense2"]), path: "h.csv")
    #expect(back == h)
  }
}
