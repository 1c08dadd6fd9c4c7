import Glibc
import SystemPackage

/// One running QEMU VM, watched through its QMP socket. EOF on that socket is how we learn
/// that the process ended: QEMU runs daemonized, so it is not our child to wait for.
final class QEMUSession: VMSession {
    private let qmp: QMPClient
    private let process: QEMUProcess?
    private let files: VMPaths
    /// The VM has a display device (vm-install gives it one with a VNC console).
    private let hasScreen: Bool
    let vncAddress: String?

    init(qmp: QMPClient, process: QEMUProcess?, files: VMPaths, hasScreen: Bool, vncAddress: String?) {
        self.qmp = qmp
        self.process = process
        self.files = files
        self.hasScreen = hasScreen
        self.vncAddress = vncAddress
    }

    func waitForEnd(cancel: CancelSignal, deadline: Deadline) -> VMEnd {
        while true {
            switch cancel.wait(for: qmp.fd, until: deadline) {
            case .canceled: return .canceled
            case .timedOut: return .timedOut
            case .ready:
                if qmp.drain() {
                    // The socket closes a moment before the process is gone; the disks are
                    // only free for the next VM once it is.
                    _ = process?.waitForEnd(deadline: .after(seconds: 10))
                    return qmp.guestShutdown ? .guestShutdown : .vanished
                }
            }
        }
    }

    func resume() throws(VMInstallError) {
        _ = try qmp.execute("cont", as: QMPClient.Empty.self, deadline: .after(seconds: 5))
    }

    func confirmRunning() throws(VMInstallError) {
        struct Status: Decodable {
            let running: Bool
            let status: String
        }
        let status = try qmp.execute("query-status", as: Status.self, deadline: .after(seconds: 5))
        guard status.running else {
            throw VMInstallError(.runtimeFailed, "the VM is not running (QEMU reports '\(status.status)')")
        }
    }

    func screenshot(to path: String) throws(VMInstallError) {
        guard hasScreen else { throw VMInstallError(.noScreen, "the VM has no screen (no VNC console)") }
        try QEMUScreen.save(qmp, files: files, to: path, mode: [.ownerReadWrite])
    }

    private var screenChanges = ScreenChanges()

    /// Written bytes and requests of all disks, the size of the serial log, and how often
    /// the screen showed an image it had not shown lately. QEMU's VGA text cursor blinks, so
    /// a still text screen alternates between two images: the screen is dumped twice, 0.3 s
    /// apart (more than the blink's half period), and images seen lately do not count again.
    func activity() -> VMActivity? {
        struct Device: Decodable {
            struct Stats: Decodable {
                let writeOperations: UInt64
                let writeBytes: UInt64
                enum CodingKeys: String, CodingKey {
                    case writeOperations = "wr_operations"
                    case writeBytes = "wr_bytes"
                }
            }
            let stats: Stats
        }
        guard !qmp.sawEOF,
            let devices = try? qmp.execute("query-blockstats", as: [Device].self, deadline: .after(seconds: 5))
        else {
            return nil
        }
        var serial = stat()
        let serialSize = stat(files.serialLog, &serial) == 0 ? UInt64(serial.st_size) : 0
        if hasScreen {
            for pass in 0..<ScreenChanges.passes {
                if pass > 0 { usleep(ScreenChanges.pauseMicroseconds) }
                // A screen that cannot be dumped counts as unchanged; a VM that went away, as unknown.
                guard let screen = try? QEMUScreen.capture(qmp, files: files, format: "ppm") else { break }
                screenChanges.note(screen)
            }
            if qmp.sawEOF { return nil }
        }
        return VMActivity(marks: [
            devices.reduce(0) { $0 &+ $1.stats.writeOperations }, devices.reduce(0) { $0 &+ $1.stats.writeBytes },
            serialSize, screenChanges.count,
        ])
    }

    /// QMP's send-key, with the keys as qnum numbers: QEMU presses them in order and
    /// releases them in reverse after the hold time, queued behind the keys sent before.
    func sendKeys(_ codes: [UInt32], holdMilliseconds: Int) throws(VMInstallError) {
        struct KeyValue: Encodable {
            let type = "number"
            let data: UInt32
        }
        struct Arguments: Encodable {
            let keys: [KeyValue]
            let holdTime: Int
            enum CodingKeys: String, CodingKey {
                case keys
                case holdTime = "hold-time"
            }
        }
        _ = try qmp.execute(
            "send-key", structured: Arguments(keys: codes.map { KeyValue(data: $0) }, holdTime: holdMilliseconds),
            as: QMPClient.Empty.self, deadline: .after(seconds: 5))
    }

    func stop(deadline: Deadline) {
        if !qmp.sawEOF {
            _ = try? qmp.execute("quit", as: QMPClient.Empty.self, deadline: deadline)
            while !qmp.drain(), !deadline.hasPassed {
                var pfd = pollfd(fd: qmp.fd, events: Int16(POLLIN), revents: 0)
                _ = poll(&pfd, 1, Int32(clamping: deadline.remainingMilliseconds))
            }
        }
        if let process, !process.waitForEnd(deadline: deadline) {
            process.terminate(deadline: .after(seconds: 3))
        }
    }

    func detach() {}
}
