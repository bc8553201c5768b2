import SheetNet

// PLACEHOLDER: being written (issue 12); refuses until then.
extension Figure {
  static func checkOptimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    throw .notApplicable("optimizers is not drawn yet")
  }

  static func optimizers(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    throw .notApplicable("optimizers is not drawn yet")
  }
}
