import Glibc
import SystemPackage

/// Everything about a job that can be checked from the command line and this machine's
/// files alone, before anything is created. vm-install runs it before the job exists, in
/// the foreground and with --background alike, so both refuse with the same line and exit
/// status; SETTINGS runs it again first, since files can change in between. What needs long
/// work stays in SETTINGS: fetching a remote tree, reading an ISO, recognising media, the
/// hypervisor's answers (libvirt's), waiting for room.
public struct Preflight {
    let store: JobStore
    /// The driver of each host the job may go to.
    let drivers: [any HypervisorDriver]

    public init(store: JobStore, drivers: [any HypervisorDriver]) {
        self.store = store
        self.drivers = drivers
    }

    /// Throws the first refusal, in the order SETTINGS would meet it.
    public func check(_ spec: VMSpec) async throws(VMInstallError) {
        try spec.validateSyntax()
        try store.location.checkCanBeCreated()
        // A state directory this user cannot write (another user's, a read-only mount) takes
        // no job, nor one whose jobs or VMs directory is not the user's to write: the job's VM
        // directory is made in SETTINGS.
        for dir in [store.root, store.jobsDirectory] where FileIO.isDirectory(dir) && access(dir, W_OK | X_OK) != 0 {
            throw VMInstallError(
                .stateDirectory, "cannot record a new job in \(store.jobsDirectory): \(Errno(rawValue: errno))")
        }
        if FileIO.isDirectory(store.vmsDirectory), access(store.vmsDirectory, W_OK | X_OK) != 0 {
            throw VMInstallError(
                .stateDirectory, "cannot make a VM's directory in \(store.vmsDirectory): \(Errno(rawValue: errno))")
        }
        for (option, path) in [("--kernel", spec.kernel), ("--initrd", spec.initrd)] {
            guard let path else { continue }
            guard access(path, R_OK) == 0, !FileIO.isDirectory(path) else {
                throw VMInstallError(.settings, "\(option) \(path) is missing or unreadable")
            }
        }
        for driver in drivers { try driver.preflight(spec) }
        let tree = try await SourceSettlement(log: nil, cache: "\(store.root)/cache").check(spec)
        for driver in drivers { try InstallServices.preflight(spec, driver: driver) }
        let defaults = try await OSSettlement.preflight(spec, directoryTree: tree, cache: "\(store.root)/cache")
        if let unattended = spec.unattended { _ = try unattended.readPasswords() }
        if let firmware = spec.firmware ?? defaults?.firmware {
            for driver in drivers { try driver.checkFirmware(firmware) }
        }
        if spec.importDisk, let first = spec.disks.first, !FileIO.exists(first.path), first.backing == nil {
            throw VMInstallError(
                .settings,
                "--import boots the first disk, but \(first.path) does not exist (give backing= to boot an overlay of an installed image)"
            )
        }
        // The OS's disk size once it is known: given or nothing to recognise.
        let defaultSize: DiskPlan.DefaultSize =
            defaults.map { .known(spec.osType != nil ? $0.diskSize : nil) } ?? .pending
        try DiskPlan.check(spec, defaultSize: defaultSize)
        if drivers.allSatisfy(\.runsOnThisMachine) {
            let files = spec.disks.filter { $0.pool == nil }
            var newRaw: [String: UInt64] = [:]
            for disk in files where (disk.format ?? .qcow2) == .raw && !FileIO.exists(disk.path) {
                if let size = disk.size ?? (defaults != nil && spec.osType != nil ? defaults?.diskSize : nil) {
                    newRaw[disk.path] = size
                }
            }
            try HostChecks(store: store).check(
                memoryMiB: spec.memoryMiB ?? defaults?.memoryMiB, budgetMiB: spec.memoryBudgetMiB, newRawBytes: newRaw,
                disks: files.map(\.path))
        }
        if FileIO.exists(store.vmPaths(spec.name).directory) { throw Self.nameTaken(spec.name, in: store) }
    }

    static func nameTaken(_ name: String, in store: JobStore) -> VMInstallError {
        VMInstallError(.settings, "a VM named \(name) already exists in \(store.root); choose another --name")
    }
}
