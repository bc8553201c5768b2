import SheetNet

extension Catalogue {
  /// Bytes a figure of `kind` holds besides its run (data, training, model.json), by `Limits`'
  /// estimate, so that a command can refuse it before drawing: its pages (`Limits.bytesPerPixel`
  /// for the page being drawn, and each page kept encoded, at most 4 bytes a pixel), the
  /// network's outputs on the evaluation split, and what the kind computes of its own — step 1
  /// traced (`gradients`), a forward and backward pass over the whole evaluation split
  /// (`gradients`' saliency of inputs that are not images), a second network trained
  /// (`optimizers`, `filmstrip`, which keeps the weights of every epoch for its default epochs;
  /// `landscape`, which keeps each optimizer's path, M = [θₖ − c] and its Gram matrix), E's rows copied and centred and its d×d covariance twice over
  /// (`embeddings`), one sample's forward pass (`attention`, a page per attention layer), a forward pass of one
  /// sequence per generated token (`generation`, each step's caches replacing the last's).
  public static func memoryBytes(_ kind: FigureKind, _ source: FigureSource, _ options: FigureOptions, scale: Double) -> Int {
    let size = options.theme.size
    let pixels = Int(min(size.width * size.height * scale * scale, 1e15))
    let model = source.model
    let weightLayers = model.layers.map { Figure.weightNames($0).count }.reduce(0, +)
    let pages = kind == .convStep ? options.positions : kind == .gradients ? weightLayers + 2 : kind == .filters ? 2
      : kind == .attention ? (options.layer == nil ? max(1, Figure.attentionLayers(model).count) : 1) : 1
    var bytes = Limits.saturated(Limits.saturated(pixels, times: Limits.bytesPerPixel), plus: Limits.saturated(pixels, times: 4 * pages))
    guard let run = source.run else { return bytes }
    let evaluation = run.evaluationSet.data.count
    let outputs = model.outputShape.reduce(1, *)
    bytes = Limits.saturated(bytes, plus: Limits.saturated(evaluation, times: 8 * max(outputs, 1)))
    let batch = min(run.trainer.batchSize, run.split.train.count)
    switch kind {
    case .gradients:
      bytes = Limits.saturated(bytes, plus: Limits.traceSize(model, optimizer: run.optimizer, batch: batch).heldBytes)
      if Figure.imageShape(model.inputShape) == nil { bytes = Limits.saturated(bytes, plus: model.trainingBytes(batch: evaluation)) }
    case .attention, .generation:  // one sample's forward pass, every layer's cache (A is h·T² per attention layer)
      bytes = Limits.saturated(bytes, plus: model.trainingBytes(batch: 1))
    case .optimizers:
      bytes = Limits.saturated(bytes, plus: model.trainingBytes(batch: batch))
    case .landscape:  // a network training, then evaluating 256 at a time; the paths kept, M = [θₖ − c], its Gram matrix twice
      let paths = Figure.landscapePathNumbers(source)
      let points = Figure.optimizerChoices(for: source.lesson).count * (Figure.pathPoints + 1)
      bytes = Limits.saturated(bytes, plus: model.trainingBytes(batch: max(batch, min(256, run.split.train.count))))
      bytes = Limits.saturated(bytes, plus: Limits.saturated(Limits.saturated(paths, times: 16), plus: Limits.saturated(points * points, times: 16)))
    case .filmstrip:
      bytes = Limits.saturated(bytes, plus: model.trainingBytes(batch: batch))
      if options.epochs == nil {  // the weights at every epoch, for the default epochs
        let numbers = Figure.filmstripWeightNumbers(model, epochs: run.trainer.epochs)
        if numbers <= Figure.filmstripWeightLimit { bytes = Limits.saturated(bytes, plus: Limits.saturated(numbers, times: 8)) }
      }
    case .embeddings:
      for case let e as Embedding in model.layers {
        let (v, d) = (e.vocabulary ?? 0, e.size)
        let numbers = Limits.saturated(Limits.saturated(v, times: 2 * d), plus: Limits.saturated(d, times: 4 * d))
        bytes = Limits.saturated(bytes, plus: Limits.saturated(numbers, times: 8))
      }
    default: break
    }
    return bytes
  }
}
