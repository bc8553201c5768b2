/// Kinds not drawn yet.
extension Figure {
  static func checkGradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("gradients: not drawn yet") }
  static func checkFilters(_ source: FigureSource) throws(FigureError) { throw .notApplicable("filters: not drawn yet") }
  static func checkGraph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("graph: not drawn yet") }
  static func checkConvStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("conv-step: not drawn yet") }
  static func checkFeatureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("feature-maps: not drawn yet") }
  static func gradients(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] { throw .notApplicable("not yet") }
  static func filters(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] { throw .notApplicable("not yet") }
  static func graph(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure { throw .notApplicable("not yet") }
  static func convSteps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] { throw .notApplicable("not yet") }
  static func featureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure { throw .notApplicable("not yet") }
}
