import Glibc

/// The disks as QEMU and qemu-img, running as this user, will open them: an existing image
/// read-write (read-only for a CD-ROM or a readonly disk), a backing file for reading, and a
/// new image created in its directory. Checked in SETTINGS, so a disk the user may not use
/// is one line naming it, not qemu-img's error in PREP_INSTALL or QEMU's in INSTALL.
struct QEMUDiskAccess {
    let user: HostUser
    let vmName: String

    func check(_ disks: [DiskSpec]) throws(VMInstallError) {
        for disk in disks where disk.pool == nil {
            var st = stat()
            if lstat(disk.path, &st) == 0 {
                try checkExisting(disk)
            } else if errno == EACCES {
                throw VMInstallError(
                    .settings,
                    "disk \(disk.path) is out of \(user.name)'s reach: a directory above it cannot be searched (Permission denied); use a disk in a directory of your own, such as \(ownDirectory)"
                )
            } else {
                try checkNew(disk)
            }
        }
    }

    private func checkExisting(_ disk: DiskSpec) throws(VMInstallError) {
        if let err = HostUser.accessError(disk.path, R_OK) {
            throw VMInstallError(
                .settings,
                "disk \(disk.path) is not readable by \(user.name) (\(state(disk.path, err))); have its owner give \(user.name) access, or use a disk of your own"
            )
        }
        guard !disk.cdrom, !disk.readonly, let err = HostUser.accessError(disk.path, W_OK) else { return }
        throw VMInstallError(
            .settings,
            "disk \(disk.path) is not writable by \(user.name) (\(state(disk.path, err))); make a disk of your own on top of it (--disk \(ownDirectory)/\(vmName).qcow2,backing=\(disk.path)), attach it with readonly, or have its owner give \(user.name) write access"
        )
    }

    private func checkNew(_ disk: DiskSpec) throws(VMInstallError) {
        let slash = disk.path.lastIndex(of: "/") ?? disk.path.startIndex
        let directory = slash == disk.path.startIndex ? "/" : String(disk.path[..<slash])
        // A missing directory is SETTINGS' to name.
        if FileIO.isDirectory(directory), let err = HostUser.accessError(directory, W_OK | X_OK) {
            throw VMInstallError(
                .settings,
                "disk \(disk.path) cannot be created: \(user.name) cannot write to \(directory) (\(state(directory, err))); put new disks in a directory of your own, such as \(ownDirectory)"
            )
        }
        if let base = disk.backing, FileIO.exists(base), let err = HostUser.accessError(base, R_OK) {
            throw VMInstallError(
                .settings,
                "disk \(disk.path): its backing file \(base) is not readable by \(user.name) (\(state(base, err))); have its owner give \(user.name) read access, or use a copy of your own"
            )
        }
    }

    private func state(_ path: String, _ err: Int32) -> String {
        "\(HostUser.ownership(of: path)): \(HostUser.describe(errno: err))"
    }

    private var ownDirectory: String { user.home ?? "~" }
}
