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

  /// Replaces `folder` with one holding exactly `files` (names may hold subfolders): they are written into a temporary
  /// folder beside it, which is renamed into place only when every file was written; a failure
  /// leaves the earlier folder as it was. The parent folder is locked meanwhile
  /// (`OutputFolderLock`, which also puts back a folder a killed export had moved aside), and a
  /// signal removes the temporary folder (`SignalCleanup`).
  public static func write(_ files: [(name: String, bytes: [UInt8])], to folder: String) throws(SheetNetError) {
    let url = URL(fileURLWithPath: folder)
    let parent = url.deletingLastPathComponent().path, leaf = url.lastPathComponent
    let lock = try OutputFolderLock(parent)
    defer { lock.unlock() }
    let temporary = parent + "/" + SideFile(.temporary, of: leaf).name, old = parent + "/" + SideFile(.previous, of: leaf).name
    let manager = FileManager.default
    var isDirectory: ObjCBool = false
    let existed = manager.fileExists(atPath: folder, isDirectory: &isDirectory)
    if existed && !isDirectory.boolValue {
      throw .io("\(folder) is a file, not a folder; move it away or choose another --output")
    }
    let folderRegistration = SignalCleanup.register(folder: temporary)
    do { try manager.createDirectory(atPath: temporary, withIntermediateDirectories: false) } catch {
      SignalCleanup.release(folderRegistration)
      throw .io("cannot create a folder in \(parent); check its permissions or choose another --output")
    }
    var registrations: [SignalCleanup.Registration?] = []
    func forget() {
      for r in registrations { SignalCleanup.release(r) }
      SignalCleanup.release(folderRegistration)
    }
    do throws(SheetNetError) {
      for file in files {
        // A name may hold a subfolder (`figures/training.png`, as `sheetnet build` writes).
        let sub = (file.name as NSString).deletingLastPathComponent
        if !sub.isEmpty {
          guard (try? manager.createDirectory(atPath: temporary + "/" + sub, withIntermediateDirectories: true)) != nil else {
            throw SheetNetError.io("cannot create \(folder)/\(sub); check the permissions of \(parent)")
          }
        }
        registrations.append(SignalCleanup.register(file: temporary + "/" + file.name))
        try AtomicFile.writeDurably(file.bytes, to: temporary + "/" + file.name, shownAs: folder + "/" + file.name)
      }
    } catch {
      try? manager.removeItem(atPath: temporary)
      forget()
      throw error
    }
    // The two renames run with signals held back: a killed export never leaves the folder missing.
    try SignalCleanup.deferringSignals { () throws(SheetNetError) in
      if existed && rename(folder, old) != 0 {
        let reason = String(cString: strerror(errno))
        try? manager.removeItem(atPath: temporary)
        forget()
        throw .io("cannot replace \(folder) (\(reason)); check its permissions")
      }
      if rename(temporary, folder) != 0 {
        let reason = String(cString: strerror(errno))
        if existed { _ = rename(old, folder) }
        try? manager.removeItem(atPath: temporary)
        forget()
        throw .io("cannot write \(folder) (\(reason)); check its permissions")
      }
      forget()
      lock.sync()
    }
    if existed { try? manager.removeItem(atPath: old) }
  }
}
