import SheetNet

// PLACEHOLDER: being written (issue 12); refuses until then.
extension Figure {
  static func checkMistakes(_ source: FigureSource) throws(FigureError) {
    throw .notApplicable("mistakes is not drawn yet")
  }

  static func mistakes(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    throw .notApplicable("mistakes is not drawn yet")
  }
}
