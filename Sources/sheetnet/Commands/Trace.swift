import ArgumentParser
import Foundation
import SheetNet
import SheetNetTrace

/// A phase of the step, for `--phase`.
extension Phase: ExpressibleByArgument {}

/// `sheetnet trace LESSON`: one training step with every number and its arithmetic.
struct Trace: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "trace",
    abstract: "Trace one training step: every forward value, gradient and update, with the arithmetic written out.",
    discussion: "By default the lesson's first training step is traced on its first mini-batch. Small layers show every scalar equation; larger ones show statistics and a heatmap, and --unit LAYER:INDEX expands one neuron or output cell (1-based: dense1:3, conv1:1,4,5; add @N for sample N of the batch). With --output (or --save for Output/<lesson>/) trace.txt and trace.json are written too.")

  @OptionGroup var options: LessonOptions

  @OptionGroup var stepOptions: StepOptions

  @Option(help: "Show only this part of the step.")
  var phase: Phase?

  @Option(help: "Show only this layer (e.g. dense1, conv1, loss, input).")
  var layer: String?

  @Option(help: "Decimal places of every number (scientific with as many significant digits below 1e-4).")
  var digits = 9

  @Option(help: "Expand one unit's arithmetic in full: LAYER:INDEX, e.g. dense1:3 or conv1:1,4,5@2.")
  var unit: String?

  @Flag(help: "Add a gradient-check table: analytic against central-difference gradients.")
  var check = false

  @Flag(help: "Print the whole trace as JSON (schema in README).")
  var json = false

  @Flag(help: "Write trace.txt and trace.json into Output/<lesson>/ (implied by --output).")
  var save = false

  @OptionGroup var timeLimit: TimeLimitOptions

  func validate() throws {
    guard (1...17).contains(digits) else { throw ValidationError("--digits must be between 1 and 17") }
    if let unit, Trace.parseUnit(unit) == nil {
      throw ValidationError("--unit takes LAYER:INDEX with 1-based indices, e.g. dense1:3 or conv1:1,4,5 (add @2 for sample 2)")
    }
  }

  /// "conv1:1,4,5@2" → ("conv1", [1, 4, 5], 2).
  static func parseUnit(_ text: String) -> (layer: String, index: [Int], sample: Int)? {
    let parts = text.split(separator: ":", maxSplits: 1)
    guard parts.count == 2, !parts[0].isEmpty else { return nil }
    let at = parts[1].split(separator: "@")
    guard at.count <= 2 else { return nil }
    let index = at[0].split(separator: ",").compactMap { Int($0.trimmingCharacters(in: .whitespaces)) }
    guard !index.isEmpty, index.count == at[0].split(separator: ",").count else { return nil }
    let sample = at.count == 2 ? Int(at[1]) : 1
    guard let sample else { return nil }
    return (String(parts[0]), index, sample)
  }

  func run() {
    guarded {
      let run = try options.run()
      try stepOptions.checkBudget(run, views: .init(text: true, check: check), timeLimit: timeLimit)
      let traced = try TracedStep(run, .init(step: stepOptions.step, sample: stepOptions.sample, batch: stepOptions.batch, check: check))
      var text = TraceText()
      text.digits = digits
      text.phase = phase
      text.layer = layer
      text.width = terminalWidth()
      text.color = useColor
      text.unicode = stdoutIsTerminal
      if let layer, run.model.layer(named: layer) == nil, !["loss", "input"].contains(layer) {
        let names = run.model.layers.map(\.name) + ["loss", "input"]
        throw SheetNetError.lesson("no layer named '\(layer)'\(didYouMean(layer, in: names)); layers: \(names.joined(separator: ", "))")
      }
      // Everything is made, and every option checked (--unit's layer and index too, even with
      // --json), before the first file is touched.
      let document = TraceJSON.document(traced).json() + "\n"
      var unitText: String?
      if let unit, let (name, index, s) = Trace.parseUnit(unit) {
        let n = traced.samples.count
        guard (1...max(n, 1)).contains(s) else {
          throw SheetNetError.lesson("--unit \(unit): the traced batch holds \(n) sample\(n == 1 ? "" : "s"); give @1\(n > 1 ? " to @\(n)" : "")")
        }
        unitText = try text.unit(traced, layer: name, index: index, sample: s)
      }
      let shown = json ? document : unitText ?? text.render(traced)
      let save = self.save || options.output != nil
      if save {
        var plain = text
        plain.color = false
        plain.unicode = false
        plain.width = 100
        var batch = OutputBatch(folder: options.folder(for: run))
        try batch.add(plain.render(traced), as: "trace.txt")
        try batch.add(document, as: "trace.json")
        try batch.commit()
      }
      print(shown, terminator: "")
      if save && !json { printEscaped("Trace written to \(options.folder(for: run))/trace.txt and trace.json") }
    }
  }

  /// The trace as trace.txt holds it: every phase and layer, no colour, ASCII, 100 columns.
  static func plainText(_ traced: TracedStep, digits: Int = 9) -> String {
    var plain = TraceText()
    plain.digits = digits
    plain.color = false
    plain.unicode = false
    plain.width = 100
    return plain.render(traced)
  }

  /// The terminal's width (COLUMNS, then the tty), 100 in a pipe.
  func terminalWidth() -> Int {
    if let c = ProcessInfo.processInfo.environment["COLUMNS"], let n = Int(c), n >= 40 { return n }
    var size = winsize()
    if stdoutIsTerminal, ioctl(1, UInt(TIOCGWINSZ), &size) == 0, size.ws_col >= 40 { return Int(size.ws_col) }
    return 100
  }
}
