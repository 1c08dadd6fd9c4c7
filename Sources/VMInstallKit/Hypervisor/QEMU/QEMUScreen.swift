import Glibc
import SystemPackage

/// The VM's screen through QMP `screendump`. vm-install gives a VM a display device exactly
/// when it has a VNC console; without one QEMU has no console to dump.
enum QEMUScreen {
    /// True when the VM connected to `qmp` has a screen (a VNC console, and so a display).
    static func exists(_ qmp: QMPClient) throws(VMInstallError) -> Bool {
        struct VNC: Decodable { let enabled: Bool }
        return try qmp.execute("query-vnc", as: VNC.self, deadline: .after(seconds: 5)).enabled
    }

    /// The screen as an image file's bytes: "png" or "ppm". QEMU opens the file itself, so it
    /// goes to a scratch file of this process in the VM's directory and is read back.
    static func capture(_ qmp: QMPClient, files: VMPaths, format: String) throws(VMInstallError) -> [UInt8] {
        let scratch = "\(files.directory)/.screen-\(getpid()).\(format)"
        unlink(scratch)
        defer { unlink(scratch) }
        _ = try qmp.execute(
            "screendump", arguments: ["filename": scratch, "format": format], as: QMPClient.Empty.self,
            deadline: .after(seconds: 10))
        do { return try FileIO.read(scratch, limit: 256 << 20) } catch {
            throw VMInstallError(.requestFailed, "cannot read QEMU's screendump \(scratch): \(error)")
        }
    }

    /// Writes the screen as a PNG file at `path`, replacing it in one step.
    static func save(_ qmp: QMPClient, files: VMPaths, to path: String, mode: FilePermissions) throws(VMInstallError) {
        let png = try capture(qmp, files: files, format: "png")
        do { try FileIO.writeAtomically(path, bytes: png, mode: mode) } catch {
            throw VMInstallError(.requestFailed, "cannot write \(path): \(error)")
        }
    }
}
