import SheetNet

// The cases `sheetnet-bench` times, in print order. To add one, append a `BenchCase` to
// `allCases` (and a `Ratio` when two cases should be compared); compare.py matches cases by id.

/// Every case, in order.
func allCases() -> [BenchCase] {
  var cases: [BenchCase] = []
  // Training steps: forward, loss, backward and update through `Sequential.trainStep`.
  cases.append(mlpStep(id: "step/mlp-64-32-10", label: "MLP 64-32-10, digits, batch 32, SGD", widths: [32, 10], batch: 32, digits: true, optimizer: { SGD(learningRate: 0.1) }))
  cases.append(mlpStep(id: "step/mlp-64-32-10-adam", label: "MLP 64-32-10, digits, batch 32, Adam", widths: [32, 10], batch: 32, digits: true, optimizer: { Adam(learningRate: 0.01) }))
  cases.append(mlpStep(id: "step/mlp-784-128-10", label: "MLP 784-128-10, random, batch 64, SGD", widths: [128, 10], batch: 64, digits: false, optimizer: { SGD(learningRate: 0.1) }))
  cases.append(mlpStep(id: "step/mlp-784-128-10-adam", label: "MLP 784-128-10, random, batch 64, Adam", widths: [128, 10], batch: 64, digits: false, optimizer: { Adam(learningRate: 0.001) }))
  // The same steps with every product forced onto one path (the default sends M·N·K ≥ 64³ to
  // the fast path: OpenBLAS where its kernels are fast, else fused multiply-adds in Swift).
  cases.append(mlpStep(id: "step/mlp-64-32-10/blas", label: "MLP 64-32-10, SGD, every product OpenBLAS", widths: [32, 10], batch: 32, digits: true, products: .blas, optimizer: { SGD(learningRate: 0.1) }))
  cases.append(mlpStep(id: "step/mlp-784-128-10/swift", label: "MLP 784-128-10, SGD, every product in spreadsheet order", widths: [128, 10], batch: 64, digits: false, products: .swift, optimizer: { SGD(learningRate: 0.1) }))
  cases.append(mlpStep(id: "step/mlp-784-128-10/blas", label: "MLP 784-128-10, SGD, every product OpenBLAS", widths: [128, 10], batch: 64, digits: false, products: .blas, optimizer: { SGD(learningRate: 0.1) }))
  // Convolutional networks on random images (Cases+CNN.swift).
  cases.append(cnnA())
  cases.append(cnnB())
  // A small transformer language model (Cases+Transformer.swift).
  cases.append(transformerStep())
  cases.append(transformerStep(id: "step/transformer/swift", label: "Transformer, every product in spreadsheet order", products: .swift))
  cases.append(transformerStep(id: "step/transformer/fused", label: "Transformer, every product fused multiply-add in Swift", products: .fused))
  // The shipped lessons' steps, untraced and traced (Cases+Lessons.swift).
  cases += lessonCases()
  // Square products, every path.
  for n in [64, 128, 256] {
    for (path, name) in productPaths {
      cases.append(gemm(id: "gemm/\(n)/\(path)", label: "n = \(n), \(name)", m: n, n: n, k: n, path: path))
    }
  }
  // The three products of a dense layer: z = x·Wᵀ, dW = δᵀ·x, dx = δ·W (64→32 at batch 32, the
  // digits MLP's first layer, and 784→128 at batch 64).
  for p in layerProducts {
    for (path, name) in productPaths {
      cases.append(gemm(id: "gemm/\(p.key)/\(path)", label: "\(p.label), \(name)", m: p.m, n: p.n, k: p.k, ta: p.ta, tb: p.tb, path: path))
    }
  }
  // Whole `sheetnet figure` processes (Cases+Figures.swift).
  cases += figureCases().cases
  return cases
}

/// Derived ratios, printed after the table.
func allRatios() -> [Ratio] {
  [
    Ratio(id: "step/mlp-64-32-10/automatic-vs-blas", label: "MLP 64-32-10 step: default paths / all OpenBLAS", numerator: "step/mlp-64-32-10", denominator: "step/mlp-64-32-10/blas"),
    Ratio(id: "step/mlp-784-128-10/swift-vs-automatic", label: "MLP 784-128-10 step: all spreadsheet order / default paths", numerator: "step/mlp-784-128-10/swift", denominator: "step/mlp-784-128-10"),
    Ratio(id: "step/mlp-784-128-10/blas-vs-automatic", label: "MLP 784-128-10 step: all OpenBLAS / default paths", numerator: "step/mlp-784-128-10/blas", denominator: "step/mlp-784-128-10"),
    Ratio(id: "step/transformer/swift-vs-automatic", label: "Transformer step: all spreadsheet order / default paths", numerator: "step/transformer/swift", denominator: "step/transformer"),
    Ratio(id: "step/transformer/fused-vs-automatic", label: "Transformer step: all fused / default paths", numerator: "step/transformer/fused", denominator: "step/transformer"),
    Ratio(id: "lesson/digits-cnn/untraced-vs-traced", label: "digits CNN step: untraced / traced (= trace cost)", numerator: "lesson/digits-cnn/untraced", denominator: "lesson/digits-cnn/traced"),
    Ratio(id: "lesson/digits-mlp/untraced-vs-traced", label: "digits MLP step: untraced / traced (= trace cost)", numerator: "lesson/digits-mlp/untraced", denominator: "lesson/digits-mlp/traced"),
  ] + [64, 128, 256].flatMap { n in
    [Ratio(id: "gemm/\(n)/swift-vs-blas", label: "spreadsheet order / OpenBLAS GFLOP/s, n = \(n)", numerator: "gemm/\(n)/swift", denominator: "gemm/\(n)/blas"),
     Ratio(id: "gemm/\(n)/fused-vs-blas", label: "fused / OpenBLAS GFLOP/s, n = \(n)", numerator: "gemm/\(n)/fused", denominator: "gemm/\(n)/blas")]
  } + layerProducts.map { p in
    Ratio(id: "gemm/\(p.key)/fused-vs-blas", label: "fused / OpenBLAS, \(p.label)", numerator: "gemm/\(p.key)/fused", denominator: "gemm/\(p.key)/blas")
  }
}

/// The product paths the gemm cases time, with their labels.
let productPaths: [(Kernels.Path, String)] = [
  (.swift, "pure Swift, spreadsheet order"), (.fused, "pure Swift, fused multiply-add"), (.blas, "OpenBLAS"),
]

/// One product of a dense layer's step: op(A) m×k, op(B) k×n.
struct LayerProduct {
  var label: String, m: Int, n: Int, k: Int, ta = false, tb = false
  /// `32x64x32-ta`: m x n x k and the transposes.
  var key: String { "\(m)x\(n)x\(k)\(ta ? "-ta" : "")\(tb ? "-tb" : "")" }
}

/// z = x·Wᵀ, dW = δᵀ·x and dx = δ·W of a 64→32 layer at batch 32 and a 784→128 layer at batch 64.
let layerProducts: [LayerProduct] = [
  LayerProduct(label: "x·Wᵀ 32×64·(32×64)ᵀ", m: 32, n: 32, k: 64, tb: true),
  LayerProduct(label: "δᵀ·x (32×32)ᵀ·32×64", m: 32, n: 64, k: 32, ta: true),
  LayerProduct(label: "δ·W 32×32·32×64", m: 32, n: 64, k: 32),
  LayerProduct(label: "x·Wᵀ 64×784·(128×784)ᵀ", m: 64, n: 128, k: 784, tb: true),
  LayerProduct(label: "δᵀ·x (64×128)ᵀ·64×784", m: 128, n: 784, k: 64, ta: true),
  LayerProduct(label: "δ·W 64×128·128×784", m: 64, n: 784, k: 128),
]

/// A training step of Dense(w₀) ReLU … Dense(w_last) Softmax with cross-entropy, cycling
/// through pre-gathered batches so the timing holds the step alone.
///
/// `digits`: the shipped 8×8 digits divided by 16 (64 inputs). Otherwise 784 uniform [0, 1)
/// inputs and uniform labels from `SeededGenerator(seed: 7)`, 640 samples.
/// `products` forces every matrix product onto one path through the step's policy
/// (`ComputePolicy(products:)`); nil keeps the automatic policy, the one lessons train with.
func mlpStep(id: String, label: String, widths: [Int], batch: Int, digits: Bool, products: Kernels.Path? = nil,
             optimizer: @escaping () -> any Optimizer) -> BenchCase {
  BenchCase(id: id, group: .step, label: label) {
    var rng = SeededGenerator(seed: 7)
    let data: Dataset
    if digits {
      var d = try Builtin.digits()
      d.x = Preprocess.divide(16).apply(d.x)
      data = d
    } else {
      let count = 640, features = 784
      let x = Tensor(shape: [count, features], data: (0..<count * features).map { _ in rng.unit() })
      data = Dataset(name: "random", x: x, labels: (0..<count).map { _ in rng.below(10) }, classNames: (0...9).map(String.init))
    }
    var layers: [any Layer] = []
    for (i, w) in widths.enumerated() {
      layers.append(Dense(w, initializer: i + 1 < widths.count ? .he : .glorot))
      layers.append(i + 1 < widths.count ? ReLU() as any Layer : Softmax())
    }
    let model = try Sequential(layers).build(inputShape: [data.x.columns], rng: &rng)
    let targets = data.targets(outputs: widths.last!)
    let order = rng.permutation(data.count)
    let batches = stride(from: 0, to: data.count - batch + 1, by: batch).map { start in
      let rows = Array(order[start..<start + batch])
      return (x: data.x.gathering(rows: rows), t: targets.gathering(rows: rows))
    }
    let loss = CrossEntropy(), opt = optimizer(), step = Step(training: true, policy: ComputePolicy(products: products))
    var next = 0
    return {
      let (x, t) = batches[next]
      next = (next + 1) % batches.count
      model.trainStep(x, t, loss: loss, optimizer: opt, step)
    }
  }
}

/// C ← op(A)·op(B) with C [m, n] on the given path; 2·m·n·k flops.
func gemm(id: String, label: String, m: Int, n: Int, k: Int, ta: Bool = false, tb: Bool = false, path: Kernels.Path) -> BenchCase {
  BenchCase(id: id, group: .gemm, label: label, flops: 2 * Double(m) * Double(n) * Double(k)) {
    var rng = SeededGenerator(seed: 11)
    let a = Tensor(shape: ta ? [k, m] : [m, k], data: (0..<m * k).map { _ in rng.uniform(-1, 1) })
    let b = Tensor(shape: tb ? [n, k] : [k, n], data: (0..<k * n).map { _ in rng.uniform(-1, 1) })
    var c = Tensor(shape: [m, n])
    return { Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &c, path: path) }
  }
}

/// Whether both pure-Swift products equal naive k-ordered triple loops bit for bit on a few
/// shapes: `.swift` the loop s ← s + x·y, `.fused` the loop s ← fma(x, y, s) (guards the build
/// flags: a compiler that contracted or regrouped either would break it).
func swiftPathIsExact() -> Bool {
  var rng = SeededGenerator(seed: 3)
  for (m, n, k) in [(1, 1, 1), (5, 7, 3), (33, 17, 65), (64, 64, 64), (37, 131, 300)] {
    for (ta, tb) in [(false, false), (true, false), (false, true), (true, true)] {
      let a = Tensor(shape: ta ? [k, m] : [m, k], data: (0..<m * k).map { _ in rng.uniform(-1, 1) })
      let b = Tensor(shape: tb ? [n, k] : [k, n], data: (0..<k * n).map { _ in rng.uniform(-1, 1) })
      var c = Tensor(shape: [m, n]), f = Tensor(shape: [m, n])
      Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &c, path: .swift)
      Kernels.gemm(a, transposeA: ta, b, transposeB: tb, into: &f, path: .fused)
      for i in 0..<m {
        for j in 0..<n {
          var s = 0.0, t = 0.0
          for kk in 0..<k {
            let x = ta ? a.data[kk * m + i] : a.data[i * k + kk]
            let y = tb ? b.data[j * k + kk] : b.data[kk * n + j]
            s += x * y
            t.addProduct(x, y)
          }
          if c.data[i * n + j].bitPattern != s.bitPattern || f.data[i * n + j].bitPattern != t.bitPattern { return false }
        }
      }
    }
  }
  return true
}
