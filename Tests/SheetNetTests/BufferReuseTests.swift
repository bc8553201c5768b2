import Testing
@testable import SheetNet

/// Training reuses its memory: each layer writes its outputs into two buffers in turn
/// (`TensorPair`), so step k + 2 writes where step k did and nothing new is allocated. (The
/// bench measures the whole step under valgrind: no allocation per step once warm.)
struct BufferReuseTests {
  /// Where a tensor's elements live.
  func address(_ t: Tensor) -> UnsafeRawPointer? { t.data.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress) } }

  @Test func layersWriteIntoTwoBuffersInTurn() throws {
    var rng = SeededGenerator(seed: 4)
    let (relu, norm) = (ReLU(), BatchNorm())
    let model = try Sequential {
      Conv2D(filters: 4, kernel: (3, 3), padding: .same)
      norm
      relu
      MaxPool2D(size: (2, 2))
      Flatten()
      Dropout(rate: 0.25)
      Dense(10)
      Softmax()
    }.build(inputShape: [1, 8, 8], rng: &rng)
    let n = 8
    let x = Tensor(shape: [n, 1, 8, 8], data: (0..<n * 64).map { _ in rng.unit() })
    let t = Tensor(shape: [n, 10], data: (0..<n * 10).map { $0 % 10 == $0 / 10 ? 1 : 0 })
    let (loss, optimizer) = (CrossEntropy(), Adam(learningRate: 0.01))
    let step = Step(training: true, rng: SeededGenerator(seed: 5))
    var seen: [[UnsafeRawPointer?]] = []
    var spacers: [[Double]] = []
    for _ in 0..<6 {
      let (_, y) = model.trainStep(x, t, loss: loss, optimizer: optimizer, step)
      seen.append([address(y), address(relu.a), address(norm.xhat)])
      // Hold on to fresh blocks of the outputs' sizes, so that memory freed by a step cannot
      // come back to the next one: only a reused buffer keeps its address.
      for count in [y.count, relu.a.count] { spacers += (0..<8).map { _ in [Double](repeating: 1, count: count) } }
    }
    for i in 0..<3 {
      for k in 2..<6 { #expect(seen[k][i] == seen[k - 2][i], "output \(i): step \(k + 1) writes where step \(k - 1) did") }
      #expect(seen[1][i] != seen[0][i], "output \(i): consecutive steps use different buffers")
    }
    // The layers held their buffers the whole time: none was freed and handed to a spacer (an
    // engine that allocated each step would free step k's buffers and the spacers would get them).
    let held = Set(seen.joined().compactMap { $0 })
    let spacerAddresses = spacers.map { $0.withUnsafeBufferPointer { UnsafeRawPointer($0.baseAddress!) } }
    #expect(spacerAddresses.allSatisfy { !held.contains($0) }, "a buffer a layer should hold was freed and reused")
  }

  /// A transformer's layers too: layer norm's x̂ and GELU's output alternate between two buffers;
  /// attention's weights A are written where the last step's were, as nothing else holds them.
  @Test func transformerLayersReuseTheirMemory() throws {
    var rng = SeededGenerator(seed: 4)
    let (attention, norm, gelu) = (SelfAttention(heads: 2, causal: true), LayerNorm(), GELU())
    let model = try Sequential {
      Embedding(size: 8, vocabulary: 5)
      Positional()
      Skip()
      norm
      attention
      Residual()
      Dense(16)
      gelu
      Dense(5)
      Softmax()
    }.build(inputShape: [6], rng: &rng)
    let x = Tensor(shape: [3, 6], data: (0..<18).map { Double($0 % 5) }), t = Tensor(shape: [3, 6], data: (0..<18).map { Double(($0 + 1) % 5) })
    let (loss, optimizer, step) = (TokenCrossEntropy(), Adam(learningRate: 0.01), Step(training: true))
    var alternating: [[UnsafeRawPointer?]] = [], weights: [UnsafeRawPointer?] = []
    for _ in 0..<6 {
      _ = model.trainStep(x, t, loss: loss, optimizer: optimizer, step)
      alternating.append([address(norm.xhat), address(gelu.a)])
      weights.append(address(attention.attentionWeights))
    }
    for i in 0..<2 {
      for k in 2..<6 { #expect(alternating[k][i] == alternating[k - 2][i], "output \(i): step \(k + 1) writes where step \(k - 1) did") }
      #expect(alternating[1][i] != alternating[0][i], "output \(i): consecutive steps use different buffers")
    }
    #expect(Set(weights).count == 1, "A moved: \(weights)")
  }

  @Test func aTensorStillHeldIsNeverOverwritten() throws {
    // Keeping a step's output past the next steps is safe: the buffer is copied before writing.
    var rng = SeededGenerator(seed: 6)
    let model = try Sequential { Dense(3); Softmax() }.build(inputShape: [2], rng: &rng)
    let x = Tensor(rows: [[1, 2], [3, -1]]), t = Tensor(rows: [[1, 0, 0], [0, 0, 1]])
    let (loss, optimizer, step) = (CrossEntropy(), SGD(learningRate: 0.5), Step(training: true))
    let first = model.trainStep(x, t, loss: loss, optimizer: optimizer, step).output
    let kept = first.data
    for _ in 0..<3 { _ = model.trainStep(x, t, loss: loss, optimizer: optimizer, step) }
    #expect(first.data == kept)
    #expect(model.trainStep(x, t, loss: loss, optimizer: optimizer, step).output.data != kept)
  }
}
