import Foundation
import Testing
@testable import SheetNet

/// The pages `sheetnet build` writes, opened in headless Chromium from `file://`: every `src`
/// and `href` resolves, every image decodes at its natural size, and no page holds a script.
@Suite(.serialized) struct PageTests {
  /// Chromium's path, or nil (a test then fails under CI, and says SKIPPED elsewhere).
  static let chromium: String? = {
    for name in ["chromium", "chromium-browser", "google-chrome"] {
      for dir in (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin").split(separator: ":") {
        let path = "\(dir)/\(name)"
        if FileManager.default.isExecutableFile(atPath: path) { return path }
      }
    }
    return nil
  }()

  static func required(_ test: String) -> Bool {
    if chromium != nil { return true }
    if ProcessInfo.processInfo.environment["CI"] != nil {
      Issue.record("\(test): Chromium is required under CI (apt-get install chromium)")
    } else {
      print("SKIPPED: Chromium not installed (apt-get install chromium); \(test) did not run")
    }
    return false
  }

  /// What Chromium saw of each page: its images (src, decoded, natural width × height), its
  /// links and sources (whether each loads), and its script count.
  struct Report {
    var images: [(page: String, src: String, ok: Bool, width: Int, height: Int)] = []
    var links: [(page: String, target: String, ok: Bool)] = []
    var scripts: [String: Int] = [:]
  }

  /// Opens `pages` (absolute paths) in headless Chromium, each in a frame of a checking page
  /// that reads the frame's document once it has loaded (file:// frames are readable with
  /// --allow-file-access-from-files) and fetches every link synchronously.
  func open(_ pages: [String]) throws -> Report {
    let folder = NSTemporaryDirectory() + "sheetnet-chromium-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    let list = pages.map { "'" + URL(fileURLWithPath: $0).absoluteString + "'" }.joined(separator: ",")
    let checker = """
      <!DOCTYPE html><html><body><pre id="out">pending</pre><script>
      const lines = []; let pending = \(pages.count);
      function done() { if (--pending === 0) document.getElementById('out').textContent = 'DONE\\n' + lines.join('\\n'); }
      function loads(url) {
        try { const x = new XMLHttpRequest(); x.open('GET', url, false); x.send(); return x.status === 0 || x.status === 200; } catch (e) { return false; }
      }
      for (const url of [\(list)]) {
        const f = document.createElement('iframe');
        f.onload = () => {
          const d = f.contentDocument;
          lines.push(['SCRIPTS', url, d.scripts.length].join('\\t'));
          for (const img of Array.from(d.images)) {
            lines.push(['IMG', url, img.getAttribute('src'), img.complete && img.naturalWidth > 0, img.naturalWidth, img.naturalHeight].join('\\t'));
          }
          for (const el of d.querySelectorAll('[href],[src]')) {
            const attr = el.getAttribute('href') ?? el.getAttribute('src');
            lines.push(['LINK', url, attr, loads(new URL(attr, d.baseURI).href)].join('\\t'));
          }
          done();
        };
        f.src = url; document.body.appendChild(f);
      }
      </script></body></html>
      """
    try checker.write(toFile: folder + "/check.html", atomically: true, encoding: .utf8)
    let process = Process()
    process.executableURL = URL(fileURLWithPath: Self.chromium!)
    process.arguments = ["--headless", "--no-sandbox", "--disable-gpu", "--allow-file-access-from-files", "--disable-web-security",
                         "--user-data-dir=\(folder)/profile", "--virtual-time-budget=30000", "--dump-dom", URL(fileURLWithPath: folder + "/check.html").absoluteString]
    let out = Pipe()
    process.standardOutput = out
    process.standardError = FileHandle.nullDevice
    try process.run()
    let dom = String(decoding: out.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
    process.waitUntilExit()
    guard let start = dom.range(of: "<pre id=\"out\">DONE\n"), let end = dom.range(of: "</pre>", range: start.upperBound..<dom.endIndex) else {
      Issue.record("Chromium did not finish the pages: \(dom.prefix(300))")
      return Report()
    }
    var report = Report()
    let unescape = { (s: Substring) in s.replacingOccurrences(of: "&amp;", with: "&").replacingOccurrences(of: "&lt;", with: "<").replacingOccurrences(of: "&gt;", with: ">") }
    for line in dom[start.upperBound..<end.lowerBound].split(separator: "\n") {
      let f = line.split(separator: "\t", omittingEmptySubsequences: false).map(unescape)
      let page = URL(string: f[1])?.path ?? f[1]
      switch f[0] {
      case "SCRIPTS": report.scripts[page] = Int(f[2]) ?? -1
      case "IMG": report.images.append((page, f[2], f[3] == "true", Int(f[4]) ?? 0, Int(f[5]) ?? 0))
      case "LINK": report.links.append((page, f[2], f[3] == "true"))
      default: break
      }
    }
    return report
  }

  /// A PNG's width and height from its header.
  func pngSize(_ path: String) -> (Int, Int)? {
    guard let d = FileManager.default.contents(atPath: path), d.count >= 24, d.prefix(8) == Data([0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]) else { return nil }
    let b = [UInt8](d.prefix(24))
    let be = { (i: Int) in Int(b[i]) << 24 | Int(b[i + 1]) << 16 | Int(b[i + 2]) << 8 | Int(b[i + 3]) }
    return (be(16), be(20))
  }

  @Test("the checker itself sees a missing image, a broken link and an image that does not decode")
  func checkerFails() throws {
    guard Self.required("checkerFails") else { return }
    let folder = NSTemporaryDirectory() + "sheetnet-badpage-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: folder) }
    try Data("not a png".utf8).write(to: URL(fileURLWithPath: folder + "/garbage.png"))
    try "<html><body><img src=\"missing.png\"><img src=\"garbage.png\"><a href=\"nowhere.html\">x</a><a href=\"garbage.png\">y</a></body></html>"
      .write(toFile: folder + "/index.html", atomically: true, encoding: .utf8)
    let report = try open([folder + "/index.html"])
    #expect(report.images.count == 2 && report.images.allSatisfy { !$0.ok })
    #expect(report.links.filter { !$0.ok }.map(\.target).sorted() == ["missing.png", "nowhere.html"])
    #expect(report.links.contains { $0.target == "garbage.png" && $0.ok })
  }

  @Test("every page of a build: links and sources resolve, images decode at their natural size, no script")
  func builtPages() throws {
    guard Self.required("builtPages") else { return }
    let root = NSTemporaryDirectory() + "sheetnet-pages-\(getpid())-\(UUID().uuidString.prefix(8))"
    try FileManager.default.createDirectory(atPath: root + "/Worksheets", withIntermediateDirectories: true)
    defer { try? FileManager.default.removeItem(atPath: root) }
    for (name, epochs) in [("xor", 50), ("mazur", 1), ("iris-mlp", 5), ("digits-cnn", 1)] {
      var text = try String(contentsOfFile: packagePath("Worksheets/\(name).yaml"), encoding: .utf8)
      text = text.replacingOccurrences(of: #"epochs: \d+"#, with: "epochs: \(epochs)", options: .regularExpression)
      text = text.replacingOccurrences(of: #"file: "#, with: "file: \(packagePath("Worksheets"))/", options: .regularExpression)
      try text.write(toFile: "\(root)/Worksheets/\(name).yaml", atomically: true, encoding: .utf8)
    }
    let (status, _, err) = try runSheetnet(["build"], in: root)
    #expect(status == 0, "\(err)")
    let pages = [root + "/Output/index.html"] + ["xor", "mazur", "iris-mlp", "digits-cnn"].map { "\(root)/Output/\($0)/index.html" }
    let report = try open(pages)
    #expect(Set(report.scripts.keys) == Set(pages.map { URL(fileURLWithPath: $0).path }))
    #expect(report.scripts.values.allSatisfy { $0 == 0 })
    #expect(report.images.count >= 20, "\(report.images.count) images")
    for image in report.images {
      let file = URL(fileURLWithPath: image.page).deletingLastPathComponent().appendingPathComponent(image.src.removingPercentEncoding ?? image.src).path
      let size = pngSize(file)
      #expect(image.ok && size != nil && size! == (image.width, image.height), "\(image.page): \(image.src) \(image.width)×\(image.height) vs \(String(describing: size))")
    }
    #expect(report.links.count >= 50)
    for link in report.links { #expect(link.ok, "\(link.page): \(link.target) does not load") }
    // Every figure, worksheet and exercise file of each lesson is linked from its page.
    for name in ["xor", "mazur", "iris-mlp", "digits-cnn"] {
      let manifest = try Value.parseJSON(try String(contentsOfFile: "\(root)/Output/\(name)/build.json", encoding: .utf8))
      let linked = Set(report.links.filter { $0.page.hasSuffix("/\(name)/index.html") }.map(\.target))
      for file in manifest["files"]?.list?.compactMap(\.string) ?? [] where ["figures/", "worksheets/", "exercise/"].contains(where: file.hasPrefix) {
        #expect(linked.contains(file), "\(name)/index.html does not link \(file)")
      }
    }
  }
}
