import ArgumentParser
import Foundation
import SheetNet

/// `sheetnet evaluate MODEL.json [--data …]`: loss and accuracy of a trained model.
struct Evaluate: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "evaluate",
    abstract: "Evaluate a trained model on its lesson's test split, or on other data.",
    discussion: "Without --data the model's own lesson is split again with its seed and the test split is used.")

  @Argument(help: "A model file written by `sheetnet train` (Output/<lesson>/model.json).")
  var model: String

  @Option(help: "A CSV file (numeric features, label in the last column) or a lesson file whose data to use.")
  var data: String?

  @Flag(help: "Print the results as JSON.")
  var json = false

  func run() {
    guarded {
      if let size = (try? FileManager.default.attributesOfItem(atPath: model))?[.size] as? Int {
        try Limits.checkMemory(Limits.saturated(Limits.processBytes, plus: Limits.saturated(size, times: Limits.bytesPerModelFileByte)),
                               "\(model): reading it", "\(Limits.grouped(size)) bytes of JSON", "is it the right file?")
      }
      let file = try ModelFile.load(model)
      let (name, dataset) = try Evaluate.dataset(file, modelPath: model, data)
      // Only the network its lesson makes is evaluated (its input shape: the lesson's data, read
      // above; with --data the shape check below speaks for the other data).
      try requireItsLesson(file, path: model, inputShape: data == nil ? Array(dataset.x.shape.dropFirst()) : file.model.inputShape)
      var set = dataset
      set.x = file.preprocess.apply(set.x)
      if set.x.shape.count == 2, file.model.inputShape.count > 1 { set = try set.reshaped(sample: file.model.inputShape) }
      guard Array(set.x.shape.dropFirst()) == file.model.inputShape else {
        throw SheetNetError.shape("\(name) has samples of shape \(shapeText(Array(set.x.shape.dropFirst()))) but the model expects \(shapeText(file.model.inputShape))")
      }
      let outputs = file.model.outputShape.reduce(1, *)
      if let labels = set.labels, let top = labels.max(), set.explicitTargets == nil, top >= max(outputs, 2) {
        throw SheetNetError.data("\(name) has a label \(top), but the model gives \(outputs) output\(outputs == 1 ? "" : "s") (classes 0…\(max(outputs, 2) - 1)); evaluate it on data of the classes it was trained on")
      }
      if let t = set.explicitTargets, !set.isTokens, t.columns != outputs {
        throw SheetNetError.data("\(name) has targets of \(t.columns) columns, but the model gives \(outputs) outputs")
      }
      let threshold = (file.model.layers.last is Sigmoid || !(file.loss is BinaryCrossEntropy)) ? 0.5 : 0
      let e = Trainer.evaluate(model: file.model, loss: file.loss, data: set, threshold: threshold)
      if json {
        print(Value.map([("model", .string(model)), ("data", .string(name)), ("samples", .number(Double(set.count))),
                         ("loss", .number(e.loss)), ("accuracy", e.accuracy.map { .number($0) } ?? .null),
                         ("sequence_accuracy", e.sequenceAccuracy.map { .number($0) } ?? .null)]).json())
      } else {
        printEscaped("\(file.lessonName) on \(name) (\(set.count) samples): loss \(String(format: "%.5f", e.loss))"
          + (e.accuracy.map { String(format: set.isTokens ? ", token accuracy %.2f%%" : ", accuracy %.2f%%", $0 * 100) } ?? "")
          + (e.sequenceAccuracy.map { String(format: ", whole sequences %.2f%%", $0 * 100) } ?? ""))
      }
    }
  }

  /// The data to evaluate on: the model's own test split, a lesson's, or a CSV file's.
  /// The lesson text is the model's own; its data paths resolve from where the lesson file lies
  /// (recorded relative to the model file), so this works from any folder.
  static func dataset(_ file: ModelFile, modelPath: String, _ data: String?) throws -> (String, Dataset) {
    if let data, data.hasSuffix(".csv") { return (data, try CSVData.load(data)) }
    let lesson: Lesson
    if let data { lesson = try Lesson.load(try Project.lessonFile(data)) } else {
      guard !file.lessonSource.isEmpty else { throw SheetNetError.model("the model file holds no lesson; pass --data") }
      lesson = try Lesson.parse(file.lessonSource, path: file.lessonFile(modelPath: modelPath))
    }
    var streams = Lesson.Streams(seed: file.seed)
    let split = lesson.split(try lesson.loadData(rng: &streams.data), rng: &streams.split)
    if let test = split.test { return ("the test split of \(lesson.name)", test) }
    return ("the training data of \(lesson.name)", split.train)
  }
}
