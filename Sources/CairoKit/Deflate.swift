/// Deflate's fixed Huffman codes (RFC 1951 §3.2.6) and a writer for them: what `PNGEncoder`
/// needs to write a compressed stream without zlib's search.

/// One code as written: its bits, least significant first (Huffman codes are reversed, extra
/// bits follow them), and how many there are.
struct DeflateCode {
  var bits: UInt32
  var count: Int
}

enum Deflate {
  /// `value`'s low `count` bits in reverse order: deflate packs Huffman codes from their most
  /// significant bit.
  static func reversed(_ value: Int, _ count: Int) -> UInt32 {
    var r: UInt32 = 0
    for i in 0..<count where value >> i & 1 == 1 { r |= 1 << UInt32(count - 1 - i) }
    return r
  }

  /// The fixed code of literal/length symbol s: 0…143 → 8 bits from 0x30, 144…255 → 9 bits from
  /// 0x190, 256…279 → 7 bits from 0, 280…287 → 8 bits from 0xC0.
  static func symbol(_ s: Int) -> DeflateCode {
    let (code, count) = switch s {
    case 0...143: (0x30 + s, 8)
    case 144...255: (0x190 + s - 144, 9)
    case 256...279: (s - 256, 7)
    default: (0xC0 + s - 280, 8)
    }
    return DeflateCode(bits: reversed(code, count), count: count)
  }

  /// Copy lengths 3…258: each length's symbol 257…285 is the last whose base is ≤ it, followed by
  /// (length − base) in the symbol's extra bits.
  static let lengthBase = [3, 4, 5, 6, 7, 8, 9, 10, 11, 13, 15, 17, 19, 23, 27, 31, 35, 43, 51, 59, 67, 83, 99, 115, 131, 163, 195, 227, 258]
  static let lengthExtra = [0, 0, 0, 0, 0, 0, 0, 0, 1, 1, 1, 1, 2, 2, 2, 2, 3, 3, 3, 3, 4, 4, 4, 4, 5, 5, 5, 5, 0]
  /// Distances 1…32768: code 0…29 (5 bits) is the last whose base is ≤ it, then the extra bits.
  static let distanceBase = [1, 2, 3, 4, 5, 7, 9, 13, 17, 25, 33, 49, 65, 97, 129, 193, 257, 385, 513, 769, 1025, 1537, 2049, 3073,
                             4097, 6145, 8193, 12289, 16385, 24577]
  static let distanceExtra = [0, 0, 0, 0, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 7, 7, 8, 8, 9, 9, 10, 10, 11, 11, 12, 12, 13, 13]

  /// The code for copy length `length` (3…258), extra bits included.
  static func length(_ length: Int) -> DeflateCode {
    let i = lengthBase.lastIndex { $0 <= length }!
    let code = symbol(257 + i)
    return DeflateCode(bits: code.bits | UInt32(length - lengthBase[i]) << UInt32(code.count), count: code.count + lengthExtra[i])
  }

  /// The code for distance `distance` (1…32768), extra bits included.
  static func distance(_ distance: Int) -> DeflateCode {
    let i = distanceBase.lastIndex { $0 <= distance }!
    return DeflateCode(bits: reversed(i, 5) | UInt32(distance - distanceBase[i]) << 5, count: 5 + distanceExtra[i])
  }

  /// Every literal/length symbol's code, by symbol.
  static let literals = (0...287).map(symbol)
  /// Every copy length's code, by length (entries 0…2 unused).
  static let lengths = (0...258).map { $0 < 3 ? DeflateCode(bits: 0, count: 0) : length($0) }
}

/// Writes deflate's bits, least significant first, into a buffer with room for all of them.
struct BitWriter {
  let base: UnsafeMutablePointer<UInt8>
  /// Whole bytes written so far.
  var count = 0
  var pending: UInt64 = 0
  var filled = 0
  let literals = Deflate.literals, lengths = Deflate.lengths

  init(_ base: UnsafeMutablePointer<UInt8>) { self.base = base }

  /// Appends the low `n` bits of `bits` (n ≤ 32).
  @inline(__always) mutating func put(_ bits: UInt32, _ n: Int) {
    pending |= UInt64(bits) << UInt64(filled)
    filled += n
    if filled >= 32 {
      UnsafeMutableRawPointer(base + count).storeBytes(of: UInt32(truncatingIfNeeded: pending).littleEndian, as: UInt32.self)
      count += 4
      pending >>= 32
      filled -= 32
    }
  }

  /// Literal/length symbol `s` (a byte 0…255, or 256 to end the block).
  @inline(__always) mutating func literal<T: BinaryInteger>(_ s: T) {
    let code = literals[Int(s)]
    put(code.bits, code.count)
  }

  /// A copy of `length` bytes (≥ 3) from `distance` back, as copies of at most 258 bytes, none
  /// shorter than 3.
  @inline(__always) mutating func copy(_ length: Int, _ distance: DeflateCode) {
    var left = length
    while left > 0 {
      let piece = left <= 258 ? left : (left - 258 < 3 ? left - 3 : 258)
      let code = lengths[piece]
      put(code.bits, code.count)
      put(distance.bits, distance.count)
      left -= piece
    }
  }

  /// Pads with zero bits to the next byte boundary and writes out what is pending.
  mutating func alignToByte() {
    while filled > 0 {
      base[count] = UInt8(truncatingIfNeeded: pending)
      count += 1
      pending >>= 8
      filled -= 8
    }
    pending = 0
    filled = 0
  }

  /// Appends a whole byte (only on a byte boundary).
  mutating func byte(_ b: UInt8) {
    base[count] = b
    count += 1
  }
}
