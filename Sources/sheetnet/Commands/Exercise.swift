import ArgumentParser
import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
import SheetNetWorksheets

/// `sheetnet exercise LESSON`: a hand-calculation worksheet from one real training step, its
/// answer key, a self-checking workbook and the answers as CSV, in Output/<lesson>/exercise/.
struct ExerciseCommand: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "exercise",
    abstract: "Make a hand-calculation exercise from one real training step: worksheet, answer key, self-checking workbook.",
    discussion: """
      Traces the lesson's first training step on the first sample of its training split and writes \
      Output/<lesson>/exercise/ (or --output DIR), all files or none: exercise.pdf (A4: the inputs, \
      weights and hyperparameters given, every quantity of the step in order with its arithmetic, \
      the blanks as empty boxes), answers.pdf (the same, blanks filled, marked ANSWER KEY), \
      exercise.xlsx (the blanks are yellow input cells; the check beside each turns green when the \
      value is within half a unit of the last digit asked for, red otherwise) and answers.csv.

      --blank mix (default): the first layer's z₁ and the a₁ after it, the output δ₁, the first \
      layer's ∂L/∂W₁,₁ and its new W₁,₁. forward: neuron 1 of every layer (z₁, a₁) and the loss. \
      backward: element 1 of every gradient. update: every new weight. Or names separated by commas \
      as `sheetnet trace` names the entries, with a 1-based index: hidden.forward.z[1],output.update.W[2,1]. \
      A later quantity equal to a blank (db = δ on one sample) is blank too, and later arithmetic \
      writes a blank's label for its number (σ(z₁)), so no answer stands on the sheet.

      --seed N draws the inputs (one decimal, −1…1) and every weight and bias (two decimals, \
      −0.99…0.99) from SheetNet's seeded generator: the same seed gives the same files, byte for byte. \
      Without it the lesson's own numbers are used; a token lesson keeps its tokens, and its \
      embedding (and learned positions) are drawn as inputs are. A sheet holds at most \(SheetNetTrace.Exercise.valueLimit) numbers.

      --focus ENTRIES works on part of the step alone: the sheet's quantities are those trace \
      entries (in step order), its givens the entries of --given (default: the usual). For one row of \
      attention: --focus attention1.forward.s,attention1.forward.A,attention1.forward.o \
      --given attention1.forward.q,attention1.forward.k,attention1.forward.v \
      --blank 'attention1.forward.s[1,3,:],attention1.forward.A[1,3,:],attention1.forward.o[1,3,:]' \
      (':' stands for every index along an axis).
      """)

  @Argument(help: "A lesson: its name (mazur), its file (Worksheets/mazur.yaml) or either without .yaml.")
  var lesson: String

  @Option(help: "What to leave blank: mix, forward, backward, update, or names separated by commas (e.g. hidden.forward.z[1]).")
  var blank = "mix"

  // Unconditional: `--seed -1` is refused as a value out of range, not as a missing one.
  @Option(parsing: .unconditional, help: "Draw short-decimal inputs and weights from this seed, 0…18446744073709551615 (default: the lesson's own numbers).",
          transform: { text in
            guard let n = UInt64(text) else { throw ValidationError("give a whole number from 0 to 18446744073709551615") }
            return n
          })
  var seed: UInt64?

  @Option(help: "Work on these trace entries alone, separated by commas (e.g. attention1.forward.s,attention1.forward.A).")
  var focus: String?

  @Option(help: "Give these trace entries, separated by commas, instead of the inputs, weights and targets.")
  var given: String?

  @Option(help: "Output folder (default: Output/<lesson>/exercise/).")
  var output: String?

  @Flag(help: "Protect exercise.xlsx for graded use: the answer sheets cannot be shown, the exercise sheet takes typing only in its answer boxes, and no formula shows which cell holds an answer (a deterrent: no password, as the protection of a spreadsheet is no secret).")
  var lock = false

  @Flag(help: "Print the files written and the blanks as JSON.")
  var json = false

  func validate() throws {
    guard ExerciseBlank(blank) != nil else {
      throw ValidationError("--blank takes \(ExerciseBlank.usage); got '\(blank.prefix(60))'")
    }
    for (flag, value) in [("--focus", focus), ("--given", given)] {
      if let value, ExerciseFocus.names(value) == nil {
        throw ValidationError("\(flag) takes trace entry names separated by commas, such as attention1.forward.s; got '\(value.prefix(60))'")
      }
    }
  }

  /// The focus of --focus and --given.
  var exerciseFocus: ExerciseFocus {
    ExerciseFocus(entries: focus.flatMap(ExerciseFocus.names) ?? [], given: given.flatMap(ExerciseFocus.names) ?? [])
  }

  func run() {
    guarded {
      let lesson = try Lesson.load(try Project.lessonFile(self.lesson))
      let made = try Self.make(lesson: lesson, blank: ExerciseBlank(blank)!, seed: seed, focus: exerciseFocus, lock: lock)
      var batch = OutputBatch(folder: output ?? "\(lesson.outputFolder)/exercise")
      for file in made.files { try batch.add(file.data, as: file.name) }
      try batch.commit()
      if json {
        let blanks: [Value] = made.exercise.blanks.map { .map([("name", .string($0.name)), ("answer", .number($0.value)), ("shown", .string($0.shown))]) }
        print(Value.map([("files", .list(batch.paths.map { .string($0) })), ("blanks", .list(blanks))]).json())
      } else {
        for path in batch.paths { printEscaped(path) }
      }
    }
  }

  /// The exercise files of `lesson` without writing them, for a command that adds them to its own
  /// batch: exercise.pdf, answers.pdf, exercise.xlsx, answers.csv (in that order). Throws
  /// `SheetNetError` (one line) for a lesson too big for a sheet, an unknown or given name in
  /// `blank`, or a failure to draw or encode.
  static func files(lesson: Lesson, blank: ExerciseBlank, seed: UInt64?, focus: ExerciseFocus = ExerciseFocus(), lock: Bool = false) throws -> [(name: String, data: Data)] {
    try make(lesson: lesson, blank: blank, seed: seed, focus: focus, lock: lock).files
  }

  /// The exercise and its files.
  static func make(lesson: Lesson, blank: ExerciseBlank, seed: UInt64?, focus: ExerciseFocus = ExerciseFocus(), lock: Bool = false) throws -> (exercise: SheetNetTrace.Exercise, files: [(name: String, data: Data)]) {
    let exercise = try SheetNetTrace.Exercise(lesson, blank: blank, seed: seed, focus: focus)
    let content = sheetContent(exercise)
    var files: [(name: String, data: Data)] = []
    do {
      files.append(("exercise.pdf", Data(try FigureFile.pdf(pages: ExerciseSheet.pages(content, answers: false)))))
      files.append(("answers.pdf", Data(try FigureFile.pdf(pages: ExerciseSheet.pages(content, answers: true)))))
    } catch {
      throw SheetNetError.io("cannot draw the exercise sheet: \(error)")
    }
    files.append(("exercise.xlsx", Data(try XLSX.data(try ExerciseWorkbook(exercise, lock: lock).workbook))))
    files.append(("answers.csv", Data(exercise.answersCSV.utf8)))
    return (exercise, files)
  }

  /// What the printed sheet shows, every number formatted from the engine's.
  static func sheetContent(_ exercise: SheetNetTrace.Exercise) -> ExerciseSheet.Content {
    func minus(_ s: String) -> String { s.replacingOccurrences(of: "-", with: "−") }
    var givens: [(heading: String, items: [String])] = []
    for g in exercise.givens {
      let heading = g.entry
      let item = "\(g.label) = \(minus(g.shown))"
      if givens.last?.heading == heading { givens[givens.count - 1].items.append(item) } else { givens.append((heading, [item])) }
    }
    if !exercise.hyperparameters.isEmpty {
      givens.append(("optimizer", exercise.hyperparameters.map { "\($0.name) = \(minus(Exercise.compact($0.value)))" }))
    }
    let source = exercise.seed.map { "inputs and weights drawn with seed \($0)" } ?? "the lesson's own numbers"
    let part = exercise.isFocused ? " (part of it)" : ""
    let subtitle = "\(exercise.lesson): the first training step\(part) on one sample\(exercise.tokens.map { " (\($0))" } ?? ""), \(source)."
    var note = "Fill each box to the decimals in the last column."
    if exercise.givensRounded { note += " Some givens are shown rounded to \(Exercise.givenDecimals) decimals; the step is worked from them as shown." }
    let entries = Dictionary(exercise.traced.tracer.entries.map { ($0.name, $0.formula) }, uniquingKeysWith: { a, _ in a })
    let rows = exercise.rows.map { r in
      ExerciseSheet.Row(
        group: "\(r.entry)   \(entries[r.entry] ?? r.formula)", label: r.label,
        arithmetic: exercise.arithmetic(r) { minus(Exercise.written($0)) },
        shown: minus(r.shown), blank: r.blank, decimals: r.decimals)
    }
    return ExerciseSheet.Content(title: "Exercise: \(exercise.title)", subtitle: subtitle, givens: givens, note: note, rows: rows)
  }
}
