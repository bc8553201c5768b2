import SheetNet

// PLACEHOLDER: being written (issue 12); refuses until then.
extension Figure {
  static func checkFilmstrip(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    throw .notApplicable("filmstrip is not drawn yet")
  }

  static func filmstrip(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    throw .notApplicable("filmstrip is not drawn yet")
  }
}
