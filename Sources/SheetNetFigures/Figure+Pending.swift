/// Kinds not drawn yet.
extension Figure {
  static func checkConvStep(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("conv-step: not drawn yet") }
  static func checkFeatureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) { throw .notApplicable("feature-maps: not drawn yet") }
  static func convSteps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> [Figure] { throw .notApplicable("not yet") }
  static func featureMaps(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure { throw .notApplicable("not yet") }
}
