/// The libvirt domain definition of a VM, for its install (the install medium attached,
/// `on_reboot` destroy, so a reboot ends the install) or its runtime (booting from the first
/// disk, the definition that stays). The same VMConfig as the QEMU driver's: UUID, MACs, VNC.
struct LibvirtDomainXML {
    /// Our namespace in the domain's <metadata>.
    static let namespace = "urn:x-vm-install:job:1"
    static let prefix = "vmi"

    let vm: VMConfig
    let job: JobID
    let stateDirectory: String
    /// The serial console's log file on the daemon's host, or nil for a pty (remote hosts).
    let serialLog: String?
    /// Maps a file named in `vm` or the medium to where the daemon's host has it.
    var hostPath: (String) -> String = { $0 }
    /// The OS's full osinfo-db id, for the libosinfo metadata virt-install writes.
    var osinfoID: String?

    func install(_ medium: InstallMedium) -> String {
        var devices = disks(firstBootOrder: medium.kernel == nil && medium.iso != nil ? 2 : 1)
        var cdroms: [(path: String, boot: Int?)] = []
        if let iso = medium.iso { cdroms.append((iso, medium.kernel == nil ? 1 : nil)) }
        if let extra = medium.extraCDROM { cdroms.append((extra, nil)) }
        var names = DeviceNames(vm.disks.map(bus))
        for cdrom in cdroms {
            let bus = cdromBus
            devices += """
                    <disk type='file' device='cdrom'>
                      <driver name='qemu' type='raw'/>
                      <source file='\(XML.escape(hostPath(cdrom.path)))'/>
                      <target dev='\(names.next(bus))' bus='\(bus)'/>
                      <readonly/>\(cdrom.boot.map { "\n          <boot order='\($0)'/>" } ?? "")
                    </disk>

                """
        }
        var os = ""
        if let kernel = medium.kernel {
            os += "\n    <kernel>\(XML.escape(hostPath(kernel)))</kernel>"
            if let initrd = medium.initrd { os += "\n    <initrd>\(XML.escape(hostPath(initrd)))</initrd>" }
            if let arguments = medium.kernelArguments { os += "\n    <cmdline>\(XML.escape(arguments))</cmdline>" }
        }
        return document(os: os, devices: devices, onReboot: "destroy")
    }

    func runtime() -> String {
        document(os: "", devices: disks(firstBootOrder: 1), onReboot: "restart")
    }

    /// q35 has no IDE controller for libvirt: its CD-ROMs go on SATA.
    private var cdromBus: String { vm.machine == .q35 ? "sata" : "ide" }

    private func bus(_ disk: VMConfig.Disk) -> String {
        disk.bus == .ide && vm.machine == .q35 ? "sata" : disk.bus.rawValue
    }

    private func disks(firstBootOrder: Int) -> String {
        var names = DeviceNames([])
        var out = ""
        for (index, disk) in vm.disks.enumerated() {
            let bus = bus(disk)
            out += """
                    <disk type='file' device='\(disk.cdrom ? "cdrom" : "disk")'>
                      <driver name='qemu' type='\(disk.format.rawValue)'/>
                      <source file='\(XML.escape(hostPath(disk.path)))'/>
                      <target dev='\(names.next(bus))' bus='\(bus)'/>\(disk.readonly || disk.cdrom ? "\n      <readonly/>" : "")\(index == 0 ? "\n      <boot order='\(firstBootOrder)'/>" : "")
                    </disk>

                """
        }
        return out
    }

    private var interfaces: String {
        vm.nics.map { nic in
            let model =
                switch nic.model ?? "virtio-net-pci" {
                case "virtio-net-pci": "virtio"
                case let other: other
                }
            let head: String
            switch nic.mode {
            case .user: head = "<interface type='user'>"
            case .bridge(let br): head = "<interface type='bridge'>\n      <source bridge='\(XML.escape(br))'/>"
            case .tap(let tap):
                head = "<interface type='ethernet'>\n      <target dev='\(XML.escape(tap))' managed='no'/>"
            }
            return """
                    \(head)
                      <mac address='\(XML.escape(nic.mac ?? ""))'/>
                      <model type='\(XML.escape(model))'/>
                    </interface>

                """
        }.joined()
    }

    private var console: String {
        var out: String
        if let serialLog {
            out = """
                    <serial type='file'>
                      <source path='\(XML.escape(serialLog))' append='on'/>
                      <target port='0'/>
                    </serial>

                """
        } else {
            out = "    <serial type='pty'><target port='0'/></serial>\n"
        }
        if let vnc = vm.vnc {
            let port = vnc.display.map { "port='\(5900 + $0)' autoport='no'" } ?? "port='-1' autoport='yes'"
            var password = ""
            if case .given(let pw) = vnc.password { password = " passwd='\(XML.escape(pw))'" }
            out += """
                    <graphics type='vnc' \(port) listen='\(XML.escape(vnc.listen))'\(password)>
                      <listen type='address' address='\(XML.escape(vnc.listen))'/>
                    </graphics>
                    <video><model type='vga'/></video>

                """
        }
        return out
    }

    private func document(os: String, devices: String, onReboot: String) -> String {
        let firmware = vm.firmware == .uefi ? " firmware='efi'" : ""
        return """
            <domain type='\(vm.accel == "kvm" ? "kvm" : "qemu")'>
              <name>\(XML.escape(vm.name))</name>
              <uuid>\(vm.uuid)</uuid>
              <description>vm-install job \(job) (\(XML.escape(stateDirectory)))</description>
              <metadata>
            \(osinfoID.map(LibosinfoMetadata.element) ?? "")    <\(Self.prefix):job xmlns:\(Self.prefix)='\(Self.namespace)'>
                  <\(Self.prefix):id>\(job)</\(Self.prefix):id>
                  <\(Self.prefix):state-dir>\(XML.escape(stateDirectory))</\(Self.prefix):state-dir>
                </\(Self.prefix):job>
              </metadata>
              <memory unit='MiB'>\(vm.memoryMiB)</memory>
              <vcpu>\(vm.vcpus)</vcpu>
              <os\(firmware)>
                <type arch='x86_64' machine='\(vm.machine.rawValue)'>hvm</type>\(os)
              </os>
              <features><acpi/><apic/></features>
              <on_poweroff>destroy</on_poweroff>
              <on_reboot>\(onReboot)</on_reboot>
              <on_crash>destroy</on_crash>
              <devices>
            \(devices)\(interfaces)\(console)  </devices>
            </domain>

            """
    }

    /// vda, vdb, … per bus prefix, skipping names already taken.
    struct DeviceNames {
        private var used: [String: Int] = [:]

        /// `taken`: the buses of devices already named.
        init(_ taken: [String]) {
            for bus in taken { used[Self.prefix(bus), default: 0] += 1 }
        }

        static func prefix(_ bus: String) -> String {
            switch bus {
            case "virtio": "vd"
            case "ide": "hd"
            default: "sd"
            }
        }

        mutating func next(_ bus: String) -> String {
            let p = Self.prefix(bus)
            let n = used[p, default: 0]
            used[p] = n + 1
            return p + String(UnicodeScalar(UInt8(97 + n % 26)))
        }
    }
}
