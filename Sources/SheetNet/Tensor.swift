/// SheetNet's engine: a Float64 small-matrix library, the layers, losses and optimizers of a first
/// course, a `Sequential` model, seeded training, the datasets it ships and lesson files.
///
/// Conventions: tensors are batch first (N, features) or (N, C, H, W), row-major over one buffer.

/// A Float64 value with a shape, stored row-major in one contiguous buffer.
///
/// A value type: copies share storage until one of them is written (copy-on-write).
/// Element (i₀, i₁, …) lives at Σ iₖ·strideₖ with stride_last = 1.
public struct Tensor: Equatable, Sendable {
  /// The extent of each axis, batch first: [N, F] or [N, C, H, W].
  public var shape: [Int]
  /// The elements in row-major order; `data.count == shape.product`.
  public var data: [Double]

  /// A tensor of the given shape filled with `value`.
  public init(shape: [Int], repeating value: Double = 0) {
    precondition(shape.allSatisfy { $0 >= 0 }, "Tensor shape \(shape) has a negative extent")
    self.shape = shape
    self.data = [Double](repeating: value, count: shape.reduce(1, *))
  }

  /// A tensor over `data`, which must hold exactly `shape.product` elements.
  public init(shape: [Int], data: [Double]) {
    precondition(
      shape.reduce(1, *) == data.count,
      "Tensor shape \(shape) needs \(shape.reduce(1, *)) elements, got \(data.count)")
    self.shape = shape
    self.data = data
  }

  /// A matrix from rows (all rows the same length): shape [rows.count, rows[0].count].
  public init(rows: [[Double]]) {
    let columns = rows.first?.count ?? 0
    precondition(rows.allSatisfy { $0.count == columns }, "Tensor(rows:) needs rows of equal length")
    self.init(shape: [rows.count, columns], data: rows.flatMap { $0 })
  }

  /// A vector: shape [values.count].
  public init(_ values: [Double]) { self.init(shape: [values.count], data: values) }

  /// Number of elements, Π shape.
  public var count: Int { data.count }
  /// Number of axes.
  public var rank: Int { shape.count }
  /// Rows of the first axis (the batch).
  public var rows: Int { shape.first ?? 1 }
  /// Elements per row: count / rows.
  public var columns: Int { rows == 0 ? 0 : count / rows }

  /// Flat index of a multi-index: Σ iₖ·strideₖ.
  @inlinable public func offset(_ index: [Int]) -> Int {
    precondition(index.count == shape.count, "index \(index) does not fit shape \(shape)")
    var flat = 0
    for (i, n) in zip(index, shape) {
      precondition(i >= 0 && i < n, "index \(index) is outside shape \(shape)")
      flat = flat * n + i
    }
    return flat
  }

  /// Element at a multi-index.
  public subscript(_ index: Int...) -> Double {
    get { data[offset(index)] }
    set { data[offset(index)] = newValue }
  }

  /// The same elements under another shape with the same count.
  public func reshaped(_ newShape: [Int]) -> Tensor {
    Tensor(shape: newShape, data: data)
  }

  /// Row `i` of the first axis as its own tensor of shape [1, …].
  public func row(_ i: Int) -> Tensor {
    let n = columns
    return Tensor(shape: [1] + shape.dropFirst(), data: Array(data[i * n ..< (i + 1) * n]))
  }

  /// The rows `indices` of the first axis, in that order: shape [indices.count, …].
  public func gathering(rows indices: [Int]) -> Tensor {
    var out = Tensor(shape: [indices.count] + shape.dropFirst())
    gather(rows: indices, into: &out)
    return out
  }

  /// Copies rows `indices` into `out`, whose shape must be [indices.count, …] (no allocation).
  public func gather(rows indices: [Int], into out: inout Tensor) {
    Kernels.gather(self, rows: indices, into: &out)
  }

  /// True when every element is finite (no NaN, no ±∞).
  public var isFinite: Bool { data.allSatisfy { $0.isFinite } }

  /// Smallest, mean and largest element (for summaries of large tensors).
  public var stats: (min: Double, mean: Double, max: Double) {
    guard !data.isEmpty else { return (0, 0, 0) }
    var lo = data[0], hi = data[0], sum = 0.0
    for v in data { lo = Swift.min(lo, v); hi = Swift.max(hi, v); sum += v }
    return (lo, sum / Double(data.count), hi)
  }

  /// Runs `body` on the elements in place. They are taken out of the tensor meanwhile, so the
  /// array is not shared while `body` writes it and is never copied; the shape stays.
  public mutating func withElements<R>(_ body: (inout [Double]) -> R) -> R {
    var elements = data
    data = []
    defer { data = elements }
    return body(&elements)
  }

  /// Euclidean norm ‖t‖₂ = √Σ tᵢ².
  public var norm: Double { data.reduce(0) { $0 + $1 * $1 }.squareRoot() }

  /// Index of the largest element in each row (ties: the first).
  public func argmaxRows() -> [Int] {
    let n = columns
    return (0..<rows).map { r in
      var best = 0
      for c in 1..<max(n, 1) where data[r * n + c] > data[r * n + best] { best = c }
      return best
    }
  }
}

extension Tensor: CustomStringConvertible {
  /// Shape and a few values, e.g. `Tensor[2, 3](0.1, 0.2, …)`.
  public var description: String {
    let head = data.prefix(6).map { "\($0)" }.joined(separator: ", ")
    return "Tensor\(shape)(\(head)\(data.count > 6 ? ", …" : ""))"
  }
}

/// Two tensors a layer writes its outputs (or its ∂L/∂x) into in turn: one in this step, the
/// other in the next. The layer after keeps the previous step's tensor for its backward pass
/// while this step's is written into the other, so neither is shared when written, and once the
/// shapes are known a training step allocates nothing. Should one still be shared (a tracer keeps
/// every tensor of a traced step), writing it copies it first, as any Swift array does: never
/// wrong, only slower.
public struct TensorPair {
  private var first = Tensor(shape: [0]), second = Tensor(shape: [0]), useSecond = false

  /// An empty pair.
  public init() {}

  /// The next tensor of `shape` after `write` has filled it. `write` must overwrite every
  /// element, unless `zeroed`, when it starts from zeros (for kernels that add into it).
  public mutating func next(_ shape: [Int], zeroed: Bool = false, _ write: (inout Tensor) -> Void) -> Tensor {
    useSecond.toggle()
    return useSecond ? Self.fill(&second, shape, zeroed, write) : Self.fill(&first, shape, zeroed, write)
  }

  /// The next tensor of shape [rows] + `sample`, as above. The shape array is only built when the
  /// buffer must change, so a step with the usual batch size allocates nothing.
  public mutating func next(rows: Int, _ sample: [Int], zeroed: Bool = false, _ write: (inout Tensor) -> Void) -> Tensor {
    useSecond.toggle()
    func fits(_ t: Tensor) -> Bool { t.shape.count == sample.count + 1 && t.shape[0] == rows && t.shape.dropFirst().elementsEqual(sample) }
    if useSecond {
      return Self.fill(&second, fits(second) ? second.shape : [rows] + sample, zeroed, write)
    }
    return Self.fill(&first, fits(first) ? first.shape : [rows] + sample, zeroed, write)
  }

  private static func fill(_ t: inout Tensor, _ shape: [Int], _ zeroed: Bool, _ write: (inout Tensor) -> Void) -> Tensor {
    if t.shape != shape {
      t = zeroed ? Tensor(shape: shape) : Tensor(overwrittenShape: shape)
    } else if zeroed {
      Kernels.fill(&t, with: 0)
    }
    write(&t)
    return t
  }
}
