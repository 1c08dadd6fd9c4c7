import Glibc
import SystemPackage
import Testing
import VMInstallKit

/// --unattended: libosinfo's install script for the OS, generated in SETTINGS and handed to
/// the installer. The Fedora tree's "installer" is a real Linux kernel (Debian's installer
/// kernel) whose initrd's /init prints its command line and every file added to its initrd
/// on /dev/ttyS0, then powers off (guests/linux-installer.sh).
@Suite(.serialized) struct UnattendedTests {
    static let adminPassword = "Adm1n-s3cret"
    static let userPassword = "Us3r-s3cret"

    func passwordFiles(_ fx: Fixture) throws -> (admin: String, user: String) {
        let admin = "\(fx.root)/admin.pw"
        let user = "\(fx.root)/user.pw"
        // The first line is the password; what follows is not.
        try FileIO.writeAtomically(admin, "\(Self.adminPassword)\nnot-the-password\n")
        try FileIO.writeAtomically(user, "\(Self.userPassword)\r\n")
        return (admin, user)
    }

    /// What the Linux test installer printed after `mark`: to the end of its line, or to
    /// `end` (a file's END line).
    func printed(_ serial: String, _ mark: String, until end: String? = nil) -> String? {
        guard let text = try? FileIO.readString(serial), let start = text.firstRange(of: mark) else { return nil }
        let rest = text[start.upperBound...]
        guard let end else { return String(rest.prefix { !$0.isNewline }) }
        return String(rest[..<(rest.firstRange(of: end)?.lowerBound ?? rest.endIndex)])
    }

    static let readable: FilePermissions = [.ownerReadWrite, .groupRead, .otherRead]

    /// Fedora's layout (images/pxeboot/) at `root`, with the Linux test installer as its kernel.
    func fedoraLayout(_ fx: Fixture, at root: String) async throws {
        let installer = "\(fx.root)/linux-installer"
        if !FileIO.exists("\(installer)/vmlinuz") {
            let built = try await fx.run(
                "/bin/bash", ["\(Fixture.repositoryRoot)/guests/linux-installer.sh", installer])
            try #require(built.code == 0, "\(built.stderr)")
        }
        try DebianInstallerTests().makeDirectories("\(root)/images/pxeboot")
        for (from, to) in [("vmlinuz", "vmlinuz"), ("initrd.img", "initrd.img")] {
            try FileIO.writeAtomically(
                "\(root)/images/pxeboot/\(to)", bytes: try FileIO.read("\(installer)/\(from)", limit: 1 << 26),
                mode: Self.readable)
        }
    }

    /// Installs VM `name` from `source` with --unattended; returns what vm-install printed, the
    /// test installer's command line and the kickstart it found in its initrd.
    func install(_ fx: Fixture, _ name: String, from source: String) async throws -> (ToolResult, [String], String) {
        let (admin, user) = try passwordFiles(fx)
        let r = try await fx.vmInstall([
            "--name", name, "--source", source, "--disk", "\(fx.root)/\(name).qcow2,size=64M", "--memory", "256",
            "--accel", "tcg",
            "--unattended", "profile=jeos,admin-password-file=\(admin),user-login=alice,user-password-file=\(user)",
            "--settle", "0.3", "--install-timeout", String(Int(2 * Fixture.patience)),
        ])
        #expect(r.code == 0, "\(r.stderr)")
        let serial = fx.vmFiles(name).serialLog
        let commandLine = try #require(
            printed(serial, "VMI-LINUX-INSTALLER CMDLINE "), "no command line on the serial console: \(r.stderr)")
        let kickstart = try #require(
            printed(serial, "VMI-LINUX-INSTALLER FILE /fedora.ks", until: "VMI-LINUX-INSTALLER END"),
            "no /fedora.ks in the initrd")
        #expect(kickstart.contains("rootpw '\(Self.adminPassword)'"), "\(kickstart)")
        #expect(kickstart.contains("useradd -G wheel alice"), "\(kickstart)")
        #expect(kickstart.contains("echo '\(Self.userPassword)' |passwd --stdin alice"), "\(kickstart)")
        #expect(kickstart.contains("--drives=/dev/vda") && !kickstart.contains("not-the-password"), "\(kickstart)")
        #expect(fileContains(serial, "VMI-LINUX-INSTALLER DONE"))
        return (r, commandLine.split(separator: " ").map(String.init), kickstart)
    }

    @Test func aFedora37TreeGetsItsKickstartInTheInitrd() async throws {
        try await Fixture.with { fx in
            let served = "\(fx.root)/www"
            let tree = "\(served)/fedora/linux/releases/37/Server/x86_64/os"
            try await fedoraLayout(fx, at: tree)
            // Fedora 37 Server's .treeinfo, as its mirrors publish it.
            try FileIO.writeAtomically(
                "\(tree)/.treeinfo",
                """
                [header]
                type = productmd.treeinfo
                version = 1.2

                [release]
                name = Fedora
                short = Fedora
                version = 37

                [tree]
                arch = x86_64
                platforms = x86_64,xen
                variants = Server

                [general]
                family = Fedora
                version = 37
                name = Fedora 37
                arch = x86_64
                platforms = x86_64,xen
                variant = Server
                packagedir = Packages

                [images-x86_64]
                kernel = images/pxeboot/vmlinuz
                initrd = images/pxeboot/initrd.img

                """, mode: Self.readable)
            try await LoopbackServer.with(.http(directory: served), in: fx) { port in
                let url = "http://127.0.0.1:\(port)/fedora/linux/releases/37/Server/x86_64/os/"
                let (r, arguments, kickstart) = try await install(fx, "ks", from: url)
                #expect(arguments.contains("inst.ks=file:/fedora.ks"), "\(arguments)")
                // The guest reaches this host's loopback as 10.0.2.2: the installer is told that.
                let guestURL = "http://10.0.2.2:\(port)/fedora/linux/releases/37/Server/x86_64/os/"
                #expect(arguments.filter { $0.hasPrefix("inst.repo=") } == ["inst.repo=\(guestURL)"], "\(arguments)")
                #expect(arguments.contains("console=ttyS0,115200n8"), "\(arguments)")
                #expect(kickstart.contains("url  --url=\(guestURL)"), "\(kickstart)")
                #expect(
                    r.stderr.contains("recognised the .treeinfo of \(url) as fedora37 (Fedora Linux 37)"), "\(r.stderr)"
                )

                // The passwords reach the VM only.
                let id = JobID(1)!
                let status = try await fx.jobs(["--status", "1", "--json"])
                #expect(status.stdout.contains("\"id\" : \"fedora37\""), "\(status.stdout)")
                for (place, text) in [
                    ("stderr", r.stderr), ("log", try FileIO.readString(fx.store.paths(id).log)),
                    ("settings", try FileIO.readString(fx.store.paths(id).settings)), ("status", status.stdout),
                    ("record", try FileIO.readString(fx.store.paths(id).record)),
                ] {
                    for password in [Self.adminPassword, Self.userPassword] {
                        #expect(!text.contains(password), "a password in the \(place)")
                    }
                }
                #expect(
                    try FileIO.readString(fx.store.paths(id).settings).contains(
                        "unattended=profile=jeos,admin-password-file=\(fx.root)/admin.pw,user-login=alice"))
            }
        }
    }

    /// Fedora's Server ISO, recognised by its volume id and read as a tree: the kernel comes
    /// out of the ISO, the kickstart (the media's own script) goes into its initrd.
    @Test func aFedora37ISOIsReadAsATreeForItsKickstart() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let stage = "\(fx.root)/cd"
            try await fedoraLayout(fx, at: stage)
            // Bootable, as osinfo-db recognises only bootable media; the test installer boots instead.
            try FileIO.writeAtomically(
                "\(stage)/installer.bin",
                bytes: try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "installer.bin")))
            let iso = "\(fx.root)/Fedora-Server-dvd-x86_64-37-1.7.iso"
            let made = try await fx.run(
                "/usr/bin/xorriso",
                [
                    "-as", "mkisofs", "-quiet", "-R", "-V", "Fedora-S-dvd-x86_64-37", "-b", "installer.bin",
                    "-no-emul-boot", "-boot-load-size", "2", "-o", iso, stage,
                ])
            try #require(made.code == 0, "\(made.stderr)")
            let (r, arguments, kickstart) = try await install(fx, "iso", from: iso)
            #expect(r.stderr.contains("recognised \(iso) as fedora37 (Fedora Linux 37)"), "\(r.stderr)")
            #expect(
                r.stderr.contains("(profile jeos, the media's) as fedora.ks, in the installer's initrd"), "\(r.stderr)")
            #expect(r.stderr.contains("extracting /images/pxeboot/vmlinuz from \(iso)"), "\(r.stderr)")
            #expect(arguments.contains("inst.ks=file:/fedora.ks"), "\(arguments)")
            #expect(arguments.filter { $0.hasPrefix("inst.repo=") }.count <= 1, "\(arguments)")
            // The media's script for the netinst and DVD images alike: packages from Fedora's mirrors.
            #expect(!kickstart.contains("url  --url=") && kickstart.contains("url  --mirrorlist="), "\(kickstart)")
        }
    }

    /// Windows takes its autounattend.xml from a CD-ROM of its own.
    @Test func windowsGetsItsAnswerFileOnACDROM() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            // A Windows 10 Enterprise ISO's volume and publisher ids, with the tiny installer.
            let stage = "\(fx.root)/win"
            try FileIO.makeDirectory(stage, mode: 0o755)
            try FileIO.writeAtomically(
                "\(stage)/installer.bin",
                bytes: try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "installer.bin")))
            let iso = "\(fx.root)/win10.iso"
            let made = try await fx.run(
                "/usr/bin/xorriso",
                [
                    "-as", "mkisofs", "-quiet", "-V", "CENA_X64FREV_EN-US_DV5", "-publisher", "MICROSOFT CORPORATION",
                    "-b", "installer.bin", "-no-emul-boot", "-boot-load-size", "2", "-o", iso, stage,
                ])
            try #require(made.code == 0, "\(made.stderr)")
            let (admin, _) = try passwordFiles(fx)
            let r = try await fx.vmInstall(
                fx.vmArguments(name: "win", guest: guest).map { $0 == guest.iso ? iso : $0 }
                    + ["--unattended=admin-password-file=\(admin),product-key=ABCDE-12345-FGHIJ-67890-KLMNO"])
            #expect(r.code == 0, "\(r.stderr)")
            let image = "\(fx.vmFiles("win").directory)/unattended.iso"
            #expect(r.stderr.contains("recognised \(iso) as win10"), "\(r.stderr)")
            #expect(r.stderr.contains("as autounattend.xml, on a CD-ROM"), "\(r.stderr)")
            #expect(r.stderr.contains("\(iso), CD-ROM \(image)"), "the install VM gets the CD-ROM: \(r.stderr)")
            var st = stat()
            #expect(stat(image, &st) == 0 && st.st_mode & 0o077 == 0, "the image with the password is the owner's only")
            let answers = "\(fx.root)/autounattend.xml"
            let extracted = try await fx.run(
                "/usr/bin/xorriso", ["-osirrox", "on", "-indev", image, "-extract", "/autounattend.xml", answers])
            #expect(extracted.code == 0, "\(extracted.stderr)")
            let xml = try FileIO.readString(answers)
            #expect(xml.contains("ABCDE-12345-FGHIJ-67890-KLMNO") && xml.contains(Self.adminPassword), "\(xml)")
            #expect(!r.stderr.contains(Self.adminPassword))
            #expect(await fx.serialShows("win", Guest.runtimeMark))
        }
    }

    /// Each refusal is one line, and SETTINGS refuses before the VM's directory exists.
    @Test func refusals() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let (admin, _) = try passwordFiles(fx)
            let live = try await OSInfoTests.labelledISO(fx, guest: guest, volumeID: "Fedora-WS-Live-37-1-7")
            // A Debian CD's layout in a directory: no .treeinfo for osinfo-db.
            let mirror = "\(fx.root)/debian-tree"
            try InstallTreeTests().makeTree(
                mirror, kernel: "install.amd/vmlinuz", initrd: "install.amd/initrd.gz", guest: guest)
            let autoinstall = "\(fx.root)/ks.cfg"
            try FileIO.writeAtomically(autoinstall, "text\n")
            let cases: [(String, [String], JobExitCode, String)] = [
                ("unknown", ["--os-type", "beos5"], .settings, "--os-type beos5 is neither in osinfo-db"),
                (
                    "noscript", ["--os-type", "freebsd13.0", "--unattended=admin-password-file=\(admin)"], .settings,
                    "--unattended: osinfo-db has no install script for FreeBSD 13.0 (freebsd13.0); give --autoinstall FILE"
                ),
                (
                    "both", ["--os-type", "fedora37", "--unattended", "--autoinstall", autoinstall], .usage,
                    "--unattended and --autoinstall exclude each other"
                ),
                (
                    "nofile", ["--os-type", "fedora37", "--unattended", "admin-password-file=\(fx.root)/none.pw"],
                    .settings,
                    "--unattended admin-password-file=\(fx.root)/none.pw: the file is missing or unreadable"
                ),
                (
                    "inline", ["--os-type", "fedora37", "--unattended=admin-password=x"], .usage,
                    "passwords are read from files only"
                ),
                (
                    "live", ["--unattended=admin-password-file=\(admin)"], .settings,
                    "osinfo-db marks this Fedora Linux 37 media installer-script=false"
                ),
                (
                    "family", ["--os-type", "fedora", "--unattended=admin-password-file=\(admin)"], .settings,
                    "the fedora family has no install script"
                ),
                (
                    "login", ["--os-type", "fedora37", "--unattended=profile=desktop"], .settings,
                    "desktop install script needs the user login; give user-login=NAME"
                ),
                (
                    "admin", ["--os-type", "fedora37", "--unattended"], .settings,
                    "jeos install script needs the admin password; give admin-password-file=FILE"
                ),
                (
                    "unknownmedia", ["--unattended=admin-password-file=\(admin)"], .settings,
                    "is not recognised by osinfo-db"
                ),
                (
                    "mirror", ["--unattended=admin-password-file=\(admin)"], .settings,
                    "\(mirror) has no ISO image and no .treeinfo to recognise; give --os-type ID"
                ),
                (
                    "nomedia", ["--os-type", "detect"], .settings,
                    "--os-type detect: \(mirror) has no ISO image and no .treeinfo to recognise"
                ),
            ]
            for (name, extra, code, message) in cases {
                var arguments = fx.vmArguments(name: name, guest: guest) + extra
                if name == "live" { arguments = arguments.map { $0 == guest.iso ? live : $0 } }
                if name == "mirror" || name == "nomedia" { arguments = arguments.map { $0 == guest.iso ? mirror : $0 } }
                let r = try await fx.vmInstall(arguments)
                #expect(r.code == code.rawValue, "\(name): \(r.stderr)")
                #expect(r.stderr.contains(message), "\(name): \(r.stderr)")
                #expect(!FileIO.exists(fx.vmFiles(name).directory), "\(name) left its VM directory")
            }
        }
    }
}
