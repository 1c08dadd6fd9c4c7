import Glibc
import Testing
import VMInstallKit

/// Install trees, local and served over HTTP on loopback by a server the test starts: the
/// tree's "installer kernel" is the tiny multiboot kernel, which prints the command line it got.
@Suite(.serialized) struct InstallTreeTests {
    /// These VMs have no network: a loopback tree keeps its address and no installer log is
    /// asked for, so each command line shows the tree's own arguments alone. On QEMU's user
    /// network (the default) the tree is named as 10.0.2.2 and the installer is told where to
    /// log (TreeFamilyBootTests, BootKeysInstallTests).
    static let noNetwork = ["--nic", "none"]

    /// Lays out a tree in one of the known layouts.
    func makeTree(_ root: String, kernel: String, initrd: String, guest: Guest) throws {
        let kernelBytes = try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "kernel.bin"))
        for (path, bytes) in [(kernel, kernelBytes), (initrd, Array("initrd\n".utf8))] {
            let full = "\(root)/\(path)"
            var dir = ""
            for part in full.split(separator: "/").dropLast() {
                dir += "/\(part)"
                _ = try? FileIO.makeDirectory(dir, mode: 0o755)
            }
            let fd = open(full, O_CREAT | O_WRONLY | O_TRUNC, 0o644)
            _ = bytes.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
    }

    /// A directory on the host means nothing to the guest: its kernel boots without a source
    /// argument, with the serial console (no graphical one) and the --extra-args.
    @Test func aLocalTreeBootsItsKernel() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let tree = "\(fx.root)/fedora-tree"
            try makeTree(tree, kernel: "images/pxeboot/vmlinuz", initrd: "images/pxeboot/initrd.img", guest: guest)
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "local", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? tree : $0
                }
                    + ["--extra-args=vmi.extra=1"])
            #expect(result.code == 0, "\(result.stderr)")
            #expect(installerCommandLine(fx.vmFiles("local").serialLog) == "console=ttyS0,115200n8 vmi.extra=1")
            #expect(result.stderr.contains("Fedora/RHEL layout, Anaconda"), "\(result.stderr)")
            #expect(fileContains(fx.vmFiles("local").serialLog, "VM-INSTALL MODULES 1"))

            let empty = "\(fx.root)/empty-tree"
            try FileIO.makeDirectory(empty)
            let none = try await fx.vmInstall(
                fx.vmArguments(name: "empty", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? empty : $0
                })
            #expect(none.code == JobExitCode.settings.rawValue)
            #expect(
                none.stderr.contains(
                    "no installer kernel found in \(empty); looked for .treeinfo, treeinfo, current/images/netboot/debian-installer/amd64/linux (Debian mirror)"
                ), "\(none.stderr)")
        }
    }

    /// The same over FTP (Debian's python3-pyftpdlib serves it, anonymous and read-only).
    @Test func aTreeServedOverFTP() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let served = "\(fx.root)/ftp"
            try makeTree(
                "\(served)/debian", kernel: "install.amd/vmlinuz", initrd: "install.amd/initrd.gz", guest: guest)
            let server = try await LoopbackServer.start(.ftp(directory: served), in: fx)
            defer { server.stop() }
            let port = server.port
            let url = "ftp://127.0.0.1:\(port)/debian/"
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "ftp", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? url : $0
                })
            #expect(result.code == 0, "\(result.stderr)")
            #expect(result.stderr.contains("Debian CD layout, debian-installer"), "\(result.stderr)")
            // d-i takes url= as preseed/url: a tree is never passed that way.
            #expect(installerCommandLine(fx.vmFiles("ftp").serialLog) == "console=ttyS0,115200n8")
        }
    }

    /// --autoinstall: a tree's installer gets the file inside its initrd, under its own name and
    /// with its own arguments; an ISO that boots from its own boot loader finds it on an OEMDRV
    /// image under each family's name.
    @Test func autoinstallReachesTheInstaller() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let answers = "\(fx.root)/answers"
            try FileIO.writeAtomically(answers, "# unattended answers\n")
            for (name, kernel, initrd, argument, file) in [
                (
                    "yast", "boot/x86_64/loader/linux", "boot/x86_64/loader/initrd", "autoyast=file:///autoinst.xml",
                    "autoinst.xml"
                ),
                (
                    "preseed", "install.amd/vmlinuz", "install.amd/initrd.gz", "auto=true priority=critical",
                    "preseed.cfg"
                ),
                ("kickstart", "images/pxeboot/vmlinuz", "images/pxeboot/initrd.img", "inst.ks=file:/ks.cfg", "ks.cfg"),
            ] {
                let tree = "\(fx.root)/\(name)-tree"
                try makeTree(tree, kernel: kernel, initrd: initrd, guest: guest)
                let r = try await fx.vmInstall(
                    fx.vmArguments(name: name, guest: guest, extra: InstallTreeTests.noNetwork).map {
                        $0 == guest.iso ? tree : $0
                    } + [
                        "--autoinstall", answers,
                    ])
                #expect(r.code == 0, "\(r.stderr)")
                #expect(
                    installerCommandLine(fx.vmFiles(name).serialLog) == "\(argument) console=ttyS0,115200n8", "\(name)")
                #expect(fileContains(fx.vmFiles(name).serialLog, "VM-INSTALL MODULES 1"))
                let copy = try FileIO.read("\(fx.vmFiles(name).directory)/install-initrd-\(file)")
                let text = String(decoding: copy.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
                #expect(
                    text.hasPrefix("initrd") && text.contains("070701") && text.contains(file)
                        && text.contains("# unattended answers") && text.contains("TRAILER!!!"), "\(name)")
                #expect(try FileIO.readString("\(tree)/\(initrd)") == "initrd\n", "the tree itself is untouched")
                #expect(!FileIO.exists(AutoinstallImage.imagePath(in: fx.vmFiles(name))), "no OEMDRV image for a tree")
            }

            // The tiny guest's ISO has no installer kernel: it boots its own boot loader.
            let iso = try await fx.vmInstall(
                fx.vmArguments(name: "oemdrv", guest: guest, extra: InstallTreeTests.noNetwork) + [
                    "--autoinstall", answers,
                ])
            #expect(iso.code == 0, "\(iso.stderr)")
            #expect(iso.stderr.contains("has no installer kernel in a known layout"), "\(iso.stderr)")
            let image = AutoinstallImage.imagePath(in: fx.vmFiles("oemdrv"))
            #expect(
                try await fx.run("/usr/bin/xorriso", ["-indev", image, "-pvd_info"]).stdout.contains(
                    "Volume Id    : OEMDRV"))
            let listing = try await fx.run("/usr/bin/xorriso", ["-indev", image, "-ls", "/"])
            for name in ["autoinst.xml", "ks.cfg", "preseed.cfg"] { #expect(listing.stdout.contains(name), "\(name)") }

            #expect(
                try await fx.vmInstall(["--name", "x", "--import", "--disk", "/tmp/x", "--autoinstall", answers]).code
                    == 2)
        }
    }

    @Test func aTreeServedOverHTTPIsDownloadedAndNamedToTheInstaller() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let served = "\(fx.root)/www"
            try makeTree(
                "\(served)/suse", kernel: "boot/x86_64/loader/linux", initrd: "boot/x86_64/loader/initrd", guest: guest)
            let server = try await LoopbackServer.start(.http(directory: served), in: fx)
            defer { server.stop() }
            let port = server.port
            let url = "http://127.0.0.1:\(port)/suse/"

            let result = try await fx.vmInstall(
                fx.vmArguments(name: "web", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? url : $0
                })
            #expect(result.code == 0, "\(result.stderr)")
            #expect(result.stderr.contains("SUSE layout, YaST"))
            #expect(installerCommandLine(fx.vmFiles("web").serialLog) == "install=\(url) console=ttyS0,115200n8")
            #expect(FileIO.exists("\(fx.vmFiles("web").directory)/install-kernel"))

            let missing = try await fx.vmInstall(
                fx.vmArguments(name: "gone", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? "http://127.0.0.1:\(port)/nothing/" : $0
                })
            #expect(missing.code == JobExitCode.settings.rawValue)
            let unreachable = try await fx.vmInstall(
                fx.vmArguments(name: "far", guest: guest, extra: InstallTreeTests.noNetwork).map {
                    $0 == guest.iso ? "http://127.0.0.1:1/" : $0
                })
            #expect(unreachable.code == JobExitCode.settings.rawValue)
            #expect(unreachable.stderr.contains("cannot be reached"), "\(unreachable.stderr)")
        }
    }
}

/// Starts a helper server with its output discarded; its pid. Stop it with SIGKILL: it
/// inherits the test thread's signal mask, which may block SIGTERM.
func spawnQuietly(_ argv: [String]) throws -> pid_t {
    var pid: pid_t = 0
    var cArgs: [UnsafeMutablePointer<CChar>?] = argv.map { strdup($0) } + [nil]
    defer { for arg in cArgs { free(arg) } }
    var actions = posix_spawn_file_actions_t()
    posix_spawn_file_actions_init(&actions)
    defer { posix_spawn_file_actions_destroy(&actions) }
    posix_spawn_file_actions_addopen(&actions, 1, "/dev/null", O_WRONLY, 0)
    posix_spawn_file_actions_addopen(&actions, 2, "/dev/null", O_WRONLY, 0)
    guard posix_spawn(&pid, argv[0], &actions, nil, &cArgs, environ) == 0 else {
        throw VMInstallError(.internal, "cannot start \(argv.joined(separator: " "))")
    }
    return pid
}
