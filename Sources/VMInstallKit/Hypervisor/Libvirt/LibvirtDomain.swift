import CLibvirt
import Glibc

/// One libvirt domain, freed with the object.
final class LibvirtDomain: @unchecked Sendable {
    let pointer: virDomainPtr
    let connection: LibvirtConnection

    init(_ pointer: virDomainPtr, connection: LibvirtConnection) {
        self.pointer = pointer
        self.connection = connection
    }

    deinit { vmi_virDomainFree(pointer) }

    enum State: Equatable {
        case running
        case paused
        /// Shut off; `reason` is libvirt's VIR_DOMAIN_SHUTOFF_* value.
        case shutOff(reason: Int32)
        case other(Int32)
    }

    func state() throws(VMInstallError) -> State {
        var state: Int32 = 0
        var reason: Int32 = 0
        guard vmi_virDomainGetState(pointer, &state, &reason, 0) == 0 else {
            throw LibvirtError.fail("cannot read the state of the domain", kind: .requestFailed)
        }
        switch UInt32(state) {
        case VIR_DOMAIN_RUNNING.rawValue: return .running
        case VIR_DOMAIN_PAUSED.rawValue: return .paused
        case VIR_DOMAIN_SHUTOFF.rawValue: return .shutOff(reason: reason)
        default: return .other(state)
        }
    }

    var isActive: Bool {
        switch try? state() {
        case .running?, .paused?, .other?: true
        default: false
        }
    }

    func uuidString() throws(VMInstallError) -> String {
        var buffer = [CChar](repeating: 0, count: Int(VIR_UUID_STRING_BUFLEN))
        guard vmi_virDomainGetUUIDString(pointer, &buffer) == 0 else {
            throw LibvirtError.fail("cannot read the domain's UUID", kind: .requestFailed)
        }
        return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
    }

    var isPersistent: Bool { vmi_virDomainIsPersistent(pointer) == 1 }

    func start(paused: Bool) throws(VMInstallError) {
        guard vmi_virDomainCreateWithFlags(pointer, paused ? VIR_DOMAIN_START_PAUSED.rawValue : 0) == 0 else {
            throw LibvirtError.fail("libvirt could not start the VM", kind: .host)
        }
    }

    /// virDomainSendKey with QEMU's qnum codes (VIR_KEYCODE_SET_QNUM).
    func sendKeys(_ codes: [UInt32], holdMilliseconds: Int) throws(VMInstallError) {
        var keys = codes.map { UInt32($0) }
        let sent = keys.withUnsafeMutableBufferPointer {
            vmi_virDomainSendKey(
                pointer, UInt32(VIR_KEYCODE_SET_QNUM.rawValue), UInt32(holdMilliseconds), $0.baseAddress,
                Int32($0.count), 0)
        }
        guard sent == 0 else { throw LibvirtError.fail("libvirt could not send keys to the VM", kind: .host) }
    }

    func resume() throws(VMInstallError) {
        guard vmi_virDomainResume(pointer) == 0 else {
            throw LibvirtError.fail("libvirt could not resume the VM", kind: .host)
        }
    }

    /// Stops it at once; a domain that is shut off is no error, one whose state cannot be
    /// read is (it may run: nothing is undefined under it).
    func destroy() throws(VMInstallError) {
        if case .shutOff = try state() { return }
        guard vmi_virDomainDestroy(pointer) == 0 else {
            let error = LibvirtError.last()
            if !isActive { return }
            throw VMInstallError(.requestFailed, "libvirt could not stop the VM: \(error.message)")
        }
    }

    /// Removes the definition with its NVRAM and any libvirt-side metadata.
    func undefine() throws(VMInstallError) {
        let flags =
            VIR_DOMAIN_UNDEFINE_NVRAM.rawValue | VIR_DOMAIN_UNDEFINE_MANAGED_SAVE.rawValue
            | VIR_DOMAIN_UNDEFINE_SNAPSHOTS_METADATA.rawValue | VIR_DOMAIN_UNDEFINE_CHECKPOINTS_METADATA.rawValue
        guard vmi_virDomainUndefineFlags(pointer, flags) == 0 else {
            let error = LibvirtError.last()
            if error.code == LibvirtError.noDomain { return }
            throw VMInstallError(.requestFailed, "libvirt could not undefine the VM: \(error.message)")
        }
    }

    /// The live definition (or the persistent one with `inactive`).
    func xml(inactive: Bool = false) throws(VMInstallError) -> String {
        guard let text = vmi_virDomainGetXMLDesc(pointer, inactive ? VIR_DOMAIN_XML_INACTIVE.rawValue : 0) else {
            throw LibvirtError.fail("cannot read the domain's XML", kind: .requestFailed)
        }
        defer { free(text) }
        return String(cString: text)
    }

    /// Delivers this domain's lifecycle events to `events` until `stopWatching`.
    func watchLifecycle(_ events: LibvirtEvents) throws(VMInstallError) -> Int32 {
        typealias Callback =
            @convention(c) (virConnectPtr?, virDomainPtr?, Int32, Int32, UnsafeMutableRawPointer?) -> Int32
        let callback: Callback = { _, _, event, detail, opaque in
            Unmanaged<LibvirtEvents>.fromOpaque(opaque!).takeUnretainedValue().lifecycle(event, detail)
            return 0
        }
        let opaque = Unmanaged.passRetained(events).toOpaque()
        let id = vmi_virConnectDomainEventRegisterAny(
            connection.pointer, pointer, Int32(VIR_DOMAIN_EVENT_ID_LIFECYCLE.rawValue),
            unsafeBitCast(callback, to: virConnectDomainEventGenericCallback.self), opaque,
            { opaque in Unmanaged<LibvirtEvents>.fromOpaque(opaque!).release() })
        guard id >= 0 else {
            Unmanaged<LibvirtEvents>.fromOpaque(opaque).release()
            throw LibvirtError.fail("cannot watch the VM's lifecycle events", kind: .host)
        }
        return id
    }

    func stopWatching(_ callbackID: Int32) {
        _ = vmi_virConnectDomainEventDeregisterAny(connection.pointer, callbackID)
    }

    /// Write requests and bytes of all the domain's disks.
    func blockStats() throws(VMInstallError) -> (requests: UInt64, bytes: UInt64) {
        var stats = virDomainBlockStatsStruct()
        guard vmi_virDomainBlockStats(pointer, "", &stats, MemoryLayout<virDomainBlockStatsStruct>.size) == 0 else {
            throw LibvirtError.fail("cannot read the VM's disk statistics", kind: .requestFailed)
        }
        return (UInt64(max(stats.wr_req, 0)), UInt64(max(stats.wr_bytes, 0)))
    }

    /// The screen as an image file (libvirt says which format: its MIME type is returned).
    func screenshot(to path: String) throws(VMInstallError) -> String {
        guard let stream = vmi_virStreamNew(connection.pointer, 0) else {
            throw LibvirtError.fail("cannot open a stream to libvirt", kind: .requestFailed)
        }
        defer { vmi_virStreamFree(stream) }
        guard let mime = vmi_virDomainScreenshot(pointer, stream, 0, 0) else {
            throw LibvirtError.fail("libvirt could not take a screenshot", kind: .requestFailed)
        }
        defer { free(mime) }
        let fd = open(path, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o644)
        guard fd >= 0 else {
            vmi_virStreamAbort(stream)
            throw VMInstallError(.requestFailed, "cannot write \(path): \(String(cString: strerror(errno)))")
        }
        defer { close(fd) }
        var buffer = [CChar](repeating: 0, count: 1 << 16)
        while true {
            let n = vmi_virStreamRecv(stream, &buffer, buffer.count)
            if n == 0 { break }
            guard n > 0, buffer.withUnsafeBytes({ write(fd, $0.baseAddress, Int(n)) }) == Int(n) else {
                vmi_virStreamAbort(stream)
                throw VMInstallError(.requestFailed, "the screenshot could not be received or written to \(path)")
            }
        }
        _ = vmi_virStreamFinish(stream)
        return String(cString: mime)
    }
}
