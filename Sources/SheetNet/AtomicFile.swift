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
  /// Throws the message `makeFolder` would, without creating anything: `folder` is a writable
  /// folder, or the nearest existing folder above it is (a command checks before it trains).
  public static func checkCanMake(_ folder: String) throws(SheetNetError) {
    var url = URL(fileURLWithPath: folder).standardizedFileURL
    var isDirectory: ObjCBool = false
    while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
      let up = url.deletingLastPathComponent()
      if up.path == url.path { break }
      url = up
    }
    guard isDirectory.boolValue else { throw .io("\(url.path) is a file, not a folder; choose another --output") }
    guard FileManager.default.isWritableFile(atPath: url.path) else {
      throw .io("cannot write to the folder \(url.path); check its permissions or choose another --output")
    }
  }

  /// Creates `folder` (and its parents) or throws a message saying what to do. Each folder it
  /// creates gets a manifest saying SheetNet made it (`FolderManifest`), naming the subfolder it
  /// made inside it, if any. Returns the folders it created, outermost first.
  @discardableResult
  public static func makeFolder(_ folder: String) throws(SheetNetError) -> [String] {
    var created: [String] = []
    var isDirectory: ObjCBool = false
    if FileManager.default.fileExists(atPath: folder, isDirectory: &isDirectory) {
      guard isDirectory.boolValue else { throw .io("\(folder) is a file, not a folder; choose another --output") }
    } else {
      // The missing folders, from the outermost in.
      var missing: [String] = []
      var url = URL(fileURLWithPath: folder).standardizedFileURL
      while !FileManager.default.fileExists(atPath: url.path, isDirectory: &isDirectory) {
        missing.insert(url.path, at: 0)
        let up = url.deletingLastPathComponent()
        if up.path == url.path { break }
        url = up
      }
      guard isDirectory.boolValue || missing.isEmpty else { throw .io("\(url.path) is a file, not a folder; choose another --output") }
      for (i, path) in missing.enumerated() {
        guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
          throw .io("cannot create the folder \(folder); check its permissions or choose another --output")
        }
        var manifest = FolderManifest(created: true)
        if i + 1 < missing.count { manifest.folders.insert((missing[i + 1] as NSString).lastPathComponent) }
        let temporary = path + "/" + OwnedName.temporary()
        try writeDurably(Array(manifest.text.utf8), to: temporary, shownAs: path + "/" + OwnedName.manifest)
        rename(temporary, path + "/" + OwnedName.manifest)
        created.append(path)
      }
    }
    guard FileManager.default.isWritableFile(atPath: folder) else {
      throw .io("cannot write to the folder \(folder); check its permissions or choose another --output")
    }
    return created
  }

  /// Removes folders `makeFolder` created (innermost first) while they hold nothing but their
  /// manifest: a command that failed leaves no trace.
  static func unmake(_ created: [String]) {
    for path in created.reversed() {
      unlink(path + "/" + OwnedName.manifest)
      rmdir(path)
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

extension AtomicFile {
  /// Appends `bytes` to the file at `path` and flushes it to the disk.
  static func append(_ bytes: [UInt8], to path: String, shownAs shownPath: String) throws(SheetNetError) {
    let fd = open(path, O_WRONLY | O_APPEND | O_CLOEXEC)
    let written = fd >= 0 ? bytes.withUnsafeBytes { Glibc.write(fd, $0.baseAddress!, $0.count) } : -1
    let ok = written == bytes.count && fsync(fd) == 0
    let reason = String(cString: strerror(errno))
    if fd >= 0 { close(fd) }
    guard ok else { throw .io("cannot write \(shownPath) (\(reason)); check the folder's permissions and free space, or choose another --output") }
  }
}
