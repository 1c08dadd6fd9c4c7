import Glibc

public enum Timestamp {
    /// UTC, to the second: 2026-11-25T14:53:27Z.
    public static func iso8601(seconds: Int64) -> String {
        let parts = fields(seconds, local: false)
        return "\(pad(parts.tm_year + 1900, 4))-\(pad(parts.tm_mon + 1))-\(pad(parts.tm_mday))"
            + "T\(pad(parts.tm_hour)):\(pad(parts.tm_min)):\(pad(parts.tm_sec))Z"
    }

    /// Now, UTC, to the millisecond, for event streams.
    public static func nowMilliseconds() -> String {
        var ts = timespec()
        clock_gettime(CLOCK_REALTIME, &ts)
        let base = iso8601(seconds: Int64(ts.tv_sec))
        return String(base.dropLast()) + "." + pad(Int32(ts.tv_nsec / 1_000_000), 3) + "Z"
    }

    /// Local time, to the second, for file names: 20261125-145327.
    public static func compactLocal(seconds: Int64) -> String {
        let parts = fields(seconds, local: true)
        return "\(pad(parts.tm_year + 1900, 4))\(pad(parts.tm_mon + 1))\(pad(parts.tm_mday))"
            + "-\(pad(parts.tm_hour))\(pad(parts.tm_min))\(pad(parts.tm_sec))"
    }

    /// The calendar fields of a time, in UTC or local time. Years 1970 to 9999 only: a
    /// damaged record must not overflow the formatting.
    private static func fields(_ seconds: Int64, local: Bool) -> tm {
        var t = time_t(min(max(seconds, 0), 253_402_300_799))
        var parts = tm()
        if local { localtime_r(&t, &parts) } else { gmtime_r(&t, &parts) }
        return parts
    }

    static func pad(_ n: Int32, _ width: Int = 2) -> String {
        let s = String(n)
        return String(repeating: "0", count: max(0, width - s.count)) + s
    }
}
