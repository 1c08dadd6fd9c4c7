import CShims
import Glibc

/// A QEMU process known through its pid file. QEMU holds a lock on that file for as long as
/// it runs, so a stale file or a reused pid never passes for a live VM.
struct QEMUProcess {
    let pid: pid_t
    /// Start time in clock ticks since boot, from /proc/PID/stat: pid and start time together
    /// name one process even if the pid is reused later.
    let startTime: UInt64

    /// The process named by a pid file whose lock is still held, or nil.
    static func fromPIDFile(_ path: String) -> QEMUProcess? {
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        guard vmi_first_byte_locked(fd) == 1 else { return nil }
        var bytes = [UInt8](repeating: 0, count: 32)
        let n = read(fd, &bytes, bytes.count)
        guard n > 0, let pid = pid_t(String(decoding: bytes[0..<n], as: UTF8.self).filter(\.isNumber)),
            pid > 1, let stat = ProcStat.read(pid), !stat.isZombie
        else { return nil }
        return QEMUProcess(pid: pid, startTime: stat.startTime)
    }

    /// True once the process has exited: gone from /proc, a zombie, or its pid reused.
    /// (A zombie still answers kill(pid, 0), so that is not used.)
    var hasEnded: Bool {
        guard let stat = ProcStat.read(pid) else { return true }
        return stat.isZombie || stat.startTime != startTime
    }

    func waitForEnd(deadline: Deadline) -> Bool {
        while !hasEnded {
            if deadline.hasPassed { return false }
            usleep(10_000)
        }
        return true
    }

    /// SIGTERM, then SIGKILL if it has not ended by the deadline.
    func terminate(deadline: Deadline) {
        if hasEnded { return }
        kill(pid, SIGTERM)
        if waitForEnd(deadline: deadline) { return }
        if !hasEnded { kill(pid, SIGKILL) }
        _ = waitForEnd(deadline: .after(seconds: 5))
    }
}

/// The fields of /proc/PID/stat that tell whether a process lives and which one it is.
struct ProcStat {
    let state: Character
    let startTime: UInt64

    var isZombie: Bool { state == "Z" || state == "X" }

    static func read(_ pid: pid_t) -> ProcStat? {
        guard let text = try? FileIO.readString("/proc/\(pid)/stat", limit: 4096),
            let close = text.lastIndex(of: ")")
        else { return nil }
        // Fields after the command name, which may itself hold spaces and parentheses.
        let fields = text[text.index(after: close)...].split(separator: " ")
        guard fields.count > 19, let state = fields[0].first, let start = UInt64(fields[19]) else { return nil }
        return ProcStat(state: state, startTime: start)
    }
}
