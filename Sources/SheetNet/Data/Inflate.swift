/// DEFLATE (RFC 1951) and gzip (RFC 1952) decompression in plain Swift, so that MNIST's `.gz`
/// files load without zlib: Foundation on Linux has no public inflate.
///
/// A bit reader takes bits least-significant first; each Huffman code is looked up in one table
/// indexed by the next `maxLength` bits (codes are stored bit-reversed, so the table holds every
/// entry whose low bits equal the reversed code). Matches copy byte by byte, so overlapping
/// copies (distance < length) repeat their pattern as the RFC requires. gzip members are checked
/// against their CRC-32 and length; concatenated members are joined. Cost: O(output) plus one
/// table of 2^maxLength entries per Huffman block.
public enum Inflate {
  /// Decompresses a whole gzip file (one or more members) and checks each member's CRC-32 and size.
  /// `file` names the file in errors; more than `limit` bytes of output (a "zip bomb") is refused.
  public static func gunzip(_ bytes: [UInt8], file: String = "gzip data", limit: Int = Int.max) throws(SheetNetError) -> [UInt8] {
    var output: [UInt8] = []
    var start = 0
    repeat {
      let (member, end) = try gunzipMember(bytes, at: start, file: file, limit: limit - output.count)
      output += member
      start = end
    } while start + 1 < bytes.count && bytes[start] == 0x1F && bytes[start + 1] == 0x8B
    return output
  }

  /// True when `bytes` begin with the gzip magic number 1f 8b.
  public static func isGzip(_ bytes: [UInt8]) -> Bool { bytes.count >= 2 && bytes[0] == 0x1F && bytes[1] == 0x8B }

  /// One gzip member from byte `start`: header, deflate data, CRC-32 and ISIZE (size mod 2³²).
  static func gunzipMember(_ bytes: [UInt8], at start: Int, file: String, limit: Int = Int.max) throws(SheetNetError) -> (output: [UInt8], end: Int) {
    var p = start
    func byte() throws(SheetNetError) -> Int {
      guard p < bytes.count else { throw truncated(file) }
      p += 1
      return Int(bytes[p - 1])
    }
    guard try byte() == 0x1F, try byte() == 0x8B else { throw .data("\(file): not gzip data (it does not start with 1f 8b)") }
    guard try byte() == 8 else { throw .data("\(file): gzip data compressed with a method other than deflate; it cannot be read") }
    let flags = try byte()
    guard flags & 0xE0 == 0 else { throw .data("\(file): corrupt gzip header (reserved flags set); the file is damaged, download it again") }
    for _ in 0..<6 { _ = try byte() }  // MTIME, XFL, OS
    if flags & 0x04 != 0 {  // FEXTRA: a little-endian length, then that many bytes
      let low = try byte(), high = try byte()
      let length = low | high << 8
      for _ in 0..<length { _ = try byte() }
    }
    if flags & 0x08 != 0 { while try byte() != 0 {} }  // FNAME, zero-terminated
    if flags & 0x10 != 0 { while try byte() != 0 {} }  // FCOMMENT, zero-terminated
    if flags & 0x02 != 0 { _ = try byte(); _ = try byte() }  // FHCRC
    let (output, end) = try inflate(bytes, from: p, file: file, limit: limit)
    p = end
    var crc: UInt32 = 0, size: UInt32 = 0
    for k in 0..<4 { crc |= UInt32(try byte()) << (8 * k) }
    for k in 0..<4 { size |= UInt32(try byte()) << (8 * k) }
    guard crc == crc32(output), size == UInt32(truncatingIfNeeded: output.count) else {
      throw .data("\(file): the gzip checksum does not match its contents; the file is damaged, download it again")
    }
    return (output, p)
  }

  /// Inflates raw DEFLATE data starting at byte `start`; returns the output and the index of
  /// the first byte after the final block. More than `limit` bytes of output is refused.
  public static func inflate(_ bytes: [UInt8], from start: Int = 0, file: String = "deflate data", limit: Int = Int.max) throws(SheetNetError) -> (output: [UInt8], end: Int) {
    var bits = BitReader(bytes: bytes, position: start, file: file)
    bits.limit = limit
    var output: [UInt8] = []
    output.reserveCapacity(bytes.count * 4)
    var last = false
    while !last {
      last = try bits.take(1) == 1
      switch try bits.take(2) {
      case 0: try storedBlock(&bits, &output)
      case 1: try huffmanBlock(&bits, &output, fixed.literals, fixed.distances)
      case 2:
        let (literals, distances) = try dynamicTables(&bits)
        try huffmanBlock(&bits, &output, literals, distances)
      default: throw corrupt(file, "a block of reserved type 3")
      }
    }
    return (output, bits.position - bits.count / 8)
  }

  /// CRC-32 (IEEE 802.3, reflected polynomial 0xEDB88320), as gzip and PNG use it.
  public static func crc32(_ bytes: [UInt8]) -> UInt32 {
    var c: UInt32 = 0xFFFF_FFFF
    for b in bytes { c = crcTable[Int((c ^ UInt32(b)) & 0xFF)] ^ (c >> 8) }
    return c ^ 0xFFFF_FFFF
  }

  private static let crcTable: [UInt32] = (0..<256).map { n in
    var c = UInt32(n)
    for _ in 0..<8 { c = c & 1 != 0 ? 0xEDB8_8320 ^ (c >> 1) : c >> 1 }
    return c
  }

  static func truncated(_ file: String) -> SheetNetError {
    .data("\(file): the compressed data ends early; the file is truncated, download it again")
  }

  static func corrupt(_ file: String, _ what: String) -> SheetNetError {
    .data("\(file): corrupt compressed data (\(what)); the file is damaged, download it again")
  }

  // MARK: Bits

  /// Reads bits least-significant first from a byte array through a 64-bit buffer.
  struct BitReader {
    let bytes: [UInt8]
    /// Next byte to load into the buffer.
    var position: Int
    let file: String
    var buffer: UInt64 = 0
    /// Valid bits in the buffer.
    var count = 0
    /// The most bytes the output may reach.
    var limit = Int.max

    init(bytes: [UInt8], position: Int, file: String) {
      self.bytes = bytes
      self.position = position
      self.file = file
    }

    /// Loads whole bytes while they fit and remain.
    @inline(__always) mutating func refill() {
      while count <= 56 && position < bytes.count {
        buffer |= UInt64(bytes[position]) << UInt64(count)
        position += 1
        count += 8
      }
    }

    /// The next `n` ≤ 32 bits as a number, first bit lowest.
    @inline(__always) mutating func take(_ n: Int) throws(SheetNetError) -> Int {
      if count < n { refill() }
      guard count >= n else { throw Inflate.truncated(file) }
      let v = Int(buffer & ((1 << UInt64(n)) - 1))
      buffer >>= UInt64(n)
      count -= n
      return v
    }

    /// The next symbol of a Huffman code.
    @inline(__always) mutating func decode(_ h: Huffman) throws(SheetNetError) -> Int {
      if count < h.maxLength { refill() }
      let entry = Int(h.table[Int(buffer & UInt64(h.table.count - 1))])
      let length = entry & 15
      guard length > 0 else { throw count < h.maxLength ? Inflate.truncated(file) : Inflate.corrupt(file, "an unused Huffman code") }
      guard length <= count else { throw Inflate.truncated(file) }
      buffer >>= UInt64(length)
      count -= length
      return entry >> 4
    }

    /// Drops the bits up to the next byte boundary.
    mutating func alignToByte() {
      let drop = count % 8
      buffer >>= UInt64(drop)
      count -= drop
    }
  }

  // MARK: Huffman codes

  /// A canonical Huffman code as one lookup table: entry = symbol << 4 | code length (0: no code).
  struct Huffman {
    var table: [UInt16]
    var maxLength: Int

    /// The canonical code for per-symbol code lengths (0 = unused), RFC 1951 §3.2.2.
    init(lengths: [Int], file: String) throws(SheetNetError) {
      var counts = [Int](repeating: 0, count: 16)
      for l in lengths { counts[l] += 1 }
      counts[0] = 0
      var left = 1
      for l in 1...15 {
        left = (left << 1) - counts[l]
        guard left >= 0 else { throw Inflate.corrupt(file, "an over-full Huffman code") }
      }
      maxLength = max(lengths.max() ?? 1, 1)
      table = [UInt16](repeating: 0, count: 1 << maxLength)
      var next = [Int](repeating: 0, count: 16)
      var code = 0
      for l in 1...15 {
        code = (code + counts[l - 1]) << 1
        next[l] = code
      }
      for (symbol, l) in lengths.enumerated() where l > 0 {
        let c = next[l]
        next[l] += 1
        var reversed = 0
        for k in 0..<l where c & (1 << k) != 0 { reversed |= 1 << (l - 1 - k) }
        let entry = UInt16(symbol << 4 | l)
        var i = reversed
        while i < table.count {
          table[i] = entry
          i += 1 << l
        }
      }
    }
  }

  /// The fixed codes of block type 1: literal/lengths 0–143: 8 bits, 144–255: 9, 256–279: 7,
  /// 280–287: 8; 32 distance codes of 5 bits.
  private static let fixed: (literals: Huffman, distances: Huffman) = {
    let literals = (0..<288).map { $0 < 144 ? 8 : $0 < 256 ? 9 : $0 < 280 ? 7 : 8 }
    return (try! Huffman(lengths: literals, file: ""), try! Huffman(lengths: [Int](repeating: 5, count: 32), file: ""))
  }()

  private static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
  private static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
  private static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537,
                                     2049, 3073, 4097, 6145, 8193, 12289, 16385, 24577]
  private static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]
  /// The order in which a dynamic block lists the code-length code's lengths.
  private static let lengthOrder = [16, 17, 18, 0, 8, 7, 9, 6, 10, 5, 11, 4, 12, 3, 13, 2, 14, 1, 15]

  // MARK: Blocks

  /// Type 0: LEN, its complement NLEN, then LEN bytes as they are.
  private static func storedBlock(_ bits: inout BitReader, _ output: inout [UInt8]) throws(SheetNetError) {
    bits.alignToByte()
    let length = try bits.take(16), complement = try bits.take(16)
    guard length == complement ^ 0xFFFF else { throw corrupt(bits.file, "a stored block whose length check fails") }
    var remaining = length
    guard output.count + length <= bits.limit else { throw tooLarge(bits) }
    while remaining > 0 && bits.count >= 8 {
      output.append(UInt8(try bits.take(8)))
      remaining -= 1
    }
    guard bits.position + remaining <= bits.bytes.count else { throw truncated(bits.file) }
    output += bits.bytes[bits.position..<bits.position + remaining]
    bits.position += remaining
  }

  /// Type 2: the code-length code, then the literal/length and distance code lengths it encodes.
  private static func dynamicTables(_ bits: inout BitReader) throws(SheetNetError) -> (Huffman, Huffman) {
    let file = bits.file
    let literalCount = try bits.take(5) + 257, distanceCount = try bits.take(5) + 1, codeCount = try bits.take(4) + 4
    guard literalCount <= 286, distanceCount <= 30 else { throw corrupt(file, "too many Huffman codes") }
    var codeLengths = [Int](repeating: 0, count: 19)
    for i in 0..<codeCount { codeLengths[lengthOrder[i]] = try bits.take(3) }
    let lengthCode = try Huffman(lengths: codeLengths, file: file)
    var lengths: [Int] = []
    lengths.reserveCapacity(literalCount + distanceCount)
    while lengths.count < literalCount + distanceCount {
      let symbol = try bits.decode(lengthCode)
      switch symbol {
      case 0...15: lengths.append(symbol)
      case 16:
        guard let previous = lengths.last else { throw corrupt(file, "a repeated code length with nothing before it") }
        lengths += [Int](repeating: previous, count: 3 + (try bits.take(2)))
      case 17: lengths += [Int](repeating: 0, count: 3 + (try bits.take(3)))
      default: lengths += [Int](repeating: 0, count: 11 + (try bits.take(7)))
      }
    }
    guard lengths.count == literalCount + distanceCount else { throw corrupt(file, "code lengths that run past their count") }
    guard lengths[256] > 0 else { throw corrupt(file, "a block without an end-of-block code") }
    return (try Huffman(lengths: Array(lengths[..<literalCount]), file: file),
            try Huffman(lengths: Array(lengths[literalCount...]), file: file))
  }

  /// Types 1 and 2: literals, and (length, distance) copies from the output so far, until 256.
  /// The error for output beyond the limit.
  private static func tooLarge(_ bits: BitReader) -> SheetNetError {
    .data("\(bits.file) unpacks to more than \(Limits.grouped(bits.limit)) bytes, more than SheetNet reads; is it the right file?")
  }

  private static func huffmanBlock(_ bits: inout BitReader, _ output: inout [UInt8], _ literals: Huffman, _ distances: Huffman) throws(SheetNetError) {
    while true {
      let symbol = try bits.decode(literals)
      if symbol < 256 {
        guard output.count < bits.limit else { throw tooLarge(bits) }
        output.append(UInt8(symbol))
      } else if symbol == 256 {
        return
      } else {
        let l = symbol - 257
        guard l < 29 else { throw corrupt(bits.file, "an invalid length code") }
        let length = lengthBase[l] + (try bits.take(lengthExtra[l]))
        let d = try bits.decode(distances)
        guard d < 30 else { throw corrupt(bits.file, "an invalid distance code") }
        let distance = distanceBase[d] + (try bits.take(distanceExtra[d]))
        guard distance <= output.count else { throw corrupt(bits.file, "a copy from before the start of the data") }
        guard output.count + length <= bits.limit else { throw tooLarge(bits) }
        var from = output.count - distance
        for _ in 0..<length {
          output.append(output[from])
          from += 1
        }
      }
    }
  }
}
