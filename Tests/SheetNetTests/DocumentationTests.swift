import Foundation
import SheetNet
import Testing

/// The DocC article "Trace your own network in Swift" is code that compiles and runs: its Swift
/// block must be, line for line, the body between the ARTICLE markers below (which this test
/// target compiles), and running that body must learn XOR, trace the step and save the model.
@Suite(.serialized) struct DocumentationTests {
  /// The article's one Swift block, without its imports.
  static func articleCode() throws -> [String] {
    let text = try String(contentsOfFile: packagePath("Sources/SheetNet/SheetNet.docc/TraceYourOwnNetwork.md"), encoding: .utf8)
    let block = try #require(text.components(separatedBy: "```swift\n").dropFirst().first?.components(separatedBy: "```").first)
    return block.split(separator: "\n", omittingEmptySubsequences: false).map(String.init).filter { !$0.hasPrefix("import ") && !$0.isEmpty }
  }

  /// The lines between the markers in this file, de-indented by four spaces.
  static func testedCode() throws -> [String] {
    let text = try String(contentsOfFile: #filePath, encoding: .utf8)
    let body = try #require(text.components(separatedBy: "// ARTICLE BEGIN\n").dropFirst().first?.components(separatedBy: "    // ARTICLE END").first)
    return body.split(separator: "\n", omittingEmptySubsequences: false).map { String($0.dropFirst(4)) }.filter { !$0.isEmpty }
  }

  @Test("the article's code is the code this test runs") func same() throws {
    let article = try Self.articleCode(), tested = try Self.testedCode()
    #expect(article.count > 20)
    #expect(article == tested, "the article and DocumentationTests differ; edit both")
  }

  @Test("the article's code learns XOR, traces a step and saves a model that loads") func runs() throws {
    // ARTICLE BEGIN
    // 1. A network: 2 inputs → 2 sigmoid units → 1 sigmoid output, weights drawn from seed 1.
    var rng = SeededGenerator(seed: 1)
    let model = try Sequential {
      Dense(2)
      Sigmoid()
      Dense(1)
      Sigmoid()
    }.build(inputShape: [2], rng: &rng)

    // 2. Train it: each step is forward → loss → backward → update.
    let x = Tensor(rows: [[0, 0], [0, 1], [1, 0], [1, 1]])
    let t = Tensor(rows: [[0], [1], [1], [0]])
    let loss = BinaryCrossEntropy()
    let optimizer = SGD(learningRate: 0.5, momentum: 0.9)
    for _ in 0..<2000 {
      _ = model.trainStep(x, t, loss: loss, optimizer: optimizer, Step(training: true))
    }

    // 3. Trace one more step: a Tracer records every value, gradient and update, named and in order,
    //    each element with its arithmetic written out.
    let tracer = Tracer()
    let (value, y) = model.trainStep(x, t, loss: loss, optimizer: optimizer, Step(training: true, tracer: tracer))
    print("loss \(value); outputs \(y.data)")
    for entry in tracer.entries where entry.layer == "dense2" {
      print(entry.name, entry.formula, entry.value.data)
    }
    if let z = tracer.entry("dense1.forward.z"), let arithmetic = z.explain?(0) {
      print(arithmetic.lhs, "=", arithmetic.template, arithmetic.args, "=", arithmetic.result)
    }

    // 4. Save the trained network: shortest round-trip numbers, so loading it is bit-exact.
    let file = ModelFile(model: model, loss: loss, optimizer: optimizer, preprocess: .none, lessonName: "xor",
                         lessonPath: "", lessonSource: "", seed: 1, classes: ["0", "1"])
    let path = NSTemporaryDirectory() + "xor-model.json"
    try file.save(to: path)
    let back = try ModelFile.load(path)
    print(back.model.layers.map(\.name))
    // ARTICLE END
    try? FileManager.default.removeItem(atPath: path)
    // XOR is learnt, the step was traced through every layer and phase, the model reloads exactly.
    #expect(value < 0.05)
    #expect(zip(y.data, t.data).allSatisfy { abs($0 - $1) < 0.2 })
    #expect(Set(tracer.entries.map(\.phase)) == [.forward, .loss, .backward, .update])
    #expect(tracer.entry("dense1.forward.z")?.explain != nil)
    #expect(back.model.layers.map(\.name) == ["dense1", "sigmoid1", "dense2", "sigmoid2"])
    for (p, q) in zip(back.model.layers.flatMap(\.parameters), model.layers.flatMap(\.parameters)) {
      #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern))
    }
  }
}
