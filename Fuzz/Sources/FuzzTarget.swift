import SheetNet

/// The four fuzz entry points of `sheetnet-fuzz`, each feeding one input (bytes) to one of the
/// engine's readers of untrusted data.
///
/// A run passes when the reader returns or throws a `SheetNetError`: every reader's contract is
/// "one line naming the problem, never a crash". Only crashes (traps, sanitizer reports), hangs
/// and huge allocations are findings; libFuzzer reports those with `-timeout` and
/// `-rss_limit_mb`/`-malloc_limit_mb`.
///
/// The target is chosen at run time by the environment variable `SHEETNET_FUZZ_TARGET` (or by
/// `--target NAME` in the replay build); see Fuzz/README.md.
enum FuzzTarget: String, CaseIterable {
  /// UTF-8 lesson YAML → `Lesson.parse`, then `LessonRun` (loads the data, splits it, builds the
  /// network); a lesson without data (`dataset: none`) has its network built as `sheetnet
  /// summary` does. Lessons that name files (csv or idx data) are skipped: only inline,
  /// generated and shipped data matter here, and the fuzzer must not read the disk.
  case lesson
  /// UTF-8 CSV text → `CSVData.parse` with the defaults `CSVData.load` uses.
  case csv
  /// model.json text → `Value.parseJSON`, then `ModelFile.decode` (as `ModelFile.load` reads it:
  /// bytes decoded as UTF-8 with replacement characters).
  case model
  /// Raw bytes (plain or gzip) → `IDX.parse`.
  case idx

  /// The environment variable that selects the target.
  static let environmentKey = "SHEETNET_FUZZ_TARGET"

  /// The valid names, for messages: "lesson|csv|model|idx".
  static var names: String { allCases.map(\.rawValue).joined(separator: "|") }

  /// Feeds one input to this target. Returns the error the engine threw, if any (nil when the
  /// input was accepted or skipped); a crash never returns.
  @discardableResult
  func run(_ bytes: [UInt8]) -> SheetNetError? {
    do {
      switch self {
      case .lesson:
        // Lesson.load refuses text that is not UTF-8; so do we.
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        let lesson = try Lesson.parse(text, path: "fuzz.yaml")
        let data = lesson.data
        guard data.file == nil, data.images == nil, data.labelsFile == nil,
          data.dataset != "csv", data.dataset != "idx"
        else { return nil }
        if data.dataset == "none" {
          // A network without data (tiny-vgg.yaml): build it as `sheetnet summary` does.
          var rng = SeededGenerator(seed: lesson.seed)
          _ = try lesson.makeModel(inputShape: data.shape ?? [], rng: &rng)
        } else {
          _ = try LessonRun(lesson)
        }
      case .csv:
        // CSVData.load reads the file as UTF-8 and refuses it otherwise.
        guard let text = String(validating: bytes, as: UTF8.self) else { return nil }
        _ = try CSVData.parse(text, file: "fuzz.csv")
      case .model:
        _ = try ModelFile.decode(Value.parseJSON(String(decoding: bytes, as: UTF8.self)))
      case .idx:
        _ = try IDX.parse(bytes, file: "fuzz.idx")
      }
    } catch {
      return error
    }
    return nil
  }
}
