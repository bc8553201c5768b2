import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
import Testing
@testable import SheetNetWorksheets
@testable import sheetnet

/// The attention-by-hand lesson's exercise: one row of attention (the last query's scores s, its
/// softmax row A and o = Σ a·v) blank, q, k and v given as short decimals; the answers recomputed
/// by hand here; the pages keep the print rules; the workbook checks itself in LibreOffice.
@Suite struct AttentionExerciseTests {
  static let prefix = "attention1.forward."

  func lesson() throws -> Lesson {
    try Lesson.load(packageRoot.appendingPathComponent("Worksheets/attention-by-hand.yaml").path)
  }

  /// The exercise the lesson's `build: exercise` asks for.
  func exercise() throws -> Exercise {
    let lesson = try lesson(), spec = lesson.build
    let blank = try #require(spec.exerciseBlank.flatMap(ExerciseBlank.init))
    return try Exercise(lesson, blank: blank, seed: spec.exerciseSeed, focus: ExerciseFocus(entries: spec.exerciseFocus, given: spec.exerciseGiven))
  }

  @Test func theBlanksAreOneRowOfAttentionWorkedByHand() throws {
    let e = try exercise()
    let p = Self.prefix
    #expect(e.blanks.map(\.name) == (1...3).map { "\(p)s[1,3,\($0)]" } + (1...3).map { "\(p)A[1,3,\($0)]" } + (1...2).map { "\(p)o[1,3,\($0)]" })
    #expect(Set(e.rows.map(\.entry)) == [p + "s", p + "A", p + "o"] && e.rows.count == 9 + 9 + 6)
    #expect(e.givens.map(\.entry) == Array(repeating: p + "q", count: 6) + Array(repeating: p + "k", count: 6) + Array(repeating: p + "v", count: 6))
    #expect(e.hyperparameters.isEmpty, "a forward focus needs no optimizer")
    // Short decimals: drawn one-decimal embeddings and positions, two-decimal weights: q = Wq·x has three.
    #expect(e.givens.allSatisfy { Exercise.shortDecimals($0.value) <= 3 && $0.decimals <= 3 }, "\(e.givens.map(\.shown))")
    #expect(!e.givensRounded)
    #expect(e.tokens == "tokens a a b")

    // By hand from the given numbers: s₃ⱼ = q₃·kⱼ/√2, A₃ⱼ = e^(s₃ⱼ − m)/Σ e^(s₃ⱼ′ − m), o₃ = Σⱼ A₃ⱼ·vⱼ.
    func given(_ key: String, _ token: Int, _ column: Int) throws -> Double {
      try #require(e.givens.first { $0.name == "\(p)\(key)[\(token),\(column)]" }).value
    }
    let q = [try given("q", 3, 1), try given("q", 3, 2)]
    var s: [Double] = []
    for j in 1...3 { s.append((q[0] * (try given("k", j, 1)) + q[1] * (try given("k", j, 2))) / 2.0.squareRoot()) }
    let m = s.max()!, exps = s.map { Foundation.exp($0 - m) }, total = exps.reduce(0, +)
    let A = exps.map { $0 / total }
    var o: [Double] = []
    for c in 1...2 { o.append(try (1...3).map { j in A[j - 1] * (try given("v", j, c)) }.reduce(0, +)) }
    #expect(abs(A.reduce(0, +) - 1) < 1e-15)
    for (blank, want) in zip(e.blanks, s + A + o) {
      #expect(abs(blank.value - want) <= 1e-12, "\(blank.name): the sheet says \(blank.value), by hand \(want)")
      // The answers are the engine's own numbers.
      #expect(blank.value == e.traced.tracer.entry(blank.entry)!.value.data[blank.element])
    }

    // The pages (key and exercise), the workbook and answers.csv say the same.
    let made = try ExerciseCommand.make(lesson: try lesson(), blank: ExerciseBlank(try lesson().build.exerciseBlank!)!, seed: e.seed,
                                        focus: ExerciseFocus(entries: try lesson().build.exerciseFocus, given: try lesson().build.exerciseGiven))
    let csv = String(decoding: try #require(made.files.first { $0.name == "answers.csv" }).data, as: UTF8.self)
    #expect(csv == e.answersCSV)
    let lines = csv.split(separator: "\r\n").dropFirst()
    #expect(lines.count == 8)
    for (line, blank) in zip(lines, e.blanks) {
      #expect(line.hasPrefix("\"\(blank.name)\",") && line.contains("," + Value.jsonNumber(blank.worked) + "," + blank.shown + ",")
              && line.hasSuffix("," + Value.jsonNumber(blank.value)), "\(line)")
    }
    #expect(try ExerciseWorkbook(e).boxes.map(\.name) == e.blanks.map(\.name))
    let content = ExerciseCommand.sheetContent(made.exercise)
    #expect(content.subtitle.contains("tokens a a b") && content.givens.map(\.heading) == [p + "q", p + "k", p + "v"])
    for answers in [false, true] {
      let texts = try auditedExerciseTexts(content, answers: answers, "attention-by-hand")
      for blank in e.blanks {
        let shown = blank.shown.replacingOccurrences(of: "-", with: "−")
        #expect(texts.contains(shown) == answers, "\(blank.name) \(shown) on the \(answers ? "key" : "exercise")")
      }
    }
  }

  @Test func aFocusAndAWildcardAreCheckedAndGeneral() throws {
    let lesson = try lesson(), p = Self.prefix
    // Unknown entries, an entry both given and asked, a given number as a quantity: one line each.
    let cases: [(ExerciseFocus, String)] = [
      (ExerciseFocus(entries: [p + "S"], given: [p + "q"]), "did you mean"),
      (ExerciseFocus(entries: [p + "s"], given: [p + "s"]), "name it once"),
      (ExerciseFocus(entries: [p + "Wq"], given: []), "list it under 'given'"),
    ]
    for (focus, words) in cases {
      #expect { _ = try Exercise(lesson, blank: .forward, seed: 1, focus: focus) } throws: { error in
        String(describing: error).contains(words)
      }
    }
    #expect { _ = try Exercise(lesson, blank: .cells([p + "A[1,4,:]"]), seed: 1, focus: ExerciseFocus(entries: [p + "A"], given: [p + "s"])) } throws: { error in
      String(describing: error).contains("no quantity matches")
    }
    // A wildcard on another axis: the weights every query gives key 1; the focus on A alone with s given.
    let column = try Exercise(lesson, blank: .cells([p + "A[1,:,1]"]), seed: 1, focus: ExerciseFocus(entries: [p + "A"], given: [p + "s"]))
    #expect(column.blanks.map(\.name) == (1...3).map { "\(p)A[1,\($0),1]" })
    #expect(column.givens.count == 9 && column.rows.count == 9)
    #expect(Exercise.matches("a.b.W[2,1]", "a.b.W[:,1]") && !Exercise.matches("a.b.W[2,1]", "a.b.W[:,2]") && !Exercise.matches("a.b.W[2,1]", "a.b.W[:]"))
    // Without a focus the whole step is too large for a sheet, as before.
    #expect(throws: SheetNetError.self) { _ = try Exercise(lesson, blank: .forward, seed: 1) }
  }

  /// `build: exercise` takes focus and given as lists or comma-separated text; an empty or
  /// absurd list is one line naming its line. The command line takes the same as --focus/--given.
  @Test func lessonKeysAndCommandOptions() throws {
    let spec = try lesson().build
    #expect(spec.exerciseFocus == ["s", "A", "o"].map { Self.prefix + $0 } && spec.exerciseGiven == ["q", "k", "v"].map { Self.prefix + $0 })
    let base = "network: [{type: dense, units: 1}]\ndata: {dataset: inline, x: [[1]], y: [[1]]}\nloss: mse\nbuild:\n  exercise: "
    let text = try Lesson.parse(base + "{focus: \"a.forward.s, a.forward.A\"}", path: "t.yaml")
    #expect(text.build.exerciseFocus == ["a.forward.s", "a.forward.A"] && text.build.exerciseGiven.isEmpty)
    for bad in ["{focus: []}", "{given: \"a,,b\"}", "{focus: [[a]]}", "{focus: x, colour: red}"] {
      #expect { _ = try Lesson.parse(base + bad, path: "t.yaml") } throws: { error in String(describing: error).contains("t.yaml") }
    }

    let folder = NSTemporaryDirectory() + "sheetnet-attention-cli-\(getpid())-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let p = Self.prefix
    let r = try sheetnet(["exercise", "Worksheets/attention-by-hand.yaml", "--seed", "1", "--output", folder,
                          "--focus", "\(p)s,\(p)A,\(p)o", "--given", "\(p)q, \(p)k, \(p)v", "--blank", "\(p)s[1,3,:],\(p)A[1,3,:],\(p)o[1,3,:]"])
    #expect(r.status == 0, "\(r.err)")
    #expect(String(decoding: contents(folder)["answers.csv"] ?? Data(), as: UTF8.self) == (try exercise()).answersCSV)
    let refused = try sheetnet(["exercise", "Worksheets/attention-by-hand.yaml", "--output", folder + "-2", "--focus", ","])
    #expect(refused.status != 0 && refused.err.contains("--focus"), "\(refused.err)")
  }

  @Test func libreOfficeChecksTheRowOfAttention() throws {
    guard LibreOffice.required(by: "libreOfficeChecksTheRowOfAttention") else { return }
    let e = try exercise()
    let book = try ExerciseWorkbook(e)
    let folder = NSTemporaryDirectory() + "sheetnet-attention-exercise-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let path = folder + "/exercise.xlsx"
    try Data(try XLSX.data(book.workbook)).write(to: URL(fileURLWithPath: path))
    let sheet = ExerciseWorkbook.sheetName
    let shown = Dictionary(uniqueKeysWithValues: e.blanks.map { ($0.name, $0) })
    let right = book.boxes.map { LibreOffice.Edit(sheet, $0.row, $0.column, Double(shown[$0.name]!.shown)!) }
    var oneWrong = right
    let victim = shown[book.boxes[4].name]!
    oneWrong[4].value = Double(victim.shown)! + 2 * pow(10, -Double(victim.decimals))
    // A given changed on the sheet moves the answers: the hidden step reads q, k and v from it.
    let q = try #require(e.givens.firstIndex { $0.name == Self.prefix + "q[3,1]" })
    let givenRow = 6 + q  // title, two notes, a blank row, "Given", the header row
    var moved = right
    moved.append(LibreOffice.Edit(sheet, givenRow, 2, e.givens[q].value + 0.5))
    let checks = book.boxes.map { LibreOffice.CellRef(sheet, $0.row, $0.checkColumn) }
    let results = try LibreOffice.recalc(workbook: path, runs: [right, oneWrong, moved].map { LibreOffice.Run(edits: $0, read: checks, strings: true) })
    let verdicts = try results.map { try #require($0.strings) }
    #expect(verdicts[0].allSatisfy { $0 == "right" }, "\(verdicts[0])")
    #expect(verdicts[1].enumerated().allSatisfy { $0.element == ($0.offset == 4 ? "wrong" : "right") }, "\(verdicts[1])")
    // q₃,₁ moves the three scores of query 3, its weights and o: every box is now wrong.
    #expect(verdicts[2].allSatisfy { $0 == "wrong" }, "\(verdicts[2])")
  }
}
