import Foundation
@testable import SheetNet

/// A tensor of uniform values in [lo, hi) from a seeded generator, kept away from 0 by `gap`
/// (so ReLU-like kinks are never straddled by a finite-difference step).
func randomTensor(_ shape: [Int], seed: UInt64, lo: Double = -1, hi: Double = 1, gap: Double = 0.01) -> Tensor {
  var rng = SeededGenerator(seed: seed)
  let n = shape.reduce(1, *)
  return Tensor(shape: shape, data: (0..<n).map { _ in
    var v = rng.uniform(lo, hi)
    if abs(v) < gap { v += v < 0 ? -gap : gap }
    return v
  })
}

/// Builds `layer` for per-sample `shape` with a seeded generator.
@discardableResult
func built<L: Layer>(_ layer: L, _ shape: [Int], seed: UInt64 = 1) throws -> L {
  var rng = SeededGenerator(seed: seed)
  _ = try layer.build(inputShape: shape, rng: &rng)
  return layer
}

/// The folder holding the package (for Worksheets/ and Tests/ fixtures).
let packageRoot: URL = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A path inside the package.
func packagePath(_ relative: String) -> String { packageRoot.appendingPathComponent(relative).path }

/// Runs the built `sheetnet` with `arguments` in `folder` to its end: status, standard output and
/// standard error (both read as they come, so neither pipe fills up).
func runSheetnet(_ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> (Int32, String, String) {
  try runProcess(OutputSafetyTests.binary, arguments, in: folder, environment: environment)
}

/// Runs `executable` with `arguments` in `folder` to its end: status, standard output and standard
/// error (both read as they come, so neither pipe fills up).
func runProcess(_ executable: URL, _ arguments: [String], in folder: String, environment: [String: String] = [:]) throws -> (Int32, String, String) {
  let process = Process()
  process.executableURL = executable
  process.arguments = arguments
  process.currentDirectoryURL = URL(fileURLWithPath: folder)
  if !environment.isEmpty { process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 } }
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  final class Box: @unchecked Sendable { var data = Data() }
  let errors = Box()
  let reader = Thread { errors.data = err.fileHandleForReading.readDataToEndOfFile() }
  reader.start()
  let stdout = out.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  while !reader.isFinished { usleep(1000) }
  return (process.terminationStatus, String(decoding: stdout, as: UTF8.self), String(decoding: errors.data, as: UTF8.self))
}

/// Every regular file under `folder` (hidden ones too; links not followed), by relative path,
/// with its bytes: what a test compares before and after a command to see what it touched.
func snapshot(_ folder: String) -> [String: Data] {
  var out: [String: Data] = [:]
  guard let walker = FileManager.default.enumerator(atPath: folder) else { return out }
  while let path = walker.nextObject() as? String {
    let full = folder + "/" + path
    if let kind = try? FileManager.default.attributesOfItem(atPath: full)[.type] as? FileAttributeType, kind == .typeRegular {
      out[path] = FileManager.default.contents(atPath: full) ?? Data()
    }
  }
  return out
}
