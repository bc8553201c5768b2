import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// A command's output is all or nothing, and nothing that fails or is killed damages good output:
//
// 1. `OutputBatch` collects every file a command writes into a folder and commits them as one
//    transaction: each goes to a temporary file (`.model.json.tmp-<pid>`) that is flushed to the
//    disk; only when all of them are written are they renamed over their targets. A failure
//    before that removes the temporaries and leaves the old files as they were.
// 2. `OutputFolderLock` serialises writers: a commit holds an exclusive flock(2) on the folder
//    itself, so two commands writing to one folder take turns (model.json and history.csv always
//    come from the same run). Taking the lock also cleans up after writers that were killed.
// 3. `SignalCleanup` removes the temporaries when SIGINT, SIGTERM or SIGHUP ends the command, and
//    holds those signals back during the renames, which then finish before the process ends.
// 4. A batch of several files writes a commit record (`.sheetnet.commit-<pid>`, the names it is
//    renaming) before its first rename. Should the process die mid-rename anyway (SIGKILL, a
//    power cut), the next writer to lock the folder finishes the renames from the record.

/// The files one command writes into one folder, replaced all together or not at all.
///
/// ```swift
/// var batch = OutputBatch(folder: "Output/xor")
/// batch.add(model, as: "model.json")
/// batch.add(history, as: "history.csv")
/// try batch.commit()  // both files replaced, or neither
/// ```
public struct OutputBatch {
  /// The folder the files go to (created by `commit` when missing).
  public let folder: String
  /// The files, by name inside `folder`, in the order they are renamed into place.
  public private(set) var files: [(name: String, bytes: any ContiguousBytes)] = []
  /// How many seconds `commit` waits for another writer to finish with the folder.
  public var lockTimeout: Double = 60

  /// A temporary file being written, and its registration for removal on a signal.
  private typealias Temporary = (path: String, registration: SignalCleanup.Registration?)

  /// An empty batch for `folder`.
  public init(folder: String) {
    self.folder = folder
  }

  /// Adds a file named `name` (a name inside the folder, not a path) holding `bytes`; throws
  /// `.io` for a name that is a path, empty, `.`, `..` or holds a control character.
  public mutating func add(_ bytes: some ContiguousBytes, as name: String) throws(SheetNetError) {
    guard !name.isEmpty, name != ".", name != "..", !name.contains("/"), !name.unicodeScalars.contains(where: Terminal.isControl) else {
      throw .io("cannot write '\(name)' into \(folder): a file's name may not be empty, '.', '..', hold '/' or a control character; rename what it is named after")
    }
    files.append((name, bytes))
  }

  /// Adds a text file, written as UTF-8.
  public mutating func add(_ text: String, as name: String) throws(SheetNetError) {
    try add(Array(text.utf8), as: name)
  }

  /// The path of the file named `name`.
  public func path(of name: String) -> String { "\(folder)/\(name)" }

  /// The paths of every file in the batch, in order.
  public var paths: [String] { files.map { path(of: $0.name) } }

  /// Writes every file to a temporary, flushes it, then renames them all into place, holding the
  /// folder's lock throughout. When this throws, no temporary is left and no target has changed
  /// (a target that is a folder is refused before anything is written; should a rename itself
  /// fail, the message names the files already replaced).
  public func commit() throws(SheetNetError) {
    guard !files.isEmpty else { return }
    let lock = try OutputFolderLock(folder, waitingUpTo: lockTimeout)
    defer { lock.unlock() }
    for file in files {
      var isDirectory: ObjCBool = false
      if FileManager.default.fileExists(atPath: path(of: file.name), isDirectory: &isDirectory), isDirectory.boolValue {
        throw .io("\(path(of: file.name)) is a folder; move it away or choose another --output")
      }
    }
    let temporaries = try writeTemporaries()
    var record: Temporary? = nil
    if files.count > 1 {
      let path = folder + "/" + SideFile(.commitRecord, of: "sheetnet").name
      let registration = SignalCleanup.register(file: path)
      do {
        // One name a line, then an empty line: a record cut short (its writer killed while
        // writing it, before any rename) does not end so, and is ignored.
        try AtomicFile.writeDurably(Array((files.map(\.name).joined(separator: "\n") + "\n\n").utf8), to: path, shownAs: path)
      } catch {
        SignalCleanup.release(registration)
        Self.remove(temporaries)
        throw error
      }
      record = (path, registration)
    }
    try SignalCleanup.deferringSignals { () throws(SheetNetError) in
      defer {
        if let record {
          unlink(record.path)
          SignalCleanup.release(record.registration)
        }
      }
      try renameIntoPlace(temporaries, lock: lock)
    }
  }

  /// Writes each file to its temporary (registered for removal on a signal); on a failure removes
  /// the ones written so far.
  private func writeTemporaries() throws(SheetNetError) -> [Temporary] {
    var temporaries: [Temporary] = []
    for file in files {
      let temporary = folder + "/" + SideFile(.temporary, of: file.name).name
      temporaries.append((temporary, SignalCleanup.register(file: temporary)))
      do { try AtomicFile.writeDurably(file.bytes, to: temporary, shownAs: path(of: file.name)) } catch {
        Self.remove(temporaries)
        throw error
      }
    }
    return temporaries
  }

  /// Renames every temporary over its target, then flushes the folder so the renames are on the
  /// disk. Runs with signals held back.
  private func renameIntoPlace(_ temporaries: [Temporary], lock: OutputFolderLock) throws(SheetNetError) {
    let pause = files.count > 1 ? ProcessInfo.processInfo.environment["SHEETNET_TEST_COMMIT_PAUSE"].flatMap(Double.init) : nil
    for (i, file) in files.enumerated() {
      if rename(temporaries[i].path, path(of: file.name)) != 0 {
        let reason = String(cString: strerror(errno))
        Self.remove(Array(temporaries[i...]))
        let done = files[..<i].map { path(of: $0.name) }
        throw .io("cannot write \(path(of: file.name)) (\(reason))" + (done.isEmpty ? "" : "; \(done.joined(separator: ", ")) already replaced")
                  + "; check the folder's permissions")
      }
      SignalCleanup.release(temporaries[i].registration)
      // A test hook, SHEETNET_TEST_COMMIT_PAUSE=seconds: widens the moment between two renames,
      // which a second writer or a signal would have to hit to mix two runs' files.
      if i == 0, let pause { usleep(UInt32(max(0, min(pause, 10)) * 1_000_000)) }
    }
    lock.sync()
  }

  /// Deletes temporaries and forgets their registrations.
  private static func remove(_ temporaries: [Temporary]) {
    for t in temporaries {
      unlink(t.path)
      SignalCleanup.release(t.registration)
    }
  }
}

/// An exclusive lock on an output folder, held while a command writes into it. The lock is
/// flock(2) on the folder itself, so no lock file is left behind, and the system releases it
/// when the process ends, however it ends. (Where the file system cannot lock a folder, as NFS,
/// a file `.sheetnet.lock` in it is locked instead.) Taking the lock also cleans up after
/// writers that were killed (see `recover`).
public final class OutputFolderLock {
  /// The locked folder.
  public let folder: String
  /// The folder, open: what is locked, and what `sync` flushes.
  private var descriptor: Int32
  /// The lock file, open, where the folder itself cannot be locked; else -1.
  private var lockFile: Int32 = -1

  /// Creates `folder` when missing and locks it, waiting up to `seconds` for another writer to
  /// finish; then recovers what killed writers left in it.
  public init(_ folder: String, waitingUpTo seconds: Double = 60) throws(SheetNetError) {
    try AtomicFile.makeFolder(folder)
    let fd = open(folder, O_RDONLY | O_DIRECTORY | O_CLOEXEC)
    guard fd >= 0 else { throw .io("cannot open the folder \(folder) (\(String(cString: strerror(errno)))); check its permissions") }
    self.folder = folder
    descriptor = fd
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
    while flock(lockFile >= 0 ? lockFile : descriptor, LOCK_EX | LOCK_NB) != 0 {
      let error = errno
      if lockFile < 0 && [EBADF, ENOLCK, EOPNOTSUPP, EINVAL].contains(error) {
        lockFile = open(folder + "/.sheetnet.lock", O_RDWR | O_CREAT | O_CLOEXEC, 0o644)
        if lockFile >= 0 { continue }
      }
      guard error == EWOULDBLOCK || error == EINTR else {
        unlock()
        throw .io("cannot lock the folder \(folder) (\(String(cString: strerror(error)))); choose another --output")
      }
      guard DispatchTime.now().uptimeNanoseconds < deadline else {
        unlock()
        throw .io("another sheetnet has been writing to \(folder) for \(Int(seconds)) s; wait for it to finish or choose another --output")
      }
      usleep(10_000)
    }
    recover()
  }

  deinit { unlock() }

  /// Flushes the folder's entries (the renames made in it) to the disk.
  public func sync() {
    if descriptor >= 0 { fsync(descriptor) }
  }

  /// Releases the lock (also done when the lock is freed).
  public func unlock() {
    if lockFile >= 0 { close(lockFile) }
    if descriptor >= 0 { close(descriptor) }
    lockFile = -1
    descriptor = -1
  }

  /// Finishes or undoes what killed writers left in the folder. Only a writer holding this lock
  /// makes side files, so, holding it, we know the commit records are orphans: their renames are
  /// finished (every temporary they name was complete before the record was written; a record
  /// cut short is ignored, as no rename had started). Then a
  /// temporary whose process is gone (or is us: a process id reused) is deleted, and a folder
  /// moved aside (`.old-`) goes back where it was if nothing replaced it, else it is deleted.
  func recover() {
    let manager = FileManager.default
    let sides = ((try? manager.contentsOfDirectory(atPath: folder)) ?? []).compactMap(SideFile.init(parsing:))
    for record in sides where record.kind == .commitRecord {
      let path = folder + "/" + record.name
      let text = manager.contents(atPath: path).map { String(decoding: $0, as: UTF8.self) } ?? ""
      let names = text.hasSuffix("\n\n") ? text.split(separator: "\n").map(String.init) : []
      for name in names where !name.contains("/") {
        _ = rename(folder + "/" + SideFile(.temporary, of: name, pid: record.pid).name, folder + "/" + name)
      }
      sync()
      unlink(path)
    }
    for side in sides where side.kind != .commitRecord && (side.pid == getpid() || !side.writerIsAlive) {
      let path = folder + "/" + side.name, target = folder + "/" + side.target
      guard manager.fileExists(atPath: path) else { continue }
      if side.kind == .previous && !manager.fileExists(atPath: target) && rename(path, target) == 0 { continue }
      try? manager.removeItem(atPath: path)
    }
  }
}

/// Removes a command's temporary files when SIGINT, SIGTERM or SIGHUP ends it, and holds those
/// signals back while a batch renames its files into place.
///
/// A signal handler may only call async-signal-safe functions: no allocation, no locks. So the
/// paths are C strings made in advance, kept in fixed slots that the handler empties with atomic
/// exchanges and unlinks; then it restores the default action and raises the signal again, so
/// the process ends as the signal says (status 130 for SIGINT, 143 for SIGTERM in a shell).
/// While a thread renames (`deferringSignals`), the handler only notes the signal; the last
/// thread to finish renaming raises it. Signals that were ignored when the first path was
/// registered (`nohup`, a background job) stay ignored.
public enum SignalCleanup {
  /// A registered path; give it back to `release` once the file is renamed or deleted.
  public struct Registration: Sendable {
    fileprivate let slot: Int
    fileprivate let isFolder: Bool
  }

  /// Registers a file to delete should a signal end the process; nil when every slot is taken
  /// (the file is then left to the next writer's clean-up).
  public static func register(file path: String) -> Registration? { register(path, isFolder: false) }

  /// Registers an empty folder (made by the caller) to remove after the registered files should a
  /// signal end the process.
  public static func register(folder path: String) -> Registration? { register(path, isFolder: true) }

  /// Forgets a registration: the path is no longer deleted on a signal.
  public static func release(_ registration: Registration?) {
    guard let registration else { return }
    let slots = registration.isFolder ? folderSlots : fileSlots
    if let path = slots.pointer[registration.slot].exchange(nil, ordering: .acquiringAndReleasing) { free(path) }
  }

  /// Runs `body` with SIGINT, SIGTERM and SIGHUP held back; one that arrives meanwhile ends the
  /// process once `body` (and any other thread's deferred body) has returned.
  public static func deferringSignals<T>(_ body: () throws(SheetNetError) -> T) throws(SheetNetError) -> T {
    _ = installed
    var state = signalState.load(ordering: .acquiring)
    while true {
      // A handler is already ending the process: renaming now would race its clean-up.
      if state & SignalState.dying != 0 { while true { pause() } }
      let (done, now) = signalState.compareExchange(expected: state, desired: state + 1, ordering: .acquiringAndReleasing)
      if done { break }
      state = now
    }
    defer {
      var state = signalState.load(ordering: .acquiring), pending: Int32 = 0
      while true {
        let last = state & SignalState.renamers == 1
        pending = last ? SignalState.pending(state) : 0
        let (done, now) = signalState.compareExchange(expected: state, desired: last ? 0 : state - 1, ordering: .acquiringAndReleasing)
        if done { break }
        state = now
      }
      if pending != 0 { raise(pending) }
    }
    return try body()
  }

  fileprivate static func register(_ path: String, isFolder: Bool) -> Registration? {
    _ = installed
    guard let copy = strdup(path) else { return nil }
    let slots = isFolder ? folderSlots : fileSlots
    for i in 0..<slots.count {
      if slots.pointer[i].compareExchange(expected: nil, desired: copy, ordering: .acquiringAndReleasing).exchanged {
        return Registration(slot: i, isFolder: isFolder)
      }
    }
    free(copy)
    return nil
  }

  /// The signals handled.
  fileprivate static let signals: [Int32] = [SIGINT, SIGTERM, SIGHUP]

  /// Installs the handler once, for the signals not ignored.
  private static let installed: Bool = {
    // The globals a handler reads are made first (Swift makes globals on first use).
    _ = (fileSlots.count, folderSlots.count, signalState.load(ordering: .relaxed))
    for signal in signals {
      var action = sigaction(), previous = sigaction()
      action.__sigaction_handler.sa_handler = handleSignal
      sigemptyset(&action.sa_mask)
      for s in signals { sigaddset(&action.sa_mask, s) }
      sigaction(signal, &action, &previous)
      if unsafeBitCast(previous.__sigaction_handler.sa_handler, to: Int.self) == unsafeBitCast(SIG_IGN, to: Int.self) { sigaction(signal, &previous, nil) }
    }
    return true
  }()
}

/// Fixed slots of C strings, read by the signal handler.
private struct PathSlots: @unchecked Sendable {
  let pointer: UnsafeMutablePointer<Atomic<UnsafeMutablePointer<CChar>?>>
  let count: Int

  init(count: Int) {
    pointer = .allocate(capacity: count)
    for i in 0..<count { (pointer + i).initialize(to: Atomic(nil)) }
    self.count = count
  }
}

/// Temporary files to delete on a signal (a batch registers one per file, plus its record).
private let fileSlots = PathSlots(count: 64)
/// Temporary folders to remove on a signal, after their files.
private let folderSlots = PathSlots(count: 8)

/// The signal state in one atomic word: how many threads are renaming (bits 0–31), whether a
/// handler is ending the process (bit 32), and a signal that arrived during renames (bits 40–47).
private let signalState = Atomic<Int>(0)

private enum SignalState {
  static let renamers = 0xffff_ffff
  static let dying = 1 << 32
  static func pending(_ state: Int) -> Int32 { Int32((state >> 40) & 0xff) }
  static func withPending(_ state: Int, _ signal: Int32) -> Int { (state & ~(0xff << 40)) | (Int(signal) << 40) }
}

/// The handler: async-signal-safe (atomics, unlink, rmdir, signal, raise).
private func handleSignal(_ signal: Int32) {
  var state = signalState.load(ordering: .acquiring)
  while true {
    if state & SignalState.dying != 0 { return }  // another thread is already cleaning up
    let renaming = state & SignalState.renamers != 0
    let next = renaming ? SignalState.withPending(state, signal) : state | SignalState.dying
    let (done, now) = signalState.compareExchange(expected: state, desired: next, ordering: .acquiringAndReleasing)
    if done {
      if renaming { return }  // the last renamer raises it
      break
    }
    state = now
  }
  for i in 0..<fileSlots.count {
    if let path = fileSlots.pointer[i].exchange(nil, ordering: .acquiringAndReleasing) { unlink(path) }
  }
  for i in 0..<folderSlots.count {
    if let path = folderSlots.pointer[i].exchange(nil, ordering: .acquiringAndReleasing) { rmdir(path) }
  }
  Glibc.signal(signal, SIG_DFL)
  raise(signal)
}
