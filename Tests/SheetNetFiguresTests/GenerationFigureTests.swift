import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// `generation` on the shipped lesson attention-reverse (four digits reversed, T = 7), trained
/// once: the drawn tokens are `Generation.sample`'s at temperature 0 from the sample's question
/// (and spell the question reversed), the printed probabilities are the engine's, the page keeps
/// the layout rules; a lesson without tokens is refused in one sentence. And `Generation.sample`
/// itself: argmax at temperature 0, one seed one set of draws, probabilities that add up.
@Suite("Generation figure", .serialized)
struct GenerationFigureTests {
  nonisolated(unsafe) static let source: FigureSource? = try? lessonSource("attention-reverse")

  /// The question of evaluation sample `sample` (1-based): its first L = 4 ids.
  static func question(_ source: FigureSource, sample: Int) -> [Int] {
    let data = source.run!.evaluationSet.data
    let t = data.x.count / data.count
    return (0..<4).map { Int(data.x.data[(sample - 1) * t + $0]) }
  }

  @Test("the boxes are Generation.sample's greedy tokens, the question reversed; p printed as the engine's")
  func tokens() throws {
    let source = try #require(Self.source)
    let vocabulary = source.run!.split.train.vocabulary
    for sample in [1, 2] {
      var o = options(.slide)
      o.sample = sample
      o.given = [.sample]
      let figures = try Catalogue.make(.generation, source, o)
      #expect(figures.count == 1)
      let canvas = try record(figures[0])
      let prompt = Self.question(source, sample: sample)
      let engine = Generation.sample(model: source.model, prompt: prompt, length: 4, temperature: 0, seed: 1, top: 5, vocabulary: vocabulary)
      #expect(engine.map(\.id) == prompt.reversed())
      // The token boxes: the large text, in order left to right.
      let size = canvas.texts.map(\.style.size).max()!
      let drawn = canvas.texts.filter { $0.style.size == size && !$0.string.contains(" ") }.sorted { $0.box.midX < $1.box.midX }.map(\.string)
      #expect(drawn == prompt.map { vocabulary[$0] } + engine.map(\.text), "\(drawn)")
      // p under each generated box, to 3 decimals.
      for t in engine {
        #expect(canvas.texts.contains { $0.string == NumberFormat.fixed(t.probability, digits: 3) })
      }
      // The table: the least sure token and its 5 alternatives, each probability as printed.
      let weakest = engine.min { $0.probability < $1.probability }!
      for p in [weakest.probability] + weakest.alternatives.map(\.probability) {
        #expect(canvas.texts.contains { $0.string == NumberFormat.significant(p, 3) }, "\(p)")
      }
      #expect(weakest.alternatives.count == 5)
      let title = canvas.texts.first!.string
      #expect(title.contains("attention-reverse") && title.contains("Greedy decoding"), "\(title)")
    }
  }

  @Test("slide and print keep the layout rules")
  func layout() throws {
    let source = try #require(Self.source)
    for theme in Theme.all {
      for figure in try Catalogue.make(.generation, source, options(theme)) { try expectReadable(figure, theme) }
    }
  }

  @Test("a 16-token prompt and 16 generated tokens wrap onto two lines of boxes that read in order, and keep the rules")
  func longPrompt() throws {
    let vocabulary = "abcdefghijklmnopqrstuvwxyz".map(String.init)
    let prompt = (0..<16).map { vocabulary[$0] }
    let generated = (0..<16).map { k in
      GeneratedToken(text: vocabulary[(k * 7) % 26], id: (k * 7) % 26, probability: 0.3 + 0.04 * Double(k),
                     alternatives: (1...5).map { (vocabulary[(k * 7 + $0) % 26], 0.1 / Double($0)) })
    }
    for theme in Theme.all {
      let figure = Figure.generationRow(prompt: prompt, generated: generated, vocabulary: vocabulary, theme: theme, title: "Greedy decoding", subtitle: "colour and number: p")
      try expectReadable(figure, theme)
      let canvas = try record(figure)
      let size = canvas.texts.filter { !$0.style.bold }.map(\.style.size).max()!
      let boxes = canvas.texts.filter { !$0.style.bold && $0.style.size == size }
      #expect(Set(boxes.map { Int($0.box.midY.rounded()) }).count == 2, "\(theme.name): the tokens are not on two lines")
      let read = boxes.sorted { ($0.box.midY, $0.box.midX) < ($1.box.midY, $1.box.midX) }.map(\.string)
      #expect(read == prompt + generated.map(\.text), "\(theme.name): \(read)")
      #expect(canvas.texts.filter { $0.string == "prompt" }.count == 1 && canvas.texts.filter { $0.string == "generated" }.count == 1)
    }
  }

  @Test("a lesson without tokens is refused in one sentence")
  func refusal() throws {
    let source = try lessonSource("xor", epochs: 0)
    do {
      try Catalogue.check(.generation, source, options())
      Issue.record("generation accepted xor")
    } catch {
      let line = error.description
      #expect(!line.contains("\n") && line.contains("generation continues a token sequence") && line.contains("; try"), "\(line)")
    }
  }

  @Test("Generation.sample: temperature 0 is the argmax; one seed, one set of draws; p and alternatives add to at most 1")
  func sampling() throws {
    let source = try #require(Self.source)
    let vocabulary = source.run!.split.train.vocabulary
    let prompt = [2, 7]
    let greedy = Generation.sample(model: source.model, prompt: prompt, length: 6, temperature: 0, seed: 1, top: 9, vocabulary: vocabulary)
    for t in greedy {
      #expect(t.alternatives.count == 9 && t.alternatives.allSatisfy { $0.probability <= t.probability })
      #expect(abs(t.probability + t.alternatives.map(\.probability).reduce(0, +) - 1) < 1e-12)
      #expect(vocabulary[t.id] == t.text)
    }
    // The same seed draws the same tokens at temperature 1; every token keeps p + top-3 ≤ 1.
    let a = Generation.sample(model: source.model, prompt: prompt, length: 12, temperature: 1, seed: 5, top: 3, vocabulary: vocabulary)
    let b = Generation.sample(model: source.model, prompt: prompt, length: 12, temperature: 1, seed: 5, top: 3, vocabulary: vocabulary)
    #expect(a.map(\.id) == b.map(\.id) && a.map(\.probability) == b.map(\.probability))
    for t in a { #expect(t.probability + t.alternatives.map(\.probability).reduce(0, +) <= 1 + 1e-12) }
    // A greedy step's token is the argmax of the network's own softmax at the last real position.
    let first = greedy[0]
    let x = Tensor(shape: [1, 7], data: (0..<7).map { $0 < prompt.count ? Double(prompt[$0]) : 0 })
    let y = source.model.forward(x, Step(training: false))
    let row = (0..<10).map { y.data[(prompt.count - 1) * 10 + $0] }
    #expect(first.id == row.indices.max { row[$0] < row[$1] }!)
    #expect(abs(first.probability - row[first.id]) < 1e-12)
  }
}
