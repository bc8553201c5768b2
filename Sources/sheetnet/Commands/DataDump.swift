import ArgumentParser
import Foundation
import SheetNet

/// `sheetnet data LESSON` (hidden; for reference implementations such as
/// Benchmarks/letters_reference.py): the lesson's split as the network sees it, preprocessed,
/// one CSV file per split.
struct DataDump: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "data",
    abstract: "Write a lesson's data split, preprocessed, as CSV (train.csv, validation.csv, test.csv).",
    discussion: "Each row is one sample's numbers, row-major (channels, rows, columns), then its class; a header names the columns. Default folder: Output/<lesson>/data/.",
    shouldDisplay: false)

  @OptionGroup var options: LessonOptions

  func run() {
    guarded {
      let run = try options.run()
      let numbers = [run.split.train, run.split.validation, run.split.test].compactMap { $0 }.reduce(0) { $0 + $1.x.count + $1.count }
      try Limits.checkMemory(Limits.saturated(run.memoryBytes, plus: Limits.saturated(numbers, times: Limits.bytesPerRenderedNumber)),
                             "\(run.lesson.path): writing the data as CSV", "\(Limits.grouped(numbers)) numbers as text", "ask for fewer samples")
      let folder = options.output ?? "\(run.outputFolder)/data"
      var batch = OutputBatch(folder: folder)
      var sets = [("train", run.split.train)]
      if let v = run.split.validation { sets.append(("validation", v)) }
      if let t = run.split.test { sets.append(("test", t)) }
      for (name, data) in sets { try batch.add(Self.csv(data), as: "\(name).csv") }
      try batch.commit()
      let shape = run.split.train.x.shape.dropFirst().map(String.init).joined(separator: "×")
      printEscaped("\(sets.map { "\($0.0) \($0.1.count)" }.joined(separator: ", ")) samples of \(shape) written to \(folder)/")
    }
  }

  /// One header line (`x1, …, xF, label` or `…, y1, …, yK`), then a line per sample; numbers in
  /// the shortest form that reads back to the same Float64.
  static func csv(_ data: Dataset) -> String {
    let features = data.x.count / max(data.count, 1)
    let targets = data.explicitTargets
    var header = (1...max(features, 1)).map { "x\($0)" }
    if let targets { header += (1...max(targets.columns, 1)).map { "y\($0)" } } else { header.append("label") }
    var out = header.joined(separator: ",") + "\n"
    for n in 0..<data.count {
      var fields = (0..<features).map { "\(data.x.data[n * features + $0])" }
      if let targets {
        fields += (0..<targets.columns).map { "\(targets.data[n * targets.columns + $0])" }
      } else {
        fields.append(data.labels.map { String($0[n]) } ?? "")
      }
      out += fields.joined(separator: ",") + "\n"
    }
    return out
  }
}
