import Glibc
import Testing
import VMInstallKit

/// Disks on every bus, CD-ROMs, read-only disks and qcow2 overlays, booted for real.
@Suite(.serialized) struct DiskOptionTests {
    @Test(arguments: DiskBus.allCases)
    func theGuestInstallsAndBootsOnEveryBus(_ bus: DiskBus) async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let name = "on-\(bus.rawValue)"
            let result = try await fx.vmInstall(
                fx.vmArguments(name: name, guest: guest, disk: "\(fx.root)/\(name).qcow2,size=16M,bus=\(bus.rawValue)"))
            #expect(result.code == 0, "\(result.stderr)")
            #expect(await fx.serialShows(name, Guest.runtimeMark))
            #expect(fileContains(fx.vmFiles(name).config, "disk=bus=\(bus.rawValue),device=disk"))
        }
    }

    @Test func cdromReadonlyAndOverlayDisks() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            // A base image holding an installed system, and a qcow2 overlay on top of it.
            let base = "\(fx.root)/base.raw"
            try makeInstalledDisk(base, from: guest)
            let before = try FileIO.read(base, limit: 2 << 20)
            let extra = "\(fx.root)/extra.raw"
            close(open(extra, O_CREAT | O_WRONLY, 0o600))
            #expect(truncate(extra, 1 << 20) == 0)

            let result = try await fx.vmInstall([
                "--name", "layered", "--import", "--memory", "64", "--accel", "tcg", "--settle", "0.5",
                "--disk", "\(fx.root)/overlay.qcow2,backing=\(base)",
                "--disk", "\(guest.iso),device=cdrom,bus=sata",
                "--disk", "\(extra),format=raw,readonly",
            ])
            #expect(result.code == 0, "\(result.stderr)")
            #expect(await fx.serialShows("layered", Guest.runtimeMark))
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("layered").pidFile).trimmed))
            let cmdline = String(
                decoding: try FileIO.read("/proc/\(pid)/cmdline").map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            #expect(cmdline.contains("media=cdrom,readonly=on"))
            #expect(cmdline.contains("ide-cd,bus=sata0.0,drive=disk1"))
            #expect(cmdline.contains("file=\(extra),format=raw,readonly=on"))

            #expect(try await fx.jobs(["--delete", "1"]).code == 0)
            #expect(!FileIO.exists("\(fx.root)/overlay.qcow2"))
            #expect(FileIO.exists(base) && FileIO.exists(extra))
            #expect(try FileIO.read(base, limit: 2 << 20) == before, "the backing image is untouched")

            for bad in [
                "\(fx.root)/c.iso,device=cdrom,size=1G", "\(fx.root)/v,device=cdrom,bus=virtio",
                "\(fx.root)/r,backing=\(base),format=raw", "\(fx.root)/b,bus=usb",
            ] {
                #expect(
                    try await fx.vmInstall(fx.vmArguments(name: "bad", guest: guest, disk: bad)).code == 2, "\(bad)")
            }
            let bootCD = try await fx.vmInstall(
                fx.vmArguments(name: "cdboot", guest: guest, disk: "\(guest.iso),device=cdrom"))
            #expect(bootCD.code == JobExitCode.settings.rawValue)
            #expect(bootCD.stderr.contains("must be writable"))
        }
    }
}
