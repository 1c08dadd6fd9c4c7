/// PREP_INSTALL: creates the disks that do not exist yet, recording each as the job's own.
struct DiskPreparation {
    let store: JobStore
    let id: JobID
    let log: JobLog

    func createDisks(_ disks: [NewDisk]) async throws(VMInstallError) {
        for disk in disks {
            let what = disk.backing.map { "on top of \($0.path)" } ?? "\(disk.size ?? 0) bytes"
            log.write("creating disk \(disk.path) (\(disk.format.rawValue), \(what))")
            // qemu-img makes sparse images at once; a terminal still sees which disk is under way.
            log.status("creating \(disk.path) ...")
            try await QEMUImage.create(disk.path, format: disk.format, size: disk.size, backing: disk.backing) { identity throws(VMInstallError) in
                try store.update(id) { $0.createdDisks.append(CreatedDisk(path: disk.path, identity: identity)) }
            }
            log.status("created \(disk.path)")
        }
    }
}
