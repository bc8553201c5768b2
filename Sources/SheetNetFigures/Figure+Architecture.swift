import Foundation
import SheetNet

/// `architecture`: a dense network as neurons and edges (TensorFlow Playground's view: edge
/// colour and width from the trained weight, neuron fill from its bias, every bias visible), or
/// any other network as a block diagram with each layer's output shape and parameter count.
extension Figure {
  /// True when every layer is dense, an element-wise activation, softmax or dropout.
  static func isDense(_ model: Sequential) -> Bool {
    model.inputShape.count == 1 && model.layers.allSatisfy { $0 is Dense || $0 is any Activation || $0 is Softmax || $0 is Dropout }
  }

  static func architecture(_ source: FigureSource, _ options: FigureOptions) -> Figure {
    let model = source.model
    let parameters = NumberFormat.integer(model.parameterCount)
    let title = "Architecture: \(state(source, options))"
    let subtitle = "\(parameters) parameters, \(NumberFormat.integer(model.multiplyAdds)) multiply-adds per sample"
    if isDense(model) {
      let classes = source.run.map { run in classLabels(run.split.train, count: run.split.train.classes) } ?? []
      let regression = source.run.map { $0.split.train.labels == nil } ?? false
      return neuronDiagram(model, theme: options.theme, title: title, subtitle: subtitle + "; edge colour and width: weight w, neuron fill: bias b", classNames: classes, regression: regression)
    }
    return blockDiagram(model, theme: options.theme, title: title, subtitle: subtitle)
  }

  // MARK: Dense networks: neurons and edges

  /// The most neurons a column draws; a larger layer shows its first and last halves of this
  /// many with a vertical "…" between them and its size in the column's header.
  static let neuronLimit = 16

  /// One column of neurons: its header, its size, and which of its units it draws.
  struct NeuronColumn {
    var header: String
    var detail: String
    var units: Int
    var dense: Dense?

    /// The units drawn: all of them, or the first and last `neuronLimit / 2`.
    var shown: [Int] {
      units <= neuronLimit ? Array(0..<units) : Array(0..<neuronLimit / 2) + Array((units - neuronLimit / 2)..<units)
    }
    /// True when some units are left out (a "…" marks where).
    var elided: Bool { units > neuronLimit }
    /// Drawing slots from the top: one per shown unit, plus one for the "…".
    var slots: Int { shown.count + (elided ? 1 : 0) }
    /// The slot of the k-th shown unit (the "…" takes the middle slot).
    func slot(_ k: Int) -> Int { elided && k >= neuronLimit / 2 ? k + 1 : k }
  }

  /// The most edges a large diagram (over 100 edges between the neurons drawn) draws a layer:
  /// its strongest, none under a fifth of its layer's scale; the faint rest would only blur the
  /// picture (and bloat its PNG). The page says how many of how many it draws.
  static let edgeLimit = 48

  /// How far the colour scale reaches beyond the typical edge: ±(this × the median |w| of the
  /// edges drawn) at most, so one large weight (momentum-vs-sgd's w = 20 beside weights near 1)
  /// cannot wash every other edge out to white. Edges beyond are drawn dashed in the end colour.
  static let clipFactor = 5.0

  /// The scale of `values` (weights, and the biases drawn): the largest |v|, or `clipFactor` ×
  /// the median |w| of `edges` when that is smaller (and not 0).
  static func robustLimit(edges: [Double], values: [Double]) -> Double {
    let largest = (values + edges).filter(\.isFinite).map(abs).max() ?? 0
    let sorted = edges.filter(\.isFinite).map(abs).sorted()
    guard !sorted.isEmpty else { return largest }
    let n = sorted.count
    let median = n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2
    return median > 0 ? min(largest, clipFactor * median) : largest
  }

  /// The neurons-and-edges view of a dense network. Each edge's colour comes from its weight, its
  /// width and opacity from |w| over its layer's scale, drawn weakest first, so the strong
  /// connections stand out; layers over `neuronLimit` units draw their first and last few
  /// neurons, and a large diagram each layer's `edgeLimit` strongest edges. Colours and widths
  /// use `robustLimit`: edges beyond the colour scale are dashed, and a note under the diagram
  /// says so, and how many of each layer's edges are drawn.
  /// `regression`: the outputs are target values, not class probabilities: a single output is
  /// labelled ŷ (not p(class 1)), several are not labelled.
  public static func neuronDiagram(_ model: Sequential, theme: Theme, title: String, subtitle: String, classNames: [String] = [], regression: Bool = false) -> Figure {
    // The columns: the input, then each dense layer with the layers that follow it (activation, dropout).
    let inputs = model.inputShape[0]
    var columns = [NeuronColumn(header: "input", detail: "\(NumberFormat.integer(inputs)) input\(inputs == 1 ? "" : "s")", units: inputs, dense: nil)]
    for layer in model.layers {
      if let d = layer as? Dense {
        columns.append(NeuronColumn(header: d.name, detail: "\(NumberFormat.integer(d.units)) unit\(d.units == 1 ? "" : "s")", units: d.units, dense: d))
      } else if let a = layer as? any Activation {
        columns[columns.count - 1].detail += " · \(type(of: a).symbol)"
      } else if layer is Softmax {
        columns[columns.count - 1].detail += " · softmax"
      } else if let drop = layer as? Dropout {
        columns[columns.count - 1].detail += " · dropout \(NumberFormat.shortest(drop.rate))"
      }
    }
    let edgeCount = zip(columns, columns.dropFirst()).map { $0.shown.count * $1.shown.count }.reduce(0, +)
    // The edges between drawn neurons (a large diagram: each layer's strongest), with each
    // layer's scale (`robustLimit` of its edges drawn).
    let large = edgeCount > 100
    var kept: [(w: Double, source: Int, target: Int, column: Int)] = []
    var layerLimit: [Int: Double] = [:]
    var notes: [[String]] = [], counts: [String] = []
    for c in 1..<max(columns.count, 1) {
      guard let d = columns[c].dense else { continue }
      let n = columns[c - 1].units
      var layer: [(w: Double, source: Int, target: Int, column: Int)] = []
      for (jk, j) in columns[c].shown.enumerated() {
        for (ik, i) in columns[c - 1].shown.enumerated() { layer.append((d.W.value.data[j * n + i], ik, jk, c)) }
      }
      if large { layer = Array(layer.sorted { abs($0.w) > abs($1.w) }.prefix(edgeLimit)) }
      let limit = robustLimit(edges: layer.map(\.w), values: [])
      if large { layer = layer.filter { abs($0.w) >= 0.2 * limit } }
      layerLimit[c] = limit > 0 ? limit : 1
      kept += layer
      if layer.count < d.W.value.count {
        let all = NumberFormat.integer(d.W.value.count)
        counts.append("\(d.name) \(layer.count) of \(all)")
      }
    }
    if !counts.isEmpty {
      let elided = columns.contains(where: \.elided) ? " between the neurons shown" : ""
      let pieces = counts.enumerated().map { $0.element + ($0.offset < counts.count - 1 ? "," : "") }
      notes.append([large ? "Edges drawn, each layer's strongest\(elided):" : "Edges drawn, those\(elided):"] + pieces)
    }
    // One colour scale for weights and biases, clipped by `robustLimit` of the edges drawn.
    let biases = columns.compactMap { c in c.dense.map { d in d.useBias ? c.shown.map { d.b.value.data[$0] } : [] } }.flatMap { $0 }
    let limit = robustLimit(edges: kept.map(\.w), values: biases)
    let scale = ColorScale.symmetric([limit])
    let clipped = kept.filter { abs($0.w) > limit }.count + biases.filter { abs($0) > limit }.count
    if clipped > 0 {
      let beyond = kept.filter { abs($0.w) > limit }.count
      notes.append(["Colours end at ±\(NumberFormat.significant(limit, 2)),", "\(NumberFormat.shortest(clipFactor)) × the median |w| drawn;",
                    beyond > 0 ? "the \(beyond == 1 ? "edge" : "\(beyond) edges") beyond \(beyond == 1 ? "is" : "are") dashed" : "larger biases take the end colours"])
    }
    return Figure(name: "architecture", size: theme.size) { canvas in
      let page = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      // The notes (edges drawn, clipping) under the diagram: each note's pieces joined into as
      // few lines as fit the width.
      var lines: [String] = []
      for note in notes {
        var line = ""
        for piece in note {
          if !line.isEmpty && canvas.measure(line + " " + piece, style: theme.note).width > page.width {
            lines.append(line)
            line = piece
          } else {
            line = line.isEmpty ? piece : line + " " + piece
          }
        }
        lines.append(line)
      }
      let lineHeight = canvas.measure("Ag", style: theme.note).height + theme.clearance
      let noteHeight = Double(lines.count) * lineHeight
      let (body, noteStrip) = page.splitTop(page.height - noteHeight - (lines.isEmpty ? 0 : theme.gap * 0.5), gap: lines.isEmpty ? 0 : theme.gap * 0.5)
      for (i, line) in lines.enumerated() {
        canvas.text(line, Point(noteStrip.x, noteStrip.y + Double(i) * lineHeight), theme.note, anchor: .topLeft)
      }
      let bar = ColorBar(colormap: .diverging, scale: scale, title: "w, b")
      let (barRect, rest0) = body.splitRight(bar.width(on: canvas, theme: theme, height: body.height), gap: theme.gap)
      let outputs = columns.last!
      let outputLabels: [String] = regression ? (outputs.units == 1 ? ["ŷ"] : [])
        : outputs.units == 1 ? ["p(\(classNames.count == 2 ? classNames[1] : "class 1"))"]
        : (classNames.count == outputs.units ? classNames : [])
      let labelWidth = (outputLabels.map { canvas.measure($0, style: theme.tick).width }.max() ?? 0)
      let (_, rest) = rest0.splitRight(labelWidth, gap: labelWidth > 0 ? theme.gap * 0.4 : 0)
      let headerStyle = theme.label.emphasized, detailStyle = theme.tick
      let headerLine = canvas.measure("Ag", style: headerStyle).height, detailLine = canvas.measure("Ag", style: detailStyle).height
      let (headers, field0) = rest.splitTop(headerLine + detailLine + theme.clearance * 2, gap: theme.gap * 0.6)
      // Keep every column's header on the page: inset the field by half the widest end header.
      func headerWidth(_ c: NeuronColumn) -> Double {
        max(canvas.measure(c.header, style: headerStyle).width, canvas.measure(c.detail, style: detailStyle).width)
      }
      // The last column's neurons (up to 1.25 × 2.2 label sizes for a lone one) keep clear of the labels beside them.
      let lastRadius = theme.labelSize * 2.2 * (outputs.slots == 1 ? 1.25 : 1)
      let field = field0.inset(left: headerWidth(columns[0]) / 2, right: columns.count > 1 ? max(headerWidth(outputs) / 2, outputLabels.isEmpty ? 0 : lastRadius) : 0)
      // Each column spreads its neurons over the whole height (a neuron per slot), large enough
      // for its bias to be written in.
      let largestRadius = theme.labelSize * 2.2
      let spacings = columns.map { field.height / Double($0.slots) }
      // A lone neuron (one output unit) is drawn a little larger: the page has room for it.
      let radii = zip(columns, spacings).map { c, s in c.slots == 1 ? min(largestRadius * 1.25, s * 0.42) : min(largestRadius, s * 0.42) }
      let xs = columns.indices.map { i in
        columns.count == 1 ? field.midX : field.x + field.width * Double(i) / Double(columns.count - 1)
      }
      // The first and last neurons touch the top and bottom of the field; one neuron sits in the middle.
      func center(_ c: Int, slot: Int) -> Point {
        let n = columns[c].slots
        guard n > 1 else { return Point(xs[c], field.midY) }
        return Point(xs[c], field.y + radii[c] + Double(slot) * (field.height - 2 * radii[c]) / Double(n - 1))
      }
      func center(_ c: Int, _ k: Int) -> Point { center(c, slot: columns[c].slot(k)) }
      // Edges between drawn neurons, weakest first so strong weights lie on top; strength is
      // |w| over the layer's scale (each layer's strong edges opaque), and an edge beyond the
      // colour scale is dashed.
      let maxWidth = max(theme.hairline, min((radii.min() ?? 1) * 0.5 + theme.hairline, theme.lineWidth * 2))
      let edges = kept.map { e in (from: center(e.column - 1, e.source), to: center(e.column, e.target), w: e.w, source: e.source, column: e.column) }
      func strength(_ e: (from: Point, to: Point, w: Double, source: Int, column: Int)) -> Double { min(abs(e.w) / layerLimit[e.column]!, 1) }
      for e in edges.sorted(by: { strength($0) < strength($1) || (strength($0) == strength($1) && abs($0.w) < abs($1.w)) }) {
        let width = theme.hairline * 0.5 + (maxWidth - theme.hairline * 0.5) * strength(e)
        let dash = abs(e.w) > limit ? [maxWidth * 2.5, maxWidth * 1.2] : []
        canvas.line(e.from, e.to, Colormap.diverging(scale(e.w)).opacity(edgeOpacity(strength(e), faintest: large ? 0.08 : 0.35)), width: width, dash: dash)
      }
      // Weights written on the edges of a tiny network: the i-th input's edges at (i+1)/(n+1) of the way.
      let numberStyle = TextStyle(size: max(theme.minimumSize, theme.tickSize * 0.9))
      if edgeCount <= 16 {
        for e in edges {
          let n = Double(columns[e.column - 1].shown.count)
          let t = (Double(e.source) + 1) / (n + 1)
          let p = Point(e.from.x + (e.to.x - e.from.x) * t, e.from.y + (e.to.y - e.from.y) * t)
          let text = NumberFormat.significant(e.w, 3)
          let size = canvas.measure(text, style: numberStyle)
          canvas.fill(Path.roundedRect(Rect(x: p.x - size.width / 2 - 2, y: p.y - size.height / 2, width: size.width + 4, height: size.height), radius: 2), Color.white.opacity(0.9))
          canvas.text(text, p, numberStyle)
        }
      }
      // Each dense layer's formula between its input column and its own, in the header row:
      // z¹ = W¹·x + b¹, z² = W²·a¹ + b², … (only where it fits between the headers).
      for c in 1..<max(columns.count, 1) where columns[c].dense != nil {
        let l = NumberFormat.superscript(c)
        let formula = "z\(l) = W\(l)·\(c == 1 ? "x" : "a" + NumberFormat.superscript(c - 1)) + b\(l)"
        let left = xs[c - 1] + headerWidth(columns[c - 1]) / 2, right = xs[c] - headerWidth(columns[c]) / 2
        guard canvas.measure(formula, style: theme.note).width <= right - left - theme.gap else { continue }
        canvas.text(formula, Point((left + right) / 2, headers.midY), theme.note)
      }
      // Neurons: inputs white, others filled with their bias colour, the bias written in when it fits.
      for (c, column) in columns.enumerated() {
        let room = columns.count == 1 ? field0.width : field.width / Double(columns.count - 1) * 0.95
        let header = canvas.fitting(column.header, width: room, headerStyle, minimum: theme.minimumSize)
        canvas.text(column.header, Point(xs[c], headers.y), header, anchor: .top)
        canvas.text(column.detail, Point(xs[c], headers.maxY), canvas.fitting(column.detail, width: room, detailStyle, minimum: theme.minimumSize), anchor: .bottom)
        let radius = radii[c]
        let labelsFit = canvas.measure("Ag", style: theme.tick).height <= spacings[c] * 0.95
        if column.elided {
          var dots = TextStyle(size: max(theme.minimumSize, min(theme.labelSize, spacings[c] * 0.9)), bold: true, color: Theme.muted)
          dots.vertical = true
          canvas.text("…", center(c, slot: neuronLimit / 2), dots)
        }
        for (k, j) in column.shown.enumerated() {
          let p = center(c, k)
          let circle = Path.circle(p, radius: radius)
          var label = ""
          if let d = column.dense {
            let b = d.useBias ? d.b.value.data[j] : 0
            canvas.fill(circle, Colormap.diverging(scale(b)))
            label = NumberFormat.significant(b, 2)
            if c == columns.count - 1, j < outputLabels.count, labelsFit {
              canvas.text(outputLabels[j], Point(p.x + radius + theme.gap * 0.4, p.y), theme.tick, anchor: .left)
            }
          } else {
            canvas.fill(circle, .white)
            label = "x" + subscripted(j + 1)
          }
          canvas.stroke(circle, Theme.ink, width: theme.hairline)
          var style = canvas.fitting(label, width: radius * 1.8, TextStyle(size: min(theme.tickSize, radius * 0.62)), minimum: theme.minimumSize)
          if style.size >= theme.minimumSize && canvas.measure(label, style: style).width <= radius * 1.85 {
            if let d = column.dense { style.color = Colormap.diverging(scale(d.useBias ? d.b.value.data[j] : 0)).legibleText }
            canvas.text(label, p, style)
          }
        }
      }
      bar.draw(on: canvas, in: Rect(x: barRect.x, y: field.y, width: barRect.width, height: field.height), theme: theme)
    }
  }

  /// An edge's opacity from its strength |w| / scale: `faintest` at 0, 1 at the scale. A large
  /// diagram fades its weakest edges to 0.08; a small one, where every edge is drawn and may be
  /// numbered, keeps them at 0.35 so that none vanishes.
  static func edgeOpacity(_ strength: Double, faintest: Double = 0.08) -> Double { faintest + (1 - faintest) * min(max(strength, 0), 1) }

  // MARK: Other networks: a block diagram

  /// What a block says about its layer: a short description and a fill colour by kind.
  static func blockDescription(_ layer: any Layer) -> (text: String, fill: Color) {
    let conv = Color(hex: 0xD6E6F4), pool = Color(hex: 0xFCE3C4), dense = Color(hex: 0xD5EFDF), plain = Color(hex: 0xEEEEEE)
    switch layer {
    case let c as Conv2D:
      let stride = c.stride == (1, 1) ? "" : " /\(c.stride.height)"
      return ("\(c.filters) @ \(c.kernel.height)×\(c.kernel.width)\(c.padding == .same ? " same" : "")\(stride)", conv)
    case let p as MaxPool2D: return ("max \(p.size.height)×\(p.size.width)", pool)
    case let p as AvgPool2D: return ("mean \(p.size.height)×\(p.size.width)", pool)
    case let d as Dense: return ("dense \(d.units)", dense)
    case is Flatten: return ("flatten", plain)
    case let d as Dropout: return ("dropout \(NumberFormat.shortest(d.rate))", plain)
    case is BatchNorm: return ("batch norm", plain)
    case is LayerNorm: return ("layer norm", plain)
    case is Softmax: return ("softmax", plain)
    case let e as Embedding: return ("embedding \(e.size)", dense)
    case let p as Positional: return (p.encoding == .learned ? "+ position" : "+ sin position", plain)
    case let a as SelfAttention: return ("\(a.heads) head\(a.heads == 1 ? "" : "s")\(a.causal ? " causal" : "")", conv)
    case let a as any Activation: return (type(of: a).symbol, plain)
    default: return (layer.kind, plain)
    }
  }

  /// One block of the diagram: a layer with the element-wise layers after it (batch norm, layer norm,
  /// activation, softmax, dropout), its output shape and its parameters (theirs included).
  struct Block {
    var name: String
    var lines: [String]
    var shape: [Int]
    var parameters: Int
    var fill: Color
    var input = false
  }

  /// A residual block drawn as a frame around its blocks `first...last`, ending in a "+" (its
  /// `residual` layer) that a skip arrow from the block's input reaches; `height` counts the
  /// frames nested inside it (0: none), so outer frames are drawn larger.
  struct Frame {
    var first: Int
    var last: Int
    var height = 0
  }

  /// True for a layer that joins the block before it: element-wise layers, and the positional
  /// encoding (added to the embedding before it).
  static func joins(_ layer: any Layer) -> Bool {
    layer is BatchNorm || layer is LayerNorm || layer is any Activation || layer is Softmax || layer is Dropout || layer is Positional
  }

  /// The blocks of a network: the input, then one per layer that changes the shape or has
  /// weights; element-wise layers join the block before them, or, when a residual block's frame
  /// separates them from it (a pre-norm block's layer norm), the block after them.
  static func blocks(_ model: Sequential) -> [Block] { blocksAndFrames(model).blocks }

  /// The blocks, and the residual blocks as frames around them (`skip` and `residual` layers
  /// draw no block of their own).
  static func blocksAndFrames(_ model: Sequential) -> (blocks: [Block], frames: [Frame]) {
    var blocks = [Block(name: "input", lines: [], shape: model.inputShape, parameters: 0, fill: .white, input: true)]
    var frames: [Frame] = []
    var open: [Int] = []  // the first block of each open residual block
    var pending: Block? = nil  // element-wise layers cut off from the block before them
    var canJoin = false  // whether the last block may take the next element-wise layer
    func flush() {
      if let p = pending { blocks.append(p) }
      pending = nil
    }
    for (layer, shape) in zip(model.layers, model.shapes) {
      if layer is Skip {
        flush()
        open.append(blocks.count)
        canJoin = false
        continue
      }
      if layer is Residual {
        flush()
        let first = open.popLast() ?? 1
        let inner = frames.filter { $0.first >= first }.map { $0.height + 1 }.max() ?? 0
        frames.append(Frame(first: first, last: blocks.count - 1, height: inner))
        blocks[blocks.count - 1].shape = shape
        canJoin = false
        continue
      }
      let (text, fill) = blockDescription(layer)
      if joins(layer) && (canJoin || blocks.last!.input) && pending == nil {
        if blocks.last!.input {
          blocks.append(Block(name: layer.name, lines: [text], shape: shape, parameters: layer.parameterCount, fill: fill))
          canJoin = true
        } else {
          blocks[blocks.count - 1].lines.append(text)
          blocks[blocks.count - 1].parameters += layer.parameterCount
          blocks[blocks.count - 1].shape = shape
        }
      } else if joins(layer) {
        if pending == nil { pending = Block(name: layer.name, lines: [], shape: shape, parameters: 0, fill: fill) }
        pending!.lines.append(text)
        pending!.parameters += layer.parameterCount
        pending!.shape = shape
      } else {
        var b = Block(name: layer.name, lines: [text], shape: shape, parameters: layer.parameterCount, fill: fill)
        if let p = pending {
          b.lines = p.lines + b.lines
          b.parameters += p.parameters
        }
        pending = nil
        blocks.append(b)
        canJoin = true
      }
    }
    flush()
    return (blocks, frames)
  }

  /// Blocks in a row, left to right, sized to fill the page: each with its name and what it
  /// does on top, a sketch of its output (C slabs of H×W, drawn to scale against the largest H;
  /// a vector as a bar) in the middle, and its output shape and parameter count below. A network
  /// too long for one row (its texts on two lines and short arrows) wraps onto as few rows as
  /// fit, broken between residual blocks, never inside one, as evenly as can be; an arrow runs
  /// from each row's end to the next row's start.
  public static func blockDiagram(_ model: Sequential, theme: Theme, title: String, subtitle: String) -> Figure {
    let (blocks, frames) = blocksAndFrames(model)
    let spatial = blocks.compactMap { $0.shape.count == 3 ? $0.shape[1] : nil }.max() ?? 1
    let longest = blocks.map { $0.shape.reduce(1, *) }.max() ?? 1
    return Figure(name: "architecture", size: theme.size) { canvas in
      let body = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
      let nameStyle = theme.tick.emphasized, style = theme.tick, note = theme.note
      let line = canvas.measure("Ag", style: style).height + theme.clearance * 2
      let pad = theme.tickSize * 0.3
      // The row: blocks, and for each residual block the left edge of its frame ("open") and the
      // "+" that ends it ("close"), with the frame's right edge just after the "+".
      enum Item { case block(Int), open(Int), close(Int) }
      var items: [Item] = []
      for i in blocks.indices {
        items += frames.indices.filter { frames[$0].first == i }.sorted { frames[$0].height > frames[$1].height }.map { Item.open($0) }
        items.append(.block(i))
        items += frames.indices.filter { frames[$0].last == i }.sorted { frames[$0].height < frames[$1].height }.map { Item.close($0) }
      }
      let framePad = theme.tickSize * 0.5, plusSize = theme.tickSize
      // The space before item k (not the first of its row): an arrow, or a frame's padding inside
      // its left edge, plus the padding after a "+" before its frame's right edge.
      func gap(_ k: Int, _ arrow: Double) -> Double {
        guard k > 0 else { return 0 }
        var g = 0.0
        if case .close = items[k - 1] { g += framePad }
        if case .open = items[k - 1], !isClose(items[k]) { g += framePad } else { g += arrow }
        return g
      }
      func isClose(_ item: Item) -> Bool { if case .close = item { return true } else { return false } }
      // A row after the first starts with the arrow from the row above (its bend, then an
      // arrow's length); a row before the last ends with an arrow's length (after the frame's
      // padding when it ends in a "+").
      func leading(_ first: Int, _ arrow: Double) -> Double { first > 0 ? arrow * 1.5 : 0 }
      func trailing(_ end: Int, _ arrow: Double) -> Double {
        end < items.count ? arrow + (isClose(items[end - 1]) ? framePad : 0) : 0
      }
      // Everything in the row of items first..<end but the blocks: arrows, frame padding and "+" signs.
      func fixed(_ first: Int, _ end: Int, _ arrow: Double) -> Double {
        leading(first, arrow) + trailing(end, arrow) + (first + 1..<max(end, first + 1)).map { gap($0, arrow) }.reduce(0, +)
          + Double(items[first..<end].filter(isClose).count) * plusSize
      }
      func blocksIn(_ first: Int, _ end: Int) -> [Int] {
        items[first..<end].compactMap { if case .block(let i) = $0 { return i } else { return nil } }
      }
      func rowWidth(_ first: Int, _ end: Int, _ widths: [Double], _ arrow: Double) -> Double {
        blocksIn(first, end).map { widths[$0] }.reduce(0, +) + fixed(first, end, arrow)
      }
      // Rows break only where no frame is open.
      var depth = 0
      var breaks = [0]
      for (k, item) in items.enumerated() {
        if case .open = item { depth += 1 }
        if case .close = item { depth -= 1 }
        if depth == 0 && k + 1 < items.count { breaks.append(k + 1) }
      }
      breaks.append(items.count)
      // `count` rows whose widest is as narrow as can be: best[j][e] is the widest of the
      // first j rows when they end at breaks[e], and where the j-th row starts.
      func partition(_ count: Int, _ widths: [Double], _ arrow: Double) -> (rows: [Range<Int>], width: Double)? {
        var best = [[(width: Double, from: Int)?]](repeating: [(width: Double, from: Int)?](repeating: nil, count: breaks.count), count: count + 1)
        best[0][0] = (0, 0)
        for j in stride(from: 1, through: count, by: 1) {
          for e in 1..<breaks.count {
            for b in 0..<e {
              guard let before = best[j - 1][b] else { continue }
              let width = max(before.width, rowWidth(breaks[b], breaks[e], widths, arrow))
              if best[j][e].map({ width < $0.width }) ?? true { best[j][e] = (width, b) }
            }
          }
        }
        guard let last = best[count][breaks.count - 1] else { return nil }
        var rows: [Range<Int>] = [], e = breaks.count - 1
        for j in stride(from: count, through: 1, by: -1) {
          let b = best[j][e]!.from
          rows.insert(breaks[b]..<breaks[e], at: 0)
          e = b
        }
        return (rows, last.width)
      }
      // Each block's text: the parameter count on one line, or on two ("16,910" over "params")
      // when one row would not fit otherwise.
      // Level 0 writes each on one line; level 1 puts the count over "params"; level 2 also
      // writes a C×H×W shape as "C ×" over "H×W".
      func texts(_ b: Block, split: Int) -> (top: [String], bottom: [String]) {
        let p = b.parameters
        let count = p == 0 ? [] : split > 0 ? [NumberFormat.integer(p), "param\(p == 1 ? "" : "s")"] : ["\(NumberFormat.integer(p)) param\(p == 1 ? "" : "s")"]
        let shape = split > 1 && b.shape.count == 3 ? ["\(b.shape[0]) ×", "\(b.shape[1])×\(b.shape[2])"] : [shapeText(b.shape)]
        return ([b.name] + b.lines, shape + count)
      }
      func widths(split: Int) -> [Double] {
        blocks.map { b in
          let t = texts(b, split: split)
          let w = [canvas.measure(t.top[0], style: nameStyle).width] + (t.top.dropFirst() + t.bottom).map { canvas.measure($0, style: style).width }
          return (w.max() ?? 0) + pad * 2
        }
      }
      // The fewest rows that fit: in each, texts on one line, then counts over "params", then
      // shapes on two lines, then shorter arrows; more rows only while their blocks keep room for
      // their texts and a sketch.
      let normalArrow = max(theme.gap * 0.5, theme.tickSize * 0.9), shortArrow = theme.tickSize * 0.6
      let levels = Double((frames.map(\.height).max() ?? -1) + 1)
      let frameTop = frames.isEmpty ? 0 : framePad * (levels + 0.5) + theme.hairline * 2
      let rowGap = theme.gap
      func lineCounts(_ split: Int) -> (top: Double, bottom: Double) {
        (Double(blocks.map { texts($0, split: split).top.count }.max() ?? 1), Double(blocks.map { texts($0, split: split).bottom.count }.max() ?? 1))
      }
      func rowsFit(_ count: Int, _ split: Int) -> Bool {
        let (top, bottom) = lineCounts(split)
        let row = frameTop + framePad * levels + pad * 4 + (top + bottom + 1.5) * line
        return Double(count) * row + rowGap * Double(count - 1) <= body.height
      }
      var chosen: (rows: [Range<Int>], split: Int, arrow: Double)? = nil
      search: for count in 1...max(1, breaks.count - 1) {
        for (split, arrow) in [(0, normalArrow), (1, normalArrow), (2, normalArrow), (2, shortArrow)] where count == 1 || rowsFit(count, split) {
          if let p = partition(count, widths(split: split), arrow), p.width <= body.width {
            chosen = (p.rows, split, arrow)
            break search
          }
        }
        if count > 1 && !rowsFit(count, 2) { break }
      }
      // Nothing fits: as many rows as the height allows, every block narrowed in proportion (its
      // text may then touch its sides, but the rows stay on the page).
      let fallback = (1...max(1, breaks.count - 1)).last { $0 == 1 || rowsFit($0, 2) } ?? 1
      let (rows, split, arrow) = chosen ?? ((partition(fallback, widths(split: 2), shortArrow) ?? partition(1, widths(split: 2), shortArrow)!).rows, 2, shortArrow)
      let needed = widths(split: split)
      // Each row spreads what is left of the width over its blocks, evenly.
      var boxWidths = needed
      for row in rows {
        let inRow = blocksIn(row.lowerBound, row.upperBound)
        let room = body.width - fixed(row.lowerBound, row.upperBound, arrow), sum = inRow.map { needed[$0] }.reduce(0, +)
        for i in inRow { boxWidths[i] = sum > room ? needed[i] * room / sum : needed[i] + (room - sum) / Double(max(inRow.count, 1)) }
      }
      let (topLines, bottomLines) = lineCounts(split)
      let rowHeight = (body.height - rowGap * Double(rows.count - 1)) / Double(rows.count)
      // One scale for every sketch: the largest H×W fills 75% of the narrowest block.
      let sketchRoom = max(0, rowHeight - frameTop - framePad * levels - pad * 4 - (topLines + bottomLines) * line)
      let largestSide = min(((boxWidths.min() ?? 0) - pad * 2) * 0.75, sketchRoom * 0.8)
      let head = min(theme.tickSize * 0.6, arrow * 0.5)
      var outgoing: Point? = nil  // where the row above ends, for the arrow down to the next
      for (r, row) in rows.enumerated() {
        let area = Rect(x: body.x, y: body.y + Double(r) * (rowHeight + rowGap), width: body.width, height: rowHeight)
        // Room above the blocks for the frames (outer ones larger) and the skip arrows over them.
        let blockTop = area.y + frameTop
        let blockBottom = area.maxY - framePad * levels
        let sketchTop = blockTop + pad + topLines * line + pad
        let sketchBottom = blockBottom - pad - bottomLines * line - pad
        let sketchHeight = max(0, sketchBottom - sketchTop)
        let middle = (sketchTop + sketchBottom) / 2
        let rowStart = body.x + max(0, (body.width - rowWidth(row.lowerBound, row.upperBound, boxWidths, arrow)) / 2)
        var previous: Rect? = nil
        // The arrow from the row above: right past its end, down between the rows, left to this
        // row's start and down to its middle (the arrow into the first block is drawn with it).
        if let from = outgoing {
          let bend = from.x - 2 + (body.maxX - from.x) / 2, between = area.y - rowGap / 2, x = rowStart + arrow * 0.25
          var path = Path()
          path.move(to: from)
          path.line(to: Point(bend, from.y))
          path.line(to: Point(bend, between))
          path.line(to: Point(x, between))
          path.line(to: Point(x, middle))
          canvas.stroke(path, Theme.ink, width: theme.hairline * 1.5)
          previous = Rect(x: x - 2, y: middle, width: 0, height: 0)
        }
        // Where each item starts, then the frames (outer first, under the blocks) with their skip
        // arrows: from the block's input, over the frame, down into its "+".
        func before(_ k: Int) -> Double { k == row.lowerBound ? leading(k, arrow) : gap(k, arrow) }
        var starts: [Int: Double] = [:]
        var x = rowStart
        for k in row {
          x += before(k)
          starts[k] = x
          switch items[k] {
          case .block(let i): x += boxWidths[i]
          case .close: x += plusSize
          case .open: break
          }
        }
        var plusCenters: [Int: Point] = [:]
        for k in row { if case .close(let f) = items[k] { plusCenters[f] = Point(starts[k]! + plusSize / 2, middle) } }
        for f in frames.indices.sorted(by: { frames[$0].height > frames[$1].height }) {
          guard let k = row.first(where: { if case .open(f) = items[$0] { return true } else { return false } }), let plus = plusCenters[f], let left = starts[k] else { continue }
          let level = Double(frames[f].height + 1)
          let frame = Rect(x: left, y: blockTop - framePad * level, width: plus.x + plusSize / 2 + framePad - left, height: blockBottom - blockTop + framePad * level * 2)
          let shape = Path.roundedRect(frame, radius: framePad)
          canvas.fill(shape, Color(hex: 0xF3EEF8).mixed(with: .white, 0.3 * Double(frames[f].height)))
          canvas.stroke(shape, Theme.muted, width: theme.hairline, dash: [theme.tickSize * 0.3, theme.tickSize * 0.2])
          let start = Point(left - before(k) / 2, middle), top = frame.y - framePad / 2
          var skip = Path()
          skip.move(to: start)
          skip.line(to: Point(start.x, top))
          skip.line(to: Point(plus.x, top))
          canvas.stroke(skip, Theme.ink, width: theme.hairline * 1.5)
          canvas.fill(Path.circle(start, radius: theme.hairline * 2), Theme.ink)
          canvas.arrow(Point(plus.x, top), Point(plus.x, plus.y - plusSize / 2 - 1), Theme.ink, width: theme.hairline * 1.5, head: head)
        }
        for k in row {
          let item = items[k]
          if case .close(let f) = item, let plus = plusCenters[f] {
            let r = Rect(x: plus.x - plusSize / 2, y: plus.y - plusSize / 2, width: plusSize, height: plusSize)
            if let p = previous { canvas.arrow(Point(p.maxX + 2, middle), Point(r.x - 2, middle), Theme.ink, width: theme.hairline * 1.5, head: head) }
            canvas.fill(Path.circle(plus, radius: plusSize / 2), .white)
            canvas.stroke(Path.circle(plus, radius: plusSize / 2), Theme.ink, width: theme.hairline * 1.5)
            canvas.line(Point(plus.x - plusSize * 0.3, plus.y), Point(plus.x + plusSize * 0.3, plus.y), Theme.ink, width: theme.hairline * 1.5)
            canvas.line(Point(plus.x, plus.y - plusSize * 0.3), Point(plus.x, plus.y + plusSize * 0.3), Theme.ink, width: theme.hairline * 1.5)
            previous = r
          }
          guard case .block(let index) = item, let left = starts[k] else { continue }
          let (b, width) = (blocks[index], boxWidths[index])
          let r = Rect(x: left, y: blockTop, width: width, height: blockBottom - blockTop)
          canvas.fill(Path.roundedRect(r, radius: theme.tickSize * 0.4), b.fill.mixed(with: .white, 0.35))
          canvas.stroke(Path.roundedRect(r, radius: theme.tickSize * 0.4), Theme.ink, width: theme.hairline)
          let t = texts(b, split: split)
          for (i, s) in t.top.enumerated() {
            let st = i == 0 ? nameStyle : style
            canvas.text(s, Point(r.midX, r.y + pad + Double(i) * line + theme.clearance), canvas.fitting(s, width: width - pad, st, minimum: theme.minimumSize), anchor: .top)
          }
          let shapeLines = split > 1 && b.shape.count == 3 ? 2 : 1
          for (i, s) in t.bottom.enumerated() {
            let st = i < shapeLines ? style : note
            canvas.text(s, Point(r.midX, sketchBottom + pad + Double(i) * line + theme.clearance), canvas.fitting(s, width: width - pad, st, minimum: theme.minimumSize), anchor: .top)
          }
          // The sketch of the block's output.
          let room = Rect(x: r.x + pad, y: sketchTop, width: width - pad * 2, height: sketchHeight)
          let tint = b.input ? Color(hex: 0xBBBBBB) : b.fill.mixed(with: Theme.ink, 0.12)
          if b.shape.count == 3 {
            let (c, h, w) = (b.shape[0], b.shape[1], b.shape[2])
            let slabs = min(c, 6)
            let side = largestSide * max(0.2, Double(h) / Double(spatial))
            let aspect = Double(w) / Double(max(h, 1))
            let step = slabs > 1 ? min(side * 0.15, (room.width - side * aspect) / Double(slabs - 1)) : 0
            let span = side * aspect + step * Double(slabs - 1)
            for k in 0..<slabs {
              let slab = Rect(x: room.midX - span / 2 + Double(k) * step, y: middle - side / 2 - Double(slabs - 1 - k) * step * 0.6 + Double(slabs - 1) * step * 0.3,
                              width: side * aspect, height: side)
              canvas.fill(slab, tint.mixed(with: .white, 0.25 * Double(slabs - 1 - k) / Double(max(slabs - 1, 1))))
              canvas.stroke(slab, Theme.ink, width: theme.hairline)
            }
          } else {
            let n = b.shape.reduce(1, *)
            let fraction: Double = (log(Double(max(n, 1))) + 1) / (log(Double(max(longest, 2))) + 1)
            let height: Double = room.height * 0.85 * (0.15 + 0.85 * fraction)
            let bar = Rect(x: room.midX - min(room.width * 0.3, theme.tickSize * 0.8) / 2, y: middle - height / 2, width: min(room.width * 0.3, theme.tickSize * 0.8), height: height)
            canvas.fill(bar, tint)
            canvas.stroke(bar, Theme.ink, width: theme.hairline)
          }
          if let p = previous {
            canvas.arrow(Point(p.maxX + 2, middle), Point(r.x - 2, middle), Theme.ink, width: theme.hairline * 1.5, head: head)
          }
          previous = r
        }
        outgoing = previous.map { Point($0.maxX + 2, middle) }
      }
    }
  }
}
