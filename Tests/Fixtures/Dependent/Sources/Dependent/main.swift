// Uses the three products: trains XOR with the engine, traces one step of a lesson written on
// the fly, and renders a figure of it to PNG bytes.
import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace

var rng = SeededGenerator(seed: 1)
let model = try Sequential { Dense(3); Tanh(); Dense(1); Sigmoid() }.build(inputShape: [2], rng: &rng)
let x = Tensor(rows: [[0, 0], [0, 1], [1, 0], [1, 1]]), t = Tensor(rows: [[0], [1], [1], [0]])
let (loss, optimizer, step) = (BinaryCrossEntropy(), SGD(learningRate: 0.5, momentum: 0.9), Step(training: true))
var first = 0.0, last = 0.0
for i in 0..<500 {
  let (value, _) = model.trainStep(x, t, loss: loss, optimizer: optimizer, step)
  if i == 0 { first = value }
  last = value
}
print("xor loss \(first) -> \(last)")

let folder = NSTemporaryDirectory() + "dependent-\(getpid())"
try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
defer { try? FileManager.default.removeItem(atPath: folder) }
let lesson = """
  data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
  network: [{type: dense, units: 2}, sigmoid, {type: dense, units: 1}, sigmoid]
  loss: binary_cross_entropy
  optimizer: {type: sgd, learning_rate: 0.5}
  train: {epochs: 20, batch_size: 4}

  """
try lesson.write(toFile: folder + "/xor.yaml", atomically: true, encoding: .utf8)
let run = try LessonRun(try Lesson.load(folder + "/xor.yaml"))
let traced = try TracedStep(run)
print("traced \(traced.tracer.entries.count) entries")
let png = try FigureFile.render(try Catalogue.make(.graph, FigureSource(run: try LessonRun(run.lesson)), FigureOptions())[0], as: .png, scale: 1)
print("graph png \(png.count) bytes")
