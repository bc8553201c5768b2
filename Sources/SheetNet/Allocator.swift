/// Process-wide memory settings for training loops.
public enum Allocator {
  #if os(Linux)
  /// glibc's mallopt(3); malloc.h is not part of Swift's Glibc module.
  @_silgen_name("mallopt") private static func mallopt(_ parameter: Int32, _ value: Int32) -> Int32
  /// glibc's M_TRIM_THRESHOLD and M_MMAP_THRESHOLD (malloc.h).
  private static let trimThreshold: Int32 = -1, mmapThreshold: Int32 = -3
  #endif

  /// Asks glibc to keep freed memory instead of returning it to the system after every step.
  ///
  /// A convolution step frees and reallocates buffers of a megabyte or more; by default glibc
  /// unmaps each one and the next step faults every page back in (about 188,000 page faults for
  /// a short CNN run, halving its speed). Raising the trim and mmap thresholds keeps them.
  /// Numbers are unaffected. Call once at start-up; a no-op elsewhere than Linux.
  public static func keepFreedMemory() {
    #if os(Linux)
    _ = mallopt(mmapThreshold, 256 << 20)
    _ = mallopt(trimThreshold, 512 << 20)
    #endif
  }
}
