import Glibc
import VMInstallKit

/// Presses a key on a QEMU VM's keyboard through one of its QMP sockets: a real key event
/// (`send-key`) that reaches the guest's PS/2 keyboard, as a person's key press would.
/// VMInstallKit's own QMP client is internal to it; this one knows just enough for that:
/// the greeting, capabilities negotiation and one command, with replies read to the line.
enum QMPKeyboard {
    /// Sends `send-key` with one QEMU key code (`ret` is Enter) on the unix socket at `socket`.
    static func press(
        _ qcode: String = "ret", socket path: String, deadline: Deadline = .after(seconds: Fixture.patience)
    ) throws {
        let fd = try connect(path)
        defer { close(fd) }
        var pending: [UInt8] = []
        guard let greeting = try reply(fd, &pending, deadline), greeting.contains("\"QMP\"") else {
            throw VMInstallError(.internal, "QEMU did not greet on \(path)")
        }
        for command in [
            #"{"execute":"qmp_capabilities"}"#,
            #"{"execute":"send-key","arguments":{"keys":[{"type":"qcode","data":"\#(qcode)"}]}}"#,
        ] {
            let bytes = Array((command + "\r\n").utf8)
            guard send(fd, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count else {
                throw VMInstallError(.internal, "cannot send \(command) on \(path)")
            }
            // Events may come first; the reply to a command is the next line with "return" or "error".
            while true {
                guard let line = try reply(fd, &pending, deadline) else {
                    throw VMInstallError(.internal, "QEMU did not answer \(command) on \(path)")
                }
                if line.contains("\"error\"") { throw VMInstallError(.internal, "QEMU refused \(command): \(line)") }
                if line.contains("\"return\"") { break }
            }
        }
    }

    private static func connect(_ path: String) throws -> Int32 {
        var addr = sockaddr_un()
        addr.sun_family = sa_family_t(AF_UNIX)
        let bytes = Array(path.utf8)
        guard bytes.count < MemoryLayout.size(ofValue: addr.sun_path) else {
            throw VMInstallError(.internal, "socket path too long: \(path)")
        }
        withUnsafeMutableBytes(of: &addr.sun_path) { raw in
            raw.copyBytes(from: bytes)
            raw[bytes.count] = 0
        }
        let fd = socket(AF_UNIX, Int32(SOCK_STREAM.rawValue) | Int32(SOCK_CLOEXEC.rawValue), 0)
        guard fd >= 0 else { throw VMInstallError(.internal, "cannot create a socket") }
        let rc = withUnsafePointer(to: &addr) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                Glibc.connect(fd, $0, socklen_t(MemoryLayout<sockaddr_un>.size))
            }
        }
        guard rc == 0 else {
            let reason = String(cString: strerror(errno))
            close(fd)
            throw VMInstallError(.internal, "cannot connect to \(path): \(reason)")
        }
        return fd
    }

    /// The next line from QEMU, nil at EOF or when the deadline has passed.
    private static func reply(_ fd: Int32, _ pending: inout [UInt8], _ deadline: Deadline) throws -> String? {
        while true {
            if let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                let line = String(decoding: pending[..<newline], as: UTF8.self)
                pending.removeSubrange(...newline)
                return line
            }
            var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
            guard !deadline.hasPassed, poll(&pfd, 1, Int32(clamping: deadline.remainingMilliseconds)) > 0 else {
                return nil
            }
            var chunk = [UInt8](repeating: 0, count: 4096)
            let n = recv(fd, &chunk, chunk.count, 0)
            guard n > 0 else { return nil }
            pending += chunk[0..<n]
        }
    }
}
