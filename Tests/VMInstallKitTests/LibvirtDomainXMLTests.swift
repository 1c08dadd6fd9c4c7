import Glibc
import Testing

@testable import VMInstallKit

/// The domain definitions, checked by libvirt's own schema validator and by libvirt's
/// in-process test driver (test:///default), which parses them as a daemon would.
@Suite struct LibvirtDomainXMLTests {
    func config(machine: MachineType = .pc, vnc: Bool = true) -> VMConfig {
        var nic = NICSpec(mode: .user)
        nic.mac = "52:54:00:12:34:56"
        nic.model = "e1000"
        var settings = VNCSettings()
        settings.password = .given("pw<&'\"")
        return VMConfig(
            name: "web1", uuid: "5b0d6f3e-2c1a-4f7e-9a43-0e8d2b6c1f90", memoryMiB: 64, vcpus: 1, accel: "tcg",
            machine: machine, firmware: .bios, vnc: vnc ? settings : nil,
            disks: [
                VMConfig.Disk(path: "/vm/a b.qcow2", format: .qcow2),
                VMConfig.Disk(path: "/vm/data.raw", format: .raw, bus: .ide),
            ],
            nics: [nic])
    }

    func validate(_ xml: String) throws -> String {
        var template = Array("/tmp/vmi-xml-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        let path = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(path) }
        _ = xml.withCString { write(fd, $0, strlen($0)) }
        close(fd)
        let pipe = popen("/usr/bin/virt-xml-validate \(path) domain 2>&1", "r")!
        var out = ""
        var buffer = [CChar](repeating: 0, count: 4096)
        while fgets(&buffer, 4096, pipe) != nil { out += String(cString: buffer) }
        #expect(pclose(pipe) == 0, "\(out)\n\(xml)")
        return out
    }

    @Test func installAndRuntimeDefinitionsAreValid() throws {
        for machine in [MachineType.pc, .q35] {
            let xml = LibvirtDomainXML(
                vm: config(machine: machine), job: JobID(parsing: "7")!, stateDirectory: "/var/lib/vm-install",
                serialLog: "/s/serial.log")
            var medium = InstallMedium(
                iso: "/iso/install.iso", kernel: "/k/vmlinuz", initrd: "/k/initrd",
                kernelArguments: "auto=true console=ttyS0")
            medium.extraCDROM = "/k/oemdrv.iso"
            let install = xml.install(medium)
            _ = try validate(install)
            _ = try validate(xml.runtime())
            #expect(install.contains("<on_reboot>destroy</on_reboot>"))
            #expect(xml.runtime().contains("<on_reboot>restart</on_reboot>"))
            #expect(install.contains("<cmdline>auto=true console=ttyS0</cmdline>"))
            #expect(install.contains("passwd='pw&lt;&amp;&apos;&quot;'"))
            #expect(!install.contains("bus='ide'") || machine == .pc)
        }
    }

    @Test func theTestDriverTakesTheDefinitionAndKeepsOurMetadata() throws {
        let connection = try LibvirtConnection("test:///default")
        let xml = LibvirtDomainXML(
            vm: config(vnc: false), job: JobID(parsing: "7")!, stateDirectory: "/var/lib/vm-install", serialLog: nil)
        let domain = try connection.define(xml.runtime())
        defer { try? domain.undefine() }
        let back = try domain.xml(inactive: true)
        #expect(back.contains("<vmi:id>7</vmi:id>"), "\(back)")
        #expect(back.contains("xmlns:vmi=\"urn:x-vm-install:job:1\""), "\(back)")
        #expect(back.contains("52:54:00:12:34:56"))
        #expect(try connection.domain(named: "web1") != nil)
        #expect(try connection.domain(named: "no-such-vm") == nil)
    }
}
