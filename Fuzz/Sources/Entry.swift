import Foundation

// Two builds of one target:
//
// - normal builds (`swift build`, `swift test`): `Replay.main` runs files or folders given on the
//   command line through one target, for regression replays of corpora and crash reproducers;
// - the fuzz build (`-Xswiftc -sanitize=fuzzer -Xswiftc -DSHEETNET_FUZZ`, as `make fuzz` does):
//   libFuzzer drives `LLVMFuzzerTestOneInput` below. The process still enters through a Swift
//   `main` (SwiftPM links every executable's entry point under its own name on Linux), which
//   hands the command line to libFuzzer's `LLVMFuzzerRunDriver`.

/// The target named by `SHEETNET_FUZZ_TARGET`, or the reason there is none (the variable is
/// missing or names no target).
func environmentTarget() -> Result<FuzzTarget, FuzzSetupError> {
  guard let name = ProcessInfo.processInfo.environment[FuzzTarget.environmentKey], !name.isEmpty else {
    return .failure(FuzzSetupError("set \(FuzzTarget.environmentKey)=\(FuzzTarget.names)"))
  }
  guard let target = FuzzTarget(rawValue: name) else {
    return .failure(FuzzSetupError("unknown fuzz target '\(name)' in \(FuzzTarget.environmentKey); use \(FuzzTarget.names)"))
  }
  return .success(target)
}

/// A mistake in how the fuzzer was started (not a finding).
struct FuzzSetupError: Error, CustomStringConvertible {
  /// The one line printed.
  var description: String
  init(_ description: String) { self.description = description }
}

/// Prints `message` to standard error and exits with status 2.
func fail(_ message: String) -> Never {
  FileHandle.standardError.write(Data("sheetnet-fuzz: \(message)\n".utf8))
  exit(2)
}

#if SHEETNET_FUZZ

/// The target this process fuzzes, read once from the environment before the first input.
nonisolated(unsafe) var fuzzTarget: FuzzTarget = .lesson

/// libFuzzer's callback: one input, run through the chosen target. Always returns 0 (the input
/// may be added to the corpus); thrown `SheetNetError`s are expected results.
@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzTestOneInput(_ data: UnsafePointer<UInt8>?, _ size: Int) -> CInt {
  let bytes = data.map { Array(UnsafeBufferPointer(start: $0, count: size)) } ?? []
  fuzzTarget.run(bytes)
  return 0
}

/// libFuzzer's driver (compiler-rt, linked by `-sanitize=fuzzer`): parses libFuzzer's flags
/// from argv and calls the callback for every input.
@_silgen_name("LLVMFuzzerRunDriver")
func LLVMFuzzerRunDriver(
  _ argc: UnsafeMutablePointer<CInt>, _ argv: UnsafeMutablePointer<UnsafeMutablePointer<UnsafeMutablePointer<CChar>?>>,
  _ callback: @convention(c) (UnsafePointer<UInt8>?, Int) -> CInt) -> CInt

/// The fuzz build's entry point: choose the target, then let libFuzzer run.
@main
enum FuzzMain {
  static func main() {
    switch environmentTarget() {
    case .success(let target): fuzzTarget = target
    case .failure(let e): fail(e.description)
    }
    var argc = CommandLine.argc
    var argv = CommandLine.unsafeArgv
    exit(LLVMFuzzerRunDriver(&argc, &argv) { data, size in fuzzTestOneInput(data, size) })
  }
}

#else

/// The normal build's entry point: replays inputs through one target.
///
///     sheetnet-fuzz [--target lesson|csv|model|idx] [--verbose] FILE_OR_FOLDER...
///
/// The target comes from `--target`, else `SHEETNET_FUZZ_TARGET`. Folders are read one level
/// deep, files in name order. Prints one line per input with `--verbose` (the error, if the
/// engine refused it), and a count at the end. A crash is the finding: it stops the replay
/// with the runtime's message and stack trace; otherwise the exit status is 0.
@main
enum Replay {
  static func main() {
    var arguments = Array(CommandLine.arguments.dropFirst())
    var target: FuzzTarget?
    var verbose = false
    var paths: [String] = []
    while !arguments.isEmpty {
      let a = arguments.removeFirst()
      switch a {
      case "--target":
        guard let name = arguments.first, let t = FuzzTarget(rawValue: name) else { fail("--target needs one of \(FuzzTarget.names)") }
        arguments.removeFirst()
        target = t
      case "--verbose", "-v": verbose = true
      case "--help", "-h":
        print("usage: sheetnet-fuzz [--target \(FuzzTarget.names)] [--verbose] FILE_OR_FOLDER...")
        print("Replays inputs through one fuzz target (or \(FuzzTarget.environmentKey)); a crash is a finding.")
        return
      default: paths.append(a)
      }
    }
    if target == nil {
      switch environmentTarget() {
      case .success(let t): target = t
      case .failure(let e): fail(e.description + " or pass --target")
      }
    }
    guard let target else { fail("no target") }
    guard !paths.isEmpty else { fail("name files or folders to replay (--help)") }
    var files: [String] = []
    let fm = FileManager.default
    for path in paths {
      var isFolder: ObjCBool = false
      guard fm.fileExists(atPath: path, isDirectory: &isFolder) else { fail("\(path): no such file or folder") }
      if isFolder.boolValue {
        let names = ((try? fm.contentsOfDirectory(atPath: path)) ?? []).sorted()
        for name in names where !name.hasPrefix(".") {
          let full = (path as NSString).appendingPathComponent(name)
          var sub: ObjCBool = false
          if fm.fileExists(atPath: full, isDirectory: &sub), !sub.boolValue { files.append(full) }
        }
      } else {
        files.append(path)
      }
    }
    var refused = 0
    for file in files {
      guard let data = fm.contents(atPath: file) else { fail("\(file): cannot read it") }
      if verbose { print("\(file): running (\(data.count) bytes)") }
      let error = target.run([UInt8](data))
      if error != nil { refused += 1 }
      if verbose { print("\(file): \(error.map { "refused: \($0.description)" } ?? "accepted")") }
    }
    print("sheetnet-fuzz \(target.rawValue): \(files.count) inputs replayed, \(files.count - refused) accepted, \(refused) refused with a SheetNetError, no crash")
  }
}

#endif
