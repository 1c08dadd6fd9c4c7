import Glibc

/// A point in monotonic time.
public struct Deadline: Sendable {
    let nanoseconds: UInt64

    public static func after(seconds: Double) -> Deadline {
        let clamped = min(max(seconds, 0), 1e9)
        return Deadline(nanoseconds: now() &+ UInt64(clamped * 1e9))
    }

    public static var never: Deadline { Deadline(nanoseconds: UInt64.max) }

    static func now() -> UInt64 {
        var ts = timespec()
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return UInt64(ts.tv_sec) * 1_000_000_000 + UInt64(ts.tv_nsec)
    }

    public var hasPassed: Bool { remainingMilliseconds == 0 }

    /// Milliseconds left, rounded up, capped at a day so that poll's argument fits.
    public var remainingMilliseconds: Int {
        let current = Deadline.now()
        guard nanoseconds > current else { return 0 }
        return Int(min((nanoseconds - current + 999_999) / 1_000_000, 86_400_000))
    }
}
