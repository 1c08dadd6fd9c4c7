import Glibc
import Testing
import VMInstallKit

/// What the VM is made of: imported disks and network cards.
@Suite(.serialized) struct VMDefinitionTests {
    @Test func importBootsAnInstalledDiskWithoutAnInstallPhase() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            // An "installed" raw disk: the runtime boot sector at LBA 0.
            let disk = "\(fx.root)/installed.raw"
            try makeInstalledDisk(disk, from: guest)

            let result = try await fx.vmInstall([
                "--name", "imported", "--import", "--disk", "\(disk),format=raw",
                "--memory", "64", "--accel", "tcg", "--settle", "0.5",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            #expect(!result.stderr.contains("state 2 (INSTALL)"))
            #expect(result.stderr.contains("state 4 (RUNTIME_CONF)"))
            #expect(await fx.serialShows("imported", Guest.runtimeMark))
            #expect(!fileContains(fx.vmFiles("imported").serialLog, "INSTALLER"))
            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(FileIO.exists(disk), "an imported disk existed before the job and stays")

            let both = try await fx.vmInstall(["--name", "x", "--import", "--source", guest.iso, "--disk", disk])
            #expect(both.code == 2)
            let missing = try await fx.vmInstall(["--name", "y", "--import", "--disk", "\(fx.root)/none.raw,size=1M"])
            #expect(missing.code == JobExitCode.settings.rawValue)
            #expect(missing.stderr.contains("--import boots the first disk"))
        }
    }

    /// --kernel/--initrd/--extra-args: a tiny multiboot kernel prints what it was given.
    @Test func anExplicitKernelBootsWithItsInitrdAndArguments() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let kernel = guest.iso.replacingSuffix("install.iso", with: "kernel.bin")
            let initrd = "\(fx.root)/initrd.img"
            try FileIO.writeAtomically(initrd, "not really an initrd\n")
            let result = try await fx.vmInstall([
                "--name", "kernel", "--kernel", kernel, "--initrd", initrd, "--extra-args=console=ttyS0 vmi.test=42",
                "--disk", "\(fx.root)/kernel.qcow2,size=16M", "--memory", "64", "--accel", "tcg", "--settle", "0.3",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            let serial = try FileIO.readString(fx.vmFiles("kernel").serialLog)
            #expect(serial.contains("VM-INSTALL KERNEL \(kernel) console=ttyS0 vmi.test=42"), "\(serial)")
            #expect(serial.contains("VM-INSTALL MODULES 1"))
            #expect(result.stderr.contains("state 3 (POST_INSTALL)"))

            #expect(
                try await fx.vmInstall([
                    "--name", "k2", "--initrd", initrd, "--source", guest.iso, "--disk", "/tmp/x,size=1M",
                ]).code == 2)
            let missing = try await fx.vmInstall([
                "--name", "k3", "--kernel", "\(fx.root)/nope", "--disk", "\(fx.root)/k3.qcow2,size=1M",
            ])
            #expect(missing.code == JobExitCode.settings.rawValue)
            #expect(missing.stderr.contains("--kernel \(fx.root)/nope is missing"))
        }
    }

    /// --os-type fills in what was not given; what was given wins.
    @Test func osTypeDefaultsAndExplicitOptions() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let result = try await fx.vmInstall([
                "--name", "win", "--os-type", "windows", "--memory", "64", "--source", guest.iso,
                "--disk", "\(fx.root)/win.qcow2", "--accel", "tcg", "--settle", "0.3",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            let config = try FileIO.readString(fx.vmFiles("win").config)
            for line in ["memory-mib=64", "vcpus=2", "machine=q35", "disk=bus=sata,device=disk", "model=e1000"] {
                #expect(config.contains(line), "\(line) in \(config)")
            }
            #expect(await fx.serialShows("win", Guest.runtimeMark), "the guest boots on q35 from SATA")
            let info = try await fx.run("/usr/bin/qemu-img", ["info", "--force-share", "\(fx.root)/win.qcow2"])
            #expect(info.stdout.contains("virtual size: 64 GiB"))

            let list = try await fx.run("vm-install", ["--os-type", "list"])
            #expect(list.code == 0 && list.stdout.contains("windows") && list.stdout.contains("generic"))
            #expect(
                try await fx.vmInstall([
                    "--name", "x", "--os-type", "beos", "--source", guest.iso, "--disk", "/tmp/x,size=1M",
                ]).code == JobExitCode.settings.rawValue)
        }
    }

    /// A VNC password: the server asks for VNC authentication, the status key carries the
    /// manual's username:password@ip::port form, and only the owner can read it.
    @Test func vncWithAndWithoutAPassword() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let given = try await fx.vmInstall(fx.vmArguments(name: "locked", guest: guest) + ["--vnc-password=s3cret"])
            #expect(given.code == 0, "\(given.stderr)")
            let generated = try await fx.vmInstall(
                fx.vmArguments(name: "made", guest: guest) + ["--vnc-password", "--vnc=127.0.0.1:42"])
            #expect(generated.code == 0, "\(generated.stderr)")
            let open = try await fx.vmInstall(fx.vmArguments(name: "open", guest: guest) + ["--vnc"])
            #expect(open.code == 0, "\(open.stderr)")

            let lockedVNC = try #require(try await fx.jobs(["--status", "1"]).keys["vnc"])
            #expect(lockedVNC.hasPrefix("vnc:s3cret@127.0.0.1::"))
            let madeVNC = try #require(try await fx.jobs(["--status", "2"]).keys["vnc"])
            #expect(
                madeVNC.hasSuffix("@127.0.0.1::5942") && madeVNC.count == "vnc:12345678@127.0.0.1::5942".count,
                "\(madeVNC)")
            let openVNC = try #require(try await fx.jobs(["--status", "3"]).keys["vnc"])
            #expect(!openVNC.contains("@"))

            func port(_ address: String) -> UInt16 { UInt16(address.split(separator: ":").last!)! }
            // A real RFB client's screenshot shows the guest's screen: its line of text at the
            // top of a cleared screen (the runtime guest draws it before its serial line).
            #expect(await fx.serialShows("open", Guest.runtimeMark))
            #expect(await fx.serialShows("locked", Guest.runtimeMark))
            for (vnc, password) in [(openVNC, nil), (lockedVNC, "s3cret")] as [(String, String?)] {
                let shot = try #require(try await vncScreenshot(port: port(vnc), password: password), "\(vnc)")
                let lit = { (rows: Range<Int>) in
                    rows.reduce(0) { n, y in
                        n + (0..<shot.width).filter { shot.pixels[y * shot.width + $0] & 0xFFFFFF != 0 }.count
                    }
                }
                #expect(lit(0..<16) > 100, "no text in the first line of the \(shot.width)x\(shot.height) screen")
                // Below it, a cleared screen: nothing lit but the text cursor (9x2 pixels).
                #expect(lit(32..<shot.height) <= 18, "the rest of the screen is not the guest's cleared screen")
            }
            #expect(
                try await vncScreenshot(port: port(lockedVNC), password: "wrong") == nil, "a wrong password is refused")
            #expect(vncSecurityTypes(port: port(lockedVNC)) == [2])
            #expect(vncSecurityTypes(port: port(madeVNC)) == [2])
            #expect(vncSecurityTypes(port: port(openVNC)) == [1])
            var st = stat()
            for file in [fx.store.paths(JobID(1)!).record, fx.vmFiles("locked").config] {
                #expect(stat(file, &st) == 0 && st.st_mode & 0o077 == 0, "\(file) is readable by others")
            }
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("locked").pidFile).trimmed))
            #expect(!String(decoding: try FileIO.read("/proc/\(pid)/cmdline"), as: UTF8.self).contains("s3cret"))

            let headless = try await fx.vmInstall(
                fx.vmArguments(name: "headless", guest: guest) + ["--graphics", "none"])
            #expect(headless.code == 0)
            #expect(try await fx.jobs(["--status", "4"]).keys["vnc"] == nil)
            for bad in [
                ["--vnc-password=123456789"], ["--vnc=a b"], ["--vnc=127.0.0.1:100"], ["--graphics", "none", "--vnc"],
            ] {
                #expect(try await fx.vmInstall(fx.vmArguments(name: "bad", guest: guest) + bad).code == 2, "\(bad)")
            }
        }
    }

    /// --cloud-init with --import: a NoCloud seed, read back from the ISO the VM gets.
    @Test func aCloudInitSeedIsBuiltAndAttached() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let disk = "\(fx.root)/cloud.raw"
            try makeInstalledDisk(disk, from: guest)
            let userData = "\(fx.root)/user-data"
            try FileIO.writeAtomically(userData, "#cloud-config\nhostname: seeded\n")

            let result = try await fx.vmInstall([
                "--name", "cloud", "--import", "--disk", "\(disk),format=raw",
                "--cloud-init", "user-data=\(userData)", "--memory", "64", "--accel", "tcg", "--settle", "0.3",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            let image = CloudInitSeed.imagePath(in: fx.vmFiles("cloud"))
            let pvd = try await fx.run("/usr/bin/xorriso", ["-indev", image, "-pvd_info"])
            #expect(pvd.stdout.contains("Volume Id    : cidata"), "\(pvd.stdout)")
            let out = "\(fx.root)/extracted"
            let extract = try await fx.run(
                "/usr/bin/xorriso", ["-osirrox", "on", "-indev", image, "-extract", "/", out])
            #expect(extract.code == 0, "\(extract.stderr)")
            #expect(try FileIO.readString("\(out)/user-data") == "#cloud-config\nhostname: seeded\n")
            let meta = try FileIO.readString("\(out)/meta-data")
            #expect(meta.contains("local-hostname: cloud") && meta.contains("instance-id: "))
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("cloud").pidFile).trimmed))
            let cmdline = String(
                decoding: try FileIO.read("/proc/\(pid)/cmdline").map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            #expect(cmdline.contains("file=\(image),format=raw,media=cdrom"))
            #expect(await fx.serialShows("cloud", Guest.runtimeMark))

            for bad in ["meta-data=/x", "user-data=", "user-data=/a,user-data=/b", "vendor-data=/x"] {
                #expect(
                    try await fx.vmInstall(["--name", "b", "--import", "--disk", disk, "--cloud-init", bad]).code == 2,
                    "\(bad)")
            }
            let missing = try await fx.vmInstall([
                "--name", "m", "--import", "--disk", "\(disk),format=raw", "--cloud-init", "user-data=\(fx.root)/none",
            ])
            #expect(missing.code == JobExitCode.settings.rawValue)
        }
    }

    /// --firmware uefi: OVMF boots (its boot manager reports on the serial console), with a
    /// variable store of the VM's own.
    @Test func uefiFirmwareBoots() async throws {
        try await Fixture.with { fx in
            let disk = "\(fx.root)/blank.raw"
            close(open(disk, O_CREAT | O_WRONLY, 0o600))
            #expect(truncate(disk, 1 << 20) == 0)
            let result = try await fx.vmInstall([
                "--name", "efi", "--import", "--disk", "\(disk),format=raw", "--firmware", "uefi",
                "--machine", "q35", "--memory", "128", "--accel", "tcg", "--settle", "0.3",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            let files = fx.vmFiles("efi")
            #expect(fileContains(files.config, "firmware=uefi"))
            #expect(FileIO.exists("\(files.directory)/uefi-vars.fd"))
            // OVMF under TCG takes its time; the limit only ends a VM that never gets there.
            try await fx.waitUntil { fileContains(files.serialLog, "BdsDxe") }
            let pid = try #require(Int32(try FileIO.readString(files.pidFile).trimmed))
            let cmdline = String(
                decoding: try FileIO.read("/proc/\(pid)/cmdline").map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            #expect(cmdline.contains("if=pflash,format=raw,unit=1,file=\(files.directory)/uefi-vars.fd"))
        }
    }

    @Test func hostChecksRefuseBeforeAnythingIsCreated() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let memory = try await fx.vmInstall(fx.vmArguments(name: "huge", guest: guest) + ["--memory", "1048576"])
            #expect(memory.code == JobExitCode.host.rawValue)
            #expect(memory.stderr.contains("not enough free memory"))
            let space = try await fx.vmInstall(
                fx.vmArguments(name: "vast", guest: guest, disk: "\(fx.root)/vast.raw,size=100T,format=raw"))
            #expect(space.code == JobExitCode.host.rawValue)
            #expect(space.stderr.contains("not enough free space"))
            #expect(!FileIO.exists("\(fx.root)/vast.raw"))

            // No QEMU on the PATH: one line that says what to install.
            let noQEMU = try await fx.run(
                "/usr/bin/env",
                ["PATH=/nonexistent", "\(Fixture.buildDirectory)/vm-install", "--state-dir", fx.stateDir]
                    + fx.vmArguments(name: "noqemu", guest: guest))
            #expect(noQEMU.code == JobExitCode.host.rawValue)
            #expect(
                noQEMU.stderr.contains("qemu-system-x86_64 is not installed; install Debian's qemu-system-x86 package"))

            let first = try await fx.vmInstall(fx.vmArguments(name: "owner", guest: guest))
            #expect(first.code == 0)
            let shared = try await fx.vmInstall(
                fx.vmArguments(name: "borrower", guest: guest, disk: "\(fx.root)/owner.qcow2"))
            #expect(shared.code == JobExitCode.settings.rawValue)
            #expect(shared.stderr.contains("in use by the running VM owner"), "\(shared.stderr)")
            #expect(!FileIO.exists(fx.vmFiles("borrower").directory))
        }
    }

    @Test func nicsGetStableMACsAndHostForwards() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let port = 20000 + UInt16(getpid() % 20000)
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "net", guest: guest) + [
                    "--nic", "user,hostfwd=tcp:127.0.0.1:\(port)-:22", "--nic",
                    "user,model=e1000,mac=52:54:00:AA:BB:CC",
                ])
            #expect(result.code == 0, "\(result.stderr)")
            let config = try FileIO.readString(fx.vmFiles("net").config)
            let macs = config.split(separator: "\n").filter { $0.hasPrefix("nic=") }
            #expect(macs.count == 2)
            #expect(macs[0].contains("mac=52:54:00:") && macs[0].contains("hostfwd=tcp:127.0.0.1:\(port)-:22"))
            #expect(macs[1] == "nic=user,model=e1000,mac=52:54:00:aa:bb:cc")
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("net").pidFile).trimmed))
            let cmdline = String(
                decoding: try FileIO.read("/proc/\(pid)/cmdline").map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            let generated = String(macs[0].split(separator: ",").first { $0.hasPrefix("mac=") }!.dropFirst(4))
            #expect(cmdline.contains("virtio-net-pci,netdev=net0,mac=\(generated)"))
            // QEMU's user-mode network listens on the forwarded host port.
            #expect(tcpConnects(port: port))

            let none = try await fx.vmInstall(fx.vmArguments(name: "offline", guest: guest) + ["--nic", "none"])
            #expect(none.code == 0)
            #expect(!fileContains(fx.vmFiles("offline").config, "nic="))
            for bad in [
                "wifi", "user,mac=01:00:00:00:00:01", "user,model=ne2k", "bridge=a/b", "tap=t0,hostfwd=tcp::1-:2",
                "user,hostfwd=tcp::x-:22",
            ] {
                #expect(
                    try await fx.vmInstall(fx.vmArguments(name: "bad", guest: guest) + ["--nic", bad]).code == 2,
                    "\(bad)")
            }
        }
    }
}

extension String {
    func replacingSuffix(_ suffix: String, with replacement: String) -> String {
        hasSuffix(suffix) ? String(dropLast(suffix.count)) + replacement : self
    }
}
