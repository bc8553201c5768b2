import Foundation
import Testing
@testable import SheetNet

struct ModelFileTests {
  @Test func roundTripIsBitExact() throws {
    let lesson = try Lesson.load(packagePath("Worksheets/iris-mlp.yaml"))
    let run = try LessonRun(lesson)
    run.trainer.epochs = 3
    try run.train()
    let text = ModelFile(run: run).value.json()
    let back = try ModelFile.decode(try Value.parseJSON(text))
    for (a, b) in zip(run.model.layers, back.model.layers) {
      #expect(a.name == b.name && a.kind == b.kind)
      for (p, q) in zip(a.parameters, b.parameters) {
        #expect(p.value.data.map(\.bitPattern) == q.value.data.map(\.bitPattern))
        #expect(p.trainable == q.trainable)
        #expect(p.state.keys.sorted() == q.state.keys.sorted())
        for k in p.state.keys { #expect(p.state[k]!.data.map(\.bitPattern) == q.state[k]!.data.map(\.bitPattern)) }
      }
    }
    #expect(back.optimizer.stepCount == run.optimizer.stepCount)
    #expect(back.preprocess == run.preprocess)
    #expect(back.fingerprint == run.fingerprint && back.writtenBy == SheetNetVersion.current)
    #expect(back.value.json() == text)
  }

  @Test(arguments: [0.1, 1e-5, Double.leastNonzeroMagnitude, -0.0, 123456789.125, 1.0 / 3, -2.5e300, Double.ulpOfOne])
  func numbersRoundTrip(x: Double) throws {
    let back = try Value.parseJSON(Value.list([.number(x)]).json())
    #expect(back.list?.first?.number?.bitPattern == x.bitPattern)
  }

  @Test func malformedModelFilesAreRejectedClearly() throws {
    #expect(throws: SheetNetError.self) { try ModelFile.decode(try Value.parseJSON("{\"format\": \"other\"}")) }
    #expect(throws: SheetNetError.self) { try Value.parseJSON("{\"a\": [1, 2,") }
    let path = NSTemporaryDirectory() + "sheetnet-missing-\(getpid()).json"
    #expect(throws: SheetNetError.self) { try ModelFile.load(path) }
  }

  @Test func sameSeedSameNumbers() throws {
    func train(_ seed: UInt64) throws -> (History, [Double]) {
      let run = try LessonRun(try Lesson.load(packagePath("Worksheets/iris-mlp.yaml")), seed: seed)
      run.trainer.epochs = 5
      try run.train()
      return (run.history, run.model.layers.flatMap(\.parameters).flatMap(\.value.data))
    }
    let (h1, w1) = try train(3), (h2, w2) = try train(3), (_, w3) = try train(4)
    #expect(h1 == h2 && w1 == w2)
    #expect(w1 != w3)
  }
}
