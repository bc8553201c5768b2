import Foundation

/// This SheetNet's version, recorded in every model file it writes.
public enum SheetNetVersion {
  /// The version string, e.g. `0.9.0`.
  public static let current = "0.9.0"
}

/// How a run's saved model was (or was not) reused.
public enum SavedRunOutcome: Equatable, Sendable {
  /// The weights, optimizer state and history were restored; no training is needed.
  case reused(String)
  /// No model file there.
  case absent
  /// A model file is there but was made from something else (the reason, one line).
  case stale(String)
}

extension LessonRun {
  /// What this run is made from, as 16 hex digits of FNV-1a (64 bit) over the SheetNet version,
  /// the seed, the epochs it trains for, the lesson's text and its data files (their paths from
  /// the lesson's folder, and their bytes; for generated letters, `dataDigest`: the samples and the
  /// fonts). A saved model with the same fingerprint holds exactly the weights training would give.
  public var fingerprint: String {
    var hash = FNV1a()
    hash.add("sheetnet \(SheetNetVersion.current)\nseed \(seed)\nepochs \(trainer.epochs)\n")
    hash.add(lesson.source)
    let lessonFolder = (lesson.path as NSString).deletingLastPathComponent
    for file in lesson.dataFiles {
      // The path as seen from the lesson, so the lesson named from any folder gives one fingerprint.
      hash.add("\nfile \(Project.relativePath(file, from: lessonFolder.isEmpty ? "." : lessonFolder))\n")
      if let data = FileManager.default.contents(atPath: file) { hash.add(bytes: [UInt8](data)) }
    }
    if let dataDigest { hash.add("\ngenerated \(dataDigest)\n") }
    return hash.hex
  }

  /// Restores a saved model into this run when its fingerprint is this run's and it holds this
  /// run's very network (`ModelFile.mismatch(with:)`: layers, options, parameter and state
  /// shapes, loss, optimizer, preprocessing): every parameter's value and optimizer state, the
  /// optimizer's step count and the history (from `history.csv` beside the model file). All or
  /// nothing: everything is compared before the first weight is copied, and a file that differs
  /// anywhere is stale, its first difference named. Returns what happened; throws only when the
  /// files are damaged (`SheetNetError.model` naming the file).
  public func restoreSaved(modelPath: String) throws(SheetNetError) -> SavedRunOutcome {
    guard FileManager.default.fileExists(atPath: modelPath) else { return .absent }
    let saved = try ModelFile.load(modelPath)
    guard let recorded = saved.fingerprint else {
      return .stale("\(modelPath) records no fingerprint (written by an earlier SheetNet)")
    }
    guard recorded == fingerprint else {
      var why = "the lesson's text, data or epochs changed"
      if saved.writtenBy != SheetNetVersion.current { why = "it was written by SheetNet \(saved.writtenBy ?? "?"), this is \(SheetNetVersion.current)" }
      else if saved.seed != seed { why = "it was trained with seed \(saved.seed), not \(seed)" }
      return .stale("\(modelPath) was made from something else: \(why)")
    }
    // The fingerprint says what the run was made from; the file must also be that network.
    if let why = saved.mismatch(with: self) { return .stale("\(modelPath): \(why)") }
    let historyPath = ((modelPath as NSString).deletingLastPathComponent as NSString).appendingPathComponent("history.csv")
    guard let data = FileManager.default.contents(atPath: historyPath) else {
      return .stale("\(modelPath) has no history.csv beside it")
    }
    let restored = try History.parse(csv: String(decoding: data, as: UTF8.self), path: historyPath)
    // Everything matched: every parameter is copied, none is left as initialised.
    for (mine, theirs) in zip(model.layers, saved.model.layers) {
      for (p, q) in zip(mine.parameters, theirs.parameters) {
        precondition(p.name == q.name && p.value.shape == q.value.shape, "restoreSaved: \(p.name) \(p.value.shape) ≠ \(q.name) \(q.value.shape) after the match")
        p.value = q.value
        p.trainable = q.trainable
        p.state = q.state
      }
    }
    optimizer.stepCount = saved.optimizer.stepCount
    history = restored
    self.restored = true
    return .reused(modelPath)
  }
}

extension Lesson {
  /// The data files the lesson reads (CSV, IDX images and labels), resolved from the lesson's
  /// folder; none for shipped, generated and inline data.
  var dataFiles: [String] {
    var files: [String] = []
    switch data.dataset {
    case "csv": if let f = data.file { files.append(f) }
    case "idx": files += [data.images, data.labelsFile].compactMap { $0 }
    default: break
    }
    return files.compactMap { try? resolve($0) }
  }
}

extension History {
  /// The fixed columns of `history.csv`, before one `gradient_norm:<layer>` column per layer.
  public static let csvColumns = ["epoch", "train_loss", "train_accuracy", "validation_loss", "validation_accuracy", "test_loss", "test_accuracy"]

  /// `history.csv`: one row per epoch, numbers in shortest round-trip form (so `parse` gives
  /// back the same doubles), empty where a split is absent; `layers` orders the gradient-norm columns.
  public func csv(layers: [String]) -> String {
    let normLayers = layers.filter { name in epochs.contains { $0.gradientNorms[name] != nil } }
    var out = (Self.csvColumns + normLayers.map { CSVCell.text("gradient_norm:\($0)") }).joined(separator: ",") + "\n"
    func cell(_ x: Double?) -> String { x.map(Value.jsonNumber) ?? "" }
    for e in epochs {
      let fields = ["\(e.epoch)", cell(e.trainLoss), cell(e.trainAccuracy), cell(e.validationLoss), cell(e.validationAccuracy),
                    cell(e.testLoss), cell(e.testAccuracy)] + normLayers.map { cell(e.gradientNorms[$0]) }
      out += fields.joined(separator: ",") + "\n"
    }
    return out
  }

  /// Reads `history.csv` as `csv` writes it, checking all of it: the header, a field per column,
  /// epochs 1, 2, 3… in order (at most `Limits.epochs`), finite numbers. Errors name the file and line.
  public static func parse(csv text: String, path: String) throws(SheetNetError) -> History {
    var lines = text.split(separator: "\n", omittingEmptySubsequences: false).map { $0.hasSuffix("\r") ? String($0.dropLast()) : String($0) }
    if lines.last == "" { lines.removeLast() }
    guard let header = lines.first?.split(separator: ",", omittingEmptySubsequences: false).map(String.init),
          Array(header.prefix(csvColumns.count)) == csvColumns else {
      throw .model("\(path) line 1: not a SheetNet history (the header must start \(csvColumns.joined(separator: ","))); train the lesson again")
    }
    let normNames = header.dropFirst(csvColumns.count).map { column -> String? in
      column.hasPrefix("gradient_norm:") && column.count > 14 ? String(column.dropFirst(14)) : nil
    }
    if let bad = normNames.firstIndex(of: nil) {
      throw .model("\(path) line 1: column \(bad + 1) '\(header[bad])' is not gradient_norm:<layer>; train the lesson again")
    }
    guard lines.count - 1 <= Limits.epochs else {
      throw .model("\(path): \(lines.count - 1) epochs, more than the \(Limits.epochs) a lesson may train; train the lesson again")
    }
    var history = History()
    for (n, line) in lines.enumerated().dropFirst() {
      let fields = line.split(separator: ",", omittingEmptySubsequences: false).map(String.init)
      guard fields.count == header.count else {
        throw .model("\(path) line \(n + 1): \(fields.count) fields, the header has \(header.count); train the lesson again")
      }
      func number(_ k: Int) throws(SheetNetError) -> Double? {
        if fields[k].isEmpty { return nil }
        guard fields[k].count <= 32, let x = Double(fields[k]), x.isFinite else {
          throw .model("\(path) line \(n + 1): \(header[k]) '\(fields[k].prefix(32))' is not a finite number; train the lesson again")
        }
        return x
      }
      guard Int(fields[0]) == n else {
        throw .model("\(path) line \(n + 1): epoch '\(fields[0].prefix(32))' where \(n) was expected; train the lesson again")
      }
      guard let trainLoss = try number(1), let trainAccuracy = try number(2) else {
        throw .model("\(path) line \(n + 1): the training loss and accuracy are missing; train the lesson again")
      }
      var record = EpochRecord(epoch: n, trainLoss: trainLoss, trainAccuracy: trainAccuracy, validationLoss: try number(3),
                               validationAccuracy: try number(4), testLoss: try number(5), testAccuracy: try number(6))
      for (k, name) in normNames.enumerated() {
        if let x = try number(csvColumns.count + k) { record.gradientNorms[name!] = x }
      }
      history.epochs.append(record)
    }
    return history
  }
}

extension Lesson {
  /// What a lesson without data is made from: FNV-1a (64 bit) over the SheetNet version and the
  /// lesson's text (a lesson with data has `LessonRun.fingerprint`, which covers its data too).
  public var fingerprint: String {
    var hash = FNV1a()
    hash.add("sheetnet \(SheetNetVersion.current)\n")
    hash.add(source)
    return hash.hex
  }
}

/// FNV-1a, 64 bit: a small, stable hash for telling inputs apart (not for security).
struct FNV1a {
  private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

  mutating func add(bytes: [UInt8]) { bytes.withUnsafeBytes { add(raw: $0) } }

  mutating func add(_ s: String) { add(bytes: Array(s.utf8)) }

  mutating func add(raw bytes: UnsafeRawBufferPointer) {
    for b in bytes {
      value ^= UInt64(b)
      value = value &* 0x0000_0100_0000_01B3
    }
  }

  var hex: String {
    let digits = String(value, radix: 16)
    return String(repeating: "0", count: 16 - digits.count) + digits
  }
}
