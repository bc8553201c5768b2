import Foundation

/// IDX files, the format of MNIST and Fashion-MNIST (LeCun et al.): plain or gzip-compressed.
///
/// Layout: a 4-byte magic number 00 00 tt dd (tt the element type, 08 for unsigned bytes; dd the
/// number of dimensions), dd big-endian 32-bit extents, then the elements row-major. Images are
/// 0x00000803 (N, rows, columns), labels 0x00000801 (N). gzip files (starting 1f 8b) are
/// inflated by `Inflate` first. Pixels are kept as stored, 0…255 (scale them in the lesson with
/// `preprocess: {divide: 255}`).
public enum IDX {
  /// Magic number of an unsigned-byte image file: 3 dimensions N × rows × columns.
  public static let imagesMagic: UInt32 = 0x0000_0803
  /// Magic number of an unsigned-byte label file: 1 dimension N.
  public static let labelsMagic: UInt32 = 0x0000_0801
  /// Largest image side accepted (anything larger is taken for a damaged header).
  public static let maxSide = 4096

  /// The decoded contents of one IDX file: its extents and its bytes, row-major.
  public struct Contents: Sendable, Equatable {
    /// The magic number, 0x000008dd for unsigned bytes in dd dimensions.
    public var magic: UInt32
    /// Extent of each dimension, first the sample count.
    public var dims: [Int]
    /// The elements, Π dims of them.
    public var bytes: [UInt8]
  }

  /// Most data bytes an IDX file may hold (Π dims); larger headers are taken for damage.
  public static let maxElements = Int(Int32.max)

  /// Reads an IDX file (plain or gzip) from disk; a file larger than any IDX file SheetNet reads
  /// is refused before it is read into memory.
  public static func read(_ path: String) throws(SheetNetError) -> Contents {
    if let size = (try? FileManager.default.attributesOfItem(atPath: path))?[.size] as? NSNumber,
      size.int64Value > Int64(maxElements) + 1 << 20 {
      throw .data("\(path) holds \(Limits.grouped(Int(size.int64Value))) bytes, more than any IDX file SheetNet reads (at most \(Limits.grouped(maxElements)) bytes of data); is it the right file?")
    }
    guard let data = FileManager.default.contents(atPath: path) else {
      throw .data("\(path): no such IDX file; check the path (MNIST's are named like train-images-idx3-ubyte.gz)")
    }
    return try parse([UInt8](data), file: path)
  }

  /// Parses IDX bytes (inflating them first when they are gzip); `file` names them in errors.
  public static func parse(_ raw: [UInt8], file: String) throws(SheetNetError) -> Contents {
    let bytes = Inflate.isGzip(raw) ? try Inflate.gunzip(raw, file: file, limit: maxElements + (1 << 20)) : raw
    guard bytes.count >= 4 else {
      throw .data("\(file) is truncated: an IDX file starts with a 4-byte magic number, but it holds \(bytes.count) bytes")
    }
    let magic = bigEndian(bytes, 0)
    let type = (magic >> 8) & 0xFF, rank = Int(magic & 0xFF)
    guard magic >> 16 == 0, rank >= 1, rank <= 4 else {
      throw .data("\(file) is not an IDX file: it starts with \(hex(magic)), but IDX files start with 0x000008 then the number of dimensions (MNIST images: 0x00000803, labels: 0x00000801)")
    }
    guard type == 0x08 else {
      throw .data("\(file) holds IDX elements of type \(String(format: "0x%02X", type)); SheetNet reads unsigned bytes (type 0x08), as MNIST and Fashion-MNIST use")
    }
    let headerSize = 4 + 4 * rank
    guard bytes.count >= headerSize else {
      throw .data("\(file) is truncated: its header needs \(headerSize) bytes for \(rank) dimensions, but the file holds \(bytes.count)")
    }
    let dims = (0..<rank).map { Int(bigEndian(bytes, 4 + 4 * $0)) }
    var count = 1
    for d in dims {
      let (product, overflow) = count.multipliedReportingOverflow(by: d)
      guard !overflow, product <= maxElements else {
        throw .data("\(file) has absurd dimensions \(dims.map(String.init).joined(separator: "×")) in its header; the file is damaged or not an IDX file")
      }
      count = product
    }
    guard dims.allSatisfy({ $0 > 0 }) else {
      throw .data("\(file) has a dimension of 0 (\(dims.map(String.init).joined(separator: "×"))): it holds no samples")
    }
    let available = bytes.count - headerSize
    guard available >= count else {
      throw .data("\(file) is truncated: its header announces \(dims.map(String.init).joined(separator: "×")) = \(count) bytes of data but only \(available) follow; download it again")
    }
    guard available == count else {
      throw .data("\(file) has \(available - count) bytes more than its header announces (\(dims.map(String.init).joined(separator: "×"))); the file is damaged or not an IDX file")
    }
    return Contents(magic: magic, dims: dims, bytes: Array(bytes[headerSize...]))
  }

  /// An image file and its label file as a dataset: x is [N, 1, rows, columns] with pixels
  /// 0…255 as stored, labels 0…9. With `limit`, only the first `limit` samples are kept.
  public static func load(images: String, labels: String, limit: Int? = nil) throws(SheetNetError) -> Dataset {
    try dataset(images: try read(images), labels: try read(labels), imagesFile: images, labelsFile: labels, limit: limit)
  }

  /// The dataset from parsed image and label contents (see `load`).
  public static func dataset(images: Contents, labels: Contents, imagesFile: String, labelsFile: String, limit: Int? = nil) throws(SheetNetError) -> Dataset {
    guard images.magic == imagesMagic else {
      throw .data("\(imagesFile) is not an IDX image file: its magic number is \(hex(images.magic)) \(describe(images.magic)) but images have 0x00000803 (N × rows × columns); give the images file, e.g. train-images-idx3-ubyte.gz")
    }
    guard labels.magic == labelsMagic else {
      throw .data("\(labelsFile) is not an IDX label file: its magic number is \(hex(labels.magic)) \(describe(labels.magic)) but labels have 0x00000801 (N); give the labels file, e.g. train-labels-idx1-ubyte.gz")
    }
    // Contents are public and mutable: check them as `parse` would before indexing into them.
    guard images.dims.count == 3, images.dims.allSatisfy({ $0 > 0 }), Limits.product(images.dims) == images.bytes.count else {
      throw .data("\(imagesFile): its extents \(images.dims.map(String.init).joined(separator: "×")) do not match its \(images.bytes.count) bytes of data; read it with IDX.read or IDX.parse")
    }
    guard labels.dims.count == 1, labels.dims[0] == labels.bytes.count else {
      throw .data("\(labelsFile): its extents \(labels.dims.map(String.init).joined(separator: "×")) do not match its \(labels.bytes.count) bytes of data; read it with IDX.read or IDX.parse")
    }
    let (n, rows, columns) = (images.dims[0], images.dims[1], images.dims[2])
    guard rows <= maxSide, columns <= maxSide else {
      throw .data("\(imagesFile) has absurd image dimensions \(rows)×\(columns) (more than \(maxSide) pixels a side); the file is damaged or not an image file")
    }
    guard labels.dims[0] == n else {
      throw .data("\(imagesFile) holds \(n) images but \(labelsFile) holds \(labels.dims[0]) labels; use the matching pair (train-images with train-labels, t10k-images with t10k-labels)")
    }
    let kept = min(n, max(limit ?? n, 0))
    let size = rows * columns
    // The file's bytes are read; its numbers, three copies of them as Float64, are not yet.
    try Limits.checkMemory(Limits.saturated(Limits.processBytes + images.bytes.count + labels.bytes.count, plus: Limits.dataBytes(samples: kept, features: size)),
                           "\(imagesFile): \(Limits.grouped(kept)) images", "\(rows)×\(columns) pixels each, loaded, split and scaled as 8-byte numbers",
                           "read fewer with the lesson's `limit`")
    var x = Tensor(shape: [kept, 1, rows, columns])
    for i in 0..<kept * size { x.data[i] = Double(images.bytes[i]) }
    let name = ((imagesFile as NSString).lastPathComponent as NSString).deletingPathExtension
    return Dataset(name: name, x: x, labels: labels.bytes[..<kept].map { Int($0) })
  }

  private static func bigEndian(_ b: [UInt8], _ i: Int) -> UInt32 {
    UInt32(b[i]) << 24 | UInt32(b[i + 1]) << 16 | UInt32(b[i + 2]) << 8 | UInt32(b[i + 3])
  }

  private static func hex(_ v: UInt32) -> String { String(format: "0x%08X", v) }

  private static func describe(_ magic: UInt32) -> String {
    switch magic {
    case imagesMagic: "(an image file)"
    case labelsMagic: "(a label file)"
    default: "(\(magic & 0xFF) dimensions)"
    }
  }
}
