import Glibc

/// A socket the job serves on a thread of its own (the answer server, the installer's
/// syslog): bound to an IPv4 address at a port the kernel picks, or a given one, and polled
/// with a pipe that `stop()` writes to, so the thread ends at once and is joined: nothing of
/// it is left once `stop()` returns.
final class ListeningThread: @unchecked Sendable {
    let fd: Int32
    let port: UInt16
    private let extra: [Int32]
    private var stopPipe: [Int32] = [-1, -1]
    private var thread = pthread_t()
    private var running = false
    private let ready: @Sendable (Int32, inout [Int32]) -> Void
    /// Sockets the handler added (accepted TCP connections), polled too; only touched on the thread.
    private var dynamic: [Int32] = []

    /// A socket of `type` (SOCK_STREAM, listening, or SOCK_DGRAM) on `address`:`port`; port 0:
    /// the kernel's choice. `also` are further sockets to poll (a TCP twin of a UDP port).
    static func bind(type: Int32, address: String, port: UInt16 = 0) throws(VMInstallError) -> (Int32, UInt16) {
        let s = socket(AF_INET, type | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard s >= 0 else { throw VMInstallError(.host, "cannot create a socket: \(String(cString: strerror(errno)))") }
        var one: Int32 = 1
        setsockopt(s, SOL_SOCKET, SO_REUSEADDR, &one, socklen_t(MemoryLayout<Int32>.size))
        var addr = sockaddr_in()
        addr.sin_family = sa_family_t(AF_INET)
        addr.sin_port = port.bigEndian
        guard inet_pton(AF_INET, address, &addr.sin_addr) == 1 else {
            close(s)
            throw VMInstallError(.internal, "not an IPv4 address: \(address)")
        }
        let bound = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.bind(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard bound == 0, type != Int32(SOCK_STREAM.rawValue) || listen(s, 16) == 0 else {
            let why = String(cString: strerror(errno))
            close(s)
            throw VMInstallError(.host, "cannot listen on \(address):\(port): \(why)")
        }
        var length = socklen_t(MemoryLayout<sockaddr_in>.size)
        _ = withUnsafeMutablePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) { getsockname(s, $0, &length) }
        }
        return (s, UInt16(bigEndian: addr.sin_port))
    }

    /// Starts polling `fd` (and `also`); `ready` runs on the thread for each readable one,
    /// and may add sockets to poll (and remove and close them); those left are closed at the end.
    init(fd: Int32, port: UInt16, also: [Int32] = [], ready: @escaping @Sendable (Int32, inout [Int32]) -> Void)
        throws(VMInstallError)
    {
        self.fd = fd
        self.port = port
        self.extra = also
        self.ready = ready
        guard pipe(&stopPipe) == 0 else {
            for s in [fd] + also { close(s) }
            throw VMInstallError(.host, "cannot create a pipe: \(String(cString: strerror(errno)))")
        }
        for end in stopPipe { _ = fcntl(end, F_SETFD, FD_CLOEXEC) }
        let started = pthread_create(
            &thread, nil,
            { context in
                Unmanaged<ListeningThread>.fromOpaque(context!).takeUnretainedValue().serve()
                return nil
            }, Unmanaged.passUnretained(self).toOpaque())
        guard started == 0 else {
            for s in [fd] + also + stopPipe { close(s) }
            throw VMInstallError(.host, "cannot start a thread")
        }
        running = true
    }

    private func serve() {
        while true {
            let sockets = [fd] + extra + dynamic
            var fds = ([stopPipe[0]] + sockets).map { pollfd(fd: $0, events: Int16(POLLIN), revents: 0) }
            guard poll(&fds, nfds_t(fds.count), -1) >= 0 || errno == EINTR else { return }
            if fds[0].revents != 0 { return }
            for (index, socket) in sockets.enumerated() where fds[index + 1].revents != 0 {
                ready(socket, &dynamic)
            }
        }
    }

    /// A connection from a listening socket, close-on-exec (and non-blocking if asked); -1 for none.
    static func accept(_ listener: Int32, nonblocking: Bool = false) -> Int32 {
        let client = Glibc.accept(listener, nil, nil)
        guard client >= 0 else { return -1 }
        _ = fcntl(client, F_SETFD, FD_CLOEXEC)
        if nonblocking { _ = fcntl(client, F_SETFL, fcntl(client, F_GETFL) | O_NONBLOCK) }
        return client
    }

    /// Ends the thread and closes the sockets; safe to call twice.
    func stop() {
        guard running else { return }
        running = false
        var byte: UInt8 = 1
        _ = write(stopPipe[1], &byte, 1)
        pthread_join(thread, nil)
        for s in [fd] + extra + dynamic + stopPipe { close(s) }
        dynamic = []
    }

    deinit { stop() }
}
