import Foundation
import SheetNet

/// Text made safe inside HTML (elements and quoted attributes).
func htmlEscaped(_ text: String) -> String {
  var out = ""
  out.reserveCapacity(text.utf8.count)
  for c in text {
    switch c {
    case "&": out += "&amp;"
    case "<": out += "&lt;"
    case ">": out += "&gt;"
    case "\"": out += "&quot;"
    default: out.append(c)
    }
  }
  return out
}

/// A relative link, each path segment percent-encoded (names keep letters, digits, `-_.`).
func htmlLink(_ path: String) -> String {
  let allowed = CharacterSet.alphanumerics.union(CharacterSet(charactersIn: "-_.~"))
  return path.split(separator: "/", omittingEmptySubsequences: false)
    .map { String($0).addingPercentEncoding(withAllowedCharacters: allowed) ?? String($0) }.joined(separator: "/")
}

/// The style both pages share: plain, readable, printable; no script, no external file.
let pageStyle = """
  body { font-family: "DejaVu Sans", Arial, sans-serif; max-width: 60rem; margin: 2rem auto; padding: 0 1rem; color: #222; line-height: 1.45; }
  h1 { font-size: 1.8rem; margin-bottom: .2rem; } h2 { font-size: 1.3rem; margin-top: 2rem; border-bottom: 1px solid #ccc; }
  .intent { font-size: 1.1rem; color: #444; } .meta { color: #666; font-size: .9rem; }
  figure { margin: 1.2rem 0; break-inside: avoid; } figure img { max-width: 100%; height: auto; border: 1px solid #ddd; }
  figcaption { color: #555; font-size: .9rem; } table { border-collapse: collapse; } td, th { padding: .2rem .8rem; text-align: left; border-bottom: 1px solid #eee; }
  pre { font-family: "DejaVu Sans Mono", monospace; font-size: .75rem; background: #f7f7f7; padding: .8rem; overflow-x: auto; white-space: pre; }
  pre.generated { white-space: pre-wrap; font-size: .85rem; }
  ul.files { columns: 3; font-size: .9rem; } .lesson { display: flex; gap: 1rem; margin: 1.2rem 0; break-inside: avoid; }
  .lesson img { width: 16rem; height: auto; border: 1px solid #ddd; } a { color: #1f5fa8; }
  @media print { body { max-width: none; margin: 0; } pre { white-space: pre-wrap; font-size: 7pt; } a { color: inherit; } }
  """

/// `Output/<lesson>/index.html`: the lesson's title and intent, its facts, every figure, links to
/// every worksheet, exercise sheet and data file, and the trace text. Self-contained: relative
/// links only, no script.
struct LessonPage {
  let lesson: Lesson
  let result: LessonBuild.Result
  /// Every file of the folder, relative to it.
  let files: [String]
  /// The traced step as text (nil for a lesson without data).
  let traceText: String?
  /// Facts shown under the title: network, training, final metrics.
  var facts: [(String, String)] = []
  /// Text the trained network generated (token lessons), shown after the figures.
  var generated: Generated? = nil

  /// A prompt and the tokens the network drew after it.
  struct Generated {
    var prompt: String, text: String, options: BuildSpec.Generate, lesson: String

    /// The command that prints the same tokens, or nil when the prompt cannot be typed on one line.
    var command: String? {
      guard !prompt.contains(where: { $0.isNewline || ($0.asciiValue.map { $0 < 32 } ?? false) }) else { return nil }
      let quoted = "'" + prompt.replacingOccurrences(of: "'", with: "'\\''") + "'"
      return "sheetnet sample \(lesson) --prompt \(quoted) --length \(options.length) --temperature \(options.temperature) --sample-seed \(options.seed)"
    }
  }

  /// A trace longer than this is cut on the page (trace.txt holds it whole).
  static let traceLimit = 400_000

  var html: String {
    var h = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">",
             "<title>\(htmlEscaped(lesson.title.isEmpty ? lesson.name : lesson.title)) — SheetNet</title>",
             "<style>\(pageStyle)</style>", "</head>", "<body>",
             "<p class=\"meta\"><a href=\"../index.html\">All lessons</a></p>",
             "<h1>\(htmlEscaped(lesson.title.isEmpty ? lesson.name : lesson.title))</h1>"]
    if !lesson.intent.isEmpty { h.append("<p class=\"intent\">\(htmlEscaped(lesson.intent))</p>") }
    h.append("<p class=\"meta\">Lesson <code>\(htmlEscaped(lesson.name))</code> · seed \(lesson.seed) · model \(htmlEscaped(result.model)) · SheetNet \(SheetNetVersion.current)</p>")
    if !facts.isEmpty {
      h.append("<table>")
      for (k, v) in facts { h.append("<tr><th>\(htmlEscaped(k))</th><td>\(htmlEscaped(v))</td></tr>") }
      h.append("</table>")
    }
    let figures = files.filter { $0.hasPrefix("figures/") }
    if !figures.isEmpty {
      h.append("<h2>Figures</h2>")
      for f in figures {
        let name = ((f as NSString).lastPathComponent as NSString).deletingPathExtension
        if f.hasSuffix(".pdf") {
          h.append("<p><a href=\"\(htmlLink(f))\">\(htmlEscaped(name)) (PDF)</a></p>")
        } else {
          h.append("<figure><a href=\"\(htmlLink(f))\"><img src=\"\(htmlLink(f))\" alt=\"\(htmlEscaped(name)) figure of \(htmlEscaped(lesson.name))\"></a><figcaption>\(htmlEscaped(name))</figcaption></figure>")
        }
      }
    }
    if let generated {
      h.append("<h2>Generated text</h2>")
      let draw = generated.options.temperature == 0 ? "taking the likeliest token each time"
        : "drawing each token from softmax(z / \(generated.options.temperature)) (seed \(generated.options.seed))"
      h.append("<p>The trained network continues the prompt (bold) for \(generated.options.length) tokens, one at a time, \(htmlEscaped(draw)).</p>")
      h.append("<pre class=\"generated\"><b>\(htmlEscaped(generated.prompt))</b>\(htmlEscaped(generated.text))</pre>")
      if let command = generated.command { h.append("<p>The same tokens, each with its probability: <code>\(htmlEscaped(command))</code></p>") }
    }
    let exercise = files.filter { $0.hasPrefix("exercise/") }
    if !exercise.isEmpty {
      h.append("<h2>Exercise sheet</h2><ul>")
      for f in exercise { h.append("<li><a href=\"\(htmlLink(f))\">\(htmlEscaped((f as NSString).lastPathComponent))</a></li>") }
      h.append("</ul>")
    }
    let sheets = files.filter { $0.hasPrefix("worksheets/") }
    if !sheets.isEmpty {
      let step = lesson.build.step
      h.append("<h2>Worksheets of step \(step)</h2>")
      if sheets.contains("worksheets/step.xlsx") {
        h.append("<p><a href=\"worksheets/step.xlsx\">step.xlsx</a>: the step as live formulas; change a yellow input cell and the forward pass, the backward pass and the update recompute.</p>")
      }
      h.append("<ul class=\"files\">")
      for f in sheets where f != "worksheets/step.xlsx" { h.append("<li><a href=\"\(htmlLink(f))\">\(htmlEscaped((f as NSString).lastPathComponent))</a></li>") }
      h.append("</ul>")
    }
    let data = files.filter { ["model.json", "history.csv", "trace.txt", "trace.json"].contains($0) }
    if !data.isEmpty {
      h.append("<h2>Files</h2><ul>")
      for f in data { h.append("<li><a href=\"\(htmlLink(f))\">\(f)</a></li>") }
      h.append("</ul>")
    }
    if let traceText {
      h.append("<h2>The traced step</h2>")
      if traceText.utf8.count > Self.traceLimit {
        let cut = String(decoding: Array(traceText.utf8.prefix(Self.traceLimit)), as: UTF8.self)
        h.append("<p>The first \(Self.traceLimit / 1000) kB; <a href=\"trace.txt\">trace.txt</a> holds it all.</p>")
        h.append("<pre>\(htmlEscaped(cut))</pre>")
      } else {
        h.append("<pre>\(htmlEscaped(traceText))</pre>")
      }
    }
    h += ["</body>", "</html>", ""]
    return h.joined(separator: "\n")
  }
}

/// `Output/index.html`: every lesson built into the folder, with its title, intent and first figure.
struct IndexPage {
  /// One lesson's entry: its folder name, title, intent, a figure to show, and a note (a failed build).
  struct Entry {
    var folder: String, title: String, intent: String, picture: String?, note: String?
  }

  let entries: [Entry]

  /// The intent's first sentence (up to the first ". " or ": " past 40 characters), for the list.
  static func firstSentence(_ text: String) -> String {
    guard text.count > 160 else { return text }
    var end = text.index(text.startIndex, offsetBy: 40)
    while end < text.endIndex {
      if text[end] == ".", text.index(after: end) == text.endIndex || text[text.index(after: end)] == " " { return String(text[...end]) }
      end = text.index(after: end)
    }
    return text
  }

  var html: String {
    var h = ["<!DOCTYPE html>", "<html lang=\"en\">", "<head>", "<meta charset=\"utf-8\">", "<title>SheetNet lessons</title>",
             "<style>\(pageStyle)</style>", "</head>", "<body>", "<h1>SheetNet lessons</h1>",
             "<p class=\"intent\">Each lesson: its trained network's figures, the worksheets of one training step, an exercise sheet and the trace. Every number is the engine's own.</p>"]
    for e in entries {
      h.append("<div class=\"lesson\">")
      if let picture = e.picture {
        h.append("<a href=\"\(htmlLink(e.folder))/index.html\"><img src=\"\(htmlLink(e.folder + "/" + picture))\" alt=\"\(htmlEscaped(e.folder))\"></a>")
      }
      h.append("<div><h2><a href=\"\(htmlLink(e.folder))/index.html\">\(htmlEscaped(e.title.isEmpty ? e.folder : e.title))</a></h2>")
      if !e.intent.isEmpty { h.append("<p>\(htmlEscaped(Self.firstSentence(e.intent)))</p>") }
      if let note = e.note { h.append("<p class=\"meta\">\(htmlEscaped(note))</p>") }
      h.append("</div></div>")
    }
    h += ["</body>", "</html>", ""]
    return h.joined(separator: "\n")
  }
}
