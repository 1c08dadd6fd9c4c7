import Glibc

/// An inotify(7) instance: watches, and the events read from it. Waiting is poll(2) on
/// `fd`, so nothing here spins.
public final class Inotify {
    public struct Event: Sendable {
        public let watch: Int32
        public let mask: UInt32
        public let name: String
    }

    public let fd: Int32

    public init() throws(VMInstallError) {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            throw VMInstallError(.requestFailed, "cannot start inotify: \(String(cString: strerror(errno)))")
        }
    }

    deinit { close(fd) }

    /// Adds a watch; nil when the path is gone (the caller decides whether that matters).
    @discardableResult
    public func watch(_ path: String, _ mask: UInt32) -> Int32? {
        let wd = inotify_add_watch(fd, path, mask)
        return wd >= 0 ? wd : nil
    }

    public func remove(_ watch: Int32) {
        inotify_rm_watch(fd, watch)
    }

    /// Every event queued now, without waiting.
    public func drain() -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 16 * 1024)
        while true {
            let n = read(fd, &buffer, buffer.count)
            guard n > 0 else { return events }
            var offset = 0
            while offset + 16 <= n {
                let (wd, mask, length) = buffer.withUnsafeBytes { raw in
                    (
                        raw.loadUnaligned(fromByteOffset: offset, as: Int32.self),
                        raw.loadUnaligned(fromByteOffset: offset + 4, as: UInt32.self),
                        Int(raw.loadUnaligned(fromByteOffset: offset + 12, as: UInt32.self))
                    )
                }
                let nameBytes = buffer[(offset + 16)..<min(offset + 16 + length, n)].prefix { $0 != 0 }
                events.append(Event(watch: wd, mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
                offset += 16 + length
            }
        }
    }
}

/// Waits until one of `fds` is readable or the deadline passes; the indexes that are ready.
public func waitReadable(_ fds: [Int32], until deadline: Deadline) -> [Int] {
    var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    while true {
        let n = poll(&pfds, nfds_t(pfds.count), Int32(clamping: deadline.remainingMilliseconds))
        if n < 0 && errno == EINTR { continue }
        return pfds.indices.filter { pfds[$0].revents != 0 }
    }
}
