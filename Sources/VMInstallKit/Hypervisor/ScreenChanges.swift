/// Counts how often a VM's screen showed an image it had not shown lately, for a stall
/// check. A VGA text cursor blinks, so a still text screen alternates between two images:
/// the driver dumps the screen twice, 0.3 s apart (more than the blink's half period), and
/// images among the last eight do not count again.
struct ScreenChanges {
    private var recent: [Int] = []
    private(set) var count: UInt64 = 0

    /// One dump of the screen, in any image format.
    mutating func note(_ image: [UInt8]) {
        let hash = image.withUnsafeBytes { bytes in
            var hasher = Hasher()
            hasher.combine(bytes: bytes)
            return hasher.finalize()
        }
        guard !recent.contains(hash) else { return }
        recent = Array((recent + [hash]).suffix(8))
        count += 1
    }

    static let passes = 2
    static let pauseMicroseconds: UInt32 = 300_000
}
