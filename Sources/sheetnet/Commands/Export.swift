import ArgumentParser
import Foundation
import SheetNet
import SheetNetTrace
import SheetNetWorksheets

extension WorksheetFormat: ExpressibleByArgument {}

/// `sheetnet export LESSON`: one training step as CSV worksheets and a workbook of live formulas.
struct Export: ParsableCommand {
  static let configuration = CommandConfiguration(
    commandName: "export",
    abstract: "Export one training step as worksheets: CSV files, and a workbook whose forward, backward and update cells are live formulas.",
    discussion: "Writes Output/<lesson>/worksheets/ (or --output DIR): one CSV file per sheet, index.csv (where each trace entry sits), entries.csv (one row per number) and step.xlsx. The numbers are the traced step's (the same as `sheetnet trace` with the same options). A workbook holds at most \(workbookCellLimit) cells: trace fewer samples with --sample or --batch for a larger network.")

  @OptionGroup var options: LessonOptions

  @OptionGroup var stepOptions: StepOptions

  @Option(help: "csv, xlsx or both.")
  var format: WorksheetFormat = .both

  @Flag(help: "Print what was written as JSON: folder, files, sheets, cells, formulas and the seconds each stage took.")
  var json = false

  @OptionGroup var timeLimit: TimeLimitOptions

  func run() {
    guarded {
      var clock = DispatchTime.now().uptimeNanoseconds
      var seconds: [(key: String, value: Value)] = []
      func lap(_ stage: String) {
        let now = DispatchTime.now().uptimeNanoseconds
        seconds.append((stage, .number(Double(now - clock) / 1e9)))
        clock = now
      }
      let run = try options.run()
      let cells = format == .csv ? 20 * workbookCellLimit : workbookCellLimit
      try stepOptions.checkBudget(run, views: .init(cells: cells), timeLimit: timeLimit)
      let traced = try TracedStep(run, .init(step: stepOptions.step, sample: stepOptions.sample, batch: stepOptions.batch))
      lap("train_and_trace")
      let book = try StepWorkbook(traced, limit: cells)
      lap("layout")
      let files = try WorksheetExport.files(book, format: format)
      lap("encode")
      let folder = options.output ?? "\(run.outputFolder)/worksheets"
      try WorksheetExport.write(files, to: folder)
      lap("write")
      let sheets = book.workbook.sheets.count
      if json {
        let document: Value = .map([
          ("folder", .string(folder)), ("files", .list(files.map { .map([("name", .string($0.name)), ("bytes", .number(Double($0.bytes.count)))]) })),
          ("sheets", .number(Double(sheets))), ("cells", .number(Double(book.workbook.cellCount))),
          ("formulas", .number(Double(book.workbook.formulaCount))), ("seconds", .map(seconds)),
        ])
        print(document.json())
      } else {
        printEscaped("Worksheets of step \(stepOptions.step) written to \(folder)/: \(sheets) sheets, \(book.workbook.cellCount) cells, \(book.workbook.formulaCount) formulas"
              + (format == .csv ? "" : "; open step.xlsx and change a yellow cell"))
      }
    }
  }
}
