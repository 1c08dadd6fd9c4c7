import Glibc

/// The VM's disks as SETTINGS settles them: each one used as it is, or created in
/// PREP_INSTALL (a file with qemu-img, or a storage-pool volume through the driver).
struct DiskPlan {
    /// The VM's disks in order; a volume still to be created has an empty path.
    var disks: [VMConfig.Disk]
    /// The disks PREP_INSTALL creates.
    var newDisks: [NewDisk]

    /// What the rules of a disk file need to know of the OS: its default size for a new disk
    /// without size=, when known; `pending` while the media are still to be recognised.
    enum DefaultSize {
        case known(UInt64?)
        case pending
    }

    /// The rules that need only the command line and this machine's files, in the order
    /// SETTINGS applies them: vm-install checks them before the job exists, SETTINGS again.
    static func check(_ spec: VMSpec, defaultSize: DefaultSize) throws(VMInstallError) {
        var seen = Set<String>()
        for disk in spec.disks where disk.pool == nil {
            try checkFile(disk, seen: &seen, defaultSize: defaultSize)
        }
        try checkAttachments(spec)
    }

    /// Settles every disk file: formats probed, the same rules applied with the OS's default
    /// size known. Storage-pool volumes wait for the host (`planVolumes`).
    static func make(_ spec: VMSpec, diskBus: DiskBus, defaultSize: UInt64?) async throws(VMInstallError) -> DiskPlan {
        var plan = DiskPlan(disks: [], newDisks: [])
        var seen = Set<String>()
        for (index, disk) in spec.disks.enumerated() {
            if disk.pool != nil {
                plan.disks.append(VMConfig.Disk(path: "", format: disk.format ?? .qcow2, bus: disk.bus ?? diskBus))
                continue
            }
            try checkFile(disk, seen: &seen, defaultSize: .known(defaultSize))
            let format: DiskFormat
            if FileIO.exists(disk.path) {
                if let given = disk.format {
                    format = given
                } else {
                    format = try await QEMUImage.probeFormat(disk.path)
                }
            } else {
                var backing: (path: String, format: DiskFormat)?
                if let base = disk.backing { backing = (base, try await QEMUImage.probeFormat(base)) }
                format = disk.format ?? .qcow2
                let size = disk.size ?? (backing == nil ? defaultSize : nil)
                plan.newDisks.append(
                    NewDisk(path: disk.path, format: format, size: size, backing: backing, volume: nil, index: index))
            }
            let bus = disk.bus ?? (disk.cdrom ? .ide : diskBus)
            plan.disks.append(
                VMConfig.Disk(path: disk.path, format: format, bus: bus, cdrom: disk.cdrom, readonly: disk.readonly))
        }
        try checkAttachments(spec)
        return plan
    }

    /// The `--disk pool=…` volumes on the host the job is placed on: existing ones used as they
    /// are, new ones created in PREP_INSTALL.
    mutating func planVolumes(_ spec: VMSpec, diskBus: DiskBus, driver: any HypervisorDriver) throws(VMInstallError) {
        for (index, disk) in spec.disks.enumerated() where disk.pool != nil {
            let volume = try driver.planVolume(disk, vmName: spec.name, index: index)
            if volume.existingPath == nil {
                newDisks.append(
                    NewDisk(
                        path: "", format: volume.format, size: volume.size, backing: nil, volume: volume, index: index))
            }
            disks[index] = VMConfig.Disk(
                path: volume.existingPath ?? "", format: volume.format, bus: disk.bus ?? diskBus,
                readonly: disk.readonly)
        }
    }

    /// New raw disks by path with their sizes: the host must have room for them.
    var newRawBytes: [String: UInt64] {
        Dictionary(
            newDisks.filter { $0.format == .raw && $0.volume == nil }.map { ($0.path, $0.size ?? 0) },
            uniquingKeysWith: { a, _ in a })
    }

    private static func checkFile(_ disk: DiskSpec, seen: inout Set<String>, defaultSize: DefaultSize)
        throws(VMInstallError)
    {
        guard seen.insert(disk.path).inserted else {
            throw VMInstallError(.settings, "disk \(disk.path) is given twice")
        }
        if FileIO.exists(disk.path) {
            guard disk.size == nil, disk.backing == nil else {
                throw VMInstallError(
                    .settings,
                    "disk \(disk.path) exists, so size= and backing= cannot apply; drop them or choose a new path")
            }
            return
        }
        guard !disk.cdrom else {
            throw VMInstallError(.settings, "CD-ROM image \(disk.path) does not exist")
        }
        if let base = disk.backing, !FileIO.exists(base) {
            throw VMInstallError(.settings, "disk \(disk.path): its backing file \(base) does not exist")
        }
        if disk.size == nil, disk.backing == nil, case .known(nil) = defaultSize {
            throw VMInstallError(
                .settings,
                "disk \(disk.path) does not exist; give size= to create it (or --os-type for a default)")
        }
        let parent = String(disk.path[..<(disk.path.lastIndex(of: "/") ?? disk.path.startIndex)])
        guard FileIO.isDirectory(parent.isEmpty ? "/" : parent) else {
            throw VMInstallError(.settings, "disk \(disk.path): the directory \(parent) does not exist")
        }
    }

    /// What goes with the disks: the files of --cloud-init and --autoinstall, and a boot
    /// disk that can be written.
    private static func checkAttachments(_ spec: VMSpec) throws(VMInstallError) {
        for file in (spec.cloudInit?.files ?? []) + [spec.autoinstall].compactMap({ $0 })
        where access(file, R_OK) != 0 || FileIO.isDirectory(file) {
            throw VMInstallError(.settings, "\(file) (--cloud-init or --autoinstall) is missing or unreadable")
        }
        if let first = spec.disks.first, first.cdrom || first.readonly {
            throw VMInstallError(
                .settings, "the first disk is the boot disk and must be writable, not a CD-ROM or readonly")
        }
    }
}

/// A disk PREP_INSTALL creates: with a size, or as a qcow2 overlay of a backing image, or
/// a storage-pool volume (its path known once it exists).
struct NewDisk {
    let path: String
    let format: DiskFormat
    let size: UInt64?
    let backing: (path: String, format: DiskFormat)?
    let volume: VolumePlan?
    /// Its place in the VM's disks.
    let index: Int
}
