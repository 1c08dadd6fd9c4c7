import Glibc
import Testing
import VMInstallKit

/// Debian's own installer (d-i, from Debian's debian-installer-12-netboot-amd64 package),
/// from a mirror tree served on loopback and from a Debian-CD-layout ISO. The preseed's
/// early command writes a mark on the serial console and powers off: d-i must get there
/// without asking a single question. The mirror on loopback is told to d-i as 10.0.2.2
/// (BootKeysInstallTests checks that d-i reaches it); it serves no udebs, so the install
/// stops there.
@Suite(.serialized) struct DebianInstallerTests {
    static let images = "/usr/lib/debian-installer/images/12/amd64/text/debian-installer/amd64"
    static let mark = "VMI-DI-PRESEED-MARK"

    func preseed(_ fx: Fixture) throws -> String {
        let file = "\(fx.root)/preseed.cfg"
        try FileIO.writeAtomically(
            file,
            """
            d-i debian-installer/locale string en_US.UTF-8
            d-i keyboard-configuration/xkb-keymap select us
            d-i preseed/early_command string echo \(Self.mark) > /dev/ttyS0; echo o > /proc/sysrq-trigger

            """)
        return file
    }

    func copy(_ from: String, to path: String) throws {
        try FileIO.writeAtomically(
            path, bytes: try FileIO.read(from, limit: 1 << 30), mode: [.ownerReadWrite, .groupRead, .otherRead])
    }

    func makeDirectories(_ path: String) throws {
        var dir = ""
        for part in path.split(separator: "/") {
            dir += "/\(part)"
            _ = try? FileIO.makeDirectory(dir, mode: 0o755)
        }
    }

    /// Runs the install in the background, checks it and deletes the job; returns its log.
    func install(_ fx: Fixture, name: String, source: String) async throws -> String {
        let start = ContinuousClock.now
        let result = try await fx.vmInstall([
            "--name", name, "--source", source, "--autoinstall", try preseed(fx),
            "--disk", "\(fx.root)/\(name).qcow2,size=1G", "--memory", "1024", "--accel", "tcg",
            "--settle", "1", "--install-timeout", String(Int(2 * Fixture.patience)), "--background",
        ])
        try #require(result.code == 0, "\(result.stderr)")
        let id = try #require(JobID(parsing: result.stdout.trimmed))
        var markSeconds: Double?
        let deadline = Deadline.after(seconds: 2 * Fixture.patience)
        while true {
            if markSeconds == nil, fileContains(fx.vmFiles(name).serialLog, Self.mark) {
                markSeconds = seconds(since: start)
            }
            let record = try fx.store.read(id)
            if record.state.isTerminal {
                #expect(record.state == .finished, "\(record.error ?? "")")
                #expect(record.exit == 0)
                break
            }
            try #require(
                !deadline.hasPassed,
                "d-i did not finish; serial log: \(String((try? FileIO.readString(fx.vmFiles(name).serialLog)) ?? "").suffix(2000))"
            )
            try await Task.sleep(for: .milliseconds(100))
        }
        let finished = seconds(since: start)
        let log = try FileIO.readString(fx.store.paths(id).log)
        #expect(log.contains("as /preseed.cfg"), "\(log)")
        #expect(!log.contains(" url="), "d-i takes url= as preseed/url; a tree is never passed that way")
        let mark = try #require(
            markSeconds ?? (fileContains(fx.vmFiles(name).serialLog, Self.mark) ? finished : nil),
            "no preseed mark on the serial console")
        print("d-i \(name): mark after \(mark) s, FINISHED after \(finished) s")
        #expect(try await fx.jobs(["--delete", id.description]).code == 0)
        return log
    }

    func seconds(since start: ContinuousClock.Instant) -> Double {
        let d = ContinuousClock.now - start
        return Double(d.components.seconds) + Double(d.components.attoseconds) / 1e18
    }

    @Test func fromAMirrorTree() async throws {
        try await Fixture.with { fx in
            let served = "\(fx.root)/www"
            let installer = "debian/dists/bookworm/main/installer-amd64"
            let netboot = "\(served)/\(installer)/current/images/netboot/debian-installer/amd64"
            try makeDirectories(netboot)
            for file in ["linux", "initrd.gz"] { try copy("\(Self.images)/\(file)", to: "\(netboot)/\(file)") }
            try await LoopbackServer.with(.http(directory: served), in: fx) { port in
                let url = "http://127.0.0.1:\(port)/\(installer)/"
                let log = try await install(fx, name: "di-mirror", source: url)
                #expect(log.contains("Debian mirror layout"))
                #expect(
                    log.contains(
                        "mirror/http/hostname=10.0.2.2:\(port) mirror/http/directory=/debian mirror/suite=bookworm"),
                    "\(log)")
            }
        }
    }

    @Test func fromADebianCDImage() async throws {
        try await Fixture.with { fx in
            let stage = "\(fx.root)/cd"
            try makeDirectories("\(stage)/install.amd")
            try makeDirectories("\(stage)/.disk")
            try copy("\(Self.images)/linux", to: "\(stage)/install.amd/vmlinuz")
            try copy("\(Self.images)/initrd.gz", to: "\(stage)/install.amd/initrd.gz")
            try FileIO.writeAtomically(
                "\(stage)/.disk/info", "Debian GNU/Linux 12 \"Bookworm\" - Official amd64 NETINST\n")
            let iso = "\(fx.root)/debian-12-amd64-netinst.iso"
            let made = try await fx.run(
                "/usr/bin/xorriso",
                ["-as", "mkisofs", "-quiet", "-R", "-J", "-V", "Debian 12 amd64 n", "-o", iso, stage])
            try #require(made.code == 0, "\(made.stderr)")
            try FileIO.removeTree(stage)
            let log = try await install(fx, name: "di-cd", source: iso)
            #expect(log.contains("Debian CD layout"))
            #expect(log.contains("extracting /install.amd/initrd.gz from \(iso)"))
        }
    }
}
