import SheetNet

/// The trace as one JSON document, the file every later view (worksheets, figures, a notebook)
/// reads. Schema (README, "Trace files"): `format` "sheetnet-trace", `version` 1, `lesson`, `seed`,
/// `step`, `epoch`, `step_in_epoch`, `samples` (1-based rows of the training split), `loss`
/// {kind, value}, `optimizer` {type, …, step (Adam's t)}, `layers` (options, shapes, parameters
/// with trainable flags, entry keys per phase), `entries` in computation order — each {name,
/// layer, phase, symbol, formula, shape, batched, values, arithmetic?} — `frozen` (the parameters
/// with `trainable: false`, as `layer.P`), `first_non_finite`, and
/// `check` when asked for.
/// Numbers are shortest round-trip decimals (parse them back to the same Double); NaN and ±∞,
/// which JSON cannot hold, are written as null. `arithmetic` lists every element's equation
/// ({lhs, template, args, result}; `{k}` in template is args[k]) for entries of at most
/// `arithmeticLimit` elements.
public enum TraceJSON {
  /// Entries larger than this carry values only.
  public static let arithmeticLimit = Limits.arithmeticElements

  /// Each layer as an independent reader needs it: name, type, options (stride, padding, α, ε,
  /// momentum, rate, …), input and output shapes per sample, its parameters with their shapes and
  /// trainable flags, and the keys of the entries it recorded in each phase.
  static func layers(_ traced: TracedStep) -> [Value] {
    let model = traced.run.model
    return model.layers.enumerated().map { i, layer in
      var keys: [(key: String, value: Value)] = []
      for phase in Phase.allCases {
        let own = traced.tracer.entries.filter { $0.layer == layer.name && $0.phase == phase }
        if !own.isEmpty { keys.append((phase.rawValue, .list(own.map { .string(Tracer.key(of: $0.name, layer: layer.name, phase: phase)) }))) }
      }
      let input = i == 0 ? model.inputShape : model.shapes[i - 1]
      return .map([
        ("name", .string(layer.name)), ("type", .string(layer.kind)), ("options", .map(layer.options)),
        ("input_shape", .list(input.map { .number(Double($0)) })), ("output_shape", .list(model.shapes[i].map { .number(Double($0)) })),
        ("output", .string(layer.outputKey)), ("input_gradient", .string(layer.inputGradientKey)),
        ("parameters", .list(layer.parameters.map {
          .map([("name", .string($0.name)), ("shape", .list($0.value.shape.map { .number(Double($0)) })), ("trainable", .bool($0.trainable))])
        })),
        ("entries", .map(keys)),
      ])
    }
  }

  /// The document.
  public static func document(_ traced: TracedStep) -> Value {
    let run = traced.run
    func numbers(_ xs: [Double]) -> Value { .list(xs.map { .number($0) }) }
    func ints(_ xs: [Int]) -> Value { .list(xs.map { .number(Double($0)) }) }
    var entries: [Value] = []
    for e in traced.tracer.entries {
      var pairs: [(key: String, value: Value)] = [
        ("name", .string(e.name)), ("layer", .string(e.layer)), ("phase", .string(e.phase.rawValue)),
        ("symbol", .string(e.symbol)), ("formula", .string(e.formula)), ("shape", ints(e.value.shape)), ("batched", .bool(e.batched)),
        ("values", numbers(e.value.data)),
      ]
      if let explain = e.explain, e.value.count <= arithmeticLimit {
        pairs.append(("arithmetic", .list((0..<e.value.count).map { i in
          let a = explain(i)
          return .map([("lhs", .string(a.lhs)), ("template", .string(a.template)), ("args", numbers(a.args)), ("result", .number(a.result))])
        })))
      }
      entries.append(.map(pairs))
    }
    var doc: [(key: String, value: Value)] = [
      ("format", .string("sheetnet-trace")), ("version", .number(1)),
      ("lesson", .string(run.lesson.name)), ("seed", .number(Double(run.seed))),
      ("step", .number(Double(traced.step))), ("epoch", .number(Double(traced.epoch))),
      ("step_in_epoch", .number(Double(traced.stepInEpoch))), ("samples", ints(traced.samples.map { $0 + 1 })),
      ("loss", .map([("kind", .string(run.loss.kind)), ("value", .number(traced.loss))])),
      ("optimizer", .map([("type", .string(run.optimizer.kind))] + run.optimizer.options + [("step", .number(Double(run.optimizer.stepCount)))])),
      ("layers", .list(layers(traced))),
      ("frozen", .list(traced.frozen.map { .string($0) })),
      ("entries", .list(entries)),
      ("first_non_finite", traced.tracer.firstNonFinite.map { .string($0.name) } ?? .null),
    ]
    if let check = traced.check {
      doc.append(("check", .list(check.map {
        .map([("parameter", .string($0.name)), ("relative_error", .number($0.relativeError)),
              ("analytic", numbers($0.analytic.data)), ("numeric", numbers($0.numeric.data))])
      })))
    }
    return .map(doc)
  }
}
