import Foundation
import SheetNet

// Issue 4: what tracing costs. One training step of a shipped lesson without a tracer and with
// one, and (through Benchmarks/trace_overhead.py) the untraced step of this build against a build
// with tracing compiled out (-DSHEETNET_NO_TRACE, where `Step.tracer` is always nil).

/// The package root, from this file's place in it (Benchmarks/Swift/…), so lessons load from
/// any working directory.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
  .deletingLastPathComponent().path

/// The untraced and (unless tracing is compiled out) traced step of digits-cnn and digits-mlp.
func lessonCases() -> [BenchCase] {
  var cases: [BenchCase] = []
  for (key, file, label) in [("digits-cnn", "Worksheets/digits-cnn.yaml", "digits CNN (digits-cnn.yaml)"),
                             ("digits-mlp", "Worksheets/digits-mlp.yaml", "digits MLP 64-64-10 (digits-mlp.yaml)")] {
    cases.append(lessonStep(id: "lesson/\(key)/untraced", label: "\(label), untraced", lesson: file, traced: false))
    #if !SHEETNET_NO_TRACE
    cases.append(lessonStep(id: "lesson/\(key)/traced", label: "\(label), traced", lesson: file, traced: true))
    #endif
  }
  return cases
}

/// One training step of a shipped lesson as `sheetnet train` runs it (its network, seed, loss,
/// optimizer and batch size), cycling through the planned batches of its first epoch (full
/// batches only), so the first step is the one `sheetnet trace` shows.
///
/// `traced`: every step gets a fresh `Tracer`, as `sheetnet trace` attaches one: each layer
/// records its values (copies of the tensors) and its formulas (closures written out only when
/// a view asks). The traced step also computes the first layer's input gradient.
func lessonStep(id: String, label: String, lesson file: String, traced: Bool) -> BenchCase {
  BenchCase(id: id, group: .lesson, label: label) {
    let run = try LessonRun(try Lesson.load("\(packageRoot)/\(file)"))
    var trainer = run.trainer
    _ = trainer.rng.fork()  // `Trainer.fit` forks the step's generator before planning epoch 1
    let train = run.split.train, batchSize = run.lesson.batchSize
    let targets = train.targets(outputs: run.model.outputShape.reduce(1, *))
    let batches = trainer.batches(count: train.count).filter { $0.count == batchSize }.map { rows in
      (x: train.x.gathering(rows: rows), t: targets.gathering(rows: rows))
    }
    let (model, loss, optimizer) = (run.model, run.loss, run.optimizer)
    let step = Step(training: true)
    var next = 0
    return {
      let (x, t) = batches[next]
      next = (next + 1) % batches.count
      if traced { step.tracer = Tracer() }
      model.trainStep(x, t, loss: loss, optimizer: optimizer, step)
    }
  }
}
