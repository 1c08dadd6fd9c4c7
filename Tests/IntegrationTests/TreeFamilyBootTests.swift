import Glibc
import Testing
import VMInstallKit

/// Trees laid out with the .treeinfo files distributions publish (Tests/Samples/treeinfo),
/// served over HTTP on loopback: the install VM boots the tiny multiboot kernel in the
/// tree's kernel's place, which prints the command line it really got.
@Suite(.serialized) struct TreeFamilyBootTests {
    let trees = InstallTreeTests()
    let distributions = DistributionTreeTests()

    static func sample(_ name: String) throws -> String {
        try FileIO.readString("\(Fixture.repositoryRoot)/Tests/Samples/treeinfo/\(name)")
    }

    /// Lays out `served/name` with the sample .treeinfo (if any), `extra` files, and the
    /// kernel and initrd where the tree has them.
    func serve(
        _ served: String, _ name: String, treeinfo: String?, extra: [String: String] = [:],
        kernel: String = "images/pxeboot/vmlinuz", initrd: String = "images/pxeboot/initrd.img", guest: Guest
    ) throws {
        let root = "\(served)/\(name)"
        try trees.makeTree(root, kernel: kernel, initrd: initrd, guest: guest)
        var files = extra
        if let treeinfo { files[".treeinfo"] = try Self.sample(treeinfo) }
        for (file, text) in files {
            try FileIO.writeAtomically("\(root)/\(file)", text, mode: [.ownerReadWrite, .groupRead, .otherRead])
        }
    }

    func install(_ fx: Fixture, _ name: String, url: String, guest: Guest, extra: [String] = []) async throws
        -> ToolResult
    {
        let r = try await fx.vmInstall(
            fx.vmArguments(name: name, guest: guest).map { $0 == guest.iso ? url : $0 } + extra)
        #expect(r.code == 0, "\(r.stderr)")
        return r
    }

    /// The port of the job's syslog receiver, as the job logged it.
    func syslogPort(_ r: ToolResult) throws -> Substring {
        try #require(
            r.stderr.firstRange(of: "installer syslog: 10.0.2.2:").map {
                r.stderr[$0.upperBound...].prefix(while: \.isNumber)
            },
            "\(r.stderr)")
    }

    /// Anaconda before and after the inst. prefix: CentOS 6 and Fedora 18 are told method=,
    /// ks= and syslog=, Rocky 9 and Fedora 19 inst.repo=, inst.ks= and inst.syslog=. On QEMU's
    /// user network (the default) the loopback tree is named as 10.0.2.2 and the installer's
    /// log goes to the job's receiver; without a network, neither.
    @Test func anacondaGetsTheArgumentsOfItsEra() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let ks = "\(fx.root)/ks.cfg"
            try FileIO.writeAtomically(ks, "rootpw --plaintext vmi\n")
            try await distributions.withTree(in: fx) { served, port in
                let base = "http://127.0.0.1:\(port)"
                let guestBase = "http://10.0.2.2:\(port)"
                for (name, file) in [
                    ("centos6", "centos-6.10.treeinfo"), ("rocky9", "rocky-9.1.treeinfo"),
                    ("fedora18", "fedora-18.treeinfo"), ("fedora19", "fedora-19.treeinfo"),
                ] {
                    try serve(served, name, treeinfo: file, guest: guest)
                }

                let centos = try await install(
                    fx, "centos6", url: "\(base)/centos6/", guest: guest, extra: ["--autoinstall", ks])
                #expect(
                    centos.stderr.contains(
                        "install tree \(base)/centos6/: .treeinfo (CentOS 6.10) layout, Anaconda (method=, ks=)"),
                    "\(centos.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("centos6").serialLog)
                        == "method=\(guestBase)/centos6/ ks=file:/ks.cfg syslog=10.0.2.2:\(try syslogPort(centos)) console=ttyS0,115200n8"
                )
                #expect(fileContains("\(fx.vmFiles("centos6").directory)/install-initrd-ks.cfg", "rootpw"))

                let rocky = try await install(
                    fx, "rocky9", url: "\(base)/rocky9/", guest: guest, extra: ["--autoinstall", ks])
                #expect(rocky.stderr.contains(".treeinfo (Rocky Linux 9.1) layout, Anaconda;"), "\(rocky.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("rocky9").serialLog)
                        == "inst.repo=\(guestBase)/rocky9/ inst.ks=file:/ks.cfg inst.syslog=10.0.2.2:\(try syslogPort(rocky)) console=ttyS0,115200n8"
                )

                _ = try await install(fx, "fedora18", url: "\(base)/fedora18/", guest: guest, extra: ["--nic", "none"])
                #expect(
                    installerCommandLine(fx.vmFiles("fedora18").serialLog)
                        == "method=\(base)/fedora18/ console=ttyS0,115200n8")
                _ = try await install(fx, "fedora19", url: "\(base)/fedora19/", guest: guest, extra: ["--nic", "none"])
                #expect(
                    installerCommandLine(fx.vmFiles("fedora19").serialLog)
                        == "inst.repo=\(base)/fedora19/ console=ttyS0,115200n8")
            }
        }
    }

    /// SUSE trees of several vintages: SLES 12's (no .treeinfo, SUSE's content file) by the
    /// SUSE layout, openSUSE Leap 15.4's and SLE 15 SP4's by their .treeinfo; YaST is told
    /// install= and autoyast=.
    @Test func suseTreesOfSeveralVintages() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let profile = "\(fx.root)/autoinst.xml"
            try FileIO.writeAtomically(profile, "<profile xmlns=\"http://www.suse.com/1.0/yast2ns\"/>\n")
            let kernel = "boot/x86_64/loader/linux"
            let initrd = "boot/x86_64/loader/initrd"
            try await distributions.withTree(in: fx) { served, port in
                let base = "http://127.0.0.1:\(port)"
                // On QEMU's user network the loopback tree is named as 10.0.2.2.
                let guestBase = "http://10.0.2.2:\(port)"
                try serve(
                    served, "sles12", treeinfo: nil, extra: ["content": try Self.sample("sles-12-sp5.content")],
                    kernel: kernel, initrd: initrd, guest: guest)
                try serve(
                    served, "leap", treeinfo: "opensuse-leap-15.4.treeinfo", kernel: kernel, initrd: initrd,
                    guest: guest)
                try serve(
                    served, "sle15", treeinfo: "sles-15-sp4.treeinfo", kernel: kernel, initrd: initrd, guest: guest)

                let sles12 = try await install(
                    fx, "sles12", url: "\(base)/sles12/", guest: guest, extra: ["--autoinstall", profile])
                #expect(sles12.stderr.contains("SUSE layout, YaST; kernel \(kernel)"), "\(sles12.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("sles12").serialLog)
                        == "install=\(guestBase)/sles12/ autoyast=file:///autoinst.xml console=ttyS0,115200n8")

                for (name, product) in [
                    ("leap", "openSUSE Leap 15.4"), ("sle15", "SUSE Linux Enterprise Server 15.4"),
                ] {
                    let r = try await install(fx, name, url: "\(base)/\(name)/", guest: guest)
                    #expect(r.stderr.contains(".treeinfo (\(product)) layout, YaST; kernel \(kernel)"), "\(r.stderr)")
                    #expect(
                        installerCommandLine(fx.vmFiles(name).serialLog)
                            == "install=\(guestBase)/\(name)/ console=ttyS0,115200n8", "\(name)")
                }
            }
        }
    }

    /// A .treeinfo that names no x86_64 kernel (CentOS 5's lists only boot.iso there): the
    /// Fedora/RHEL layout gives the kernel, and the .treeinfo still reaches osinfo-db, which
    /// recognises the tree, and says Anaconda's era.
    @Test func aTreeinfoWithoutAnX86KernelIsStillRecognised() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            try await distributions.withTree(in: fx) { served, port in
                let url = "http://127.0.0.1:\(port)/centos5/"
                try serve(served, "centos5", treeinfo: "centos-5.11-xen-only.treeinfo", guest: guest)
                let r = try await install(fx, "centos5", url: url, guest: guest, extra: ["--nic", "none"])
                #expect(
                    r.stderr.contains(
                        "install tree \(url): Fedora/RHEL (.treeinfo: CentOS 5.11) layout, Anaconda (method=, ks=)"),
                    "\(r.stderr)")
                #expect(r.stderr.contains("recognised the .treeinfo of \(url) as centos5.11"), "\(r.stderr)")
                #expect(!r.stderr.contains("no .treeinfo"), "\(r.stderr)")
                #expect(installerCommandLine(fx.vmFiles("centos5").serialLog) == "method=\(url) console=ttyS0,115200n8")
            }
        }
    }

    /// A rebuild vm-install has no name for, that osinfo-db knows (here a user copy of the
    /// database adds it, as osinfo-db-import --user would): its .treeinfo is recognised as a
    /// clone of RHEL 9, and Anaconda boots with its kickstart. Without that copy, the same
    /// tree's installer is unknown and --autoinstall is refused.
    @Test func aRebuildOsinfoDBKnowsBootsAnaconda() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let ks = "\(fx.root)/ks.cfg"
            try FileIO.writeAtomically(ks, "rootpw --plaintext vmi\n")
            let user = "\(fx.root)/osinfo-user"
            try FileIO.makeDirectory(user, mode: 0o755)
            try FileIO.makeDirectory("\(user)/os", mode: 0o755)
            try FileIO.makeDirectory("\(user)/os/example.org", mode: 0o755)
            try FileIO.writeAtomically(
                "\(user)/os/example.org/examplelinux-9.xml",
                """
                <?xml version="1.0" encoding="UTF-8"?>
                <libosinfo version="0.0.1">
                  <os id="http://example.org/examplelinux/9">
                    <short-id>examplelinux9</short-id>
                    <name>Example Linux 9</name>
                    <version>9</version>
                    <vendor>Example</vendor>
                    <family>linux</family>
                    <distro>examplelinux</distro>
                    <clones id="http://redhat.com/rhel/9.0"/>
                    <tree arch="x86_64">
                      <treeinfo>
                        <family>Example Linux</family>
                        <version>9.[0-9]+</version>
                        <arch>x86_64</arch>
                      </treeinfo>
                    </tree>
                  </os>
                </libosinfo>
                """)
            try await distributions.withTree(in: fx) { served, port in
                try serve(
                    served, "example", treeinfo: nil,
                    extra: [
                        ".treeinfo":
                            "[general]\nfamily = Example Linux\nversion = 9.2\narch = x86_64\n\n[images-x86_64]\nkernel = images/pxeboot/vmlinuz\ninitrd = images/pxeboot/initrd.img\n"
                    ], guest: guest)
                let url = "http://127.0.0.1:\(port)/example/"
                func install(_ name: String, environment: [String]) async throws -> ToolResult {
                    try await fx.run(
                        "/usr/bin/env",
                        environment + ["\(Fixture.buildDirectory)/vm-install", "--state-dir", fx.stateDir]
                            + fx.vmArguments(name: name, guest: guest, extra: InstallTreeTests.noNetwork).map {
                                $0 == guest.iso ? url : $0
                            } + ["--autoinstall", ks])
                }
                let known = try await install("ex9", environment: ["OSINFO_USER_DIR=\(user)"])
                #expect(known.code == 0, "\(known.stderr)")
                #expect(
                    known.stderr.contains("as examplelinux9 (Example Linux 9), of examplelinux from rhel: Anaconda"),
                    "\(known.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("ex9").serialLog)
                        == "inst.repo=\(url) inst.ks=file:/ks.cfg console=ttyS0,115200n8")
                let unknown = try await install("ex9b", environment: ["OSINFO_USER_DIR=\(fx.root)/no-such-dir"])
                #expect(unknown.code == JobExitCode.settings.rawValue)
                #expect(
                    unknown.stderr.contains("whose installer vm-install cannot hand a file to"), "\(unknown.stderr)")
            }
        }
    }
}
