import Foundation

/// Loss and accuracy of one epoch (validation and test values when the lesson keeps those splits;
/// they are measured after the epoch and never steer training).
public struct EpochRecord: Codable, Equatable, Sendable {
  /// 1-based epoch number.
  public var epoch: Int
  /// Mean training loss over the epoch's steps.
  public var trainLoss: Double
  /// Training accuracy over the epoch's steps (fraction 0…1).
  public var trainAccuracy: Double
  /// Loss on the validation split after the epoch.
  public var validationLoss: Double?
  /// Accuracy on the validation split after the epoch.
  public var validationAccuracy: Double?
  /// Loss on the test split after the epoch (plotted only; training never reads it).
  public var testLoss: Double? = nil
  /// Accuracy on the test split after the epoch.
  public var testAccuracy: Double? = nil
  /// Per layer, the mean over the epoch's steps of ‖∂L/∂θ‖₂ over the layer's trainable
  /// parameters: (1/S)·Σₛ √(Σ_θ trainable ‖dθ‖²) (frozen parameters, such as Mazur's fixed biases, are
  /// not counted). Layers without trainable parameters have no entry.
  public var gradientNorms: [String: Double]

  /// A record.
  public init(epoch: Int, trainLoss: Double, trainAccuracy: Double, validationLoss: Double? = nil, validationAccuracy: Double? = nil,
              testLoss: Double? = nil, testAccuracy: Double? = nil, gradientNorms: [String: Double] = [:]) {
    self.epoch = epoch
    self.trainLoss = trainLoss
    self.trainAccuracy = trainAccuracy
    self.validationLoss = validationLoss
    self.validationAccuracy = validationAccuracy
    self.testLoss = testLoss
    self.testAccuracy = testAccuracy
    self.gradientNorms = gradientNorms
  }
}

/// Every epoch's record, in order: what `training` figures plot.
public struct History: Codable, Equatable, Sendable {
  /// The epochs so far.
  public var epochs: [EpochRecord] = []
  /// An empty history.
  public init() {}
}

/// Loss and accuracy of a model over a dataset.
public struct Evaluation: Sendable {
  /// Mean loss over the samples.
  public var loss: Double
  /// Fraction of samples classified correctly (nil for regression targets); for token
  /// sequences, the fraction of counted positions whose most likely token is the target.
  public var accuracy: Double?
  /// The predicted class of each sample (for token sequences: of each position, in order).
  public var predictions: [Int]
  /// For the sequence tasks (`Dataset.answersWhole`): the fraction of samples right at every
  /// position that counts; nil for text windows, where no sample is one answer.
  public var sequenceAccuracy: Double? = nil
}

/// Where a training run is, for a progress bar.
public struct TrainingProgress: Sendable {
  /// The epoch running (from 1) of `epochs`, and the step within it (from 1) of `stepsPerEpoch`.
  public var epoch: Int, epochs: Int, step: Int, stepsPerEpoch: Int
  /// Mean loss and accuracy of the epoch so far.
  public var loss: Double, accuracy: Double
}

/// Predicted classes: argmax of each row, or output > threshold for a single output.
public func predictedClasses(_ y: Tensor, threshold: Double = 0.5) -> [Int] {
  y.columns == 1 ? y.data.map { $0 > threshold ? 1 : 0 } : y.argmaxRows()
}

/// Where a training run attaches a tracer: step `step` (1-based, counted across epochs).
public final class TracePoint {
  /// The step to trace.
  public let step: Int
  /// The tracer attached for that step only (nil: run the step untraced and stop after it).
  public let tracer: Tracer?
  /// Samples (training-split rows) to use instead of the planned batch.
  public let indices: [Int]?
  /// Use only the first `prefix` samples of the planned batch.
  public let prefix: Int?
  /// Called with the step's batch before it runs (e.g. for a gradient check).
  public let before: ((Tensor, Tensor) -> Void)?
  /// Changes the step's inputs, the network or the optimizer just before the traced step runs
  /// (what a student does to a workbook's input cells, weights or learning rate).
  public var edit: ((inout Tensor, Sequential, any Optimizer) -> Void)?
  /// Epoch, step within the epoch and the rows the traced step used; set when it runs.
  public internal(set) var location: (epoch: Int, step: Int, indices: [Int])?
  /// The batch loss of the traced step.
  public internal(set) var loss: Double?
  /// Whether training goes on after the traced step (a recording of a step of the run, which then
  /// runs to its end) instead of stopping there.
  package let continues: Bool

  /// A trace of step `step`; with `continues`, training runs on after it.
  public init(step: Int, tracer: Tracer?, indices: [Int]? = nil, prefix: Int? = nil, before: ((Tensor, Tensor) -> Void)? = nil,
              continues: Bool = false) {
    self.step = step
    self.tracer = tracer
    self.indices = indices
    self.prefix = prefix
    self.before = before
    self.continues = continues
  }
}

/// Counts the training steps taken by every `Trainer.fit` inside `Trainer.$stepCounter.withValue`
/// (a task-local value, so parallel tests each see their own): how a test proves that drawing a
/// figure trains nothing.
package final class StepCounter: @unchecked Sendable {
  private let lock = NSLock()
  private var count = 0

  /// A counter at 0.
  package init() {}

  /// The steps counted so far.
  package var steps: Int { lock.withLock { count } }

  func add(_ n: Int) { lock.withLock { count += n } }
}

/// Mini-batch training with seeded shuffling, a history, and a clear stop on non-finite numbers.
public struct Trainer {
  /// The network trained.
  public var model: Sequential
  /// L, what training minimises.
  public var loss: any Loss
  /// How each step turns gradients into updates.
  public var optimizer: any Optimizer
  /// Passes over the training split.
  public var epochs: Int
  /// Samples per step (the last step of an epoch takes what is left).
  public var batchSize: Int
  /// Drives the shuffles and dropout masks.
  public var rng: SeededGenerator
  /// Training steps this trainer has taken (every `fit` added up).
  package private(set) var stepsTaken = 0
  /// Where `fit` counts its steps besides `stepsTaken`, when a caller binds one (nil otherwise).
  @TaskLocal package static var stepCounter: StepCounter?

  /// A trainer.
  public init(model: Sequential, loss: any Loss, optimizer: any Optimizer, epochs: Int, batchSize: Int, rng: SeededGenerator) {
    self.model = model
    self.loss = loss
    self.optimizer = optimizer
    self.epochs = epochs
    self.batchSize = batchSize
    self.rng = rng
  }

  /// The class threshold for a single output: 0.5 on a sigmoid, 0 on raw logits.
  var threshold: Double { (model.layers.last is Sigmoid || !(loss is BinaryCrossEntropy)) ? 0.5 : 0 }

  /// The mini-batches of one epoch: a seeded permutation cut into `batchSize` pieces.
  public mutating func batches(count: Int) -> [[Int]] {
    let order = rng.permutation(count)
    return stride(from: 0, to: count, by: batchSize).map { Array(order[$0..<min($0 + batchSize, count)]) }
  }

  /// Trains for `epochs` epochs, calling `progress` after each step.
  ///
  /// With `trace`, training stops after step `trace.step` (counted from 1 across epochs), which
  /// runs with `trace.tracer` attached — the same code as every other step — on the planned batch
  /// or on `trace.indices`. A traced step that goes non-finite is recorded, not thrown.
  public mutating func fit(_ train: Dataset, validation: Dataset? = nil, test: Dataset? = nil, history: inout History,
                           trace: TracePoint? = nil,
                           progress: ((TrainingProgress) -> Void)? = nil) throws(SheetNetError) {
    let outputs = model.outputShape.reduce(1, *)
    let targets = train.targets(outputs: outputs)
    let labels = train.labels
    let step = Step(training: true, rng: rng.fork())
    var global = 0
    // Each step's batch is gathered into two buffers in turn (see `TensorPair`): no allocation.
    var inputs = TensorPair(), targetRows = TensorPair()
    let (sampleShape, targetShape) = (Array(train.x.shape.dropFirst()), Array(targets.shape.dropFirst()))
    let epochs = trace.map { $0.continues ? self.epochs : max(self.epochs, 1 + ($0.step - 1) / max(1, (train.count + batchSize - 1) / batchSize)) } ?? self.epochs
    // Each layer's trainable parameters, listed once: the gradient norms read them every step.
    let trainable = model.layers.map { $0.parameters.filter(\.trainable) }
    let counter = Trainer.stepCounter
    for epoch in 1...max(epochs, 1) where epochs > 0 {
      let plan = batches(count: train.count)
      var lossSum = 0.0, correct = 0, seen = 0, positions = 0
      // Σ over the epoch's steps of each layer's gradient norm (trainable parameters only).
      var normSums = [Double](repeating: 0, count: model.layers.count)
      for (s, planned) in plan.enumerated() {
        global += 1
        var indices = planned
        let traced = trace?.step == global
        if traced, let trace {
          indices = trace.indices ?? trace.prefix.map { Array(planned.prefix($0)) } ?? planned
          trace.location = (epoch, s + 1, indices)
          step.tracer = trace.tracer
        }
        var x = inputs.next(rows: indices.count, sampleShape) { Kernels.gather(train.x, rows: indices, into: &$0) }
        let t = targetRows.next(rows: indices.count, targetShape) { Kernels.gather(targets, rows: indices, into: &$0) }
        if traced, let edit = trace?.edit { edit(&x, model, optimizer) }
        if traced { trace?.before?(x, t) }
        let (value, out) = model.trainStep(x, t, loss: loss, optimizer: optimizer, step)
        stepsTaken += 1
        counter?.add(1)
        if traced, let trace {
          step.tracer = nil
          trace.loss = value
          if !trace.continues { return }
        }
        do {
          try checkFinite(value, epoch: epoch, step: s + 1, batch: x)
        } catch {
          throw trace == nil ? error : .training(error.description + "; trace that step with --step \(global) to see where")
        }
        lossSum += value * Double(indices.count)
        seen += indices.count
        for (l, parameters) in trainable.enumerated() where !parameters.isEmpty {
          normSums[l] += parameters.reduce(0.0) { $0 + $1.grad.norm * $1.grad.norm }.squareRoot()
        }
        if let labels {
          let predicted = predictedClasses(out, threshold: threshold)
          for (k, i) in indices.enumerated() where predicted[k] == labels[i] { correct += 1 }
        } else if train.isTokens {
          let score = tokenScore(out, t)
          correct += score.right
          positions += score.counted
        }
        let judged = train.isTokens ? positions : seen  // samples, or positions that count
        progress?(TrainingProgress(epoch: epoch, epochs: epochs, step: s + 1, stepsPerEpoch: plan.count,
                           loss: lossSum / Double(seen), accuracy: Double(correct) / Double(max(judged, 1))))
      }
      let judged = train.isTokens ? positions : seen
      var record = EpochRecord(epoch: epoch, trainLoss: lossSum / Double(max(seen, 1)),
                               trainAccuracy: Double(correct) / Double(max(judged, 1)), gradientNorms: [:])
      for (l, layer) in model.layers.enumerated() where !trainable[l].isEmpty {
        record.gradientNorms[layer.name] = normSums[l] / Double(max(plan.count, 1))
      }
      if let validation {
        let e = evaluate(validation)
        record.validationLoss = e.loss
        record.validationAccuracy = e.accuracy
      }
      if let test {
        let e = evaluate(test)
        record.testLoss = e.loss
        record.testAccuracy = e.accuracy
      }
      history.epochs.append(record)
    }
  }

  /// Loss and accuracy over a dataset in evaluation mode.
  public func evaluate(_ data: Dataset) -> Evaluation {
    Trainer.evaluate(model: model, loss: loss, data: data, threshold: threshold)
  }

  /// Loss and accuracy of `model` over `data` in evaluation mode, in batches of 256.
  public static func evaluate(model: Sequential, loss: any Loss, data: Dataset, threshold: Double = 0.5) -> Evaluation {
    let outputs = model.outputShape.reduce(1, *)
    let targets = data.targets(outputs: outputs)
    let step = Step(training: false)
    var total = 0.0
    var predictions: [Int] = []
    var start = 0
    var tokens = (right: 0, counted: 0, sequencesRight: 0)
    while start < data.count {
      let indices = Array(start..<min(start + 256, data.count))
      let y = model.forward(data.x.gathering(rows: indices), step)
      let t = targets.gathering(rows: indices)
      total += loss.value(output: y, target: t, last: model.layers.last) * Double(indices.count)
      if data.isTokens {
        predictions += y.reshaped([y.count / max(y.shape.last ?? 1, 1), y.shape.last ?? 1]).argmaxRows()
        let score = tokenScore(y, t)
        tokens = (tokens.right + score.right, tokens.counted + score.counted, tokens.sequencesRight + score.sequencesRight)
      } else {
        predictions += predictedClasses(y, threshold: threshold)
      }
      start += indices.count
    }
    var accuracy: Double? = nil
    if let labels = data.labels, !labels.isEmpty {
      accuracy = Double(Swift.zip(predictions, labels).filter { $0 == $1 }.count) / Double(labels.count)
    }
    var evaluation = Evaluation(loss: total / Double(max(data.count, 1)), accuracy: accuracy, predictions: predictions)
    if data.isTokens {
      evaluation.accuracy = Double(tokens.right) / Double(max(tokens.counted, 1))
      if data.answersWhole { evaluation.sequenceAccuracy = Double(tokens.sequencesRight) / Double(max(data.count, 1)) }
    }
    return evaluation
  }

  /// Stops training with a message naming the epoch, the step and the first layer where a
  /// number stopped being finite.
  private func checkFinite(_ value: Double, epoch: Int, step: Int, batch: Tensor) throws(SheetNetError) {
    var culprit: String? = nil
    for layer in model.layers {
      for p in layer.parameters where !p.value.isFinite || !p.grad.isFinite {
        culprit = culprit ?? "\(layer.name).\(p.name)"
      }
    }
    guard value.isFinite, culprit == nil else {
      var firstOutput: String? = nil
      var a = batch
      let probe = Step(training: false)
      for layer in model.layers {
        a = layer.forward(a, probe)
        if !a.isFinite { firstOutput = layer.name; break }
      }
      let what = culprit.map { "the parameters of \($0) became non-finite" } ?? "the loss became \(value)"
      let whereText = firstOutput.map { "; the forward pass first overflows in layer \($0)" } ?? ""
      throw .training("training stopped at epoch \(epoch), step \(step): \(what)\(whereText). Lower the learning rate (now \(optimizer.learningRate)) or scale the inputs")
    }
  }
}
