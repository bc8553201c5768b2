import Foundation
import Testing
@testable import SheetNet
@testable import SheetNetTrace

/// The memory and time a command is allowed (`Limits`): a traced step's size, counted from the
/// network's shapes before it runs, bounds what the traced step really holds; the shipped lessons
/// fit both budgets; the time limit refuses before training and `--no-time-limit` lifts it, for
/// every command that trains.
struct BudgetTests {
  /// Lessons that exercise every kind of trace entry: each layer, each optimizer's state, weight
  /// decay, each loss.
  static let synthetic: [(name: String, yaml: String)] = [
    ("batchnorm-dropout-adam.yaml", """
      seed: 3
      data: {dataset: digits, preprocess: {divide: 16}, split: {test: 0.2}}
      network: [{type: dense, units: 24}, {type: batch_norm}, relu, {type: dropout, rate: 0.2}, {type: dense, units: 10}, softmax]
      loss: cross_entropy
      optimizer: {type: adam, learning_rate: 0.01, weight_decay: 0.001}
      train: {epochs: 2, batch_size: 16}
      """),
    ("conv-pools-nesterov.yaml", """
      seed: 4
      data: {dataset: digits, shape: [1, 8, 8], preprocess: {divide: 16}, split: {test: 0.2}}
      network: [{type: conv2d, filters: 3, kernel: 3, padding: same}, {type: batch_norm}, leaky_relu, {type: avg_pool2d, size: 2},
                {type: conv2d, filters: 4, kernel: 2, stride: 2, use_bias: false}, tanh, {type: max_pool2d, size: 2}, flatten, {type: dense, units: 10}]
      loss: cross_entropy
      optimizer: {type: sgd, learning_rate: 0.05, momentum: 0.9, nesterov: true}
      train: {epochs: 2, batch_size: 8}
      """),
    ("sigmoid-bce.yaml", """
      data: {dataset: moons, count: 64}
      network: [{type: dense, units: 5}, sigmoid, {type: dense, units: 1}, sigmoid]
      loss: binary_cross_entropy
      optimizer: {type: sgd, learning_rate: 0.5, weight_decay: 0.01}
      train: {epochs: 2, batch_size: 64}
      """),
    ("mse-targets.yaml", """
      data: {dataset: inline, x: [[0, 1, 2], [1, 2, 3], [2, 3, 5], [3, 5, 8]], y: [[1, 0], [0, 1], [1, 1], [0, 0]]}
      network: [{type: dense, units: 3}, relu, {type: dense, units: 2}]
      loss: mse
      train: {epochs: 2, batch_size: 3}
      """),
  ]

  /// Every lesson in Worksheets/ with data that the engine alone can load (letters needs the
  /// command's glyph renderer), and the synthetic ones.
  static func lessons() throws -> [Lesson] {
    let shipped = try FileManager.default.contentsOfDirectory(atPath: packagePath("Worksheets")).filter { $0.hasSuffix(".yaml") }.sorted()
    return try shipped.map { try Lesson.load(packagePath("Worksheets/\($0)")) }.filter { $0.data.dataset != "none" && $0.data.dataset != Letters.kind }
      + synthetic.map { try Lesson.parse($0.yaml, path: $0.name) }
  }

  /// The numbers a traced step's entries hold, and those its JSON's equations write out.
  func held(_ traced: TracedStep) -> (values: Int, arithmetic: Int) {
    var values = 0, arithmetic = 0
    for e in traced.tracer.entries {
      values += e.value.count
      if let explain = e.explain, e.value.count <= TraceJSON.arithmeticLimit {
        arithmetic += (0..<e.value.count).reduce(0) { $0 + explain($1).args.count }
      }
    }
    return (values, arithmetic)
  }

  @Test func theTraceSizeBoundsEveryTracedStep() throws {
    var checked = 0
    for lesson in try Self.lessons() {
      for (step, sample, batch) in [(1, nil, nil), (1, 1, nil), (2, nil, 3)] as [(Int, Int?, Int?)] {
        let run = try LessonRun(lesson)
        let perEpoch = (run.split.train.count + run.trainer.batchSize - 1) / run.trainer.batchSize
        guard step <= run.trainer.epochs * perEpoch else { continue }
        let samples = run.tracedBatch(step: step, sample: sample, prefix: batch)
        let size = Limits.traceSize(run.model, optimizer: run.optimizer, batch: samples)
        let traced = try TracedStep(run, .init(step: step, sample: sample, batch: batch))
        #expect(traced.samples.count == samples, "\(lesson.path) step \(step): \(traced.samples.count) samples, counted \(samples)")
        let (values, arithmetic) = held(traced)
        let what = "\(lesson.path) step \(step) on \(samples) samples"
        #expect(size.atLeast <= values && values <= size.values, "\(what): \(values) numbers, counted \(size.atLeast)…\(size.values)")
        #expect(arithmetic <= size.arithmetic, "\(what): \(arithmetic) numbers in equations, counted at most \(size.arithmetic)")
        // Honest, and not so loose that it refuses what fits: within 3× of the numbers held.
        #expect(size.values <= 3 * values + 64, "\(what): counted \(size.values) for \(values)")
        checked += 1
      }
    }
    #expect(checked >= 30)
  }

  @Test func aStepsSamplesAreTheBatchItRunsOn() throws {
    // 1,438 training samples in batches of 32: 45 steps an epoch, the 45th holds 30.
    let run = try LessonRun(try Lesson.load(packagePath("Worksheets/digits-mlp.yaml")))
    #expect(run.tracedBatch(step: 1, sample: nil, prefix: nil) == 32)
    #expect(run.tracedBatch(step: 45, sample: nil, prefix: nil) == 30)
    #expect(run.tracedBatch(step: 46, sample: nil, prefix: 5) == 5)
    #expect(run.tracedBatch(step: 3, sample: 7, prefix: nil) == 1)
  }

  @Test func theShippedLessonsFitBothBudgets() throws {
    for lesson in try Self.lessons() {
      let run = try LessonRun(lesson)
      #expect(run.trainingSeconds() < 60, "\(lesson.path): \(run.trainingSeconds()) s estimated")
      #expect(run.memoryBytes + run.savedModelBytes < 1 << 30, "\(lesson.path): \(run.memoryBytes) bytes")
    }
  }

  @Test func longTrainingIsEstimatedWithoutRunningIt() throws {
    // Dense 1000 × 1000 on 200 points for 100,000 epochs: about a million multiply-adds a sample,
    // 2·10¹⁰ samples' worth: hours. Nothing is trained to know it.
    let lesson = try Lesson.parse("""
      data: {dataset: xor, count: 200}
      network: [{type: dense, units: 1000}, relu, {type: dense, units: 1000}, relu, {type: dense, units: 2}, softmax]
      loss: cross_entropy
      train: {epochs: 100000}
      """, path: "long.yaml")
    let run = try LessonRun(lesson)
    #expect(run.trainingSeconds() > Limits.trainingTime)
    #expect(run.trainingSeconds(epochs: 1) < 1)
    #expect(run.trainingSeconds(steps: 7) == Limits.trainingSeconds(run.model, trainedSamples: 7 * 32, evaluatedSamples: 0, batch: 32))
    #expect(run.trainer.stepsTaken == 0)
    #expect(Limits.duration(3 * 3600) == "3.0 hours" && Limits.duration(90) == "90 seconds" && Limits.duration(40 * 86400) == "40 days")
  }

  @Test func anEstimateAboveTheLimitIsOneLine() {
    #expect(throws: SheetNetError.self) { try Limits.checkMemory(5 << 30, "x.yaml: tracing", "many numbers", "trace fewer") }
    do { try Limits.checkMemory(5 << 30, "x.yaml: tracing", "many numbers", "trace fewer") } catch {
      #expect(error.description == "x.yaml: tracing would need about 5.0 GB (many numbers), more than the 4 GB SheetNet allows; trace fewer")
    }
    #expect((try? Limits.checkMemory(Limits.memoryBytes, "x", "y", "z")) != nil)
    #expect(Limits.saturated(Int.max, plus: 1) == Int.max / 4 && Limits.saturated(Int.max / 2, times: 3) == Int.max / 4)
  }

  /// A scratch project holding the XOR lesson.
  func project() throws -> String {
    let root = NSTemporaryDirectory() + "sheetnet-budget-\(getpid())-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    try FileManager.default.copyItem(atPath: packagePath("Worksheets/xor.yaml"), toPath: root + "/Worksheets/xor.yaml")
    return root
  }

  @Test func theTimeLimitRefusesBeforeTrainingAndNoTimeLimitLiftsIt() throws {
    // SHEETNET_TIME_LIMIT=0 stands for a lesson an hour long: every command that trains refuses
    // it with one line before training (nothing is written), and trains with --no-time-limit.
    let root = try project()
    defer { try? FileManager.default.removeItem(atPath: root) }
    let zero = ["SHEETNET_TIME_LIMIT": "0"]
    let commands: [[String]] = [
      ["train", "xor"], ["figure", "training", "xor"], ["figure", "filmstrip", "xor", "--epochs", "0,5"], ["trace", "xor", "--step", "2"],
      ["export", "xor", "--format", "csv"], ["build", "xor"],
    ]
    for command in commands {
      let (status, _, err) = try runSheetnet(command, in: root, environment: zero)
      let lines = err.split(separator: "\n")
      #expect(status == 1 && lines.count == 1 && lines[0].hasPrefix("sheetnet: error: ") && err.contains("--no-time-limit") && err.contains("would take about"),
              "\(command): \(status) \(err)")
      #expect(!FileManager.default.fileExists(atPath: root + "/Output/xor"), "\(command) wrote files")
    }
    for command in commands {
      let (status, _, err) = try runSheetnet(command + ["--no-time-limit"], in: root, environment: zero)
      #expect(status == 0 && err.isEmpty, "\(command) --no-time-limit: \(status) \(err)")
    }
    #expect(FileManager.default.fileExists(atPath: root + "/Output/xor/build.json"), "build --no-time-limit did not build")
  }
}
