import CLibvirt
import Glibc

/// libvirt, loaded once on first use, with its event loop running on a thread of its own
/// (lifecycle events and keepalive need one), and its habit of printing every error to
/// stderr turned off: errors are read where they happen (`LibvirtError`).
enum LibvirtLibrary {
    private static let loaded: String? = {
        if let why = vmi_libvirt_load() { return String(cString: why) }
        vmi_virSetErrorFunc(nil) { _, _ in }
        guard vmi_virEventRegisterDefaultImpl() == 0 else { return "its event loop could not be registered" }
        var thread = pthread_t()
        let started = pthread_create(
            &thread, nil,
            { _ in
                while true { _ = vmi_virEventRunDefaultImpl() }
            }, nil)
        guard started == 0 else { return "its event loop thread could not start" }
        pthread_detach(thread)
        return nil
    }()

    static func load() throws(VMInstallError) {
        if let why = loaded {
            throw VMInstallError(
                .host, "libvirt cannot be used (\(why)); install Debian's libvirt0 package (libvirt 9 or newer)")
        }
    }
}

/// libvirt keeps its last error per thread, so a failed call is turned into a
/// `VMInstallError` right away, on the thread that made it (as libvirt-go does).
struct LibvirtError: Sendable {
    let code: Int32
    let message: String

    /// The calling thread's last libvirt error, then cleared.
    static func last() -> LibvirtError {
        defer { vmi_virResetLastError() }
        guard let error = vmi_virGetLastError() else { return LibvirtError(code: 0, message: "unknown libvirt error") }
        return LibvirtError(
            code: error.pointee.code,
            message: error.pointee.message.map { String(cString: $0) } ?? "libvirt error \(error.pointee.code)")
    }

    /// `what` failed: "cannot define domain web1: <libvirt's message>".
    static func fail(_ what: String, kind: VMInstallError.Kind) -> VMInstallError {
        VMInstallError(kind, "\(what): \(last().message)")
    }

    static let noDomain = Int32(VIR_ERR_NO_DOMAIN.rawValue)
    static let noStorageVolume = Int32(VIR_ERR_NO_STORAGE_VOL.rawValue)
}
