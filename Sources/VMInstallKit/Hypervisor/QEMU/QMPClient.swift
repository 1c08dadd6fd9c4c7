import FoundationEssentials
import Glibc

/// A QEMU Machine Protocol connection over the VM's unix socket. Blocking, with deadlines:
/// the runner owns one connection at a time and waits on it with poll(2).
final class QMPClient {
    let fd: Int32
    private var buffer: [UInt8] = []
    private(set) var sawEOF = false
    /// Set when QEMU reported that the guest itself shut down or reset.
    private(set) var guestShutdown = false

    /// Connects, reads the greeting and leaves capabilities negotiation mode.
    /// Retries while the socket is not there yet, until the deadline.
    init(socketPath: String, deadline: Deadline) throws(VMInstallError) {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let pathBytes = Array(socketPath.utf8)
        let capacity = MemoryLayout.size(ofValue: addr.sun_path)
        guard pathBytes.count < capacity else {
            throw VMInstallError(
                .settings,
                "the QMP socket path \(socketPath) is longer than \(capacity - 1) bytes; use a shorter --state-dir")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: pathBytes)
            raw[pathBytes.count] = 0
        }
        var connected: Int32 = -1
        while true {
            let s = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
            guard s >= 0 else { throw VMInstallError(.internal, "cannot create a socket") }
            let rc = withUnsafePointer(to: &addr) {
                $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                    Glibc.connect(s, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
                }
            }
            if rc == 0 {
                connected = s
                break
            }
            let err = errno
            close(s)
            guard err == ENOENT || err == ECONNREFUSED || err == EAGAIN, !deadline.hasPassed else {
                throw VMInstallError(
                    .host, "cannot connect to QEMU's control socket \(socketPath): \(String(cString: strerror(err)))")
            }
            usleep(20_000)
        }
        fd = connected
        guard let greeting = readMessage(deadline: deadline), greeting.greeting != nil else {
            close(fd)
            throw VMInstallError(.host, "QEMU did not greet on \(socketPath)")
        }
        do {
            _ = try execute("qmp_capabilities", as: Empty.self, deadline: deadline)
        } catch {
            close(fd)
            throw error
        }
    }

    deinit { close(fd) }

    struct Empty: Decodable {}

    struct Message: Decodable {
        struct Failure: Decodable {
            let desc: String?
        }
        struct EventData: Decodable {
            let guest: Bool?
        }
        /// The greeting's "QMP" member.
        let greeting: Empty?
        let event: String?
        let data: EventData?
        let error: Failure?
        let `return`: Empty?
        enum CodingKeys: String, CodingKey {
            case greeting = "QMP"
            case event, data, error, `return`
        }
    }

    private struct Request<Arguments: Encodable>: Encodable {
        let execute: String
        let arguments: Arguments?
    }

    private struct Reply<T: Decodable>: Decodable {
        let `return`: T
    }

    /// Sends a command and returns its decoded `return`, skipping events that arrive first.
    func execute<T: Decodable>(
        _ command: String, arguments: [String: String]? = nil, as type: T.Type, deadline: Deadline
    ) throws(VMInstallError) -> T {
        try execute(command, structured: arguments, as: type, deadline: deadline)
    }

    /// The same, with arguments of any JSON shape (send-key's list of keys).
    func execute<T: Decodable, A: Encodable>(
        _ command: String, structured arguments: A?, as type: T.Type, deadline: Deadline
    ) throws(VMInstallError) -> T {
        guard let encoded = try? JSONEncoder().encode(Request(execute: command, arguments: arguments)) else {
            throw VMInstallError(.internal, "cannot encode the QMP command \(command)")
        }
        let request = Array(encoded) + Array("\r\n".utf8)
        let written = request.withUnsafeBytes { send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
        guard written == request.count else {
            throw VMInstallError(.host, "QEMU's control socket closed while sending \(command)")
        }
        while true {
            guard let line = readLine(deadline: deadline) else {
                throw VMInstallError(.host, "QEMU did not answer \(command)")
            }
            guard let message = try? JSONDecoder().decode(Message.self, from: Data(line)) else { continue }
            if message.event != nil {
                note(message)
                continue
            }
            if let error = message.error {
                throw VMInstallError(.host, "QEMU refused \(command): \(error.desc ?? "unknown error")")
            }
            do {
                return try JSONDecoder().decode(Reply<T>.self, from: Data(line)).return
            } catch {
                throw VMInstallError(.host, "QEMU's answer to \(command) was not understood")
            }
        }
    }

    /// Reads the next message; nil at EOF or when the deadline passes.
    func readMessage(deadline: Deadline) -> Message? {
        while let line = readLine(deadline: deadline) {
            if let message = try? JSONDecoder().decode(Message.self, from: Data(line)) {
                note(message)
                return message
            }
        }
        return nil
    }

    /// Reads what is available now without blocking, noting events; true at EOF.
    func drain() -> Bool {
        while !sawEOF, fill(timeoutMilliseconds: 0) {
            while let line = takeLine() {
                if let message = try? JSONDecoder().decode(Message.self, from: Data(line)) { note(message) }
            }
        }
        return sawEOF
    }

    private func note(_ message: Message) {
        if message.event == "SHUTDOWN" || message.event == "RESET", message.data?.guest == true {
            guestShutdown = true
        }
    }

    private func readLine(deadline: Deadline) -> [UInt8]? {
        while true {
            if let line = takeLine() { return line }
            if sawEOF { return nil }
            let wait = deadline.remainingMilliseconds
            if wait == 0 { return nil }
            _ = fill(timeoutMilliseconds: wait)
        }
    }

    private func takeLine() -> [UInt8]? {
        guard let newline = buffer.firstIndex(of: UInt8(ascii: "\n")) else { return nil }
        let line = Array(buffer[..<newline])
        buffer.removeSubrange(...newline)
        return line
    }

    /// Waits up to the timeout for data; true when something (data or EOF) was read.
    private func fill(timeoutMilliseconds: Int) -> Bool {
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        let ready = poll(&pfd, 1, Int32(clamping: timeoutMilliseconds))
        guard ready > 0 else { return false }
        var chunk = [UInt8](repeating: 0, count: 4096)
        let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
        if n > 0 {
            buffer.append(contentsOf: chunk[0..<n])
        } else if n == 0 || (errno != EAGAIN && errno != EINTR) {
            sawEOF = true
        }
        return true
    }
}
