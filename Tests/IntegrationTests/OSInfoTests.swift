import FoundationEssentials
import Glibc
import Subprocess
import SystemPackage
import Testing
import VMInstallKit

/// --os-type with osinfo-db (real libosinfo, Debian's osinfo-db): its ids and defaults, media
/// recognised by their volume id, and what stays without libosinfo.
@Suite(.serialized) struct OSInfoTests {
    /// The tiny installer's boot image on an ISO with the volume id given, as a distribution's
    /// ISO carries its own.
    static func labelledISO(_ fx: Fixture, guest: Guest, volumeID: String) async throws -> String {
        let stage = "\(fx.root)/iso-\(volumeID)"
        try FileIO.makeDirectory(stage, mode: 0o755)
        try FileIO.writeAtomically(
            "\(stage)/installer.bin",
            bytes: try FileIO.read(guest.iso.replacingSuffix("install.iso", with: "installer.bin")))
        let iso = "\(fx.root)/\(volumeID).iso"
        let made = try await fx.run(
            "/usr/bin/xorriso",
            [
                "-as", "mkisofs", "-quiet", "-R", "-V", volumeID, "-b", "installer.bin",
                "-no-emul-boot", "-boot-load-size", "2", "-o", iso, stage,
            ])
        try #require(made.code == 0, "\(made.stderr)")
        return iso
    }

    /// The short id of every OS in osinfo-db's files (the first <short-id> of each file).
    static func databaseIDs() throws -> Set<String> {
        var ids = Set<String>()
        let root = "/usr/share/osinfo/os"
        for vendor in try FileIO.listDirectory(root) {
            for file in try FileIO.listDirectory("\(root)/\(vendor)") where file.hasSuffix(".xml") {
                let text = try FileIO.readString("\(root)/\(vendor)/\(file)")
                if let start = text.firstRange(of: "<short-id>"),
                    let end = text[start.upperBound...].firstRange(of: "</short-id>")
                {
                    ids.insert(String(text[start.upperBound..<end.lowerBound]))
                }
            }
        }
        return ids
    }

    struct Listing: Decodable {
        struct System: Decodable {
            let id: String
            let name: String
        }
        struct Family: Decodable {
            let name: String
            let memoryMiB: Int
            enum CodingKeys: String, CodingKey {
                case name
                case memoryMiB = "memory_mib"
            }
        }
        let osinfoDB: [String]
        let systems: [System]
        let families: [Family]
        enum CodingKeys: String, CodingKey {
            case osinfoDB = "osinfo_db"
            case systems, families
        }
    }

    @Test func listHasTheDatabasesIDsThenTheFamilies() async throws {
        try await Fixture.with { fx in try await listChecks(fx) }
    }

    func listChecks(_ fx: Fixture) async throws {
        let json = try await fx.run("vm-install", ["--os-type", "list", "--json"])
        #expect(json.code == 0, "\(json.stderr)")
        let listing = try JSONDecoder().decode(Listing.self, from: Data(json.stdout.utf8))
        let expected = try Self.databaseIDs()
        #expect(expected.count > 700)
        #expect(Set(listing.systems.map(\.id)) == expected)
        #expect(listing.systems.contains { $0.id == "fedora37" && $0.name == "Fedora Linux 37" })
        #expect(listing.families.map(\.name) == OSType.all.map(\.name))
        #expect(listing.osinfoDB.contains { $0.hasSuffix("(/usr/share/osinfo)") }, "\(listing.osinfoDB)")

        let text = try await fx.run("vm-install", ["--os-type", "list"])
        #expect(text.code == 0)
        let lines = text.stdout.split(separator: "\n", omittingEmptySubsequences: false)
        #expect(lines.prefix(expected.count).allSatisfy { expected.contains(String($0.prefix { $0 != " " })) })
        #expect(lines.contains { $0.hasPrefix("win10 ") && $0.hasSuffix("  Microsoft Windows 10") })
        #expect(
            lines[expected.count] == "" && lines[expected.count + 1].hasPrefix("FAMILY "), "families follow the ids")
        #expect(lines.contains { $0.hasPrefix("generic ") })
        #expect(try await fx.run("vm-install", ["--json"]).code == 2)
    }

    /// fedora37 recommends 2048 MiB and 20 GiB, and lists virtio and q35; twice its minimum
    /// vCPU; an option given wins.
    @Test func fedora37GetsTheDatabasesDefaults() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let r = try await fx.vmInstall([
                "--name", "f37", "--os-type", "fedora37", "--source", guest.iso, "--disk", "\(fx.root)/f37.qcow2",
                "--machine", "pc", "--accel", "tcg", "--settle", "0.3", "--install-timeout",
                "\(Int(2 * Fixture.patience))",
            ])
            #expect(r.code == 0, "\(r.stderr)")
            let config = try FileIO.readString(fx.vmFiles("f37").config)
            for line in [
                "memory-mib=2048", "vcpus=2", "machine=pc", "firmware=bios", "disk=bus=virtio,device=disk",
                "model=virtio-net-pci",
            ] {
                #expect(config.contains(line), "\(line) in \(config)")
            }
            let info = try await fx.run("/usr/bin/qemu-img", ["info", "--force-share", "\(fx.root)/f37.qcow2"])
            #expect(info.stdout.contains("virtual size: 20 GiB"), "\(info.stdout)")
            #expect(
                r.stderr.contains(
                    "OS fedora37 (Fedora Linux 37): 2048 MiB, 2 vCPUs, 20G disk on virtio, NIC virtio-net-pci, q35, bios"
                ), "\(r.stderr)")
            #expect(await fx.serialShows("f37", Guest.runtimeMark))
        }
    }

    /// win10 lists no virtio device: SATA and e1000, and QEMU gets no virtio device at all.
    @Test func win10GetsNoVirtioDevice() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let r = try await fx.vmInstall([
                "--name", "w10", "--os-type", "win10", "--memory", "64", "--source", guest.iso,
                "--disk", "\(fx.root)/w10.qcow2", "--accel", "tcg", "--settle", "0.3", "--install-timeout",
                "\(Int(2 * Fixture.patience))",
            ])
            #expect(r.code == 0, "\(r.stderr)")
            let config = try FileIO.readString(fx.vmFiles("w10").config)
            for line in ["memory-mib=64", "vcpus=2", "machine=q35", "disk=bus=sata,device=disk", "model=e1000"] {
                #expect(config.contains(line), "\(line) in \(config)")
            }
            #expect(!config.contains("virtio"), "\(config)")
            #expect(await fx.serialShows("w10", Guest.runtimeMark), "the guest boots from SATA")
            let pid = try #require(Int32(try FileIO.readString(fx.vmFiles("w10").pidFile).trimmed))
            let commandLine = String(decoding: try FileIO.read("/proc/\(pid)/cmdline"), as: UTF8.self)
            #expect(commandLine.contains("e1000") && !commandLine.contains("virtio"), "\(commandLine)")
            let info = try await fx.run("/usr/bin/qemu-img", ["info", "--force-share", "\(fx.root)/w10.qcow2"])
            #expect(info.stdout.contains("virtual size: 40 GiB"), "twice win10's minimum 20 GiB: \(info.stdout)")
        }
    }

    /// Without --os-type the ISO is recognised by its volume id; the OS goes into the status.
    /// An ISO osinfo-db does not know gets the generic defaults, or, with detect, a refusal.
    @Test func aFedoraISOIsRecognisedByItsVolumeID() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let iso = try await Self.labelledISO(fx, guest: guest, volumeID: "Fedora-S-dvd-x86_64-37")
            let plain = try await fx.startJob(name: "plain", guest: guest)
            let detected = try await fx.vmInstall(
                fx.vmArguments(name: "iso", guest: guest).map { $0 == guest.iso ? iso : $0 } + ["--background"])
            let job = try #require(JobID(parsing: detected.stdout.trimmed), "\(detected.stderr)")
            #expect(try await fx.waitForEnd(job).state == .finished)
            let status = try await fx.jobs(["--status", job.description, "--json"])
            #expect(
                status.stdout.contains(
                    "\"os\" : {\n    \"id\" : \"fedora37\",\n    \"name\" : \"Fedora Linux 37\"\n  }"),
                "\(status.stdout)")
            let log = try FileIO.readString(fx.store.paths(job).log)
            #expect(log.contains("recognised \(iso) as fedora37 (Fedora Linux 37)"), "\(log)")
            // Its defaults, but for the memory given.
            #expect(try FileIO.readString(fx.vmFiles("iso").config).contains("vcpus=2"))

            // The tiny guest's own ISO (volume VMINSTALL) is not recognised.
            _ = try await fx.waitForEnd(plain)
            let plainLog = try FileIO.readString(fx.store.paths(plain).log)
            #expect(plainLog.contains("OS of \(guest.iso): not recognised by osinfo-db"), "\(plainLog)")
            #expect(try await fx.jobs(["--status", plain.description, "--json"]).stdout.contains("\"os\" : null"))
            let detect = try await fx.vmInstall(fx.vmArguments(name: "detect", guest: guest) + ["--os-type", "detect"])
            #expect(detect.code == JobExitCode.settings.rawValue)
            #expect(
                detect.stderr.contains("failed: --os-type detect: \(guest.iso) is not recognised by osinfo-db"),
                "\(detect.stderr)")
        }
    }

    /// A system the database lacks falls back to its family, and says so; the family itself
    /// needs no database.
    @Test func debian12FallsBackToTheDebianFamily() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let r = try await fx.vmInstall(fx.vmArguments(name: "bookworm", guest: guest) + ["--os-type", "debian12"])
            #expect(r.code == 0, "\(r.stderr)")
            #expect(r.stderr.contains("has no debian12: using the debian family's defaults"), "\(r.stderr)")
            #expect(try FileIO.readString(fx.vmFiles("bookworm").config).contains("machine=q35"))
            let family = try await fx.vmInstall(fx.vmArguments(name: "family", guest: guest) + ["--os-type", "debian"])
            #expect(family.code == 0 && !family.stderr.contains("osinfo-db"), "\(family.stderr)")
        }
    }

    /// vm-install-jobs never loads libosinfo or glib, nor does vm-install until the database is
    /// needed: the dynamic loader's own account of what it loaded. Once the state directory
    /// has its osinfo index, --os-type list and a job from media seen before load neither.
    @Test func libosinfoIsLoadedOnlyWhereNeeded() async throws {
        try await Fixture.with { fx in
            func loaded(_ tool: String, _ arguments: [String], environment: [String: String] = [:]) async throws
                -> (trace: String, output: String)
            {
                let result = try await Subprocess.run(
                    .path(FilePath("\(Fixture.buildDirectory)/\(tool)")), arguments: Arguments(arguments),
                    environment: .inherit.updating(
                        Dictionary(
                            uniqueKeysWithValues: (environment.merging(["LD_DEBUG": "files"]) { given, _ in given })
                                .map { (Environment.Key(stringLiteral: $0.key), $0.value) })),
                    output: .string(limit: 1 << 22), error: .string(limit: 1 << 22))
                return (result.standardError, result.standardOutput)
            }
            let libraries = ["libosinfo-1.0.so", "libglib-2.0.so", "libgobject-2.0.so"]
            func loadsNone(_ trace: String) -> Bool { !libraries.contains { trace.contains($0) } }
            func lists(_ output: String, _ id: String, _ name: String) -> Bool {
                output.split(separator: "\n").contains { $0.hasPrefix("\(id) ") && $0.hasSuffix("  \(name)") }
            }
            for (tool, arguments) in [
                ("vm-install-jobs", ["--state-dir", fx.stateDir, "--list"]), ("vm-install-jobs", ["--version"]),
                ("vm-install", ["--version"]),
            ] {
                let trace = try await loaded(tool, arguments).trace
                #expect(trace.contains("file="), "LD_DEBUG gave no trace")
                #expect(loadsNone(trace), "\(tool) \(arguments) loads libosinfo or glib")
            }
            // A job from an ISO seen before: neither vm-install nor its runner loads libosinfo.
            // (The first job makes the state directory, where the index is kept, and builds it.)
            let guest = try await Guest.quick.guest()
            let arguments = ["--state-dir", fx.stateDir]
            let one = try await loaded("vm-install", arguments + fx.vmArguments(name: "first", guest: guest))
            #expect(one.trace.contains("libosinfo-1.0.so"), "the first job builds the index with libosinfo")
            let two = try await loaded("vm-install", arguments + fx.vmArguments(name: "second", guest: guest))
            #expect(loadsNone(two.trace), "the second job of the same ISO does not")
            #expect(one.output.isEmpty && two.output.isEmpty)
            // An image not seen before is recognised from the index: glib alone, no libosinfo.
            let unseen = "\(fx.root)/unseen.iso"
            try FileIO.writeAtomically(unseen, bytes: try FileIO.read(guest.iso, limit: 1 << 30))
            var third = fx.vmArguments(name: "third", guest: guest)
            third[third.firstIndex(of: "--source")! + 1] = unseen
            let three = try await loaded("vm-install", arguments + third)
            #expect(!three.trace.contains("libosinfo-1.0.so"), "a new image is recognised without libosinfo")
            #expect(three.trace.contains("libglib-2.0.so"), "with glib's regular expressions")
            let thirdID = try #require(try fx.store.listIDs().first { (try? fx.store.read($0))?.name == "third" })
            let thirdLog = try FileIO.readString(fx.store.paths(thirdID).log)
            #expect(thirdLog.contains("recognition from the osinfo index in"), "\(thirdLog)")
            let second = try #require(try fx.store.listIDs().first { (try? fx.store.read($0))?.name == "second" })
            let log = try FileIO.readString(fx.store.paths(second).log)
            #expect(log.contains("systems, from the index in"), "\(log)")
            #expect(log.contains("OS of \(guest.iso): not recognised by osinfo-db"), "\(log)")

            let list = ["--state-dir", fx.stateDir, "--os-type", "list"]
            let first = try await loaded("vm-install", list)
            #expect(loadsNone(first.trace), "the first job built the index; --os-type list reads it")
            let listed = try await loaded("vm-install", list)
            #expect(loadsNone(listed.trace), "and again")
            #expect(listed.output == first.output && lists(listed.output, "fedora37", "Fedora Linux 37"))

            // A database changed (a user's copy, as osinfo-db-import --user makes): indexed again.
            let user = "\(fx.root)/osinfo-user"
            for sub in ["", "/os", "/os/example.org"] { try FileIO.makeDirectory(user + sub, mode: 0o755) }
            try FileIO.writeAtomically(
                "\(user)/os/example.org/vmitest-1.xml",
                """
                <libosinfo version="0.0.1">
                  <os id="http://example.org/vmitest/1">
                    <short-id>vmitest1</short-id>
                    <name>VMI Test 1</name>
                    <vendor>example.org</vendor>
                    <family>linux</family>
                    <distro>vmitest</distro>
                    <version>1</version>
                  </os>
                </libosinfo>

                """)
            let changed = try await loaded("vm-install", list, environment: ["OSINFO_USER_DIR": user])
            #expect(changed.trace.contains("libosinfo-1.0.so"), "a changed database is indexed again")
            #expect(lists(changed.output, "vmitest1", "VMI Test 1"), "\(changed.output.suffix(1000))")
            let again = try await loaded("vm-install", list, environment: ["OSINFO_USER_DIR": user])
            #expect(loadsNone(again.trace) && again.output == changed.output)
        }
    }
}
