import SheetNet

/// When `gradients` draws its norms page (`gradients-norms`, drawn by `gradientNorms`).
extension Figure {
  /// The fewest epochs a run must have recorded for `gradients` to draw the gradient norms over
  /// training: a line needs three points to show a trend. A shorter run (Mazur's one step) would
  /// draw a dot or two per layer; its gradients are on `gradients-step`, number by number.
  public static let gradientNormsMinimumEpochs = 3

  /// True when `history` holds enough epochs for the norms page (`gradientNormsMinimumEpochs`).
  static func drawsGradientNorms(_ history: History) -> Bool { history.epochs.count >= gradientNormsMinimumEpochs }
}
