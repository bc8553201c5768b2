import Foundation

/// Where lessons are found and where what they make goes.
///
/// A project is a folder holding `Worksheets/`. Inside one (the current folder or any folder
/// above it), a lesson may be named by its file (`Worksheets/xor.yaml`), without its extension
/// (`Worksheets/xor`), by its file name (`xor.yaml`) or by its name alone (`xor`); output goes
/// to `Output/` beside the project's `Worksheets/`. Outside a project output goes to `./Output`.
public enum Project {
  /// The project holding `folder` (default: the current folder): the nearest folder at or above
  /// it that has a `Worksheets/` folder; nil outside every project.
  public static func root(from folder: String = FileManager.default.currentDirectoryPath) -> String? {
    var url = URL(fileURLWithPath: folder).standardizedFileURL
    while true {
      var isFolder: ObjCBool = false
      if FileManager.default.fileExists(atPath: url.appendingPathComponent("Worksheets").path, isDirectory: &isFolder), isFolder.boolValue {
        return url.path
      }
      let up = url.deletingLastPathComponent()
      if up.path == url.path { return nil }
      url = up
    }
  }

  /// Where every lesson's folder goes: `Output` when the current folder is the project's own,
  /// `<project>/Output` from a folder inside it, else `Output` in the current folder.
  public static var outputRoot: String {
    let here = URL(fileURLWithPath: FileManager.default.currentDirectoryPath).standardizedFileURL.path
    guard let root = root(from: here), root != here else { return "Output" }
    return URL(fileURLWithPath: root).appendingPathComponent("Output").path
  }

  /// The project's lesson files (`Worksheets/*.yaml` and `*.yml`), sorted by name; empty outside a project.
  public static func lessonFiles() -> [String] {
    guard let root = root() else { return [] }
    let folder = URL(fileURLWithPath: root).appendingPathComponent("Worksheets")
    let names = (try? FileManager.default.contentsOfDirectory(atPath: folder.path)) ?? []
    let here = FileManager.default.currentDirectoryPath
    return names.filter { $0.hasSuffix(".yaml") || $0.hasSuffix(".yml") }.sorted().map {
      let path = folder.appendingPathComponent($0).path
      return path.hasPrefix(here + "/") ? String(path.dropFirst(here.count + 1)) : path
    }
  }

  /// The lesson file `name` means: the file itself, the name with `.yaml` or `.yml` added, or a
  /// file of that name in the project's `Worksheets/`. Throws one line naming the lessons there,
  /// with the nearest as a suggestion.
  public static func lessonFile(_ name: String) throws(SheetNetError) -> String {
    func isFile(_ path: String) -> Bool {
      var isFolder: ObjCBool = false
      return FileManager.default.fileExists(atPath: path, isDirectory: &isFolder) && !isFolder.boolValue
    }
    guard !name.isEmpty, !name.contains("\0") else { throw .lesson("give a lesson: a name such as xor, or a file such as Worksheets/xor.yaml") }
    let hasExtension = name.hasSuffix(".yaml") || name.hasSuffix(".yml")
    var candidates = [name]
    if !hasExtension { candidates += [name + ".yaml", name + ".yml"] }
    if !name.contains("/"), let root = root() {
      let folder = URL(fileURLWithPath: root).appendingPathComponent("Worksheets").path
      candidates += candidates.map { "\(folder)/\($0)" }
    }
    if let found = candidates.first(where: isFile) {
      let here = FileManager.default.currentDirectoryPath + "/"
      return found.hasPrefix(here) ? String(found.dropFirst(here.count)) : found
    }
    var isFolder: ObjCBool = false
    if FileManager.default.fileExists(atPath: name, isDirectory: &isFolder), isFolder.boolValue,
       !isFile(name + ".yaml"), !isFile(name + ".yml") {
      throw .lesson("\(name): a folder, not a lesson; name a lesson file in it, e.g. \(name)/xor.yaml")
    }
    let known = lessonFiles().map { (($0 as NSString).lastPathComponent as NSString).deletingPathExtension }
    let typed = ((name as NSString).lastPathComponent as NSString).deletingPathExtension
    let list = known.isEmpty ? "no Worksheets/ folder here or above; give the lesson file's path"
                             : "lessons: \(known.joined(separator: ", "))"
    throw .lesson("\(name): no such lesson\(didYouMean(typed, in: known)); \(list)")
  }

  /// The absolute `path` with every link in it followed, also where its last parts do not exist
  /// yet (`Output/link/new`, with `link` leading elsewhere, resolves to where `new` would be made).
  public static func resolvingLinks(_ path: String) -> String {
    var existing = URL(fileURLWithPath: path).standardizedFileURL
    var rest: [String] = []
    var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
    while realpath(existing.path, &buffer) == nil {
      let up = existing.deletingLastPathComponent()
      if up.path == existing.path { return path }
      rest.insert(existing.lastPathComponent, at: 0)
      existing = up
    }
    let base = String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    return ([base == "/" ? "" : base] + rest).joined(separator: "/")
  }

  /// True when the absolute `path` lies strictly inside `folder` (both already resolved).
  public static func isInside(_ path: String, _ folder: String) -> Bool {
    path.hasPrefix(folder.hasSuffix("/") ? folder : folder + "/")
  }

  /// `path` relative to the folder `base` (both relative to the current folder or absolute),
  /// e.g. from `Output/xor` to `Worksheets/xor.yaml`: `../../Worksheets/xor.yaml`.
  public static func relativePath(_ path: String, from base: String) -> String {
    let target = URL(fileURLWithPath: path).standardizedFileURL.pathComponents
    let from = URL(fileURLWithPath: base).standardizedFileURL.pathComponents
    var common = 0
    while common < min(target.count, from.count), target[common] == from[common] { common += 1 }
    let ups = Array(repeating: "..", count: from.count - common)
    return (ups + target[common...]).joined(separator: "/")
  }
}

extension Lesson {
  /// Refuses an `output:` folder that does not resolve (links followed) strictly inside the
  /// project's `Output/` (the lesson's project, else the current one, else `./Output`), or that
  /// is, or holds, a folder of lessons: a shared lesson cannot point SheetNet's writes at the
  /// user's files. The command line's `--output` is the user's own choice and is not held to this.
  func checkOutput(_ output: String, _ location: String) throws(SheetNetError) {
    let lessonFolder = URL(fileURLWithPath: path.isEmpty ? "./lesson.yaml" : path).deletingLastPathComponent().standardizedFileURL
    let outputRoot = Project.root(from: lessonFolder.path).map { $0 + "/Output" } ?? Project.outputRoot
    func resolved(_ url: URL) -> String { Project.resolvingLinks(url.standardizedFileURL.path) }
    let root = resolved(URL(fileURLWithPath: outputRoot))
    let target = resolved(URL(fileURLWithPath: output, relativeTo: lessonFolder))
    let lessonFolders = [resolved(lessonFolder)] + (Project.root(from: lessonFolder.path).map { [resolved(URL(fileURLWithPath: $0 + "/Worksheets"))] } ?? [])
    let holdsLessons = lessonFolders.contains { $0 == target || Project.isInside($0, target) }
    guard Project.isInside(target, root), !holdsLessons else {
      throw .lesson("\(location): output '\(Terminal.escaped(output))' resolves to \(Terminal.escaped(target)); a lesson's output must be a folder inside \(root)/ (not Output/ itself, nor a folder holding lessons), drop the key for \(Project.relativePath(root, from: lessonFolder.path))/\(name), or give --output on the command line")
    }
  }


  /// `Output/<lesson>` beside the project's `Worksheets/` (`Project.outputRoot`), or the lesson's
  /// `output:` folder, which is relative to the lesson file like its data.
  public var outputFolder: String {
    guard let output else { return "\(Project.outputRoot)/\(name)" }
    return output.hasPrefix("/") ? output : ((path as NSString).deletingLastPathComponent as NSString).appendingPathComponent(output)
  }
}
