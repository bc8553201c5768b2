import Yams

extension Lesson {
  /// `compare:`, the optimizers the `optimizers` figure runs from the lesson's seed: a list of 2 to
  /// 4 optimizer maps, each written as the lesson's `optimizer` is, e.g.
  /// `[{type: sgd, learning_rate: 0.1}, {type: sgd, learning_rate: 0.1, momentum: 0.9}]`.
  /// Each is checked as `optimizer` is, errors naming its line.
  static func parseCompare(_ node: Node, _ r: Reader) throws(SheetNetError) -> [OptimizerConfiguration] {
    guard case .sequence(let items) = node, (2...4).contains(items.count) else {
      throw .lesson("\(r.at(node)): 'compare' must be a list of 2 to 4 optimizers, e.g. [{type: sgd, learning_rate: 0.1}, {type: sgd, learning_rate: 0.1, momentum: 0.9}]")
    }
    var out: [OptimizerConfiguration] = []
    for item in items {
      let (kind, options) = try parseOptimizer(item, r)
      out.append(try OptimizerConfiguration(kind: kind, options: options, location: r.at(item)))
    }
    return out
  }
}
