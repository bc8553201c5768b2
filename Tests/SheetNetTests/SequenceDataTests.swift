import Foundation
import Testing
@testable import SheetNet

/// Token sequences (`dataset: sequences`, `dataset: text`), the per-position loss with its mask,
/// residual blocks, and their hostile lessons.
@Suite struct SequenceDataTests {
  @Test("reverse, sort and copy: x is the question and the answer but its last token, only the answer is scored")
  func tasks() {
    for task in Sequences.tasks {
      var rng = SeededGenerator(seed: 3)
      let d = Sequences.task(task, length: 4, vocabulary: 10, count: 50, rng: &rng)
      #expect(d.x.shape == [50, 7] && d.explicitTargets!.shape == [50, 7] && d.vocabulary == Sequences.symbols(10) && d.classNames == d.vocabulary)
      for n in 0..<50 {
        let x = (0..<7).map { Int(d.x.data[n * 7 + $0]) }, t = (0..<7).map { Int(d.explicitTargets!.data[n * 7 + $0]) }
        let a = Array(x[0..<4])
        let b = task == "reverse" ? Array(a.reversed()) : task == "sort" ? a.sorted() : a
        #expect(Array(x[4...]) == Array(b[0..<3]), "x holds the answer but its last token")
        #expect(t == [-1, -1, -1] + b, "the targets are the answer, the question masked")
        #expect(x.allSatisfy { (0..<10).contains($0) })
      }
    }
    var r1 = SeededGenerator(seed: 9), r2 = SeededGenerator(seed: 9)
    #expect(Sequences.task("sort", length: 3, vocabulary: 5, count: 20, rng: &r1).x == Sequences.task("sort", length: 3, vocabulary: 5, count: 20, rng: &r2).x, "seeded")
  }

  @Test("text: windows of the characters, the next character the target, the vocabulary sorted")
  func text() throws {
    var rng = SeededGenerator(seed: 1)
    let d = try Sequences.text("abcab", name: "t", context: 2, count: nil, stride: 1, rng: &rng)
    #expect(d.vocabulary == ["a", "b", "c"])
    #expect(d.x.data == [0, 1, 1, 2, 2, 0] && d.explicitTargets!.data == [1, 2, 2, 0, 0, 1])
    #expect(Sequences.spelled(d.x.data[0..<2], d.vocabulary) == "ab")
    #expect(throws: SheetNetError.self) { try Sequences.text("ab", name: "t", context: 2, count: nil, stride: 1, rng: &rng) }
    let sampled = try Sequences.text(String(repeating: "héllo wörld ", count: 20), name: "t", context: 5, count: 30, stride: 5, rng: &rng)
    #expect(sampled.count == 30 && sampled.vocabulary.contains("é") && sampled.vocabulary.contains("ö"))
  }

  /// Central differences of the loss over the logits, with some positions masked out.
  @Test("token cross-entropy: the gradient is (a − onehot)/M at counted positions and 0 at masked ones, as central differences say")
  func tokenLossGradient() {
    var rng = SeededGenerator(seed: 5)
    let (n, t, v) = (2, 3, 4)
    let z = Tensor(shape: [n, t, v], data: (0..<(n * t * v)).map { _ in rng.uniform(-2, 2) })
    let targets = Tensor(shape: [n, t], data: [-1, 2, 0, 3, -1, 1])
    let loss = TokenCrossEntropy()
    let (delta, skips) = loss.gradient(output: z, target: targets, last: nil)
    #expect(!skips)
    let h = 1e-6
    var worst = 0.0
    for i in 0..<z.count {
      var up = z, down = z
      up.data[i] += h
      down.data[i] -= h
      let numeric = (loss.value(output: up, target: targets, last: nil) - loss.value(output: down, target: targets, last: nil)) / (2 * h)
      worst = max(worst, abs(numeric - delta.data[i]) / max(abs(numeric) + abs(delta.data[i]), 1e-4))
    }
    #expect(worst < 1e-6, "relative error \(worst)")
    for k in 0..<v { #expect(delta.data[k] == 0 && delta.data[4 * v + k] == 0, "masked positions get no gradient") }
    // By hand: the first sample's second position, target 2, is −log softmax(z)[2] / 4 of the loss.
    let row = (0..<v).map { z.data[v + $0] }
    let m = row.max()!, lse = m + log(row.map { exp($0 - m) }.reduce(0, +))
    #expect(abs(delta.data[v + 2] - (exp(row[2] - lse) - 1) / 4) < 1e-15)
  }

  @Test("a residual block adds its input: a = x + f(x), and the gradient reaches x along both paths")
  func residualBlock() throws {
    var rng = SeededGenerator(seed: 2)
    let model = try Sequential { Dense(3); Skip(); Tanh(); Dense(3); Residual(); Dense(2); Softmax() }.build(inputShape: [2], rng: &rng)
    let x = Tensor(shape: [4, 2], data: (0..<8).map { _ in rng.uniform(-1, 1) })
    let t = Tensor(shape: [4, 2], data: [1, 0, 0, 1, 1, 0, 0, 1])
    for result in GradientCheck.network(model, x: x, t: t, loss: CrossEntropy()) {
      #expect(result.relativeError < 1e-6, "\(result.name): \(result.relativeError)")
    }
    // a = x + f(x), element by element.
    let step = Step(training: false)
    let h = model.layers[0].forward(x, step)
    _ = model.layers[1].forward(h, step)
    let f = model.layers[3].forward(model.layers[2].forward(h, step), step)
    let a = model.layers[4].forward(f, step)
    for i in 0..<a.count { #expect(a.data[i] == h.data[i] + f.data[i]) }
  }

  /// The lesson `yaml` is refused with one line holding `mentions`.
  func refused(_ yaml: String, _ mentions: String) {
    do {
      _ = try LessonRun(try Lesson.parse(yaml, path: "seq.yaml"))
      Issue.record("accepted: \(mentions)")
    } catch {
      #expect(error.description.contains(mentions) && !error.description.contains("\n"), "\(error.description)")
    }
  }

  static let net = "network: [{type: dense, units: 4}]\nloss: token_cross_entropy\n"

  @Test("hostile sequence lessons are refused with one line")
  func hostile() {
    refused("data: {dataset: sequences}\n" + Self.net, "needs 'task'")
    refused("data: {dataset: sequences, task: rotate}\n" + Self.net, "rotate")
    refused("data: {dataset: sequences, task: sort, length: 0}\n" + Self.net, "length")
    refused("data: {dataset: sequences, task: sort, vocabulary: 99}\n" + Self.net, "vocabulary")
    refused("data: {dataset: sequences, task: sort, count: 1000000, length: 64}\n" + Self.net, "tokens")
    refused("data: {dataset: sequences, task: sort, preprocess: standardize}\n" + Self.net, "preprocess")
    refused("data: {dataset: sequences, task: sort, context: 3}\n" + Self.net, "'context' belongs to dataset text")
    refused("data: {dataset: circle, task: sort}\n" + Self.net, "'task' belongs to dataset sequences")
    refused("data: {dataset: text}\n" + Self.net, "'file: a UTF-8 text file' or 'text:")
    refused("data: {dataset: text, text: abc, file: x.txt}\n" + Self.net, "one of the two")
    refused("data: {dataset: text, text: abc, context: 5}\n" + Self.net, "context")
    refused("data: {dataset: sequences, task: copy}\nnetwork: [{type: dense, units: 4}]\nloss: cross_entropy\n", "token_cross_entropy")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 2}]\nloss: token_cross_entropy\n", "dataset: sequences or text")
    refused("data: {dataset: sequences, task: copy, length: 2, vocabulary: 4}\nnetwork: [{type: dense, units: 4}]\nloss: token_cross_entropy\n", "3×4 scores")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 4}, {residual: relu}, {type: dense, units: 2}]\n", "a residual block is")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 4}, {residual: [relu], type: dense}, {type: dense, units: 2}]\n", "a residual block is")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 4}, {residual: [{type: dense, units: 3}]}, {type: dense, units: 2}]\n", "give back the shape")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 4}, residual, {type: dense, units: 2}]\n", "never began")
    refused("data: {dataset: circle}\nnetwork: [{type: dense, units: 4}, skip, {type: dense, units: 2}]\n", "never ends")
    // Attention keeps h·T² scores and weights per sample, which no output shape shows.
    let long = "data: {dataset: text, text: \"" + String(repeating: "abcdefgh", count: 80) + "\", context: 512, stride: 8}\n"
    let net = { (heads: Int, batch: Int) in
      long + "network: [{type: embedding, size: 16}, {type: self_attention, heads: \(heads), head_size: 1}, {type: dense, units: 8}, softmax]\n"
        + "loss: token_cross_entropy\ntrain: {batch_size: \(batch)}\n"
    }
    refused(net(4096, 1), "attention weights per sample")
    refused(net(8, 100_000), "GB")
  }
}
