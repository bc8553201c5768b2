import CCairo

/// The output kinds a figure can be written as.
public enum ImageFormat: String, CaseIterable, Sendable {
  /// A bitmap; `scale` pixels per point.
  case png
  /// Scalable vector graphics (SVG 1.1), for web pages and editing.
  case svg
  /// Portable document format, for print and LaTeX.
  case pdf
}

/// Bytes collected from a Cairo stream (SVG, PDF or PNG output), kept in memory until written.
final class ByteSink {
  var bytes: [UInt8] = []
}

/// The C callback that appends what Cairo writes to a `ByteSink`.
private let appendToSink: cairo_write_func_t = { closure, data, length in
  guard let closure, let data else { return CAIRO_STATUS_WRITE_ERROR }
  let sink = Unmanaged<ByteSink>.fromOpaque(closure).takeUnretainedValue()
  sink.bytes.append(contentsOf: UnsafeBufferPointer(start: data, count: Int(length)))
  return CAIRO_STATUS_SUCCESS
}

/// A Cairo surface: an ARGB image in memory, or an SVG or PDF document streamed into memory.
/// Owns its `cairo_surface_t` and destroys it in `deinit`.
public final class Surface {
  /// The C surface (valid for the object's lifetime).
  let pointer: OpaquePointer
  /// The format it produces.
  public let format: ImageFormat
  /// Its size in points (pixels for an image surface).
  public let width: Double, height: Double
  /// Where a document streams its bytes (held here so it outlives the C surface's writes).
  private let sink: ByteSink?
  private var finished = false

  /// Takes ownership of `pointer`, destroying it at once when Cairo reports an error.
  private init(_ pointer: OpaquePointer, format: ImageFormat, width: Double, height: Double, sink: ByteSink?,
               operation: @autoclosure () -> String) throws(CairoError) {
    let status = cairo_surface_status(pointer)
    guard status == CAIRO_STATUS_SUCCESS else {
      cairo_surface_destroy(pointer)
      throw CairoError.failure(status, operation())
    }
    self.pointer = pointer
    self.format = format
    self.width = width
    self.height = height
    self.sink = sink
  }

  deinit { cairo_surface_destroy(pointer) }

  /// An ARGB32 image of `width` × `height` pixels, transparent.
  public static func image(width: Int, height: Int) throws(CairoError) -> Surface {
    guard width > 0, height > 0, width <= 32767, height <= 32767 else {
      throw .invalidSize("an image must be 1 to 32767 pixels on each side, not \(width)×\(height); lower --scale")
    }
    return try Surface(cairo_image_surface_create(CAIRO_FORMAT_ARGB32, Int32(width), Int32(height)), format: .png,
                       width: Double(width), height: Double(height), sink: nil, operation: "creating a \(width)×\(height) image")
  }

  /// A vector document (SVG or PDF) of `width` × `height` points, written into memory.
  public static func document(_ format: ImageFormat, width: Double, height: Double) throws(CairoError) -> Surface {
    precondition(format != .png, "use Surface.image for PNG")
    guard width > 0, height > 0, width <= 14400, height <= 14400 else {
      throw .invalidSize("a page must be between 0 and 14400 pt on each side, not \(width)×\(height) pt")
    }
    let sink = ByteSink()
    let closure = Unmanaged.passUnretained(sink).toOpaque()
    let raw: OpaquePointer = format == .svg
      ? cairo_svg_surface_create_for_stream(appendToSink, closure, width, height)
      : cairo_pdf_surface_create_for_stream(appendToSink, closure, width, height)
    let surface = try Surface(raw, format: format, width: width, height: height, sink: sink,
                              operation: "creating a \(format.rawValue) document")
    if format == .pdf {
      // Cairo 1.16 stamps a CreationDate from the clock; an empty date makes it write none, so
      // the same figure gives the same bytes.
      cairo_pdf_surface_set_metadata(raw, CAIRO_PDF_METADATA_CREATE_DATE, "")
      try CairoError.check(cairo_surface_status(raw), "setting the PDF metadata")
    }
    return surface
  }

  /// Finishes the document (flushing every page to the stream) and returns its bytes.
  public func documentBytes() throws(CairoError) -> [UInt8] {
    precondition(format != .png, "use pngBytes() for an image surface")
    if !finished {
      cairo_surface_finish(pointer)
      finished = true
    }
    try CairoError.check(cairo_surface_status(pointer), "finishing the \(format.rawValue) document")
    return sink?.bytes ?? []
  }

  /// The image encoded as PNG by CairoKit's own encoder (see `PNGEncoder`); with
  /// `pixelsPerPoint`, its resolution is recorded (pHYs: pixelsPerPoint × 72 dpi).
  public func pngBytes(pixelsPerPoint: Double? = nil) throws(CairoError) -> [UInt8] {
    precondition(format == .png, "pngBytes() needs an image surface")
    return try PNGEncoder.encode(self, pixelsPerPoint: pixelsPerPoint)
  }

  /// The image encoded as PNG by Cairo (libpng), for comparison: the same pixels, other bytes.
  public func cairoPNGBytes() throws(CairoError) -> [UInt8] {
    precondition(format == .png, "cairoPNGBytes() needs an image surface")
    cairo_surface_flush(pointer)
    try CairoError.check(cairo_surface_status(pointer), "flushing the image")
    let sink = ByteSink()
    let status = cairo_surface_write_to_png_stream(pointer, appendToSink, Unmanaged.passUnretained(sink).toOpaque())
    try CairoError.check(status, "encoding the PNG")
    return sink.bytes
  }

  /// The pixels of an image surface as straight-alpha RGBA bytes, row by row (for tests and
  /// comparisons).
  public func rgbaPixels() throws(CairoError) -> (width: Int, height: Int, rgba: [UInt8]) {
    precondition(format == .png, "rgbaPixels() needs an image surface")
    cairo_surface_flush(pointer)
    try CairoError.check(cairo_surface_status(pointer), "flushing the image")
    let w = Int(cairo_image_surface_get_width(pointer)), h = Int(cairo_image_surface_get_height(pointer))
    let stride = Int(cairo_image_surface_get_stride(pointer))
    guard let data = cairo_image_surface_get_data(pointer) else {
      throw .status(operation: "reading the image", code: -1, message: "no pixel data")
    }
    var out = [UInt8](repeating: 0, count: w * h * 4)
    for y in 0..<h {
      for x in 0..<w {
        let argb = UnsafeRawPointer(data + y * stride + x * 4).loadUnaligned(as: UInt32.self)
        let a = (argb >> 24) & 0xFF
        func straight(_ c: UInt32) -> UInt8 { a == 0 ? 0 : UInt8(min(255, (c * 255 + a / 2) / a)) }
        out[(y * w + x) * 4 + 0] = straight((argb >> 16) & 0xFF)
        out[(y * w + x) * 4 + 1] = straight((argb >> 8) & 0xFF)
        out[(y * w + x) * 4 + 2] = straight(argb & 0xFF)
        out[(y * w + x) * 4 + 3] = UInt8(a)
      }
    }
    return (w, h, out)
  }
}

/// The reading side of a byte stream for `cairo_image_surface_create_from_png_stream`.
private final class ByteSource {
  let bytes: [UInt8]
  var offset = 0
  init(_ bytes: [UInt8]) { self.bytes = bytes }
}

/// The C callback that hands Cairo the next `length` bytes of a `ByteSource`.
private let readFromSource: cairo_read_func_t = { closure, data, length in
  guard let closure, let data else { return CAIRO_STATUS_READ_ERROR }
  let source = Unmanaged<ByteSource>.fromOpaque(closure).takeUnretainedValue()
  let n = Int(length)
  guard source.offset + n <= source.bytes.count else { return CAIRO_STATUS_READ_ERROR }
  source.bytes.withUnsafeBufferPointer { data.update(from: $0.baseAddress! + source.offset, count: n) }
  source.offset += n
  return CAIRO_STATUS_SUCCESS
}

extension Surface {
  /// An image surface decoded from PNG bytes (reference images in tests).
  public static func png(_ bytes: [UInt8]) throws(CairoError) -> Surface {
    let source = ByteSource(bytes)
    let raw = cairo_image_surface_create_from_png_stream(readFromSource, Unmanaged.passUnretained(source).toOpaque())!
    return try Surface(decoded: raw)
  }

  /// Takes ownership of a decoded image surface.
  private convenience init(decoded raw: OpaquePointer) throws(CairoError) {
    try self.init(raw, format: .png, width: Double(cairo_image_surface_get_width(raw)),
                  height: Double(cairo_image_surface_get_height(raw)), sink: nil, operation: "decoding a PNG")
  }
}
