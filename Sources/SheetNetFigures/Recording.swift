import SheetNet

/// What figures read from the source's own training, asked for before the run trains
/// (`Catalogue.prepare`), so that drawing them afterwards trains nothing a second time.
///
/// A caller that trains once and draws many kinds: build the `LessonRun` and its `FigureSource`,
/// call `Catalogue.prepare(kind, source, options)` for every kind while the run is as initialised,
/// train the run (`LessonRun.train`), then `Catalogue.make` each kind. What a kind records:
/// - `gradients`: step 1 traced inside the run's own training (`LessonRun.recordFirstStep`);
/// - `training` (a run of one or two epochs): the network as initialised, evaluated on every split;
/// - `filmstrip`: a photograph of the network at each chosen epoch (`LessonRun.observe`), or, for
///   the default epochs (chosen from the loss once trained), its weights at every epoch;
/// - `graph`: step 1 traced inside the run's own training, as for `gradients` (the same step);
/// When nothing was recorded (the run was restored from a saved model, never trains in this
/// process, or was not prepared), a figure replays from the seeded start only what it lacks.
public final class FigureRecording {
  /// Step 1 of the run, traced while it trained.
  var firstStep: TracePoint?
  /// The network as initialised, evaluated on each split (`training`, `validation`, `test`).
  var initial: [String: Evaluation]?
  /// Filmstrip photographs by the resolution they were taken at ("regions×neurons": a page size
  /// and a number of columns each), then by epoch.
  var snapshots: [String: [Int: Figure.Snapshot]] = [:]
  /// Every parameter's value at each epoch (0 = as initialised), kept for a filmstrip of the
  /// default epochs, which are chosen from the history once the run has trained.
  var epochWeights: [Int: [Tensor]]?
  /// The optimizer comparison's runs (`optimizers`, `landscape`), by what they measured and how long.
  var optimizerTrials: [String: [Figure.OptimizerTrial]] = [:]
  /// The landscape's plane and grid of losses, computed once for every page size.
  var landscape: Figure.Landscape?

  /// Nothing recorded yet.
  public init() {}
}

extension Catalogue {
  /// Checks `kind` as `check` does, then asks `source`'s run to record what `make(kind, …)` will
  /// read from its training (see `FigureRecording`). Call it before the run trains; on a run
  /// that is not as initialised (restored or trained already) it records nothing, and `make`
  /// replays from the seed what it needs.
  public static func prepare(_ kind: FigureKind, _ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    try check(kind, source, options)
    guard let run = source.run, run.isInitial else { return }
    let recording = source.recording
    switch kind {
    case .gradients, .graph:
      recording.firstStep = run.recordFirstStep()
    case .training where run.trainer.epochs <= 2 && recording.initial == nil:
      recording.initial = Figure.evaluations(run, as: run.trainer)  // only a run of one or two epochs shows its start
    case .filmstrip:
      try Figure.recordFilmstrip(run, recording, options)
    default: break
    }
  }
}
