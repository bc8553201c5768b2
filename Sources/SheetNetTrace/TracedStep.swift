/// SheetNetTrace: one training step recorded in order — forward, loss, backward, update — and its
/// views: the terminal text with the arithmetic written out, the JSON every later view reads,
/// and a gradient-check table. The numbers come from the engine's own training code.
import SheetNet

/// One recorded training step of a lesson and where in training it happened.
public final class TracedStep {
  /// The lesson run, trained up to and including the traced step.
  public let run: LessonRun
  /// Every value of the step, in the order the engine computed it.
  public let tracer: Tracer
  /// The step number counted from 1 across epochs, its epoch, and its step within that epoch.
  public let step: Int, epoch: Int, stepInEpoch: Int
  /// The training-split rows the step used.
  public let samples: [Int]
  /// The batch loss.
  public let loss: Double
  /// Gradient check of the step's batch (before the update), when asked for.
  public let check: [GradientCheck.Result]?

  /// Which step to trace and on what.
  public struct Request: Sendable {
    /// 1-based step of training (default 1: the lesson's first step).
    public var step = 1
    /// Trace one training sample (a row of the training split, 1-based) instead of the batch.
    public var sample: Int?
    /// Use only the first `batch` samples of the planned batch.
    public var batch: Int?
    /// Run a central-difference gradient check on the step's batch.
    public var check = false
    /// Changes the batch, the network or the optimizer just before the traced step (to compare
    /// a workbook a student edited with the engine on the same edit).
    public var edit: (@Sendable (inout Tensor, Sequential, any Optimizer) -> Void)?

    /// The lesson's first step.
    public init(step: Int = 1, sample: Int? = nil, batch: Int? = nil, check: Bool = false) {
      self.step = step
      self.sample = sample
      self.batch = batch
      self.check = check
    }
  }

  /// Trains `run` up to step `request.step` and traces that step.
  /// The parameters the optimizer leaves alone (`trainable: false`), as `layer.P`: Mazur's biases.
  public var frozen: [String] {
    run.model.layers.flatMap { layer in layer.parameters.filter { !$0.trainable }.map { "\(layer.name).\($0.name)" } }
  }

  public init(_ run: LessonRun, _ request: Request = Request()) throws(SheetNetError) {
    self.run = run
    let train = run.split.train
    if let s = request.sample, s < 1 || s > train.count {
      throw .lesson("--sample \(s) is outside the training split, which has samples 1…\(train.count)")
    }
    guard request.step >= 1 && request.step <= Limits.steps else { throw .lesson("--step must be between 1 and \(Limits.grouped(Limits.steps)), got \(request.step)") }
    if let b = request.batch, b < 1 { throw .lesson("--batch must be 1 or more") }
    let stepsPerEpoch = max(1, (train.count + run.trainer.batchSize - 1) / run.trainer.batchSize)
    let lastStep = max(run.trainer.epochs, 1) * stepsPerEpoch
    guard request.step <= lastStep else {
      let epochs = run.trainer.epochs
      throw .lesson("--step \(request.step) is past the end of training: \(run.lesson.name) runs \(epochs) epoch\(epochs == 1 ? "" : "s") of \(stepsPerEpoch) step\(stepsPerEpoch == 1 ? "" : "s") (\(lastStep) in all); give --step 1…\(lastStep)")
    }
    let tracer = Tracer()
    let indices: [Int]? = request.sample.map { [$0 - 1] }
    var checked: [GradientCheck.Result]? = nil
    let model = run.model, lossFunction = run.loss, wantCheck = request.check
    let point = TracePoint(step: request.step, tracer: tracer, indices: indices, prefix: request.batch) { x, t in
      if wantCheck { checked = GradientCheck.network(model, x: x, t: t, loss: lossFunction) }
    }
    point.edit = request.edit
    try run.train(trace: point)
    guard let location = point.location, let value = point.loss else {
      throw .training("the lesson ended before step \(request.step)")
    }
    self.tracer = tracer
    step = request.step
    epoch = location.epoch
    stepInEpoch = location.step
    samples = location.indices
    loss = value
    check = checked
  }

  /// The entries to show, filtered by phase and layer.
  public func entries(phase: Phase? = nil, layer: String? = nil) -> [TraceEntry] {
    tracer.entries.filter { (phase == nil || $0.phase == phase) && (layer == nil || $0.layer == layer) }
  }
}
