import CairoKit
import Foundation
import SheetNet
import SheetNetFigures
import SheetNetTrace
@testable import SheetNetWorksheets
import Testing

/// The folder holding the package.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()

/// A traced step of a shipped lesson.
func tracedLesson(_ name: String, step: Int = 1, sample: Int? = nil, batch: Int? = nil) throws -> TracedStep {
  let run = try LessonRun(try Lesson.load(packageRoot.appendingPathComponent("Worksheets/\(name).yaml").path))
  return try TracedStep(run, .init(step: step, sample: sample, batch: batch))
}

/// A traced step of a lesson given as YAML text.
func tracedYAML(_ yaml: String, name: String = "synthetic", step: Int = 1, batch: Int? = nil) throws -> TracedStep {
  try TracedStep(try LessonRun(try Lesson.parse(yaml, path: "\(name).yaml")), .init(step: step, batch: batch))
}

/// Lessons that between them use every layer, loss and optimizer option a workbook writes.
enum Synthetic {
  /// A layer named `_x0041_`, which OOXML readers would decode to "A" where text is an ST_Xstring.
  static let escapeLike = """
    seed: 2
    data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}
    network:
      - {type: dense, units: 2, name: _x0041_}
      - sigmoid
      - {type: dense, units: 1}
      - sigmoid
    loss: binary_cross_entropy
    optimizer: {type: sgd, learning_rate: 0.5}
    train: {epochs: 2, batch_size: 2}
    """

  /// Conv with stride 2 and valid padding, bias, avg-pool, leaky ReLU, tanh, dropout, dense batch
  /// norm, softmax cross-entropy; SGD with Nesterov momentum and weight decay.
  static let convZoo = """
    seed: 3
    data:
      dataset: inline
      x: [[0.1, 0.5, 0.9, 0.2, 0.4, 0.8, 0.3, 0.7, 0.6, 0.0, 1.0, 0.5, 0.25, 0.75, 0.35, 0.65, 0.45, 0.55, 0.15, 0.85, 0.95, 0.05, 0.6, 0.4, 0.3],
          [0.9, 0.1, 0.3, 0.8, 0.6, 0.2, 0.7, 0.4, 0.5, 1.0, 0.0, 0.45, 0.75, 0.25, 0.65, 0.35, 0.55, 0.45, 0.85, 0.15, 0.05, 0.95, 0.4, 0.6, 0.7],
          [0.5, 0.5, 0.2, 0.9, 0.1, 0.3, 0.6, 0.8, 0.4, 0.7, 0.2, 0.9, 0.1, 0.3, 0.5, 0.7, 0.9, 0.2, 0.4, 0.6, 0.8, 0.1, 0.3, 0.5, 0.7]]
      labels: [0, 1, 2]
      shape: [1, 5, 5]
    network:
      - {type: conv2d, filters: 2, kernel: [3, 2], stride: [2, 1], padding: valid}
      - {type: leaky_relu, alpha: 0.1}
      - {type: avg_pool2d, size: [1, 2]}
      - {type: conv2d, filters: 3, kernel: 2, stride: 1, padding: same}
      - tanh
      - flatten
      - {type: dropout, rate: 0.25}
      - {type: dense, units: 4}
      - {type: batch_norm, momentum: 0.8, epsilon: 0.01}
      - relu
      - {type: dense, units: 3}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9, nesterov: true, weight_decay: 0.01}
    train: {epochs: 3, batch_size: 3}
    """

  /// Conv batch norm and max-pool with overlapping windows and ties, MSE, Adam with weight decay.
  static let poolZoo = """
    seed: 5
    data:
      dataset: inline
      x: [[1, 1, 0, 2, 2, 0, 1, 1, 3, 0, 0, 3, 1, 2, 2, 1], [0, 2, 2, 0, 1, 1, 1, 1, 0, 0, 4, 4, 2, 1, 1, 2]]
      y: [[0.5, -0.5], [-1, 1]]
      shape: [1, 4, 4]
    network:
      - {type: conv2d, filters: 2, kernel: 2, padding: same, use_bias: false, weights: [[[[1, 0], [0, 1]]], [[[0.5, 0.5], [0.5, 0.5]]]]}
      - batch_norm
      - {type: max_pool2d, size: 2, stride: 1}
      - flatten
      - {type: dense, units: 2}
      - sigmoid
    loss: mse
    optimizer: {type: adam, learning_rate: 0.05, weight_decay: 0.001}
    train: {epochs: 3, batch_size: 2}
    """

  /// `same` padding with stride 2 (uneven padding), a 3×3 max-pool with stride 2 over
  /// overlapping windows, two channels in, half SSE, plain SGD with weight decay.
  static let strided = """
    seed: 7
    data:
      dataset: inline
      x: [[0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8, 0.4, 0.6, 0.0, 1.0, 0.3, 0.5, 0.7, 0.9, 0.2, 0.4, 0.6, 0.8, 0.1, 0.5, 0.5, 0.5, 0.5, 0.5,
           0.9, 0.1, 0.7, 0.3, 0.5, 0.8, 0.2, 0.6, 0.4, 1.0, 0.0, 0.7, 0.5, 0.3, 0.1, 0.8, 0.6, 0.4, 0.2, 0.9, 0.5, 0.4, 0.3, 0.2, 0.1]]
      y: [[0.2, 0.8]]
      shape: [2, 5, 5]
    network:
      - {type: conv2d, filters: 3, kernel: 3, stride: 2, padding: same}
      - relu
      - {type: conv2d, filters: 2, kernel: [2, 3], stride: [1, 2], padding: same}
      - {type: max_pool2d, size: 2, stride: 1}
      - flatten
      - {type: dense, units: 2}
    loss: half_sse
    optimizer: {type: sgd, learning_rate: 0.2, weight_decay: 0.05}
    train: {epochs: 3, batch_size: 1}
    """

  /// Layer norm on flat vectors (one column of d cells per sample) between two dense layers.
  static let layerNorm = """
    seed: 6
    data:
      dataset: inline
      x: [[0.2, 0.9, 0.4], [0.8, 0.1, 0.5], [0.6, 0.3, 0.9], [0.1, 0.7, 0.2]]
      labels: [0, 1, 1, 0]
    network:
      - {type: dense, units: 4}
      - layer_norm
      - {type: dense, units: 2}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.5}
    train: {epochs: 3, batch_size: 4}
    """

  /// Layer norm on sequences: each sample 3 tokens × 4 features (a grid per sample), then
  /// flatten, dense, softmax; γ and β moved by Adam before the traced step.
  static let layerNormSequence = """
    seed: 8
    data:
      dataset: inline
      x: [[0.1, 0.5, 0.9, 0.2, 0.4, 0.8, 0.3, 0.7, 0.6, 0.0, 1.0, 0.5],
          [0.9, 0.1, 0.3, 0.8, 0.6, 0.2, 0.7, 0.4, 0.5, 1.0, 0.0, 0.45],
          [0.5, 0.5, 0.2, 0.9, 0.1, 0.3, 0.6, 0.8, 0.4, 0.7, 0.2, 0.9]]
      labels: [0, 1, 0]
      shape: [3, 4]
    network:
      - {type: layer_norm, epsilon: 0.001}
      - flatten
      - {type: dense, units: 2}
      - softmax
    loss: cross_entropy
    optimizer: {type: adam, learning_rate: 0.05}
    train: {epochs: 3, batch_size: 3}
    """

  /// Binary cross-entropy after a sigmoid, SGD with plain momentum.
  static let binary = """
    seed: 2
    data:
      dataset: inline
      x: [[0, 0], [0, 1], [1, 0], [1, 1]]
      labels: [0, 1, 1, 0]
    network:
      - {type: dense, units: 3}
      - tanh
      - {type: dense, units: 1}
      - sigmoid
    loss: binary_cross_entropy
    optimizer: {type: sgd, learning_rate: 0.5, momentum: 0.5}
    train: {epochs: 5, batch_size: 4}
    """

  /// Cross-entropy without a softmax layer (logits), binary cross-entropy-free half SSE elsewhere.
  static let logits = """
    seed: 4
    data:
      dataset: inline
      x: [[0.2, 0.4], [0.9, 0.1], [0.5, 0.5]]
      labels: [0, 1, 2]
    network:
      - {type: dense, units: 3}
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.3}
    train: {epochs: 2, batch_size: 3}
    """

  /// Causal self-attention with two heads on 3 tokens of 4, then flatten and dense; SGD with
  /// momentum. (Not Adam: ∂L/∂bk is 0 but for rounding, ~1e-17, and Adam's step m/(√s + ε)
  /// turns that noise into ~lr·1e-9 moves of bk that a spreadsheet's rounding cannot repeat.)
  static let attention = """
    seed: 6
    data:
      dataset: inline
      shape: [3, 4]
      x: [[0.5, -1, 0.25, 2, 1, 0, -0.5, 1, 0, 1, 1, -1], [1, 1, 0, 0, -1, 0.5, 0.5, 0, 2, -1, 0, 1],
          [0, 0, 1, 1, 0.5, 0.5, -1, 2, 1, 0, 0, -1], [-1, 2, 0, 1, 1, 1, 0.5, -0.5, 0, 0, 2, 1]]
      labels: [0, 1, 0, 1]
    network:
      - {type: self_attention, heads: 2, causal: true}
      - flatten
      - {type: dense, units: 2}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}
    train: {epochs: 3, batch_size: 2}
    """

  /// Self-attention without mask or biases, one head wider than the tokens (dₖ = 3, d = 2); SGD.
  static let attentionPlain = """
    seed: 8
    data:
      dataset: inline
      shape: [4, 2]
      x: [[0.1, 0.9, 0.3, 0.7, 0.5, 0.2, 0.8, 0.4], [0.6, 0.0, 1.0, 0.3, 0.5, 0.7, 0.9, 0.2]]
      y: [[0.2, 0.8], [0.7, 0.1]]
    network:
      - {type: self_attention, head_size: 3, use_bias: false}
      - flatten
      - {type: dense, units: 2}
    loss: mse
    optimizer: {type: sgd, learning_rate: 0.3}
    train: {epochs: 2, batch_size: 2}
    """

  /// Sequences of 3 positions × 2 numbers: dense on the last axis, GELU, a learned and a
  /// sinusoidal positional table, dense again per position, then flatten and a classifier.
  static let sequence = """
    seed: 6
    data:
      dataset: inline
      x: [[0.2, -0.4, 0.9, 0.1, -0.7, 0.5], [0.6, 0.3, -0.2, -0.8, 0.4, 0.0], [-0.5, 0.7, 0.1, 0.3, 0.9, -0.1]]
      labels: [0, 1, 2]
      shape: [3, 2]
    network:
      - {type: dense, units: 4}
      - gelu
      - positional
      - {type: positional, kind: sinusoidal}
      - {type: dense, units: 2, use_bias: false}
      - flatten
      - {type: dense, units: 3}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.3, momentum: 0.5}
    train: {epochs: 2, batch_size: 2}
    """

  /// A one-block causal transformer on the reverse task (2 symbols, vocabulary 4: T = 3): embedding,
  /// learned positions, a pre-norm attention block and a feed-forward block (residual sums), a final
  /// layer norm, the per-position softmax and token cross-entropy (the question's position masked),
  /// Adam. Attention without biases: ∂L/∂bk is 0 but for rounding, which Adam would magnify.
  static let transformer = """
    seed: 3
    data: {dataset: sequences, task: reverse, length: 2, vocabulary: 4, count: 8}
    network:
      - {type: embedding, size: 4}
      - positional
      - residual:
          - layer_norm
          - {type: self_attention, heads: 2, causal: true, use_bias: false}
      - residual:
          - layer_norm
          - {type: dense, units: 6}
          - gelu
          - {type: dense, units: 4}
      - layer_norm
      - {type: dense, units: 4}
      - softmax
    loss: token_cross_entropy
    optimizer: {type: adam, learning_rate: 0.01}
    train: {epochs: 2, batch_size: 2}
    """

  /// Token ids (inline, 4 positions, 5 tokens, token 3 twice in one sample): embedding,
  /// learned positions, dense per position, GELU, then flatten and a classifier.
  static let tokens = """
    seed: 8
    data:
      dataset: inline
      x: [[0, 1, 2, 1], [3, 3, 0, 4], [2, 4, 1, 0], [1, 0, 3, 2]]
      labels: [0, 1, 2, 1]
    network:
      - {type: embedding, size: 3, vocabulary: 5}
      - positional
      - {type: dense, units: 2}
      - gelu
      - flatten
      - {type: dense, units: 3}
      - softmax
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.5}
    train: {epochs: 2, batch_size: 2}
    """
}

/// |a − b| within `relative` of the larger magnitude, or within `absolute` near zero.
func close(_ a: Double, _ b: Double, relative: Double = 1e-9, absolute: Double = 1e-12) -> Bool {
  abs(a - b) <= max(absolute, relative * max(abs(a), abs(b)))
}

/// Runs the debug `sheetnet` (or the one beside the test runner) in the package folder: status, stdout, stderr.
func sheetnet(_ args: [String]) throws -> (status: Int32, out: String, err: String) {
  let process = Process()
  var binary = packageRoot.appendingPathComponent(".build/debug/sheetnet")
  if !FileManager.default.fileExists(atPath: binary.path) {
    binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sheetnet")
  }
  process.executableURL = binary
  process.arguments = args
  process.currentDirectoryURL = packageRoot
  let out = Pipe(), err = Pipe()
  process.standardOutput = out
  process.standardError = err
  try process.run()
  let o = out.fileHandleForReading.readDataToEndOfFile(), e = err.fileHandleForReading.readDataToEndOfFile()
  process.waitUntilExit()
  return (process.terminationStatus, String(decoding: o, as: UTF8.self), String(decoding: e, as: UTF8.self))
}

/// The files directly in `folder`, by name, with their bytes (SheetNet's manifest aside).
func contents(_ folder: String) -> [String: Data] {
  let names = ((try? FileManager.default.contentsOfDirectory(atPath: folder)) ?? []).filter { $0 != ".sheetnet-manifest" }
  return Dictionary(uniqueKeysWithValues: names.map { ($0, FileManager.default.contents(atPath: folder + "/" + $0) ?? Data()) })
}

/// Every text an exercise sheet writes (`answers`: the key's pages), each page drawn with real
/// font metrics and held to the print rules (`LayoutAudit`); `context` names a page's problems.
func auditedExerciseTexts(_ content: ExerciseSheet.Content, answers: Bool, _ context: String) throws -> [String] {
  let measurer = CairoCanvas(try Context(try Surface.image(width: 1, height: 1)), fonts: try FontFaces.load())
  var texts: [String] = []
  for page in ExerciseSheet.pages(content, answers: answers) {
    let canvas = RecordingCanvas(measurer: { measurer.measure($0, style: $1) })
    page.draw(canvas)
    let audit = LayoutAudit(canvas, size: page.size, theme: ExerciseSheet.theme)
    #expect(audit.problems.isEmpty, "\(context) \(page.name): \(audit.problems.prefix(3))")
    texts += canvas.texts.map(\.string)
  }
  return texts
}
