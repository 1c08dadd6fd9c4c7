import Glibc
import Subprocess
import SystemPackage
import VMInstallKit

/// A TCP connection to 127.0.0.1:port, or nil.
func loopbackConnection(port: UInt16) -> Int32? {
    let s = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    guard s >= 0 else { return nil }
    var addr = sockaddr_in()
    addr.sin_family = sa_family_t(AF_INET)
    addr.sin_port = port.bigEndian
    addr.sin_addr.s_addr = inet_addr("127.0.0.1")
    let rc = withUnsafePointer(to: &addr) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            connect(s, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
        }
    }
    guard rc == 0 else {
        close(s)
        return nil
    }
    return s
}

func tcpConnects(port: UInt16) -> Bool {
    guard let s = loopbackConnection(port: port) else { return false }
    close(s)
    return true
}

/// Exactly `count` bytes from a socket, or nil on EOF or after 10 s of silence.
func receiveExactly(_ s: Int32, _ count: Int) -> [UInt8]? {
    var bytes = [UInt8](repeating: 0, count: count)
    var got = 0
    while got < count {
        var pfd = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
        guard poll(&pfd, 1, 10_000) > 0 else { return nil }
        let n = bytes[got...].withUnsafeMutableBytes { recv(s, $0.baseAddress, count - got, 0) }
        guard n > 0 else { return nil }
        got += n
    }
    return bytes
}

/// A raw disk that holds an installed system: the runtime boot sector at LBA 0.
func makeInstalledDisk(_ path: String, from guest: Guest) throws {
    let sector = try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "runtime.bin"))
    try FileIO.writeAtomically(path, bytes: sector + [UInt8](repeating: 0, count: (1 << 20) - sector.count))
}

/// Reads the first bytes a VNC server sends: its RFB protocol version.
func vncGreeting(port: UInt16) -> String? {
    guard let s = loopbackConnection(port: port) else { return nil }
    defer { close(s) }
    var pfd = pollfd(fd: s, events: Int16(POLLIN), revents: 0)
    guard poll(&pfd, 1, 30_000) > 0 else { return nil }
    var bytes = [UInt8](repeating: 0, count: 12)
    let n = recv(s, &bytes, 12, 0)
    return n > 0 ? String(decoding: bytes[0..<n], as: UTF8.self) : nil
}

/// A real inotify watch, for checking what a watcher of the job's files sees.
final class InotifyWatch {
    struct Event: Equatable {
        let mask: UInt32
        let name: String
    }

    let fd: Int32

    init(path: String, mask: UInt32) throws {
        fd = inotify_init1(Int32(IN_CLOEXEC | IN_NONBLOCK))
        guard fd >= 0, inotify_add_watch(fd, path, mask) >= 0 else {
            throw VMInstallError(.internal, "cannot watch \(path)")
        }
    }

    deinit { close(fd) }

    /// Events that arrive within `milliseconds` of the last one.
    func read(waitingUpTo milliseconds: Int32) -> [Event] {
        var events: [Event] = []
        var buffer = [UInt8](repeating: 0, count: 64 * 1024)
        var pfd = pollfd(fd: fd, events: Int16(POLLIN), revents: 0)
        while poll(&pfd, 1, milliseconds) > 0 {
            let n = Glibc.read(fd, &buffer, buffer.count)
            guard n > 0 else { break }
            var offset = 0
            while offset + 16 <= n {
                let mask = buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 4, as: UInt32.self) }
                let length = Int(buffer.withUnsafeBytes { $0.load(fromByteOffset: offset + 12, as: UInt32.self) })
                let nameBytes = buffer[(offset + 16)..<(offset + 16 + length)].prefix { $0 != 0 }
                events.append(Event(mask: mask, name: String(decoding: nameBytes, as: UTF8.self)))
                offset += 16 + length
            }
        }
        return events
    }
}

/// The real uid of a live process, or nil when it is gone.
func processUID(_ pid: pid_t) -> uid_t? {
    guard let status = try? FileIO.readString("/proc/\(pid)/status"),
        let line = status.split(separator: "\n").first(where: { $0.hasPrefix("Uid:") })
    else { return nil }
    return line.split(whereSeparator: \.isWhitespace).dropFirst().first.flatMap { uid_t($0) }
}

func fileContains(_ path: String, _ text: String) -> Bool {
    ((try? FileIO.readString(path)) ?? "").contains(text)
}

/// Waits until a process whose command line contains `marker` (and that runs as `uid`, when
/// given) holds an inotify descriptor, that is, until a waiter or watcher started by the
/// test is really watching. Returns its pid.
@discardableResult
func waitUntilWatching(_ marker: String, uid: uid_t? = nil, seconds: Double = Fixture.patience) async throws -> pid_t {
    let deadline = Deadline.after(seconds: seconds)
    while !deadline.hasPassed {
        for entry in (try? FileIO.listDirectory("/proc")) ?? [] where entry.allSatisfy(\.isNumber) {
            if let uid, processUID(pid_t(entry)!) != uid { continue }
            guard let cmdline = try? FileIO.read("/proc/\(entry)/cmdline"),
                String(decoding: cmdline.map { $0 == 0 ? 32 : $0 }, as: UTF8.self).contains(marker)
            else { continue }
            for fd in (try? FileIO.listDirectory("/proc/\(entry)/fd")) ?? [] {
                var target = [CChar](repeating: 0, count: 256)
                let n = readlink("/proc/\(entry)/fd/\(fd)", &target, 255)
                if n > 0,
                    String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).contains("inotify")
                {
                    return pid_t(entry)!
                }
            }
        }
        try await Task.sleep(for: .milliseconds(20))
    }
    throw VMInstallError(.internal, "no process with '\(marker)' started watching")
}

/// The security types a VNC server offers after the RFB 3.8 version exchange: [1] is no
/// authentication, [2] is VNC password authentication.
func vncSecurityTypes(port: UInt16) -> [UInt8]? {
    guard let s = loopbackConnection(port: port) else { return nil }
    defer { close(s) }
    func receive(_ count: Int) -> [UInt8]? { receiveExactly(s, count) }
    guard let version = receive(12), version.starts(with: Array("RFB ".utf8)) else { return nil }
    let reply = Array("RFB 003.008\n".utf8)
    guard send(s, reply, reply.count, 0) == reply.count, let count = receive(1), count[0] > 0 else { return nil }
    return receive(Int(count[0]))
}

/// VNC authentication's answer to a challenge: DES-ECB under the password (8 bytes, each
/// byte's bits reversed, as VNC has it), computed by openssl's legacy provider.
func vncResponse(challenge: [UInt8], password: String) async throws -> [UInt8] {
    var key = Array(password.utf8.prefix(8)) + [UInt8](repeating: 0, count: max(0, 8 - password.utf8.count))
    key = key.map { b in (0..<8).reduce(UInt8(0)) { $0 | ((b >> $1) & 1) << (7 - $1) } }
    let hex = key.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined()
    let result = try await Subprocess.run(
        .path(FilePath("/usr/bin/openssl")),
        arguments: ["enc", "-des-ecb", "-provider", "legacy", "-provider", "default", "-K", hex, "-nopad"],
        input: .array(challenge), output: .bytes(limit: 64), error: .discarded)
    return result.standardOutput
}

/// A minimal RFB 3.8 client (no authentication or VNC password authentication, raw
/// encoding): one full frame of the VM's screen as 0x00RRGGBB pixels, row by row.
func vncScreenshot(port: UInt16, password: String? = nil) async throws -> (width: Int, height: Int, pixels: [UInt32])? {
    guard let s = loopbackConnection(port: port) else { return nil }
    defer { close(s) }
    func receive(_ count: Int) -> [UInt8]? { receiveExactly(s, count) }
    func sendAll(_ bytes: [UInt8]) -> Bool { send(s, bytes, bytes.count, Int32(MSG_NOSIGNAL)) == bytes.count }
    func u16(_ b: [UInt8], _ i: Int) -> Int { Int(b[i]) << 8 | Int(b[i + 1]) }
    func u32(_ b: [UInt8], _ i: Int) -> Int { u16(b, i) << 16 | u16(b, i + 2) }

    guard receive(12) != nil, sendAll(Array("RFB 003.008\n".utf8)),
        let count = receive(1), count[0] > 0, let types = receive(Int(count[0]))
    else { return nil }
    if let password {
        guard types.contains(2), sendAll([2]), let challenge = receive(16) else { return nil }
        guard sendAll(try await vncResponse(challenge: challenge, password: password)) else { return nil }
    } else {
        guard types.contains(1), sendAll([1]) else { return nil }
    }
    guard let result = receive(4), u32(result, 0) == 0, sendAll([1]), let serverInit = receive(24) else { return nil }
    let width = u16(serverInit, 0)
    let height = u16(serverInit, 2)
    guard receive(u32(serverInit, 20)) != nil else { return nil }
    // 32 bits per pixel, little-endian, red in bits 16-23: a pixel reads as 0x00RRGGBB.
    let pixelFormat: [UInt8] = [32, 24, 0, 1, 0, 255, 0, 255, 0, 255, 16, 8, 0, 0, 0, 0]
    guard sendAll([0, 0, 0, 0] + pixelFormat), sendAll([2, 0, 0, 1, 0, 0, 0, 0]),
        sendAll([3, 0, 0, 0, 0, 0, UInt8(width >> 8), UInt8(width & 255), UInt8(height >> 8), UInt8(height & 255)])
    else { return nil }
    var pixels = [UInt32](repeating: 0, count: width * height)
    var covered = 0
    while covered < width * height {
        guard let header = receive(4), header[0] == 0 else { return nil }
        for _ in 0..<u16(header, 2) {
            guard let rect = receive(12), u32(rect, 8) == 0 else { return nil }
            let (x, y, w, h) = (u16(rect, 0), u16(rect, 2), u16(rect, 4), u16(rect, 6))
            guard let data = receive(w * h * 4) else { return nil }
            for row in 0..<h {
                for column in 0..<w where y + row < height && x + column < width {
                    let i = (row * w + column) * 4
                    pixels[(y + row) * width + x + column] =
                        UInt32(data[i]) | UInt32(data[i + 1]) << 8 | UInt32(data[i + 2]) << 16
                }
            }
            covered += w * h
        }
    }
    return (width, height, pixels)
}

/// The command line the tiny multiboot kernel printed on the serial console, without the
/// kernel's own path, which QEMU's multiboot loader puts first.
func installerCommandLine(_ serialLog: String) -> String? {
    guard let text = try? FileIO.readString(serialLog), let found = text.firstRange(of: "VM-INSTALL KERNEL ") else {
        return nil
    }
    let line = text[found.upperBound...].prefix { !$0.isNewline }
    return line.split(separator: " ", maxSplits: 1).dropFirst().first.map(String.init) ?? ""
}

/// Width and height from a PNG file's header (signature, then the IHDR chunk), or nil when
/// the file is not a PNG.
func pngSize(_ path: String) -> (width: Int, height: Int)? {
    guard let bytes = try? FileIO.read(path, limit: 64 << 20), bytes.count > 24,
        bytes.starts(with: [0x89, 0x50, 0x4E, 0x47, 0x0D, 0x0A, 0x1A, 0x0A]),
        Array(bytes[12..<16]) == Array("IHDR".utf8)
    else { return nil }
    func u32(_ at: Int) -> Int { bytes[at..<(at + 4)].reduce(0) { $0 << 8 | Int($1) } }
    return (u32(16), u32(20))
}
