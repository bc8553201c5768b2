import SheetNet

// PLACEHOLDER: being written (issue 12); refuses until then.
extension Figure {
  static func checkOverview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    throw .notApplicable("overview is not drawn yet")
  }

  static func overview(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    throw .notApplicable("overview is not drawn yet")
  }
}
