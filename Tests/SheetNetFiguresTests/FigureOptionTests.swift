import Foundation
import SheetNet
import SheetNetFigures
import Testing

/// Every option a figure kind reads (`FigureKind.options`), given a bad value, and every option
/// given to a kind that does not read it: one line naming the option, before anything is trained
/// or drawn. In process through `Catalogue.check` (the values only a lesson can judge), then
/// through the built binary for what `sheetnet figure` parses (exit 1, one `sheetnet: error:` line).
@Suite("Figure options: every bad value gives one line")
struct FigureOptionTests {
  /// One bad option: the kind, the lesson it is judged on, and the option (a bad value where
  /// the kind reads it, the option itself where it does not).
  struct Case: Sendable, CustomStringConvertible {
    var kind: FigureKind
    var lesson: String
    var option: FigureOption
    /// Whether the kind reads the option.
    var read: Bool { kind.options.contains(option) }
    var description: String { "\(kind.rawValue) --\(option.rawValue)\(read ? " (bad value)" : " (not read)")" }

    /// Options with this case's option given: a value these lessons cannot take where the kind
    /// reads it.
    var options: FigureOptions {
      var o = FigureOptions()
      o.given = [option]
      guard read else { return o }
      switch option {
      case .layer: o.layer = "nope"
      case .sample: o.sample = 99_999
      case .at: o.at = GridPosition(row: 9, column: 1)  // conv1's output is 8×8
      case .positions: o.at = GridPosition(row: 8, column: 8); o.positions = 2  // past the last position
      case .filter: o.filter = 9  // conv1 has 8 filters
      case .epochs: o.epochs = [0, 5000]  // xor trains 1000 epochs
      }
      return o
    }
  }

  /// A lesson each kind applies to: the figure tests' small CNN (8@3×3 same on 8×8, pool, 16@3×3
  /// valid, dense 10) for the image kinds, XOR for the plane's, attention-reverse for attention and generation.
  static func lesson(for kind: FigureKind) -> String {
    [.embeddings, .attention, .generation].contains(kind) ? "attention-reverse" : [.graph, .optimizers, .filmstrip, .decisionBoundary, .landscape].contains(kind) ? "xor" : "test:small-cnn"
  }

  /// Every (kind, option) pair.
  static let cases: [Case] = {
    var all: [Case] = []
    for kind in FigureKind.allCases {
      for option in FigureOption.allCases { all.append(Case(kind: kind, lesson: lesson(for: kind), option: option)) }
    }
    return all
  }()

  @Test("the table covers every kind and every option") func coverage() {
    #expect(Self.cases.count == FigureKind.allCases.count * FigureOption.allCases.count)
    #expect(Self.cases.filter(\.read).count == 17)  // each option a kind reads
  }

  @Test(arguments: cases)
  func aBadOptionGivesOneLine(_ c: Case) throws {
    let source = try lessonSource(c.lesson, epochs: 0)
    let o = c.options
    do {
      try Catalogue.check(c.kind, source, o)
      Issue.record("\(c): accepted")
    } catch {
      let line = error.description
      #expect(!line.contains("\n") && line.contains("--\(c.option.rawValue)"), "\(c): \(line)")
      if !c.read { #expect(line.contains("does not use"), "\(c): \(line)") }
    }
  }

  @Test("feature-maps --layer draws the input and that layer's maps; a layer it cannot draw is named with those it can")
  func featureMapsLayer() throws {
    let source = try lessonSource("test:small-cnn", epochs: 0)
    for (layer, shown) in [("conv2", "conv2"), ("3", "maxpool1"), ("relu1", "relu1")] {
      var o = options()
      o.layer = layer
      o.given = [.layer]
      let canvas = try record(try Catalogue.make(.featureMaps, source, o)[0])
      let names = source.model.layers.map(\.name)
      let rows = canvas.texts.filter { $0.style.size == Theme.slide.labelSize }.map(\.string).filter { names.contains($0) || $0 == "input" }
      #expect(rows == ["input", shown], "--layer \(layer): rows \(rows)")
      try expectReadable(try Catalogue.make(.featureMaps, source, o)[0], .slide)
    }
    for layer in ["nope", "99", "0", "dense1", "flatten1", "7"] {
      var o = options()
      o.layer = layer
      o.given = [.layer]
      #expect(throws: FigureError.self) { try Catalogue.check(.featureMaps, source, o) }
      do { try Catalogue.check(.featureMaps, source, o) } catch {
        #expect(error.description.contains("--layer \(layer)") && error.description.contains("conv1, relu1, maxpool1, conv2, relu2")
                && !error.description.contains("\n"), "\(layer): \(error.description)")
      }
    }
  }

  /// What `sheetnet figure` itself parses: a bad value of each of its options.
  static let commandLines: [(label: String, arguments: [String], mentions: String)] = [
    ("--format gif", ["--format", "gif"], "--format"),
    ("--size huge", ["--size", "huge"], "--size"),
    ("--scale 0", ["--scale", "0"], "--scale"),
    ("--scale 17", ["--scale", "17"], "--scale"),
    ("--scale x", ["--scale", "x"], "--scale"),
    ("--scale with svg", ["--scale", "2", "--format", "svg"], "--scale"),
    ("--sample 0", ["--sample", "0"], "--sample"),
    ("--sample abc", ["--sample", "abc"], "--sample"),
    ("--at 3", ["--at", "3"], "--at"),
    ("--at 0,1", ["--at", "0,1"], "--at"),
    ("--positions 0", ["--positions", "0"], "--positions"),
    ("--positions 65", ["--positions", "65"], "--positions"),
    ("--filter 0", ["--filter", "0"], "--filter"),
    ("--epochs 1,,x", ["--epochs", "1,,x"], "--epochs"),
    ("--epochs of 7", ["--epochs", "0,1,2,3,4,5,6"], "--epochs"),
    ("--seed x", ["--seed", "x"], "--seed"),
    ("--model and --retrain", ["--model", "m.json", "--retrain"], "--retrain"),
    ("--untrained for training", ["--untrained"], "--untrained"),
    ("--layer nope for feature-maps", ["--layer", "nope"], "--layer"),
  ]

  @Test("each option of sheetnet figure with a bad value: exit 1 and one line")
  func commandLine() throws {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sheetnet")
    let binary = FileManager.default.isExecutableFile(atPath: here.path) ? here : packageRoot.appendingPathComponent(".build/debug/sheetnet")
    let folder = NSTemporaryDirectory() + "sheetnet-figure-options-\(getpid())"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    for c in Self.commandLines {
      let kind = c.label.hasSuffix("for training") ? "training" : "feature-maps"
      let process = Process()
      process.executableURL = binary
      process.arguments = ["figure", kind, packagePath("Tests/SheetNetFiguresTests/Lessons/small-cnn.yaml"), "--output", folder + "/figures"] + c.arguments
      process.currentDirectoryURL = URL(fileURLWithPath: folder)
      let err = Pipe()
      process.standardOutput = FileHandle.nullDevice
      process.standardError = err
      try process.run()
      let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
      process.waitUntilExit()
      let lines = text.split(separator: "\n")
      #expect(process.terminationStatus == 1, "\(c.label): status \(process.terminationStatus)")
      #expect(lines.count == 1 && lines[0].hasPrefix("sheetnet: error: ") && text.contains(c.mentions), "\(c.label): \(text)")
    }
    #expect(!FileManager.default.fileExists(atPath: folder + "/figures"), "a refused figure wrote files")
  }
}
