import Foundation
import Testing
@testable import SheetNet

/// `sheetnet sample`: a trained sequence lesson continued token by token, through the built binary
/// in a scratch project; and every way to ask it for something it cannot do.
@Suite(.serialized) struct SampleTests {
  /// A scratch project with the shipped attention-reverse lesson and a copy whose attention reads ahead.
  func project() throws -> String {
    let root = NSTemporaryDirectory() + "sheetnet-sample-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    let text = try String(contentsOfFile: packagePath("Worksheets/attention-reverse.yaml"), encoding: .utf8)
    try text.write(toFile: root + "/Worksheets/attention-reverse.yaml", atomically: true, encoding: .utf8)
    try text.replacingOccurrences(of: "causal: true", with: "causal: false").replacingOccurrences(of: "epochs: 30", with: "epochs: 1")
      .write(toFile: root + "/Worksheets/peeking.yaml", atomically: true, encoding: .utf8)
    try String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8).write(toFile: root + "/Worksheets/xor.yaml", atomically: true, encoding: .utf8)
    return root
  }

  @Test("greedy sampling reverses a question; the JSON gives each token's probability; the same seed gives the same draws")
  func reverses() throws {
    let root = try project()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (status, out, err) = try runSheetnet(["sample", "attention-reverse", "--prompt", "3141", "--length", "4", "--temperature", "0", "--json"], in: root)
    #expect(status == 0, "\(err)")
    let v = try Value.parseJSON(out)
    #expect(v["text"]?.string == "1413")
    let tokens = try #require(v["tokens"]?.list)
    #expect(tokens.count == 4)
    for t in tokens {
      let p = try #require(t["probability"]?.number)
      let others = (t["alternatives"]?.list ?? []).compactMap { $0["probability"]?.number }
      #expect(p > 0.5 && p <= 1 && others.count == 3 && others.allSatisfy { $0 <= p } && p + others.reduce(0, +) <= 1 + 1e-12)
    }
    // The model was trained and saved once; sampling at temperature 1 from one seed repeats itself.
    let a = try runSheetnet(["sample", "attention-reverse", "--prompt", "27", "--length", "12", "--sample-seed", "5"], in: root)
    let b = try runSheetnet(["sample", "attention-reverse", "--prompt", "27", "--length", "12", "--sample-seed", "5"], in: root)
    #expect(a.0 == 0 && a.1 == b.1 && a.1.hasPrefix("27│"), "\(a.2)")
  }

  @Test("what sample cannot do is one line and status 1, writing nothing", arguments: [
    (["sample", "attention-reverse", "--prompt", "3x"], "'x' is not in"),
    (["sample", "attention-reverse", "--prompt", ""], "at least one token"),
    (["sample", "attention-reverse", "--prompt", "1\u{1B}[31m"], "\\e"),
    (["sample", "attention-reverse", "--prompt", "1", "--length", "0"], "--length"),
    (["sample", "attention-reverse", "--prompt", "1", "--length", "100000"], "--length"),
    (["sample", "attention-reverse", "--prompt", "1", "--temperature", "-1"], "--temperature"),
    (["sample", "attention-reverse", "--prompt", "1", "--temperature", "nan"], "--temperature"),
    (["sample", "attention-reverse", "--prompt", "1", "--top", "11"], "--top"),
    (["sample", "xor", "--prompt", "1"], "not a token sequence"),
    (["sample", "peeking", "--prompt", "1"], "causal: true"),
    (["sample", "nosuch", "--prompt", "1"], "no such lesson"),
  ])
  func refused(_ args: [String], _ mentions: String) throws {
    let root = try project()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let before = snapshot(root)
    let (status, _, err) = try runSheetnet(args, in: root)
    let lines = err.split(separator: "\n")
    #expect(status == 1 && lines.count == 1 && lines[0].hasPrefix("sheetnet: error: ") && err.contains(mentions), "\(args): \(err)")
    #expect(!err.unicodeScalars.contains("\u{1B}"), "a raw escape reached the terminal")
    #expect(snapshot(root) == before, "\(args): files changed")
  }
}
