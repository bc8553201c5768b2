import Testing
@testable import SheetNet

/// Matt Mazur's "A Step by Step Backpropagation Example": 2-2-2 sigmoid, E = Σ ½(t − o)²,
/// η = 0.5, biases fixed. His numbers, to his digits.
struct MazurTests {
  func run() throws -> LessonRun { try LessonRun(try Lesson.load(packagePath("Worksheets/mazur.yaml"))) }

  @Test func forwardAndErrorBeforeTheUpdate() throws {
    let run = try run()
    let x = run.split.train.x, t = run.split.train.targets(outputs: 2)
    let tracer = Tracer()
    let step = Step(training: true, tracer: tracer)
    let (e, _) = run.model.trainStep(x, t, loss: run.loss, optimizer: run.optimizer, step)
    #expect(abs(e - 0.298371109) < 5e-10)
    let hidden = try #require(tracer.entry("sigmoid1.forward.a")).value
    #expect(abs(hidden.data[0] - 0.593269992) < 5e-10)  // out_h1
    #expect(abs(hidden.data[1] - 0.596884378) < 5e-10)  // out_h2
    let out = try #require(tracer.entry("sigmoid2.forward.a")).value
    #expect(abs(out.data[0] - 0.75136507) < 5e-9)  // out_o1
    #expect(abs(out.data[1] - 0.772928465) < 5e-10)  // out_o2
    let dW = try #require(tracer.entry("output.backward.dW")).value
    #expect(abs(dW.data[0] - 0.082167041) < 5e-10)  // ∂E/∂w5
  }

  @Test func theEightUpdatedWeights() throws {
    let run = try run()
    try run.train()
    let hidden = run.model.layers[0] as! Dense, output = run.model.layers[2] as! Dense
    let expectedOutput = [0.35891648, 0.408666186, 0.511301270, 0.561370121]  // w5 w6 w7 w8
    let expectedHidden = [0.149780716, 0.19956143, 0.24975114, 0.29950229]  // w1 w2 w3 w4
    #expect(output.W.value.count == expectedOutput.count && hidden.W.value.count == expectedHidden.count)
    for (got, want) in zip(output.W.value.data, expectedOutput) { #expect(abs(got - want) < 5e-9, "\(got) vs \(want)") }
    for (got, want) in zip(hidden.W.value.data, expectedHidden) { #expect(abs(got - want) < 5e-9, "\(got) vs \(want)") }
    #expect(hidden.b.value.data == [0.35, 0.35] && output.b.value.data == [0.6, 0.6])  // frozen
  }
}
