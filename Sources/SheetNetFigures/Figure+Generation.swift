import SheetNet

/// `generation`: a trained token lesson continuing a question by greedy decoding. The prompt is
/// the question of one evaluation sample (`--sample`, default 1): for `dataset: sequences` its
/// first L tokens (T = 2L − 1), for `dataset: text` the first half of its window. The network then
/// generates the rest (L tokens, or the window's second half) at temperature 0, each step taking
/// the most likely next token (`Generation.sample`). One row of token boxes: the prompt in grey,
/// each generated token coloured by the network's probability p for it on a colour bar 0…1, p
/// printed under its box where it fits. The generated token with the lowest p is outlined, and a
/// table below lists it and its 5 likeliest alternatives with their probabilities.
///
/// The numbers are the engine's: `Generation.sample`, as `sheetnet sample --temperature 0` runs it.
extension Figure {
  /// Alternatives listed for the least sure position.
  static let generationAlternatives = 5

  static func checkGeneration(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) {
    let run = try source.requireRun(.generation)
    guard run.split.train.isTokens else {
      throw .notApplicable("generation continues a token sequence, but \(source.lesson.path) has no tokens (it needs dataset: sequences or text); \(suggestion([.decisionBoundary, .training], for: source))")
    }
    if let open = source.model.layers.first(where: { ($0 as? any CausalityReporting)?.isCausal == false }) {
      throw .notApplicable("generation reads one token at a time, but \(open.name) of \(source.lesson.path) reads the positions after each one; give it causal: true")
    }
    let (split, data) = run.evaluationSet
    _ = try sampleIndex(options, in: data, split: split)
  }

  /// The prompt (ids) and how many tokens follow it, for evaluation sample `sample` (0-based):
  /// a task's question, or the first half of a text window.
  public static func generationPrompt(_ run: LessonRun, sample: Int) -> (prompt: [Int], length: Int) {
    let data = run.evaluationSet.data
    let t = data.x.count / max(data.count, 1)
    let row = (0..<t).map { Int(data.x.data[sample * t + $0]) }
    if run.lesson.data.dataset == "sequences" {
      let l = (t + 1) / 2  // T = 2L − 1: the question a₁ … a_L, then the answer's L tokens
      return (Array(row.prefix(l)), l)
    }
    let half = max(1, t / 2)
    return (Array(row.prefix(half)), t - half)
  }

  static func generation(_ source: FigureSource, _ options: FigureOptions) throws(FigureError) -> Figure {
    let run = try source.requireRun(.generation)
    let (split, data) = run.evaluationSet
    let sample = try sampleIndex(options, in: data, split: split)
    let vocabulary = run.split.train.vocabulary
    let (prompt, length) = generationPrompt(run, sample: sample)
    let tokens = Generation.sample(model: source.model, prompt: prompt, length: length, temperature: 0, seed: 1, top: generationAlternatives, vocabulary: vocabulary)
    let promptLabels = prompt.map { Sequences.shown(id: Double($0), vocabulary) }
    let shown = promptLabels.joined()
    let title = "Greedy decoding by \(state(source, options)), from “\(shown.count > 24 ? String(shown.prefix(23)) + "…" : shown)”"
    let subtitle = "prompt: the question of \(split) sample \(options.sample); then each step's likeliest token; colour and number: p"
    return generationRow(prompt: promptLabels, generated: tokens, vocabulary: vocabulary, theme: options.theme, title: title, subtitle: subtitle)
  }

  /// A row of token boxes, the prompt's then the generated ones (coloured by p), a colour bar, and
  /// a table of the least sure generated token's alternatives.
  public static func generationRow(prompt: [String], generated: [GeneratedToken], vocabulary: [String], theme: Theme, title: String, subtitle: String) -> Figure {
    let label = { (text: String) -> String in
      guard let id = vocabulary.firstIndex(of: text) else { return text }
      return Sequences.shown(id: Double(id), vocabulary)
    }
    let labels = prompt + generated.map { label($0.text) }
    let n = labels.count, first = prompt.count
    let weakest = generated.indices.min { generated[$0].probability < generated[$1].probability }
    return Figure(name: "generation", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let bar = ColorBar(colormap: .viridis, scale: ColorScale(lower: 0, upper: 1), title: "p")
      let barWidth = bar.width(on: canvas, theme: theme, height: body.height)
      let (barRect, main) = body.splitRight(barWidth, gap: theme.gap)
      let lh = canvas.measure("Ag", style: theme.label).height, th = canvas.measure("Ag", style: theme.tick).height
      // The token rows: group labels, boxes, then p under each generated box. Many tokens wrap
      // onto as many lines as give the largest boxes (the rows then take up to 60 % of the
      // height, the table the rest), so a long prompt reads like text instead of a thin strip.
      let overhead = lh + th + theme.gap * 0.6, lineGap = theme.gap * 0.3
      func layout(_ lines: Int) -> (perLine: Int, inner: Double, box: Double) {
        let perLine = (n + lines - 1) / max(lines, 1)
        let inner = main.width / Double(max(perLine, 1)) * 0.9
        let share = (main.height * 0.6 - lineGap * Double(lines - 1)) / Double(lines)
        return (perLine, inner, max(0, min(inner * 1.1, share - overhead)))
      }
      var lines = 1
      for l in stride(from: 2, through: max(n, 1), by: 1) {
        let (a, b) = (layout(l), layout(lines))
        if min(a.inner, a.box) > min(b.inner, b.box) { lines = l }
      }
      let (perLine, inner, fitted) = layout(lines)
      let rowsHeight = lines == 1 ? main.height * 0.42 : Double(lines) * (fitted + overhead) + lineGap * Double(lines - 1)
      let (rowArea, tableArea) = main.splitTop(max(main.height * 0.42, rowsHeight), gap: theme.gap)
      let slot = main.width / Double(max(perLine, 1))
      let boxHeight = lines == 1 ? max(0, min(inner * 1.1, rowArea.height - overhead)) : fitted
      // Line l's top (its group labels) and box top.
      func lineTop(_ l: Int) -> Double { rowArea.y + Double(l) * (boxHeight + overhead + lineGap) }
      func boxTop(_ l: Int) -> Double { lineTop(l) + lh + theme.gap * 0.3 }
      func box(_ k: Int) -> Rect {
        Rect(x: main.x + slot * Double(k % perLine) + (slot - inner) / 2, y: boxTop(k / perLine), width: inner, height: boxHeight)
      }
      var tokenSize = min(theme.titleSize * 1.4, boxHeight * 0.6)
      while tokenSize > theme.minimumSize && labels.contains(where: { canvas.measure($0, style: TextStyle(size: tokenSize)).width > inner * 0.85 }) { tokenSize -= 0.5 }
      tokenSize = max(tokenSize, theme.minimumSize)
      let pStyle = theme.tick
      let pFits = canvas.measure("0.000", style: pStyle).width <= slot - theme.clearance * 2
      for k in 0..<n {
        let r = box(k)
        let generatedToken = k >= first ? generated[k - first] : nil
        let fill = generatedToken.map { Colormap.viridis($0.probability) } ?? Color(hex: 0xEFEFEF)
        canvas.fill(r, fill)
        canvas.stroke(r, Theme.ink, width: theme.hairline)
        canvas.text(labels[k], r.center, TextStyle(size: tokenSize, color: fill.legibleText))
        if let t = generatedToken, pFits {
          canvas.text(NumberFormat.fixed(t.probability, digits: 3), Point(r.midX, r.maxY + theme.gap * 0.3), pStyle, anchor: .top)
        }
        if let w = weakest, k == first + w {
          canvas.stroke(r.inset(-theme.hairline * 2), Theme.accent, width: theme.lineWidth)
        }
      }
      // "prompt" and "generated" above their boxes on each line, with a bracket line.
      for (name, range) in [("prompt", 0..<first), ("generated", first..<n)] where !range.isEmpty {
        for l in range.lowerBound / perLine...(range.upperBound - 1) / perLine {
          let part = max(range.lowerBound, l * perLine)..<min(range.upperBound, (l + 1) * perLine)
          let a = box(part.lowerBound).x, b = box(part.upperBound - 1).maxX
          let style = canvas.fitting(name, width: b - a, theme.label, minimum: theme.minimumSize)
          if canvas.measure(name, style: style).width <= b - a {
            canvas.text(name, Point((a + b) / 2, lineTop(l)), style, anchor: .top)
          }
          canvas.line(Point(a, boxTop(l) - theme.gap * 0.15), Point(b, boxTop(l) - theme.gap * 0.15), Theme.muted, width: theme.hairline)
        }
      }
      // The least sure generated token and its alternatives: a bar per token on a grey track.
      if let w = weakest {
        let t = generated[w]
        let rows = [(label(t.text), t.probability, true)] + t.alternatives.map { (label($0.text), $0.probability, false) }
        let heading = "the least sure step (position \(first + w + 1)): its likeliest tokens"
        let tableBody = canvas.titled(tableArea, heading, theme, bold: true)
        let rowHeight = tableBody.height / Double(rows.count)
        let names = rows.map { $0.0 }
        let nameWidth = max(canvas.measure("chosen ", style: theme.tick).width, 0) + (names.map { canvas.measure($0, style: theme.label).width }.max() ?? 0) + theme.gap * 0.5
        let numberWidth = canvas.measure("0.000×10⁻⁰⁰", style: theme.tick).width + theme.gap * 0.5
        for (i, (name, p, chosen)) in rows.enumerated() {
          let y = tableBody.y + rowHeight * Double(i)
          let mid = y + rowHeight / 2
          var nameStyle = theme.label
          nameStyle.bold = chosen
          canvas.text(name, Point(tableBody.x + nameWidth - theme.gap * 0.5, mid), nameStyle, anchor: .right)
          if chosen { canvas.text("chosen", Point(tableBody.x, mid), theme.note, anchor: .left) }
          let track = Rect(x: tableBody.x + nameWidth, y: y + rowHeight * 0.15, width: max(0, tableBody.width - nameWidth - numberWidth), height: rowHeight * 0.7)
          canvas.fill(track, Theme.grid)
          canvas.fill(Rect(x: track.x, y: track.y, width: track.width * min(max(p, 0), 1), height: track.height), Colormap.viridis(p))
          canvas.text(NumberFormat.significant(p, 3), Point(track.maxX + theme.gap * 0.5, mid), theme.tick, anchor: .left)
        }
      }
      bar.draw(on: canvas, in: barRect, theme: theme)
    }
  }
}
