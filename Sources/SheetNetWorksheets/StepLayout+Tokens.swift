import SheetNet
import SheetNetTrace

/// The tokens behind a token lesson's blocks, so a worksheet reads like the text it works on:
/// the rows of every [N, T, ·] value are the sample's tokens (`t3 ‘7’`: position 3 holds the
/// character 7), the rows of E (and of the vocabulary layer's W and b) are the vocabulary
/// (`id 7 ‘7’`), the rows of an attention grid its query tokens and its columns its key tokens,
/// and the columns of the scores over the vocabulary (the last dense layer's z, the softmax, the
/// loss's one-hot rows and ∂L/∂z) the vocabulary's characters (`‘7’`).
///
/// Every label starts with `t`, `id`, `‘` or `Σ`, so no spreadsheet reads one as a formula, and a
/// token is shown as `Sequences.shown` shows it everywhere (every invisible character made
/// visible): a label is plain text whatever the data holds.
struct TokenLabels {
  /// What the rows or the columns of a block stand for.
  enum Axis: Equatable {
    /// The sample's token positions t1 … tT (rows of a sequence, queries of an attention grid).
    case positions
    /// The key positions of an attention grid (its columns).
    case keys
    /// The vocabulary's tokens, id 0 … V − 1.
    case vocabulary
  }

  /// The vocabulary, each token as a cell shows it.
  let vocabulary: [String]
  /// T, and each traced sample's token ids (the step's own input, edits included).
  let positions: Int, ids: [[Double]]
  /// The layers whose outputs are scores over the vocabulary: from the network's end back to
  /// (and with) the first layer that has weights (the dense layer to the vocabulary).
  let vocabularyLayers: Set<String>
  /// The model, to ask an owner which of its grids are query × key grids.
  let model: Sequential

  /// The labels of `traced`, or nil when its data are not tokens.
  init?(_ traced: TracedStep) {
    let data = traced.run.split.train
    guard data.isTokens, let x = traced.tracer.entry("input.forward.x"), x.value.rank == 2 else { return nil }
    vocabulary = data.vocabulary.map(Sequences.shown)
    let t = x.value.shape[1]
    positions = t
    ids = (0..<x.value.shape[0]).map { n in Array(x.value.data[n * t..<(n + 1) * t]) }
    model = traced.run.model
    var tail = Set<String>()
    if model.outputShape.last == vocabulary.count {
      for layer in model.layers.reversed() {
        tail.insert(layer.name)
        if !layer.parameters.isEmpty { break }
      }
    }
    vocabularyLayers = tail
  }

  /// Position `t` (0-based) of the traced samples `samples`: `t3 ‘7’`, or `t3 ‘7’ ‘2’` for two
  /// samples side by side; `t3` alone when no sample is named.
  func position(_ t: Int, samples: [Int]) -> String {
    "t\(t + 1)" + samples.map { " ‘" + token(ids[$0][t]) + "’" }.joined()
  }

  /// Vocabulary entry `v` as a row: `id 7 ‘7’`.
  func vocabularyRow(_ v: Int) -> String { "id \(v) ‘" + (v < vocabulary.count ? vocabulary[v] : "?") + "’" }

  /// Vocabulary entry `v` as a column: `‘7’`.
  func vocabularyColumn(_ v: Int) -> String { "‘" + (v < vocabulary.count ? vocabulary[v] : "?") + "’" }

  /// The token of an id, `?` for an id that is no token.
  func token(_ id: Double) -> String {
    let i = Int(exactly: id) ?? -1
    return i >= 0 && i < vocabulary.count ? vocabulary[i] : "?"
  }

  /// What the rows and the columns of the block `name` of `shape` stand for (nil: nothing token-like).
  func axes(_ name: String, shape: [Int], batched: Bool) -> (rows: Axis?, columns: Axis?) {
    let (layer, key) = TokenLabels.owner(name)
    let V = vocabulary.count, T = positions
    let queryKey = (model.layer(named: layer) as? any TokenGrids)?.queryKeyEntries.contains(key) ?? false
    if batched {
      switch shape.count {
      case 2 where shape[1] == T: return (.positions, nil)
      case 3 where shape[1] == T:
        let scores = shape[2] == V && (vocabularyLayers.contains(layer) || layer == "loss")
        return (.positions, scores ? .vocabulary : nil)
      case 4 where shape[2] == T: return (.positions, queryKey && shape[3] == T ? .keys : nil)
      default: return (nil, nil)
      }
    }
    if queryKey && shape == [T, T] { return (.positions, .keys) }
    let vocabularyRows = model.layer(named: layer) is Embedding || vocabularyLayers.contains(layer)
    if vocabularyRows && (shape.count == 1 || shape.count == 2) && shape[0] == V { return (.vocabulary, nil) }
    return (nil, nil)
  }

  /// Whether every row of the block `name`'s grids is a probability distribution (attention's A).
  static func sumsRows(_ name: String, model: Sequential) -> Bool {
    let (layer, key) = owner(name)
    return (model.layer(named: layer) as? any TokenGrids)?.distributionEntries.contains(key) ?? false
  }

  /// The layer and key of an entry or helper name: `attention1.forward.A` → (attention1, A),
  /// `loss.onehot` → (loss, onehot).
  static func owner(_ name: String) -> (layer: String, key: String) {
    let parts = name.split(separator: ".", maxSplits: 2, omittingEmptySubsequences: false).map(String.init)
    if parts.count == 2 { return (parts[0], parts[1]) }
    if parts.count == 3 { return parts[0] == "loss" ? (parts[0], parts[1] + "." + parts[2]) : (parts[0], parts[2]) }
    return (name, "")
  }
}
