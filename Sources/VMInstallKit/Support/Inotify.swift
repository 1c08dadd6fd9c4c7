import Glibc

/// An inotify(7) instance: watches, and the events read from it. Waiting is poll(2) on
/// `fd`, so nothing here spins.
///
/// A user has only fs.inotify.max_user_instances of them (128 by default), and a batch's
/// waiting runners may hold them all. `orPolling()` then gives an instance that polls: `fd`
/// is -1, `watch` only checks that the path exists, `drain` has no events, and
/// `waitReadable` wakes every `pollMilliseconds`, so its user looks again as often.
public final class Inotify {
    public struct Event: Sendable {
        public let watch: Int32
        public let mask: UInt32
        public let name: String
    }

    public let fd: Int32
    public var isPolling: Bool { fd < 0 }
    public static let pollMilliseconds = 250
    private var pollingWatches: Int32 = 0

    public convenience init() throws(VMInstallError) {
        let fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0 else {
            throw VMInstallError(.requestFailed, "cannot start inotify: \(String(cString: strerror(errno)))")
        }
        self.init(fd: fd)
    }

    private init(fd: Int32) { self.fd = fd }

    /// An instance if one can be had, else one that polls.
    public static func orPolling() -> Inotify { (try? Inotify()) ?? Inotify(fd: -1) }

    deinit { if fd >= 0 { close(fd) } }

    /// Adds a watch; nil when the path is gone (the caller decides whether that matters).
    @discardableResult
    public func watch(_ path: String, _ mask: UInt32) -> Int32? {
        if isPolling {
            guard access(path, F_OK) == 0 else { return nil }
            pollingWatches += 1
            return pollingWatches
        }
        let wd = inotify_add_watch(fd, path, mask)
        return wd >= 0 ? wd : nil
    }

    public func remove(_ watch: Int32) {
        if !isPolling { inotify_rm_watch(fd, watch) }
    }

    /// Every event queued now, without waiting.
    public func drain() -> [Event] {
        if isPolling { return [] }
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
/// A polling inotify's -1 among them wakes it every `Inotify.pollMilliseconds`.
public func waitReadable(_ fds: [Int32], until deadline: Deadline) -> [Int] {
    var pfds = fds.map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
    let polling = fds.contains { $0 < 0 }
    while true {
        let remaining = deadline.remainingMilliseconds
        let timeout = polling ? min(remaining, Inotify.pollMilliseconds) : remaining
        let n = poll(&pfds, nfds_t(pfds.count), Int32(clamping: timeout))
        if n < 0 && errno == EINTR { continue }
        return pfds.indices.filter { pfds[$0].revents != 0 }
    }
}
