import Foundation
import Testing
@testable import SheetNet

/// The catalogue of hostile inputs: lessons, CSV, model and IDX files, and command lines that a
/// typo or a shared file can bring. Each must end with status 1, exactly one stderr line
/// `sheetnet: error: …` naming the culprit, no new or changed file in the project or the output
/// folder, and no temporaries left — and never a crash or a hang.
@Suite(.serialized) struct HostileCatalogueTests {
  /// One bad input: files to write into a scratch project (path → bytes), the command, and a
  /// piece of text the error line must hold.
  struct Case: Sendable, CustomStringConvertible {
    var label: String
    var files: [String: [UInt8]]
    var arguments: [String]
    var mentions: String
    var description: String { label }
  }

  static let inline = "data: {dataset: inline, x: [[0, 0], [0, 1], [1, 0], [1, 1]], labels: [0, 1, 1, 0]}\nloss: binary_cross_entropy\n"
  static let net = "network: [{type: dense, units: 1}, sigmoid]\n"

  /// A lesson case: `train` on Worksheets/bad.yaml.
  static func lesson(_ label: String, _ yaml: String, _ mentions: String, extra: [String: [UInt8]] = [:]) -> Case {
    var files = extra
    files["Worksheets/bad.yaml"] = Array(yaml.utf8)
    return Case(label: label, files: files, arguments: ["train", "Worksheets/bad.yaml", "--output", "Output/bad"], mentions: mentions)
  }

  /// A CSV case: a lesson reading data/bad.csv.
  static func csv(_ label: String, _ text: String, _ mentions: String) -> Case {
    lesson(label, "data: {dataset: csv, file: ../data/bad.csv}\nnetwork: [{type: dense, units: 2}, softmax]\n", mentions,
           extra: ["data/bad.csv": Array(text.utf8)])
  }

  /// A model case: `evaluate` on Output/bad/model.json written as given.
  static func model(_ label: String, _ json: String, _ mentions: String) -> Case {
    Case(label: label, files: ["Output/bad/model.json": Array(json.utf8)], arguments: ["evaluate", "Output/bad/model.json"], mentions: mentions)
  }

  /// An IDX case: a lesson reading data/images.idx and data/labels.idx.
  static func idx(_ label: String, images: [UInt8], labels: [UInt8], _ mentions: String) -> Case {
    lesson(label, "data: {dataset: idx, images: ../data/images.idx, label_file: ../data/labels.idx}\nnetwork: [flatten, {type: dense, units: 2}, softmax]\n",
           mentions, extra: ["data/images.idx": images, "data/labels.idx": labels])
  }

  /// A small CNN on the shipped digits (3×3 valid convolution: a 6×6 map, 36 positions, 2 filters).
  static let cnn: [String: [UInt8]] = ["Worksheets/cnn.yaml": Array("""
    seed: 1
    data: {dataset: digits, shape: [1, 8, 8], preprocess: {divide: 16}, split: {test: 0.2}}
    network: [{type: conv2d, filters: 2, kernel: 3}, relu, flatten, {type: dense, units: 10}, softmax]
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.1}
    train: {epochs: 1, batch_size: 32}

    """.utf8)]

  /// An exercise case: `exercise` of Mazur's lesson (copied into the scratch project) with `arguments`.
  static func exercise(_ label: String, _ arguments: [String], _ mentions: String) -> Case {
    let mazur = (try? String(contentsOfFile: packagePath("Worksheets/mazur.yaml"), encoding: .utf8)) ?? ""
    return Case(label: label, files: ["Worksheets/m.yaml": Array(mazur.utf8)],
                arguments: ["exercise", "Worksheets/m.yaml", "--output", "Output/m"] + arguments, mentions: mentions)
  }

  /// A tiny character model of inline text (tokens a, b, c), its attention causal or not, with `build: {generate: …}`.
  static func textLesson(causal: Bool, generate: String) -> [String: [UInt8]] {
    ["Worksheets/text.yaml": Array("""
      seed: 1
      data: {dataset: text, text: "abcabcabcabcabcabc", context: 3, stride: 1}
      network: [{type: embedding, size: 2}, {type: self_attention, heads: 1, causal: \(causal)}, {type: dense, units: 3}, softmax]
      loss: token_cross_entropy
      optimizer: {type: adam, learning_rate: 0.01}
      train: {epochs: 1, batch_size: 4}
      build: {worksheets: none, figures: none, exercise: none, generate: \(generate)}

      """.utf8)]
  }

  /// 25 million parameters on two inputs (dense 5000 × 5000): trains within the memory limit,
  /// but its trace, worksheets, figures and model.json would not fit; 100,000 epochs.
  static let huge: [String: [UInt8]] = ["Worksheets/huge.yaml": Array("""
    data: {dataset: xor, count: 200}
    network: [{type: dense, units: 5000}, relu, {type: dense, units: 5000}, relu, {type: dense, units: 2}, softmax]
    loss: cross_entropy
    optimizer: {type: sgd, learning_rate: 0.1, momentum: 0.9}
    train: {epochs: 100000, batch_size: 32}

    """.utf8)]

  /// A million points in batches of 100,000: trains in seconds, but a traced batch, its
  /// worksheets and a saliency over the whole set would not fit.
  static func million(epochs: Int) -> [String: [UInt8]] {
    ["Worksheets/million.yaml": Array("""
      data: {dataset: circle, count: 1000000}
      network: [{type: dense, units: 200}, relu, {type: dense, units: 2}, softmax]
      loss: cross_entropy
      optimizer: {type: adam}
      train: {epochs: \(epochs), batch_size: 100000}

      """.utf8)]
  }

  /// Dense 1000 × 1000 on 200 points for 100,000 epochs: fits in memory, trains for hours.
  static let long: [String: [UInt8]] = ["Worksheets/long.yaml": Array("""
    data: {dataset: xor, count: 200}
    network: [{type: dense, units: 1000}, relu, {type: dense, units: 1000}, relu, {type: dense, units: 2}, softmax]
    loss: cross_entropy
    train: {epochs: 100000}
    build: {worksheets: none}

    """.utf8)]

  static func header(_ magic: UInt32, _ dims: [UInt32]) -> [UInt8] {
    ([magic] + dims).flatMap { v in [UInt8(v >> 24), UInt8(v >> 16 & 0xff), UInt8(v >> 8 & 0xff), UInt8(v & 0xff)] }
  }

  static let validModel = """
    {"format": "sheetnet-model", "version": 1, "lesson": {"name": "bad", "path": "Worksheets/bad.yaml", "seed": 1, "source": ""},
     "input_shape": [2], "loss": "binary_cross_entropy", "optimizer": {"type": "sgd", "step": 0, "options": {"learning_rate": 0.5}},
     "preprocess": {"type": "none"}, "classes": [],
     "layers": [{"type": "dense", "name": "dense1", "options": {"units": 1, "init": "glorot", "use_bias": true},
                 "parameters": {"W": {"shape": [1, 2], "trainable": true, "values": [0.5, -0.5]},
                                "b": {"shape": [1], "trainable": true, "values": [0]}}},
                {"type": "sigmoid", "name": "sigmoid1", "options": {}, "parameters": {}}]}
    """

  /// xor as shipped (the catalogue's Worksheets/xor.yaml), trained here: Output/xor/model.json,
  /// with its fingerprint, and history.csv. Empty when training fails (the cases then fail).
  static let trainedXor: (model: String, history: String) = {
    guard let text = try? String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8),
          let lesson = try? Lesson.parse(text, path: "Worksheets/xor.yaml"), let run = try? LessonRun(lesson),
          (try? run.train()) != nil else { return ("", "") }
    return (ModelFile(run: run, savedIn: "Output/xor").text, run.history.csv(layers: run.model.layers.map(\.name)))
  }()

  /// A model case on the trained xor whose text has `what` replaced by `with` (its fingerprint
  /// kept): `arguments` must refuse it as not the lesson's network, naming `mentions`.
  static func altered(_ label: String, _ what: String, _ with: String, _ arguments: [String], _ mentions: String) -> Case {
    Case(label: label, files: ["Output/xor/model.json": Array(trainedXor.model.replacingOccurrences(of: what, with: with).utf8),
                               "Output/xor/history.csv": Array(trainedXor.history.utf8)],
         arguments: arguments, mentions: mentions)
  }

  static let cases: [Case] = [
    // Lessons.
    lesson("dense with 999,999,999 units", inline + "network: [{type: dense, units: 999999999}]\n", "units"),
    lesson("a zero extent in shape", "data: {dataset: inline, x: [[1, 2]], y: [[1]], shape: [0, 64, 64]}\nloss: mse\nnetwork: [flatten]\n", "shape"),
    lesson("a negative extent in shape", "data: {dataset: inline, x: [[1, 2]], y: [[1]], shape: [-1, -2]}\nloss: mse\nnetwork: [flatten]\n", "shape"),
    lesson("an empty shape", "data: {dataset: inline, x: [[1]], y: [[1]], shape: []}\nloss: mse\nnetwork: [flatten]\n", "shape"),
    lesson("a label of 1e300", "data: {dataset: inline, x: [[0], [1]], labels: [0, 1e300]}\nnetwork: [{type: dense, units: 2}]\n", "label"),
    lesson("a label of -1", "data: {dataset: inline, x: [[0], [1]], labels: [0, -1]}\nnetwork: [{type: dense, units: 2}]\n", "label"),
    lesson("a label of 0.5", "data: {dataset: inline, x: [[0], [1]], labels: [0, 0.5]}\nnetwork: [{type: dense, units: 2}]\n", "label"),
    lesson("samples without features", "data: {dataset: inline, x: [[], []], labels: [0, 1]}\nnetwork: [{type: dense, units: 2}]\n", "'x'"),
    lesson("a split leaving nothing to train on", "data: {dataset: inline, x: [[0], [1], [2], [3]], labels: [0, 1, 0, 1], split: {test: 0.9}}\nnetwork: [{type: dense, units: 2}]\n", "train on"),
    lesson("the billion laughs", "a: &a [x, x, x, x, x, x, x, x, x, x]\n" + (1...9).map { "a\($0): &a\($0) [" + Array(repeating: $0 == 1 ? "*a" : "*a\($0 - 1)", count: 10).joined(separator: ",") + "]" }.joined(separator: "\n") + "\ndata: *a9\n", "alias"),
    lesson("nesting 5,000 deep", String(repeating: "[", count: 5000) + String(repeating: "]", count: 5000) + "\n", "bad.yaml"),
    lesson("an unknown top-level key", "epoch: 3\n" + inline + net, "epoch"),
    lesson("an unknown layer type", inline + "network: [{type: dense, units: 1}, sigmoud]\n", "sigmoud"),
    lesson("an unknown layer key", inline + "network: [{type: dense, unit: 1}]\n", "unit"),
    lesson("an output folder outside the project", inline + net + "output: ../../../../../tmp/elsewhere\n", "output"),
    lesson("an empty output folder (the lesson's own folder)", inline + net + "output: \"\"\n", "output"),
    lesson("the output folder Output/ itself", inline + net + "output: ../Output\n", "output"),
    lesson("the output folder Worksheets/", inline + net + "output: ../Worksheets\n", "output"),
    lesson("the output folder the project", inline + net + "output: ..\n", "output"),
    lesson("an output folder climbing out of Output/", inline + net + "output: ../Output/../docs\n", "output"),
    lesson("a data file climbing out to /etc/passwd", "data: {dataset: csv, file: ../../../../../../../../../etc/passwd}\n" + net, "outside"),
    lesson("a billion epochs", inline + net + "train: {epochs: 1000000000}\n", "epochs"),
    lesson("a batch size of 0", inline + net + "train: {batch_size: 0}\n", "batch_size"),
    lesson("a negative learning rate", inline + net + "optimizer: {type: sgd, learning_rate: -1}\n", "learning_rate"),
    lesson("a learning rate that is not a number", inline + net + "optimizer: {type: sgd, learning_rate: .nan}\n", "learning_rate"),
    lesson("momentum of 1", inline + net + "optimizer: {type: sgd, learning_rate: 0.1, momentum: 1}\n", "momentum"),
    lesson("a dropout rate of 1", inline + "network: [{type: dropout, rate: 1}, {type: dense, units: 1}]\n", "rate"),
    lesson("a kernel larger than the image", "data: {dataset: inline, x: [[1, 2, 3, 4]], y: [[1]], shape: [1, 2, 2]}\nloss: mse\nnetwork: [{type: conv2d, filters: 1, kernel: 3}, flatten, {type: dense, units: 1}]\n", "kernel"),
    lesson("weights of the wrong shape", inline + "network: [{type: dense, units: 1, weights: [[1, 2, 3]]}]\n", "weights"),
    lesson("an empty file", "", "empty"),
    lesson("text that is not YAML", "data: [unclosed\n  - : :\n", "YAML"),
    lesson("a lesson name with a slash", "name: ../escape\n" + inline + net, "name"),
    lesson("a lesson named ..", "name: ..\n" + inline + net, "'..'"),
    lesson("a layer name climbing out of the project", inline + "network: [{type: dense, units: 1, name: ../../../../outside/pwned}, sigmoid]\n", "pwned"),
    lesson("a layer name holding a line break", inline + "network: [{type: dense, units: 1, name: \"a\\nb\"}, sigmoid]\n", "'a\\nb'"),
    lesson("a layer name of 65 characters", inline + "network: [{type: dense, units: 1, name: \(String(repeating: "n", count: 65))}, sigmoid]\n", "64"),
    lesson("two layers named h", inline + "network: [{type: dense, units: 1, name: h}, {type: sigmoid, name: h}]\n", "'h'"),
    lesson("a layer named like another's automatic name", inline + "network: [{type: dense, units: 1}, {type: sigmoid, name: dense1}]\n", "automatic"),
    lesson("an unknown layer type holding ESC", inline + "network: [\"\\e[2Jdense\"]\n", "\\e[2jdense"),
    lesson("more classes than outputs", "data: {dataset: inline, x: [[0], [1], [2]], labels: [0, 1, 2]}\nnetwork: [{type: dense, units: 2}]\n", "classes"),
    lesson("an unknown loss", inline.replacingOccurrences(of: "binary_cross_entropy", with: "hinge") + net, "hinge"),
    lesson("an unknown optimizer", inline + net + "optimizer: {type: rmsprop}\n", "rmsprop"),
    lesson("batch norm momentum 1.5", inline + "network: [{type: batch_norm, momentum: 1.5}, {type: dense, units: 1}]\n", "momentum"),
    lesson("an unknown dataset", "data: {dataset: mnist}\n" + net, "mnist"),
    lesson("a missing data file", "data: {dataset: csv, file: nowhere.csv}\n" + net, "nowhere.csv"),
    lesson("y rows that do not match x", "data: {dataset: inline, x: [[0], [1]], y: [[0]]}\nloss: mse\n" + net, "rows"),
    lesson("a negative seed", "seed: -1\n" + inline + net, "seed"),
    lesson("a stride of 0", "data: {dataset: inline, x: [[1, 2, 3, 4]], y: [[1]], shape: [1, 2, 2]}\nloss: mse\nnetwork: [{type: conv2d, filters: 1, kernel: 1, stride: 0}]\n", "stride"),
    lesson("a y of 1e300", "data: {dataset: inline, x: [[0]], y: [[1e300]]}\nloss: mse\nnetwork: [{type: dense, units: 1}]\n", "'y'"),
    // CSV data.
    csv("a ragged CSV row", "a,b,label\n1,2,0\n3,1\n", "bad.csv"),
    csv("a CSV field that is not a number", "1,2,0\n3,x4,1\n", "bad.csv"),
    csv("a CSV label of 0.5", "1,2,0\n3,4,0.5\n", "bad.csv"),
    csv("a CSV label of -1", "1,2,0\n3,4,-1\n", "bad.csv"),
    csv("a CSV label of 1e300", "1,2,0\n3,4,1e300\n", "bad.csv"),
    csv("an empty CSV file", "", "bad.csv"),
    csv("a CSV with only a header", "a,b,label\n", "bad.csv"),
    csv("a CSV holding nan", "1,2,0\nnan,4,1\n", "bad.csv"),
    csv("a CSV holding 1e999", "1,2,0\n1e999,4,1\n", "bad.csv"),
    // Model files.
    model("a model file of version 99", validModel.replacingOccurrences(of: "\"version\": 1", with: "\"version\": 99"), "version"),
    model("a W shape that disagrees with its values", validModel.replacingOccurrences(of: "\"shape\": [1, 2]", with: "\"shape\": [7, 7]"), "W"),
    model("a weight of 1e999", validModel.replacingOccurrences(of: "[0.5, -0.5]", with: "[1e999, -0.5]"), "model.json"),
    model("a model nested 50,000 deep", String(repeating: "[", count: 50_000) + String(repeating: "]", count: 50_000), "model.json"),
    model("a model file that is not JSON", "{\"format\": \"sheetnet-model\", ", "model.json"),
    model("an unknown layer type in a model", validModel.replacingOccurrences(of: "\"type\": \"sigmoid\"", with: "\"type\": \"swish\""), "swish"),
    model("a layer name with a slash in a model", validModel.replacingOccurrences(of: "\"name\": \"dense1\"", with: "\"name\": \"../x\""), "'../x'"),
    model("two layers of one name in a model", validModel.replacingOccurrences(of: "\"name\": \"sigmoid1\"", with: "\"name\": \"dense1\""), "also the name"),
    Case(label: "a CSV label beyond the model's outputs", files: ["Output/bad/model.json": Array(validModel.utf8), "data/more.csv": Array("0,1,0\n1,0,3\n".utf8)],
         arguments: ["evaluate", "Output/bad/model.json", "--data", "data/more.csv"], mentions: "label 3"),
    Case(label: "a missing model file", files: [:], arguments: ["evaluate", "Output/none/model.json"], mentions: "model.json"),
    // IDX files.
    idx("a truncated IDX header", images: [0, 0, 8], labels: header(0x801, [2]) + [0, 1], "images.idx"),
    idx("IDX dimensions whose product overflows", images: header(0x803, [0xFFFF_FFFF, 0xFFFF_FFFF, 0xFFFF_FFFF]), labels: header(0x801, [2]) + [0, 1], "images.idx"),
    idx("an IDX file of the wrong kind", images: header(0x801, [2]) + [0, 1], labels: header(0x801, [2]) + [0, 1], "images.idx"),
    idx("IDX with fewer pixels than it declares", images: header(0x803, [2, 28, 28]) + [1, 2, 3], labels: header(0x801, [2]) + [0, 1], "images.idx"),
    // Command lines.
    Case(label: "an unknown figure kind", files: [:], arguments: ["figure", "histogram", "Worksheets/xor.yaml"], mentions: "histogram"),
    Case(label: "--digits 1000", files: [:], arguments: ["trace", "Worksheets/xor.yaml", "--digits", "1000"], mentions: "--digits"),
    Case(label: "--scale 0", files: [:], arguments: ["figure", "training", "Worksheets/xor.yaml", "--scale", "0"], mentions: "scale"),
    Case(label: "--epochs -5", files: [:], arguments: ["train", "Worksheets/xor.yaml", "--epochs", "-5"], mentions: "epochs"),
    Case(label: "--step 0", files: [:], arguments: ["trace", "Worksheets/xor.yaml", "--step", "0"], mentions: "--step"),
    Case(label: "--step 99999999", files: [:], arguments: ["trace", "Worksheets/xor.yaml", "--step", "99999999"], mentions: "10,000,000"),
    Case(label: "--sample 0", files: [:], arguments: ["trace", "Worksheets/xor.yaml", "--sample", "0"], mentions: "--sample"),
    Case(label: "export --format pdf", files: [:], arguments: ["export", "Worksheets/xor.yaml", "--format", "pdf"], mentions: "pdf"),
    Case(label: "trace --unit on no such layer", files: [:], arguments: ["trace", "Worksheets/xor.yaml", "--unit", "nosuch:1", "--save"], mentions: "nosuch"),
    // Figure options out of range, or given to a kind that does not read them: refused before
    // any training, so nothing is written.
    Case(label: "figure training --layer", files: [:], arguments: ["figure", "training", "Worksheets/xor.yaml", "--layer", "2"], mentions: "--layer"),
    Case(label: "figure activations --positions", files: [:], arguments: ["figure", "activations", "Worksheets/xor.yaml", "--positions", "3"], mentions: "--positions"),
    Case(label: "figure decision-boundary --at", files: [:], arguments: ["figure", "decision-boundary", "Worksheets/xor.yaml", "--at", "1,1"], mentions: "--at"),
    Case(label: "figure gradients --layer 7 of 4", files: [:], arguments: ["figure", "gradients", "Worksheets/xor.yaml", "--layer", "7"], mentions: "--layer"),
    Case(label: "figure gradients on a layer named a/b", files: ["Worksheets/bad.yaml": Array((inline + "network: [{type: dense, units: 1, name: a/b}, sigmoid]\n").utf8)],
         arguments: ["figure", "gradients", "Worksheets/bad.yaml", "--layer", "1"], mentions: "'a/b'"),
    Case(label: "figure graph on two layers named h", files: ["Worksheets/bad.yaml": Array((inline + "network: [{type: dense, units: 1, name: h}, {type: sigmoid, name: h}]\n").utf8)],
         arguments: ["figure", "graph", "Worksheets/bad.yaml"], mentions: "'h'"),
    Case(label: "figure conv-step on a network without convolutions", files: [:], arguments: ["figure", "conv-step", "Worksheets/xor.yaml"], mentions: "conv"),
    Case(label: "figure conv-step --at outside the map", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--at", "99,1"], mentions: "--at"),
    Case(label: "figure conv-step --at malformed", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--at", "3"], mentions: "--at"),
    Case(label: "figure conv-step --layer of no conv", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--layer", "dense1"], mentions: "--layer"),
    Case(label: "figure conv-step --positions beyond the map", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--positions", "40"], mentions: "--positions"),
    Case(label: "figure conv-step --positions 1000", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--positions", "1000"], mentions: "--positions"),
    Case(label: "figure conv-step --filter beyond the filters", files: cnn, arguments: ["figure", "conv-step", "Worksheets/cnn.yaml", "--filter", "3"], mentions: "--filter"),
    Case(label: "figure feature-maps --sample beyond the split", files: cnn, arguments: ["figure", "feature-maps", "Worksheets/cnn.yaml", "--sample", "99999"], mentions: "--sample"),
    Case(label: "figure filmstrip --epochs beyond the lesson", files: [:], arguments: ["figure", "filmstrip", "Worksheets/xor.yaml", "--epochs", "0,5000"], mentions: "--epochs"),
    Case(label: "figure filmstrip --epochs malformed", files: [:], arguments: ["figure", "filmstrip", "Worksheets/xor.yaml", "--epochs", "1,,x"], mentions: "--epochs"),
    Case(label: "figure --model that does not exist", files: [:], arguments: ["figure", "training", "Worksheets/xor.yaml", "--model", "Output/none/model.json"], mentions: "none/model.json"),
    Case(label: "figure --model of another lesson", files: ["Output/bad/model.json": Array(validModel.utf8), "Output/bad/history.csv": Array("epoch,train_loss,train_accuracy,validation_loss,validation_accuracy,test_loss,test_accuracy\n".utf8)],
         arguments: ["figure", "training", "Worksheets/xor.yaml", "--model", "Output/bad/model.json"], mentions: "--model"),
    // A trained model altered after training, its fingerprint kept: not the lesson's network.
    altered("figure --model whose learning rate is not the lesson's", "\"learning_rate\": 0.5", "\"learning_rate\": 0.4",
            ["figure", "training", "Worksheets/xor.yaml", "--model", "Output/xor/model.json"], "learning_rate 0.4, the lesson says 0.5"),
    altered("figure --model whose activation is not the lesson's", "\"type\": \"sigmoid\"", "\"type\": \"tanh\"",
            ["figure", "training", "Worksheets/xor.yaml", "--model", "Output/xor/model.json"], "layer 2 (sigmoid1) is tanh"),
    altered("evaluate a model whose layer is renamed", "\"name\": \"dense1\"", "\"name\": \"hidden\"",
            ["evaluate", "Output/xor/model.json"], "layer 1 is named hidden, the lesson names it dense1"),
    altered("summary of a model whose loss is not the lesson's", "\"loss\": \"binary_cross_entropy\"", "\"loss\": \"mse\"",
            ["summary", "Output/xor/model.json"], "the loss is mse"),
    Case(label: "figure --model with --retrain", files: [:], arguments: ["figure", "training", "Worksheets/xor.yaml", "--model", "m.json", "--retrain"], mentions: "--retrain"),
    // Lessons too large for the machine: refused with the estimate before anything large is
    // allocated or any training starts (the memory each needed is measured below).
    Case(label: "trace of 25 M parameters", files: huge, arguments: ["trace", "Worksheets/huge.yaml"], mentions: "GB"),
    Case(label: "trace --sample 1 of 25 M parameters", files: huge, arguments: ["trace", "Worksheets/huge.yaml", "--sample", "1"], mentions: "GB"),
    Case(label: "export of 25 M parameters", files: huge, arguments: ["export", "Worksheets/huge.yaml", "--format", "csv"], mentions: "cells"),
    Case(label: "figure gradients of 25 M parameters", files: huge, arguments: ["figure", "gradients", "Worksheets/huge.yaml"], mentions: "GB"),
    Case(label: "figure architecture of 25 M parameters", files: huge, arguments: ["figure", "architecture", "Worksheets/huge.yaml"], mentions: "GB"),
    Case(label: "train of 25 M parameters and its model.json", files: huge, arguments: ["train", "Worksheets/huge.yaml", "--epochs", "1"], mentions: "model.json"),
    Case(label: "build of 25 M parameters", files: huge, arguments: ["build", "Worksheets/huge.yaml"], mentions: "huge"),
    Case(label: "trace of a batch of 100,000", files: million(epochs: 1), arguments: ["trace", "Worksheets/million.yaml"], mentions: "--sample 1"),
    Case(label: "export of a batch of 100,000", files: million(epochs: 1), arguments: ["export", "Worksheets/million.yaml"], mentions: "cells"),
    Case(label: "figure gradients of a million samples", files: million(epochs: 1), arguments: ["figure", "gradients", "Worksheets/million.yaml"], mentions: "GB"),
    Case(label: "build of a million samples", files: million(epochs: 1), arguments: ["build", "Worksheets/million.yaml"], mentions: "GB"),
    Case(label: "train a million samples for 100,000 epochs", files: million(epochs: 100_000), arguments: ["train", "Worksheets/million.yaml"], mentions: "--no-time-limit"),
    Case(label: "figure training after 100,000 epochs of a million", files: million(epochs: 100_000), arguments: ["figure", "training", "Worksheets/million.yaml"], mentions: "--no-time-limit"),
    // The page's generated text (`build: generate`): checked when the lesson is read, its prompt
    // against the vocabulary once the data is.
    lesson("generate with an empty prompt", inline + net + "build: {generate: {prompt: ''}}\n", "'prompt' must hold"),
    lesson("generate of 0 tokens", inline + net + "build: {generate: {length: 0}}\n", "length"),
    lesson("generate at a negative temperature", inline + net + "build: {generate: {temperature: -1}}\n", "temperature"),
    lesson("generate with an unknown key", inline + net + "build: {generate: {tokens: 5}}\n", "tokens"),
    Case(label: "build generating from a prompt outside the vocabulary", files: textLesson(causal: true, generate: "{prompt: 'abz'}"),
         arguments: ["build", "Worksheets/text.yaml"], mentions: "'z' is not in text's vocabulary"),
    Case(label: "build generating from a network that reads ahead", files: textLesson(causal: false, generate: "{prompt: ab}"),
         arguments: ["build", "Worksheets/text.yaml"], mentions: "causal: true"),
    // The exercise's focus, givens and blanks (`--focus`, `--given`, `--blank`) name trace entries.
    exercise("an exercise focus on no entry", ["--focus", "nope.forward.z"], "no entry named 'nope.forward.z'"),
    exercise("an exercise given that is no entry", ["--given", "hidden.forward.zz"], "exercise given: no entry named 'hidden.forward.zz'"),
    exercise("an entry both given and worked out", ["--focus", "hidden.forward.z", "--given", "hidden.forward.z"], "name it once"),
    exercise("an empty focus list", ["--focus", ","], "--focus"),
    exercise("a blank outside its entry", ["--blank", "hidden.forward.z[9]"], "hidden.forward.z[9]"),
    Case(label: "a build whose exercise focus is no entry", files: ["Worksheets/bad.yaml": Array((inline + net + "build: {exercise: {focus: [nope.forward.z]}}\n").utf8)],
         arguments: ["build", "Worksheets/bad.yaml"], mentions: "no entry named 'nope.forward.z'"),
    Case(label: "build of hours of training", files: long, arguments: ["build", "Worksheets/long.yaml"], mentions: "--no-time-limit"),
    Case(label: "train for hours", files: long, arguments: ["train", "Worksheets/long.yaml"], mentions: "--no-time-limit"),
    Case(label: "figure filmstrip after hours of training", files: long, arguments: ["figure", "filmstrip", "Worksheets/long.yaml"], mentions: "--no-time-limit"),
    Case(label: "trace at step 900,000 of a million", files: million(epochs: 100_000), arguments: ["trace", "Worksheets/million.yaml", "--step", "900000", "--sample", "1"], mentions: "--no-time-limit"),
    Case(label: "trace --check of 25 M parameters", files: huge, arguments: ["trace", "Worksheets/huge.yaml", "--sample", "1", "--check"], mentions: "GB"),
    Case(label: "an unknown command", files: [:], arguments: ["trian", "Worksheets/xor.yaml"], mentions: "trian"),
    Case(label: "no lesson given", files: [:], arguments: ["train"], mentions: "lesson"),
    Case(label: "a lesson that does not exist", files: [:], arguments: ["train", "Worksheets/nowhere.yaml"], mentions: "nowhere.yaml"),
  ]


  @Test func theCatalogueHoldsAtLeastSixtyInputs() { #expect(Self.cases.count >= 60) }

  @Test func readmeStatesTheCatalogueSize() throws {
    let readme = try String(contentsOfFile: packagePath("README.md"), encoding: .utf8).replacingOccurrences(of: "\n", with: " ")
    #expect(readme.contains("`HostileCatalogueTests` runs \(Self.cases.count) bad inputs"), "README's count is not the catalogue's \(Self.cases.count)")
  }

  @Test(arguments: cases)
  func aHostileInputGivesOneLineAndTouchesNothing(_ c: Case) throws {
    // A scratch project: Worksheets/xor.yaml, the case's files, and earlier good output.
    let root = NSTemporaryDirectory() + "sheetnet-catalogue-\(getpid())-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: root) }
    for (path, bytes) in c.files.merging(["Worksheets/xor.yaml": Array((try String(contentsOfFile: packagePath("Worksheets/xor.yaml"), encoding: .utf8)).utf8),
                                          "Output/bad/history.csv": Array("epoch,loss\n1,0.5\n".utf8),
                                          "Output/xor/trace.txt": Array("an earlier trace\n".utf8)], uniquingKeysWith: { a, _ in a }) {
      let full = root + "/" + path
      try FileManager.default.createDirectory(atPath: (full as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
      try Data(bytes).write(to: URL(fileURLWithPath: full))
    }
    let before = snapshot(root)
    let r = try run(c.arguments, in: root)
    if let rss = r.maxResidentKB {
      print("catalogue memory: \(c.label): \(rss / 1024) MB maximum resident")
      #expect(rss * 1024 <= Limits.memoryBytes, "\(c.label): \(rss / 1024) MB resident, above the stated limit")
    }
    #expect(r.status == 1, "\(c.label): status \(r.status); \(r.err.prefix(300))")
    let lines = r.err.split(separator: "\n", omittingEmptySubsequences: true)
    #expect(lines.count == 1 && lines[0].hasPrefix("sheetnet: error: "), "\(c.label): \(r.err.prefix(500))")
    #expect(r.err.contains(c.mentions), "\(c.label): the line does not name '\(c.mentions)': \(r.err)")
    #expect(!r.err.contains("root:x:0:0"), "\(c.label): quotes a foreign file")
    let after = snapshot(root)
    #expect(after == before, "\(c.label): files changed: \(Set(after.keys).symmetricDifference(before.keys).sorted()) \(after.keys.filter { after[$0] != before[$0] }.sorted())")
  }

  /// Runs the built binary in `folder`, killing it after 60 s (a hang fails the test); under
  /// /usr/bin/time, where it exists, to measure the largest resident size (kB); and under
  /// prlimit, where it exists, with 4 GB of address space (`Limits.memoryBytes`): a case that
  /// would allocate more ends in "failed to allocate" and a signal, not in its one line.
  func run(_ arguments: [String], in folder: String) throws -> (status: Int32, err: String, maxResidentKB: Int?) {
    let process = Process()
    var binary = packageRoot.appendingPathComponent(".build/debug/sheetnet")
    if !FileManager.default.fileExists(atPath: binary.path) {
      binary = URL(fileURLWithPath: CommandLine.arguments[0]).deletingLastPathComponent().appendingPathComponent("sheetnet")
    }
    let timeFile = NSTemporaryDirectory() + "sheetnet-catalogue-rss-\(UUID().uuidString)"
    defer { try? FileManager.default.removeItem(atPath: timeFile) }
    var command = [binary.path] + arguments
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/prlimit") { command = ["/usr/bin/prlimit", "--as=\(Limits.memoryBytes)"] + command }
    if FileManager.default.isExecutableFile(atPath: "/usr/bin/time") { command = ["/usr/bin/time", "-f", "%M", "-o", timeFile] + command }
    process.executableURL = URL(fileURLWithPath: command[0])
    process.arguments = Array(command.dropFirst())
    process.currentDirectoryURL = URL(fileURLWithPath: folder)
    let err = Pipe()
    process.standardOutput = FileHandle.nullDevice
    process.standardError = err
    try process.run()
    let done = DispatchSemaphore(value: 0)
    DispatchQueue.global().async { process.waitUntilExit(); done.signal() }
    if done.wait(timeout: .now() + 60) == .timedOut {
      process.terminate()
      return (-1, "hung for 60 s", nil)
    }
    let rss = (try? String(contentsOfFile: timeFile, encoding: .utf8)).flatMap { Int($0.split(separator: "\n").last ?? "") }
    return (process.terminationStatus, String(decoding: err.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self), rss)
  }
}
