import Foundation

/// The sizes SheetNet accepts, checked before anything is allocated, so that a typo in a lesson
/// (`units: 999999999`) gets one line naming the key and the limit instead of a crash; and the
/// memory and time a command will need, estimated before it allocates or trains, so that a
/// lesson too large for the machine gets one line with the estimate instead of "Fatal error" or
/// a signal, or days of training.
///
/// README's lesson reference states each range and both budgets. Memory (`memoryBytes`, 4 GB) is
/// estimated as the sum of what a command holds at once, in bytes (numbers are Float64, 8 bytes):
/// - the process itself: `processBytes`;
/// - the data: 8 × samples × features × 3 (as loaded, split, scaled) + `bytesPerSample` per sample
///   (labels, index lists, a generated set's points) — `dataBytes`;
/// - training: 8 × (4 × parameters + 6 × batch × (the input, every layer's output and what a layer
///   keeps besides, `Layer.cachedNumbersPerSample`, per sample)): value, gradient and two optimizer states; outputs and gradients in two buffers
///   each and the layer caches — `Sequential.trainingBytes`;
/// - a saved model (model.json written or read): `bytesPerSavedNumber` × (parameters + optimizer
///   state) — `savedModelBytes`; any model file read: `bytesPerModelFileByte` × its size;
/// - a traced step: 8 bytes × the numbers its entries hold (`TraceSize.values`) plus the
///   activations its equations keep; the trace's text and JSON: `bytesPerRenderedNumber` × (its
///   numbers + the numbers its equations write out, `TraceSize.arithmetic`); its worksheets:
///   `bytesPerExportedNumber` × its numbers — `TraceSize`;
/// - a figure: `bytesPerPixel` × its pixels while drawn, each page kept encoded.
/// Training time (`trainingTime`, 1 hour) is estimated from the work a training run does per
/// sample (`workPerSample`) at `multiplyAddsPerSecond` — `trainingSeconds(…)`.
public enum Limits {
  /// Most parameters a network may hold (400 MB as Float64).
  public static let parameters = 50_000_000
  /// Most numbers one layer's output may hold per sample.
  public static let activationsPerSample = 50_000_000
  /// Most memory a command may need by the estimate above (4 GB).
  public static let memoryBytes = 4 << 30
  /// Most seconds a command may spend training by the estimate above (1 hour), unless the user
  /// lifts the limit.
  public static let trainingTime = 3600.0
  /// Most classes a label may name (labels are 0 … classes − 1).
  public static let classes = 10_000
  /// Most epochs a lesson may train.
  public static let epochs = 100_000
  /// Most samples in one mini-batch.
  public static let batchSize = 100_000
  /// Most training steps a trace may ask for.
  public static let steps = 10_000_000
  /// Most YAML nodes a lesson may hold, and how deep they may nest.
  public static let yamlNodes = 2_000_000, yamlDepth = 64

  /// a·b·…, or nil when the product overflows `Int`.
  public static func product(_ factors: [Int]) -> Int? {
    var total = 1
    for f in factors {
      let (p, overflow) = total.multipliedReportingOverflow(by: f)
      if overflow { return nil }
      total = p
    }
    return total
  }

  /// Throws when a layer would hold more than `parameters` numbers.
  public static func checkParameters(_ count: Int?, _ layer: String, _ what: String) throws(SheetNetError) {
    guard let count, count <= parameters else {
      throw .shape("\(layer) would hold \(count.map(grouped) ?? "more than 9·10¹⁸") \(what), more than the \(grouped(parameters)) a network may hold; make it smaller")
    }
  }

  /// 12345678 → "12,345,678".
  public static func grouped(_ n: Int) -> String {
    let digits = String(n.magnitude)
    var out = ""
    for (i, c) in digits.enumerated() {
      if i > 0 && (digits.count - i) % 3 == 0 { out += "," }
      out.append(c)
    }
    return (n < 0 ? "-" : "") + out
  }
}

// MARK: Memory

extension Limits {
  /// The process before it holds anything of a lesson: the executable, its libraries, fonts and
  /// the heap it starts with (measured: 28 MB for `summary`, about 100 MB once `letters` has
  /// loaded the machine's fonts through Cairo).
  public static let processBytes = 128 << 20
  /// Per sample besides its numbers: its label and index in each copy, and a generated set's
  /// point drawn as its own small array first.
  public static let bytesPerSample = 128
  /// model.json per number, written or read: the number's JSON node (a boxed enum and its
  /// pointer, 40 bytes), its text (about 20 characters; up to 60 bytes while the text grows by
  /// doubling) and the bytes written or read. Measured 75–79 writing and 44 reading
  /// (dense 2000×2000, 8 million numbers with the momentum).
  public static let bytesPerSavedNumber = 128
  /// A model file (or any JSON SheetNet reads) per byte of its text, read: the text twice (bytes
  /// and string) and a JSON node per number. Measured 3.9 (a model.json of 89 MB, 8 million
  /// numbers, read back in 446 MB); a file of shorter numbers costs more a byte.
  public static let bytesPerModelFileByte = 8
  /// The trace's text and JSON per number (each value, and each number an equation writes out):
  /// the value (8), its JSON node (40) and its text (up to 60 while growing). Measured 57–86 per
  /// number on dense networks of 1 to 9 million parameters, digits-cnn and letters-cnn.
  public static let bytesPerRenderedNumber = 112
  /// Worksheets per traced number: the value, its cell or cells (labels, helper blocks), formula
  /// text, the CSV, XLSX and entries.csv bytes. Measured 500–700 on dense networks and 1,015–1,285
  /// on digits-cnn and letters-cnn (longer convolution formulas).
  public static let bytesPerExportedNumber = 1536
  /// Entries of at most this many elements have every element's arithmetic in trace.json.
  public static let arithmeticElements = 256
  /// A figure per pixel while it is drawn and encoded: the 4-byte surface, the PNG's rows and its
  /// compressed bytes (measured 4.3 at --scale 16).
  public static let bytesPerPixel = 8

  /// Bytes of a data set of `samples` × `features` numbers as a run holds it: loaded, split and
  /// scaled (three copies), and `bytesPerSample` each.
  public static func dataBytes(samples: Int, features: Int) -> Int {
    let numbers = product([max(samples, 0), max(features, 0), 3]) ?? Int.max / 16
    return saturated(saturated(numbers, times: 8), plus: saturated(max(samples, 0), times: bytesPerSample))
  }

  /// About this many gigabytes, for a refusal: "5.2 GB", "more than 1000 GB".
  public static func gigabytes(_ bytes: Int) -> String {
    let gb = Double(bytes) / Double(1 << 30)
    return gb < 1000 ? String(format: "%.1f GB", gb) : "more than 1000 GB"
  }

  /// Throws "`what` would need about N GB (`detail`), more than the 4 GB SheetNet allows;
  /// `remedy`" when `bytes` is above `memoryBytes`.
  public static func checkMemory(_ bytes: Int, _ what: String, _ detail: String, _ remedy: String) throws(SheetNetError) {
    guard bytes > memoryBytes else { return }
    throw .shape("\(what) would need about \(gigabytes(bytes)) (\(detail)), more than the \(memoryBytes >> 30) GB SheetNet allows; \(remedy)")
  }

  /// a + b, at most `Int.max / 4` (estimates never overflow; anything that large is refused).
  public static func saturated(_ a: Int, plus b: Int) -> Int {
    let (s, o) = a.addingReportingOverflow(b)
    return o || s > Int.max / 4 ? Int.max / 4 : s
  }

  /// a × b, at most `Int.max / 4`.
  public static func saturated(_ a: Int, times b: Int) -> Int {
    let (p, o) = a.multipliedReportingOverflow(by: b)
    return o || p > Int.max / 4 ? Int.max / 4 : p
  }

  /// The optimizer state tensors kept per parameter: 2 for Adam (m, s), 1 for SGD with momentum
  /// (v), 0 for plain SGD.
  public static func optimizerStates(_ optimizer: any Optimizer) -> Int {
    if optimizer.kind == "adam" { return 2 }
    let momentum = optimizer.options.first { $0.key == "momentum" }?.value.number ?? 0
    return momentum != 0 ? 1 : 0
  }

  /// Bytes of `model`'s model.json with `optimizer`'s state, written or read.
  public static func savedModelBytes(_ model: Sequential, optimizer: any Optimizer) -> Int {
    saturated(saturated(model.parameterCount, times: 1 + optimizerStates(optimizer)), times: bytesPerSavedNumber)
  }

  /// What one traced step holds, counted from the network's shapes before it runs: the numbers
  /// of its entries, at least and at most, and at most how many numbers its equations write out
  /// (the JSON lists every element's arithmetic for entries of at most 256 elements).
  ///
  /// With n samples, per-sample sizes in₀ (input), inₗ and outₗ of layer l, |p| per parameter,
  /// s optimizer states, d = 1 with weight decay:
  /// - values ≤ n·in₀ (x) + Σₗ n·(3·outₗ + inₗ + cₗ) (z or a, δ, a mask or the max-pool winners;
  ///   dx; cₗ what the layer keeps besides, `Layer.cachedNumbersPerSample`, which it also traces)
  ///   + Σₚ |p|·(3 + d + 2·s) (value, gradient, new value; g; each state before and after)
  ///   + 6 per batch-norm channel (μ, σ², the running statistics before and after) + 2·n·K + 1
  ///   (targets, ∂L/∂z, L);
  /// - values ≥ n·(in₀ + Σₗ outₗ) + 2·Σₚ |p| (x, each layer's output, each value and gradient);
  /// - arithmetic ≤ Σ over entries of at most 256 elements of elements × terms: a batched entry
  ///   of layer l at most 2·(inₗ + outₗ + |Wₗ|) + 4 numbers an element (a dot product, a window,
  ///   a softmax row); a parameter's gradient (and batch norm's μ, σ², ∂L/∂γ, ∂L/∂β, 3 of them)
  ///   2·n·posₗ + 2 (a sum over the batch and the positions a weight is used at, posₗ = outₗ /
  ///   its first extent); an update 16; the loss 4·n·K + 4.
  public struct TraceSize: Sendable, Equatable {
    /// At most this many numbers in the step's entries.
    public var values = 0
    /// At least this many (each a worksheet cell).
    public var atLeast = 0
    /// At most this many numbers in the equations the JSON writes out.
    public var arithmetic = 0
    /// At most this many numbers of activations and gradients the equations keep beyond the
    /// entries (each layer's input and δ, when training goes on after the traced step).
    public var kept = 0

    /// Bytes of the traced step itself (its entries and what their equations keep).
    public var heldBytes: Int { saturated(saturated(values, plus: kept), times: 8) }
    /// Bytes of the trace's text and JSON, the step included.
    public var renderedBytes: Int { saturated(heldBytes, plus: saturated(saturated(values, plus: arithmetic), times: bytesPerRenderedNumber)) }
    /// Bytes of the step's worksheets, the step included.
    public var exportedBytes: Int { saturated(heldBytes, plus: saturated(values, times: bytesPerExportedNumber)) }
  }

  /// The size of a traced step of `model` under `optimizer` on `batch` samples (`TraceSize`).
  public static func traceSize(_ model: Sequential, optimizer: any Optimizer, batch: Int) -> TraceSize {
    let n = max(batch, 1)
    let perParameter = 3 + (optimizer.weightDecay != 0 ? 1 : 0) + 2 * optimizerStates(optimizer)
    var size = TraceSize()
    func add(_ v: inout Int, _ x: Int) { v = saturated(v, plus: x) }
    func times(_ a: Int, _ b: Int) -> Int { saturated(a, times: b) }
    let input = product(model.inputShape) ?? Int.max / 4
    add(&size.values, times(n, input))
    add(&size.atLeast, times(n, input))
    for (i, layer) in model.layers.enumerated() {
      let inSize = i == 0 ? input : product(model.shapes[i - 1]) ?? Int.max / 4
      let outSize = product(model.shapes[i]) ?? Int.max / 4
      add(&size.values, times(n, saturated(times(3, outSize), plus: inSize)))
      add(&size.values, times(n, layer.cachedNumbersPerSample))  // attention's s, A, dA, dS, q, k, v, …
      add(&size.atLeast, times(n, outSize))
      add(&size.kept, times(n, saturated(inSize, plus: outSize)))
      let weights = layer.parameterCount
      let fan = saturated(saturated(inSize, plus: outSize), plus: weights)
      for count in [outSize, outSize, outSize, inSize] where times(n, count) <= arithmeticElements {
        add(&size.arithmetic, times(times(n, count), saturated(times(2, fan), plus: 4)))
      }
      let normalizing = layer is BatchNorm
      for p in layer.parameters {
        let count = p.value.count
        add(&size.values, times(count, perParameter))
        add(&size.atLeast, times(count, 2))
        if normalizing { add(&size.values, times(count, 3)) }  // 6 per channel over γ and β
        guard count <= arithmeticElements else { continue }
        let channels = max(layer.parameters.first?.value.shape.first ?? 1, 1)
        let positions = max(outSize / channels, 1)
        let reductions = normalizing ? 3 : 1
        add(&size.arithmetic, times(times(count, reductions), saturated(times(2, times(n, positions)), plus: 2)))
        add(&size.arithmetic, times(count, normalizing ? 32 : 16))
      }
    }
    let outputs = product(model.outputShape) ?? Int.max / 4
    add(&size.values, saturated(times(2, times(n, outputs)), plus: 1))
    add(&size.arithmetic, saturated(times(4, times(n, outputs)), plus: 4))
    if times(n, outputs) <= arithmeticElements { add(&size.arithmetic, times(4, times(n, outputs))) }
    return size
  }

  // MARK: Time

  /// The engine's training speed on one core: multiply-adds of a forward pass
  /// (`Sequential.multiplyAdds`) per second while training, forward, backward and update
  /// together. Measured with the release build (`swift build -c release`, OPENBLAS_NUM_THREADS=1)
  /// as `sheetnet train --json`'s seconds on a shared 2-core machine: digits-mlp 1.3–1.6·10⁹,
  /// digits-cnn 1.7–1.9·10⁹, letters-cnn 2.0·10⁹, dense 1000×1000 1.6·10⁹; taken a little below.
  public static let multiplyAddsPerSecond = 1.5e9
  /// Work per sample besides the multiply-adds, in multiply-adds of the same time: per number of
  /// activation (element-wise layers, the loss, moving batches through memory; a batch of 100,000
  /// of a 2-200-2 network spends 4.9 µs a sample at 800 multiply-adds).
  public static let multiplyAddsPerActivation = 12
  /// Work per training step shared by its batch: per parameter (the update) and per step.
  public static let multiplyAddsPerParameterStep = 8, multiplyAddsPerStep = 50_000

  /// What one training sample costs in multiply-adds' time, with batches of `batch`: forward
  /// multiply-adds + `multiplyAddsPerActivation` × (input and outputs per sample) +
  /// (`multiplyAddsPerParameterStep` × parameters + `multiplyAddsPerStep`) / batch. Against the
  /// measured times this is 0.8–2.5 times the real one (digits-mlp 2.2, digits-cnn 2.0,
  /// letters-cnn 2.5, spiral 1.1, dense 1000×1000 1.4, the 100,000 batch above 0.8).
  public static func workPerSample(_ model: Sequential, batch: Int) -> Double {
    let activations = ([model.inputShape] + model.shapes).reduce(0.0) { $0 + Double(product($1) ?? Int.max / 4) }
    let perStep = Double(multiplyAddsPerParameterStep) * Double(model.parameterCount) + Double(multiplyAddsPerStep)
    return Double(model.multiplyAdds) + Double(multiplyAddsPerActivation) * activations + perStep / Double(max(batch, 1))
  }

  /// Seconds to train `model` on `trainedSamples` samples in all (samples × epochs) in batches of
  /// `batch`, measuring `evaluatedSamples` (validation and test, after each epoch):
  /// `workPerSample` × (trained + evaluated / 3) / `multiplyAddsPerSecond` (an evaluation is a
  /// forward pass, about a third of a training step).
  public static func trainingSeconds(_ model: Sequential, trainedSamples: Double, evaluatedSamples: Double, batch: Int) -> Double {
    workPerSample(model, batch: batch) * (trainedSamples + evaluatedSamples / 3) / multiplyAddsPerSecond
  }

  /// Seconds a central-difference gradient check of `model` on `batch` samples takes: two
  /// forward passes of the batch per parameter.
  public static func gradientCheckSeconds(_ model: Sequential, batch: Int) -> Double {
    2 * Double(model.parameterCount) * workPerSample(model, batch: batch) / 3 * Double(max(batch, 1)) / multiplyAddsPerSecond
  }

  /// "40 minutes", "3.2 hours", "12 days".
  public static func duration(_ seconds: Double) -> String {
    if seconds < 120 { return String(format: "%.0f seconds", seconds) }
    if seconds < 2 * 3600 { return String(format: "%.0f minutes", seconds / 60) }
    if seconds < 2 * 86400 { return String(format: "%.1f hours", seconds / 3600) }
    if seconds < 1e3 * 86400 { return String(format: "%.0f days", seconds / 86400) }
    return "more than 1000 days"
  }
}
