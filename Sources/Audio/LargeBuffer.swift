import Foundation

/// Allocation of large Float arrays (hundreds of MB for hour-long audio and its spectrogram).
enum LargeBuffer {
    /// An array of `count` floats whose every element `fill` must initialise. Large arrays are
    /// advised to use transparent huge pages where the kernel allows it, which cuts the cost of
    /// first-touch page faults (otherwise a sizeable part of a one-hour spectrogram).
    static func floats(_ count: Int, fill: (UnsafeMutablePointer<Float>) -> Void) -> [Float] {
        [Float](unsafeUninitializedCapacity: count) { buffer, initialized in
            if let base = buffer.baseAddress, count > 0 {
                adviseHugePages(UnsafeMutableRawPointer(base), byteCount: count * MemoryLayout<Float>.stride)
                fill(base)
            }
            initialized = count
        }
    }

    private static let hugePage = 2 << 20

    static func adviseHugePages(_ pointer: UnsafeMutableRawPointer, byteCount: Int) {
        #if os(Linux)
        guard byteCount >= 4 * hugePage else { return }
        let start = (Int(bitPattern: pointer) + hugePage - 1) & ~(hugePage - 1)
        let end = (Int(bitPattern: pointer) + byteCount) & ~(hugePage - 1)
        guard end > start, let aligned = UnsafeMutableRawPointer(bitPattern: start) else { return }
        _ = madvise(aligned, end - start, MADV_HUGEPAGE)
        #endif
    }
}
