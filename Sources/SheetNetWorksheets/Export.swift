import Foundation
import SheetNet

/// Which files `export` writes.
public enum WorksheetFormat: String, CaseIterable, Sendable {
  /// CSV sheets, index.csv and entries.csv.
  case csv
  /// step.xlsx.
  case xlsx
  /// Both (the default).
  case both
}

/// Writes a step's worksheets into a folder, all or nothing.
public enum WorksheetExport {
  /// The files for `format`, every byte made before anything is written.
  public static func files(_ book: StepWorkbook, format: WorksheetFormat) throws(SheetNetError) -> [(name: String, bytes: [UInt8])] {
    var files: [(String, [UInt8])] = []
    if format != .xlsx { files += book.csvFiles().map { ($0.name, Array($0.text.utf8)) } }
    if format != .csv {
      do { files.append(("step.xlsx", try XLSX.data(book.workbook))) } catch let error as SheetNetError { throw error } catch {
        throw .io("cannot build step.xlsx: \(error)")
      }
    }
    return files
  }

  /// Writes `files` (names may hold subfolders, `figures/x.png`) into `folder` as one
  /// `OutputBatch`: all or nothing, and, by default (`.replace`), removing what SheetNet wrote
  /// there before that `files` no longer holds. Files SheetNet did not write are never touched;
  /// `.replaceOwned` refuses a folder holding any.
  public static func write(_ files: [(name: String, bytes: [UInt8])], to folder: String, mode: OutputBatch.Mode = .replace) throws(SheetNetError) {
    var batch = OutputBatch(folder: folder, mode: mode)
    for file in files { try batch.add(file.bytes, as: file.name) }
    try batch.commit()
  }
}
