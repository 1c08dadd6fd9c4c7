import Glibc
import Synchronization

/// The job's syslog receiver for the install phase: the installer is told to send its log
/// here (d-i's log_host=/log_port=, Anaconda's inst.syslog=), and each line goes into the
/// job's log as `installer: …`. UDP, and TCP on the same port (rsyslog forwards over either),
/// on a thread of its own; it stops with the install. The last line is kept for a stall
/// report.
final class InstallerSyslog: Sendable {
    let port: UInt16
    private let log: JobLog
    private let last = Mutex<String?>(nil)
    private let thread = Mutex<ListeningThread?>(nil)
    /// Partial lines of TCP senders, by socket (only the thread touches it).
    private let partial = Mutex<[Int32: [UInt8]]>([:])

    init(address: String, log: JobLog) throws(VMInstallError) {
        self.log = log
        let (udp, tcp, port) = try Self.bindPair(address)
        self.port = port
        let listening = try ListeningThread(fd: udp, port: port, also: [tcp]) { [weak self] fd, connections in
            self?.readable(fd, udp: udp, tcp: tcp, connections: &connections)
        }
        thread.withLock { $0 = listening }
    }

    /// A UDP port the kernel picks, with the TCP port of the same number.
    private static func bindPair(_ address: String) throws(VMInstallError) -> (Int32, Int32, UInt16) {
        var attempt = 0
        while true {
            let (udp, port) = try ListeningThread.bind(type: Int32(SOCK_DGRAM.rawValue), address: address)
            do {
                let (tcp, _) = try ListeningThread.bind(type: Int32(SOCK_STREAM.rawValue), address: address, port: port)
                return (udp, tcp, port)
            } catch {
                close(udp)
                attempt += 1
                // Another program has the TCP port of that number: take another pair.
                guard attempt < 8 else { throw error }
            }
        }
    }

    /// The installer's last line, if it sent any.
    var lastLine: String? { last.withLock { $0 } }

    func stop() {
        thread.withLock {
            $0?.stop()
            $0 = nil
        }
    }

    deinit { stop() }

    private func readable(_ fd: Int32, udp: Int32, tcp: Int32, connections: inout [Int32]) {
        var buffer = [UInt8](repeating: 0, count: 8192)
        if fd == udp {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            if n > 0 { take(buffer[0..<n].split(separator: UInt8(ascii: "\n")).map(Array.init)) }
        } else if fd == tcp {
            // A TCP sender (rsyslog keeps its connection): polled with the others from now on.
            let client = ListeningThread.accept(tcp, nonblocking: true)
            if client >= 0, connections.count < 16 { connections.append(client) } else if client >= 0 { close(client) }
        } else {
            let n = buffer.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, Int32(MSG_DONTWAIT)) }
            var pending = partial.withLock { $0.removeValue(forKey: fd) } ?? []
            if n > 0 { pending += buffer[0..<n] }
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                take([Array(pending[..<newline])])
                pending.removeSubrange(...newline)
            }
            if n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR) || pending.count > 65536 {
                if !pending.isEmpty { take([pending]) }
                connections.removeAll { $0 == fd }
                close(fd)
            } else if !pending.isEmpty {
                let rest = pending
                partial.withLock { $0[fd] = rest }
            }
        }
    }

    private func take(_ lines: [[UInt8]]) {
        for raw in lines {
            guard let line = Self.message(raw), !line.isEmpty else { continue }
            last.withLock { $0 = line }
            log.write("installer: \(line)")
        }
    }

    /// The text of one syslog message (RFC 3164 or 5424, or octet-counted over TCP), without
    /// its priority and timestamp, with control characters shown as `\xNN`.
    static func message(_ raw: [UInt8]) -> String? {
        var text = Substring(AnswerServer.printable(String(decoding: raw, as: UTF8.self)))
        while text.last == " " || text.hasSuffix("\\x0d") || text.hasSuffix("\\x00") {
            text = text.hasSuffix(" ") ? text.dropLast() : text.dropLast(4)
        }
        // Octet counting: "LEN <PRI>…".
        if let space = text.firstIndex(of: " "), text[..<space].allSatisfy(\.isNumber), !text[..<space].isEmpty,
            text[text.index(after: space)...].hasPrefix("<")
        {
            text = text[text.index(after: space)...]
        }
        if text.hasPrefix("<"), let close = text.firstIndex(of: ">"),
            text[text.index(after: text.startIndex)..<close]
                .allSatisfy(\.isNumber)
        {
            text = text[text.index(after: close)...]
        }
        if text.hasPrefix("1 ") {
            // RFC 5424: VERSION TIMESTAMP HOST APP PROCID MSGID SD MSG.
            let fields = text.split(separator: " ", maxSplits: 6, omittingEmptySubsequences: false)
            guard fields.count == 7 else { return String(text) }
            var rest = fields[6]
            if rest.hasPrefix("- ") || rest == "-" { rest = rest.dropFirst(2) }
            return fields[3] == "-" ? String(rest) : "\(fields[3]): \(rest)"
        }
        // RFC 3164's "Mmm dd hh:mm:ss ".
        let months = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"]
        if text.count > 16, months.contains(String(text.prefix(3))) {
            let stamp = text.prefix(16)
            if stamp.dropFirst(9).prefix(6).filter({ $0 == ":" }).count == 2 { text = text.dropFirst(16) }
        }
        return String(text)
    }
}
