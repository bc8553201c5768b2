import Foundation

// Issue 5: figure rendering as a user meets it, the whole `sheetnet figure` process (start-up,
// drawing, encoding, writing the file), through the command's hidden benchmark kinds, which need
// no lesson and no training. Benchmarks/matplotlib_figures.py times the matplotlib equivalents.

/// The folder the figure cases write into; main.swift removes it when the run ends.
let figureFolder = NSTemporaryDirectory() + "sheetnet-bench-figures-\(getpid())"

/// The release `sheetnet` binary beside this one (`make bench` builds both), or nil.
func sheetnetBinary() -> String? {
  guard let me = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe") else { return nil }
  let path = (me as NSString).deletingLastPathComponent + "/sheetnet"
  return FileManager.default.isExecutableFile(atPath: path) ? path : nil
}

/// The figure cases, or none (with the reason) when `sheetnet` is not built beside the bench.
func figureCases() -> (cases: [BenchCase], note: String) {
  guard let binary = sheetnetBinary() else {
    return ([], "skipped: no sheetnet beside sheetnet-bench (make bench builds both)")
  }
  return ([
    figureProcess(id: "figure/feature-maps-png", label: "64 feature maps of 28×28 in a 12×6 grid + colour bar, PNG 1920×1080",
                  binary: binary, kind: "bench-feature-maps", format: "png", file: "feature-maps.png"),
    figureProcess(id: "figure/activations-svg", label: "four activation curves and slopes, SVG",
                  binary: binary, kind: "bench-activations", format: "svg", file: "activations.svg"),
  ], "\(binary) as a whole process, wall clock")
}

/// `sheetnet figure KIND bench --format FORMAT --output <temporary folder>` run once per
/// iteration with posix_spawn, its output thrown away; the case times spawn to exit. The first
/// run is checked (exit status 0 and the file written) and explains a failure.
func figureProcess(id: String, label: String, binary: String, kind: String, format: String, file: String) -> BenchCase {
  // `bench` stands in for the lesson argument, which the benchmark kinds do not read.
  let arguments = ["figure", kind, "bench", "--format", format, "--output", figureFolder]
  return BenchCase(id: id, group: .figure, label: label, process: true) {
    try FileManager.default.createDirectory(atPath: figureFolder, withIntermediateDirectories: true)
    let check = Process()
    check.executableURL = URL(fileURLWithPath: binary)
    check.arguments = arguments
    let errors = Pipe()
    check.standardOutput = FileHandle.nullDevice
    check.standardError = errors
    try check.run()
    let message = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    check.waitUntilExit()
    let written = "\(figureFolder)/\(file)"
    guard check.terminationStatus == 0, FileManager.default.fileExists(atPath: written) else {
      throw BenchError("\(id): `sheetnet \(arguments.joined(separator: " "))` exited with status \(check.terminationStatus) and wrote no \(written): \(message)")
    }
    return {
      let status = spawnAndWait(binary, arguments)
      if status != 0 { fatalError("\(id): `sheetnet \(arguments.joined(separator: " "))` failed (wait status \(status)) after a run that worked") }
    }
  }
}

/// A failure to prepare a case, with what to do about it.
struct BenchError: Error, CustomStringConvertible {
  var description: String
  init(_ description: String) { self.description = description }
}

/// Runs `path` with `arguments` (standard output and error to /dev/null, this environment) and
/// waits for it; returns the wait status (0: exited with status 0), or -1 when it did not start.
func spawnAndWait(_ path: String, _ arguments: [String]) -> Int32 {
  #if canImport(Glibc)
  var actions = posix_spawn_file_actions_t()
  posix_spawn_file_actions_init(&actions)
  defer { posix_spawn_file_actions_destroy(&actions) }
  posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
  posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
  let argv: [UnsafeMutablePointer<CChar>?] = ([path] + arguments).map { strdup($0) } + [nil]
  defer { for p in argv { free(p) } }
  var pid = pid_t()
  guard posix_spawn(&pid, path, &actions, nil, argv, environ) == 0 else { return -1 }
  var status: Int32 = 0
  while waitpid(pid, &status, 0) < 0 {
    if errno != EINTR { return -1 }
  }
  return status
  #else
  let process = Process()  // elsewhere Foundation's Process, which spawns the same way
  process.executableURL = URL(fileURLWithPath: path)
  process.arguments = arguments
  process.standardOutput = FileHandle.nullDevice
  process.standardError = FileHandle.nullDevice
  guard (try? process.run()) != nil else { return -1 }
  process.waitUntilExit()
  return process.terminationStatus
  #endif
}
