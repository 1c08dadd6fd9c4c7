import COSInfo

/// What an OS of the database asks of its VM, as `OSType` defaults, the way virt-install
/// reads it (virtinst/osdict.py): its recommended resources, else twice its minimum; virtio
/// disk and NIC only when the OS lists virtio devices (else SATA and e1000); q35 when it
/// lists the q35 chipset; UEFI when it supports UEFI and not BIOS. Runs on the libosinfo thread.
extension OSInfoDatabase {
    static let architecture = "x86_64"

    func defaults(of os: OpaquePointer, id: String) -> OSType {
        let fallback = OSType.generic
        let minimum = Self.resources(vmi_osinfo_os_get_minimum_resources(os))
        let recommended = Self.resources(vmi_osinfo_os_get_recommended_resources(os))
        func pick(_ value: (OSInfoResources) -> Int64) -> Int64? {
            if let r = recommended.map(value), r > 0 { return r }
            if let m = minimum.map(value), m > 0 { return 2 * m }
            return nil
        }
        let devices = Set(
            Self.consume(vmi_osinfo_os_get_all_devices(os)) { list in
                list.compactMap { Self.string(vmi_osinfo_entity_get_id(UnsafeMutableRawPointer($0))) }
            })
        let virtioDisk = !devices.isDisjoint(with: OSInfoDevice.virtioBlock)
        let virtioNet = !devices.isDisjoint(with: OSInfoDevice.virtioNet)
        // As virt-install: q35 only with virtio 1.0 where the OS has virtio at all.
        let q35 = devices.contains(OSInfoDevice.q35) && (!virtioNet || devices.contains(OSInfoDevice.virtio1Net))
        return OSType(
            name: id,
            memoryMiB: pick(\.ram).map { Int($0 >> 20) } ?? fallback.memoryMiB,
            vcpus: pick(\.cpus).map { Int($0) } ?? fallback.vcpus,
            diskSize: pick(\.storage).map { UInt64($0) } ?? fallback.diskSize,
            diskBus: virtioDisk ? .virtio : .sata,
            nicModel: virtioNet ? "virtio-net-pci" : "e1000",
            machine: q35 ? .q35 : .pc,
            firmware: Self.firmware(os))
    }

    /// The x86_64 entry of a resources list, else its entry for all architectures.
    private static func resources(_ list: OpaquePointer?) -> OSInfoResources? {
        consume(list) { entries in
            let all = entries.map { r in
                (
                    arch: string(vmi_osinfo_resources_get_architecture(r)) ?? "all",
                    OSInfoResources(
                        ram: vmi_osinfo_resources_get_ram(r), cpus: Int64(vmi_osinfo_resources_get_n_cpus(r)),
                        storage: vmi_osinfo_resources_get_storage(r))
                )
            }
            return (all.first { $0.arch == architecture } ?? all.first { $0.arch == "all" })?.1
        }
    }

    /// UEFI when the OS supports it and says BIOS is not supported (Windows 11); BIOS otherwise.
    private static func firmware(_ os: OpaquePointer) -> Firmware {
        let entries = consume(vmi_osinfo_os_get_complete_firmware_list(os)) { list in
            list.filter { (string(vmi_osinfo_firmware_get_architecture($0)) ?? architecture) == architecture }
                .map {
                    (
                        type: string(vmi_osinfo_firmware_get_firmware_type($0)) ?? "",
                        supported: vmi_osinfo_firmware_is_supported($0) != 0
                    )
                }
        }
        let efi = entries.contains { $0.type == "efi" && $0.supported }
        let noBIOS = entries.contains { $0.type == "bios" && !$0.supported }
        return efi && noBIOS ? .uefi : .bios
    }
}

struct OSInfoResources {
    let ram: Int64
    let cpus: Int64
    let storage: Int64
}

/// Device ids of osinfo-db, as virt-install tests them.
enum OSInfoDevice {
    static let virtioBlock: Set = ["http://pcisig.com/pci/1af4/1001", "http://pcisig.com/pci/1af4/1042"]
    static let virtioNet: Set = ["http://pcisig.com/pci/1af4/1000", "http://pcisig.com/pci/1af4/1041"]
    static let virtio1Net = "http://pcisig.com/pci/1af4/1041"
    static let q35 = "http://qemu.org/chipset/x86/q35"
}
