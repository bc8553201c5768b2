/// The sizes SheetNet accepts, checked before anything is allocated, so that a typo in a lesson
/// (`units: 999999999`) gets one line naming the key and the limit instead of a crash.
///
/// README's lesson reference states each range. Memory is estimated as 8 bytes per number:
/// parameters four times over (value, gradient, two optimizer states) plus each sample's
/// activations six times over (outputs and gradients, two buffers each, and the layer caches)
/// for a batch.
public enum Limits {
  /// Most parameters a network may hold (400 MB as Float64).
  public static let parameters = 50_000_000
  /// Most numbers one layer's output may hold per sample.
  public static let activationsPerSample = 50_000_000
  /// Most memory a training run may need by the estimate above.
  public static let memoryBytes = 4 << 30
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
