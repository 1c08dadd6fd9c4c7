/// `vm-install --os-type list [--json]`: every osinfo-db id with its name, then the families
/// (vm-install's own defaults, for systems the database lacks).
public enum OSTypeList {
    struct Document: Encodable {
        let osinfoDB: [String]
        let systems: [OSInfoEntry]
        let families: [Family]

        enum CodingKeys: String, CodingKey {
            case osinfoDB = "osinfo_db"
            case systems, families
        }
    }

    struct Family: Encodable {
        let name: String
        let memoryMiB: Int
        let vcpus: Int
        let diskGiB: UInt64
        let diskBus: String
        let nicModel: String
        let machine: String
        let firmware: String

        enum CodingKeys: String, CodingKey {
            case name, vcpus, machine, firmware
            case memoryMiB = "memory_mib"
            case diskGiB = "disk_gib"
            case diskBus = "disk_bus"
            case nicModel = "nic_model"
        }
    }

    /// `stateDirectory`: where the osinfo index is kept (`OSIndex`).
    public static func render(json: Bool, stateDirectory: String?) async throws(VMInstallError) -> String {
        let index = try await OSIndex.current(cache: stateDirectory.map { "\($0)/cache" })
        let systems = index.entries
        if json {
            let families = OSType.all.map {
                Family(
                    name: $0.name, memoryMiB: $0.memoryMiB, vcpus: $0.vcpus, diskGiB: $0.diskSize >> 30,
                    diskBus: $0.diskBus.rawValue,
                    nicModel: $0.nicModel, machine: $0.machine.rawValue, firmware: $0.firmware.rawValue)
            }
            return JobReport.json(
                Document(osinfoDB: index.versions, systems: systems, families: families), pretty: true) + "\n"
        }
        let width = systems.map(\.id.count).max() ?? 0
        let lines = systems.map { $0.id + String(repeating: " ", count: width - $0.id.count) + "  " + $0.name }
        return lines.joined(separator: "\n") + "\n\n" + OSType.table + "\n"
    }
}
