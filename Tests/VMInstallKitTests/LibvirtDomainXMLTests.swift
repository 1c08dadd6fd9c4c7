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
        while fgets(&buffer, 4096, pipe) != nil {
            out += String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
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

    /// The libosinfo metadata virt-install writes, beside ours: valid for libvirt's schema,
    /// and kept by libvirt as given.
    @Test func theOSIsNamedAsVirtInstallNamesIt() throws {
        var vm = config(vnc: false)
        vm.os = "fedora37"
        #expect(vm.encoded().contains("\nos-id=fedora37\n"))
        #expect(try VMConfig.decode(vm.encoded()) == vm)
        var xml = LibvirtDomainXML(
            vm: vm, job: JobID(parsing: "7")!, stateDirectory: "/var/lib/vm-install", serialLog: nil)
        #expect(!xml.runtime().contains("libosinfo"), "no metadata without the full id")
        xml.osinfoID = LibosinfoMetadata.fullID(of: try #require(vm.os))
        #expect(xml.osinfoID == "http://fedoraproject.org/fedora/37")
        let install = xml.install(InstallMedium(iso: "/iso/install.iso"))
        _ = try validate(install)
        _ = try validate(xml.runtime())
        #expect(install.contains("<libosinfo:os id='http://fedoraproject.org/fedora/37'/>"), "\(install)")

        let connection = try LibvirtConnection("test:///default")
        let domain = try connection.define(xml.runtime())
        defer { try? domain.undefine() }
        let back = try domain.xml(inactive: true)
        #expect(
            back.contains(
                "<libosinfo:libosinfo xmlns:libosinfo=\"http://libosinfo.org/xmlns/libvirt/domain/1.0\">"), "\(back)")
        #expect(back.contains("<libosinfo:os id=\"http://fedoraproject.org/fedora/37\"/>"), "\(back)")
        #expect(back.contains("<vmi:id>7</vmi:id>"), "\(back)")
    }

    /// Full ids from osinfo-db's own files (Debian's osinfo-db 20221203), without libosinfo:
    /// by the file named as the short id, else by any file that has it.
    @Test func fullIDsComeFromTheDatabasesFiles() throws {
        for (short, full) in [
            ("fedora37", "http://fedoraproject.org/fedora/37"), ("centos-stream9", "http://centos.org/centos-stream/9"),
            ("rhel6.10", "http://redhat.com/rhel/6.10"), ("centos7", "http://centos.org/centos/7.0"),
            ("sle15sp4", "http://suse.com/sle/15.4"), ("opensuse15.4", "http://opensuse.org/opensuse/15.4"),
            ("win10", "http://microsoft.com/win/10"), ("debian11", "http://debian.org/debian/11"),
        ] {
            #expect(LibosinfoMetadata.fullID(of: short, in: ["/usr/share/osinfo"]) == full, "\(short)")
        }
        #expect(LibosinfoMetadata.fullID(of: "fedora99", in: ["/usr/share/osinfo"]) == nil)

        // A copy that comes first (the user's, imported newer) wins, under any file name.
        var template = Array("/tmp/vmi-osinfo-XXXXXX".utf8CString)
        try #require(mkdtemp(&template) != nil)
        let copy = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { try? FileIO.removeTree(copy) }
        _ = try FileIO.makeDirectory("\(copy)/os")
        _ = try FileIO.makeDirectory("\(copy)/os/fedoraproject.org")
        try FileIO.writeAtomically(
            "\(copy)/os/fedoraproject.org/newest.xml",
            "<libosinfo version='0.0.1'>\n  <os id='http://fedoraproject.org/fedora/99'>\n    <short-id>fedora99</short-id>\n  </os>\n</libosinfo>\n"
        )
        #expect(
            LibosinfoMetadata.fullID(of: "fedora99", in: [copy, "/usr/share/osinfo"])
                == "http://fedoraproject.org/fedora/99")
        #expect(
            LibosinfoMetadata.fullID(of: "fedora37", in: [copy, "/usr/share/osinfo"])
                == "http://fedoraproject.org/fedora/37")
    }
}
