import Glibc

/// `--log ID [--follow]`: copies the job's log to a descriptor; following, keeps copying
/// what is appended until the job has ended, woken by inotify, never by a timer.
public struct LogFollower {
    let control: JobControl

    public init(control: JobControl) {
        self.control = control
    }

    public func copy(_ id: JobID, follow: Bool, to output: Int32) throws(VMInstallError) {
        let paths = control.store.paths(id)
        let inotify = Inotify.orPolling()
        if follow {
            inotify.watch(paths.log, UInt32(IN_MODIFY | IN_CLOSE_WRITE))
            inotify.watch(paths.inotify, UInt32(IN_CLOSE_WRITE | IN_DELETE_SELF))
            inotify.watch(paths.runnerLock, UInt32(IN_CLOSE_WRITE))
        }
        // Until the job has ended and its runner is gone: the runner writes its last lines
        // after recording the end.
        var status = try control.status(id)
        let fd = open(paths.log, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else {
            throw VMInstallError(
                .damagedJob, "cannot read the log of job \(id) (\(paths.log)): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        while true {
            try copyAvailable(from: fd, to: output)
            if !follow || (status.state.isTerminal && status.pid == nil) { return }
            _ = waitReadable([inotify.fd], until: .never)
            _ = inotify.drain()
            do { status = try control.status(id) } catch  where error.kind == .noSuchJob {
                throw VMInstallError(.noSuchJob, "job \(id) was deleted while its log was followed")
            }
        }
    }

    private func copyAvailable(from fd: Int32, to output: Int32) throws(VMInstallError) {
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            if n <= 0 { return }
            var offset = 0
            while offset < n {
                let w = buffer[offset..<n].withUnsafeBytes { write(output, $0.baseAddress, $0.count) }
                if w < 0 {
                    if errno == EINTR { continue }
                    throw VMInstallError(.requestFailed, "cannot write the log: \(String(cString: strerror(errno)))")
                }
                offset += w
            }
        }
    }
}
