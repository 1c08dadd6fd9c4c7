import CLibvirt
import Glibc
import Synchronization

/// One connection to a libvirt daemon, local (`qemu:///system`) or remote
/// (`qemu+ssh://host/system`, `qemu+tcp://…`), with keepalive so a dead peer is noticed.
final class LibvirtConnection: @unchecked Sendable {
    let uri: String
    let pointer: virConnectPtr
    /// Woken when the connection closes (daemon gone, network dropped).
    let events: LibvirtEvents

    /// True for a URI naming another host: files on this machine mean nothing there.
    static func isRemote(_ uri: String) -> Bool {
        guard let schemeEnd = uri.firstRange(of: "://") else { return false }
        return !uri[schemeEnd.upperBound...].hasPrefix("/")
    }

    init(_ uri: String) throws(VMInstallError) {
        try LibvirtLibrary.load()
        guard let pointer = vmi_virConnectOpen(uri) else {
            throw LibvirtError.fail("cannot connect to libvirt at \(uri)", kind: .host)
        }
        self.uri = uri
        self.pointer = pointer
        events = LibvirtEvents()
        // Keepalive every 5 s; 3 unanswered probes close the connection.
        _ = vmi_virConnectSetKeepAlive(pointer, 5, 3)
        let opaque = Unmanaged.passRetained(events).toOpaque()
        let registered = vmi_virConnectRegisterCloseCallback(
            pointer,
            { _, _, opaque in
                Unmanaged<LibvirtEvents>.fromOpaque(opaque!).takeUnretainedValue().connectionClosed()
            }, opaque, { opaque in Unmanaged<LibvirtEvents>.fromOpaque(opaque!).release() })
        if registered != 0 { Unmanaged<LibvirtEvents>.fromOpaque(opaque).release() }
    }

    deinit {
        vmi_virConnectClose(pointer)
    }

    var isAlive: Bool { vmi_virConnectIsAlive(pointer) == 1 }

    /// The host's capabilities XML: which domain types (kvm, qemu) it runs.
    func capabilities() throws(VMInstallError) -> String {
        guard let text = vmi_virConnectGetCapabilities(pointer) else {
            throw LibvirtError.fail("cannot read the capabilities of \(uri)", kind: .host)
        }
        defer { free(text) }
        return String(cString: text)
    }

    // MARK: Domains

    func domain(named name: String) throws(VMInstallError) -> LibvirtDomain? {
        guard let d = vmi_virDomainLookupByName(pointer, name) else {
            let error = LibvirtError.last()
            if error.code == LibvirtError.noDomain { return nil }
            throw VMInstallError(.requestFailed, "cannot look up domain \(name) at \(uri): \(error.message)")
        }
        return LibvirtDomain(d, connection: self)
    }

    func domain(uuid: String) throws(VMInstallError) -> LibvirtDomain? {
        guard let d = vmi_virDomainLookupByUUIDString(pointer, uuid) else {
            let error = LibvirtError.last()
            if error.code == LibvirtError.noDomain { return nil }
            throw VMInstallError(.requestFailed, "cannot look up domain \(uuid) at \(uri): \(error.message)")
        }
        return LibvirtDomain(d, connection: self)
    }

    /// Defines (or redefines: same name and UUID) a persistent domain.
    func define(_ xml: String) throws(VMInstallError) -> LibvirtDomain {
        guard let d = vmi_virDomainDefineXML(pointer, xml) else {
            throw LibvirtError.fail("libvirt at \(uri) refused the domain definition", kind: .host)
        }
        return LibvirtDomain(d, connection: self)
    }

    // MARK: Storage

    func pool(named name: String) throws(VMInstallError) -> LibvirtPool {
        guard let p = vmi_virStoragePoolLookupByName(pointer, name) else {
            let error = LibvirtError.last()
            throw VMInstallError(.settings, "no storage pool \(name) at \(uri): \(error.message)")
        }
        return LibvirtPool(p, connection: self)
    }
}

/// What libvirt's event thread tells a waiting runner: lifecycle events of one domain and the
/// connection's end. A byte on a pipe wakes the runner's poll(2), next to its cancel signal.
final class LibvirtEvents: @unchecked Sendable {
    struct Lifecycle: Equatable {
        let event: Int32
        let detail: Int32
    }

    private let state = Mutex<(events: [Lifecycle], closed: Bool)>(([], false))
    private let pipeFDs: (read: Int32, write: Int32)

    init() {
        var fds: [Int32] = [-1, -1]
        _ = pipe(&fds)
        for fd in fds {
            _ = fcntl(fd, F_SETFD, FD_CLOEXEC)
            _ = fcntl(fd, F_SETFL, O_NONBLOCK)
        }
        pipeFDs = (fds[0], fds[1])
    }

    deinit {
        close(pipeFDs.read)
        close(pipeFDs.write)
    }

    /// Readable when something happened.
    var fd: Int32 { pipeFDs.read }

    func connectionClosed() {
        state.withLock { $0.closed = true }
        wake()
    }

    func lifecycle(_ event: Int32, _ detail: Int32) {
        state.withLock { $0.events.append(Lifecycle(event: event, detail: detail)) }
        wake()
    }

    private func wake() {
        var byte: UInt8 = 1
        _ = write(pipeFDs.write, &byte, 1)
    }

    /// What happened since the last call.
    func take() -> (events: [Lifecycle], closed: Bool) {
        var buffer = [UInt8](repeating: 0, count: 64)
        while read(pipeFDs.read, &buffer, buffer.count) > 0 {}
        return state.withLock { s in
            defer { s.events = [] }
            return (s.events, s.closed)
        }
    }
}
