import SheetNet

// Issue 20: a transformer training step, in the same shape as Benchmarks/torch_transformer.py
// (case ids match).

/// A small GPT-style language model on random tokens: token embedding (V = 65, d = 64), learned
/// positions (T = 32), two pre-norm blocks, each `residual: [layer_norm, self_attention 4 heads
/// causal]` and `residual: [layer_norm, dense 256, gelu, dense 64]`, a final layer_norm, dense 65,
/// softmax, token cross-entropy at every position, Adam (learning rate 0.001), batch 16, Float64.
/// 110,529 parameters (as the PyTorch model); about 3.5 M multiply-adds per sample forward.
///
/// Each sample is 33 uniform token ids from `SeededGenerator(seed: 7)`: the first 32 are the
/// input, the last 32 the targets (the next token at each position). Four batches, cycled.
/// `products` forces every matrix product onto one path (nil: the automatic policy, which sends
/// these products, all past 64³ multiply-adds, to OpenBLAS where it is fast).
func transformerStep(id: String = "step/transformer", label: String = "Transformer V 65, d 64, T 32, 2 blocks of 4 causal heads; batch 16, Adam",
                     products: Kernels.Path? = nil) -> BenchCase {
  let (vocabulary, d, tokens, batch) = (65, 64, 32, 16)
  return BenchCase(id: id, group: .step, label: label) {
    var rng = SeededGenerator(seed: 7)
    let batches = (0..<4).map { _ in
      let ids = (0..<batch).map { _ in (0...tokens).map { _ in Double(rng.below(vocabulary)) } }
      return (x: Tensor(shape: [batch, tokens], data: ids.flatMap { $0.dropLast() }),  // [N, T] token ids
              t: Tensor(shape: [batch, tokens], data: ids.flatMap { $0.dropFirst() }))  // [N, T] next ids
    }
    let model = try Sequential {
      Embedding(size: d, vocabulary: vocabulary)
      Positional()
      for _ in 0..<2 {
        Skip()
        LayerNorm()
        SelfAttention(heads: 4, causal: true)
        Residual()
        Skip()
        LayerNorm()
        Dense(4 * d)
        GELU()
        Dense(d)
        Residual()
      }
      LayerNorm()
      Dense(vocabulary)
      Softmax()
    }.build(inputShape: [tokens], rng: &rng)
    let loss = TokenCrossEntropy(), opt = Adam(learningRate: 0.001), step = Step(training: true, policy: ComputePolicy(products: products))
    var next = 0
    return {
      let (x, t) = batches[next]
      next = (next + 1) % batches.count
      model.trainStep(x, t, loss: loss, optimizer: opt, step)
    }
  }
}
