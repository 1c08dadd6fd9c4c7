import Glibc
import Synchronization

/// The job's HTTP server for the install phase (`--serve DIR`, and answer files delivered
/// `.http`): GET and HEAD only, files under DIR (no `..`, no symlink out of it, no directory
/// listings) and the answer files at `/NAME`. Each request is one line in the job's log:
/// method, path, status, bytes. One request at a time, on a thread of its own; it stops
/// with the install.
final class AnswerServer: Sendable {
    let port: UInt16
    private let root: String?
    private let log: JobLog
    private let answers = Mutex<[String: [UInt8]]>([:])
    private let thread = Mutex<ListeningThread?>(nil)

    init(address: String, root: String?, log: JobLog) throws(VMInstallError) {
        self.root = root.map { Self.realPath($0) ?? $0 }
        self.log = log
        let (fd, port) = try ListeningThread.bind(type: Int32(SOCK_STREAM.rawValue), address: address)
        self.port = port
        let listening = try ListeningThread(fd: fd, port: port) { [weak self] fd, _ in self?.accept(on: fd) }
        thread.withLock { $0 = listening }
    }

    /// Serves `file` at `/NAME` from now on.
    func serve(_ file: AnswerFile) {
        answers.withLock { $0["/" + file.name] = file.contents }
    }

    func stop() {
        thread.withLock {
            $0?.stop()
            $0 = nil
        }
    }

    deinit { stop() }

    // MARK: Paths

    /// The file a request path names under `root`, or nil: the path is percent-decoded and
    /// must stay inside `root` once every symlink is resolved, and name a regular file.
    static func resolve(_ requestPath: String, under root: String) -> String? {
        guard let decoded = percentDecoded(requestPath), decoded.hasPrefix("/"), !decoded.contains("\0") else {
            return nil
        }
        let parts = decoded.split(separator: "/")
        guard !parts.contains("..") else { return nil }
        guard let base = realPath(root), let real = realPath(base + "/" + parts.joined(separator: "/")),
            real == base || real.hasPrefix(base == "/" ? "/" : base + "/"), isRegularFile(real)
        else { return nil }
        return real
    }

    static func percentDecoded(_ text: String) -> String? {
        var bytes: [UInt8] = []
        var utf8 = Array(text.utf8)[...]
        while let b = utf8.first {
            utf8 = utf8.dropFirst()
            guard b == UInt8(ascii: "%") else {
                bytes.append(b)
                continue
            }
            guard utf8.count >= 2, let v = UInt8(String(decoding: utf8.prefix(2), as: UTF8.self), radix: 16) else {
                return nil
            }
            bytes.append(v)
            utf8 = utf8.dropFirst(2)
        }
        return String(validating: bytes, as: UTF8.self)
    }

    private static func isRegularFile(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
    }

    static func realPath(_ path: String) -> String? {
        guard let resolved = realpath(path, nil) else { return nil }
        defer { free(resolved) }
        return String(cString: resolved)
    }

    // MARK: Requests

    private func accept(on listener: Int32) {
        let client = ListeningThread.accept(listener)
        guard client >= 0 else { return }
        defer { close(client) }
        var timeout = timeval(tv_sec: 10, tv_usec: 0)
        setsockopt(client, SOL_SOCKET, SO_RCVTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &timeout, socklen_t(MemoryLayout<timeval>.size))
        guard let head = readHead(client) else { return }
        let fields = head.split(separator: " ", omittingEmptySubsequences: true)
        guard fields.count >= 2 else {
            reply(client, 400, "Bad Request", method: "?", path: "?")
            return
        }
        let method = String(fields[0])
        let target = String(fields[1])
        let path = String(target.prefix { $0 != "?" && $0 != "#" })
        guard method == "GET" || method == "HEAD" else {
            reply(client, 405, "Method Not Allowed", method: method, path: path, headers: "Allow: GET, HEAD\r\n")
            return
        }
        if let contents = answers.withLock({ $0[path] }) {
            reply(client, 200, "OK", method: method, path: path, body: .bytes(contents))
        } else if let root, let file = Self.resolve(path, under: root) {
            reply(client, 200, "OK", method: method, path: path, body: .file(file))
        } else {
            reply(client, 404, "Not Found", method: method, path: path)
        }
    }

    /// The request line, once the whole head has arrived (at most 16 KiB).
    private func readHead(_ fd: Int32) -> String? {
        var data: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while data.count < 16384 {
            let n = chunk.withUnsafeMutableBytes { recv(fd, $0.baseAddress, $0.count, 0) }
            guard n > 0 else { return nil }
            data += chunk[0..<n]
            if let end = data.firstRange(of: Array("\r\n\r\n".utf8)) ?? data.firstRange(of: Array("\n\n".utf8)) {
                let head = String(decoding: data[..<end.lowerBound], as: UTF8.self)
                return head.split(whereSeparator: \.isNewline).first.map(String.init)
            }
        }
        return nil
    }

    private enum Body {
        case none
        case bytes([UInt8])
        case file(String)
    }

    private func reply(
        _ fd: Int32, _ status: Int, _ reason: String, method: String, path: String, headers: String = "",
        body: Body = .none
    ) {
        var length = 0
        var opened: Int32 = -1
        switch body {
        case .none: length = 0
        case .bytes(let b): length = b.count
        case .file(let f):
            opened = open(f, O_RDONLY | O_CLOEXEC)
            var st = stat()
            guard opened >= 0, fstat(opened, &st) == 0 else {
                if opened >= 0 { close(opened) }
                reply(fd, 404, "Not Found", method: method, path: path)
                return
            }
            length = Int(st.st_size)
        }
        defer { if opened >= 0 { close(opened) } }
        let text = status == 200 ? "" : "\(status) \(reason)\n"
        if case .none = body { length = text.utf8.count }
        let head =
            "HTTP/1.0 \(status) \(reason)\r\nServer: vm-install\r\nContent-Length: \(length)\r\nContent-Type: \(status == 200 ? "application/octet-stream" : "text/plain")\r\n\(headers)Connection: close\r\n\r\n"
        var sent = send(fd, Array(head.utf8))
        var bodyBytes = 0
        if method != "HEAD", sent {
            switch body {
            case .none: sent = send(fd, Array(text.utf8))
            case .bytes(let b):
                sent = send(fd, b)
                bodyBytes = sent ? b.count : 0
            case .file:
                var chunk = [UInt8](repeating: 0, count: 65536)
                while sent {
                    let n = chunk.withUnsafeMutableBytes { read(opened, $0.baseAddress, $0.count) }
                    guard n > 0 else { break }
                    sent = send(fd, Array(chunk[0..<n]))
                    if sent { bodyBytes += n }
                }
            }
        }
        let shown = String(Self.printable(path).prefix(200))
        log.write(
            "answer server: \(Self.printable(method)) \(shown) \(status) \(bodyBytes) bytes\(sent ? "" : " (the client went away)")"
        )
    }

    private func send(_ fd: Int32, _ bytes: [UInt8]) -> Bool {
        var offset = 0
        while offset < bytes.count {
            let n = bytes[offset...].withUnsafeBytes { Glibc.send(fd, $0.baseAddress, $0.count, Int32(MSG_NOSIGNAL)) }
            guard n > 0 else { return false }
            offset += n
        }
        return true
    }

    /// Control characters and non-ASCII as `\xNN`, so a request cannot forge log lines.
    static func printable(_ text: String) -> String {
        var out = ""
        for b in text.utf8 {
            if b >= 0x20, b < 0x7F {
                out.unicodeScalars.append(Unicode.Scalar(b))
            } else {
                out += "\\x" + (b < 16 ? "0" : "") + String(b, radix: 16)
            }
        }
        return out
    }
}
