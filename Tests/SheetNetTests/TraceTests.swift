import Foundation
import Testing
@testable import SheetNet
@testable import SheetNetTrace

/// The traced step: Mazur's numbers in the text, the snapshot, bit-equality with an untraced
/// step, gradient checks, conv units, and where a NaN first appears.
struct TraceTests {
  func lesson(_ name: String) throws -> Lesson { try Lesson.load(packagePath("Worksheets/\(name).yaml")) }

  /// Compares `text` with Snapshots/`name`; SHEETNET_RECORD=1 rewrites the file and fails.
  func assertSnapshot(_ text: String, _ name: String) throws {
    let path = packagePath("Tests/SheetNetTests/Snapshots/\(name)")
    if ProcessInfo.processInfo.environment["SHEETNET_RECORD"] == "1" {
      try text.write(toFile: path, atomically: true, encoding: .utf8)
      Issue.record("recorded \(path); run again without SHEETNET_RECORD")
      return
    }
    let stored = try String(contentsOfFile: path, encoding: .utf8)
    #expect(text == stored, "trace differs from \(name); re-record with SHEETNET_RECORD=1 if the change is intended")
  }

  @Test func mazurTraceShowsHisNumbers() throws {
    let traced = try TracedStep(try LessonRun(try lesson("mazur")))
    let text = TraceText().render(traced)
    for expected in [
      "a₁ = σ(0.3775) = 0.593269992",  // out_h1
      "a₁ = σ(1.105905967) = 0.75136507",  // out_o1
      "E = ½·(0.01 − 0.75136507)² + ½·(0.99 − 0.772928465)² = 0.298371109",  // E_total
      "∂L/∂W₁,₁ = 0.138498562·0.593269992 = 0.082167041",  // ∂E/∂w5
      "W₁,₁′ = 0.4 − 0.5·0.082167041 = 0.35891648",  // w5⁺
      "W₁,₂′ = 0.45 − 0.5·0.082667628 = 0.408666186",  // w6⁺
      "W₂,₁′ = 0.5 − 0.5·(−0.02260254) = 0.51130127",  // w7⁺
      "W₂,₂′ = 0.55 − 0.5·(−0.022740242) = 0.561370121",  // w8⁺
      "∂L/∂x₁ = 0.138498562·0.4 + (−0.038098237)·0.5 = 0.036350306",  // ∂E_total/∂out_h1
      "∂L/∂W₁,₁ = 0.008771355·0.05 = 0.000438568",  // ∂E/∂w1
      "W₁,₁′ = 0.15 − 0.5·0.000438568 = 0.149780716",  // w1⁺
      "W₁,₂′ = 0.2 − 0.5·0.000877135 = 0.19956143",  // w2⁺
      "W₂,₁′ = 0.25 − 0.5·0.000497713 = 0.24975114",  // w3⁺
      "W₂,₂′ = 0.3 − 0.5·0.000995425 = 0.299502287",  // w4⁺ (his 0.29950229 to 8 places)
    ] {
      #expect(text.contains(expected), "missing: \(expected)")
    }
    try assertSnapshot(text, "mazur-trace.txt")
  }

  /// Parameters after a traced step equal those after an untraced step, bit for bit.
  @Test(arguments: ["digits-mlp", "digits-cnn"])
  func tracedStepEqualsUntracedStep(name: String) throws {
    for step in [1, 3] {
      let a = try LessonRun(try lesson(name))
      _ = try TracedStep(a, .init(step: step))
      let b = try LessonRun(try lesson(name))
      try b.train(trace: TracePoint(step: step, tracer: nil))
      let pa = a.model.layers.flatMap(\.parameters), pb = b.model.layers.flatMap(\.parameters)
      #expect(pa.count == pb.count && pa.count > 0)
      for (p, q) in zip(pa, pb) {
        #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern), "\(name) step \(step) \(p.name)")
        #expect(p.state.keys.sorted() == q.state.keys.sorted())
        for k in p.state.keys { #expect(p.state[k]!.data.map(\.bitPattern) == q.state[k]!.data.map(\.bitPattern)) }
      }
    }
  }

  @Test(arguments: ["digits-mlp", "digits-cnn"])
  func gradientCheckOfTheTracedStep(name: String) throws {
    let traced = try TracedStep(try LessonRun(try lesson(name)), .init(batch: 4, check: true))
    let check = try #require(traced.check)
    #expect(check.count == traced.run.model.layers.flatMap(\.parameters).count)
    for r in check { #expect(r.relativeError <= 1e-6, "\(name) \(r.name): \(r.relativeError)") }
    #expect(TraceText().render(traced).contains("Gradient check"))
  }

  /// A conv output cell written out: the nine products and the bias, summed in order, are the
  /// forward value bit for bit.
  @Test func convUnitSumEqualsTheForwardValue() throws {
    let traced = try TracedStep(try LessonRun(try lesson("digits-cnn")), .init(batch: 2))
    let z = try #require(traced.tracer.entry("conv1.forward.z"))
    let explain = try #require(z.explain)
    let conv = try #require(traced.run.model.layer(named: "conv1") as? Conv2D)
    for i in [0, 9, 77, 200, z.value.count - 1] {
      let a = explain(i)
      #expect(a.args.count == 18 + (conv.useBias ? 1 : 0))  // 9 (x, w) pairs, then the bias if any
      var sum = 0.0
      for k in 0..<9 { sum += a.args[2 * k] * a.args[2 * k + 1] }
      if conv.useBias { sum += a.args[18] }
      #expect(sum.bitPattern == z.value.data[i].bitPattern)
      #expect(a.result == z.value.data[i])
    }
    let text = try TraceText().unit(traced, layer: "conv1", index: [2, 4, 5], sample: 1)
    #expect(text.contains("window x") && text.contains("kernel W") && text.contains("products x·W") && text.contains("sum of the 9 products"))
    let cell: Int = ((0 * 8 + 1) * 8 + 3) * 8 + 4  // sample 1, filter 2, row 4, column 5
    let value = z.value.data[cell]
    #expect(text.contains("= \(TraceText.format(value, digits: 9))\n"))
  }

  @Test func aNaNStepNamesTheFirstNonFiniteEntry() throws {
    let yaml = """
      data: {dataset: inline, x: [[1, 2], [3, 4]], labels: [0, 1]}
      network: [{type: dense, units: 2}, softmax]
      optimizer: {type: sgd, learning_rate: 1.0e+308}
      train: {epochs: 3, batch_size: 2}
      """
    let run = try LessonRun(try Lesson.parse(yaml, path: "absurd.yaml"))
    do {
      _ = try TracedStep(run, .init(step: 3))
      Issue.record("training did not stop")
    } catch {
      #expect(error.description.contains("trace that step with --step"), "\(error)")
    }
    let again = try LessonRun(try Lesson.parse(yaml, path: "absurd.yaml"))
    let traced = try TracedStep(again, .init(step: 2))
    let bad = try #require(traced.tracer.firstNonFinite)
    #expect(bad.phase == .forward || bad.phase == .loss)
    #expect(TraceText().render(traced).contains("First non-finite number: \(bad.name)"))
  }

  @Test func traceJSONRoundTripsEveryValue() throws {
    let traced = try TracedStep(try LessonRun(try lesson("mazur")))
    let doc = try Value.parseJSON(TraceJSON.document(traced).json())
    let entries = try #require(doc["entries"]?.list)
    #expect(entries.count == traced.tracer.entries.count)
    for (e, j) in zip(traced.tracer.entries, entries) {
      #expect(j["name"]?.string == e.name)
      #expect(j["values"]?.list?.compactMap(\.number).map(\.bitPattern) == e.value.data.map(\.bitPattern))
    }
    #expect(doc["format"]?.string == "sheetnet-trace")
  }
}

/// With weight decay the update does not read dW but g = dW + λ·W: the trace shows g as its own
/// entry and every update formula names g, so the printed numbers put into the printed formula
/// give the new weight.
struct WeightDecayTraceTests {
  func lesson(_ optimizer: String) throws -> Lesson {
    let dir = NSTemporaryDirectory() + "sheetnet-decay-\(UUID().uuidString)"
    try FileManager.default.createDirectory(atPath: dir, withIntermediateDirectories: true)
    let text = """
      seed: 3
      data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
      network: [{type: dense, units: 3}, tanh, {type: dense, units: 1}, sigmoid]
      loss: binary_cross_entropy
      optimizer: \(optimizer)
      train: {epochs: 5, batch_size: 4}

      """
    try text.write(toFile: "\(dir)/decay.yaml", atomically: true, encoding: .utf8)
    return try Lesson.load("\(dir)/decay.yaml")
  }

  @Test("g = dW + λ·W is an entry, and the update formulas use it", arguments: [
    "{type: sgd, learning_rate: 0.5, weight_decay: 0.1}", "{type: sgd, learning_rate: 0.5, momentum: 0.9, weight_decay: 0.1}",
    "{type: adam, learning_rate: 0.05, weight_decay: 0.01}",
  ])
  func decay(_ optimizer: String) throws {
    let traced = try TracedStep(try LessonRun(try lesson(optimizer)), .init(step: 2))
    let lambda = traced.run.optimizer.weightDecay
    for layer in ["dense1", "dense2"] {
      for p in ["W", "b"] {
        let g = try #require(traced.tracer.entry("\(layer).update.\(p).g"))
        let d = try #require(traced.tracer.entry("\(layer).backward.d\(p)")), w = try #require(traced.tracer.entry("\(layer).forward.\(p)"))
        #expect(g.value.data == zip(d.value.data, w.value.data).map { $0 + lambda * $1 })
        #expect(g.formula == "g = d\(p) + λ·\(p)")
        let updates = traced.tracer.entries.filter { $0.layer == layer && $0.phase == .update && !$0.name.hasSuffix(".before") && $0.name != g.name }
        #expect(!updates.isEmpty)
        for e in updates where e.name.hasSuffix(".\(p)") || e.name.contains(".\(p).") {
          #expect(!e.formula.contains("d\(p)"), "\(e.name): \(e.formula)")
        }
      }
      // SGD without momentum: W′ = W − η·g, element by element, from the printed numbers.
      if optimizer.contains("sgd") && !optimizer.contains("momentum") {
        let g = traced.tracer.entry("\(layer).update.W.g")!.value.data, w = traced.tracer.entry("\(layer).forward.W")!.value.data
        let updated = traced.tracer.entry("\(layer).update.W")!.value.data
        #expect(updated == zip(w, g).map { $0 - 0.5 * $1 })
      }
    }
  }

  @Test("without weight decay there is no g entry and the formulas name dW")
  func noDecay() throws {
    let traced = try TracedStep(try LessonRun(try lesson("{type: sgd, learning_rate: 0.5}")))
    #expect(!traced.tracer.entries.contains { $0.name.hasSuffix(".g") })
    #expect(traced.tracer.entry("dense1.update.W")!.formula == "W ← W − η·dW")
  }
}

/// Mazur's biases are frozen: the trace text and its JSON say so, and no update entry exists for them.
@Test("frozen parameters are marked in the trace and its JSON") func frozenMarked() throws {
  let traced = try TracedStep(try LessonRun(try Lesson.load(packagePath("Worksheets/mazur.yaml"))))
  #expect(traced.frozen == ["hidden.b", "output.b"])
  #expect(TraceText().render(traced).contains("frozen (trainable: false, not updated; they keep their values): hidden.b, output.b"))
  let json = try Value.parseJSON(TraceJSON.document(traced).json())
  #expect(json["frozen"] == .list([.string("hidden.b"), .string("output.b")]))
  #expect(traced.tracer.entry("hidden.update.b") == nil && traced.tracer.entry("hidden.update.W") != nil)
}
