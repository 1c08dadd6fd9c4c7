import Glibc

/// SETTINGS: everything the VM needs, checked against the host before anything is created,
/// except the VM's own directory, which reserves the name.
struct SettingsPhase {
    let store: JobStore
    let id: JobID
    let driver: any HypervisorDriver
    let log: JobLog

    struct Result {
        let config: VMConfig
        let files: VMPaths
        /// Disks to create in PREP_INSTALL.
        let newDisks: [(path: String, format: DiskFormat, size: UInt64)]
    }

    func run(_ spec: VMSpec) async throws(VMInstallError) -> Result {
        try spec.validateSyntax()
        if let source = spec.source {
            guard access(source, R_OK) == 0, !FileIO.isDirectory(source) else {
                throw VMInstallError(.settings, "the install source \(source) is missing or unreadable; give an ISO image with --source")
            }
        }
        if spec.importDisk, let first = spec.disks.first, !FileIO.exists(first.path) {
            throw VMInstallError(.settings, "--import boots the first disk, but \(first.path) does not exist")
        }
        let host = try driver.prepare(spec)

        var disks: [VMConfig.Disk] = []
        var newDisks: [(path: String, format: DiskFormat, size: UInt64)] = []
        var seen = Set<String>()
        for disk in spec.disks {
            guard seen.insert(disk.path).inserted else {
                throw VMInstallError(.settings, "disk \(disk.path) is given twice")
            }
            if FileIO.exists(disk.path) {
                guard disk.size == nil else {
                    throw VMInstallError(.settings, "disk \(disk.path) exists, so size= cannot apply; drop size= or choose a new path")
                }
                let format: DiskFormat
                if let given = disk.format {
                    format = given
                } else {
                    format = try await QEMUImage.probeFormat(disk.path)
                }
                disks.append(.init(path: disk.path, format: format))
            } else {
                guard let size = disk.size else {
                    throw VMInstallError(.settings, "disk \(disk.path) does not exist; give size= to create it")
                }
                let parent = String(disk.path[..<(disk.path.lastIndex(of: "/") ?? disk.path.startIndex)])
                guard FileIO.isDirectory(parent.isEmpty ? "/" : parent) else {
                    throw VMInstallError(.settings, "disk \(disk.path): the directory \(parent) does not exist")
                }
                let format = disk.format ?? .qcow2
                disks.append(.init(path: disk.path, format: format))
                newDisks.append((disk.path, format, size))
            }
        }

        let newRaw = Dictionary(newDisks.filter { $0.format == .raw }.map { ($0.path, $0.size) }, uniquingKeysWith: { a, _ in a })
        try HostChecks(store: store).check(memoryMiB: spec.memoryMiB, newRawBytes: newRaw, disks: disks.map(\.path))
        let files = try reserveName(spec.name)
        let uuid = UUIDGenerator.random()
        let nics = spec.nics.enumerated().map { index, nic in
            var settled = nic
            settled.mac = nic.mac ?? MACAddress.generated(uuid: uuid, index: index)
            return settled
        }
        let config = VMConfig(
            name: spec.name, uuid: uuid, memoryMiB: spec.memoryMiB, vcpus: spec.vcpus,
            accel: host.accel, vnc: spec.vnc, disks: disks, nics: nics)
        log.write("settings complete: UUID \(config.uuid), accelerator \(host.accel)")
        return Result(config: config, files: files, newDisks: newDisks)
    }

    /// The VM's directory is the name's reservation: mkdir succeeds for exactly one job.
    private func reserveName(_ name: String) throws(VMInstallError) -> VMPaths {
        try store.prepare()
        let files = store.vmPaths(name)
        guard mkdir(files.directory, 0o700) == 0 else {
            if errno == EEXIST {
                throw VMInstallError(.settings, "a VM named \(name) already exists in \(store.root); choose another --name")
            }
            throw VMInstallError(.stateDirectory, "cannot create \(files.directory): \(String(cString: strerror(errno)))")
        }
        try store.update(id) { $0.vmDirectory = files.directory }
        do {
            try FileIO.writeAtomically(files.owner, "job=\(id)\n")
        } catch {
            throw VMInstallError(.stateDirectory, "cannot write \(files.owner): \(error)")
        }
        return files
    }
}
