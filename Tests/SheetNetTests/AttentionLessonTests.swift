import Foundation
import Testing
@testable import SheetNet

/// The shipped attention lesson, from a real run: one causal transformer block reverses four
/// digits it has never seen, every token and every whole sequence of the held-out split.
@Suite struct AttentionLessonTests {
  @Test("attention-reverse reaches at least 99 % whole-sequence accuracy on held-out sequences")
  func reverses() throws {
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/attention-reverse.yaml")))
    try run.train()
    let test = try #require(run.split.test)
    let e = run.evaluate(test)
    #expect(test.count == 600 && test.isTokens && test.vocabulary == Sequences.symbols(10))
    #expect(try #require(e.sequenceAccuracy) >= 0.99, "whole sequences \(e.sequenceAccuracy ?? 0)")
    #expect(try #require(e.accuracy) >= 0.99, "tokens \(e.accuracy ?? 0)")
    // The answer is read from the question: greedy decoding of a held-out question gives it reversed.
    let x = (0..<7).map { test.x.data[$0] }
    var sequence = x.prefix(4).map { Int($0) }
    let step = Step(training: false)
    for _ in 0..<4 {
      let input = Tensor(shape: [1, 7], data: (0..<7).map { $0 < sequence.count ? Double(sequence[$0]) : 0 })
      let y = run.model.forward(input, step)
      let p = sequence.count - 1
      let scores = (0..<10).map { y.data[p * 10 + $0] }
      sequence.append(scores.indices.max { scores[$0] < scores[$1] }!)
    }
    #expect(Array(sequence[4...]) == x.prefix(4).reversed().map { Int($0) }, "\(sequence)")
  }
}
