/// PREP_INSTALL: creates the disks that do not exist yet, recording each as the job's own:
/// files with qemu-img, storage-pool volumes through the driver.
struct DiskPreparation {
    let store: JobStore
    let id: JobID
    let log: JobLog
    let driver: any HypervisorDriver

    /// Creates the disks; returns `config` with the paths of the new volumes filled in.
    func createDisks(_ disks: [NewDisk], in config: VMConfig) async throws(VMInstallError) -> VMConfig {
        var config = config
        for disk in disks {
            if let plan = disk.volume {
                log.write(
                    "creating volume \(plan.name) in pool \(plan.pool) (\(plan.format.rawValue), \(plan.size ?? 0) bytes)"
                )
                let volume = try driver.createVolume(plan)
                try store.update(id) { $0.createdVolumes.append(volume) }
                config.disks[disk.index].path = volume.path
                continue
            }
            let what = disk.backing.map { "on top of \($0.path)" } ?? "\(disk.size ?? 0) bytes"
            log.write("creating disk \(disk.path) (\(disk.format.rawValue), \(what))")
            // qemu-img makes sparse images at once; a terminal still sees which disk is under way.
            log.status("creating \(disk.path) ...")
            try await QEMUImage.create(disk.path, format: disk.format, size: disk.size, backing: disk.backing) {
                identity throws(VMInstallError) in
                try store.update(id) { $0.createdDisks.append(CreatedDisk(path: disk.path, identity: identity)) }
            }
            log.status("created \(disk.path)")
        }
        return config
    }
}
