import Foundation
import Testing
@testable import SheetNet
#if canImport(Glibc)
import Glibc
#endif

/// Output is all or nothing per command, and no failed, killed or concurrent command damages good
/// output: `train`, `trace` and `figure` write through `OutputBatch` (temporaries, fsync, renames
/// under the folder's lock), signals remove temporaries, and the next writer cleans up after a
/// killed one. The commands run as the built binary, as a user runs them.
@Suite(.serialized) struct OutputSafetyTests {
  // MARK: Running the binary

  /// The `sheetnet` built beside this test bundle (whatever the scratch path), else `.build/debug`.
  static let binary: URL = {
    let here = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sheetnet")
    if FileManager.default.isExecutableFile(atPath: here.path) { return here }
    return packageRoot.appendingPathComponent(".build/debug/sheetnet")
  }()

  /// Runs `process`, with SIGINT and SIGTERM unblocked for it: a child inherits the signal mask
  /// of the thread that starts it, and the test runner's worker threads block those signals.
  func launch(_ process: Process) throws {
    var signals = sigset_t(), previous = sigset_t()
    sigemptyset(&signals)
    sigaddset(&signals, SIGINT)
    sigaddset(&signals, SIGTERM)
    pthread_sigmask(SIG_UNBLOCK, &signals, &previous)
    defer { pthread_sigmask(SIG_SETMASK, &previous, nil) }
    try process.run()
  }

  /// Starts `sheetnet args` (output discarded) without waiting for it.
  func start(_ args: [String], in folder: String? = nil, pause: Double? = nil) throws -> Process {
    let process = Process()
    process.executableURL = Self.binary
    process.arguments = args
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    var environment = ProcessInfo.processInfo.environment
    environment["SHEETNET_TEST_COMMIT_PAUSE"] = pause.map { "\($0)" }
    process.environment = environment
    process.standardOutput = FileHandle.nullDevice
    process.standardError = FileHandle.nullDevice
    try launch(process)
    return process
  }

  /// Runs `sheetnet args` to the end: its status and standard error.
  @discardableResult
  func sheetnet(_ args: [String], in folder: String? = nil) throws -> (status: Int32, err: String) {
    let process = Process()
    process.executableURL = Self.binary
    process.arguments = args
    if let folder { process.currentDirectoryURL = URL(fileURLWithPath: folder) }
    let err = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    try process.run()
    let text = String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    return (process.terminationStatus, text)
  }

  // MARK: Folders and lessons

  /// A fresh folder under the system's temporary folder.
  func scratch(_ tag: String) -> String {
    let path = NSTemporaryDirectory() + "sheetnet-safety-\(tag)-\(getpid())-\(UUID().uuidString.prefix(8))"
    try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    return path
  }

  /// A wide XOR lesson (about 26,000 weights, a 1.2 MB model.json) written into `folder`: slow
  /// enough to write that a signal can land while it is being written.
  func wideLesson(in folder: String, name: String = "wide") throws -> String {
    let path = folder + "/\(name).yaml"
    try """
      seed: 1
      data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
      network:
        - {type: dense, units: 160}
        - tanh
        - {type: dense, units: 160}
        - tanh
        - {type: dense, units: 1}
        - sigmoid
      loss: binary_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}
      train: {epochs: 300, batch_size: 4}
      """.write(toFile: path, atomically: true, encoding: .utf8)
    return path
  }

  /// The visible files of `folder` and their bytes.
  func contents(_ folder: String, _ names: [String]? = nil) -> [String: Data] {
    let all = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { !$0.hasPrefix(".") }
    return Dictionary(uniqueKeysWithValues: (names ?? all).map { ($0, FileManager.default.contents(atPath: folder + "/" + $0) ?? Data()) })
  }

  /// The side files (temporaries, commit records, folders moved aside) left in `folder`.
  func sideFiles(_ folder: String) -> [String] {
    ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { SideFile(parsing: $0) != nil }.sorted()
  }

  /// The inode of `path` (a rename over it changes it), 0 when missing.
  func inode(_ path: String) -> UInt64 {
    var info = stat()
    return stat(path, &info) == 0 ? UInt64(info.st_ino) : 0
  }

  /// Polls `condition` every millisecond for up to `seconds`; true once it holds.
  func poll(_ seconds: Double, _ condition: () -> Bool) -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
      if condition() { return true }
      usleep(1_000)
    }
    return condition()
  }

  /// model.json and history.csv of `folder`.
  func trainPair(_ folder: String) -> [String: Data] { contents(folder, ["model.json", "history.csv"]) }

  // MARK: (a) a failing train leaves the earlier one's files

  @Test func aFailingTrainLeavesTheEarlierModelAndHistory() throws {
    let folder = scratch("fail")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = try wideLesson(in: folder)
    let out = folder + "/out"
    #expect(try sheetnet(["train", lesson, "--output", out]).status == 0)
    let before = trainPair(out)
    #expect(before["model.json"]!.count > 1_000_000 && !before["history.csv"]!.isEmpty)

    // Training that blows up (NaN) after the folder was made.
    let absurd = folder + "/absurd.yaml"
    try """
      data: {dataset: digits, preprocess: none, split: {test: 0.2}}
      network: [{type: dense, units: 32}, relu, {type: dense, units: 10}]
      optimizer: {type: sgd, learning_rate: 1.0e+300}
      train: {epochs: 2, batch_size: 32}
      """.write(toFile: absurd, atomically: true, encoding: .utf8)
    let nan = try sheetnet(["train", absurd, "--output", out])
    #expect(nan.status == 1 && nan.err.split(separator: "\n").count == 1, "\(nan.err)")
    #expect(trainPair(out) == before && sideFiles(out).isEmpty)

    // A bad option and a bad lesson.
    #expect(try sheetnet(["train", lesson, "--output", out, "--epochs", "-1"]).status == 1)
    #expect(try sheetnet(["train", folder + "/nowhere.yaml", "--output", out]).status == 1)
    #expect(trainPair(out) == before && sideFiles(out).isEmpty)

    // The second file cannot be written (history.csv is now a folder): model.json, which would
    // be renamed first, is not replaced either.
    try FileManager.default.removeItem(atPath: out + "/history.csv")
    try FileManager.default.createDirectory(atPath: out + "/history.csv/inside", withIntermediateDirectories: true)
    let blocked = try sheetnet(["train", lesson, "--output", out, "--seed", "2"])
    #expect(blocked.status == 1 && blocked.err.contains("history.csv is a folder"), "\(blocked.err)")
    #expect(contents(out, ["model.json"])["model.json"] == before["model.json"])
    #expect(sideFiles(out).isEmpty)
  }

  // MARK: (b) trace validates every option before touching a file

  @Test func traceWithABadUnitLeavesTheSavedTrace() throws {
    let folder = scratch("trace")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = packagePath("Worksheets/xor.yaml")
    // --save writes to Output/xor/ under the current folder.
    #expect(try sheetnet(["trace", lesson, "--save"], in: folder).status == 0)
    let out = folder + "/Output/xor"
    let before = contents(out)
    #expect(before.keys.sorted() == ["trace.json", "trace.txt"])
    for unit in ["nosuchlayer:1", "dense1:99", "dense1:1,1,1", "dense1:1@9"] {
      for extra in [[], ["--json"], ["--step", "2"]] {
        let r = try sheetnet(["trace", lesson, "--save", "--unit", unit] + extra, in: folder)
        #expect(r.status == 1 && r.err.hasPrefix("sheetnet: error: ") && r.err.split(separator: "\n").count == 1, "\(unit) \(extra): \(r.err)")
        #expect(contents(out) == before, "--unit \(unit) \(extra) changed the saved trace")
      }
    }
    #expect(sideFiles(out).isEmpty)
    // A good unit with --step 2 replaces both files together.
    #expect(try sheetnet(["trace", lesson, "--save", "--unit", "dense1:2", "--step", "2"], in: folder).status == 0)
    let after = contents(out)
    #expect(after["trace.txt"] != before["trace.txt"] && after["trace.json"] != before["trace.json"])
  }

  // MARK: (c) signals at random moments

  /// How a test picks the moment to signal a running command.
  enum Moment: CustomStringConvertible {
    /// After a random delay within the command's usual run time.
    case random
    /// As soon as a temporary file appears in the folder (the batch is being written).
    case writing
    /// Between the batch's first and second rename (widened by SHEETNET_TEST_COMMIT_PAUSE).
    case renaming

    var description: String { switch self { case .random: "random"; case .writing: "writing"; case .renaming: "renaming" } }
  }

  /// Starts `args` and signals it at `moment`. Returns whether the moment was seen (a temporary
  /// appeared, the first file was renamed; always for `random`), whether the signal was sent to
  /// a running command, and how the command ended.
  func interrupt(_ args: [String], folder: String, first: String, moment: Moment, signal: Int32, runTime: Double) throws
    -> (seen: Bool, sent: Bool, killed: Bool, status: Int32) {
    let before = inode(folder + "/" + first)
    let process = try start(args, pause: moment == .renaming ? 0.3 : nil)
    var seen = true
    switch moment {
    // Anywhere in the first 60 % of a reference run's time (start-up, training, encoding): a run
    // under a loaded machine's varying speed can end sooner than its reference, and a signal
    // after its end tests nothing.
    case .random: usleep(UInt32(Double.random(in: 0...(0.6 * runTime)) * 1e6))
    case .writing: seen = poll(10) { sideFiles(folder).contains { $0.contains(".tmp-") } || !process.isRunning } && process.isRunning
    case .renaming: seen = poll(10) { inode(folder + "/" + first) != before || !process.isRunning } && inode(folder + "/" + first) != before
    }
    let sent = process.isRunning && kill(process.processIdentifier, signal) == 0
    process.waitUntilExit()
    return (seen, sent, process.terminationReason == .uncaughtSignal, process.terminationStatus)
  }

  @Test func signalsAtRandomMomentsLeaveOneCompleteRun() throws {
    let folder = scratch("signals")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = try wideLesson(in: folder)
    let out = folder + "/out", figures = folder + "/figures"
    let xor = packagePath("Worksheets/xor.yaml")
    func train(_ seed: Int, _ to: String) -> [String] { ["train", lesson, "--seed", "\(seed)", "--output", to] }
    // --retrain: every run trains, so each takes as long as its reference (a run that found the
    // model another seed's run saved would finish before its signal).
    func figure(_ seed: Int, _ to: String) -> [String] {
      ["figure", "gradients", xor, "--format", "svg", "--seed", "\(seed)", "--retrain", "--output", to]
    }

    // What each seed writes, undisturbed, and how long it takes.
    var trainRefs: [Int: [String: Data]] = [:], figureRefs: [Int: [String: Data]] = [:]
    var trainTime = 0.0, figureTime = 0.0
    for seed in 1...3 {
      var clock = Date()
      #expect(try sheetnet(train(seed, folder + "/ref\(seed)")).status == 0)
      trainTime = max(trainTime, Date().timeIntervalSince(clock))
      trainRefs[seed] = trainPair(folder + "/ref\(seed)")
      clock = Date()
      #expect(try sheetnet(figure(seed, folder + "/figref\(seed)")).status == 0)
      figureTime = max(figureTime, Date().timeIntervalSince(clock))
      figureRefs[seed] = contents(folder + "/figref\(seed)")
    }
    #expect(Set(trainRefs.values.map { $0["history.csv"]! }).count == 3 && figureRefs[1]!.count == 3)
    #expect(try sheetnet(train(1, out)).status == 0)
    #expect(try sheetnet(figure(1, figures)).status == 0)

    var current = (train: 1, figure: 1), sent = 0, killed = 0, landed: [String: Int] = [:], seen: [String: Int] = [:]
    let moments: [Moment] = [.random, .writing, .renaming]
    for round in 0..<40 {
      let isFigure = round % 2 == 1  // 20 trains and 20 figures
      let signal = (round / 2) % 2 == 0 ? SIGTERM : SIGINT
      let moment = moments[round % 3]
      let target = isFigure ? figures : out
      let previous = isFigure ? current.figure : current.train, newSeed = previous % 3 + 1
      let r = try interrupt(isFigure ? figure(newSeed, figures) : train(newSeed, out), folder: target,
                            first: isFigure ? "gradients-saliency.svg" : "model.json", moment: moment, signal: signal,
                            runTime: isFigure ? figureTime : trainTime)
      sent += r.sent ? 1 : 0
      killed += r.killed ? 1 : 0
      // Killed by the signal, or finished normally: never a status of its own.
      #expect(r.killed ? r.status == signal : r.status == 0, "round \(round) (\(moment)): status \(r.status)")
      let now = isFigure ? contents(figures) : trainPair(out)
      let refs = isFigure ? figureRefs : trainRefs
      #expect(now == refs[previous]! || now == refs[newSeed]!, "round \(round) (\(moment), signal \(signal)): files from neither run")
      if moment == .renaming && r.seen {
        // Once the first file is renamed, a signal waits for the others: the new run's files, all of them.
        #expect(now == refs[newSeed]!, "round \(round): a signal between renames left old files")
      }
      #expect(sideFiles(target).isEmpty, "round \(round) (\(moment)): \(sideFiles(target)) left behind")
      if now == refs[newSeed]! { if isFigure { current.figure = newSeed } else { current.train = newSeed } }
      if !isFigure, let json = now["model.json"] {
        #expect((try? JSONSerialization.jsonObject(with: json)) != nil, "round \(round): model.json is not JSON")
      }
      if r.killed { landed[moment.description, default: 0] += 1 }
      if r.seen && r.sent { seen[moment.description, default: 0] += 1 }
    }
    #expect(sent >= 36, "only \(sent) signals reached a running command")
    #expect(killed >= 20, "only \(killed) signals ended a command")
    print("OutputSafetyTests: \(sent) signals sent, \(killed) ended a command (by moment: \(landed); sent at the moment seen: \(seen)); train \(String(format: "%.2f", trainTime)) s, figure \(String(format: "%.2f", figureTime)) s")
  }

  // MARK: Killed outright, and stale temporaries

  @Test func aCommitKilledMidRenameIsFinishedByTheNextWriter() throws {
    let folder = scratch("sigkill")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = try wideLesson(in: folder)
    let out = folder + "/out", ref = folder + "/ref"
    #expect(try sheetnet(["train", lesson, "--seed", "2", "--output", ref]).status == 0)
    #expect(try sheetnet(["train", lesson, "--output", out]).status == 0)
    let first = trainPair(out)
    // SIGKILL cannot be caught: kill the second run between its two renames.
    let before = inode(out + "/model.json")
    let process = try start(["train", lesson, "--seed", "2", "--output", out], pause: 2)
    #expect(poll(20) { inode(out + "/model.json") != before })
    kill(process.processIdentifier, SIGKILL)
    process.waitUntilExit()
    // Until then the pair is mixed: the new model.json, the old history.csv.
    #expect(trainPair(out)["model.json"] == trainPair(ref)["model.json"] && trainPair(out)["history.csv"] == first["history.csv"],
            "the kill was meant to land between the renames")
    #expect(sideFiles(out).count == 2, "\(sideFiles(out))")  // history.csv's temporary and the commit record
    // The next command writing into the folder (here trace) finishes the renames from the record.
    #expect(try sheetnet(["trace", lesson, "--output", out]).status == 0)
    #expect(trainPair(out) == trainPair(ref) && sideFiles(out).isEmpty)
  }

  @Test func staleTemporariesOfDeadProcessesAreCleanedOnTheNextWrite() throws {
    let folder = scratch("stale")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = packagePath("Worksheets/xor.yaml")
    #expect(try sheetnet(["train", lesson, "--output", folder]).status == 0)
    let good = trainPair(folder)
    // A process id that has ended: a child that ran and was waited for.
    let child = Process()
    child.executableURL = URL(fileURLWithPath: "/bin/true")
    try child.run()
    child.waitUntilExit()
    let dead = child.processIdentifier, alive = getpid()
    let garbage = Data("half a file".utf8)
    for name in [".model.json.tmp-\(dead)", ".history.csv.tmp-\(dead)", ".trace.txt.tmp-\(dead)", ".notes.txt.tmp-\(alive)"] {
      _ = FileManager.default.createFile(atPath: folder + "/" + name, contents: garbage)
    }
    // A commit record cut short (no closing empty line): its writer died before renaming.
    _ = FileManager.default.createFile(atPath: folder + "/.sheetnet.commit-\(dead)", contents: Data("model.json\n".utf8))
    try FileManager.default.createDirectory(atPath: folder + "/.worksheets.tmp-\(dead)/deep", withIntermediateDirectories: true)
    #expect(try sheetnet(["trace", lesson, "--output", folder]).status == 0)
    #expect(trainPair(folder) == good)
    #expect(sideFiles(folder) == [".notes.txt.tmp-\(alive)"], "a live process's temporary is kept, the dead ones' go")
  }

  // MARK: (d) two writers, one folder

  @Test func twoTrainsAtOnceLeaveOneRunsFiles() throws {
    let folder = scratch("race")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lesson = try wideLesson(in: folder)
    var refs: [[String: Data]] = []
    for seed in 1...2 {
      #expect(try sheetnet(["train", lesson, "--seed", "\(seed)", "--output", folder + "/ref\(seed)"]).status == 0)
      refs.append(trainPair(folder + "/ref\(seed)"))
    }
    let out = folder + "/out"
    for round in 0..<3 {
      // A pause between each run's two renames: without the lock the other run's renames would
      // fall inside it and mix the pair.
      let a = try start(["train", lesson, "--seed", "1", "--output", out], pause: 0.3)
      let b = try start(["train", lesson, "--seed", "2", "--output", out], pause: 0.3)
      a.waitUntilExit()
      b.waitUntilExit()
      #expect(a.terminationStatus == 0 && b.terminationStatus == 0)
      let pair = trainPair(out)
      #expect(pair == refs[0] || pair == refs[1], "round \(round): model.json and history.csv from different runs")
      #expect(sideFiles(out).isEmpty)
    }
  }

  @Test func aWriterWaitsForTheLockAndGivesUpWithOneLine() throws {
    let folder = scratch("lock")
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let lock = try OutputFolderLock(folder)
    // In this process: a batch with a short wait gives up with one line, and writes nothing.
    var batch = OutputBatch(folder: folder)
    try batch.add("new", as: "a.txt")
    batch.lockTimeout = 0.3
    let clock = Date()
    #expect(throws: SheetNetError.self) { try batch.commit() }
    #expect(Date().timeIntervalSince(clock) >= 0.3 && contents(folder).isEmpty)
    do { try batch.commit() } catch {
      #expect(error.description.hasPrefix("another sheetnet has been writing to \(folder)") && !error.description.contains("\n"))
    }
    // The command line waits while the lock is held, and finishes once it is released.
    let train = try start(["train", packagePath("Worksheets/xor.yaml"), "--output", folder])
    usleep(1_500_000)
    #expect(train.isRunning && contents(folder).isEmpty, "train did not wait for the lock")
    lock.unlock()
    train.waitUntilExit()
    #expect(train.terminationStatus == 0 && contents(folder).keys.sorted() == ["history.csv", "model.json"])
    try batch.commit()
    #expect(contents(folder)["a.txt"] == Data("new".utf8))
  }

  @Test func sideFileNamesReadBack() {
    let side = SideFile(.temporary, of: "model.json", pid: 4242)
    #expect(side.name == ".model.json.tmp-4242" && SideFile(parsing: side.name) == side)
    #expect(SideFile(parsing: ".sheetnet.commit-17") == SideFile(.commitRecord, of: "sheetnet", pid: 17))
    #expect(SideFile(parsing: ".worksheets.old-9")?.kind == .previous)
    for name in ["model.json", ".model.json", ".model.json.tmp-", ".model.json.tmp-x", "..tmp-3", ".a.bak-3", "model.json.tmp-3"] {
      #expect(SideFile(parsing: name) == nil, "\(name)")
    }
  }
}
