import Glibc
import Testing
import VMInstallKit

/// Install trees as distributions lay them out (.treeinfo, mirrors, CDs, live-server ISOs),
/// and ISOs read as trees when the install needs kernel arguments. The "installer kernel" is
/// the tiny multiboot kernel, which prints the command line it got and its module count.
@Suite(.serialized) struct DistributionTreeTests {
    let trees = InstallTreeTests()

    func withTree(in fx: Fixture, _ body: (_ served: String, _ port: Int) async throws -> Void) async throws {
        let served = "\(fx.root)/www"
        try FileIO.makeDirectory(served, mode: 0o755)
        try await LoopbackServer.with(.http(directory: served), in: fx) { port in try await body(served, port) }
    }

    /// The tree every Debian mirror publishes: d-i is told the mirror and suite, never url=.
    @Test func aDebianMirrorTree() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            try await withTree(in: fx) { served, port in
                let installer = "debian/dists/bookworm/main/installer-amd64"
                try trees.makeTree(
                    "\(served)/\(installer)", kernel: "current/images/netboot/debian-installer/amd64/linux",
                    initrd: "current/images/netboot/debian-installer/amd64/initrd.gz", guest: guest)
                let url = "http://127.0.0.1:\(port)/\(installer)/"
                let r = try await fx.vmInstall(
                    fx.vmArguments(name: "mirror", guest: guest, extra: InstallTreeTests.noNetwork).map {
                        $0 == guest.iso ? url : $0
                    })
                #expect(r.code == 0, "\(r.stderr)")
                #expect(r.stderr.contains("Debian mirror layout, debian-installer"), "\(r.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("mirror").serialLog)
                        == "mirror/country=manual mirror/protocol=http mirror/http/hostname=127.0.0.1:\(port) mirror/http/directory=/debian mirror/suite=bookworm console=ttyS0,115200n8"
                )
            }
        }
    }

    /// .treeinfo names a kernel where no fixed layout looks, and the family that says which
    /// installer boots: Anaconda, told the repository and given the kickstart in its initrd.
    @Test func aTreeinfoTreeWithItsKernelAnywhere() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            try await withTree(in: fx) { served, port in
                try trees.makeTree(
                    "\(served)/f37", kernel: "odd/place/kernel.img", initrd: "odd/place/ramdisk.img", guest: guest)
                try FileIO.writeAtomically(
                    "\(served)/f37/.treeinfo",
                    """
                    [general]
                    family = Fedora
                    version = 37
                    arch = x86_64

                    [images-x86_64]
                    kernel = odd/place/kernel.img
                    initrd = odd/place/ramdisk.img

                    """, mode: [.ownerReadWrite, .otherRead, .groupRead])
                let ks = "\(fx.root)/ks.cfg"
                try FileIO.writeAtomically(ks, "rootpw --plaintext vmi\n")
                let url = "http://127.0.0.1:\(port)/f37/"
                let r = try await fx.vmInstall(
                    fx.vmArguments(name: "f37", guest: guest, extra: InstallTreeTests.noNetwork).map {
                        $0 == guest.iso ? url : $0
                    } + [
                        "--autoinstall", ks,
                    ])
                #expect(r.code == 0, "\(r.stderr)")
                #expect(
                    r.stderr.contains(
                        "install tree \(url): .treeinfo (Fedora 37) layout, Anaconda; kernel odd/place/kernel.img"),
                    "\(r.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles("f37").serialLog)
                        == "inst.repo=\(url) inst.ks=file:/ks.cfg console=ttyS0,115200n8")
                #expect(fileContains("\(fx.vmFiles("f37").directory)/install-initrd-ks.cfg", "rootpw --plaintext vmi"))

                // A family we do not know: its kernel boots, but no file can be handed over.
                try FileIO.writeAtomically(
                    "\(served)/f37/.treeinfo",
                    "[general]\nfamily = Plan 9\n[images-x86_64]\nkernel = odd/place/kernel.img\ninitrd = odd/place/ramdisk.img\n",
                    mode: [.ownerReadWrite, .otherRead, .groupRead])
                let unknown = try await fx.vmInstall(
                    fx.vmArguments(name: "p9", guest: guest, extra: InstallTreeTests.noNetwork).map {
                        $0 == guest.iso ? url : $0
                    } + ["--autoinstall", ks])
                #expect(unknown.code == JobExitCode.settings.rawValue)
                #expect(
                    unknown.stderr.contains("whose installer vm-install cannot hand a file to"), "\(unknown.stderr)")
            }
        }
    }

    /// An ISO with the tiny installer's boot image and a Debian CD's install.amd/: it boots its
    /// own boot loader unless the install needs kernel arguments.
    func makeDebianCD(
        _ fx: Fixture, guest: Guest,
        layout: (kernel: String, initrd: String) = ("install.amd/vmlinuz", "install.amd/initrd.gz")
    ) async throws -> String {
        let stage = "\(fx.root)/cd"
        try trees.makeTree(stage, kernel: layout.kernel, initrd: layout.initrd, guest: guest)
        let boot = try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "installer.bin"))
        try FileIO.writeAtomically("\(stage)/installer.bin", bytes: boot)
        let iso = "\(fx.root)/cd.iso"
        let made = try await fx.run(
            "/usr/bin/xorriso",
            [
                "-as", "mkisofs", "-quiet", "-R", "-V", "VMITREE", "-b", "installer.bin",
                "-no-emul-boot", "-boot-load-size", "2", "-o", iso, stage,
            ])
        try #require(made.code == 0, "\(made.stderr)")
        try FileIO.removeTree(stage)
        return iso
    }

    @Test func anISOIsATreeWhenTheInstallNeedsArguments() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let iso = try await makeDebianCD(fx, guest: guest)
            let preseed = "\(fx.root)/preseed.cfg"
            try FileIO.writeAtomically(preseed, "d-i debian-installer/locale string en_US\n")

            // With a graphical console and nothing to pass, the ISO's own boot loader runs.
            let plain = try await fx.vmInstall(
                fx.vmArguments(name: "plain", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? iso : $0
                } + ["--vnc"])
            #expect(plain.code == 0, "\(plain.stderr)")
            #expect(await fx.serialShows("plain", Guest.runtimeMark))
            #expect(!fileContains(fx.vmFiles("plain").serialLog, "VM-INSTALL KERNEL"))

            // An autoinstall file: the kernel comes out of the ISO, the ISO stays attached.
            let auto = try await fx.vmInstall(
                fx.vmArguments(name: "auto", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? iso : $0
                } + [
                    "--vnc", "--autoinstall", preseed,
                ])
            #expect(auto.code == 0, "\(auto.stderr)")
            #expect(auto.stderr.contains("install tree \(iso): Debian CD layout, debian-installer"), "\(auto.stderr)")
            #expect(auto.stderr.contains("extracting /install.amd/vmlinuz from \(iso)"), "\(auto.stderr)")
            #expect(
                auto.stderr.contains(
                    "initrd \(fx.vmFiles("auto").directory)/install-initrd-preseed.cfg, arguments 'auto=true priority=critical', \(iso)"
                ), "\(auto.stderr)")
            #expect(installerCommandLine(fx.vmFiles("auto").serialLog) == "auto=true priority=critical")
            #expect(
                fileContains("\(fx.vmFiles("auto").directory)/install-initrd-preseed.cfg", "debian-installer/locale"))

            // No graphical console: the installer gets the serial console.
            let serial = try await fx.vmInstall(
                fx.vmArguments(name: "serial", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? iso : $0
                })
            #expect(serial.code == 0, "\(serial.stderr)")
            #expect(installerCommandLine(fx.vmFiles("serial").serialLog) == "console=ttyS0,115200n8")

            // --extra-args on an ISO without an installer kernel cannot be honoured.
            let bare = try await fx.vmInstall(
                fx.vmArguments(name: "bare", guest: guest, extra: InstallTreeTests.noNetwork) + [
                    "--extra-args", "quiet",
                ])
            #expect(bare.code == JobExitCode.settings.rawValue)
            #expect(bare.stderr.contains("has no installer kernel in a known layout"), "\(bare.stderr)")
        }
    }

    /// Ubuntu's live-server ISO: Subiquity takes the autoinstall file as the user-data of a
    /// NoCloud seed, with the `autoinstall` argument.
    @Test func anUbuntuLiveServerISO() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let iso = try await makeDebianCD(fx, guest: guest, layout: ("casper/vmlinuz", "casper/initrd"))
            let userData = "\(fx.root)/autoinstall.yaml"
            try FileIO.writeAtomically(userData, "#cloud-config\nautoinstall:\n  version: 1\n")
            let r = try await fx.vmInstall(
                fx.vmArguments(name: "jammy", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? iso : $0
                } + [
                    "--autoinstall", userData,
                ])
            #expect(r.code == 0, "\(r.stderr)")
            #expect(r.stderr.contains("Ubuntu live-server layout, Subiquity"), "\(r.stderr)")
            #expect(
                installerCommandLine(fx.vmFiles("jammy").serialLog) == "autoinstall ds=nocloud console=ttyS0,115200n8")
            let seed = "\(fx.vmFiles("jammy").directory)/autoinstall-seed.iso"
            #expect(
                try await fx.run("/usr/bin/xorriso", ["-indev", seed, "-pvd_info"]).stdout.contains(
                    "Volume Id    : cidata"))
            let extracted = "\(fx.root)/user-data"
            _ = try await fx.run(
                "/usr/bin/xorriso", ["-osirrox", "on", "-indev", seed, "-extract", "/user-data", extracted])
            #expect(try FileIO.readString(extracted) == "#cloud-config\nautoinstall:\n  version: 1\n")

            let both = try await fx.vmInstall(
                fx.vmArguments(name: "both", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? iso : $0
                }
                    + ["--autoinstall", userData, "--cloud-init", "user-data=\(userData)"])
            #expect(both.code == JobExitCode.settings.rawValue)
            #expect(both.stderr.contains("both make a NoCloud seed"), "\(both.stderr)")
        }
    }
}
