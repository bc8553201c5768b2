/// How one worksheet cell is computed from other cells: a spreadsheet formula over trace entries.
///
/// Each layer, loss and optimizer says in its own file how the cells of its entries are written
/// (`SheetFormulas`), as a `Formula` over `cell(entry, i)` (element i, flat row-major, of a traced
/// value) and `range(entry, first, last)` (the rectangle of cells from element `first` to element
/// `last` in the worksheet's layout). The worksheet writer places every entry, resolves the
/// references to A1 addresses and writes `=SUMPRODUCT(B3:C3, …)`; a test evaluates every formula
/// against the engine's own numbers. Only functions that LibreOffice 7 and Excel 2010 both know.
public indirect enum Formula: Sendable, Equatable {
  /// A constant.
  case number(Double)
  /// Element `index` (row-major) of the entry or helper block `entry`.
  case cell(String, Int)
  /// The rectangle of cells from element `first` to element `last` of `entry`, as laid out.
  case range(String, Int, Int)
  /// A named cell of the Summary sheet (`learning_rate`).
  case named(String)
  /// a + b, a − b, a·b, a/b, a^b.
  case add(Formula, Formula), sub(Formula, Formula), mul(Formula, Formula), div(Formula, Formula), pow(Formula, Formula)
  /// −a.
  case neg(Formula)
  /// a > b, a ≥ b, a = b (1 or 0; a = b of a range and a number compares each cell, as SUMPRODUCT reads it).
  case greater(Formula, Formula), greaterOrEqual(Formula, Formula), equal(Formula, Formula)
  /// A worksheet function: SUMPRODUCT, SUM, AVERAGE, MAX, EXP, LN, SQRT, TANH, ERF, PI, ABS, IF, TRANSPOSE.
  case call(String, [Formula])

  /// a + b + … (0 for none), left to right.
  public static func sum(_ terms: [Formula]) -> Formula {
    guard var total = terms.first else { return .number(0) }
    for t in terms.dropFirst() { total = .add(total, t) }
    return total
  }

  /// SUMPRODUCT(a, b): Σ aᵢ·bᵢ over two rectangles of the same size.
  public static func sumProduct(_ a: Formula, _ b: Formula) -> Formula { .call("SUMPRODUCT", [a, b]) }
  /// IF(condition, then, else).
  public static func when(_ condition: Formula, _ then: Formula, _ otherwise: Formula) -> Formula {
    .call("IF", [condition, then, otherwise])
  }
  /// eˣ.
  public static func exp(_ x: Formula) -> Formula { .call("EXP", [x]) }
  /// √x.
  public static func sqrt(_ x: Formula) -> Formula { .call("SQRT", [x]) }

  /// σ(z) written so that no large exponent overflows, as the engine computes it:
  /// IF(z ≥ 0, 1/(1 + e⁻ᶻ), eᶻ/(1 + eᶻ)).
  public static func sigmoid(_ z: Formula) -> Formula {
    when(.greaterOrEqual(z, .number(0)), .div(.number(1), .add(.number(1), exp(.neg(z)))),
         .div(exp(z), .add(.number(1), exp(z))))
  }

  /// Whether the formula reads a rectangle of cells (then it is written as an array formula).
  public var readsRange: Bool {
    switch self {
    case .range: true
    case .number, .cell, .named: false
    case .add(let a, let b), .sub(let a, let b), .mul(let a, let b), .div(let a, let b), .pow(let a, let b),
      .greater(let a, let b), .greaterOrEqual(let a, let b), .equal(let a, let b):
      a.readsRange || b.readsRange
    case .neg(let a): a.readsRange
    case .call(_, let args): args.contains { $0.readsRange }
    }
  }
}

/// a + b, as a spreadsheet formula.
public func + (a: Formula, b: Formula) -> Formula { .add(a, b) }
/// a − b, as a spreadsheet formula.
public func - (a: Formula, b: Formula) -> Formula { .sub(a, b) }
/// a·b, as a spreadsheet formula.
public func * (a: Formula, b: Formula) -> Formula { .mul(a, b) }
/// a / b, as a spreadsheet formula.
public func / (a: Formula, b: Formula) -> Formula { .div(a, b) }
/// −a, as a spreadsheet formula.
public prefix func - (a: Formula) -> Formula { .neg(a) }

/// What a worksheet needs to know about the network around one owner of entries.
public struct SheetContext: Sendable {
  /// The layer whose entries are written (for an optimizer, the layer of the parameter).
  public var layer: String
  /// The entry holding this layer's input (the previous layer's output, or `input.forward.x`);
  /// for the loss, the network's output y.
  public var input: String
  /// The entry holding δ = ∂L/∂(this layer's output) in the backward pass.
  public var delta: String
  /// The kind of the network's last layer (`softmax`, `sigmoid`, …) and the entry holding its
  /// input: the logits a fused loss reads.
  public var lastKind: String, lastInput: String
  /// The shape of every entry and helper block written so far, by name.
  public var shapes: [String: [Int]]
  /// The batch size N of the traced step.
  public var batch: Int

  /// A context.
  public init(layer: String, input: String, delta: String, lastKind: String, lastInput: String, shapes: [String: [Int]], batch: Int) {
    self.layer = layer
    self.input = input
    self.delta = delta
    self.lastKind = lastKind
    self.lastInput = lastInput
    self.shapes = shapes
    self.batch = batch
  }

  /// The shape of `entry` ([] when unknown).
  public func shape(_ entry: String) -> [Int] { shapes[entry] ?? [] }
  /// The entry `key` of this context's layer in `phase`.
  public func entry(_ phase: Phase, _ key: String) -> String { Tracer.name(layer, phase, key) }
}

/// A block of derived cells that is not itself a trace entry but makes the sheet readable and its
/// formulas short: a zero-padded copy of an image, the flipped kernel, a per-sample loss.
public struct SheetHelper {
  /// A unique name (`conv1.forward.xpad`), used by formulas to refer to it.
  public var name: String
  /// Its course symbol and a one-line description shown as the block's title.
  public var symbol: String, formula: String
  /// Its shape; laid out like a trace entry of that shape.
  public var shape: [Int]
  /// Whether its first axis is the batch.
  public var batched: Bool
  /// The formula of each element.
  public var cell: (Int) -> Formula

  /// A helper block.
  public init(name: String, symbol: String, formula: String, shape: [Int], batched: Bool, cell: @escaping (Int) -> Formula) {
    self.name = name
    self.symbol = symbol
    self.formula = formula
    self.shape = shape
    self.batched = batched
    self.cell = cell
  }
}

/// How the cells of one trace entry are written: helper blocks placed just before it, and the
/// formula of each element — or nil for a value the student may edit (an input, a target, a
/// parameter before the step, optimizer state before the step, a dropout mask).
public struct SheetCells {
  /// Blocks written before the entry.
  public var helpers: [SheetHelper]
  /// The formula of element i, or nil for an editable value.
  public var formula: ((Int) -> Formula)?

  /// An editable value.
  public static var input: SheetCells { SheetCells(helpers: [], formula: nil) }

  /// Cells computed by `formula`, after `helpers`.
  public init(helpers: [SheetHelper] = [], formula: ((Int) -> Formula)?) {
    self.helpers = helpers
    self.formula = formula
  }
}

/// Anything that records trace entries and can write them as worksheet formulas: a layer, a
/// loss, an optimizer. `key` is the entry's key (`z`, `dW`, `W.m`) in `phase`.
public protocol SheetFormulas {
  /// The cells of this owner's entry `key` in `phase`, or nil when the owner has no formula for
  /// it (the writer then refuses the workbook rather than paste values).
  func sheetCells(_ phase: Phase, _ key: String, _ context: SheetContext) -> SheetCells?
}

/// An owner of [·, T, T] grids over token positions (attention), so a worksheet can label them:
/// row i of such a grid belongs to query token i and column j to key token j, and some grids hold
/// one probability distribution per row (a row sum written beside them shows it is 1).
public protocol TokenGrids {
  /// The keys of this owner's entries whose grids have a query per row and a key per column.
  var queryKeyEntries: Set<String> { get }
  /// The keys of this owner's entries whose every row sums to 1 (softmax weights).
  var distributionEntries: Set<String> { get }
}

// MARK: Layout conventions the formulas rely on

/// Where each element of a value sits in a worksheet, as far as formulas need to know:
///
/// - a batched [N, K] value (one vector per sample) is K rows × N columns: each sample a column;
/// - an unbatched [K] value is a column; an unbatched [U, I] value is U rows × I columns;
/// - any value of rank ≥ 3 is a stack of grids over its last two axes (an image or feature map
///   [N, C, H, W] is an H × W grid per sample and channel; a kernel [F, C, k_h, k_w] a grid per
///   filter and channel), each grid a rectangle.
///
/// So a dense layer's row j of W is a row of cells, a sample's input vector a column, and a
/// convolution window a rectangle inside one grid.
public enum SheetLayout {
  /// The range of sample n's vector (a column of K cells) in a batched [N, K] value.
  public static func column(_ entry: String, sample n: Int, length k: Int) -> Formula {
    .range(entry, n * k, n * k + k - 1)
  }

  /// The range of row `j` (I cells across) of an unbatched [U, I] matrix.
  public static func row(_ entry: String, _ j: Int, length i: Int) -> Formula {
    .range(entry, j * i, j * i + i - 1)
  }

  /// The rectangle rows r0..<r0+h, columns c0..<c0+w of grid `g` (flat grid number) of a value
  /// whose grids are `height` × `width`.
  public static func window(_ entry: String, grid g: Int, height: Int, width: Int, row r0: Int, column c0: Int, rows h: Int, columns w: Int) -> Formula {
    let base = g * height * width
    return .range(entry, base + r0 * width + c0, base + (r0 + h - 1) * width + c0 + w - 1)
  }

  /// The whole of grid `g`.
  public static func grid(_ entry: String, _ g: Int, height: Int, width: Int) -> Formula {
    window(entry, grid: g, height: height, width: width, row: 0, column: 0, rows: height, columns: width)
  }
}
