import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files whole or not at all: the bytes go to a temporary file in the same folder, which
/// is flushed to the disk and then renamed over the target, so a reader never sees half a file.
///
/// One file is one `OutputBatch` of one file; a command that writes several files that belong
/// together (a model and its history) adds them all to one `OutputBatch` instead, so that either
/// all of them are replaced or none is.
public enum AtomicFile {
  /// Creates `folder` (and its parents) or throws a message saying what to do.
  public static func makeFolder(_ folder: String) throws(SheetNetError) {
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw .io("\(folder) is a file, not a folder; choose another --output") }
    } else {
      do { try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true) } catch {
        throw .io("cannot create the folder \(folder); check its permissions or choose another --output")
      }
    }
    guard FileManager.default.isWritableFile(atPath: folder) else {
      throw .io("cannot write to the folder \(folder); check its permissions or choose another --output")
    }
  }

  /// Writes `bytes` (a Data, a [UInt8], …) to `path` atomically, creating the folder first: a
  /// batch of one file (temporary file, fsync, rename, under the folder's lock).
  public static func write(_ bytes: some ContiguousBytes, to path: String) throws(SheetNetError) {
    let folder = (path as NSString).deletingLastPathComponent
    var batch = OutputBatch(folder: folder.isEmpty ? "." : folder)
    try batch.add(bytes, as: (path as NSString).lastPathComponent)
    try batch.commit()
  }

  /// Writes text as UTF-8, atomically.
  public static func write(_ text: String, to path: String) throws(SheetNetError) {
    try write(Array(text.utf8), to: path)
  }

  /// Writes `bytes` to a new file at `path` (replacing a file of that name) and flushes it to the
  /// disk (fsync) before returning. Not atomic by itself: callers write to a temporary name and
  /// rename. Errors name `shownPath`, the file the user asked for, not the temporary.
  public static func writeDurably(_ bytes: some ContiguousBytes, to path: String, shownAs shownPath: String) throws(SheetNetError) {
    let fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    var failure: String? = fd < 0 ? String(cString: strerror(errno)) : nil
    if fd >= 0 {
      // The bytes go out with the C calls, so they are not copied on the way.
      bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count && failure == nil {
          let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
          if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { failure = String(cString: strerror(errno)) }
        }
      }
      if failure == nil && fsync(fd) != 0 { failure = String(cString: strerror(errno)) }
      if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
    }
    if let failure {
      unlink(path)
      throw .io("cannot write \(shownPath) (\(failure)); check the folder's permissions and free space, or choose another --output")
    }
  }
}

/// A hidden name a writer uses beside its target while it writes, `.<target>.<kind>-<pid>`:
/// `.model.json.tmp-4242` is process 4242's temporary model.json. The process id says whose it
/// is, so the next writer can tell a live writer's file from one a killed writer left behind.
public struct SideFile: Equatable, Sendable {
  /// What the file is for.
  public enum Kind: String, Sendable {
    /// The new contents of the target, not yet renamed into place (`.tmp-`).
    case temporary = "tmp"
    /// The target's previous contents, moved aside while a folder is replaced (`.old-`).
    case previous = "old"
    /// The list of names a batch is renaming into place (`.sheetnet.commit-`).
    case commitRecord = "commit"
  }

  /// The name of the file (or folder) this one belongs to.
  public var target: String
  /// What this file is for.
  public var kind: Kind
  /// The process that made it.
  public var pid: Int32

  /// The side file of `target` for this process (or `pid`).
  public init(_ kind: Kind, of target: String, pid: Int32 = getpid()) {
    self.target = target
    self.kind = kind
    self.pid = pid
  }

  /// Reads a name like `.model.json.tmp-4242`; nil for any other name.
  public init?(parsing name: String) {
    guard name.hasPrefix("."), let dash = name.lastIndex(of: "-"), let pid = Int32(name[name.index(after: dash)...]), pid > 0 else { return nil }
    let stem = name[name.index(after: name.startIndex)..<dash]
    guard let dot = stem.lastIndex(of: "."), let kind = Kind(rawValue: String(stem[stem.index(after: dot)...])) else { return nil }
    let target = String(stem[..<dot])
    guard !target.isEmpty else { return nil }
    self.init(kind, of: target, pid: pid)
  }

  /// The file's name: `.<target>.<kind>-<pid>`.
  public var name: String { ".\(target).\(kind.rawValue)-\(pid)" }

  /// True while the process that made it still runs (or when we may not signal it, which also
  /// means it exists). A process id can be reused, so "alive" errs on the side of keeping a file.
  public var writerIsAlive: Bool { kill(pid, 0) == 0 || errno == EPERM }
}
