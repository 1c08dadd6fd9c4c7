import CShims
import Glibc

/// SETTINGS: everything the VM needs, checked against the host before anything is created,
/// except the VM's own directory, which reserves the name.
struct SettingsPhase {
    let store: JobStore
    let id: JobID
    let log: JobLog
    let cancel: CancelSignal

    struct Result {
        let config: VMConfig
        let files: VMPaths
        /// Disks to create in PREP_INSTALL.
        let newDisks: [NewDisk]
        /// An install tree whose kernel and initrd PREP_INSTALL makes available.
        let tree: InstallTree?
        /// The install script(s) of --unattended, for PREP_INSTALL to hand to the installer.
        let install: AnswerPlan?
        /// The host the job was placed on.
        let driver: any HypervisorDriver
    }

    /// The steps of SETTINGS, in order: each throws the job's refusal. The last waits for
    /// room and places the job on one of its hosts (`Admission`), where the host's own checks
    /// run; a host that refuses before anything exists there passes the job to the next.
    func run(_ spec: VMSpec) async throws(VMInstallError) -> Result {
        let candidates = HypervisorDrivers.candidates(for: spec, job: id, stateDirectory: store.root, log: log)
        // What vm-install checked before the job existed may have changed since.
        try await Preflight(store: store, drivers: candidates).check(spec)
        let tree = try await SourceSettlement(log: log, cache: "\(store.root)/cache").tree(spec)
        let os = try await OSSettlement.settle(spec, tree: tree, cache: "\(store.root)/cache", log: log)
        if let recorded = os.os { try store.update(id) { $0.os = recorded } }
        let defaults = os.defaults
        let firmware = spec.firmware ?? defaults.firmware
        // The OS's disk size, unless it fell back to the generic defaults.
        let diskSize = os.os != nil || spec.osType != nil ? defaults.diskSize : nil
        var disks = try await DiskPlan.make(spec, diskBus: defaults.diskBus, defaultSize: diskSize)
        let memoryMiB = spec.memoryMiB ?? defaults.memoryMiB
        if candidates.allSatisfy(\.runsOnThisMachine) {
            try HostChecks(store: store).check(
                memoryMiB: memoryMiB, budgetMiB: spec.memoryBudgetMiB, newRawBytes: disks.newRawBytes,
                disks: disks.disks.map(\.path).filter { !$0.isEmpty })
        }
        // The name first: a job that waits holds it, and the slot it waits for is not spent on it.
        let files = try reserveName(spec.name)
        let placed: (driver: any HypervisorDriver, value: (ResolvedHost, DiskPlan))
        do {
            placed = try Admission.place(
                id, spec: spec, memoryMiB: memoryMiB, store: store, log: log, cancel: cancel
            ) { (driver) throws(VMInstallError) -> (ResolvedHost, DiskPlan) in
                let host = try driver.prepare(spec)
                try driver.checkFirmware(firmware)
                var planned = disks
                try planned.planVolumes(spec, diskBus: defaults.diskBus, driver: driver)
                return (host, planned)
            }
        } catch {
            // No host took the job: nothing exists for it yet, and its name is free again.
            releaseName(files)
            throw error
        }
        let host = placed.value.0
        disks = placed.value.1
        if let notice = host.notice { log.write(notice) }
        let config = VMConfig(
            settling: spec, defaults: defaults, os: os.os, accel: host.accel, firmware: firmware, memoryMiB: memoryMiB,
            disks: disks, files: files)
        log.write("settings complete: UUID \(config.uuid), accelerator \(host.accel)")
        return Result(
            config: config, files: files, newDisks: disks.newDisks, tree: tree, install: os.install,
            driver: placed.driver)
    }

    /// The VM's directory is the name's reservation. It is made whole (with its owner file)
    /// under a hidden name and renamed into place without replacing anything, so exactly one
    /// job gets a name, and the directory is recorded before it exists, so a runner that dies
    /// at any point leaves nothing --delete cannot find.
    private func reserveName(_ name: String) throws(VMInstallError) -> VMPaths {
        try store.prepare()
        let files = store.vmPaths(name)
        let staging = store.vmStagingDirectory(name: name, job: id)
        try store.update(id) { $0.vmDirectory = files.directory }
        do {
            try FileIO.removeTree(staging)
            try FileIO.makeDirectory(staging, mode: 0o700)
            try FileIO.writeAtomically(VMPaths(directory: staging).owner, VMPaths.ownerMark(job: id))
        } catch {
            throw VMInstallError(.stateDirectory, "cannot create \(staging): \(error)")
        }
        guard vmi_rename_noreplace(staging, files.directory) == 0 else {
            let err = errno
            try? FileIO.removeTree(staging)
            try store.update(id) { $0.vmDirectory = nil }
            if err == EEXIST || err == ENOTEMPTY { throw Preflight.nameTaken(name, in: store) }
            throw VMInstallError(.stateDirectory, "cannot create \(files.directory): \(String(cString: strerror(err)))")
        }
        return files
    }

    /// Gives back a name `reserveName` took, when its directory still holds only this job's
    /// owner mark.
    private func releaseName(_ files: VMPaths) {
        guard (try? FileIO.listDirectory(files.directory)) == ["owner"],
            (try? FileIO.readString(files.owner, limit: 256)) == VMPaths.ownerMark(job: id)
        else { return }
        _ = try? store.update(id) { $0.vmDirectory = nil }
        try? FileIO.removeTree(files.directory)
    }
}
