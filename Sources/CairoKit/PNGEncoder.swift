import CCairo
import Dispatch
import Glibc

/// A PNG encoder for Cairo image surfaces, faster than `cairo_surface_write_to_png`.
///
/// Pixels are un-premultiplied from Cairo's ARGB32 into 8-bit RGB (RGBA when any pixel is not
/// opaque), every row with filter None, and compressed by CairoKit's own deflate writer
/// (`compressBand`): a figure is flat colour, repeated rows and images scaled up by whole
/// pixels, so copies of the pixel on the left or the row above, found by direct comparison, say
/// almost all of it, and the fixed Huffman codes write them. On a 1920×1080 figure this takes a
/// few milliseconds, a small fraction of libpng's time (adaptive filters, zlib level 6), for a
/// file about 1.7× what zlib's level 6 makes of the same rows: speed over size. zlib is used
/// only for its checksums. The same pixels always give the same bytes.
enum PNGEncoder {
  /// The PNG file for `surface` (an image surface). With `pixelsPerPoint`, a pHYs chunk records
  /// the resolution: pixels per metre = pixelsPerPoint × 72 / 0.0254 (2 → 144 dpi, 300/72 → 300 dpi),
  /// so a word processor places the image at its size in points.
  static func encode(_ surface: Surface, pixelsPerPoint: Double? = nil) throws(CairoError) -> [UInt8] {
    let s = surface.pointer
    cairo_surface_flush(s)
    try CairoError.check(cairo_surface_status(s), "flushing the image")
    guard cairo_image_surface_get_format(s) == CAIRO_FORMAT_ARGB32, let data = cairo_image_surface_get_data(s) else {
      throw .status(operation: "encoding the PNG", code: -1, message: "not an ARGB32 image surface")
    }
    let width = Int(cairo_image_surface_get_width(s)), height = Int(cairo_image_surface_get_height(s))
    let stride = Int(cairo_image_surface_get_stride(s))
    // Figures sit on white paper, so RGB; RGBA only when a pixel is not opaque, which the RGB
    // attempt finds on its way (and gives up).
    var opaque = true
    var idat = compressed(data, width: width, height: height, stride: stride, alpha: false)
    if idat == nil {
      opaque = false
      idat = compressed(data, width: width, height: height, stride: stride, alpha: true)
    }
    var png: [UInt8] = [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]
    var header: [UInt8] = []
    header += bigEndian(UInt32(width))
    header += bigEndian(UInt32(height))
    header += [8, opaque ? 2 : 6, 0, 0, 0]  // 8 bits, RGB or RGBA, deflate, adaptive filtering, no interlace
    chunk("IHDR", header, into: &png)
    if let pixelsPerPoint {
      let perMetre = UInt32((pixelsPerPoint * 72 / 0.0254).rounded())
      chunk("pHYs", bigEndian(perMetre) + bigEndian(perMetre) + [1], into: &png)  // unit 1: the metre
    }
    chunk("IDAT", idat!, into: &png)
    chunk("IEND", [], into: &png)
    return png
  }

  /// Rows are compressed in this many bands, side by side on the CPU's cores. The count is
  /// fixed, so the file is the same bytes on any machine.
  static let bands = 4

  /// The zlib stream of the rows: a two-byte header, each band's deflate blocks (`compressBand`,
  /// all but the last ending on a byte boundary with an empty stored block), then the Adler-32 of
  /// all the uncompressed bytes; nil when RGB was asked for and a pixel is not opaque. Deflate's
  /// window is the uncompressed data, whichever block made it, so a band's first row can copy
  /// from the last row of the band before: the bands cost nothing in size and run in parallel.
  static func compressed(_ data: UnsafeMutablePointer<UInt8>, width: Int, height: Int, stride: Int, alpha: Bool) -> [UInt8]? {
    let count = min(bands, max(height, 1))
    let rowBytes = 1 + width * (alpha ? 4 : 3)
    nonisolated(unsafe) var parts = [(bytes: [UInt8], adler: UInt)?](repeating: nil, count: count)
    let address = UInt(bitPattern: data)
    parts.withUnsafeMutableBufferPointer { out in
      nonisolated(unsafe) let out = out
      DispatchQueue.concurrentPerform(iterations: count) { band in
        let rows = height * band / count..<height * (band + 1) / count
        let pixels = UnsafeMutablePointer<UInt8>(bitPattern: address)!
        out[band] = compressBand(pixels, rows: rows, width: width, stride: stride, alpha: alpha, last: band == count - 1)
      }
    }
    let done = parts.compactMap { $0 }
    guard done.count == count else { return nil }
    var stream: [UInt8] = [0x78, 0x01]  // deflate, 32 KB window, fastest level, no dictionary
    stream.reserveCapacity(2 + done.reduce(0) { $0 + $1.bytes.count } + 4)
    var adler: UInt = 1
    for (band, part) in done.enumerated() {
      stream += part.bytes
      let rows = height * (band + 1) / count - height * band / count
      adler = adler32_combine(adler, part.adler, off_t(rows * rowBytes))
    }
    stream += bigEndian(UInt32(adler))
    return stream
  }

  /// One band of rows as one deflate block with the fixed Huffman codes (RFC 1951 §3.2.6), with
  /// the Adler-32 of its uncompressed bytes. Each row is its filter byte (0, None) then its
  /// un-premultiplied pixels. A row equal to the row above is a copy of it (distance = the row's
  /// bytes); otherwise, pixel by pixel, the longer of two runs becomes a copy: pixels equal to
  /// the ones above (at least two), or pixels repeating the one on their left (distance = one
  /// pixel); any other pixel is written as literal bytes. That finds what a figure is made of —
  /// flat backgrounds, repeated rows, images scaled up by whole pixels — with two comparisons per
  /// pixel, no hash table and no search.
  static func compressBand(_ data: UnsafeMutablePointer<UInt8>, rows: Range<Int>, width: Int, stride: Int, alpha: Bool,
                           last: Bool) -> (bytes: [UInt8], adler: UInt)? {
    let channels = alpha ? 4 : 3
    let rowBytes = 1 + width * channels
    let maxRun = 258 / channels  // deflate's longest copy, in whole pixels
    let up = rowBytes <= 32768  // deflate's window: a copy of the row above needs its distance to fit
    let bound = rows.count * (rowBytes * 9 / 8 + 8) + 64  // every byte a 9-bit literal, at worst
    let row = UnsafeMutablePointer<UInt8>.allocate(capacity: rowBytes + 1)  // + 1: see rowChecksum
    defer { row.deallocate() }
    var adler: UInt = 1
    var opaque = true
    let bytes = [UInt8](unsafeUninitializedCapacity: bound) { buffer, written in
      var out = BitWriter(buffer.baseAddress!)
      out.put(last ? 1 : 0, 1)  // BFINAL
      out.put(1, 2)  // BTYPE 01: fixed Huffman codes
      let pixelCopy = Deflate.distance(channels)
      let rowCopy = up ? Deflate.distance(rowBytes) : pixelCopy  // (unused when rows are too wide to copy)
      var rowAdler: UInt? = nil  // the Adler-32 of the row above, once this band has made one
      for y in rows {
        let p = UnsafeRawPointer(data + y * stride).assumingMemoryBound(to: UInt32.self)
        let above = up && y > 0 ? UnsafeRawPointer(data + (y - 1) * stride).assumingMemoryBound(to: UInt32.self) : nil
        if let above, memcmp(p, above, width * 4) == 0 {
          out.copy(rowBytes, rowCopy)
          if rowAdler == nil { (rowAdler, opaque) = rowChecksum(p, width: width, alpha: alpha, into: row) }
          if !alpha && !opaque { break }
          adler = adler32_combine(adler, rowAdler!, off_t(rowBytes))
          continue
        }
        (rowAdler, opaque) = rowChecksum(p, width: width, alpha: alpha, into: row)
        if !alpha && !opaque { break }
        adler = adler32_combine(adler, rowAdler!, off_t(rowBytes))
        out.literal(0)  // filter type None
        var x = 0
        while x < width {
          let limit = min(maxRun, width - x)
          let same = above.map { equalPrefix(p + x, $0 + x, limit) } ?? 0  // pixels equal to those above
          let run = x > 0 ? runLength(p + x, of: p[x - 1], limit) : 0  // pixels equal to the one on the left
          if run > 0 && run >= same {
            out.copy(run * channels, pixelCopy)
            x += run
          } else if same >= 2 {
            out.copy(same * channels, rowCopy)
            x += same
          } else {
            for c in 0..<channels { out.literal(row[1 + x * channels + c]) }
            x += 1
          }
        }
      }
      out.literal(256)  // end of block
      if !last {  // an empty stored block brings the stream to a byte boundary for the next band
        out.put(0, 3)
        out.alignToByte()
        for b: UInt8 in [0, 0, 0xFF, 0xFF] { out.byte(b) }
      }
      out.alignToByte()
      written = out.count
    }
    return alpha || opaque ? (bytes, adler) : nil
  }

  /// How many of the first `limit` pixels of `a` equal those of `b`, eight at a time.
  @inline(__always) static func equalPrefix(_ a: UnsafePointer<UInt32>, _ b: UnsafePointer<UInt32>, _ limit: Int) -> Int {
    var n = 0
    while n + 8 <= limit {
      let x = UnsafeRawPointer(a + n).loadUnaligned(as: SIMD8<UInt32>.self)
      let y = UnsafeRawPointer(b + n).loadUnaligned(as: SIMD8<UInt32>.self)
      if any(x .!= y) { break }
      n += 8
    }
    while n < limit && a[n] == b[n] { n += 1 }
    return n
  }

  /// How many of the first `limit` pixels of `a` equal `value`, eight at a time.
  @inline(__always) static func runLength(_ a: UnsafePointer<UInt32>, of value: UInt32, _ limit: Int) -> Int {
    var n = 0
    let v = SIMD8<UInt32>(repeating: value)
    while n + 8 <= limit {
      if any(UnsafeRawPointer(a + n).loadUnaligned(as: SIMD8<UInt32>.self) .!= v) { break }
      n += 8
    }
    while n < limit && a[n] == value { n += 1 }
    return n
  }

  /// Writes row `p` into `row` as the PNG stores it (filter byte 0, then RGB or RGBA, alpha
  /// undone) and returns the row's Adler-32 and whether all its pixels are opaque.
  static func rowChecksum(_ p: UnsafePointer<UInt32>, width: Int, alpha: Bool, into row: UnsafeMutablePointer<UInt8>) -> (UInt, Bool) {
    row[0] = 0
    let out = UnsafeMutableRawPointer(row + 1)
    var all: UInt32 = 0xFF00_0000
    for x in 0..<width {
      let argb = p[x]
      all &= argb
      let a = argb >> 24
      // Little-endian ARGB32 is the bytes B G R A; swapped and shifted, R G B (and A) in order.
      var rgba = argb.byteSwapped >> 8 | argb & 0xFF00_0000
      if a != 0xFF && a != 0 {
        let r = min(255, ((argb >> 16 & 0xFF) * 255 + a / 2) / a)
        let g = min(255, ((argb >> 8 & 0xFF) * 255 + a / 2) / a)
        let b = min(255, ((argb & 0xFF) * 255 + a / 2) / a)
        rgba = r | g << 8 | b << 16 | a << 24
      }
      // Four bytes stored, three kept for RGB: the next pixel overwrites the fourth (the row
      // buffer has a byte to spare at its end).
      out.storeBytes(of: rgba.littleEndian, toByteOffset: x * (alpha ? 4 : 3), as: UInt32.self)
    }
    let o = 1 + width * (alpha ? 4 : 3)
    return (adler32(1, row, UInt32(o)), all == 0xFF00_0000)
  }

  /// Appends a chunk: length, type, data, CRC-32 of type and data.
  static func chunk(_ type: String, _ data: [UInt8], into png: inout [UInt8]) {
    let name = Array(type.utf8)
    png += bigEndian(UInt32(data.count))
    png += name
    png += data
    // The CRC runs over the type then the data, continued from one to the other (no joined copy).
    let crc = data.withUnsafeBufferPointer { d in name.withUnsafeBufferPointer { n in
      crc32(crc32(0, n.baseAddress, UInt32(n.count)), d.baseAddress, UInt32(d.count))
    } }
    png += bigEndian(UInt32(crc))
  }

  static func bigEndian(_ v: UInt32) -> [UInt8] { [UInt8(v >> 24), UInt8((v >> 16) & 0xFF), UInt8((v >> 8) & 0xFF), UInt8(v & 0xFF)] }
}
