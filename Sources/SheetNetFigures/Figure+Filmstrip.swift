import SheetNet

/// `filmstrip`: TensorFlow Playground's animation on paper. For a lesson with two inputs and
/// classes, the class regions with the training points at chosen epochs (columns), and below each
/// the maps of the first hidden layer's neurons at that epoch. By default the columns are where
/// the loss changes most: epoch 0, the epochs where the training loss's drop first passes a third
/// and two thirds of its whole drop (`filmstripDefaultEpochs`), and the last; `--epochs` chooses
/// others. The network is photographed at the end of each chosen epoch while the run trains from
/// its initial weights: the source's own run when `Catalogue.prepare` asked it to before it
/// trained (with the default epochs, not known before training, it keeps its weights at every
/// epoch, a few numbers each); otherwise (a run restored from a saved model, or one that never
/// trains, as for the `figure` command) a run trained afresh from the lesson's seed, with the same
/// shuffles as `train`.
extension Figure {
  /// The most columns a filmstrip draws.
  static let filmstripLimit = 6

  static func checkFilmstrip(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.filmstrip)
    let inputs = source.model.inputShape
    guard inputs == [2] else {
      throw .notApplicable("filmstrip draws the plane of 2 inputs as training goes on, but \(source.lesson.path) has \(shapeText(inputs)) inputs per sample; try training for its learning curves")
    }
    guard run.split.train.labels != nil else {
      throw .notApplicable("filmstrip colours classes, but \(source.lesson.path) gives target values (y), not class labels; try training for its learning curves")
    }
    _ = try filmstripEpochs(run.lesson.epochs, options.epochs)
  }

  /// Where the loss changes most, from the training loss of each epoch (`losses[e − 1]` for epoch
  /// e = 1…E, the history's): 0, the first epoch whose drop L₁ − Lₑ reaches a third of the whole
  /// drop L₁ − min L, the first after it that reaches two thirds, and E. A loss that never falls
  /// gets 0, E/3, 2E/3 and E.
  public static func filmstripDefaultEpochs(_ losses: [Double]) -> [Int] {
    let last = losses.count
    guard last > 0 else { return [0] }
    let start = losses[0], total = start - (losses.filter(\.isFinite).min() ?? start)
    var chosen = [0, last]
    if total > 0 && total.isFinite {
      let third = (1...last).first { start - losses[$0 - 1] >= total / 3 } ?? last
      let twoThirds = ((third + 1)...max(third + 1, last)).first { $0 <= last && start - losses[$0 - 1] >= 2 * total / 3 } ?? last
      chosen += [third, twoThirds]
    } else {
      chosen += [last / 3, 2 * last / 3]
    }
    return Array(Set(chosen.filter { $0 >= 0 && $0 <= last })).sorted()
  }

  /// The epochs shown, in order: `--epochs` checked (each in 0…`last`, at most
  /// `filmstripLimit`, none twice), or nil for the default (`filmstripDefaultEpochs`, known once
  /// the run has trained).
  static func filmstripEpochs(_ last: Int, _ given: [Int]?) throws(FigureError) -> [Int]? {
    guard let given else { return nil }
    guard !given.isEmpty else { throw .option("--epochs needs at least one epoch between 0 and \(last), e.g. --epochs 0,1,\(last)") }
    guard given.count <= filmstripLimit else {
      throw .option("--epochs takes at most \(filmstripLimit) epochs (one column each), but \(given.count) were given")
    }
    if let bad = given.first(where: { $0 < 0 || $0 > last }) {
      throw .option("--epochs \(bad) is out of range; each epoch must be between 0 and \(last) (0: as initialised; \(last): the lesson's epochs)")
    }
    let sorted = given.sorted()
    if let twice = zip(sorted, sorted.dropFirst()).first(where: { $0.0 == $0.1 }) {
      throw .option("--epochs names epoch \(twice.0) twice; give each epoch once")
    }
    return sorted
  }

  /// The network at one epoch: its class regions, its first hidden layer's maps, and how it
  /// does on the training split.
  struct Snapshot {
    var epoch: Int
    var regions: Raster
    var neurons: NeuronMaps?
    var evaluation: Evaluation
  }

  /// How many of the first hidden layer's neurons a column shows.
  static let filmstripNeurons = 8

  /// The columns' geometry: the region raster's side for `columns` columns, and the neuron maps'.
  static func filmstripResolution(_ theme: Theme, columns: Int) -> (regions: Int, neurons: Int) {
    let columnWidth = (theme.size.width - 2 * theme.margin) / Double(columns)
    return (min(256, regionResolution(side: columnWidth)), 40)
  }

  /// The photograph of `model` at `epoch`, evaluated through the model alone (with the trainer's
  /// class threshold: 0.5 on a sigmoid, 0 on logits under binary CE).
  static func snapshot(_ model: Sequential, _ loss: any Loss, _ train: Dataset, _ bounds: PlaneBounds,
                       resolution: (regions: Int, neurons: Int), epoch: Int) -> Snapshot {
    let threshold = (model.layers.last is Sigmoid || !(loss is BinaryCrossEntropy)) ? 0.5 : 0
    let maps = hiddenMaps(model, bounds, resolution: resolution.neurons, firstLayerOnly: true).first
    return Snapshot(epoch: epoch, regions: regionRaster(model, bounds, resolution: resolution.regions), neurons: maps,
                    evaluation: Trainer.evaluate(model: model, loss: loss, data: train, threshold: threshold))
  }

  /// The most numbers the weights kept at every epoch may take (8 bytes each): 2²³, 64 MB.
  static let filmstripWeightLimit = 1 << 23

  /// Numbers kept when the weights are kept at every epoch of `epochs`: every parameter, E + 1 times.
  static func filmstripWeightNumbers(_ model: Sequential, epochs: Int) -> Int {
    Limits.saturated(model.layers.flatMap(\.parameters).reduce(0) { $0 + $1.value.count }, times: epochs + 1)
  }

  /// Every parameter's value of `model`, in layer order.
  static func weights(of model: Sequential) -> [Tensor] { model.layers.flatMap(\.parameters).map(\.value) }

  /// Asks `run` (still as initialised) to photograph itself at the chosen epochs as it trains; with
  /// the default epochs, to keep its weights at every epoch instead (when they fit
  /// `filmstripWeightLimit`), from which the chosen epochs are photographed afterwards.
  static func recordFilmstrip(_ run: LessonRun, _ recording: FigureRecording, _ options: FigureOptions) throws(FigureError) {
    guard let epochs = try filmstripEpochs(run.lesson.epochs, options.epochs) else {
      let last = run.trainer.epochs
      guard recording.epochWeights == nil, filmstripWeightNumbers(run.model, epochs: last) <= filmstripWeightLimit else { return }
      recording.epochWeights = [:]
      run.observe(epochs: Set(0...max(last, 0))) { [unowned run, recording] epoch in
        recording.epochWeights![epoch] = weights(of: run.model)  // copies on write: the next step's update leaves these as they are
      }
      return
    }
    let bounds = PlaneBounds(run.split), resolution = filmstripResolution(options.theme, columns: epochs.count)
    let key = "\(resolution.regions)×\(resolution.neurons)"
    if recording.snapshots[key] == nil { recording.snapshots[key] = [:] }
    run.observe(epochs: Set(epochs)) { [unowned run, recording] epoch in
      recording.snapshots[key]![epoch] = snapshot(run.model, run.loss, run.split.train, bounds, resolution: resolution, epoch: epoch)
    }
  }

  static func filmstrip(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.filmstrip)
    let theme = options.theme
    let bounds = PlaneBounds(run.split)
    let train = run.split.train
    var snapshots: [Snapshot]
    var chosen: String? = nil
    if let epochs = try filmstripEpochs(run.lesson.epochs, options.epochs) {
      let resolution = filmstripResolution(theme, columns: epochs.count)
      let recorded = source.recording.snapshots["\(resolution.regions)×\(resolution.neurons)"] ?? [:]
      if epochs.allSatisfy({ recorded[$0] != nil }) {
        snapshots = epochs.map { recorded[$0]! }  // taken while the source's run trained
      } else {
        snapshots = try filmstripReplay(run, epochs, bounds, resolution)
      }
    } else {
      // The default epochs come from the run's own history (a fresh run's, trained here, when the
      // source's has none); the network at each is the run's kept weights, or a replay's photograph.
      var history = run.history.epochs.map(\.trainLoss)
      var kept = source.recording.epochWeights.flatMap { $0.count == history.count + 1 ? $0 : nil }
      if history.isEmpty { (history, kept) = try filmstripHistory(run) }
      let epochs = filmstripDefaultEpochs(history)
      let resolution = filmstripResolution(theme, columns: epochs.count)
      if let kept, epochs.allSatisfy({ kept[$0] != nil }) {
        let model: Sequential
        do { model = try freshTrainer(run).model } catch { throw .lesson(error.description) }
        snapshots = epochs.map { e in
          for (p, value) in zip(model.layers.flatMap(\.parameters), kept[e]!) { p.value = value }
          return snapshot(model, run.loss, train, bounds, resolution: resolution, epoch: e)
        }
      } else {
        snapshots = try filmstripReplay(run, epochs, bounds, resolution)
      }
      chosen = "Where the loss changes most: epoch 0, a third and two thirds of its drop, and the last"
    }
    let epochs = snapshots.map(\.epoch)
    let resolution = filmstripResolution(theme, columns: epochs.count)
    let classes = max(run.split.train.classes, 2)
    let names = (0..<classes).map { $0 < run.split.train.classNames.count ? run.split.train.classNames[$0] : "class \($0)" }
    // One colour scale for each neuron's maps across the epochs (fixed for σ and tanh).
    let firstHidden = source.model.layers.enumerated().first { i, l in l is any Activation && source.model.layers[(i + 1)...].contains { $0 is Dense } }?.element
    let units = snapshots.first?.neurons?.maps.count ?? 0
    let shown = min(units, filmstripNeurons)
    let neuronScale = firstHidden.map { neuronColours($0, snapshots.flatMap { $0.neurons?.maps.prefix(shown).flatMap { $0 } ?? [] }) }
    let lines = [chosen ?? "", "Retrained from seed \(run.seed); colour: predicted class (paler: less sure); dots: training points"]
    let trainSet = [("train", train)]
    return Figure(name: "filmstrip", size: theme.size) { canvas in
      let body = notedPage(canvas, theme, title: "Training as a filmstrip: \(source.name)", lines: lines)
      let legendHeight = canvas.measure("Ag", style: theme.tick).height
      let (legendStrip, rest) = body.splitTop(legendHeight, gap: theme.gap * 0.4)
      legendRow(canvas, names.enumerated().map { (label: $0.element, color: ClassColors.color($0.offset), mark: LegendMark.dot) }, in: legendStrip, theme: theme)
      var neuronsTitle = ""
      if let layer = firstHidden, shown > 0 {
        neuronsTitle = "\(layer.name): a of neuron\(shown == 1 ? "" : "s") 1\(shown > 1 ? "–\(shown)" : "")\(units > shown ? " of \(units)" : "")"
      }
      // The colour bar of the neuron maps on the right, the columns in what is left.
      var columnsRect = rest
      var barRect: Rect? = nil
      let bar = neuronScale.map { ColorBar(colormap: $0.0, scale: $0.1, title: "a") }
      if let bar, shown > 0 {
        let barWidth = [1.0, 2, 4, 8, 16].map { bar.width(on: canvas, theme: theme, height: theme.tickSize * 2.2 * $0) }.max()!
        let (b, left) = rest.splitRight(barWidth, gap: theme.gap)
        barRect = b
        columnsRect = left
      }
      let columns = columnsRect.columns(snapshots.count, gap: theme.gap)
      let label = theme.label.emphasized, note = theme.note
      let lh = canvas.measure("Ag", style: label).height + theme.clearance * 2, nh = canvas.measure("Ag", style: note).height + theme.clearance * 2
      // Each column: its epoch, the regions (a square), two lines on how it does, the neuron maps.
      let width = columns.first?.width ?? 0
      let mapGap = theme.gap * 0.2
      let perRow = shown > 0 ? min(shown, shown <= 4 ? shown : (shown + 1) / 2) : 1
      let mapRows = shown > 0 ? (shown + perRow - 1) / perRow : 0
      let mapSide = shown > 0 ? (width - mapGap * Double(perRow - 1)) / Double(perRow) : 0
      let mapsHeight = Double(mapRows) * mapSide + Double(max(mapRows - 1, 0)) * mapGap
      let mapsTitle = shown > 0 ? nh + theme.gap * 0.3 : 0
      let square = max(0, min(width, columnsRect.height - lh - nh * 2 - mapsTitle - (shown > 0 ? mapsHeight + theme.gap * 0.5 : 0)))
      // When the maps would crowd the regions, they shrink instead.
      var side = mapSide
      if square < width * 0.6, shown > 0 {
        let room = max(0, columnsRect.height - lh - nh * 2 - mapsTitle - width * 0.6 - theme.gap * 0.5)
        side = min(mapSide, (room - mapGap * Double(max(mapRows - 1, 0))) / Double(max(mapRows, 1)))
      }
      let regionSide = max(0, min(width, columnsRect.height - lh - nh * 2 - mapsTitle - (shown > 0 ? Double(mapRows) * side + Double(max(mapRows - 1, 0)) * mapGap + theme.gap * 0.5 : 0)))
      let mapsTop = columnsRect.y + lh + regionSide + nh * 2 + theme.gap * 0.5 + mapsTitle
      if !neuronsTitle.isEmpty, let firstColumn = columns.first {
        canvas.text(neuronsTitle, Point(firstColumn.x, mapsTop - mapsTitle + theme.clearance), canvas.fitting(neuronsTitle, width: columnsRect.width, note, minimum: theme.minimumSize), anchor: .topLeft)
      }
      for (snap, column) in zip(snapshots, columns) {
        let title = snap.epoch == 0 ? "epoch 0 (initial)" : "epoch \(NumberFormat.integer(snap.epoch))"
        canvas.text(title, Point(column.midX, column.y + theme.clearance), canvas.fitting(title, width: column.width, label, minimum: theme.minimumSize), anchor: .top)
        let area = Rect(x: column.midX - regionSide / 2, y: column.y + lh, width: regionSide, height: regionSide)
        canvas.image(snap.regions, in: area)
        canvas.stroke(area, Theme.ink, width: theme.hairline)
        let plot = Plot(x: (bounds.x0, bounds.x1), y: (bounds.y0, bounds.y1), xTitle: "", yTitle: "", series: [])
        drawPoints(canvas, trainSet, plot: plot, area: area, theme: theme, largest: theme.tickSize * 0.35)
        let lines = ["accuracy \(NumberFormat.percent(snap.evaluation.accuracy ?? 0))", "loss \(NumberFormat.significant(snap.evaluation.loss, 3))"]
        for (i, line) in lines.enumerated() {
          canvas.text(line, Point(column.midX, area.maxY + theme.clearance + Double(i) * nh), canvas.fitting(line, width: column.width, note, minimum: theme.minimumSize), anchor: .top)
        }
        guard let neurons = snap.neurons, let scale = neuronScale, shown > 0 else { continue }
        let top = mapsTop
        let gridWidth = Double(perRow) * side + Double(perRow - 1) * mapGap
        for u in 0..<shown {
          let cell = Rect(x: column.midX - gridWidth / 2 + Double(u % perRow) * (side + mapGap), y: top + Double(u / perRow) * (side + mapGap), width: side, height: side)
          canvas.image(Raster(values: neurons.maps[u], width: resolution.neurons, colormap: scale.0, scale: scale.1), in: cell)
          canvas.stroke(cell, Theme.ink, width: theme.hairline * 0.5)
        }
      }
      if let bar, let barRect {
        let top = mapsTop
        bar.draw(on: canvas, in: Rect(x: barRect.x, y: top - canvas.measure("Ag", style: theme.tick).height * 1.6, width: barRect.width, height: max(barRect.maxY - top + canvas.measure("Ag", style: theme.tick).height * 1.6, canvas.measure("Ag", style: theme.tick).height * 5)), theme: theme)
      }
    }
  }

  /// A run trained afresh from the lesson's seed for the source run's epochs: its training loss per
  /// epoch, and its weights at every epoch when they fit `filmstripWeightLimit` (nil otherwise).
  static func filmstripHistory(_ run: LessonRun) throws(FigureError) -> (losses: [Double], weights: [Int: [Tensor]]?) {
    let fresh: LessonRun
    do { fresh = try LessonRun(run.lesson, seed: run.seed) } catch { throw .lesson(error.description) }
    fresh.trainer.epochs = run.trainer.epochs
    let keep = filmstripWeightNumbers(fresh.model, epochs: fresh.trainer.epochs) <= filmstripWeightLimit
    var kept: [Int: [Tensor]] = [:]
    if keep { kept[0] = weights(of: fresh.model) }
    let steps = (fresh.split.train.count + fresh.lesson.batchSize - 1) / fresh.lesson.batchSize
    do {
      try fresh.train { progress in
        if keep && progress.step == steps { kept[progress.epoch] = weights(of: fresh.model) }
      }
    } catch {
      throw .lesson(error.description)
    }
    return (fresh.history.epochs.map(\.trainLoss), keep ? kept : nil)
  }

  /// The photographs from a run trained afresh from the lesson's seed up to the last epoch shown
  /// (the source's run did not record them: it was restored, never trained here, or not prepared).
  static func filmstripReplay(_ run: LessonRun, _ epochs: [Int], _ bounds: PlaneBounds,
                              _ resolution: (regions: Int, neurons: Int)) throws(FigureError) -> [Snapshot] {
    let fresh: LessonRun
    do {
      fresh = try LessonRun(run.lesson, seed: run.seed)
    } catch {
      throw .lesson(error.description)
    }
    let model = fresh.model, loss = fresh.loss, train = fresh.split.train
    var snapshots: [Snapshot] = []
    if epochs.first == 0 { snapshots.append(snapshot(model, loss, train, bounds, resolution: resolution, epoch: 0)) }
    if let last = epochs.last, last > 0 {
      // One training run, photographed after the last step of each chosen epoch (evaluation-mode
      // forward passes change no weight and no optimizer state).
      fresh.trainer.epochs = last
      let steps = (fresh.split.train.count + fresh.lesson.batchSize - 1) / fresh.lesson.batchSize
      do {
        try fresh.train { progress in
          if progress.step == steps && epochs.contains(progress.epoch) {
            snapshots.append(snapshot(model, loss, train, bounds, resolution: resolution, epoch: progress.epoch))
          }
        }
      } catch {
        throw .lesson(error.description)
      }
    }
    return snapshots
  }
}
