import Foundation
#if canImport(Glibc)
import Glibc
#endif

/// Writes files whole or not at all: the bytes go to a temporary file in the same folder, which
/// is then renamed over the target, so a reader never sees half a file.
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

  /// Writes `bytes` (a Data, a [UInt8], …) to `path` atomically, creating the folder first. The
  /// bytes go out with the C calls, so they are not copied on the way.
  public static func write(_ bytes: some ContiguousBytes, to path: String) throws(SheetNetError) {
    let folder = (path as NSString).deletingLastPathComponent
    try makeFolder(folder.isEmpty ? "." : folder)
    let temporary = (folder.isEmpty ? "." : folder) + "/.\((path as NSString).lastPathComponent).tmp-\(getpid())"
    let fd = open(temporary, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0o644)
    var failure: String? = fd < 0 ? String(cString: strerror(errno)) : nil
    if fd >= 0 {
      bytes.withUnsafeBytes { raw in
        var done = 0
        while done < raw.count && failure == nil {
          let n = Glibc.write(fd, raw.baseAddress! + done, raw.count - done)
          if n > 0 { done += n } else if n < 0 && errno == EINTR { continue } else { failure = String(cString: strerror(errno)) }
        }
      }
      if close(fd) != 0 && failure == nil { failure = String(cString: strerror(errno)) }
    }
    if let failure {
      try? FileManager.default.removeItem(atPath: temporary)
      throw .io("cannot write \(path) (\(failure)); check the folder's permissions and free space, or choose another --output")
    }
    if rename(temporary, path) != 0 {
      try? FileManager.default.removeItem(atPath: temporary)
      throw .io("cannot write \(path) (rename failed); check the folder's permissions")
    }
  }

  /// Writes text as UTF-8, atomically.
  public static func write(_ text: String, to path: String) throws(SheetNetError) {
    try write(Array(text.utf8), to: path)
  }
}
