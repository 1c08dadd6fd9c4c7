/// Which accelerator QEMU uses.
public enum AccelChoice: String, Sendable, CaseIterable {
    case auto
    case kvm
    case tcg
}

/// A VM as asked for on vm-install's command line, before anything is checked against the host.
/// Stored in the job's `settings` file so the runner works from exactly what was asked.
public struct VMSpec: Sendable, Equatable {
    public var name: String
    /// The install medium; nil with `importDisk`.
    public var source: String?
    public var disks: [DiskSpec]
    /// The first disk already holds an installed system: no install phase.
    public var importDisk = false
    /// A kernel to boot for the install, with its initrd and command line.
    public var kernel: String?
    public var initrd: String?
    public var kernelArguments: String?

    /// What the install phase boots; nil with --import.
    public var installMedium: InstallMedium? {
        guard source != nil || kernel != nil else { return nil }
        return InstallMedium(iso: source, kernel: kernel, initrd: initrd, kernelArguments: kernelArguments)
    }
    /// An AutoYaST, kickstart or preseed file for the installer.
    public var autoinstall: String?
    /// An install script libosinfo generates for the OS (--unattended).
    public var unattended: UnattendedOptions?
    /// A NoCloud seed built in PREP_INSTALL and attached as a CD-ROM.
    public var cloudInit: CloudInitSeed?
    /// Network cards; by default one on QEMU's user-mode network.
    public var nics: [NICSpec] = [NICSpec(mode: .user)]
    /// --os-type as given (an osinfo-db id, a family, or detect); SETTINGS settles the OS
    /// and its defaults (`OSSettlement`).
    public var osType: String?
    /// What was given explicitly; the OS's defaults fill in the rest in SETTINGS.
    public var machine: MachineType?
    public var firmware: Firmware?
    public var memoryMiB: Int?
    public var vcpus: Int?
    /// nil: no VNC console.
    public var vnc: VNCSettings?
    public var accel: AccelChoice = .auto
    /// The memory all of this state directory's VMs may use together, in MiB (--memory-budget,
    /// $VM_INSTALL_MEMORY_BUDGET, else the host's memory less a reserve, taken when
    /// the job is submitted).
    public var memoryBudgetMiB: Int?
    /// At most this many of the state directory's jobs in their install at once (--max-installs).
    public var maxInstalls: Int?
    /// The libvirt hosts the VM may be installed on (--connect URI, repeated, or the hosts of
    /// --host-group), in the order given; the job is placed on one of them. Empty: QEMU itself.
    public var hosts: [PlacementHost] = []
    /// The --host-group the hosts came from, for the log.
    public var hostGroup: String?
    public var installTimeoutSeconds: Double = 3600
    /// An install whose VM shows no activity this long fails; 0: never.
    public var stallTimeoutSeconds: Double = 900
    public var settleSeconds: Double = 3
    /// Typed into the install VM's console once it runs (--boot-keys), in Packer's
    /// boot_command syntax (`BootKeys`); it may hold a secret: logged only as a summary.
    public var bootKeys: String?
    /// Seconds from the VM running to the first key (--boot-wait); nil: 10, or 0 with
    /// `bootWaitFor`.
    public var bootWaitSeconds: Double?
    /// Typing starts once the serial console has shown this text (--boot-wait-for).
    public var bootWaitFor: String?
    /// Milliseconds from one key press to the next (--boot-key-interval).
    public var bootKeyIntervalMilliseconds: Double = 100
    /// A directory the job's answer server serves to the install VM (--serve).
    public var serve: String?

    public init(name: String, source: String?, disks: [DiskSpec]) {
        self.name = name
        self.source = source
        self.disks = disks
    }

    public static let memoryRange = 16...1_048_576
    public static let vcpuRange = 1...255

    /// Checks what can be checked without touching the host: the command line's own sense.
    public func validateSyntax() throws(VMInstallError) {
        try VMName.validate(name)
        for connect in hosts.map(\.uri)
        where connect.isEmpty || !connect.contains(":")
            || connect.contains(where: { $0.isNewline || $0 == "\0" || $0 == " " || $0 == "\t" })
        {
            throw VMInstallError(
                .usage, "--connect '\(connect)': give a libvirt URI such as qemu:///system or qemu+ssh://host/system")
        }
        if let memoryBudgetMiB, memoryBudgetMiB < 1 {
            throw VMInstallError(.usage, "--memory-budget \(memoryBudgetMiB): give MiB, 1 or more")
        }
        if let maxInstalls, maxInstalls < 1 {
            throw VMInstallError(.usage, "--max-installs \(maxInstalls): give 1 or more")
        }
        if hosts.isEmpty, let disk = disks.first(where: { $0.pool != nil }) {
            throw VMInstallError(.usage, "--disk pool=\(disk.pool!): storage pools are libvirt's; give --connect URI")
        }
        if importDisk, autoinstall != nil || unattended != nil {
            throw VMInstallError(
                .usage,
                "--\(autoinstall != nil ? "autoinstall" : "unattended") is for an installer; --import has no install phase"
            )
        }
        _ = try OSChoice.parse(osType)
        if unattended != nil {
            guard autoinstall == nil else {
                throw VMInstallError(
                    .usage,
                    "--unattended and --autoinstall exclude each other: the first generates the install file, the second is one"
                )
            }
            guard source != nil, kernel == nil else {
                throw VMInstallError(
                    .usage,
                    "--unattended needs --source (an ISO image or an install tree) and no --kernel: the script goes with the installer it boots"
                )
            }
        }
        if kernel == nil, initrd != nil {
            throw VMInstallError(.usage, "--initrd goes with --kernel")
        }
        if kernel == nil, source == nil, kernelArguments != nil {
            throw VMInstallError(.usage, "--extra-args goes with --kernel or an install tree (--source DIR or URL)")
        }
        for path in [kernel, initrd].compactMap({ $0 }) where path.isEmpty || path.contains("\0") || path.contains("\n")
        {
            throw VMInstallError(.usage, "--kernel and --initrd take file paths")
        }
        if let arguments = kernelArguments, arguments.contains("\n") || arguments.contains("\0") {
            throw VMInstallError(.usage, "--extra-args must be one line")
        }
        switch (source, importDisk) {
        case (nil, false) where kernel == nil:
            throw VMInstallError(
                .usage, "--source ISO or --kernel is needed, or --import when the first disk is already installed")
        case (nil, false):
            break
        case (.some, true):
            throw VMInstallError(.usage, "--import boots the first disk as it is; drop --source")
        case (nil, true) where kernel != nil:
            throw VMInstallError(.usage, "--import boots the first disk as it is; drop --kernel")
        case (let source?, false):
            guard !source.isEmpty, !source.contains("\0"), !source.contains("\n") else {
                throw VMInstallError(.usage, "--source: give the path of an ISO image")
            }
        case (nil, true):
            break
        }
        guard !disks.isEmpty else {
            throw VMInstallError(.usage, "at least one --disk PATH[,size=SIZE][,format=raw|qcow2] is needed")
        }
        if let memoryMiB, !Self.memoryRange.contains(memoryMiB) {
            throw VMInstallError(
                .usage,
                "--memory \(memoryMiB): give MiB between \(Self.memoryRange.lowerBound) and \(Self.memoryRange.upperBound)"
            )
        }
        if let vcpus, !Self.vcpuRange.contains(vcpus) {
            throw VMInstallError(.usage, "--vcpus \(vcpus): give a number between 1 and 255")
        }
        guard installTimeoutSeconds > 0, installTimeoutSeconds.isFinite else {
            throw VMInstallError(.usage, "--install-timeout: give a positive number of seconds")
        }
        guard stallTimeoutSeconds >= 0, stallTimeoutSeconds.isFinite else {
            throw VMInstallError(.usage, "--stall-timeout: give a number of seconds, or 0 to turn the check off")
        }
        guard settleSeconds >= 0, settleSeconds.isFinite, settleSeconds <= 3600 else {
            throw VMInstallError(.usage, "--settle: give seconds between 0 and 3600")
        }
        try validateBootKeys()
    }

    func encoded() -> String {
        var kv = KeyValueFile()
        kv.append("name", name)
        kv.append("source", source)
        if importDisk { kv.append("import", "yes") }
        kv.append("cloud-init", cloudInit?.rendered)
        kv.append("autoinstall", autoinstall)
        kv.append("unattended", unattended?.rendered)
        kv.append("kernel", kernel)
        kv.append("initrd", initrd)
        kv.append("extra-args", kernelArguments)
        for disk in disks { kv.append("disk", disk.rendered) }
        kv.append("nics", String(nics.count))
        for nic in nics { kv.append("nic", nic.rendered) }
        kv.append("os-type", osType)
        kv.append("machine", machine?.rawValue)
        kv.append("firmware", firmware?.rawValue)
        kv.append("memory-mib", memoryMiB.map { String($0) })
        kv.append("vcpus", vcpus.map { String($0) })
        kv.append("vnc", vnc == nil ? "no" : "yes")
        if let vnc {
            kv.append("vnc-listen", vnc.listen)
            kv.append("vnc-display", vnc.display.map { String($0) })
            switch vnc.password {
            case .none: break
            case .given(let pw): kv.append("vnc-password", pw)
            case .generate: kv.append("vnc-password", "generate")
            }
        }
        kv.append("accel", accel.rawValue)
        for host in hosts { kv.append("connect", host.rendered) }
        kv.append("host-group", hostGroup)
        kv.append("memory-budget-mib", memoryBudgetMiB.map { String($0) })
        kv.append("max-installs", maxInstalls.map { String($0) })
        kv.append("install-timeout", String(installTimeoutSeconds))
        kv.append("stall-timeout", String(stallTimeoutSeconds))
        kv.append("settle", String(settleSeconds))
        kv.append("boot-keys", bootKeys)
        kv.append("boot-wait", bootWaitSeconds.map { String($0) })
        kv.append("boot-wait-for", bootWaitFor)
        kv.append("boot-key-interval", String(bootKeyIntervalMilliseconds))
        kv.append("serve", serve)
        return kv.render(header: "Settings of this job as given to vm-install.")
    }

    static func decode(_ text: String) throws -> VMSpec {
        let kv = try KeyValueFile.parse(text)
        func need(_ key: String) throws -> String {
            guard let value = kv.first(key) else { throw VMInstallError(.internal, "settings miss \(key)") }
            return value
        }
        var spec = VMSpec(
            name: try need("name"), source: kv.first("source"),
            disks: try kv.all("disk").map { try DiskSpec.parse($0) })
        spec.importDisk = kv.first("import") == "yes"
        spec.cloudInit = try kv.first("cloud-init").map { try CloudInitSeed.parse($0) }
        spec.autoinstall = kv.first("autoinstall")
        spec.unattended = try kv.first("unattended").map { try UnattendedOptions.parse($0) }
        spec.kernel = kv.first("kernel")
        spec.initrd = kv.first("initrd")
        spec.kernelArguments = kv.first("extra-args")
        spec.nics = try kv.all("nic").compactMap { try NICSpec.parse($0) }
        spec.osType = kv.first("os-type")
        // Settings of jobs recorded before --os-type took osinfo-db ids hold every value.
        spec.machine = kv.first("machine").flatMap(MachineType.init(rawValue:))
        spec.firmware = kv.first("firmware").flatMap(Firmware.init(rawValue:))
        spec.memoryMiB = kv.first("memory-mib").flatMap { Int($0) }
        spec.vcpus = kv.first("vcpus").flatMap { Int($0) }
        if try need("vnc") == "yes" {
            var vnc = VNCSettings()
            vnc.listen = kv.first("vnc-listen") ?? vnc.listen
            vnc.display = kv.first("vnc-display").flatMap { Int($0) }
            switch kv.first("vnc-password") {
            case nil: vnc.password = .none
            case "generate": vnc.password = .generate
            case let pw?: vnc.password = .given(pw)
            }
            spec.vnc = vnc
        }
        spec.accel = AccelChoice(rawValue: try need("accel")) ?? .auto
        spec.hosts = kv.all("connect").compactMap { PlacementHost(rendered: $0[...]) }
        spec.hostGroup = kv.first("host-group")
        spec.memoryBudgetMiB = kv.first("memory-budget-mib").flatMap { Int($0) }
        spec.maxInstalls = kv.first("max-installs").flatMap { Int($0) }
        spec.installTimeoutSeconds = Double(try need("install-timeout")) ?? spec.installTimeoutSeconds
        // Absent in the settings of jobs recorded before the option existed.
        spec.stallTimeoutSeconds = kv.first("stall-timeout").flatMap { Double($0) } ?? spec.stallTimeoutSeconds
        spec.settleSeconds = Double(try need("settle")) ?? spec.settleSeconds
        spec.bootKeys = kv.first("boot-keys")
        spec.bootWaitSeconds = kv.first("boot-wait").flatMap { Double($0) }
        spec.bootWaitFor = kv.first("boot-wait-for")
        spec.bootKeyIntervalMilliseconds =
            kv.first("boot-key-interval").flatMap { Double($0) } ?? spec.bootKeyIntervalMilliseconds
        spec.serve = kv.first("serve")
        return spec
    }
}

/// VM names become directory names and QEMU option values, so they are kept plain.
public enum VMName {
    public static func validate(_ name: String) throws(VMInstallError) {
        let allowed = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A)
                || c == UInt8(ascii: ".") || c == UInt8(ascii: "_") || c == UInt8(ascii: "-")
        }
        guard (1...64).contains(name.utf8.count), allowed, !name.hasPrefix("."), !name.hasPrefix("-") else {
            throw VMInstallError(
                .usage,
                "--name '\(name)': use 1 to 64 letters, digits, '.', '_' or '-', not starting with '.' or '-'")
        }
    }
}
