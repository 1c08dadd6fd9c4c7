import Glibc
import VMInstallKit

/// When a job's log wrote its first line containing `text`, in milliseconds since the epoch:
/// the log stamps each line to the millisecond (`2026-11-25T14:53:27.123Z ...`), so phases are
/// timed by the job's own clock, whenever the test happens to look.
func logTime(_ logPath: String, _ text: String) -> Int64? {
    guard let log = try? FileIO.readString(logPath, limit: 16 << 20),
        let line = log.split(separator: "\n").first(where: { $0.contains(text) })
    else { return nil }
    let fields = line.prefix(23).split(whereSeparator: { "-T:.".contains($0) }).compactMap { Int32($0) }
    guard fields.count == 7 else { return nil }
    var t = tm()
    t.tm_year = fields[0] - 1900
    t.tm_mon = fields[1] - 1
    t.tm_mday = fields[2]
    t.tm_hour = fields[3]
    t.tm_min = fields[4]
    t.tm_sec = fields[5]
    return Int64(timegm(&t)) * 1000 + Int64(fields[6])
}

/// Now, in milliseconds since the epoch: the clock of the job logs' stamps.
func nowMilliseconds() -> Int64 {
    var ts = timespec()
    clock_gettime(CLOCK_REALTIME, &ts)
    return Int64(ts.tv_sec) * 1000 + Int64(ts.tv_nsec / 1_000_000)
}
