import Foundation
import Testing
@testable import SheetNet

/// The shipped character-level lesson, from a real run, and the counting baselines it is measured
/// against.
@Suite struct TextLessonTests {
  @Test("counting baselines by hand: add-one unigram and bigram, masked positions left out")
  func baselinesByHand() throws {
    let vocabulary = ["a", "b"]
    // Training: inputs a b a, targets b a b: c(a) = 1, c(b) = 2, N = 3; c(a→b) = 2, c(b→a) = 1; inputs a twice, b once.
    let train = Dataset(name: "t", x: Tensor(shape: [1, 3], data: [0, 1, 0]), targets: Tensor(shape: [1, 3], data: [1, 0, 1]),
                        classNames: vocabulary, vocabulary: vocabulary)
    // Measured on one counted position (input b, target b) and one masked position.
    let held = Dataset(name: "h", x: Tensor(shape: [1, 2], data: [1, 0]), targets: Tensor(shape: [1, 2], data: [1, -1]),
                       classNames: vocabulary, vocabulary: vocabulary)
    let b = try #require(CountingBaselines.measure(train: train, on: held))
    #expect(b.positions == 1)
    #expect(abs(b.unigram - -log(3.0 / 5.0)) < 1e-15)  // p(b) = (2 + 1) / (3 + 2)
    #expect(abs(b.bigram - log(3.0)) < 1e-15)  // p(b | b) = (0 + 1) / (1 + 2)
    // Not token data, or nothing counted: no baseline.
    #expect(CountingBaselines.measure(train: Dataset(name: "n", x: Tensor(shape: [1, 2]), labels: [0]), on: held) == nil)
    var none = held
    none.explicitTargets = Tensor(shape: [1, 2], repeating: -1)
    #expect(CountingBaselines.measure(train: train, on: none) == nil)
  }

  @Test("tiny-gpt beats the unigram and bigram baselines on held-out windows by what its comment states")
  func tinyGPT() throws {
    let lesson = try Lesson.load(packagePath("Worksheets/tiny-gpt.yaml"))
    let run = try LessonRun(lesson)
    try run.train()
    let validation = try #require(run.split.validation)
    let e = run.evaluate(validation)
    let b = try #require(CountingBaselines.measure(train: run.split.train, on: validation))
    #expect(validation.isTokens && validation.vocabulary.count == 60 && e.sequenceAccuracy == nil)
    // The numbers the lesson's leading comment states, to the digits it gives.
    let intent = lesson.intent
    let stated = [("validation loss", e.loss), ("unigram", b.unigram), ("bigram", b.bigram)].map { name, value in
      (name, String(format: "%.3f", value))
    }
    for (name, value) in stated { #expect(intent.contains("\(name) \(value)"), "the comment should state \(name) \(value): \(intent)") }
    #expect(b.bigram - e.loss >= 0.6, "validation \(e.loss), bigram \(b.bigram)")
    #expect(b.unigram - b.bigram > 0.5)
  }
}
