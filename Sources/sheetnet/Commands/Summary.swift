import ArgumentParser
import Foundation
import SheetNet

/// `sheetnet summary LESSON|MODEL.json`: the network as a table, keras-sequential-ascii style.
struct Summary: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "summary",
    abstract: "Show a network layer by layer: shapes, weights, multiply-adds and memory.")

  @Argument(help: "A lesson (xor, Worksheets/xor.yaml) or a trained model (Output/<lesson>/model.json).")
  var source: String

  @Option(help: "Seed for the initial weights when summarising a lesson.")
  var seed: UInt64?

  @Flag(help: "Print the summary as JSON.")
  var json = false

  func run() {
    guarded {
      let (title, model) = try Summary.load(source, seed: seed)
      if json { print(Summary.json(model).json()) } else { printEscaped("\(title)\n\n" + Summary.table(model)) }
    }
  }

  /// The network of a lesson (built, not trained) or of a model file.
  static func load(_ source: String, seed: UInt64?) throws -> (String, Sequential) {
    if source.hasSuffix(".json") {
      let file = try ModelFile.load(source)
      try requireItsLesson(file, path: source)
      return ("\(file.lessonName) (trained model \(source))", file.model)
    }
    let lesson = try Lesson.load(try Project.lessonFile(source))
    let title = "\(lesson.name): \(lesson.title)"
    if lesson.data.dataset == "none" {
      var rng = SeededGenerator(seed: seed ?? lesson.seed)
      return (title, try lesson.makeModel(inputShape: lesson.data.shape ?? [], rng: &rng))
    }
    return (title, try LessonRun(lesson, seed: seed).model)
  }

  /// The operation symbol keras-sequential-ascii draws for each kind.
  static func symbol(_ kind: String) -> String {
    switch kind {
    case "dense": "XXXXX"
    case "conv2d": " \\|/ "
    case "max_pool2d": "Y max"
    case "avg_pool2d": "Y avg"
    case "flatten": "|||||"
    case "dropout": " | ||"
    case "batch_norm", "layer_norm": " μ|σ "
    default: "  ~  "
    }
  }

  static func dims(_ shape: [Int]) -> String { shape.map { String(format: "%5d", $0) }.joined() }

  static func group(_ n: Int) -> String {
    let s = String(n)
    var out = ""
    for (i, c) in s.reversed().enumerated() {
      if i > 0 && i % 3 == 0 { out.append(",") }
      out.append(c)
    }
    return String(out.reversed())
  }

  static func isActivation(_ layer: any Layer) -> Bool { layer is any Activation || layer is Softmax }

  /// The table: an operation row per layer with weights, % and multiply-adds, then the data row.
  /// An activation right after a layer labels that layer's data row, as keras-sequential-ascii does.
  static func table(_ model: Sequential) -> String {
    let total = max(model.parameterCount, 1)
    func pad(_ s: String, _ n: Int) -> String { String(repeating: " ", count: max(0, n - s.count)) + s }
    var lines = [pad("OPERATION", 24) + "           DATA DIMENSIONS   WEIGHTS(N)   WEIGHTS(%)   MULT-ADDS", ""]
    lines.append(pad("Input", 24) + "   #####  " + dims(model.inputShape))
    var memory = model.inputShape.reduce(1, *)
    for (i, layer) in model.layers.enumerated() {
      let shape = model.shapes[i]
      memory += shape.reduce(1, *)
      if isActivation(layer) && i > 0 && !isActivation(model.layers[i - 1]) {
        // Label the data row just printed with the activation.
        lines[lines.count - 1] = pad(layer.kind, 24) + "   #####  " + dims(shape)
        continue
      }
      let n = layer.parameterCount
      lines.append(pad("\(layer.name) \(layer.kind)", 24) + "   \(symbol(layer.kind)) -------------------"
        + pad(group(n), 10) + pad(String(format: "%.1f%%", 100 * Double(n) / Double(total)), 13) + pad(group(layer.multiplyAdds), 12))
      lines.append(pad("", 24) + "   #####  " + dims(shape))
    }
    let trainable = model.layers.flatMap(\.parameters).filter(\.trainable).reduce(0) { $0 + $1.value.count }
    lines.append("")
    lines.append("Parameters: \(group(model.parameterCount)) (\(group(trainable)) trainable)")
    lines.append("Multiply-adds per sample: \(group(model.multiplyAdds))")
    lines.append("Activation memory per sample: \(group(memory)) values (\(String(format: "%.1f", Double(memory * 8) / 1024)) KiB as Float64, input included)")
    return lines.joined(separator: "\n")
  }

  static func json(_ model: Sequential) -> Value {
    .map([
      ("input", .list(model.inputShape.map { .number(Double($0)) })),
      ("layers", .list(model.layers.enumerated().map { i, l in
        .map([("name", .string(l.name)), ("type", .string(l.kind)), ("output", .list(model.shapes[i].map { .number(Double($0)) })),
              ("parameters", .number(Double(l.parameterCount))), ("multiply_adds", .number(Double(l.multiplyAdds)))])
      })),
      ("parameters", .number(Double(model.parameterCount))), ("multiply_adds", .number(Double(model.multiplyAdds))),
    ])
  }
}
