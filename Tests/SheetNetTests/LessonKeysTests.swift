import Foundation
import Testing
@testable import SheetNet

/// `dataset: letters` and `compare:` in lessons: hostile values get one line naming the line and
/// the range; `sheetnet data` writes a lesson's split as the network sees it.
@Suite("Lesson keys: letters data, compare, sheetnet data")
struct LessonKeysTests {
  /// The error `yaml` gives when parsed and prepared, or "no error".
  func message(_ yaml: String) -> String {
    do {
      _ = try LessonRun(try Lesson.parse(yaml, path: "bad.yaml"))
      return "no error"
    } catch {
      return error.description
    }
  }

  static let network = "network: [flatten, {type: dense, units: 10}]\n"

  @Test("letters: absurd counts and sizes, classes out of range and size on other data are refused by line")
  func hostileLetters() {
    let huge = message("data: {dataset: letters, count: 50000, size: 64}\n" + Self.network)
    #expect(huge.hasPrefix("bad.yaml line 1") && huge.contains("20,000,000") && huge.contains("fewer or smaller"), "\(huge)")
    for count in ["60001", "1000000"] {
      let m = message("data: {dataset: letters, count: \(count), size: 8}\n" + Self.network)
      #expect(m.hasPrefix("bad.yaml line 1") && m.contains("at most 60,000 images"), "\(count): \(m)")
    }
    for size in ["7", "65", "-1", "20.5", "big", "[20, 20]"] {
      let m = message("data: {dataset: letters, size: \(size)}\n" + Self.network)
      #expect(m.hasPrefix("bad.yaml line 1") && m.contains("'size'"), "\(size): \(m)")
    }
    for classes in ["1", "11", "0", "-3"] {
      let m = message("data: {dataset: letters, classes: \(classes)}\n" + Self.network)
      #expect(m.hasPrefix("bad.yaml line 1") && m.contains("'classes'") && m.contains("between 2 and 10"), "\(classes): \(m)")
    }
    let count = message("data: {dataset: letters, count: 3}\n" + Self.network)
    #expect(count.contains("'count'") && count.contains("between 4"), "\(count)")
    let elsewhere = message("data: {dataset: spiral, size: 20}\n" + Self.network)
    #expect(elsewhere.hasPrefix("bad.yaml line 1") && elsewhere.contains("'size' is the image side of dataset letters"), "\(elsewhere)")
    let typo = message("data: {dataset: leters}\n" + Self.network)
    #expect(typo.contains("did you mean 'letters'?"), "\(typo)")
  }

  @Test("letters without a renderer: one line, no crash, whatever is registered in this process")
  func lettersWithoutRenderer() throws {
    var lesson = try Lesson.parse("data: {dataset: letters, count: 20, size: 8}\n" + Self.network, path: "bad.yaml")
    lesson.glyphRenderer = nil
    #expect(throws: SheetNetError.self) { try LessonRun(lesson) }
    do { _ = try LessonRun(lesson) } catch {
      #expect(error.description.hasPrefix("bad.yaml: dataset letters needs a letter renderer") && !error.description.contains("\n"))
    }
  }

  /// A renderer that draws each glyph as one bright pixel at its font's index, counting calls.
  struct DotRenderer: GlyphRenderer {
    var fonts: [String]
    func render(_ glyphs: [Glyph], side: Int) throws(SheetNetError) -> [Double] {
      glyphs.flatMap { g in (0..<side * side).map { $0 == g.font ? 1 : 0 } }
    }
  }

  struct BrokenRenderer: GlyphRenderer {
    var fonts: [String] { ["a.ttf"] }
    func render(_ glyphs: [Glyph], side: Int) throws(SheetNetError) -> [Double] { [Double.nan] }
  }

  @Test("letters are the renderer's images of glyphs from the seed's data stream; a renderer with no fonts or wrong pixels is one line")
  func lettersThroughARenderer() throws {
    var lesson = try Lesson.parse("data: {dataset: letters, count: 30, size: 8, classes: 3}\n" + "network: [flatten, {type: dense, units: 3}]\n", path: "l.yaml")
    lesson.glyphRenderer = DotRenderer(fonts: ["a.ttf", "b.ttf", "c.ttf", "d.ttf"])
    let run = try LessonRun(lesson, seed: 5)
    var streams = Lesson.Streams(seed: 5)
    let glyphs = Letters.glyphs(count: 30, side: 8, classes: 3, fonts: 4, rng: &streams.data)
    #expect(glyphs.map(\.letter) == (0..<30).map { Letters.alphabet[$0 % 3] })
    #expect(glyphs.allSatisfy { Letters.heights.contains($0.height) && Letters.slants.contains($0.slant) && abs($0.dx) <= 0.8 && abs($0.dy) <= 0.8 })
    // Every sample of the split is one of the glyphs' dots with its label.
    let all = run.split.train.count + run.split.validation.map(\.count).orZero + run.split.test.map(\.count).orZero
    #expect(all == 30)
    let fonts = Set((0..<run.split.train.count).map { n in (0..<64).first { run.split.train.x.data[n * 64 + $0] == 1 }! })
    #expect(fonts.isSubset(of: [0, 1, 2, 3]) && fonts.count > 1)
    #expect(run.dataDigest != nil)
    // Other fonts listed (same pixels here): another digest, so another fingerprint.
    lesson.glyphRenderer = DotRenderer(fonts: ["a.ttf", "b.ttf", "c.ttf", "e.ttf"])
    #expect(try LessonRun(lesson, seed: 5).fingerprint != run.fingerprint)
    lesson.glyphRenderer = DotRenderer(fonts: [])
    #expect(throws: SheetNetError.data("dataset letters: no fonts to draw with; install fonts-dejavu-core")) { try LessonRun(lesson) }
    lesson.glyphRenderer = BrokenRenderer()
    #expect(throws: SheetNetError.self) { try LessonRun(lesson) }
  }

  @Test("compare: a list of 2 to 4 optimizers, each checked as optimizer is, by line")
  func hostileCompare() throws {
    let data = "data: {dataset: inline, x: [[0], [1]], y: [[0], [1]]}\nloss: mse\nnetwork: [{type: dense, units: 1}]\n"
    let good = try Lesson.parse(data + "compare:\n  - {type: sgd, learning_rate: 0.1}\n  - {type: sgd, learning_rate: 0.1, momentum: 0.9}\n  - adam\n", path: "c.yaml")
    var sgd = OptimizerConfiguration(kind: .sgd), momentum = sgd
    sgd.learningRate = 0.1
    momentum.learningRate = 0.1
    momentum.momentum = 0.9
    #expect(good.compare == [sgd, momentum, OptimizerConfiguration(kind: .adam)])
    let cases: [(String, [String])] = [
      ("compare: sgd\n", ["line 4", "2 to 4 optimizers"]),
      ("compare: [sgd]\n", ["line 4", "2 to 4 optimizers"]),
      ("compare: [sgd, sgd, sgd, sgd, sgd]\n", ["line 4", "2 to 4 optimizers"]),
      ("compare:\n  - sgd\n  - {type: sgd, learning_rate: -1}\n", ["line 6", "must not be negative"]),
      ("compare:\n  - sgd\n  - {type: sgd, momentun: 0.9}\n", ["line 6", "did you mean 'momentum'?"]),
      ("compare:\n  - sgd\n  - {type: rmsprop}\n", ["line 6", "unknown optimizer 'rmsprop'"]),
      ("compare:\n  - sgd\n  - {type: sgd, momentum: 1}\n", ["line 6", "below 1"]),
      ("compare:\n  - sgd\n  - {learning_rate: 0.1}\n", ["line 6", "needs 'type'"]),
    ]
    for (yaml, needles) in cases {
      let m = message(data + yaml)
      #expect(needles.allSatisfy { m.contains($0) } && m.hasPrefix("bad.yaml") && !m.contains("\n"), "\(yaml): \(m)")
    }
  }

  // MARK: sheetnet data

  func sheetnet(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
    try CommandLineErrorTests().sheetnet(args)
  }

  @Test("sheetnet data writes each split as the network sees it, byte for byte the same for a seed, refuses an unwritable folder")
  func dataDump() throws {
    let folder = NSTemporaryDirectory() + "sheetnet-data-\(getpid())"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = packagePath("Worksheets/iris-mlp.yaml")
    let r = try sheetnet(["data", lesson, "--output", folder + "/a"])
    #expect(r.status == 0, "\(r.err)")
    // Independently: the engine's own run of the lesson, its splits preprocessed.
    let run = try LessonRun(try Lesson.load(lesson))
    var sets = [("train", run.split.train)]
    if let v = run.split.validation { sets.append(("validation", v)) }
    if let t = run.split.test { sets.append(("test", t)) }
    for (name, data) in sets {
      let text = try String(contentsOfFile: "\(folder)/a/\(name).csv", encoding: .utf8)
      let lines = text.split(separator: "\n")
      #expect(lines.count == data.count + 1)
      #expect(lines[0] == Substring((1...data.x.columns).map { "x\($0)" }.joined(separator: ",") + ",label"))
      for (n, line) in lines.dropFirst().enumerated() {
        let fields = line.split(separator: ",")
        #expect(fields.dropLast().map { Double($0)! } == Array(data.x.data[n * data.x.columns..<(n + 1) * data.x.columns]), "\(name) row \(n + 1)")
        #expect(Int(fields.last!) == data.labels![n])
      }
    }
    let again = try sheetnet(["data", lesson, "--output", folder + "/b"])
    #expect(again.status == 0)
    for (name, _) in sets {
      #expect(FileManager.default.contents(atPath: "\(folder)/a/\(name).csv") == FileManager.default.contents(atPath: "\(folder)/b/\(name).csv"))
    }
    let other = try sheetnet(["data", lesson, "--seed", "2", "--output", folder + "/c"])
    #expect(other.status == 0)
    #expect(FileManager.default.contents(atPath: "\(folder)/a/train.csv") != FileManager.default.contents(atPath: "\(folder)/c/train.csv"))
    // A folder that cannot be made: one line, status 1.
    try "x".write(toFile: folder + "/file", atomically: true, encoding: .utf8)
    let bad = try sheetnet(["data", lesson, "--output", folder + "/file/sub"])
    #expect(bad.status == 1 && bad.err.hasPrefix("sheetnet: error: ") && bad.err.split(separator: "\n").count == 1, "\(bad.err)")
    let letters = try sheetnet(["data", packagePath("Worksheets/letters-cnn.yaml"), "--output", folder + "/d"])
    #expect(letters.status == 0 && letters.out.contains("train 2400, test 600 samples of 1×20×20"), "\(letters.out) \(letters.err)")
    let header = try String(contentsOfFile: folder + "/d/test.csv", encoding: .utf8).prefix { $0 != "\n" }
    #expect(header.hasPrefix("x1,x2,") && header.hasSuffix("x400,label"))
  }
}

private extension Optional where Wrapped == Int {
  var orZero: Int { self ?? 0 }
}
