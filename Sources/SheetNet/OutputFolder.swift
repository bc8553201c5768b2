import Foundation
import Synchronization
#if canImport(Glibc)
import Glibc
#endif

// SheetNet deletes, replaces or renames only files it wrote, and a command's output is all or
// nothing:
//
// 1. Every folder SheetNet writes into holds a manifest, `.sheetnet-manifest` (`FolderManifest`):
//    whether SheetNet created the folder, and each file it wrote there with a hash of its bytes.
//    A file of the same name that SheetNet did not write is never overwritten; a stale file is
//    removed only while its bytes are still the ones SheetNet wrote.
// 2. `OutputBatch` collects every file a command writes under one folder and commits them as one
//    transaction: each goes to a temporary (`.sheetnet-<random>.tmp`, a name no user file has)
//    that is flushed to the disk; only when all are written are they renamed over their targets.
//    A failure before that removes the temporaries and leaves the old files as they were.
// 3. The commit record (`.sheetnet-<random>.commit`) names every temporary before the first is
//    written, and is marked ready once all are. Should the process die (SIGKILL, a power cut),
//    the next writer to lock the folder finishes a ready record's renames, or deletes the
//    temporaries of one that was not ready. Clean-up touches only the files a record names.
// 4. `OutputFolderLock` serialises writers: flock(2) on each folder a batch writes into.
// 5. `SignalCleanup` removes the temporaries when SIGINT, SIGTERM or SIGHUP ends the command, and
//    holds those signals back during the renames, which then finish before the process ends.

/// The names SheetNet gives its own bookkeeping files, and the check every written name passes.
public enum OwnedName {
  /// The manifest of a folder SheetNet writes into.
  public static let manifest = ".sheetnet-manifest"
  /// The prefix of every bookkeeping file; no name SheetNet writes for a user begins so.
  static let prefix = ".sheetnet-"

  /// A fresh temporary's name, `.sheetnet-<16 hex digits>.tmp`.
  static func temporary() -> String { prefix + randomHex() + ".tmp" }
  /// A fresh commit record's name, `.sheetnet-<16 hex digits>.commit`.
  static func record() -> String { prefix + randomHex() + ".commit" }

  /// True for `.sheetnet-<16 hex digits>.<suffix>`.
  static func isOwned(_ name: String, suffix: String) -> Bool {
    guard name.hasPrefix(prefix), name.hasSuffix("." + suffix) else { return false }
    let hex = name.dropFirst(prefix.count).dropLast(suffix.count + 1)
    return hex.count == 16 && hex.allSatisfy { $0.isHexDigit && !$0.isUppercase }
  }

  /// True for a temporary or a commit record: files that exist only while a command writes (or
  /// after it was killed, until the next writer recovers them).
  package static func isTransient(_ name: String) -> Bool { isOwned(name, suffix: "tmp") || isOwned(name, suffix: "commit") }

  /// 16 random hex digits (the system's generator: these names never reach an output's bytes).
  static func randomHex() -> String {
    let digits = String(UInt64.random(in: 0...UInt64.max), radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }

  /// The components of `path`, a name inside an output folder (`model.json`, `figures/x.png`),
  /// or a one-line error: no empty, `.` or `..` component, no control character, no leading `/`,
  /// nothing SheetNet keeps for itself.
  public static func components(of path: String) throws(SheetNetError) -> [String] {
    let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
    for part in parts {
      let bad = part.isEmpty || part == "." || part == ".." || part.hasPrefix(prefix) || part.utf8.count > 255
        || part.unicodeScalars.contains(where: Terminal.isControl)
      if bad {
        throw .io("'\(Terminal.escaped(path))' cannot name an output file: file names are made of safe parts (no '/', '.', '..', control characters or empty parts)")
      }
    }
    return parts
  }
}

/// What SheetNet wrote into one folder: `.sheetnet-manifest`, one entry a line.
///
/// ```
/// sheetnet-manifest 1
/// created yes
/// file 9ae1c0d2b44f0e13-2863 model.json
/// folder figures
/// ```
/// `created` says SheetNet made the folder; `file` lines give the fingerprint of the bytes it
/// wrote (FNV-1a and the byte count); `folder` lines name the subfolders it made. A damaged or
/// foreign manifest reads as none: the folder is then treated as the user's.
public struct FolderManifest: Equatable, Sendable {
  /// Whether SheetNet created the folder.
  public var created: Bool
  /// The files SheetNet wrote here, by name, with the fingerprint of their bytes.
  public var files: [String: String] = [:]
  /// The subfolders SheetNet created here.
  public var folders: Set<String> = []

  /// An empty manifest.
  public init(created: Bool) { self.created = created }

  /// The manifest of `folder`, or nil when it has none (or an unreadable one).
  public static func read(_ folder: String) -> FolderManifest? {
    guard let text = smallText(at: folder + "/" + OwnedName.manifest) else { return nil }
    return FolderManifest(parsing: text)
  }

  /// The text of the regular file at `path` (links not followed) when it is at most 4 MB: a
  /// manifest or record of a folder SheetNet writes in; anything larger is not SheetNet's.
  static func smallText(at path: String) -> String? {
    var info = stat()
    guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, info.st_size <= 4 << 20,
          let data = FileManager.default.contents(atPath: path) else { return nil }
    return String(decoding: data, as: UTF8.self)
  }

  /// Reads a manifest's text; nil unless it begins with the header and states `created`.
  init?(parsing text: String) {
    let lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    guard lines.first == "sheetnet-manifest 1", lines.count >= 2, ["created yes", "created no"].contains(lines[1]) else { return nil }
    created = lines[1] == "created yes"
    for line in lines.dropFirst(2) {
      if line.hasPrefix("file ") {
        let rest = line.dropFirst(5)
        guard let space = rest.firstIndex(of: " ") else { continue }
        let name = String(rest[rest.index(after: space)...])
        if (try? OwnedName.components(of: name))?.count == 1 { files[name] = String(rest[..<space]) }
      } else if line.hasPrefix("folder ") {
        let name = String(line.dropFirst(7))
        if (try? OwnedName.components(of: name))?.count == 1 { folders.insert(name) }
      }
    }
  }

  /// The manifest as text, entries sorted (the same files give the same bytes).
  public var text: String {
    var lines = ["sheetnet-manifest 1", "created \(created ? "yes" : "no")"]
    lines += files.keys.sorted().map { "file \(files[$0]!) \($0)" }
    lines += folders.sorted().map { "folder \($0)" }
    return lines.joined(separator: "\n") + "\n"
  }

  /// The fingerprint a manifest records for `bytes`: FNV-1a (64 bit) as 16 hex digits, a dash,
  /// and the byte count (`9ae1c0d2b44f0e13-2863`).
  public static func fingerprint(_ bytes: some ContiguousBytes) -> String {
    var h = FNV1a()
    let count = bytes.withUnsafeBytes { raw in
      h.add(raw: raw)
      return raw.count
    }
    return "\(h.hex)-\(count)"
  }

  /// True while the regular file at `path` (a link is never followed) holds exactly the bytes
  /// `fingerprint` was made from. The size is compared first, so a file of another size is never
  /// read; one of that size is hashed in 1 MB chunks.
  static func holds(_ path: String, _ fingerprint: String) -> Bool {
    guard let dash = fingerprint.lastIndex(of: "-"), let size = Int(fingerprint[fingerprint.index(after: dash)...]) else { return false }
    var info = stat()
    guard lstat(path, &info) == 0, (info.st_mode & S_IFMT) == S_IFREG, Int(info.st_size) == size else { return false }
    let fd = open(path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { return false }
    defer { close(fd) }
    var h = FNV1a(), total = 0
    var chunk = [UInt8](repeating: 0, count: 1 << 20)
    while true {
      let n = chunk.withUnsafeMutableBytes { Glibc.read(fd, $0.baseAddress!, $0.count) }
      if n < 0 && errno == EINTR { continue }
      guard n >= 0 else { return false }
      if n == 0 { break }
      chunk.withUnsafeBytes { h.add(raw: UnsafeRawBufferPointer(rebasing: $0[..<n])) }
      total += n
    }
    return "\(h.hex)-\(total)" == fingerprint
  }

  /// True when `path` is a regular file (not a link).
  static func isFile(_ path: String) -> Bool {
    var info = stat()
    return lstat(path, &info) == 0 && (info.st_mode & S_IFMT) == S_IFREG
  }
}

/// The files one command writes under one folder, replaced all together or not at all, under the
/// ownership rules above.
///
/// ```swift
/// var batch = OutputBatch(folder: "Output/xor")
/// try batch.add(model, as: "model.json")
/// try batch.add(history, as: "history.csv")
/// try batch.commit()  // both files replaced, or neither
/// ```
public struct OutputBatch {
  /// How a batch treats what its folders already hold.
  public enum Mode: Sendable {
    /// Adds its files and overwrites earlier files SheetNet wrote under those names.
    case add
    /// As `add`, and removes the files (and emptied subfolders) SheetNet wrote there before that
    /// the batch no longer holds: the folder then holds this result (and whatever the user put there).
    case replace
    /// As `replace`, and refuses a folder that holds files SheetNet did not write, unless
    /// SheetNet created it: a lesson's build folder is all SheetNet's.
    case replaceOwned
  }

  /// The folder the files go to (created when missing).
  public let folder: String
  /// How existing files are treated.
  public let mode: Mode
  /// The files, by path inside `folder`, in the order they are renamed into place.
  public private(set) var files: [(name: String, bytes: any ContiguousBytes)] = []
  /// How many seconds `commit` waits for another writer to finish with a folder.
  public var lockTimeout: Double = 60

  /// An empty batch for `folder`.
  public init(folder: String, mode: Mode = .add) {
    self.folder = folder
    self.mode = mode
  }

  /// Adds a file at `name`, a path inside the folder (`figures/x.png` makes the subfolder),
  /// holding `bytes`. Throws for a name that is not a safe relative path, or given twice.
  public mutating func add(_ bytes: some ContiguousBytes, as name: String) throws(SheetNetError) {
    _ = try OwnedName.components(of: name)
    guard !files.contains(where: { $0.name == name }) else {
      throw .io("two files named '\(Terminal.escaped(name))' in one output; name them apart")
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

  /// Writes every file to a temporary, flushes it, then renames them all into place and updates
  /// each folder's manifest, holding the folders' locks throughout. When this throws, no
  /// temporary is left and no file has changed.
  public func commit() throws(SheetNetError) {
    guard !files.isEmpty || mode != .add else { return }
    let plan = try CommitPlan(self)
    try plan.run()
  }
}

/// One folder of a batch: its path relative to the batch's folder ("" for the folder itself), the
/// files the batch writes directly in it, its manifest before and after.
private struct FolderPlan {
  var relative: String
  var names: [String] = []
  var subfolders: Set<String> = []
  var before: FolderManifest?
  var after = FolderManifest(created: false)
}

/// What committing a batch does, worked out under the folders' locks before anything is written.
private struct CommitPlan {
  let batch: OutputBatch
  var locks: [OutputFolderLock] = []
  var folders: [FolderPlan] = []
  /// Folders made for this batch (paths relative to the batch's folder), parents first.
  var made: [String] = []
  /// (temporary, target, bytes), data files first, then manifests; relative paths.
  var renames: [(temporary: String, target: String, bytes: any ContiguousBytes)] = []
  /// Stale files to remove once renamed (relative path, the fingerprint that proves them ours), and
  /// emptied folders of ours to remove after them.
  var removals: [(path: String, fingerprint: String)] = []
  var emptied: [String] = []
  /// The batch's folder and the folders above it that `AtomicFile.makeFolder` created for it.
  var created: [String] = []

  init(_ batch: OutputBatch) throws(SheetNetError) {
    self.batch = batch
    created = try AtomicFile.makeFolder(batch.folder)
    do throws(SheetNetError) { try plan() } catch {
      for m in made.reversed() { rmdir(absolute(m)) }
      AtomicFile.unmake(created)
      throw error
    }
  }

  /// Locks the folders, reads their manifests and decides every rename and removal.
  private mutating func plan() throws(SheetNetError) {
    locks.append(try OutputFolderLock(batch.folder, waitingUpTo: batch.lockTimeout))
    // Every folder the batch writes into, parents first.
    var byPath: [String: Int] = ["": 0]
    folders = [FolderPlan(relative: "")]
    for file in batch.files {
      let parts = file.name.split(separator: "/").map(String.init)
      var relative = ""
      for part in parts.dropLast() {
        let parent = byPath[relative]!
        folders[parent].subfolders.insert(part)
        relative = relative.isEmpty ? part : relative + "/" + part
        if byPath[relative] == nil {
          byPath[relative] = folders.count
          folders.append(FolderPlan(relative: relative))
        }
      }
      folders[byPath[relative]!].names.append(parts.last!)
    }
    let manager = FileManager.default
    for i in folders.indices {
      let path = absolute(folders[i].relative)
      if i > 0 {
        switch kind(path) {
        case .missing:
          guard mkdir(path, 0o755) == 0 || errno == EEXIST else {
            throw .io("cannot create the folder \(path) (\(String(cString: strerror(errno)))); check its permissions or choose another --output")
          }
          made.append(folders[i].relative)
        case .folder: break
        case .other: throw .io("\(path) is in the way: a file or link where sheetnet writes a folder; move it away or choose another --output")
        }
        locks.append(try OutputFolderLock(path, waitingUpTo: batch.lockTimeout))
      }
      let before = FolderManifest.read(path)
      folders[i].before = before
      folders[i].after = before ?? FolderManifest(created: made.contains(folders[i].relative))
      let entries = ((try? manager.contentsOfDirectory(atPath: path)) ?? []).filter { !$0.hasPrefix(OwnedName.prefix) }
      if batch.mode == .replaceOwned && before?.created != true {
        let foreign = entries.filter { before?.files[$0] == nil && before?.folders.contains($0) != true }.sorted()
        if !foreign.isEmpty {
          let shown = foreign.prefix(3).map { Terminal.escaped($0) }.joined(separator: ", ") + (foreign.count > 3 ? ", …" : "")
          throw .io("\(path) holds files sheetnet did not write (\(shown)); sheetnet replaces only folders it made: move them away, or choose another output folder")
        }
      }
      for name in folders[i].names {
        let target = path + "/" + name
        switch kind(target) {
        case .missing: break
        case .folder: throw .io("\(target) is a folder; move it away or choose another --output")
        case .other:
          guard before?.files[name] != nil else {
            throw .io("\(target) exists and sheetnet did not write it; move it away or choose another --output")
          }
        }
      }
    }
    for i in folders.indices {
      let path = absolute(folders[i].relative)
      let byName = Dictionary(uniqueKeysWithValues: batch.files.compactMap { file -> (String, any ContiguousBytes)? in
        let parts = file.name.split(separator: "/").map(String.init)
        return parts.dropLast().joined(separator: "/") == folders[i].relative ? (parts.last!, file.bytes) : nil
      })
      var after = folders[i].after
      // Entries whose file is gone are forgotten; in a replacing batch, the ones not written
      // again are removed (while their bytes are still ours) and then forgotten too.
      for (name, fingerprint) in after.files where byName[name] == nil {
        guard FolderManifest.isFile(path + "/" + name) else { after.files[name] = nil; continue }
        if batch.mode != .add {
          if FolderManifest.holds(path + "/" + name, fingerprint) { removals.append((join(folders[i].relative, name), fingerprint)) }
          after.files[name] = nil
        }
      }
      if batch.mode != .add {
        for stale in after.folders.subtracting(folders[i].subfolders) {
          collectStale(join(folders[i].relative, stale))
          after.folders.remove(stale)
        }
      }
      for name in folders[i].names {
        after.files[name] = FolderManifest.fingerprint(byName[name]!)
        renames.append((join(folders[i].relative, OwnedName.temporary()), join(folders[i].relative, name), byName[name]!))
      }
      for sub in folders[i].subfolders where made.contains(join(folders[i].relative, sub)) { after.folders.insert(sub) }
      folders[i].after = after
    }
    for folder in folders where folder.after != folder.before {
      renames.append((join(folder.relative, OwnedName.temporary()), join(folder.relative, OwnedName.manifest), Array(folder.after.text.utf8)))
    }
  }

  /// A stale subfolder SheetNet made: its files still ours, its own stale subfolders and its
  /// manifest are removed, then the folder when that empties it.
  private mutating func collectStale(_ relative: String) {
    let path = absolute(relative)
    guard kind(path) == .folder, let manifest = FolderManifest.read(path) else { return }
    for (name, fingerprint) in manifest.files.sorted(by: { $0.key < $1.key }) where FolderManifest.holds(path + "/" + name, fingerprint) {
      removals.append((join(relative, name), fingerprint))
    }
    for sub in manifest.folders.sorted() { collectStale(join(relative, sub)) }
    if let text = FolderManifest.smallText(at: path + "/" + OwnedName.manifest) {
      removals.append((join(relative, OwnedName.manifest), FolderManifest.fingerprint(Array(text.utf8))))
    }
    emptied.append(relative)
  }

  func absolute(_ relative: String) -> String { relative.isEmpty ? batch.folder : batch.folder + "/" + relative }
  func join(_ folder: String, _ name: String) -> String { folder.isEmpty ? name : folder + "/" + name }

  enum Kind { case missing, folder, other }
  /// What is at `path`, links not followed (a link to a folder is not a folder of ours).
  func kind(_ path: String) -> Kind {
    var info = stat()
    guard lstat(path, &info) == 0 else { return .missing }
    return (info.st_mode & S_IFMT) == S_IFDIR ? .folder : .other
  }

  /// The record, temporaries, renames and removals, in that order.
  func run() throws(SheetNetError) {
    defer { for lock in locks.reversed() { lock.unlock() } }
    let record = CommitRecord(renames: renames.map { ($0.temporary, $0.target) }, removals: removals, emptied: emptied, made: made)
    let recordPath = batch.folder + "/" + OwnedName.record()
    let recordRegistration = SignalCleanup.register(file: recordPath)
    var registrations: [SignalCleanup.Registration?] = made.map { SignalCleanup.register(folder: absolute($0)) }
    func abandon() {
      for r in renames { unlink(absolute(r.temporary)) }
      unlink(recordPath)
      for m in made.reversed() { rmdir(absolute(m)) }
      AtomicFile.unmake(created)
      for r in registrations { SignalCleanup.release(r) }
      SignalCleanup.release(recordRegistration)
    }
    do throws(SheetNetError) {
      try AtomicFile.writeDurably(Array(record.text.utf8), to: recordPath, shownAs: batch.folder)
      for r in renames {
        registrations.append(SignalCleanup.register(file: absolute(r.temporary)))
        try AtomicFile.writeDurably(r.bytes, to: absolute(r.temporary), shownAs: absolute(r.target))
      }
      try AtomicFile.append(Array("ready\n".utf8), to: recordPath, shownAs: batch.folder)
    } catch {
      abandon()
      throw error
    }
    try SignalCleanup.deferringSignals { () throws(SheetNetError) in
      defer {
        unlink(recordPath)
        for r in registrations { SignalCleanup.release(r) }
        SignalCleanup.release(recordRegistration)
      }
      let pause = renames.count > 1 ? ProcessInfo.processInfo.environment["SHEETNET_TEST_COMMIT_PAUSE"].flatMap(Double.init) : nil
      for (i, r) in renames.enumerated() {
        if rename(absolute(r.temporary), absolute(r.target)) != 0 {
          let reason = String(cString: strerror(errno))
          for rest in renames[i...] { unlink(absolute(rest.temporary)) }
          let done = renames[..<i].map(\.target).filter { !$0.hasSuffix(OwnedName.manifest) }
          throw .io("cannot write \(absolute(r.target)) (\(reason))" + (done.isEmpty ? "" : "; \(done.map(absolute).joined(separator: ", ")) already replaced")
                    + "; check the folder's permissions")
        }
        // A test hook, SHEETNET_TEST_COMMIT_PAUSE=seconds: widens the moment between two renames,
        // which a second writer or a signal would have to hit to mix two runs' files.
        if i == 0, let pause { usleep(UInt32(max(0, min(pause, 10)) * 1_000_000)) }
      }
      record.finishRemovals(in: batch.folder)
      for lock in locks { lock.sync() }
    }
  }
}

/// A commit's record: every temporary it writes and the name each becomes, the stale files it
/// removes (with the hashes that prove them SheetNet's), the folders it empties and the ones it
/// made; `ready` once every temporary is on the disk.
struct CommitRecord {
  var renames: [(temporary: String, target: String)]
  var removals: [(path: String, fingerprint: String)]
  var emptied: [String]
  var made: [String]
  var ready = false

  init(renames: [(String, String)], removals: [(path: String, fingerprint: String)], emptied: [String], made: [String]) {
    self.renames = renames
    self.removals = removals
    self.emptied = emptied
    self.made = made
  }

  var text: String {
    var lines = ["sheetnet-commit 1"]
    lines += made.map { "made \($0)" }
    lines += renames.map { "rename \($0.temporary)\t\($0.target)" }
    lines += removals.map { "remove \($0.fingerprint) \($0.path)" }
    lines += emptied.map { "emptied \($0)" }
    return lines.joined(separator: "\n") + "\n"
  }

  /// Reads a record; only whole lines whose paths are safe and whose temporaries are SheetNet's
  /// are kept, so a record cannot point the clean-up at anything else.
  init?(parsing text: String) {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map(String.init)
    if lines.last == "" { lines.removeLast() } else if !lines.isEmpty { lines.removeLast() }  // a line cut short
    guard lines.first == "sheetnet-commit 1" else { return nil }
    /// A safe relative path whose last part passes `last` (by default: a safe name too).
    func safe(_ path: String, last: (String) -> Bool = { (try? OwnedName.components(of: $0)) != nil }) -> Bool {
      let parts = path.split(separator: "/", omittingEmptySubsequences: false).map(String.init)
      guard let name = parts.last, last(name) else { return false }
      return parts.count == 1 || (try? OwnedName.components(of: parts.dropLast().joined(separator: "/"))) != nil
    }
    func isTemporary(_ path: String) -> Bool { safe(path) { OwnedName.isOwned($0, suffix: "tmp") } }
    func isTarget(_ path: String) -> Bool { safe(path) || safe(path) { $0 == OwnedName.manifest } }
    renames = []; removals = []; emptied = []; made = []
    for line in lines.dropFirst() {
      if line == "ready" { ready = true } else if line.hasPrefix("made "), safe(String(line.dropFirst(5))) {
        made.append(String(line.dropFirst(5)))
      } else if line.hasPrefix("rename ") {
        let pair = line.dropFirst(7).split(separator: "\t", omittingEmptySubsequences: false).map(String.init)
        guard pair.count == 2, isTemporary(pair[0]), isTarget(pair[1]) else { continue }
        renames.append((pair[0], pair[1]))
      } else if line.hasPrefix("remove ") {
        let rest = line.dropFirst(7)
        guard let space = rest.firstIndex(of: " ") else { continue }
        let path = String(rest[rest.index(after: space)...])
        guard isTarget(path) else { continue }
        removals.append((path, String(rest[..<space])))
      } else if line.hasPrefix("emptied "), safe(String(line.dropFirst(8))) {
        emptied.append(String(line.dropFirst(8)))
      }
    }
  }

  /// Removes the stale files (while their bytes still match), then the emptied folders.
  func finishRemovals(in folder: String) {
    for r in removals where FolderManifest.holds(folder + "/" + r.path, r.fingerprint) { unlink(folder + "/" + r.path) }
    for e in emptied.reversed() { rmdir(folder + "/" + e) }
  }

  /// What a killed writer left: a ready record's renames and removals are finished; a record not
  /// ready has its temporaries and the folders it made removed.
  func recover(in folder: String) {
    if ready {
      for r in renames { _ = rename(folder + "/" + r.temporary, folder + "/" + r.target) }
      finishRemovals(in: folder)
    } else {
      for r in renames { unlink(folder + "/" + r.temporary) }
      for m in made.reversed() { rmdir(folder + "/" + m) }
    }
  }
}

/// An exclusive lock on an output folder, held while a command writes into it. The lock is
/// flock(2) on the folder itself, so no lock file is left behind, and the system releases it
/// when the process ends, however it ends. (Where the file system cannot lock a folder, as NFS,
/// a file `.sheetnet-lock` in it is locked instead.) Taking the lock also finishes or undoes
/// what killed writers left (see `recover`).
public final class OutputFolderLock {
  /// The locked folder.
  public let folder: String
  /// The folder, open: what is locked, and what `sync` flushes.
  private var descriptor: Int32
  /// The lock file, open, where the folder itself cannot be locked; else -1.
  private var lockFile: Int32 = -1

  /// Locks `folder` (which must exist), waiting up to `seconds` for another writer to finish;
  /// then recovers what killed writers left in it.
  public init(_ folder: String, waitingUpTo seconds: Double = 60) throws(SheetNetError) {
    let fd = open(folder, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC)
    guard fd >= 0 else { throw .io("cannot open the folder \(folder) (\(String(cString: strerror(errno)))); check its permissions") }
    self.folder = folder
    descriptor = fd
    let deadline = DispatchTime.now().uptimeNanoseconds + UInt64(max(0, seconds) * 1e9)
    while flock(lockFile >= 0 ? lockFile : descriptor, LOCK_EX | LOCK_NB) != 0 {
      let error = errno
      if lockFile < 0 && [EBADF, ENOLCK, EOPNOTSUPP, EINVAL].contains(error) {
        lockFile = open(folder + "/" + OwnedName.prefix + "lock", O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0o644)
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

  /// Finishes or undoes the commits killed writers left in the folder. Only a writer holding this
  /// lock writes a record here, so, holding it, every record is an orphan. Nothing but the files
  /// a record names (temporaries with SheetNet's names, stale files with the hashes SheetNet
  /// wrote) is touched.
  func recover() {
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []
    for name in names.sorted() where OwnedName.isOwned(name, suffix: "commit") {
      let path = folder + "/" + name
      if let text = FolderManifest.smallText(at: path), let record = CommitRecord(parsing: text) {
        record.recover(in: folder)
        sync()
      }
      unlink(path)
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
private let fileSlots = PathSlots(count: 512)
/// Temporary folders to remove on a signal, after their files.
private let folderSlots = PathSlots(count: 16)

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
  // Folders made last are removed first (a subfolder before its parent).
  for i in stride(from: folderSlots.count - 1, through: 0, by: -1) {
    if let path = folderSlots.pointer[i].exchange(nil, ordering: .acquiringAndReleasing) { rmdir(path) }
  }
  Glibc.signal(signal, SIG_DFL)
  raise(signal)
}
