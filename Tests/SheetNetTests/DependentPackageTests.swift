import Foundation
import Testing

/// SheetNet as a dependency: the package in Tests/Fixtures/Dependent names SheetNet by URL and
/// version (a file:// URL to a clone of this repository's committed HEAD, tagged 0.9.0), uses
/// the SheetNet, SheetNetTrace and SheetNetFigures products, and must build and run. Built without
/// SHEETNET_DEV, as a dependent is, so an unsafe flag in any product target fails it.
@Suite(.serialized) struct DependentPackageTests {
  /// Runs `command` in `folder` with `environment`; (status, combined output).
  func run(_ command: [String], in folder: String, environment: [String: String]) throws -> (Int32, String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: "/usr/bin/env")
    process.arguments = command
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    process.environment = environment
    let out = Pipe()
    process.standardOutput = out
    process.standardError = out
    try process.run()
    let data = out.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
  }

  @Test("a package depending on SheetNet by URL builds and runs")
  func dependent() throws {
    let root = NSTemporaryDirectory() + "sheetnet-dependent-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root, withIntermediateDirectories: true)
    var environment = ProcessInfo.processInfo.environment
    environment["SHEETNET_DEV"] = nil
    environment["SHEETNET_TARGET_CPU"] = nil
    let clone = root + "/sheetnet"
    let cloned = try run(["git", "clone", "--quiet", "--no-hardlinks", packageRoot.path, clone], in: root, environment: environment)
    try #require(cloned.0 == 0, "git clone: \(cloned.1)")
    let tagged = try run(["git", "-c", "user.name=t", "-c", "user.email=t@t", "tag", "-f", "0.9.0"], in: clone, environment: environment)
    try #require(tagged.0 == 0, "git tag: \(tagged.1)")

    let fixture = packagePath("Tests/Fixtures/Dependent")
    let project = root + "/dependent"
    try FileManager.default.copyItem(atPath: fixture, toPath: project)
    let manifest = try String(contentsOfFile: project + "/Package.swift.in", encoding: .utf8)
    try manifest.replacingOccurrences(of: "@SHEETNET_URL@", with: "file://" + clone).write(toFile: project + "/Package.swift", atomically: true, encoding: .utf8)

    let built = try run(["swift", "build", "--scratch-path", root + "/.build"], in: project, environment: environment)
    #expect(built.0 == 0, "swift build of the dependent failed:\n\(built.1.suffix(3000))")
    #expect(!built.1.contains("unsafe build flags"), "\(built.1.suffix(2000))")
    guard built.0 == 0 else { return }
    let ran = try run(["swift", "run", "--skip-build", "--scratch-path", root + "/.build", "Dependent"], in: project, environment: environment)
    #expect(ran.0 == 0, "\(ran.1.suffix(2000))")
    // XOR is learnt (the loss falls), a step is traced, a figure is encoded.
    let lines = ran.1.split(separator: "\n").map(String.init)
    let xor = try #require(lines.first { $0.hasPrefix("xor loss ") })
    let numbers = xor.dropFirst(9).components(separatedBy: " -> ").compactMap(Double.init)
    #expect(numbers.count == 2 && numbers[1] < numbers[0] / 2, "\(xor)")
    #expect(lines.contains { $0.hasPrefix("traced ") && !$0.hasPrefix("traced 0 ") })
    #expect(lines.contains { $0.hasPrefix("graph png ") && !$0.hasPrefix("graph png 0 ") })
  }
}
