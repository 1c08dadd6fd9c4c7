/// A VM's final configuration, written in RUNTIME_CONF as STATE/vms/NAME/vm.conf for people
/// to read, and read back to boot the runtime VM: what is booted is what the file says.
public struct VMConfig: Sendable, Equatable {
    public struct Disk: Sendable, Equatable {
        public var path: String
        public var format: DiskFormat
        public var bus: DiskBus = .virtio
        public var cdrom = false
        public var readonly = false

        /// `bus=..,device=..,format=..,readonly=..,path=PATH`: the path last, taken as it is.
        var encoded: String {
            "bus=\(bus.rawValue),device=\(cdrom ? "cdrom" : "disk"),format=\(format.rawValue),readonly=\(readonly ? "yes" : "no"),path=\(path)"
        }

        init(path: String, format: DiskFormat, bus: DiskBus = .virtio, cdrom: Bool = false, readonly: Bool = false) {
            self.path = path
            self.format = format
            self.bus = bus
            self.cdrom = cdrom
            self.readonly = readonly
        }

        init?(encoded: String) {
            var rest = Substring(encoded)
            var fields: [Substring: Substring] = [:]
            while !rest.hasPrefix("path=") {
                guard let comma = rest.firstIndex(of: ","), let eq = rest[..<comma].firstIndex(of: "=") else {
                    return nil
                }
                fields[rest[..<eq]] = rest[rest.index(after: eq)..<comma]
                rest = rest[rest.index(after: comma)...]
            }
            guard let format = fields["format"].flatMap({ DiskFormat(rawValue: String($0)) }),
                let bus = DiskBus(rawValue: String(fields["bus"] ?? "virtio"))
            else { return nil }
            self.init(
                path: String(rest.dropFirst(5)), format: format, bus: bus,
                cdrom: fields["device"] == "cdrom", readonly: fields["readonly"] == "yes")
        }
    }

    public var name: String
    public var uuid: String
    public var memoryMiB: Int
    public var vcpus: Int
    /// "kvm" or "tcg".
    public var accel: String
    public var machine: MachineType = .pc
    public var firmware: Firmware = .bios
    /// With the password settled (never `.generate`); nil: no VNC console.
    public var vnc: VNCSettings?
    /// The first disk is the boot disk.
    public var disks: [Disk]
    /// Network cards, each with its MAC address settled.
    public var nics: [NICSpec] = []
    /// The osinfo-db short id of the OS, given or recognised in SETTINGS ("fedora37"); a
    /// libvirt domain names the OS to virt-manager and Cockpit by it (`LibosinfoMetadata`).
    public var os: String?

    public func encoded() -> String {
        var kv = KeyValueFile()
        kv.append("name", name)
        kv.append("uuid", uuid)
        kv.append("memory-mib", String(memoryMiB))
        kv.append("vcpus", String(vcpus))
        kv.append("accel", accel)
        kv.append("machine", machine.rawValue)
        kv.append("firmware", firmware.rawValue)
        kv.append("vnc", vnc == nil ? "no" : "yes")
        if let vnc {
            kv.append("vnc-listen", vnc.listen)
            kv.append("vnc-display", vnc.display.map { String($0) })
            if case .given(let pw) = vnc.password { kv.append("vnc-password", pw) }
        }
        for disk in disks { kv.append("disk", disk.encoded) }
        for nic in nics { kv.append("nic", nic.rendered) }
        kv.append("os-id", os)
        return kv.render(
            header: "Configuration of VM \(name), written by vm-install.\nThe first disk is the boot disk.")
    }

    private static func decodeVNC(_ kv: KeyValueFile) -> VNCSettings {
        var vnc = VNCSettings()
        vnc.listen = kv.first("vnc-listen") ?? vnc.listen
        vnc.display = kv.first("vnc-display").flatMap { Int($0) }
        if let pw = kv.first("vnc-password") { vnc.password = .given(pw) }
        return vnc
    }

    public static func decode(_ text: String) throws(VMInstallError) -> VMConfig {
        let kv: KeyValueFile
        do { kv = try KeyValueFile.parse(text) } catch {
            throw VMInstallError(.runtimeFailed, "the VM configuration is unreadable: \(error)")
        }
        func need(_ key: String) throws(VMInstallError) -> String {
            guard let value = kv.first(key) else {
                throw VMInstallError(.runtimeFailed, "the VM configuration misses \(key)")
            }
            return value
        }
        var disks: [Disk] = []
        for entry in kv.all("disk") {
            guard let disk = Disk(encoded: entry) else {
                throw VMInstallError(.runtimeFailed, "the VM configuration has a bad disk line: \(entry)")
            }
            disks.append(disk)
        }
        guard let memory = Int(try need("memory-mib")), let vcpus = Int(try need("vcpus")), !disks.isEmpty else {
            throw VMInstallError(.runtimeFailed, "the VM configuration has bad memory, vcpus or no disk")
        }
        var nics: [NICSpec] = []
        for entry in kv.all("nic") {
            guard let nic = try? NICSpec.parse(entry), nic.mac != nil else {
                throw VMInstallError(.runtimeFailed, "the VM configuration has a bad nic line: \(entry)")
            }
            nics.append(nic)
        }
        guard let machine = MachineType(rawValue: kv.first("machine") ?? "pc") else {
            throw VMInstallError(.runtimeFailed, "the VM configuration has an unknown machine type")
        }
        return VMConfig(
            name: try need("name"), uuid: try need("uuid"), memoryMiB: memory, vcpus: vcpus,
            accel: try need("accel"), machine: machine,
            firmware: Firmware(rawValue: kv.first("firmware") ?? "bios") ?? .bios,
            vnc: try need("vnc") == "yes" ? decodeVNC(kv) : nil, disks: disks, nics: nics, os: kv.first("os-id"))
    }
}
