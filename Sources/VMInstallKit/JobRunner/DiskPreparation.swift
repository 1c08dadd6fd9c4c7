/// PREP_INSTALL: creates the disks that do not exist yet, recording each as the job's own.
struct DiskPreparation {
    let store: JobStore
    let id: JobID
    let log: JobLog

    func createDisks(_ disks: [(path: String, format: DiskFormat, size: UInt64)]) async throws(VMInstallError) {
        for disk in disks {
            log.write("creating disk \(disk.path) (\(disk.format.rawValue), \(disk.size) bytes)")
            try await QEMUImage.create(disk.path, format: disk.format, size: disk.size) { identity throws(VMInstallError) in
                try store.update(id) { $0.createdDisks.append(CreatedDisk(path: disk.path, identity: identity)) }
            }
        }
    }
}
