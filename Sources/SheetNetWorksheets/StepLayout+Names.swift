import SheetNet
import SheetNetTrace

/// The names a lesson's data give the rows and columns of a workbook, beside the indices: the
/// classes (`a₈ · digit 7`: the eighth output, counted from 1, is the digit 7, counted from 0),
/// the features (`x₃ · petal length (cm)`), and the names a lesson gives a layer's parameters
/// (Mazur's `w1 … w8`, see `Dense.labels`). Token lessons name their rows and columns by their
/// tokens instead (`TokenLabels`).
struct AxisNames {
  /// Each class as a cell shows it: `digit 7`, `letter C`, `setosa`, `class 2`.
  let classes: [String]
  /// Each feature of a flat input (iris's measurements); empty when the data name none.
  let features: [String]
  /// The layers whose outputs are scores over the classes: from the network's end back to (and
  /// with) the last layer with parameters, whose weight rows and biases are one per class too.
  let classLayers: Set<String>, lastWeighted: String?
  /// The first layer (its weights' columns are the features) and its input-gradient entry.
  let first: String?, firstInputGradient: String?
  /// Each layer's names for its parameters' elements, by entry key (`W`, `b`).
  let parameters: [String: [String: [String]]]

  init(_ traced: TracedStep) {
    let data = traced.run.split.train, model = traced.run.model
    let tokens = data.isTokens
    let names = tokens ? [] : data.classNames
    classes = names.map { AxisNames.className($0, dataset: data.name) }
    var tail = Set<String>(), weighted: String? = nil
    if names.count > 1 && model.outputShape.last == names.count {
      for layer in model.layers.reversed() {
        tail.insert(layer.name)
        if !layer.parameters.isEmpty { weighted = layer.name; break }
      }
    }
    classLayers = tail
    lastWeighted = weighted
    features = tokens || data.x.rank != 2 ? [] : data.featureNames
    first = model.layers.first?.name
    firstInputGradient = model.layers.first.map { Tracer.name($0.name, .backward, $0.inputGradientKey) }
    var parameters: [String: [String: [String]]] = [:]
    for layer in model.layers {
      if let dense = layer as? Dense, !dense.labels.isEmpty { parameters[layer.name] = dense.labels }
    }
    self.parameters = parameters
  }

  /// A class name as a cell shows it: the shipped digits and letters say what they are, a bare
  /// number becomes `class 2`, any other name stays as it is.
  static func className(_ name: String, dataset: String) -> String {
    switch dataset {
    case "digits": "digit " + name
    case "letters": "letter " + name
    default: Int(name) != nil ? "class " + name : name
    }
  }

  /// The name of row `j` of the block `name` (nil: none), for its layout.
  func row(_ block: Block, _ j: Int) -> String? {
    let (layer, key) = TokenLabels.owner(block.name)
    switch block.placement.kind {
    case .samples(_, let k):
      if k == classes.count && (classLayers.contains(layer) || layer == "loss") { return classes[j] }
      if k == features.count && (block.name == "input.forward.x" || block.name == firstInputGradient) { return features[j] }
    case .matrix(let rows, _), .column(count: let rows):
      if layer == lastWeighted && rows == classes.count && !block.batched { return classes[j] }
      _ = key
    default: break
    }
    return nil
  }

  /// The name of column `i` of a matrix block (the features along the first layer's weights).
  func column(_ block: Block, _ i: Int) -> String? {
    guard case .matrix(_, let columns) = block.placement.kind, !block.batched, columns == features.count,
      TokenLabels.owner(block.name).layer == first else { return nil }
    return features[i]
  }

  /// The lesson's own name of element `i` of a parameter-shaped block (the parameter itself, its
  /// gradient, its new value, its optimizer state): Mazur's `w5` beside W j=1 i=1.
  func parameter(_ block: Block, _ i: Int) -> String? {
    let (layer, key) = TokenLabels.owner(block.name)
    guard let names = parameters[layer], !block.batched else { return nil }
    // W, dW, update W (and W.m, W.v, W.g …): the parameter is the key's last letter run after any 'd'.
    let base = key.split(separator: ".").first.map(String.init) ?? key
    let parameter = names[base] ?? (base.hasPrefix("d") ? names[String(base.dropFirst())] : nil)
    guard let parameter, i < parameter.count, block.shape.reduce(1, *) == parameter.count else { return nil }
    return parameter[i]
  }
}
