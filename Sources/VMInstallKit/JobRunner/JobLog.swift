import Glibc

/// The job's log: timestamped lines appended to the job's log file, and echoed to stderr
/// when a person is watching a foreground run.
public struct JobLog: Sendable {
    let path: String?
    let echo: Bool

    /// A person at a terminal is watching: progress may redraw a status line.
    public var interactive: Bool { echo && isatty(2) == 1 }

    public init(path: String?, echoToStderr: Bool) {
        self.path = path
        self.echo = echoToStderr
    }

    /// Progress that is not worth a log line: on a terminal, one status line redrawn in
    /// place (cleared by the next `write`); elsewhere nothing, since plain lines suffice.
    public func status(_ message: String) {
        guard interactive else { return }
        _ = "\r\u{1B}[2Kvm-install: \(message)".withCString { Glibc.write(2, $0, strlen($0)) }
    }

    public func write(_ message: String) {
        // To the millisecond: the log is also where the phases are timed.
        let stamp = Timestamp.nowMilliseconds()
        let line = "\(stamp) \(message)\n"
        if let path {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 {
                _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        if echo {
            if interactive { _ = "\r\u{1B}[2K".withCString { Glibc.write(2, $0, strlen($0)) } }
            _ = "vm-install: \(message)\n".withCString { Glibc.write(2, $0, strlen($0)) }
        }
    }
}
