import Foundation
import Testing
@testable import SheetNet

/// SheetNet deletes, replaces or renames only files it wrote, and writes only under the command's
/// output folder. Each case runs the built binary in a scratch project that holds the user's own
/// files (lessons, notes, a docs folder, look-alikes of SheetNet's temporaries) and checks that
/// every one of them is still there afterwards, byte for byte.
@Suite(.serialized) struct OwnershipTests {
  /// A scratch folder `base/` holding the project `base/proj/`: Worksheets/xor.yaml and the user's
  /// files. Returns (base, project).
  func project(extra lessons: [String: String] = [:]) throws -> (base: String, root: String) {
    let base = NSTemporaryDirectory() + "sheetnet-ownership-\(getpid())-\(UUID().uuidString.prefix(8))"
    let root = base + "/proj"
    let xor = try String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8)
    var files = ["Worksheets/xor.yaml": xor, "docs/notes.txt": "my notes\n", "docs/.draft.tmp-999999": "a draft\n",
                 "notes.txt": "top notes\n", "Output/README.md": "the user's readme\n", "Output/.thesis.old-999997": "thesis\n",
                 "../keep.txt": "beside the project\n"]
    for (name, text) in lessons { files["Worksheets/\(name).yaml"] = text }
    for (path, text) in files {
      let full = root + "/" + path
      try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try text.write(toFile: full, atomically: false, encoding: .utf8)
    }
    return (base, root)
  }


  /// Every file of `before` is in `after` with the same bytes.
  func kept(_ before: [String: Data], _ after: [String: Data], _ label: String, sourceLocation: SourceLocation = #_sourceLocation) {
    let lost = before.keys.filter { after[$0] != before[$0] }.sorted()
    #expect(lost.isEmpty, "\(label): changed or deleted: \(lost)", sourceLocation: sourceLocation)
  }

  /// xor with `line` added after its seed.
  func xor(with line: String) throws -> String {
    let text = try String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8)
    return text.replacingOccurrences(of: #"(?m)^seed: .*$"#, with: "$0\n\(line)", options: .regularExpression)
  }

  @Test("a lesson's output: key cannot point at the user's files", arguments: [
    "output: \"\"", "output: .", "output: ..", "output: ../../proj", "output: ../..", "output: ../Output", "output: ../Output/",
    "output: ../Worksheets", "output: ../docs", "output: /tmp", "output: ../Output/..", "output: ../Output/../docs",
    "output: ../Output/link", "output: ../Output/link/deeper",
  ])
  func outputKey(_ line: String) throws {
    let (base, root) = try project(extra: ["bad": try xor(with: line)])
    defer { try? FileManager.default.removeItem(atPath: base) }
    // A link inside Output/ that leads out of it.
    try FileManager.default.createSymbolicLink(atPath: root + "/Output/link", withDestinationPath: "../docs")
    let before = snapshot(base)
    for command in [["build", "bad"], ["train", "bad"], ["export", "bad"]] {
      let (status, _, err) = try runSheetnet(command, in: root)
      #expect(status == 1, "\(line) \(command[0]): status \(status)")
      let lines = err.split(separator: "\n")
      #expect(lines.count == 1 && lines[0].hasPrefix("sheetnet: error: ") && err.contains("output"), "\(line) \(command[0]): \(err)")
      #expect(snapshot(base) == before, "\(line) \(command[0]): files changed")
    }
  }

  @Test("a lesson's output: inside Output/ is accepted")
  func outputInsideOutput() throws {
    let (base, root) = try project(extra: ["elsewhere": try xor(with: "output: ../Output/shared/xor-copy")])
    defer { try? FileManager.default.removeItem(atPath: base) }
    let before = snapshot(base)
    let (status, _, err) = try runSheetnet(["train", "elsewhere"], in: root)
    #expect(status == 0, "\(err)")
    #expect(FileManager.default.fileExists(atPath: root + "/Output/shared/xor-copy/model.json"))
    kept(before, snapshot(base), "train")
  }

  @Test("export into a folder of the user's adds its own files, removes only its own stale ones, and never overwrites the user's")
  func exportIntoAUserFolder() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    let before = snapshot(base)
    #expect(try runSheetnet(["export", "xor", "--output", "docs"], in: root).0 == 0)
    kept(before, snapshot(base), "export")
    #expect(FileManager.default.fileExists(atPath: root + "/docs/step.xlsx") && FileManager.default.fileExists(atPath: root + "/docs/00-summary.csv"))
    // A CSV the user edited is theirs now: a later export that no longer writes CSV keeps it,
    // and removes the CSV files that are still as SheetNet wrote them.
    try "edited by hand\n".write(toFile: root + "/docs/01-input.csv", atomically: false, encoding: .utf8)
    #expect(try runSheetnet(["export", "xor", "--output", "docs", "--format", "xlsx"], in: root).0 == 0)
    let names = try FileManager.default.contentsOfDirectory(atPath: root + "/docs").filter { !$0.hasPrefix(".sheetnet") }.sorted()
    #expect(names == [".draft.tmp-999999", "01-input.csv", "notes.txt", "step.xlsx"], "\(names)")
    kept(before, snapshot(base), "export --format xlsx")
    // The current folder as --output: the project's files all stay.
    let project = snapshot(root)
    #expect(try runSheetnet(["export", "xor", "--output", root], in: root).0 == 0)
    kept(project, snapshot(root), "export --output $PWD")
  }

  @Test("a manifest someone else wrote or damaged gives SheetNet no file it did not write")
  func hostileManifests() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    let fake = FolderManifest.fingerprint(Array("not these bytes".utf8))
    let manifests = [
      // Claims the user's files (with the wrong bytes), names outside the folder and a control character.
      "sheetnet-manifest 1\ncreated yes\nfile \(fake) notes.txt\nfile \(fake) ../keep.txt\nfile \(fake) /etc/passwd\nfile \(fake) a\u{1B}b\nfolder ..\nfolder ../..\n",
      "sheetnet-manifest 1\ncreated maybe\nfile \(fake) notes.txt\n",  // damaged: not a manifest
      String(repeating: "x", count: 5 << 20),  // too large to be SheetNet's
    ]
    for manifest in manifests {
      try manifest.write(toFile: root + "/docs/.sheetnet-manifest", atomically: false, encoding: .utf8)
      let before = snapshot(base).filter { !$0.key.hasSuffix(".sheetnet-manifest") && !$0.key.hasPrefix("proj/docs/") || $0.key.hasSuffix("notes.txt") || $0.key.hasSuffix("-999999") }
      #expect(try runSheetnet(["export", "xor", "--output", "docs", "--format", "csv"], in: root).0 == 0)
      #expect(try runSheetnet(["export", "xor", "--output", "docs", "--format", "xlsx"], in: root).0 == 0)
      kept(before, snapshot(base), "export over a hostile manifest")
      #expect(FileManager.default.fileExists(atPath: root + "/docs/step.xlsx"))
      for name in try FileManager.default.contentsOfDirectory(atPath: root + "/docs") where name.hasSuffix(".csv") || name == "step.xlsx" {
        try FileManager.default.removeItem(atPath: root + "/docs/" + name)
      }
    }
  }

  @Test("a file of SheetNet's name that SheetNet did not write is never replaced")
  func sameNameNotOurs() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    try "the user's workbook\n".write(toFile: root + "/docs/step.xlsx", atomically: false, encoding: .utf8)
    try "the user's model\n".write(toFile: root + "/docs/model.json", atomically: false, encoding: .utf8)
    let before = snapshot(base)
    for command in [["export", "xor", "--output", "docs"], ["train", "xor", "--output", "docs"]] {
      let (status, _, err) = try runSheetnet(command, in: root)
      #expect(status == 1 && err.hasPrefix("sheetnet: error: ") && err.split(separator: "\n").count == 1 && err.contains("did not write"), "\(command[0]): \(err)")
      #expect(snapshot(base) == before, "\(command[0]): files changed")
    }
  }

  @Test("build refuses a lesson folder it did not make, and keeps the user's files in the ones it did")
  func buildFolders() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    try FileManager.default.createDirectory(atPath: root + "/Output/xor", withIntermediateDirectories: true)
    try "mine\n".write(toFile: root + "/Output/xor/a.txt", atomically: false, encoding: .utf8)
    var before = snapshot(base)
    var (status, _, err) = try runSheetnet(["build", "xor"], in: root)
    #expect(status == 1 && err.contains("did not write") && err.split(separator: "\n").count == 1, "\(err)")
    #expect(snapshot(base) == before)
    try FileManager.default.removeItem(atPath: root + "/Output/xor")
    (status, _, err) = try runSheetnet(["build", "xor"], in: root)
    #expect(status == 0, "\(err)")
    // The user's notes and look-alike temporaries inside SheetNet's folders survive a rebuild.
    for path in ["Output/xor/notes.txt", "Output/xor/.draft.tmp-999999", "Output/xor/figures/.x.old-999998", "Output/xor/worksheets/mine.csv"] {
      try "the user's\n".write(toFile: root + "/" + path, atomically: false, encoding: .utf8)
    }
    before = snapshot(base).filter { !$0.key.hasPrefix("proj/Output/xor/") || $0.key.contains("notes") || $0.key.contains("mine") || $0.key.contains("-99999") }
    (status, _, err) = try runSheetnet(["build", "xor", "--force"], in: root)
    #expect(status == 0, "\(err)")
    kept(before, snapshot(base), "build --force")
    #expect(snapshot(root + "/Output/xor").keys.filter { OwnedName.isTransient(($0 as NSString).lastPathComponent) }.isEmpty)
  }

  @Test("a rebuild removes the figures it no longer makes, except one the user changed")
  func staleFigures() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    #expect(try runSheetnet(["build", "xor"], in: root).0 == 0)
    let figures = root + "/Output/xor/figures"
    let first = try FileManager.default.contentsOfDirectory(atPath: figures).filter { $0.hasSuffix(".png") }
    #expect(first.contains("graph.png") && first.contains("training.png") && first.count > 3)
    try Data("drawn over by hand".utf8).write(to: URL(fileURLWithPath: figures + "/graph.png"))
    let lesson = try String(contentsOfFile: root + "/Worksheets/xor.yaml", encoding: .utf8)
    try (lesson + "\nbuild: {figures: [training], exercise: none}\n").write(toFile: root + "/Worksheets/xor.yaml", atomically: false, encoding: .utf8)
    let (status, _, err) = try runSheetnet(["build", "xor"], in: root)
    #expect(status == 0, "\(err)")
    let now = try FileManager.default.contentsOfDirectory(atPath: figures).filter { !$0.hasPrefix(".") }.sorted()
    #expect(now == ["graph.png", "training.png"], "\(now)")
    #expect(!FileManager.default.fileExists(atPath: root + "/Output/xor/exercise"), "the exercise folder SheetNet made is removed once empty")
  }

  @Test("a subfolder that is a link is refused, and what it leads to is untouched")
  func linkedSubfolder() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    #expect(try runSheetnet(["build", "xor"], in: root).0 == 0)
    try FileManager.default.removeItem(atPath: root + "/Output/xor/figures")
    try FileManager.default.createSymbolicLink(atPath: root + "/Output/xor/figures", withDestinationPath: "../../docs")
    // The build's index page in Output/ is its own to rewrite; everything else stays.
    let before = snapshot(base).filter { !["proj/Output/index.html", "proj/Output/.sheetnet-manifest"].contains($0.key) }
    let (status, _, err) = try runSheetnet(["build", "xor", "--force"], in: root)
    #expect(status == 1 && err.contains("figures") && err.split(separator: "\n").count == 1, "\(err)")
    kept(before, snapshot(base), "build through a link")
    #expect(snapshot(root + "/docs").keys.sorted() == [".draft.tmp-999999", "notes.txt"])
  }

  @Test("figure --output and figure --seed leave the lesson's folder alone; a figure that fails saves no model")
  func figureOutput() throws {
    let (base, root) = try project()
    defer { try? FileManager.default.removeItem(atPath: base) }
    #expect(try runSheetnet(["build", "xor"], in: root).0 == 0)
    let lessonFolder = snapshot(root + "/Output/xor")
    var (status, _, err) = try runSheetnet(["figure", "training", "xor", "--output", "slides", "--retrain"], in: root)
    #expect(status == 0, "\(err)")
    #expect(snapshot(root + "/Output/xor") == lessonFolder, "figure --output changed Output/xor")
    #expect(snapshot(root + "/slides").keys.sorted() == [".sheetnet-manifest", "training.png"], "the trained model is saved nowhere")
    (status, _, err) = try runSheetnet(["figure", "training", "xor", "--seed", "2"], in: root)
    #expect(status == 0, "\(err)")
    #expect(snapshot(root + "/Output/xor").filter { !$0.key.hasPrefix("figures/") } == lessonFolder.filter { !$0.key.hasPrefix("figures/") },
            "figure --seed 2 replaced the lesson's model")
    // A command that fails after training (its output is a file) leaves no model anywhere.
    try FileManager.default.removeItem(atPath: root + "/Output/xor")
    try "a file\n".write(toFile: root + "/blocker", atomically: false, encoding: .utf8)
    (status, _, err) = try runSheetnet(["figure", "training", "xor", "--output", "blocker"], in: root)
    #expect(status == 1 && err.split(separator: "\n").count == 1, "\(err)")
    #expect(!FileManager.default.fileExists(atPath: root + "/Output/xor"))
  }

  @Test("a layer name is never a path: nothing is written outside the project")
  func layerNameIsNotAPath() throws {
    let text = try xor(with: "").replacingOccurrences(of: "{type: dense, units: 2", with: "{type: dense, name: ../../../../outside/pwned, units: 2")
    #expect(text.contains("pwned"))
    let (base, root) = try project(extra: ["bad": text])
    defer { try? FileManager.default.removeItem(atPath: base) }
    let before = snapshot(base)
    for command in [["build", "bad"], ["figure", "gradients", "bad"], ["figure", "graph", "bad"], ["export", "bad"]] {
      let (status, _, err) = try runSheetnet(command, in: root)
      #expect(status == 1 && err.split(separator: "\n").count == 1 && err.contains("name"), "\(command): \(err)")
      #expect(snapshot(base) == before, "\(command): files changed")
    }
  }
}
