import Foundation
import Testing
@testable import SheetNet

/// The message of what `body` throws, or "no error".
private func thrownMessage<T>(_ body: () throws -> T) -> String {
  do {
    _ = try body()
    return "no error"
  } catch let error as SheetNetError {
    return error.description
  } catch {
    return "\(error)"
  }
}

/// The hostile-data suites, together under one name (`swift test --filter HostileDataTests`).
enum HostileDataTests {}

/// A temporary file holding `text`; removed by the caller.
private func temporaryFile(_ text: String, _ name: String) throws -> String {
  let path = NSTemporaryDirectory() + "sheetnet-hostile-\(UUID().uuidString)-\(name)"
  try text.write(toFile: path, atomically: true, encoding: .utf8)
  return path
}

extension HostileDataTests {
  /// No JSON text crashes or hangs the reader: nesting is bounded, numbers are finite JSON numbers,
  /// keys do not repeat, and every refusal is one line with the character where it happened.
  @Suite(.timeLimit(.minutes(1)))
  struct JSONReader {
    @Test func fiftyThousandBracketsAreRefusedNotACrash() {
      let m = thrownMessage { try Value.parseJSON(String(repeating: "[", count: 50_000)) }
      #expect(m == "JSON nested deeper than 64 levels at character 64; the file is damaged or not one SheetNet wrote", "\(m)")
      let objects = String(repeating: "{\"a\":", count: 50_000)
      let o = thrownMessage { try Value.parseJSON(objects) }
      #expect(o.contains("JSON nested deeper than 64 levels at character \(64 * 5)"), "\(o)")
      let balanced = String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000)
      #expect(thrownMessage { try Value.parseJSON(balanced) }.contains("nested deeper than 64 levels"))
    }

    @Test func sixtyFourLevelsStillRead() throws {
      let text = String(repeating: "[", count: 64) + "1" + String(repeating: "]", count: 64)
      var v = try Value.parseJSON(text)
      for _ in 0..<64 { v = v.list![0] }
      #expect(v == .number(1))
    }

    @Test(arguments: ["[1e999]", "[-1e999]", "[1E+400]", "[1234567890e300]"])
    func numbersBeyondDoubleAreRefused(text: String) {
      let m = thrownMessage { try Value.parseJSON(text) }
      #expect(m.hasPrefix("malformed JSON at character 1: the number \(text.dropFirst().dropLast()) is beyond the range of a Double"), "\(m)")
    }

    @Test func tinyNumbersRoundToZeroAsDoublesDo() throws {
      #expect(try Value.parseJSON("1e-999") == .number(0))
      #expect(try Value.parseJSON("-0.0").number?.sign == .minus)
    }

    @Test(arguments: ["[01]", "[+1]", "[1.]", "[.5]", "[-]", "[1e]", "[NaN]", "[Infinity]", "[-Infinity]", "[0x10]"])
    func numbersOutsideJSONGrammarAreRefused(text: String) {
      let m = thrownMessage { try Value.parseJSON(text) }
      #expect(m.hasPrefix("malformed JSON at character "), "\(text): \(m)")
      #expect(m.contains("expected a value") || m.contains("expected ','"), "\(text): \(m)")
    }

    @Test func repeatedKeysAreRefused() {
      let m = thrownMessage { try Value.parseJSON("{\"version\": 1, \"version\": 99}") }
      #expect(m == "malformed JSON at character 15: the key \"version\" appears twice in one object; keep one", "\(m)")
    }

    @Test func escapes() throws {
      #expect(try Value.parseJSON("\"\\ud83d\\ude00 \\u00e9 \\/\"") == .string("😀 é /"))
      #expect(thrownMessage { try Value.parseJSON("\"\\x\"") }.contains("bad escape '\\x'"))
      #expect(thrownMessage { try Value.parseJSON("\"\\ud83d\"") }.contains("bad \\u escape"))
      #expect(thrownMessage { try Value.parseJSON("\"\\u12g4\"") }.contains("bad \\u escape"))
      #expect(thrownMessage { try Value.parseJSON("\"\\u12") }.contains("bad \\u escape"))
    }

    @Test func truncatedAndEmptyText() {
      for text in ["", "[", "{\"a\"", "{\"a\":", "[1,", "\"abc", "tru", "[1 2]", "{1: 2}", "[1,]"] {
        let m = thrownMessage { try Value.parseJSON(text) }
        #expect(m.hasPrefix("malformed JSON at character "), "\(text): \(m)")
      }
    }

    @Test func writerOutputStillReadsBack() throws {
      let v = Value.map([("a", .list([.number(0.1), .number(-0.0), .number(1e300), .number(Double.leastNonzeroMagnitude)])), ("b", .string("q\"\\\n\u{1}é")),
                         ("c", .map([("d", .list([.list([.bool(true), .null])]))]))])
      #expect(try Value.parseJSON(v.json()) == v)
      #expect(try Value.parseJSON(v.json(pretty: false)) == v)
    }
  }
}

extension HostileDataTests {
  /// A model file is checked whole before it is used; every refusal names the file and the layer
  /// and parameter, and nothing in it can crash the program.
  @Suite(.timeLimit(.minutes(1)))
  struct ModelFiles {
    static let lesson = """
      seed: 1
      data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
      network:
        - {type: dense, units: 3}
        - sigmoid
        - {type: dense, units: 1}
        - sigmoid
      loss: binary_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.5, momentum: 0.9}
      train: {epochs: 2, batch_size: 4}
      """

    /// A trained XOR model's document: dense1 (W 3×2, b 3), sigmoid1, dense2 (W 1×3, b 1), sigmoid2,
    /// with SGD momentum state v.
    static func document() throws -> Value {
      let run = try LessonRun(try Lesson.parse(lesson, path: "xor.yaml"))
      try run.train()
      return ModelFile(run: run).value
    }

    /// `doc` with the value at `path` (map keys, or "#n" for list item n) replaced, or removed when `new` is nil.
    static func setting(_ doc: Value, _ path: [String], to new: Value?) -> Value {
      guard let head = path.first else { return new ?? .null }
      let rest = Array(path.dropFirst())
      switch doc {
      case .map(var pairs):
        if let k = pairs.firstIndex(where: { $0.key == head }) {
          if rest.isEmpty && new == nil { pairs.remove(at: k) } else { pairs[k].value = setting(pairs[k].value, rest, to: new) }
        } else if let new {
          pairs.append((head, setting(.map([]), rest, to: new)))
        }
        return .map(pairs)
      case .list(var items):
        let k = Int(head.dropFirst())!
        items[k] = setting(items[k], rest, to: new)
        return .list(items)
      default:
        return doc
      }
    }

    /// What loading `doc` (saved as text to a file named model.json in a temporary folder) says.
    static func loadMessage(_ doc: Value) throws -> (path: String, message: String) {
      try loadMessage(text: doc.json())
    }

    static func loadMessage(text: String) throws -> (path: String, message: String) {
      let path = try temporaryFile(text, "model.json")
      defer { try? FileManager.default.removeItem(atPath: path) }
      return (path, thrownMessage { try ModelFile.load(path) })
    }

    /// The message for the document with one edit (or more: `and`), checked to start with the file's path.
    func message(_ path: [String], _ new: Value?, and more: [([String], Value?)] = []) throws -> String {
      var doc = try Self.document()
      for (p, v) in [(path, new)] + more { doc = Self.setting(doc, p, to: v) }
      let (file, m) = try Self.loadMessage(doc)
      #expect(m.hasPrefix(file + ": "), "\(m)")
      return m
    }

    static let dense2W = ["layers", "#2", "parameters", "W"]

    @Test func untouchedFileLoadsBitExact() throws {
      let doc = try Self.document()
      let (_, m) = try Self.loadMessage(doc)
      #expect(m == "no error")
      let back = try ModelFile.decode(try Value.parseJSON(doc.json()))
      #expect(back.value.json() == doc.json())
    }

    @Test func versionNinetyNineIsRefused() throws {
      let m = try message(["version"], .number(99))
      #expect(m.hasSuffix("the model file is version 99, but this SheetNet reads version 1; use the SheetNet that wrote it, or train the lesson again"), "\(m)")
      #expect(try message(["version"], nil).contains("has no \"version\""))
      #expect(try message(["version"], .string("1")).contains("version '1'"))
    }

    @Test func shapeDisagreeingWithValues() throws {
      let m = try message(ModelFiles.dense2W + ["shape"], .list([.number(3), .number(4)]))
      #expect(m.hasSuffix(": layer 3 (dense2) parameter W has shape 3×4 but 3 values"), "\(m)")
      let state = try message(ModelFiles.dense2W + ["state", "v", "shape"], .list([.number(2)]))
      #expect(state.hasSuffix(": layer 3 (dense2) parameter W state v has shape 2 but 3 values"), "\(state)")
    }

    @Test func shapeWhoseProductOverflowsIsRefusedNotACrash() throws {
      let huge = Value.list([.number(1e8), .number(1e8), .number(1e8)])
      let m = try message(ModelFiles.dense2W + ["shape"], huge)
      #expect(m.contains("layer 3 (dense2) parameter W shape is 100000000×100000000×100000000 = ") && m.contains("more than the 50,000,000"), "\(m)")
      let big = try message(ModelFiles.dense2W + ["shape"], .list([.number(10_000), .number(10_000)]))
      #expect(big.contains("shape is 10000×10000 = 100,000,000 values, more than the 50,000,000 SheetNet accepts"), "\(big)")
      let gigantic = try message(ModelFiles.dense2W + ["shape"], .list([.number(1e300)]))
      #expect(gigantic.contains("more than the 50,000,000"), "\(gigantic)")
    }

    @Test(arguments: [Value.number(0), .number(-1), .number(1.5), .string("3"), .null])
    func shapesAreWholeNumbersFromOne(bad: Value) throws {
      let m = try message(ModelFiles.dense2W + ["shape"], .list([.number(1), bad]))
      #expect(m.contains("layer 3 (dense2) parameter W shape must hold whole numbers ≥ 1"), "\(m)")
    }

    @Test func shapeMustBeWhatTheLayerBuilds() throws {
      // Three values as the file says, but dense2 has 1 unit and 3 inputs: 1×3.
      let m = try message(ModelFiles.dense2W + ["shape"], .list([.number(3), .number(1)]), and: [(ModelFiles.dense2W + ["state"], nil)])
      #expect(m.hasSuffix(": layer 3 (dense2) parameter W has shape 3×1 but the layer builds 1×3 from its options and its input 3"), "\(m)")
      let stateShape = try message(ModelFiles.dense2W + ["state", "v", "shape"], .list([.number(3), .number(1)]))
      #expect(stateShape.contains("layer 3 (dense2) parameter W state v has shape 3×1 but the parameter has 1×3"), "\(stateShape)")
    }

    @Test func valuesMustBeFiniteNumbers() throws {
      let values = ModelFiles.dense2W + ["values"]
      let m = try message(values, .list([.number(1), .null, .number(2)]))
      #expect(m.contains("layer 3 (dense2) parameter W value 2 is null, not a finite number"), "\(m)")
      // 1e999 written in the text: the JSON reader refuses it before it becomes infinity.
      let text = try Self.document().json().replacingOccurrences(of: "\"input_shape\": [2]", with: "\"input_shape\": [1e999]")
      let (file, inf) = try Self.loadMessage(text: text)
      #expect(inf.hasPrefix(file + ": malformed JSON at character ") && inf.contains("1e999 is beyond the range"), "\(inf)")
    }

    @Test func parametersMatchTheLayer() throws {
      let missing = try message(["layers", "#2", "parameters", "b"], nil)
      #expect(missing.contains("layer 3 (dense2) parameter b is missing"), "\(missing)")
      let extra = try message(["layers", "#1", "parameters", "W"], Value.map([("shape", .list([.number(1)])), ("values", .list([.number(1)]))]))
      #expect(extra.contains("layer 2 (sigmoid1) has no parameter W (it has none)"), "\(extra)")
      let key = try message(ModelFiles.dense2W + ["trainabel"], .bool(true))
      #expect(key.contains("layer 3 (dense2) parameter W has an unknown key 'trainabel'; did you mean 'trainable'?"), "\(key)")
      let trainable = try message(ModelFiles.dense2W + ["trainable"], .string("yes"))
      #expect(trainable.contains("\"trainable\" must be true or false"), "\(trainable)")
      let state = try message(ModelFiles.dense2W + ["state", "m"], Value.map([("shape", .list([.number(1), .number(3)])), ("values", .list([.number(0), .number(0), .number(0)]))]))
      #expect(state.contains("parameter W \"state\" has an unknown key 'm'"), "\(state)")
    }

    @Test func layerTypesAndOptionsAreChecked() throws {
      let type = try message(["layers", "#0", "type"], .string("dens"))
      #expect(type.contains("layer 1 has unknown type 'dens'; did you mean 'dense'?"), "\(type)")
      let key = try message(["layers", "#0", "options", "unitz"], .number(3))
      #expect(key.contains("layer 1 (dense1)'s \"options\" has an unknown key 'unitz'; did you mean 'units'?"), "\(key)")
      let units = try message(["layers", "#0", "options", "units"], .number(-3))
      #expect(units.contains("layer 1 (dense): 'units' must be a whole number ≥ 1, got -3"), "\(units)")
      let sigmoid = try message(["layers", "#1", "options"], .map([("alpha", .number(0.1))]))
      #expect(sigmoid.contains("unknown key 'alpha'; sigmoid takes no options"), "\(sigmoid)")
      let none = try message(["layers"], .list([]))
      #expect(none.contains("\"layers\" must be a list of at least one layer"), "\(none)")
    }

    @Test func absurdUnitsAreRefusedBeforeAllocating() throws {
      // 100 million units × 2 inputs would be 1.6 GB of weights drawn before they could be compared.
      let m = try message(["layers", "#0", "options", "units"], .number(1e8))
      #expect(m.contains("50,000,000"), "\(m)")
    }

    @Test func optimizerStepSeedAndSettings() throws {
      let step = try message(["optimizer", "step"], .number(1e300))
      #expect(step.contains("the optimizer's \"step\" must be a whole number from 0 to 9,007,199,254,740,992, got 1e+300"), "\(step)")
      let seed = try message(["lesson", "seed"], .number(-1))
      #expect(seed.contains("the lesson's \"seed\" must be a whole number from 0 to 18446744073709551615, got -1"), "\(seed)")
      let rate = try message(["optimizer", "options", "learning_rate"], .number(-1))
      #expect(rate.contains("'learning_rate' must not be negative"), "\(rate)")
      let key = try message(["optimizer", "options", "beta1"], .number(0.9))
      #expect(key.contains("the optimizer's \"options\" has an unknown key 'beta1'"), "\(key)")
      let type = try message(["optimizer", "type"], .string("adma"))
      #expect(type.contains("unknown optimizer 'adma'; did you mean 'adam'?"), "\(type)")
      let loss = try message(["loss"], .string("mse2"))
      #expect(loss.contains("unknown loss 'mse2'"), "\(loss)")
    }

    @Test func hugeSeedsRoundTrip() throws {
      let doc = try Self.document()
      let file = try ModelFile.decode(doc)
      #expect(file.seed == 1)
      var big = file
      big.seed = UInt64.max
      let back = try ModelFile.decode(try Value.parseJSON(big.value.json()))
      #expect(back.seed == UInt64.max)
    }

    @Test func preprocessIsChecked() throws {
      let empty = try message(["preprocess"], .map([("type", .string("standardize")), ("mean", .list([])), ("std", .list([]))]))
      #expect(empty.contains("the preprocess \"mean\" has 0 numbers but the input has 2 features"), "\(empty)")
      let negative = try message(["preprocess"], .map([("type", .string("standardize")), ("mean", .list([.number(0), .number(0)])), ("std", .list([.number(1), .number(-1)]))]))
      #expect(negative.contains("the preprocess \"std\" item 2 is -1; it must be a finite number ≥ 0"), "\(negative)")
      let zero = try message(["preprocess"], .map([("type", .string("divide")), ("by", .number(0))]))
      #expect(zero.contains("the preprocess \"by\" must be a finite number other than 0, got 0"), "\(zero)")
      let type = try message(["preprocess", "type"], .string("standardise"))
      #expect(type.contains("unknown preprocess type 'standardise'; did you mean 'standardize'?"), "\(type)")
    }

    @Test func topLevelKeysAndTypes() throws {
      let key = try message(["clases"], .list([]))
      #expect(key.contains("the model file has an unknown key 'clases'; did you mean 'classes'?"), "\(key)")
      let classes = try message(["classes"], .list([.number(1)]))
      #expect(classes.contains("\"classes\" item 1 must be a name in quotes, got 1"), "\(classes)")
      let input = try message(["input_shape"], .list([.number(0)]))
      #expect(input.contains("input_shape must hold whole numbers ≥ 1, got 0"), "\(input)")
      let (_, list) = try Self.loadMessage(text: "[1, 2]")
      #expect(list.contains("not a SheetNet model file"), "\(list)")
    }

    @Test func deeplyNestedModelFileNamesTheFile() throws {
      let (file, m) = try Self.loadMessage(text: "{\"format\": \"sheetnet-model\", \"layers\": " + String(repeating: "[", count: 50_000))
      #expect(m == "\(file): JSON nested deeper than 64 levels at character \(39 + 64 - 1); the file is damaged or not one SheetNet wrote", "\(m)")
      let (_, repeated) = try Self.loadMessage(text: try Self.document().json().replacingOccurrences(of: "\"version\": 1,", with: "\"version\": 1, \"version\": 99,"))
      #expect(repeated.contains("the key \"version\" appears twice in one object"), "\(repeated)")
    }
  }
}

extension HostileDataTests {
  /// CSV as spreadsheets write it is read; wrong labels and numbers are refused with file and line.
  @Suite(.timeLimit(.minutes(1)))
  struct CSVFiles {
    @Test func crlfLineEnds() throws {
      let (x, labels, header) = try CSVData.parse("a,b,label\r\n1,2,0\r\n3,4,1\r\n", file: "win.csv")
      #expect(x.shape == [2, 2] && x.data == [1, 2, 3, 4])
      #expect(labels == [0, 1] && header == ["a", "b", "label"])
      let old = try CSVData.parse("1,2,0\r3,4,1\r", file: "mac.csv")
      #expect(old.x.data == [1, 2, 3, 4] && old.labels == [0, 1])
      let m = thrownMessage { try CSVData.parse("1,2,0\r\n3,4\r\n", file: "win.csv") }
      #expect(m == "win.csv line 2: 2 fields, but earlier rows have 3; every row needs the same number of columns", "\(m)")
    }

    @Test func byteOrderMark() throws {
      let headed = try CSVData.parse("\u{FEFF}a,b,label\n1,2,0\n", file: "bom.csv")
      #expect(headed.header == ["a", "b", "label"] && headed.x.data == [1, 2])
      // Without the mark skipped, "\u{FEFF}1" would not be a number and the first sample would be taken for a header.
      let bare = try CSVData.parse("\u{FEFF}1,2,0\r\n3,4,1\r\n", file: "bom.csv")
      #expect(bare.header == nil && bare.x.data == [1, 2, 3, 4] && bare.labels == [0, 1])
    }

    @Test func quotedFields() throws {
      let text = "\"width, cm\",\"say \"\"hi\"\"\",\"two\nlines\",label\n\"1.5\", \"2\" ,3,0\n4,5,6,\"1\"\n"
      let (x, labels, header) = try CSVData.parse(text, file: "q.csv")
      #expect(header == ["width, cm", "say \"hi\"", "two\nlines", "label"])
      #expect(x.data == [1.5, 2, 3, 4, 5, 6] && labels == [0, 1])
      let unclosed = thrownMessage { try CSVData.parse("a,b\n1,2\n\"3,4\n5,6\n", file: "q.csv") }
      #expect(unclosed == "q.csv line 3, column 1: a quoted field is never closed; end it with \" (write a quote inside quotes as \"\")", "\(unclosed)")
      let after = thrownMessage { try CSVData.parse("1,\"2\"x,0\n", file: "q.csv") }
      #expect(after.hasPrefix("q.csv line 1, column 2: text after the closing quote"), "\(after)")
      // Line numbers count the line breaks inside quotes.
      let later = thrownMessage { try CSVData.parse("\"a\nb\",c,label\n1,2,0\n1,x,0\n", file: "q.csv") }
      #expect(later == "q.csv line 4, column 2: 'x' is not a number", "\(later)")
    }

    @Test func labelsMustBeClassNumbers() {
      let half = thrownMessage { try CSVData.parse("a,b,label\n1,2,0\n3,4,0.5\n", file: "l.csv") }
      #expect(half.hasPrefix("l.csv line 3, column 3: the label 0.5 is not a whole number; labels are class numbers 0, 1, 2, …"), "\(half)")
      let negative = thrownMessage { try CSVData.parse("1,2,-1\n", file: "l.csv") }
      #expect(negative.hasPrefix("l.csv line 1, column 3: the label -1 is negative; labels are class numbers"), "\(negative)")
      let absurd = thrownMessage { try CSVData.parse("1,2,0\n1,2,1e300\n", file: "l.csv") }
      #expect(absurd.hasPrefix("l.csv line 2, column 3: the label 1e300 is too large: SheetNet handles at most 10,000 classes (labels 0 … 9,999)"), "\(absurd)")
      #expect(absurd.contains("label_column"), "\(absurd)")
      #expect(thrownMessage { try CSVData.parse("1,2,10000\n", file: "l.csv") }.contains("too large"))
      #expect(thrownMessage { try CSVData.parse("1,2,9999\n", file: "l.csv") } == "no error")
      let first = thrownMessage { try CSVData.parse("0.5,1,2\n", file: "l.csv", labelColumn: 0) }
      #expect(first.hasPrefix("l.csv line 1, column 1: the label 0.5 is not a whole number"), "\(first)")
    }

    @Test func absurdLabelsNeverReachTraining() throws {
      let folder = try scratchFolder()
      defer { try? FileManager.default.removeItem(at: folder) }
      try "a,b,label\n0,0,0\n0,1,1\n1,0,1\n1,1,1e300\n".write(to: folder.appendingPathComponent("xor.csv"), atomically: true, encoding: .utf8)
      let lesson = folder.appendingPathComponent("lesson.yaml").path
      try "data: {dataset: csv, file: xor.csv}\nnetwork: [{type: dense, units: 1}, sigmoid]\nloss: binary_cross_entropy\n"
        .write(toFile: lesson, atomically: true, encoding: .utf8)
      let m = thrownMessage { try LessonRun(try Lesson.load(lesson)) }
      #expect(m.contains("xor.csv line 5, column 3: the label 1e300 is too large"), "\(m)")
    }

    @Test(arguments: ["inf", "-inf", "nan", "1e999", "-1e400", "infinity"])
    func nonFiniteNumbersAreRefused(field: String) {
      let m = thrownMessage { try CSVData.parse("1,2,0\n3,\(field),1\n", file: "n.csv") }
      #expect(m == "n.csv line 2, column 2: '\(field)' is not a finite number (infinite, NaN or beyond ±1.8e308); write an ordinary number", "\(m)")
    }

    @Test func rowsWithoutFeaturesAreRefused() {
      let m = thrownMessage { try CSVData.parse("label\n0\n1\n", file: "f.csv") }
      #expect(m.hasPrefix("f.csv line 2: the row holds only a label and no feature columns"), "\(m)")
      #expect(thrownMessage { try CSVData.parse("label\n0\n1\n", file: "f.csv", labelColumn: nil) } == "no error")
      let empty = thrownMessage { try CSVData.parse("1,2,0\n1,,0\n", file: "f.csv") }
      #expect(empty == "f.csv line 2, column 2 is empty; every field needs a number", "\(empty)")
      let header = thrownMessage { try CSVData.parse("a,b,label\r\n\r\n", file: "f.csv") }
      #expect(header.hasPrefix("f.csv: no data rows (only a header line)"), "\(header)")
    }

    @Test func blankLinesAndSpacesAsBefore() throws {
      let (x, labels, _) = try CSVData.parse("\n  1 , 2,0 \n\n \t \n3,4,1", file: "s.csv")
      #expect(x.data == [1, 2, 3, 4] && labels == [0, 1])
    }

    @Test func loadReadsCRLFAndBOMFiles() throws {
      let path = try temporaryFile("\u{FEFF}x1,x2,label\r\n0.5,1,1\r\n2,3,0\r\n", "data.csv")
      defer { try? FileManager.default.removeItem(atPath: path) }
      let d = try CSVData.load(path)
      #expect(d.count == 2 && d.labels == [1, 0] && d.x.data == [0.5, 1, 2, 3])
      #expect(d.featureNames == ["x1", "x2"], "the header names the features, the label's column left out")
    }

    @Test func featureNamesSkipTheLabelColumnWhereverItIs() throws {
      let path = try temporaryFile("label,width,height\n1,0.5,2\n", "named.csv")
      defer { try? FileManager.default.removeItem(atPath: path) }
      #expect(try CSVData.load(path, labelColumn: 0).featureNames == ["width", "height"])
      #expect(try CSVData.load(path, labelColumn: nil).featureNames == ["label", "width", "height"])
      #expect(try Builtin.iris().featureNames == ["sepal length (cm)", "sepal width (cm)", "petal length (cm)", "petal width (cm)"])
    }
  }
}

extension HostileDataTests {
  /// IDX headers and contents are checked before anything is allocated from them.
  @Suite(.timeLimit(.minutes(1)))
  struct IDXFiles {
    @Test func overflowingAndOverlargeHeaders() {
      let overflow = idxBytes(magic: 0x0000_0804, dims: [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF], [1, 2, 3])
      let m = thrownMessage { try IDX.parse(overflow, file: "o.idx") }
      #expect(m == "o.idx has absurd dimensions 4294967295×4294967295×4294967295×4294967295 in its header; the file is damaged or not an IDX file", "\(m)")
      let large = idxBytes(magic: IDX.imagesMagic, dims: [60000, 4096, 4096], [0])
      #expect(thrownMessage { try IDX.parse(large, file: "l.idx") }.contains("absurd dimensions 60000×4096×4096"))
      let short = idxBytes(magic: IDX.imagesMagic, dims: [1000, 1000, 1000], [0, 0])
      let t = thrownMessage { try IDX.parse(short, file: "s.idx") }
      #expect(t == "s.idx is truncated: its header announces 1000×1000×1000 = 1000000000 bytes of data but only 2 follow; download it again", "\(t)")
    }

    @Test func inconsistentContentsAreRefusedNotACrash() {
      let images = IDX.Contents(magic: IDX.imagesMagic, dims: [2, 28, 28], bytes: [0, 0])
      let labels = IDX.Contents(magic: IDX.labelsMagic, dims: [2], bytes: [1, 2])
      let m = thrownMessage { try IDX.dataset(images: images, labels: labels, imagesFile: "i.idx", labelsFile: "l.idx") }
      #expect(m == "i.idx: its extents 2×28×28 do not match its 2 bytes of data; read it with IDX.read or IDX.parse", "\(m)")
      let good = IDX.Contents(magic: IDX.imagesMagic, dims: [2, 1, 1], bytes: [7, 9])
      let shortLabels = IDX.Contents(magic: IDX.labelsMagic, dims: [2], bytes: [1])
      let l = thrownMessage { try IDX.dataset(images: good, labels: shortLabels, imagesFile: "i.idx", labelsFile: "l.idx") }
      #expect(l == "l.idx: its extents 2 do not match its 1 bytes of data; read it with IDX.read or IDX.parse", "\(l)")
      #expect(thrownMessage { try IDX.dataset(images: good, labels: labels, imagesFile: "i.idx", labelsFile: "l.idx") } == "no error")
    }

    @Test func hugeFilesAreRefusedBeforeReading() throws {
      // A sparse 3 GiB file: takes no disk space, and must not be read into memory.
      let path = NSTemporaryDirectory() + "sheetnet-hostile-\(UUID().uuidString).idx"
      _ = FileManager.default.createFile(atPath: path, contents: Data([0, 0, 8, 3]))
      defer { try? FileManager.default.removeItem(atPath: path) }
      let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: path))
      try handle.truncate(atOffset: 3 << 30)
      try handle.close()
      let m = thrownMessage { try IDX.read(path) }
      #expect(m == "\(path) holds 3,221,225,472 bytes, more than any IDX file SheetNet reads (at most 2,147,483,647 bytes of data); is it the right file?", "\(m)")
    }
  
    /// A deflate stream of 114 bytes that unpacks to 100,000 zeros (zlib level 9): a small
    /// "zip bomb". Inflating it under a lower limit is refused before the output grows past it.
    static let zeros: [UInt8] = [237, 193, 49, 1, 0, 0, 0, 194, 160, 245, 79, 109, 13, 15, 160] + [UInt8](repeating: 0, count: 96) + [128, 87, 3]

    @Test func unpackingPastALimitIsRefused() throws {
      #expect(try Inflate.inflate(Self.zeros, file: "bomb.gz").output.count == 100_000)
      do {
        _ = try Inflate.inflate(Self.zeros, file: "bomb.gz", limit: 1000)
        Issue.record("no error")
      } catch {
        #expect(error.description.contains("bomb.gz unpacks to more than 1,000 bytes"), "\(error)")
      }
    }
}
}

