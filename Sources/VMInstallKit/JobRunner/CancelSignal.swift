import Glibc

/// Cancellation of a running job: SIGTERM (vm-install-jobs --cancel), SIGINT (Ctrl-C in the
/// foreground) or SIGHUP, seen through a `SignalPipe`, so every wait in the runner can be a
/// poll(2) that wakes on cancellation as well as on what it waits for.
public final class CancelSignal: @unchecked Sendable {
    private let pipe: SignalPipe
    public var fd: Int32 { pipe.fd }
    private var requested = false

    /// Installs the handlers; call once, early.
    public init() throws(VMInstallError) {
        pipe = try SignalPipe([SIGTERM, SIGINT, SIGHUP])
    }

    /// True once a cancelling signal has arrived.
    public var isRequested: Bool {
        if !requested {
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            if poll(&pfd, 1, 0) > 0 { requested = true }
        }
        return requested
    }

    public func check() throws(VMInstallError) {
        if isRequested { throw VMInstallError(.canceled, "the job was canceled") }
    }

    public enum WaitResult: Equatable {
        case ready
        case canceled
        case timedOut
    }

    /// Waits until `other` is readable (or hung up), a cancel arrives, or the deadline passes.
    public func wait(for other: Int32?, until deadline: Deadline) -> WaitResult {
        while true {
            if isRequested { return .canceled }
            let remaining = deadline.remainingMilliseconds
            if remaining == 0 { return .timedOut }
            var fds = [pollfd(fd: fd, events: Int16(POLLIN), revents: 0)]
            if let other { fds.append(pollfd(fd: other, events: Int16(POLLIN), revents: 0)) }
            let n = poll(&fds, nfds_t(fds.count), Int32(clamping: remaining))
            if n < 0 && errno == EINTR { continue }
            if fds[0].revents != 0 {
                requested = true
                return .canceled
            }
            if fds.count > 1 && fds[1].revents != 0 { return .ready }
        }
    }
}
