import Foundation
import Testing
@testable import SheetNet

/// README's defaults are the engine's: each default README states — in the layer table, the
/// optimizer paragraph and the lesson example — is read from README's text and compared with what
/// the engine builds when the key is left out.
@Suite("README's defaults are the engine's")
struct ReadmeDefaultsTests {
  let readme = (try? String(contentsOfFile: packagePath("README.md"), encoding: .utf8)) ?? ""

  /// The number README gives in parentheses after `key` on the line starting with `prefix`
  /// ("`alpha` (0.01)", "momentum (0.9)", "`epsilon` (0.001, as Keras)").
  func stated(_ key: String, after prefix: String) -> Double? {
    guard let start = readme.range(of: prefix) else { return nil }
    let rest = readme[start.upperBound...]
    let line = rest.prefix(while: { $0 != "\n" }) + (prefix.hasPrefix("Optimizers") ? rest.split(separator: "\n").prefix(3).joined(separator: " ") : "")
    for pattern in ["`\(key)` (", "\(key) ("] {
      if let r = line.range(of: pattern) {
        let number = line[r.upperBound...].prefix { "0123456789.e-".contains($0) }
        return Double(number)
      }
    }
    return nil
  }

  /// The options a layer of `yaml` builds with (the first layer of a one-layer network on 1×4×4 input).
  func options(_ yaml: String) throws -> [String: Value] {
    let dir = NSTemporaryDirectory() + "sheetnet-defaults-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "data: {dataset: none, shape: [1, 4, 4]}\nnetwork: [\(yaml)]\n".write(toFile: "\(dir)/d.yaml", atomically: true, encoding: .utf8)
    let lesson = try Lesson.load("\(dir)/d.yaml")
    var rng = SeededGenerator(seed: 1)
    let model = try lesson.makeModel(inputShape: [1, 4, 4], rng: &rng)
    return Dictionary(model.layers[0].options.map { ($0.key, $0.value) }, uniquingKeysWith: { a, _ in a })
  }

  @Test("layer defaults", arguments: [
    ("| `leaky_relu` |", "alpha", "leaky_relu"), ("| `conv2d` |", "stride", "{type: conv2d, filters: 1, kernel: 3}"),
    ("| `batch_norm` |", "momentum", "batch_norm"), ("| `batch_norm` |", "epsilon", "batch_norm"),
  ])
  func layer(_ row: String, _ key: String, _ yaml: String) throws {
    let readmeValue = try #require(stated(key, after: row), "README states no default for \(key)")
    // A pair such as a stride [1, 1] counts when both are the stated number.
    let value = try options(yaml)[key]
    let engine = try #require(value?.number ?? value?.list.flatMap { items in items.allSatisfy { $0 == items.first } ? items.first?.number : nil },
                              "the engine's \(yaml) has no option \(key)")
    #expect(readmeValue == engine, "README says \(key) = \(readmeValue), the engine uses \(engine)")
  }

  @Test("optimizer defaults") func optimizers() throws {
    let sgd = OptimizerConfiguration(kind: .sgd), adam = OptimizerConfiguration(kind: .adam)
    let sgdLine = "Optimizers: `{type: sgd,", adamLine = "`{type: adam,"
    #expect(stated("learning_rate", after: sgdLine) == sgd.learningRate)
    #expect(stated("momentum", after: sgdLine) == sgd.momentum)
    #expect(stated("weight_decay", after: sgdLine) == sgd.weightDecay)
    #expect(readme.contains("nesterov (\(sgd.nesterov))"))
    let adamText = String(readme[readme.range(of: adamLine)!.lowerBound...].prefix(200)).replacingOccurrences(of: "\n", with: " ")
    for (key, value) in [("learning_rate", adam.learningRate), ("beta1", adam.beta1), ("beta2", adam.beta2), ("epsilon", adam.epsilon), ("weight_decay", adam.weightDecay)] {
      let r = try #require(adamText.range(of: "\(key) ("), "README states no Adam default for \(key)")
      #expect(Double(adamText[r.upperBound...].prefix { "0123456789.e-".contains($0) }) == value, "Adam \(key)")
    }
  }

  @Test("lesson defaults: seed, epochs, batch size") func lesson() throws {
    let dir = NSTemporaryDirectory() + "sheetnet-defaults-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: dir) }
    try "data: {dataset: xor}\nnetwork: [{type: dense, units: 2}, softmax]\n".write(toFile: "\(dir)/d.yaml", atomically: true, encoding: .utf8)
    let lesson = try Lesson.load("\(dir)/d.yaml")
    #expect(readme.contains("(default \(lesson.seed); --seed overrides)"))
    #expect(readme.contains("# default epochs \(lesson.epochs), batch_size \(lesson.batchSize)"))
    #expect(lesson.optimizer == OptimizerConfiguration(kind: .sgd))
  }
}
