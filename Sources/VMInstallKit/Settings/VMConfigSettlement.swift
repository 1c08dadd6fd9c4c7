/// The VM's configuration as SETTINGS settles it: what was given, the OS's defaults for the
/// rest, a new UUID, MACs derived from it, the cloud-init seed's CD-ROM, a generated VNC
/// password, and the osinfo-db OS given or recognised.
extension VMConfig {
    init(
        settling spec: VMSpec, defaults: OSType, os: RecordedOS?, accel: String, firmware: Firmware, memoryMiB: Int,
        disks: DiskPlan, files: VMPaths
    ) {
        let uuid = UUIDGenerator.random()
        let nics = spec.nics.enumerated().map { index, nic in
            var settled = nic
            settled.mac = nic.mac ?? MACAddress.generated(uuid: uuid, index: index)
            settled.model = nic.model ?? defaults.nicModel
            return settled
        }
        var attached = disks.disks
        // The seed is built in PREP_INSTALL; the VM has it from its first boot on.
        if spec.cloudInit != nil {
            attached.append(
                VMConfig.Disk(
                    path: CloudInitSeed.imagePath(in: files), format: .raw, bus: .ide, cdrom: true, readonly: true))
        }
        var vnc = spec.vnc
        if vnc?.password == .generate { vnc?.password = .given(VNCSettings.generatePassword()) }
        self.init(
            name: spec.name, uuid: uuid, memoryMiB: memoryMiB, vcpus: spec.vcpus ?? defaults.vcpus, accel: accel,
            machine: spec.machine ?? defaults.machine, firmware: firmware, vnc: vnc, disks: attached, nics: nics,
            os: os?.id)
    }
}
