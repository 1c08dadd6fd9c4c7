import CShims
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
        let newDisks: [NewDisk]
        /// An install tree whose kernel and initrd PREP_INSTALL makes available.
        let tree: InstallTree?
        let host: ResolvedHost
        /// The install script(s) of --unattended, for PREP_INSTALL to hand to the installer.
        let install: AnswerPlan?
    }

    func run(_ spec: VMSpec) async throws(VMInstallError) -> Result {
        try spec.validateSyntax()
        for (option, path) in [("--kernel", spec.kernel), ("--initrd", spec.initrd)] {
            guard let path else { continue }
            guard access(path, R_OK) == 0, !FileIO.isDirectory(path) else {
                throw VMInstallError(.settings, "\(option) \(path) is missing or unreadable")
            }
        }
        // The hypervisor first: a missing QEMU or an unreachable libvirt is the first thing to say.
        let host = try driver.prepare(spec)
        // Another host's memory is not this state directory's to share: out of the line at once.
        if !host.isThisMachine { AdmissionLedger(store: store).release(id) }
        if let notice = host.notice { log.write(notice) }
        let tree = try await installTree(spec)
        let os = try await OSSettlement.settle(spec, tree: tree, log: log)
        if let recorded = os.os { try store.update(id) { $0.os = recorded } }
        let defaults = os.defaults
        let firmware = spec.firmware ?? defaults.firmware
        try driver.checkFirmware(firmware)
        let memoryMiB = spec.memoryMiB ?? defaults.memoryMiB
        if spec.importDisk, let first = spec.disks.first, !FileIO.exists(first.path), first.backing == nil {
            throw VMInstallError(
                .settings,
                "--import boots the first disk, but \(first.path) does not exist (give backing= to boot an overlay of an installed image)"
            )
        }

        var disks: [VMConfig.Disk] = []
        var newDisks: [NewDisk] = []
        var seen = Set<String>()
        for (index, disk) in spec.disks.enumerated() {
            if disk.pool != nil {
                let plan = try driver.planVolume(disk, vmName: spec.name, index: index)
                if plan.existingPath == nil {
                    newDisks.append(
                        NewDisk(
                            path: "", format: plan.format, size: plan.size, backing: nil, volume: plan, index: index))
                }
                disks.append(
                    VMConfig.Disk(
                        path: plan.existingPath ?? "", format: plan.format, bus: disk.bus ?? defaults.diskBus,
                        readonly: disk.readonly))
                continue
            }
            guard seen.insert(disk.path).inserted else {
                throw VMInstallError(.settings, "disk \(disk.path) is given twice")
            }
            var format: DiskFormat
            if FileIO.exists(disk.path) {
                guard disk.size == nil, disk.backing == nil else {
                    throw VMInstallError(
                        .settings,
                        "disk \(disk.path) exists, so size= and backing= cannot apply; drop them or choose a new path")
                }
                if let given = disk.format {
                    format = given
                } else {
                    format = try await QEMUImage.probeFormat(disk.path)
                }
            } else {
                guard !disk.cdrom else {
                    throw VMInstallError(.settings, "CD-ROM image \(disk.path) does not exist")
                }
                var backing: (path: String, format: DiskFormat)?
                if let base = disk.backing {
                    guard FileIO.exists(base) else {
                        throw VMInstallError(.settings, "disk \(disk.path): its backing file \(base) does not exist")
                    }
                    backing = (base, try await QEMUImage.probeFormat(base))
                }
                // The OS's disk size, unless it fell back to the generic defaults.
                let osSize = os.os != nil || spec.osType != nil ? defaults.diskSize : nil
                let size = disk.size ?? (backing == nil ? osSize : nil)
                guard size != nil || backing != nil else {
                    throw VMInstallError(
                        .settings,
                        "disk \(disk.path) does not exist; give size= to create it (or --os-type for a default)")
                }
                let parent = String(disk.path[..<(disk.path.lastIndex(of: "/") ?? disk.path.startIndex)])
                guard FileIO.isDirectory(parent.isEmpty ? "/" : parent) else {
                    throw VMInstallError(.settings, "disk \(disk.path): the directory \(parent) does not exist")
                }
                format = disk.format ?? .qcow2
                newDisks.append(
                    NewDisk(path: disk.path, format: format, size: size, backing: backing, volume: nil, index: index))
            }
            let bus = disk.bus ?? (disk.cdrom ? .ide : defaults.diskBus)
            disks.append(
                VMConfig.Disk(path: disk.path, format: format, bus: bus, cdrom: disk.cdrom, readonly: disk.readonly))
        }
        for file in (spec.cloudInit?.files ?? []) + [spec.autoinstall].compactMap({ $0 })
        where access(file, R_OK) != 0 || FileIO.isDirectory(file) {
            throw VMInstallError(.settings, "\(file) (--cloud-init or --autoinstall) is missing or unreadable")
        }
        if let first = disks.first, first.cdrom || first.readonly {
            throw VMInstallError(
                .settings, "the first disk is the boot disk and must be writable, not a CD-ROM or readonly")
        }

        let newRaw = Dictionary(
            newDisks.filter { $0.format == .raw && $0.volume == nil }.map { ($0.path, $0.size ?? 0) },
            uniquingKeysWith: { a, _ in a })
        if host.isThisMachine {
            try HostChecks(store: store).check(
                memoryMiB: memoryMiB, budgetMiB: spec.memoryBudgetMiB, newRawBytes: newRaw,
                disks: disks.map(\.path).filter { !$0.isEmpty })
        }
        let files = try reserveName(spec.name)
        let uuid = UUIDGenerator.random()
        let nics = spec.nics.enumerated().map { index, nic in
            var settled = nic
            settled.mac = nic.mac ?? MACAddress.generated(uuid: uuid, index: index)
            settled.model = nic.model ?? defaults.nicModel
            return settled
        }
        // The seed is built in PREP_INSTALL; the VM has it from its first boot on.
        if spec.cloudInit != nil {
            disks.append(
                VMConfig.Disk(
                    path: CloudInitSeed.imagePath(in: files), format: .raw, bus: .ide, cdrom: true, readonly: true))
        }
        var vnc = spec.vnc
        if vnc?.password == .generate { vnc?.password = .given(VNCSettings.generatePassword()) }
        let config = VMConfig(
            name: spec.name, uuid: uuid, memoryMiB: memoryMiB, vcpus: spec.vcpus ?? defaults.vcpus,
            accel: host.accel, machine: spec.machine ?? defaults.machine, firmware: firmware, vnc: vnc, disks: disks,
            nics: nics)
        log.write("settings complete: UUID \(config.uuid), accelerator \(host.accel)")
        return Result(config: config, files: files, newDisks: newDisks, tree: tree, host: host, install: os.install)
    }

    /// The --source as an install tree: a directory or URL always is one; an ISO is read as
    /// one when the install needs kernel arguments (an autoinstall file, --extra-args, or a
    /// serial console for an install without a graphical one) and has a known layout.
    private func installTree(_ spec: VMSpec) async throws(VMInstallError) -> InstallTree? {
        guard let source = spec.source else { return nil }
        let tree: InstallTree?
        if InstallTree.isTree(source) {
            guard spec.kernel == nil else {
                throw VMInstallError(
                    .settings,
                    "--source \(source) is an install tree, whose own kernel boots; drop --kernel and --initrd")
            }
            tree = try await InstallTree.detect(source, access: InstallTree.isURL(source) ? .url : .directory)
        } else {
            guard access(source, R_OK) == 0 else {
                throw VMInstallError(
                    .settings,
                    "the install source \(source) is missing or unreadable; give an ISO image, a CD/DVD device, an install tree or its URL"
                )
            }
            guard spec.kernel == nil,
                spec.autoinstall != nil || spec.unattended != nil || spec.kernelArguments != nil || spec.vnc == nil
            else { return nil }
            let required = spec.autoinstall != nil || spec.unattended != nil || spec.kernelArguments != nil
            do {
                tree = try await InstallTree.detect(source, access: .iso)
            } catch  where !required {
                // Only for a serial console: an image xorriso cannot read (or no xorriso)
                // boots from its own boot loader, as before.
                log.write(
                    "\(source) is not read as an install tree (\(error.message)): it boots from its own boot loader")
                tree = nil
            }
            if tree == nil, spec.kernelArguments != nil {
                throw VMInstallError(
                    .settings,
                    "--extra-args needs --kernel or an install tree, and \(source) has no installer kernel in a known layout (looked for \(InstallTree.lookedFor))"
                )
            }
            if tree == nil, spec.autoinstall != nil {
                log.write(
                    "\(source) has no installer kernel in a known layout: it boots from its own boot loader, with the autoinstall file on a CD-ROM labelled \(AutoinstallImage.label)"
                )
            }
        }
        guard let tree else { return nil }
        log.write(
            "install tree \(source): \(tree.layout.name) layout, \(tree.layout.installer.name); kernel \(tree.layout.kernel)"
        )
        if spec.autoinstall != nil {
            guard let automation = tree.layout.installer.automation else {
                throw VMInstallError(
                    .settings,
                    "--autoinstall: \(source) is a \(tree.layout.name) tree, whose installer vm-install cannot hand a file to; give the installer's own arguments with --extra-args instead"
                )
            }
            if automation.delivery == .noCloudSeed, spec.cloudInit != nil {
                throw VMInstallError(
                    .settings,
                    "--autoinstall and --cloud-init both make a NoCloud seed for \(tree.layout.installer.name); give one of them"
                )
            }
        }
        return tree
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
            if err == EEXIST || err == ENOTEMPTY {
                throw VMInstallError(
                    .settings, "a VM named \(name) already exists in \(store.root); choose another --name")
            }
            throw VMInstallError(.stateDirectory, "cannot create \(files.directory): \(String(cString: strerror(err)))")
        }
        return files
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
