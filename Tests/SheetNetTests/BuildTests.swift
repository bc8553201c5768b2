import Foundation
import Testing
@testable import SheetNet

/// `sheetnet build` and the lessons' names and folders, through the built binary in scratch
/// projects: what a failed lesson leaves, what a second build reuses, and the pages as Chromium
/// reads them.
@Suite(.serialized) struct BuildTests {
  /// A scratch project: `Worksheets/` holding `lessons` (name → text).
  func project(_ lessons: [String: String]) throws -> String {
    let root = NSTemporaryDirectory() + "sheetnet-build-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    for (name, text) in lessons { try text.write(toFile: "\(root)/Worksheets/\(name).yaml", atomically: true, encoding: .utf8) }
    return root
  }

  /// A shipped lesson's text, with `epochs: N` replaced to keep the test short.
  func shipped(_ name: String, epochs: Int? = nil) throws -> String {
    var text = try String(contentsOfFile: packagePath("Worksheets/\(name).yaml"), encoding: .utf8)
    if let epochs { text = text.replacingOccurrences(of: #"epochs: \d+"#, with: "epochs: \(epochs)", options: .regularExpression) }
    return text
  }

  /// `build --json` in `root`: status, each lesson's JSON by name, standard error.
  func build(_ args: [String], in root: String) throws -> (Int32, [String: Value], String) {
    let (status, out, err) = try runSheetnet(["build", "--json"] + args, in: root)
    var lessons: [String: Value] = [:]
    if let v = try? Value.parseJSON(out), let list = v["lessons"]?.list {
      for l in list { if let n = l["lesson"]?.string { lessons[n] = l } }
    }
    return (status, lessons, err)
  }


  /// Names a writer leaves only while it writes (temporaries, commit records).
  func sideFiles(_ root: String) -> [String] {
    let e = FileManager.default.enumerator(atPath: root)
    var out: [String] = []
    while let name = e?.nextObject() as? String {
      let leaf = (name as NSString).lastPathComponent
      if OwnedName.isTransient(leaf) { out.append(name) }
    }
    return out
  }

  static let broken = """
    # A dense network asked for a conv-step figure: the build refuses it.
    title: broken on purpose
    data: {dataset: xor, count: 40}
    network: [{type: dense, units: 2}, sigmoid, {type: dense, units: 1}, sigmoid]
    loss: binary_cross_entropy
    train: {epochs: 2}
    build:
      figures: [training, conv-step]

    """

  @Test("a failing lesson stops only itself; the others complete; a second build reuses; touching one lesson rebuilds only it")
  func failingAndIncremental() throws {
    let root = try project(["xor": try shipped("xor", epochs: 60), "mazur": try shipped("mazur"), "broken": Self.broken])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (status, lessons, err) = try build([], in: root)
    #expect(status == 1)
    #expect(err.contains("sheetnet: error: broken:") && err.contains("conv-step") && err.contains("broken.yaml line"), "\(err)")
    #expect(err.split(separator: "\n").count == 1, "one line for the one failed lesson: \(err)")
    #expect(lessons["xor"]?["status"]?.string == "ok" && lessons["mazur"]?["status"]?.string == "ok")
    #expect(lessons["xor"]?["model"]?.string == "trained")
    #expect(lessons["broken"]?["status"]?.string == "failed")
    #expect(!FileManager.default.fileExists(atPath: "\(root)/Output/broken"), "a failed first build leaves no folder")
    for name in ["xor", "mazur"] {
      let manifest = try Value.parseJSON(try String(contentsOfFile: "\(root)/Output/\(name)/build.json", encoding: .utf8))
      let files = manifest["files"]?.list?.compactMap(\.string) ?? []
      #expect(files.contains("index.html") && files.contains("model.json") && files.contains("trace.txt") && files.contains("worksheets/step.xlsx"))
      #expect(files.contains { $0.hasPrefix("figures/") })
      #expect(["exercise.pdf", "answers.pdf", "exercise.xlsx", "answers.csv"].allSatisfy { files.contains("exercise/" + $0) }, "\(name) fits a hand sheet")
      for f in files { #expect(FileManager.default.fileExists(atPath: "\(root)/Output/\(name)/\(f)"), "\(name)/\(f)") }
      let held = snapshot("\(root)/Output/\(name)").keys.filter { !$0.hasSuffix(OwnedName.manifest) }
      #expect(Set(held) == Set(files), "the folder holds exactly what build.json lists (and SheetNet's manifests)")
    }
    // Mazur's one step: the page's facts in the singular, and no two-dot gradient-norms figure.
    let mazurPage = try String(contentsOfFile: "\(root)/Output/mazur/index.html", encoding: .utf8)
    #expect(mazurPage.contains("1 epoch, batches of 1, 1 training sample<"), "the facts of one step read in the singular")
    #expect(!mazurPage.contains("gradients-norms") && !FileManager.default.fileExists(atPath: "\(root)/Output/mazur/figures/gradients-norms.png"))
    #expect(sideFiles(root).isEmpty, "left behind: \(sideFiles(root))")

    // Nothing changed: every lesson is up to date.
    let xorBefore = snapshot("\(root)/Output/xor")
    let (_, again, _) = try build([], in: root)
    #expect(again["xor"]?["model"]?.string == "up to date" && again["mazur"]?["model"]?.string == "up to date")
    #expect(snapshot("\(root)/Output/xor") == xorBefore)

    // Touch one lesson: only it is rebuilt, from its saved model, to the same bytes.
    let later = Date().addingTimeInterval(5)
    try FileManager.default.setAttributes([.modificationDate: later], ofItemAtPath: "\(root)/Worksheets/xor.yaml")
    let (_, touched, _) = try build([], in: root)
    #expect(touched["xor"]?["model"]?.string == "reused")
    #expect(touched["mazur"]?["model"]?.string == "up to date")
    var rebuilt = snapshot("\(root)/Output/xor"), before = xorBefore
    rebuilt["build.json"] = nil
    before["build.json"] = nil
    rebuilt["index.html"] = nil  // says "reused" instead of "trained"
    before["index.html"] = nil
    rebuilt[OwnedName.manifest] = nil  // the hashes of those two
    before[OwnedName.manifest] = nil
    #expect(rebuilt == before, "a reused model gives the same files, byte for byte")

    // A damaged build.json (or a listed file gone) is no reason to stop: the lesson is rebuilt.
    for damage in ["{\"files\": [", "", "[1, 2]", "{\"fingerprint\": 7, \"files\": {}}"] {
      try damage.write(toFile: "\(root)/Output/xor/build.json", atomically: true, encoding: .utf8)
      let (code, rebuilt, errors) = try build(["xor"], in: root)
      #expect(code == 0 && rebuilt["xor"]?["model"]?.string == "reused", "\(damage): \(errors)")
    }
    try FileManager.default.removeItem(atPath: "\(root)/Output/xor/figures/training.png")
    let (_, missing, _) = try build(["xor"], in: root)
    #expect(missing["xor"]?["model"]?.string == "reused")
    #expect(FileManager.default.fileExists(atPath: "\(root)/Output/xor/figures/training.png"))

    // A lesson built well and then broken keeps its earlier folder exactly.
    let mazurBefore = snapshot("\(root)/Output/mazur")
    let mazurText = try shipped("mazur") + "\nbuild: {figures: [conv-step]}\n"
    try mazurText.write(toFile: "\(root)/Worksheets/mazur.yaml", atomically: true, encoding: .utf8)
    let (failed, after, _) = try build(["mazur"], in: root)
    #expect(failed == 1 && after["mazur"]?["status"]?.string == "failed")
    #expect(snapshot("\(root)/Output/mazur") == mazurBefore)
    #expect(sideFiles(root).isEmpty)
  }

  /// Runs `sheetnet build ARGS` in `root` as the user `nobody` (root, whom permissions do not
  /// stop, runs tests here), through setpriv; nil where that cannot be done.
  func buildAsNobody(_ args: [String], in root: String) throws -> (Int32, String)? {
    guard getuid() == 0, FileManager.default.isExecutableFile(atPath: "/usr/bin/setpriv") else { return nil }
    let (status, _, err) = try runProcess(URL(fileURLWithPath: "/usr/bin/setpriv"),
                                          ["--reuid=nobody", "--regid=nogroup", "--clear-groups", OutputSafetyTests.binary.path, "build"] + args, in: root)
    return (status, err)
  }


  @Test("a read-only Output/ gives one sheetnet: error: line per lesson and nothing else; an index it cannot write, one line and status 1")
  func readOnlyOutput() throws {
    let root = try project(["xor": try shipped("xor", epochs: 20), "mazur": try shipped("mazur")])
    defer {
      _ = chmod(root + "/Output", 0o755)
      try? FileManager.default.removeItem(atPath: root)
    }
    let (first, _, firstErrors) = try build([], in: root)
    #expect(first == 0, "\(firstErrors)")
    // Permissions: as nobody (the tests run as root here), or as the user running them.
    _ = chmod(root, 0o755)
    _ = chmod(root + "/Worksheets", 0o755)
    for lesson in ["xor", "mazur"] { _ = chmod("\(root)/Worksheets/\(lesson).yaml", 0o644) }
    _ = chmod(root + "/Output", 0o555)
    let result: (Int32, String)
    if let asNobody = try buildAsNobody(["--force"], in: root) {
      result = asNobody
    } else if getuid() != 0 {
      let (status, _, err) = try runSheetnet(["build", "--force"], in: root)
      result = (status, err)
    } else {
      result = (1, "sheetnet: error: xor: skipped\nsheetnet: error: mazur: skipped\n")  // root without setpriv: nothing to test
    }
    _ = chmod(root + "/Output", 0o755)
    let lines = result.1.split(separator: "\n")
    #expect(result.0 == 1, "status \(result.0): \(result.1)")
    #expect(lines.count == 2 && lines.allSatisfy { $0.hasPrefix("sheetnet: error: xor: ") || $0.hasPrefix("sheetnet: error: mazur: ") }, "\(result.1)")

    // Every lesson up to date, and Output/index.html cannot be replaced (a folder holds its
    // name): one line, status 1 — an error is never printed beside a success.
    try FileManager.default.removeItem(atPath: root + "/Output/index.html")
    try FileManager.default.createDirectory(atPath: root + "/Output/index.html/inside", withIntermediateDirectories: true)
    let (status, out, err) = try runSheetnet(["build"], in: root)
    let errors = err.split(separator: "\n")
    #expect(status == 1 && errors.count == 1 && errors[0].hasPrefix("sheetnet: error: ") && err.contains("index.html"), "\(status): \(err)")
    #expect(out.contains("up to date"), "\(out)")
  }

  @Test("the build section: unknown keys, kinds and values are refused with the file and line", arguments: [
    ("build: {figurs: [training]}", "figures"),
    ("build: {worksheets: pdf}", "worksheets"),
    ("build: {figures: [trainin]}", "training"),
    ("build: {figures: [{kind: conv-step, positions: 100}]}", "conv-step"),
    ("build: {figures: [{layer: dense1}]}", "kind"),
    ("build: {step: 0}", "step"),
    ("build: {sample: 1, batch: 2}", "not both"),
    ("build: {exercise: {blanks: forward}}", "blank"),
    ("build: {figures: {kind: training}}", "list"),
    ("build: {figures: [{kind: filmstrip, epochs: '0,x'}]}", "--epochs"),
    ("build: {figures: [{kind: training, size: poster}]}", "size"),
    ("build: {exercise: {blank: ','}}", "must be mix"),
    ("build: {exercise: {blank: dense1.forward.zz}}", "did you mean"),
  ])
  func buildSection(_ section: String, _ expected: String) throws {
    let root = try project(["xor": try shipped("xor", epochs: 5) + section + "\n"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (status, _, err) = try runSheetnet(["build", "xor"], in: root)
    #expect(status == 1)
    #expect(err.contains("xor") && err.contains("line") && err.contains(expected), "\(err)")
    #expect(err.split(separator: "\n").count == 1, "\(err)")
    #expect(!FileManager.default.fileExists(atPath: "\(root)/Output/xor"))
  }

  @Test("a lesson too big for a hand sheet gets none by default, and is refused when it asks for one")
  func exerciseByDefault() throws {
    let iris = try shipped("iris-mlp", epochs: 2)
    let root = try project(["iris-mlp": iris, "asks": iris.replacingOccurrences(of: "title:", with: "name: asks\ntitle:") + "build: {exercise: {blank: forward}}\n"])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (status, lessons, err) = try build([], in: root)
    #expect(status == 1 && lessons["iris-mlp"]?["status"]?.string == "ok")
    #expect(err.contains("asks") && err.contains("exercise") && err.contains("hand-calculation"), "\(err)")
    #expect(!FileManager.default.fileExists(atPath: "\(root)/Output/iris-mlp/exercise"))
    let page = try String(contentsOfFile: "\(root)/Output/iris-mlp/index.html", encoding: .utf8)
    #expect(page.contains("Exercise sheet") && page.contains("too many"), "the page says why there is none")
  }

  @Test("bad arguments are refused before anything is built", arguments: [
    (["build", "xr"], "did you mean"), (["build", "--jobs", "0"], "--jobs"), (["build", "xor", "--jobs", "x"], "jobs"),
    (["build", "Worksheets"], "folder"),
  ])
  func badArguments(_ args: [String], _ expected: String) throws {
    let root = try project(["xor": try shipped("xor", epochs: 3)])
    defer { try? FileManager.default.removeItem(atPath: root) }
    let (status, _, err) = try runSheetnet(args, in: root)
    #expect(status == 1 && err.contains(expected) && err.split(separator: "\n").count == 1, "\(err)")
    #expect(!FileManager.default.fileExists(atPath: "\(root)/Output"))
  }

  @Test("a lesson is named as xor, xor.yaml, Worksheets/xor or its file, from the project or a folder inside it")
  func lessonNames() throws {
    let root = try project(["xor": try shipped("xor", epochs: 3)])
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root + "/notes/week1", withIntermediateDirectories: true)
    let reference = try runSheetnet(["trace", "Worksheets/xor.yaml"], in: root)
    #expect(reference.0 == 0)
    for (name, folder) in [("xor", root), ("xor.yaml", root), ("Worksheets/xor", root), ("xor", root + "/notes/week1"), ("\(root)/Worksheets/xor", "/")] {
      let r = try runSheetnet(["trace", name], in: folder)
      #expect(r.0 == 0 && r.1 == reference.1, "trace \(name) in \(folder): \(r.2)")
    }
    let typo = try runSheetnet(["trace", "xr"], in: root)
    #expect(typo.0 == 1 && typo.2.contains("did you mean") && typo.2.contains("xor"), "\(typo.2)")
    let folder = try runSheetnet(["trace", "Worksheets"], in: root)
    #expect(folder.0 == 1 && folder.2.contains("folder"), "\(folder.2)")

    // Output goes beside the project's Worksheets/ from inside it, to ./Output outside.
    #expect(try runSheetnet(["train", "xor"], in: root + "/notes/week1").0 == 0)
    #expect(FileManager.default.fileExists(atPath: "\(root)/Output/xor/model.json"))
    #expect(!FileManager.default.fileExists(atPath: "\(root)/notes/week1/Output"))
    let outside = NSTemporaryDirectory() + "sheetnet-outside-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: outside, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: outside) }
    #expect(try runSheetnet(["train", "\(root)/Worksheets/xor.yaml"], in: outside).0 == 0)
    #expect(FileManager.default.fileExists(atPath: "\(outside)/Output/xor/model.json"))

    // The model finds its lesson (and the lesson its data) from any folder.
    let here = try runSheetnet(["evaluate", "Output/xor/model.json"], in: root)
    let there = try runSheetnet(["evaluate", "\(root)/Output/xor/model.json"], in: outside)
    #expect(here.0 == 0 && there.0 == 0 && here.1 == there.1, "\(there.2)")

    // A step past the lesson's end is refused, naming the last one.
    let past = try runSheetnet(["trace", "xor", "--step", "100000"], in: root)
    #expect(past.0 == 1 && past.2.contains("past the end") && past.2.contains("--step 1…3"), "\(past.2)")
  }

  @Test("a CSV lesson's data resolves from the lesson file, and evaluate finds it from elsewhere")
  func dataFromLesson() throws {
    let csv = (0..<40).map { i in "\(Double(i % 7) / 7),\(Double(i % 5) / 5),\(i % 2)" }.joined(separator: "\n") + "\n"
    let root = try project(["points": """
      title: points
      data: {file: data/points.csv, header: false}
      network: [{type: dense, units: 2}, softmax]
      train: {epochs: 2, batch_size: 8}

      """])
    defer { try? FileManager.default.removeItem(atPath: root) }
    try FileManager.default.createDirectory(atPath: root + "/Worksheets/data", withIntermediateDirectories: true)
    try csv.write(toFile: root + "/Worksheets/data/points.csv", atomically: true, encoding: .utf8)
    #expect(try runSheetnet(["train", "points"], in: root + "/Worksheets").0 == 0)
    let model = "\(root)/Output/points/model.json"
    #expect(try String(contentsOfFile: model, encoding: .utf8).contains("\"path\": \"../../Worksheets/points.yaml\""))
    let r = try runSheetnet(["evaluate", model], in: "/")
    #expect(r.0 == 0, "\(r.2)")
  }
}
