import CLibvirt
import Glibc

/// A libvirt domain being watched through lifecycle events, delivered by libvirt's event
/// thread (`LibvirtEvents`): no polling. A lost connection (libvirtd restarted, network
/// dropped) is reopened with backoff and the domain's state read again, so an install goes on
/// through a daemon restart; past `reconnectDeadline` the session gives up.
final class LibvirtSession: VMSession {
    private let driver: LibvirtDriver
    private var connection: LibvirtConnection
    private var domain: LibvirtDomain
    private var callbackID: Int32
    let vncAddress: String?
    private let uuid: String
    private let files: VMPaths
    private let hasScreen: Bool
    private var screenChanges = ScreenChanges()

    init(
        driver: LibvirtDriver, connection: LibvirtConnection, domain: LibvirtDomain, files: VMPaths, hasScreen: Bool,
        vncAddress: String?
    ) throws(VMInstallError) {
        self.driver = driver
        self.files = files
        self.hasScreen = hasScreen
        self.connection = connection
        self.domain = domain
        self.vncAddress = vncAddress
        uuid = try domain.uuidString()
        callbackID = try domain.watchLifecycle(connection.events)
    }

    deinit { if callbackID >= 0 { domain.stopWatching(callbackID) } }

    /// Takes a new connection and domain; the old watch goes, so the old connection (which
    /// its registration kept referenced) is closed.
    private func adopt(_ fresh: LibvirtConnection, _ found: LibvirtDomain, watch: Int32?) {
        if callbackID >= 0 { domain.stopWatching(callbackID) }
        connection = fresh
        domain = found
        callbackID = watch ?? -1
    }

    func waitForEnd(cancel: CancelSignal, deadline: Deadline) -> VMEnd {
        while true {
            switch cancel.wait(for: connection.events.fd, until: deadline) {
            case .canceled: return .canceled
            case .timedOut: return .timedOut
            case .ready:
                let (events, closed) = connection.events.take()
                for event in events where event.event == Int32(VIR_DOMAIN_EVENT_STOPPED.rawValue) {
                    return event.detail == Int32(VIR_DOMAIN_EVENT_STOPPED_SHUTDOWN.rawValue)
                        ? .guestShutdown : .vanished
                }
                if closed || !connection.isAlive {
                    if let end = reconnect(cancel: cancel) { return end }
                }
            }
        }
    }

    /// Opens a new connection and finds the domain again; nil when it still runs.
    private func reconnect(cancel: CancelSignal?) -> VMEnd? {
        driver.log?.write("lost the connection to libvirt at \(driver.uri); reconnecting")
        let giveUp = Deadline.after(seconds: driver.reconnectDeadline)
        var delay = 0.25
        while !giveUp.hasPassed {
            if let cancel {
                if cancel.wait(for: nil, until: .after(seconds: delay)) == .canceled { return .canceled }
            } else {
                usleep(UInt32(delay * 1e6))
            }
            delay = min(delay * 2, 5)
            guard let fresh = try? LibvirtConnection(driver.uri), let found = try? fresh.domain(uuid: uuid) else {
                continue
            }
            switch try? found.state() {
            case .shutOff(let reason)?:
                adopt(fresh, found, watch: nil)
                driver.log?.write("reconnected to libvirt at \(driver.uri); the VM had stopped meanwhile")
                return reason == Int32(VIR_DOMAIN_SHUTOFF_SHUTDOWN.rawValue) ? .guestShutdown : .vanished
            case nil:
                continue
            default:
                guard let id = try? found.watchLifecycle(fresh.events) else { continue }
                adopt(fresh, found, watch: id)
                driver.log?.write("reconnected to libvirt at \(driver.uri)")
                // It may have stopped between the state read and the new watch.
                if case .shutOff(let reason)? = try? found.state() {
                    return reason == Int32(VIR_DOMAIN_SHUTOFF_SHUTDOWN.rawValue) ? .guestShutdown : .vanished
                }
                return nil
            }
        }
        return .lostConnection(
            "the connection to libvirt at \(driver.uri) was lost and could not be made again within \(Int(driver.reconnectDeadline)) s"
        )
    }

    func confirmRunning() throws(VMInstallError) {
        guard case .running = try domain.state() else {
            throw VMInstallError(
                .runtimeFailed, "the VM is not running (libvirt reports it \(String(describing: try? domain.state())))")
        }
    }

    /// A connection lost just then is made again first, as while waiting.
    func resume() throws(VMInstallError) {
        do { try domain.resume() } catch {
            guard !connection.isAlive else { throw error }
            switch reconnect(cancel: nil) {
            // The resume may have reached the daemon before the connection went.
            case nil: if case .paused = try domain.state() { try domain.resume() }
            case .lostConnection(let why)?: throw VMInstallError(.host, why)
            case let end?: throw VMInstallError(.host, "the VM ended before it ran (\(end))")
            }
        }
    }

    func screenshot(to path: String) throws(VMInstallError) {
        guard hasScreen else { throw VMInstallError(.noScreen, "the VM has no screen (no VNC console)") }
        try LibvirtScreen.save(domain, files: files, to: path)
    }

    /// Written bytes and requests of all disks, the serial log's size (a local daemon's), and
    /// how often the screen showed an image it had not shown lately (`ScreenChanges`).
    func activity() -> VMActivity? {
        guard let stats = try? domain.blockStats() else { return nil }
        var serial = stat()
        let serialSize = driver.isRemote || stat(files.serialLog, &serial) != 0 ? 0 : UInt64(serial.st_size)
        if hasScreen {
            for pass in 0..<ScreenChanges.passes {
                if pass > 0 { usleep(ScreenChanges.pauseMicroseconds) }
                guard let screen = try? LibvirtScreen.capture(domain, files: files) else { break }
                screenChanges.note(screen)
            }
        }
        return VMActivity(marks: [stats.requests, stats.bytes, serialSize, screenChanges.count])
    }

    func sendKeys(_ codes: [UInt32], holdMilliseconds: Int) throws(VMInstallError) {
        try domain.sendKeys(codes, holdMilliseconds: holdMilliseconds)
    }

    func stop(deadline: Deadline) {
        try? domain.destroy()
    }

    func detach() {}
}
