import Foundation
import Testing
@testable import SheetNet

/// Bytes from a hex string ("1f8b…").
func hexBytes(_ s: String) -> [UInt8] {
  let chars = Array(s)
  return stride(from: 0, to: chars.count, by: 2).map { UInt8(String(chars[$0...$0 + 1]), radix: 16)! }
}

/// An IDX file: magic, big-endian extents, then the bytes.
func idxBytes(magic: UInt32, dims: [Int], _ body: [UInt8]) -> [UInt8] {
  func be(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8(v >> 16 & 0xFF), UInt8(v >> 8 & 0xFF), UInt8(v & 0xFF)] }
  return be(magic) + dims.flatMap { be(UInt32($0)) } + body
}

/// A fresh scratch folder for one test.
func scratchFolder() throws -> URL {
  let url = FileManager.default.temporaryDirectory.appendingPathComponent("sheetnet-idx-\(UUID().uuidString)")
  try FileManager.default.createDirectory(at: url, withIntermediateDirectories: true)
  return url
}

/// Compresses `file` with the system's gzip into `file.gz` and returns its path.
func systemGzip(_ file: URL, level: Int = 9) throws -> URL {
  let p = Process()
  p.executableURL = URL(fileURLWithPath: "/usr/bin/gzip")
  p.arguments = ["-k", "-f", "-\(level)", file.path]
  try p.run()
  p.waitUntilExit()
  #expect(p.terminationStatus == 0)
  return URL(fileURLWithPath: file.path + ".gz")
}

let hasGzip = FileManager.default.isExecutableFile(atPath: "/usr/bin/gzip")

/// DEFLATE and gzip decoding: each block type, checksums, truncation and round trips through
/// the system's gzip.
struct InflateTests {
  // Made with Python's zlib (raw deflate, wbits −15) and gzip.compress(mtime=0).
  @Test func storedBlock() throws {
    let out = try Inflate.inflate(hexBytes("011b00e4ff73746f72656420626c6f636b3a206b657074206173206974206973")).output
    #expect(String(decoding: out, as: UTF8.self) == "stored block: kept as it is")
  }

  @Test func fixedHuffmanBlockWithCopies() throws {
    let out = try Inflate.inflate(hexBytes("4b4c2a4a4c4e4c4904520a89083600")).output
    #expect(String(decoding: out, as: UTF8.self) == "abracadabra abracadabra")
  }

  @Test func fixedHuffmanOverlappingCopies() throws {
    // "the quick brown fox k jumps over the lazy dog; " for k = i mod 7, i < 40: 1,880 bytes from 86.
    let hex = "2bc94855282ccd4cce56482aca2fcf5348cbaf503050c82acd2d2856c82f4b2d5228012ac849acaa5448c94fb706f3d0951b92a6dc8834e5c6a42937214db92969cacd48533e1a90a301391a90a301391a90232e2001"
    let out = try Inflate.inflate(hexBytes(hex)).output
    let expected = (0..<40).map { "the quick brown fox \($0 % 7) jumps over the lazy dog; " }.joined()
    #expect(String(decoding: out, as: UTF8.self) == expected)
  }

  @Test func dynamicHuffmanBlock() throws {
    let hex = "0d8ec109004108c45ab135c1c01e88823bdbfff9f1212113cdc1a372084a47589d539e28b96e3c18842accaddde6c38142af537d7dfc4c8ff4503cc37466b024f7b75cd6f20dea3d11ac6157ee1ad712075ab1a3488efb773de31de2aad34cea45376a07b6721232f5f9f330596dd9c3959f267e"
    let bytes = hexBytes(hex)
    #expect((bytes[0] >> 1) & 3 == 2)
    let out = try Inflate.inflate(bytes).output
    #expect(String(decoding: out, as: UTF8.self).hasPrefix("trheadnlredenthte nhhnaletlesa"))
    #expect(out.count == 200)
  }

  @Test func crc32KnownValue() {
    #expect(Inflate.crc32(Array("123456789".utf8)) == 0xCBF4_3926)
    #expect(Inflate.crc32([]) == 0)
  }

  @Test func gzipChecksAndTruncation() throws {
    let good = hexBytes("1f8b08000000000002036360e06066606060026208fd5f50c9d88591899985f5040029ec08be1c000000")
    #expect(try Inflate.gunzip(good).count == 28)
    var damaged = good
    damaged[damaged.count - 6] ^= 0x01  // one bit of the CRC
    #expect(throws: SheetNetError.self) { try Inflate.gunzip(damaged) }
    for cut in [5, 12, 20, good.count - 3] {
      do {
        _ = try Inflate.gunzip(Array(good[..<cut]), file: "x.gz")
        Issue.record("a gzip stream cut at \(cut) bytes was accepted")
      } catch {
        #expect(error.description.contains("truncated"), "cut at \(cut): \(error.description)")
      }
    }
    // Two members joined, as `cat a.gz b.gz` makes them.
    #expect(try Inflate.gunzip(good + good).count == 56)
  }

  @Test(.enabled(if: hasGzip)) func roundTripsThroughSystemGzip() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    var rng = SeededGenerator(seed: 11)
    // Noise (stored blocks), runs, text and image-like bytes: every block type, long copies.
    var data: [UInt8] = (0..<70_000).map { _ in UInt8(rng.below(256)) }
    data += [UInt8](repeating: 0, count: 50_000)
    data += Array(String(repeating: "backpropagation, one layer at a time. ", count: 900).utf8)
    data += (0..<60_000).map { i in UInt8(i % 28 > 7 && i % 28 < 20 && rng.unit() < 0.7 ? 128 + rng.below(128) : 0) }
    for level in [1, 6, 9] {
      let file = folder.appendingPathComponent("data-\(level).bin")
      try Data(data).write(to: file)
      let gz = try systemGzip(file, level: level)
      let packed = [UInt8](try Data(contentsOf: gz))
      #expect(packed.count < data.count)
      #expect(try Inflate.gunzip(packed, file: gz.path) == data, "gzip -\(level)")
    }
  }
}

/// IDX files: plain and gzip, and a clear error for each way they go wrong.
struct IDXTests {
  /// Two 3×2 images (pixels 0…255) and their labels.
  let imageBody: [UInt8] = [0, 255, 17, 34, 51, 68, 1, 2, 3, 4, 5, 200]
  var images: [UInt8] { idxBytes(magic: IDX.imagesMagic, dims: [2, 3, 2], imageBody) }
  var labels: [UInt8] { idxBytes(magic: IDX.labelsMagic, dims: [2], [7, 1]) }

  func error(_ body: () throws -> Void) -> String {
    do { try body() } catch let e as SheetNetError { return e.description } catch { return "\(error)" }
    return "no error"
  }

  @Test func plainFiles() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    let (x, y) = (folder.appendingPathComponent("train-images-idx3-ubyte"), folder.appendingPathComponent("train-labels-idx1-ubyte"))
    try Data(images).write(to: x)
    try Data(labels).write(to: y)
    let d = try IDX.load(images: x.path, labels: y.path)
    #expect(d.x.shape == [2, 1, 3, 2])
    #expect(d.x.data == imageBody.map(Double.init))
    #expect(d.labels == [7, 1])
    #expect(d.name == "train-images-idx3-ubyte")
    #expect(try IDX.load(images: x.path, labels: y.path, limit: 1).x.shape == [1, 1, 3, 2])
  }

  @Test func embeddedGzip() throws {
    // Python: gzip.compress(the images file above, mtime=0).
    let gz = hexBytes("1f8b08000000000002036360e06066606060026208fd5f50c9d88591899985f5040029ec08be1c000000")
    let c = try IDX.parse(gz, file: "images.gz")
    #expect(c == IDX.Contents(magic: IDX.imagesMagic, dims: [2, 3, 2], bytes: imageBody))
  }

  @Test(.enabled(if: hasGzip)) func gzipFilesFromSystemGzip() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    // 300 MNIST-shaped images with a stroke each, so gzip makes dynamic blocks with copies.
    var rng = SeededGenerator(seed: 5)
    var pixels: [UInt8] = []
    for n in 0..<300 {
      for r in 0..<28 { for c in 0..<28 { pixels.append(abs(c - 14 - n % 5) < 3 && r > 4 && r < 24 ? UInt8(150 + rng.below(106)) : 0) } }
    }
    let labelBytes = (0..<300).map { UInt8($0 % 10) }
    let x = folder.appendingPathComponent("t10k-images-idx3-ubyte"), y = folder.appendingPathComponent("t10k-labels-idx1-ubyte")
    try Data(idxBytes(magic: IDX.imagesMagic, dims: [300, 28, 28], pixels)).write(to: x)
    try Data(idxBytes(magic: IDX.labelsMagic, dims: [300], labelBytes)).write(to: y)
    let d = try IDX.load(images: try systemGzip(x).path, labels: try systemGzip(y).path)
    #expect(d.x.shape == [300, 1, 28, 28])
    #expect(d.x.data == pixels.map(Double.init))
    #expect(d.labels == labelBytes.map(Int.init))
    #expect(d.name == "t10k-images-idx3-ubyte")
  }

  @Test func truncatedFiles() {
    let full = images
    let header = error { _ = try IDX.parse(Array(full[..<10]), file: "a") }
    #expect(header.contains("truncated") && header.contains("header needs 16 bytes"), "\(header)")
    let body = error { _ = try IDX.parse(Array(full[..<20]), file: "a") }
    #expect(body.contains("truncated") && body.contains("2×3×2 = 12 bytes") && body.contains("only 4 follow"), "\(body)")
    let tiny = error { _ = try IDX.parse([0, 0], file: "a") }
    #expect(tiny.contains("truncated"), "\(tiny)")
    let extra = error { _ = try IDX.parse(full + [9], file: "a") }
    #expect(extra.contains("1 bytes more than its header"), "\(extra)")
  }

  @Test func wrongMagicNumbers() {
    let png = error { _ = try IDX.parse([0x89, 0x50, 0x4E, 0x47, 0, 0, 0, 0], file: "digit.png") }
    #expect(png.contains("digit.png is not an IDX file") && png.contains("0x89504E47"), "\(png)")
    let floats = error { _ = try IDX.parse(idxBytes(magic: 0x0000_0D03, dims: [1, 1, 1], [0, 0, 0, 0]), file: "f") }
    #expect(floats.contains("type 0x0D"), "\(floats)")
    // Images and labels swapped.
    let swapped = error {
      _ = try IDX.dataset(images: try IDX.parse(labels, file: "l"), labels: try IDX.parse(images, file: "i"), imagesFile: "l", labelsFile: "i")
    }
    #expect(swapped.contains("l is not an IDX image file") && swapped.contains("(a label file)"), "\(swapped)")
  }

  @Test func countMismatch() {
    let three = idxBytes(magic: IDX.labelsMagic, dims: [3], [1, 2, 3])
    let text = error {
      _ = try IDX.dataset(images: try IDX.parse(images, file: "i"), labels: try IDX.parse(three, file: "l"), imagesFile: "i", labelsFile: "l")
    }
    #expect(text.contains("i holds 2 images but l holds 3 labels"), "\(text)")
  }

  @Test func absurdDimensions() {
    let huge = error { _ = try IDX.parse(idxBytes(magic: IDX.imagesMagic, dims: [60_000, 1 << 20, 1 << 20], []), file: "h") }
    #expect(huge.contains("absurd dimensions"), "\(huge)")
    let zero = error { _ = try IDX.parse(idxBytes(magic: IDX.imagesMagic, dims: [0, 28, 28], []), file: "z") }
    #expect(zero.contains("holds no samples"), "\(zero)")
    let wide = idxBytes(magic: IDX.imagesMagic, dims: [1, 1, 5000], [UInt8](repeating: 0, count: 5000))
    let side = error {
      _ = try IDX.dataset(images: try IDX.parse(wide, file: "w"), labels: try IDX.parse(idxBytes(magic: IDX.labelsMagic, dims: [1], [0]), file: "l"),
                          imagesFile: "w", labelsFile: "l")
    }
    #expect(side.contains("absurd image dimensions 1×5000"), "\(side)")
    let rank = error { _ = try IDX.parse(idxBytes(magic: 0x0000_0809, dims: [], []), file: "r") }
    #expect(rank.contains("is not an IDX file"), "\(rank)")
  }

  @Test func missingFile() {
    let text = error { _ = try IDX.read("/nonexistent/train-images-idx3-ubyte.gz") }
    #expect(text.contains("no such IDX file"), "\(text)")
  }
}

/// A lesson that names IDX files trains on them.
struct IDXLessonTests {
  @Test func lessonReadsIDXFilesRelativeToItself() throws {
    let folder = try scratchFolder()
    defer { try? FileManager.default.removeItem(at: folder) }
    // 40 images of 4×4: class 1 bright on the left half, class 0 on the right half.
    var pixels: [UInt8] = [], labels: [UInt8] = []
    for n in 0..<40 {
      let label = UInt8(n % 2)
      labels.append(label)
      for _ in 0..<4 { for c in 0..<4 { pixels.append((c < 2) == (label == 1) ? 255 : 0) } }
    }
    try Data(idxBytes(magic: 0x0803, dims: [40, 4, 4], pixels)).write(to: folder.appendingPathComponent("images.idx"))
    try Data(idxBytes(magic: 0x0801, dims: [40], labels)).write(to: folder.appendingPathComponent("labels.idx"))
    let yaml = """
      data: {dataset: idx, images: images.idx, label_file: labels.idx, limit: 30, preprocess: {divide: 255}, split: {test: 0.2}}
      network: [flatten, {type: dense, units: 2}, softmax]
      optimizer: {type: adam, learning_rate: 0.1}
      train: {epochs: 20, batch_size: 8}
      """
    let lessonPath = folder.appendingPathComponent("idx.yaml").path
    let run = try LessonRun(try Lesson.parse(yaml, path: lessonPath))
    #expect(run.split.train.count + (run.split.test?.count ?? 0) == 30)
    #expect(run.model.inputShape == [1, 4, 4])
    try run.train()
    #expect(run.evaluate(run.split.test!).accuracy == 1)
    #expect(throws: SheetNetError.self) { try Lesson.parse("data: {dataset: idx, images: a.idx}\nnetwork: [relu]\n", path: "x.yaml") }
  }
}
