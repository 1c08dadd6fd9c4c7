import Glibc

/// The job's log: timestamped lines appended to the job's log file, and echoed to stderr
/// when a person is watching a foreground run.
public struct JobLog: Sendable {
    let path: String?
    let echo: Bool

    public init(path: String?, echoToStderr: Bool) {
        self.path = path
        self.echo = echoToStderr
    }

    public func write(_ message: String) {
        let stamp = Timestamp.iso8601(seconds: Int64(time(nil)))
        let line = "\(stamp) \(message)\n"
        if let path {
            let fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 {
                _ = line.withCString { Glibc.write(fd, $0, strlen($0)) }
                close(fd)
            }
        }
        if echo {
            _ = "vm-install: \(message)\n".withCString { Glibc.write(2, $0, strlen($0)) }
        }
    }
}
