/// Defaults for a VM: per operating-system family (`all`, vm-install's own table, for systems
/// osinfo-db lacks), or read from osinfo-db for one of its systems (`OSInfoDatabase.defaults`).
/// Options given explicitly win.
public struct OSType: Sendable, Equatable {
    public let name: String
    public let memoryMiB: Int
    public let vcpus: Int
    /// For a new disk given without size=.
    public let diskSize: UInt64
    public let diskBus: DiskBus
    public let nicModel: String
    public let machine: MachineType
    public let firmware: Firmware

    public static let all: [OSType] = [
        OSType(
            name: "opensuse", memoryMiB: 2048, vcpus: 2, diskSize: 20 << 30, diskBus: .virtio,
            nicModel: "virtio-net-pci", machine: .q35, firmware: .bios),
        OSType(
            name: "sles", memoryMiB: 2048, vcpus: 2, diskSize: 24 << 30, diskBus: .virtio, nicModel: "virtio-net-pci",
            machine: .q35, firmware: .bios),
        OSType(
            name: "fedora", memoryMiB: 2048, vcpus: 2, diskSize: 20 << 30, diskBus: .virtio, nicModel: "virtio-net-pci",
            machine: .q35, firmware: .bios),
        OSType(
            name: "rhel", memoryMiB: 2048, vcpus: 2, diskSize: 20 << 30, diskBus: .virtio, nicModel: "virtio-net-pci",
            machine: .q35, firmware: .bios),
        OSType(
            name: "debian", memoryMiB: 1024, vcpus: 1, diskSize: 10 << 30, diskBus: .virtio, nicModel: "virtio-net-pci",
            machine: .q35, firmware: .bios),
        OSType(
            name: "ubuntu", memoryMiB: 2048, vcpus: 2, diskSize: 20 << 30, diskBus: .virtio, nicModel: "virtio-net-pci",
            machine: .q35, firmware: .bios),
        // Windows has no virtio drivers on its install media: SATA and e1000 work out of the box.
        OSType(
            name: "windows", memoryMiB: 4096, vcpus: 2, diskSize: 64 << 30, diskBus: .sata, nicModel: "e1000",
            machine: .q35, firmware: .bios),
        OSType(
            name: "generic", memoryMiB: 1024, vcpus: 1, diskSize: 10 << 30, diskBus: .virtio,
            nicModel: "virtio-net-pci", machine: .pc, firmware: .bios),
    ]

    public static let generic = all.last!

    public static func named(_ name: String) -> OSType? {
        all.first { $0.name == name.lowercased() }
    }

    /// The families' table `--os-type list` prints after osinfo-db's systems.
    public static var table: String {
        var rows = [["FAMILY", "MEMORY", "VCPUS", "DISK", "DISK BUS", "NIC MODEL", "MACHINE", "FIRMWARE"]]
        for os in all {
            rows.append([
                os.name, "\(os.memoryMiB) MiB", "\(os.vcpus)", "\(os.diskSize >> 30)G", os.diskBus.rawValue,
                os.nicModel, os.machine.rawValue, os.firmware.rawValue,
            ])
        }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            var line = zip(row, widths).map { $0 + String(repeating: " ", count: $1 - $0.count) }.joined(
                separator: "  ")
            while line.last == " " { line.removeLast() }
            return line
        }.joined(separator: "\n")
    }
}

/// The firmware the VM boots with.
public enum Firmware: String, Sendable, CaseIterable {
    case bios
    case uefi
}

/// QEMU's PC machine types: the i440FX `pc` and the ICH9 `q35` (PCIe, built-in AHCI).
public enum MachineType: String, Sendable, CaseIterable {
    case pc
    case q35
}
