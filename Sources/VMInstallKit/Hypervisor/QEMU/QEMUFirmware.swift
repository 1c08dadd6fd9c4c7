import Glibc

/// UEFI for QEMU: OVMF from Debian's ovmf package. The code image is shared and read-only;
/// each VM gets its own copy of the variable store, in its directory.
enum QEMUFirmware {
    static let candidates = [
        ("/usr/share/OVMF/OVMF_CODE_4M.fd", "/usr/share/OVMF/OVMF_VARS_4M.fd"),
        ("/usr/share/OVMF/OVMF_CODE.fd", "/usr/share/OVMF/OVMF_VARS.fd"),
    ]

    static func locate() -> (code: String, varsTemplate: String)? {
        candidates.first { access($0.0, R_OK) == 0 && access($0.1, R_OK) == 0 }.map { (code: $0.0, varsTemplate: $0.1) }
    }

    static func varsPath(_ files: VMPaths) -> String { "\(files.directory)/uefi-vars.fd" }

    /// The VM's variable store, copied from the template the first time the VM starts.
    static func prepareVars(_ files: VMPaths) throws(VMInstallError) -> (code: String, vars: String) {
        guard let firmware = locate() else {
            throw VMInstallError(
                .host, "UEFI firmware (OVMF) is not installed; install Debian's ovmf package or use --firmware bios")
        }
        let vars = varsPath(files)
        if !FileIO.exists(vars) {
            do {
                try FileIO.writeAtomically(vars, bytes: try FileIO.read(firmware.varsTemplate, limit: 64 << 20))
            } catch {
                throw VMInstallError(.host, "cannot copy the UEFI variable store to \(vars): \(error)")
            }
        }
        return (firmware.code, vars)
    }
}
