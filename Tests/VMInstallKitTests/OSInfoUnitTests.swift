import Testing

@testable import VMInstallKit

/// --os-type and --unattended as parsed and stored, and osinfo-db read through the real
/// libosinfo (Debian's osinfo-db 20221203).
@Suite struct OSInfoUnitTests {
    @Test func osChoices() throws {
        #expect(try OSChoice.parse(nil) == .unspecified)
        #expect(try OSChoice.parse("detect") == .detect)
        #expect(try OSChoice.parse("openSUSE15.4") == .named("opensuse15.4"))
        #expect(try OSChoice.parse("debian").family?.name == "debian")
        #expect(try OSChoice.parse("debian11").family == nil)
        for bad in ["", "list", "fedora 37", "win10;rm", String(repeating: "x", count: 65)] {
            #expect(throws: VMInstallError.self, "\(bad)") { try OSChoice.parse(bad) }
        }
    }

    @Test func unattendedOptionsRoundTrip() throws {
        let options = try UnattendedOptions.parse(
            "profile=desktop,admin-password-file=/a,,b.pw,user-login=alice,user-password-file=/u.pw,product-key=AB-12")
        #expect(options.profile == "desktop" && options.adminPasswordFile == "/a,b.pw" && options.userLogin == "alice")
        #expect(options.userPasswordFile == "/u.pw" && options.productKey == "AB-12")
        #expect(try UnattendedOptions.parse(options.rendered) == options)
        #expect(try UnattendedOptions.parse("") == UnattendedOptions())
        for bad in [
            "profile=server", "admin-password=x", "user-password=x", "user-login=root", "user-login=Al ice",
            "colour=red",
            "profile=jeos,profile=jeos", "product-key=a;b", "admin-password-file=",
        ] {
            #expect(throws: VMInstallError.self, "\(bad)") { try UnattendedOptions.parse(bad) }
        }
    }

    @Test func settingsKeepExplicitValuesAndNoPasswords() throws {
        var spec = VMSpec(name: "v", source: "/i.iso", disks: [DiskSpec(path: "/d")])
        spec.osType = "fedora37"
        spec.memoryMiB = 512
        spec.unattended = try UnattendedOptions.parse("admin-password-file=/root.pw")
        let decoded = try VMSpec.decode(spec.encoded())
        #expect(decoded == spec)
        #expect(decoded.vcpus == nil && decoded.machine == nil && decoded.firmware == nil)
        var record = JobRecord(id: JobID(3)!, name: "v", now: 1)
        record.os = RecordedOS(id: "fedora37", name: "Fedora Linux 37")
        #expect(try JobRecord.decode(record.encoded(), expected: JobID(3)!) == record)
    }

    @Test func shortIDsOrderByVersionAndFallBackToFamilies() {
        #expect(
            ["fedora10", "fedora9", "debian11", "fedora-rawhide"].sorted(by: OSInfoID.order) == [
                "debian11", "fedora9", "fedora10", "fedora-rawhide",
            ])
        #expect(OSInfoID.family(of: "debian12")?.name == "debian")
        #expect(OSInfoID.family(of: "win12")?.name == "windows")
        #expect(OSInfoID.family(of: "beos5") == nil)
    }

    @Test func defaultsAsTheDatabaseHasThem() async throws {
        let found = try await OSInfoDatabase.with { db throws(VMInstallError) -> [String: OSType] in
            var out: [String: OSType] = [:]
            for id in ["fedora37", "win10", "win11", "debian11"] {
                guard let os = db.systems[id] else { throw VMInstallError(.internal, "no \(id)") }
                out[id] = db.defaults(of: os, id: id)
            }
            return out
        }
        let fedora = try #require(found["fedora37"])
        #expect(fedora.memoryMiB == 2048 && fedora.vcpus == 2 && fedora.diskSize == 20 << 30)
        #expect(
            fedora.diskBus == .virtio && fedora.nicModel == "virtio-net-pci" && fedora.machine == .q35
                && fedora.firmware == .bios)
        let win10 = try #require(found["win10"])
        #expect(win10.memoryMiB == 4096 && win10.diskSize == 40 << 30, "twice the minimum")
        #expect(win10.diskBus == .sata && win10.nicModel == "e1000" && win10.firmware == .bios)
        #expect(found["win11"]?.firmware == .uefi, "Windows 11 does not support BIOS")
        #expect(found["debian11"]?.memoryMiB == 1024)
    }
}
