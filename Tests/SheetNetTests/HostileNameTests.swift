import Foundation
import Testing
@testable import SheetNet

/// Names from a lesson are data, never paths, and lesson text reaches outputs guarded: every
/// name that becomes part of a file or sheet name keeps one rule (`Names`), refused otherwise
/// with one line naming file, line and layer; terminal output escapes control characters; CSV
/// text cells cannot run as formulas.
@Suite struct HostileNameTests {
  static let data = "data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}\nloss: binary_cross_entropy\n"

  /// A lesson whose first layer (line 4) is a dense layer named `name` (written as a JSON string,
  /// which YAML reads as a double-quoted scalar).
  static func lesson(firstName name: String) -> String {
    let quoted = String(decoding: try! JSONEncoder().encode(name), as: UTF8.self)
    return data + "network:\n  - {type: dense, units: 2, name: \(quoted)}\n  - sigmoid\n  - {type: dense, units: 1}\n  - sigmoid\n"
  }

  /// A hostile layer name and what the one line must say about it.
  struct Case: Sendable, CustomStringConvertible {
    var name: String, says: String
    var description: String { Terminal.escaped(name.count > 20 ? String(name.prefix(20)) + "…" : name) }
  }

  static let hostile: [Case] = [
    Case(name: "../../x", says: "holds '/'"),
    Case(name: "../../../../outside/pwned", says: "holds '/'"),
    Case(name: "a/b", says: "holds '/'"),
    Case(name: "a\\b", says: "holds '\\'"),
    Case(name: "a\nb", says: "holds '\\n'"),
    Case(name: "a\u{1B}[31mb", says: "holds '\\e'"),
    Case(name: ".hidden", says: "starts with '.'"),
    Case(name: "..", says: "starts with '.'"),
    Case(name: String(repeating: "a", count: 65), says: "is 65 characters long, more than 64"),
    Case(name: "é", says: "holds 'é'"),
    Case(name: "", says: "is empty"),
    Case(name: "a b", says: "holds ' '"),
    Case(name: "=1+1", says: "holds '='"),
    Case(name: "C:x", says: "holds ':'"),
  ]

  /// The one line a lesson is refused with.
  func refusal(_ yaml: String, path: String = "Worksheets/bad.yaml") -> String? {
    do {
      _ = try Lesson.parse(yaml, path: path)
      return nil
    } catch {
      return error.description
    }
  }

  @Test(arguments: hostile)
  func aHostileLayerNameIsRefusedWithOneLine(_ c: Case) {
    let line = refusal(Self.lesson(firstName: c.name))
    #expect(line?.hasPrefix("Worksheets/bad.yaml line 4: layer 1 (dense): name '") == true, "\(c): \(line ?? "accepted")")
    #expect(line?.contains(c.says) == true, "\(c): \(line ?? "accepted")")
    #expect(line?.hasSuffix("use letters, digits, _ - . (ASCII, at most 64, not starting with '.')") == true, "\(c): \(line ?? "accepted")")
    #expect(line.map { !$0.unicodeScalars.contains(where: Terminal.isControl) } == true, "\(c): not one plain line")
  }

  @Test func namesInTheSafeSetAreKept() throws {
    let names = ["_x0041_", "a.b-c_D9", "-1-1", "h..", String(repeating: "z", count: 64)]
    for name in names {
      let lesson = try Lesson.parse(Self.lesson(firstName: name), path: "ok.yaml")
      var rng = SeededGenerator(seed: 1)
      let model = try lesson.makeModel(inputShape: [2], rng: &rng)
      #expect(model.layers.map(\.name) == [name, "sigmoid1", "dense1", "sigmoid2"])
    }
    // `name: 12` is the name "12", not a number that is dropped.
    let numbered = try Lesson.parse(Self.data + "network: [{type: dense, units: 1, name: 12}, sigmoid]\n", path: "ok.yaml")
    var rng = SeededGenerator(seed: 1)
    #expect(try numbered.makeModel(inputShape: [2], rng: &rng).layers[0].name == "12")
  }

  @Test func twoLayersOfOneNameAreRefused() {
    let same = refusal(Self.data + "network:\n  - {type: dense, units: 2, name: h}\n  - {type: sigmoid, name: h}\n  - {type: dense, units: 1}\n")
    #expect(same == "Worksheets/bad.yaml line 5: layer 2 (sigmoid): name 'h' is also the name of layer 1; give each layer its own name")
    let cased = refusal(Self.data + "network:\n  - {type: dense, units: 2, name: H}\n  - {type: sigmoid, name: h}\n  - {type: dense, units: 1}\n")
    #expect(cased == "Worksheets/bad.yaml line 5: layer 2 (sigmoid): name 'h' differs only in case from 'H' of layer 1; give each layer its own name")
  }

  @Test func anExplicitNameCannotTakeAnAutomaticOne() throws {
    // Layer 1 is dense1 automatically; layer 2 may not be named dense1 as well.
    let taken = refusal(Self.data + "network:\n  - {type: dense, units: 2}\n  - {type: sigmoid, name: dense1}\n  - {type: dense, units: 1}\n")
    #expect(taken == "Worksheets/bad.yaml line 5: layer 2 (sigmoid): name 'dense1' is the automatic name of layer 1 (dense); choose another name, or name layer 1 too")
    let later = refusal(Self.data + "network:\n  - {type: dense, units: 2, name: Sigmoid2}\n  - sigmoid\n  - {type: dense, units: 1}\n  - sigmoid\n")
    #expect(later == "Worksheets/bad.yaml line 4: layer 1 (dense): name 'Sigmoid2' is the automatic name of layer 4 (sigmoid); choose another name, or name layer 4 too")
    // A name that no other layer is given automatically stays; the others count on.
    let free = try Lesson.parse(Self.data + "network: [{type: dense, units: 2, name: dense2}, sigmoid, {type: dense, units: 1}, sigmoid]\n", path: "ok.yaml")
    var rng = SeededGenerator(seed: 1)
    #expect(try free.makeModel(inputShape: [2], rng: &rng).layers.map(\.name) == ["dense2", "sigmoid1", "dense1", "sigmoid2"])
  }

  @Test func theLessonNameKeepsTheRule() {
    for (name, says) in [("..", "starts with '.'"), (".", "starts with '.'"), ("../x", "holds '/'"), ("é", "holds 'é'"), ("", "is empty"),
                         ("a\nb", "holds '\\n'"), (String(repeating: "n", count: 65), "more than 64")] {
      let quoted = String(decoding: try! JSONEncoder().encode(name), as: UTF8.self)
      let line = refusal("name: \(quoted)\n" + Self.lesson(firstName: "h"))
      #expect(line?.hasPrefix("Worksheets/bad.yaml line 1: name '") == true, "\(name): \(line ?? "accepted")")
      #expect(line?.contains(says) == true && line?.contains("it names the output folder") == true, "\(name): \(line ?? "accepted")")
    }
    // From the file name when the lesson gives none.
    let line = refusal(Self.lesson(firstName: "h"), path: "Worksheets/café.yaml")
    #expect(line == "Worksheets/café.yaml: the lesson's name (its file name without .yaml) 'café' holds 'é'; it names the output folder, so use letters, digits, _ - . (ASCII, at most 64, not starting with '.')")
  }

  /// A model file (as `train` writes one) with its layer names replaced.
  static func model(names: [String], lesson: String = "bad") -> String {
    let quoted = names.map { String(decoding: try! JSONEncoder().encode($0), as: UTF8.self) }
    return """
      {"format": "sheetnet-model", "version": 1, "lesson": {"name": \(String(decoding: try! JSONEncoder().encode(lesson), as: UTF8.self)), "path": "Worksheets/bad.yaml", "seed": 1, "source": ""},
       "input_shape": [2], "loss": "binary_cross_entropy", "optimizer": {"type": "sgd", "step": 0, "options": {"learning_rate": 0.5}},
       "preprocess": {"type": "none"}, "classes": [],
       "layers": [{"type": "dense", "name": \(quoted[0]), "options": {"units": 1, "init": "glorot", "use_bias": true},
                   "parameters": {"W": {"shape": [1, 2], "trainable": true, "values": [0.5, -0.5]},
                                  "b": {"shape": [1], "trainable": true, "values": [0]}}},
                  {"type": "sigmoid", "name": \(quoted[1]), "options": {}, "parameters": {}}]}
      """
  }

  func modelRefusal(_ text: String) -> String? {
    do {
      _ = try ModelFile.decode(try Value.parseJSON(text))
      return nil
    } catch {
      return error.description
    }
  }

  @Test func aModelFileGoesThroughTheSameCheck() throws {
    #expect(modelRefusal(Self.model(names: ["dense1", "sigmoid1"])) == nil)
    #expect(modelRefusal(Self.model(names: ["../../x", "sigmoid1"])) == "layer 1 (dense): name '../../x' holds '/'; use letters, digits, _ - . (ASCII, at most 64, not starting with '.')")
    #expect(modelRefusal(Self.model(names: ["h", "H"])) == "layer 2 (sigmoid): name 'H' is also the name of layer 1; the file is damaged, train the lesson again")
    #expect(modelRefusal(Self.model(names: ["a\u{1B}b", "s"]))?.contains("name 'a\\eb' holds '\\e'") == true)
    #expect(modelRefusal(Self.model(names: ["d", "s"], lesson: "..")) == "the lesson's \"name\" '..' starts with '.'; use letters, digits, _ - . (ASCII, at most 64, not starting with '.')")
  }

  @Test func aNetworkBuiltInCodeIsCheckedToo() {
    func network(_ first: String, _ second: String) -> Sequential {
      let (dense, sigmoid) = (Dense(2), Sigmoid())
      dense.name = first
      sigmoid.name = second
      return Sequential([dense, sigmoid])
    }
    var rng = SeededGenerator(seed: 1)
    #expect(throws: SheetNetError.lesson("layer 2 (sigmoid): name 'h' is also the name of layer 1 (names are compared ignoring case); give each layer its own name")) {
      try network("h", "h").build(inputShape: [2], rng: &rng)
    }
    #expect(throws: SheetNetError.self) { try network("../x", "s").build(inputShape: [2], rng: &rng) }
    #expect(throws: Never.self) { try network("d", "s").build(inputShape: [2], rng: &rng) }
  }

  @Test func aBatchRefusesAPathInsteadOfCrashing() throws {
    var batch = OutputBatch(folder: NSTemporaryDirectory() + "sheetnet-names-never-written")
    for name in ["../x", "a/../../b", "/etc/x", "a//b", "a/", "", ".", "..", "a\nb", "a\u{1B}b", ".sheetnet-manifest", "f/.sheetnet-0123456789abcdef.tmp"] {
      #expect(throws: SheetNetError.self, "\(Terminal.escaped(name))") { try batch.add("x", as: name) }
    }
    // A subfolder inside the batch's folder is a path SheetNet makes itself (figures/x.png).
    try batch.add("x", as: "gradients-step-_x0041_.png")
    try batch.add("x", as: "figures/training.png")
    #expect(throws: SheetNetError.self) { try batch.add("y", as: "figures/training.png") }
    #expect(batch.paths.count == 2)
  }

  @Test func terminalTextShowsControlCharactersAsEscapes() {
    #expect(Terminal.escaped("a\u{1B}[31mb\nc\r\td\u{7}\u{7F}\u{9B}e\\n") == "a\\e[31mb\\nc\\r\\td\\x07\\x7F\\u{9B}e\\n")
    #expect(Terminal.escaped("one\ntwo\u{1B}", keepingLineBreaks: true) == "one\ntwo\\e")
    let once = Terminal.escaped("x\u{1B}y")
    #expect(Terminal.escaped(once) == once)
    #expect(Terminal.escaped("plain – text ✓") == "plain – text ✓")
    #expect(SheetNetError.lesson("two\nlines \u{1B}[2J").description == "two\\nlines \\e[2J")
  }

  @Test func csvTextCellsAreGuarded() {
    #expect(CSVCell.text("=1+1") == "'=1+1")
    #expect(CSVCell.text("+cmd|' /C calc'!A0") == "'+cmd|' /C calc'!A0")
    #expect(CSVCell.text("-1-1.forward.z") == "'-1-1.forward.z")
    #expect(CSVCell.text("@SUM(A1)") == "'@SUM(A1)")
    #expect(CSVCell.text("\t=x") == "'\t=x")
    #expect(CSVCell.text("\r=x") == "\"'\r=x\"")
    #expect(CSVCell.text("a,\"b\"") == "\"a,\"\"b\"\"\"")
    #expect(CSVCell.text("dense1.forward.z") == "dense1.forward.z")
  }

  // MARK: The command line

  /// A scratch folder holding a project two folders down (root/a/b/p), so a name climbing out
  /// of the project still lands inside `root`, which the test compares before and after.
  func scratch(_ files: [String: String]) throws -> (root: String, project: String) {
    let root = NSTemporaryDirectory() + "sheetnet-names-\(getpid())-\(UUID().uuidString.prefix(8))"
    let project = root + "/a/b/p"
    for (path, text) in files {
      let full = project + "/" + path
      try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try Data(text.utf8).write(to: URL(fileURLWithPath: full))
    }
    return (root, project)
  }


  static let commandCases: [Case] = [
    Case(name: "../../../../outside/pwned", says: "holds '/'"),
    Case(name: "a/b", says: "holds '/'"),
    Case(name: "a\nb", says: "holds '\\n'"),
    Case(name: "h", says: "is also the name of layer 1"),  // two layers named h
  ]

  @Test(arguments: commandCases)
  func figuresAndBuildRefuseAHostileNameWithoutACrash(_ c: Case) throws {
    let yaml = c.name == "h"
      ? Self.data + "network:\n  - {type: dense, units: 2, name: h}\n  - {type: sigmoid, name: h}\n  - {type: dense, units: 1}\n  - sigmoid\n"
      : Self.lesson(firstName: c.name)
    let (root, project) = try scratch(["Worksheets/bad.yaml": yaml])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let before = snapshot(root)
    for arguments in [["figure", "gradients", "bad"], ["figure", "gradients", "bad", "--layer", "1"], ["figure", "graph", "bad"], ["build", "bad"]] {
      let (status, _, err) = try runSheetnet(arguments, in: project)
      let what = "\(arguments.joined(separator: " ")) on \(c)"
      #expect(status == 1, "\(what): status \(status) (a crash is not 1); \(err.prefix(300))")
      let lines = err.split(separator: "\n", omittingEmptySubsequences: false).dropLast()
      #expect(lines.count == 1 && lines[0].hasPrefix("sheetnet: error: ") && err.hasSuffix("\n"), "\(what): \(err.prefix(500))")
      #expect(err.contains("layer") && err.contains(c.says), "\(what): \(err)")
      let after = snapshot(root)
      #expect(after == before, "\(what): files written: \(Set(after.keys).subtracting(before.keys).sorted())")
    }
  }

  /// Raw control characters other than the line feed in `text` (C0, DEL, C1).
  func controls(_ text: String) -> [String] {
    text.unicodeScalars.filter { Terminal.isControl($0) && $0 != "\n" }.map { String(format: "U+%04X", $0.value) }
  }

  @Test func titlesAndClassNamesReachTheTerminalEscaped() throws {
    let title = #"title: "\e[31mred\e[0m \x9b2J \e]0;owned\a done"\#n"#
    let (root, project) = try scratch(["Worksheets/esc.yaml": title + Self.lesson(firstName: "hidden"),
                                       "Worksheets/bad.yaml": Self.data + "network: [\"\\e[2Jrelu\"]\n"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    for arguments in [["summary", "esc"], ["trace", "esc"], ["train", "esc"], ["trace", "esc", "--save"], ["train", "bad"]] {
      let (_, out, err) = try runSheetnet(arguments, in: project)
      #expect(controls(out).isEmpty && controls(err).isEmpty, "\(arguments): \(controls(out)) \(controls(err))")
      if arguments == ["summary", "esc"] { #expect(out.hasPrefix("esc: \\e[31mred\\e[0m \\u{9B}2J \\e]0;owned\\x07 done\n"), "\(out.prefix(200))") }
      if arguments == ["train", "bad"] { #expect(err.contains("'\\e[2jrelu'"), "\(err)") }  // layer types are read in lower case
    }
    // Class names and the lesson's text come back from the model file.
    let modelPath = project + "/Output/esc/model.json"
    var model = try String(contentsOfFile: modelPath, encoding: .utf8)
    #expect(model.contains("\"classes\": []") || model.contains("\"classes\":[]"))
    model = model.replacingOccurrences(of: "\"classes\": []", with: "\"classes\": [\"\\u001b[31mzero\", \"one\\u009b\"]")
      .replacingOccurrences(of: "\"classes\":[]", with: "\"classes\":[\"\\u001b[31mzero\",\"one\\u009b\"]")
    try Data(model.utf8).write(to: URL(fileURLWithPath: modelPath))
    for arguments in [["evaluate", "Output/esc/model.json"], ["summary", "Output/esc/model.json"], ["evaluate", "Output/esc/model.json", "--json"]] {
      let (status, out, err) = try runSheetnet(arguments, in: project)
      #expect(status == 0, "\(arguments): \(err)")
      #expect(controls(out).isEmpty && controls(err).isEmpty, "\(arguments): \(controls(out)) \(controls(err))")
    }
  }

  /// RFC 4180 fields of `text` (quotes, doubled quotes, CRLF or LF line ends).
  func csvCells(_ text: String) -> [String] {
    var cells: [String] = [], field = "", quoted = false, wasQuoted = false
    var chars = Array(text.unicodeScalars)[...]
    while let c = chars.popFirst() {
      if quoted {
        if c == "\"" { if chars.first == "\"" { field.unicodeScalars.append(chars.removeFirst()) } else { quoted = false } } else { field.unicodeScalars.append(c) }
      } else if c == "\"" && field.isEmpty {
        quoted = true
        wasQuoted = true
      } else if c == "," || c == "\n" || (c == "\r" && chars.first == "\n") {
        if c == "\r" { chars.removeFirst() }
        cells.append(field)
        field = ""
        wasQuoted = false
      } else {
        field.unicodeScalars.append(c)
      }
    }
    if !field.isEmpty || wasQuoted { cells.append(field) }
    return cells
  }

  @Test func noCSVCellRunsAsAFormula() throws {
    // The title carries the classic payloads; names may start with '-' (`-1-1` is a formula).
    let yaml = "title: \"=1+1+cmd|' /C calc'!A0\"\n" + Self.data
      + "network:\n  - {type: dense, units: 2, name: -1-1}\n  - {type: sigmoid, name: -cmd}\n  - {type: dense, units: 1}\n  - sigmoid\n"
    let (root, project) = try scratch(["Worksheets/inject.yaml": yaml])
    defer { try? FileManager.default.removeItem(atPath: root) }
    for arguments in [["export", "inject", "--format", "csv"], ["exercise", "Worksheets/inject.yaml"], ["train", "inject"], ["data", "inject"]] {
      let (status, _, err) = try runSheetnet(arguments, in: project)
      #expect(status == 0, "\(arguments): \(err)")
    }
    let files = snapshot(project + "/Output/inject").filter { $0.key.hasSuffix(".csv") }
    #expect(files.keys.contains("exercise/answers.csv") && files.keys.contains("worksheets/entries.csv") && files.keys.contains("history.csv")
            && files.keys.contains("data/train.csv"), "\(files.keys.sorted())")
    var guarded = 0
    for (path, data) in files.sorted(by: { $0.key < $1.key }) {
      for cell in csvCells(String(decoding: data, as: UTF8.self)) {
        if cell.hasPrefix("'-1-1") || cell.hasPrefix("'-cmd") { guarded += 1 }
        guard let first = cell.unicodeScalars.first else { continue }
        #expect(!"=+@\t\r".unicodeScalars.contains(first), "\(path): a cell starts with a formula: \(cell)")
        if first == "-" { #expect(Double(cell) != nil, "\(path): a cell starts with '-' and is not a number: \(cell)") }
      }
    }
    // The names did reach the files (so the check above saw them), guarded.
    #expect(guarded > 10, "only \(guarded) guarded cells")
    let answers = String(decoding: files["exercise/answers.csv"] ?? Data(), as: UTF8.self)
    #expect(answers.contains("\r\n'-1-1.") || answers.contains("\r\n'-cmd."), "\(answers.prefix(300))")
  }
}
