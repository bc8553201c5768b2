import Foundation

/// A hand-calculation worksheet as printable A4 pages: the given numbers at the top, then every
/// quantity of one training step in order, grouped under its entry and formula, each with its
/// arithmetic written out and its value — or an empty box for the student (the answer key fills
/// the boxes in the accent colour and says so on every page).
///
/// It draws only what it is given (text already formatted from the engine's numbers), so it
/// needs nothing of the trace; the command line builds the `Content` from an `Exercise`.
public enum ExerciseSheet {
  /// What the sheet shows.
  public struct Content: Sendable {
    /// The title and the line under it.
    public var title: String, subtitle: String
    /// Lines of given numbers, each a heading and its items: ("input x", ["x₁ = 0.05", "x₂ = 0.1"]).
    public var givens: [(heading: String, items: [String])]
    /// A note under the givens (rounding, the check rule), empty for none.
    public var note: String
    /// The quantities in step order.
    public var rows: [Row]

    /// Content of a sheet.
    public init(title: String, subtitle: String, givens: [(heading: String, items: [String])], note: String, rows: [Row]) {
      self.title = title
      self.subtitle = subtitle
      self.givens = givens
      self.note = note
      self.rows = rows
    }
  }

  /// One quantity of the step.
  public struct Row: Sendable {
    /// The group it belongs to (the trace entry and its formula), shown once above its rows.
    public var group: String
    /// The course label (`z₁`), the arithmetic with the numbers put in, the value as shown.
    public var label: String, arithmetic: String, shown: String
    /// Whether the student fills it in, and to how many decimals.
    public var blank: Bool, decimals: Int

    /// A row.
    public init(group: String, label: String, arithmetic: String, shown: String, blank: Bool, decimals: Int) {
      self.group = group
      self.label = label
      self.arithmetic = arithmetic
      self.shown = shown
      self.blank = blank
      self.decimals = decimals
    }
  }

  /// An A4 page (595 × 842 pt) with print's type: 12 pt title, 9.5 pt labels, nothing under 8 pt.
  public static let theme = Theme(
    name: "worksheet", size: Size(595, 842), margin: 36, gap: 10, titleSize: 12, labelSize: 9.5, tickSize: 8.5,
    minimumSize: 8, cellMinimum: 8, clearance: 0.5, dpi: 300, lineWidth: 1.25, hairline: 0.5)

  /// The least and most height of a line of the table (the most gives room to write by hand).
  static let lineHeight = (least: 15.0, most: 24.0)

  /// The pages of the sheet (`answers`: the key, blanks filled), named `exercise-N` or `answers-N`.
  public static func pages(_ content: Content, answers: Bool) -> [Figure] {
    let theme = Self.theme
    // Lines of the table: a group heading before its first row.
    enum Line { case group(String), row(Row) }
    var lines: [Line] = []
    var last: String?
    for r in content.rows {
      if r.group != last { lines.append(.group(r.group)); last = r.group }
      lines.append(.row(r))
    }
    // Height of the first page's header: title, subtitle, givens and note (measured lines).
    let givenLines = content.givens.count + (content.note.isEmpty ? 0 : 1) + 1
    let headerHeight = 16 + 12 + Double(givenLines) * 13 + 14
    let body = theme.size.height - 2 * theme.margin - 20  // 20: the header row and page footer
    let firstCapacity = max(1, Int((body - headerHeight) / lineHeight.least))
    let otherCapacity = max(1, Int((body - 16) / lineHeight.least))
    // Split the lines into pages evenly (so a last page is not nearly empty).
    var pageCount = 1
    while firstCapacity + (pageCount - 1) * otherCapacity < lines.count { pageCount += 1 }
    var chunks: [[Line]] = []
    var rest = lines[...]
    for p in 0..<pageCount {
      let remainingPages = pageCount - p
      let capacity = p == 0 ? firstCapacity : otherCapacity
      var take = min(capacity, Int((Double(rest.count) / Double(remainingPages)).rounded(.up)))
      if p == 0 && pageCount > 1 { take = min(capacity, max(take, rest.count - (pageCount - 1) * otherCapacity)) }
      // A group heading never ends a page: it moves to the next with its rows.
      if take > 1 && take < rest.count, case .group = rest[rest.startIndex + take - 1] { take -= 1 }
      chunks.append(Array(rest.prefix(take)))
      rest = rest.dropFirst(take)
    }
    let prefix = answers ? "answers" : "exercise"
    return chunks.enumerated().map { p, chunk in
      Figure(name: "\(prefix)-\(p + 1)", size: theme.size) { canvas in
        draw(canvas, content, chunk: chunk.map { line -> (String?, Row?) in
          switch line { case .group(let g): (g, nil); case .row(let r): (nil, r) }
        }, page: p + 1, of: chunks.count, answers: answers)
      }
    }
  }

  /// One page.
  static func draw(_ canvas: any Canvas, _ content: Content, chunk: [(String?, Row?)], page: Int, of pages: Int, answers: Bool) {
    let theme = Self.theme
    let accent = Theme.accent
    let key = answers ? "ANSWER KEY · " : ""
    let width = theme.size.width - 2 * theme.margin
    let title = truncated(canvas, key + content.title, width, theme.title.sized(theme.labelSize))
    let subtitle = truncated(canvas, page == 1 ? content.subtitle : "continued, page \(page) of \(pages)", width, theme.note.sized(theme.minimumSize))
    var area = canvas.page(theme.size, theme, title: title, subtitle: subtitle)
    if answers {
      // A band down the left edge, inside the margin, marks every page of the key.
      canvas.fill(Rect(x: theme.margin - 14, y: theme.margin, width: 6, height: theme.size.height - 2 * theme.margin), accent)
    }
    let note = theme.note, text = TextStyle(size: theme.tickSize), bold = TextStyle(size: theme.tickSize, bold: true)
    if page == 1 {
      for g in content.givens {
        let line = g.heading + ":   " + g.items.joined(separator: "   ")
        let style = canvas.fitting(line, width: area.width, text, minimum: theme.minimumSize)
        canvas.text(truncated(canvas, line, area.width, style), Point(area.x, area.y), style, anchor: .topLeft)
        area = area.inset(top: 13)
      }
      if !content.note.isEmpty {
        let style = canvas.fitting(content.note, width: area.width, note, minimum: theme.minimumSize)
        canvas.text(truncated(canvas, content.note, area.width, style), Point(area.x, area.y), style, anchor: .topLeft)
        area = area.inset(top: 13)
      }
      area = area.inset(top: 6)
      canvas.line(Point(area.x, area.y), Point(area.maxX, area.y), Theme.grid, width: theme.hairline)
      area = area.inset(top: 8)
    }
    // Columns: quantity, arithmetic, value (a box), digits asked.
    let footer = 14.0
    let table = area.inset(bottom: footer)
    let columns = (label: 70.0, value: 92.0, digits: 40.0)
    let valueX = table.maxX - columns.digits - columns.value
    let arithmeticX = table.x + columns.label
    let headerStyle = TextStyle(size: theme.tickSize, bold: true, color: Theme.muted)
    canvas.text("quantity", Point(table.x, table.y), headerStyle, anchor: .topLeft)
    canvas.text("arithmetic", Point(arithmeticX, table.y), headerStyle, anchor: .topLeft)
    canvas.text("value", Point(valueX + columns.value / 2, table.y), headerStyle, anchor: .top)
    canvas.text("decimals", Point(table.maxX, table.y), headerStyle, anchor: .topRight)
    let rowsArea = table.inset(top: 14)
    let height = min(lineHeight.most, max(lineHeight.least, rowsArea.height / Double(max(chunk.count, 1))))
    for (n, line) in chunk.enumerated() {
      let y = rowsArea.y + Double(n) * height
      let mid = y + height / 2
      if let group = line.0 {
        let style = canvas.fitting(group, width: rowsArea.width, bold, minimum: theme.minimumSize)
        canvas.text(truncated(canvas, group, rowsArea.width, style), Point(rowsArea.x, y + height - 3), style, anchor: .bottomLeft)
        continue
      }
      guard let row = line.1 else { continue }
      canvas.line(Point(rowsArea.x, y + height), Point(rowsArea.maxX, y + height), Theme.grid, width: theme.hairline)
      canvas.text(row.label, Point(table.x + 8, mid), canvas.fitting(row.label, width: columns.label - 12, text, minimum: theme.minimumSize), anchor: .left)
      let width = valueX - arithmeticX - 10
      let expression = row.arithmetic + " ="
      let style = canvas.fitting(expression, width: width, text.colored(Theme.muted), minimum: theme.minimumSize)
      canvas.text(truncated(canvas, expression, width, style), Point(arithmeticX, mid), style, anchor: .left)
      let box = Rect(x: valueX + 4, y: y + 2, width: columns.value - 8, height: height - 4)
      if row.blank {
        canvas.stroke(box, answers ? accent : Theme.ink, width: theme.hairline * 2)
        if answers {
          canvas.text(row.shown, Point(box.maxX - 4, mid), bold.colored(accent), anchor: .right)
        }
        canvas.text("\(row.decimals)", Point(table.maxX, mid), note, anchor: .right)
      } else {
        canvas.text(row.shown, Point(box.maxX - 4, mid), text, anchor: .right)
      }
    }
    let foot = answers ? "Answer key: the blanks filled with the engine's numbers." : "Write each answer to the decimals asked; it is right within half a unit of the last digit."
    canvas.text(foot + "   Page \(page) of \(pages)", Point(area.x, area.maxY), note, anchor: .bottomLeft)
  }

  /// `string` cut with "…" so it fits `width` in `style`.
  static func truncated(_ canvas: any Canvas, _ string: String, _ width: Double, _ style: TextStyle) -> String {
    guard canvas.measure(string, style: style).width > width else { return string }
    var s = string
    while !s.isEmpty, canvas.measure(s + "…", style: style).width > width { s.removeLast() }
    return s + "…"
  }
}
