import Glibc
import Testing
import VMInstallKit

/// Debian's real installer driven the way Packer drives installers vm-install cannot read:
/// an isolinux ISO with no preseed in its initrd stops at its `boot:` prompt, --boot-keys
/// types d-i's arguments there (the answer server's and the syslog receiver's addresses as
/// the guest reaches them, 10.0.2.2 on QEMU's user network), d-i fetches its preseed from the
/// answer server, sends its log to the job, and the preseed's early command prints the
/// kernel command line and a mark on the serial console and powers off.
@Suite(.serialized) struct BootKeysInstallTests {
    static let images = DebianInstallerTests.images
    static let mark = "VMI-BOOTKEYS-PRESEED-MARK"
    static let syslogMark = "VMI-BOOTKEYS-SYSLOG-MARK"

    /// What is typed at the boot: prompt, after the label. The URL has shifted characters
    /// (':'), so a typist that drops Shift sends ';' and d-i fetches nothing.
    static let typedArguments =
        "auto=true priority=critical url=http://{{http}}/preseed.cfg log_host={{syslogIP}} log_port={{syslogPort}} console=ttyS0,115200n8"

    /// What the test serves (--serve) once the job's log holds the installer's syslog line.
    static let syslogSeen = "syslog-seen"

    /// A preseed whose early command logs a line over syslog and waits until the answer server
    /// it came from (the url= it was booted with) serves `syslogSeen`, which the test puts
    /// there once the job's log holds that line; then it prints the mark and the kernel
    /// command line on the serial console and powers off.
    static func preseed(extra: String = "") -> String {
        let server = "for a in $(cat /proc/cmdline); do case $a in url=*) u=${a#url=};; esac; done; u=${u%/preseed.cfg}"
        let wait = "until wget -q -O /dev/null $u/\(syslogSeen); do sleep 1; done"
        return """
            d-i debian-installer/locale string en_US.UTF-8
            d-i keyboard-configuration/xkb-keymap select us
            d-i preseed/early_command string logger -t vmi-test \(syslogMark); \(server); \(wait); \(extra) echo \(mark) > /dev/ttyS0; echo "cmdline: $(cat /proc/cmdline)" > /dev/ttyS0; sleep 1; echo o > /proc/sysrq-trigger

            """
    }

    /// An isolinux ISO of d-i's netboot kernel and initrd (no preseed in it), whose
    /// isolinux.cfg waits at `boot:` for ever, on the screen and the serial console.
    static func isolinuxISO(_ fx: Fixture) async throws -> String {
        let stage = "\(fx.root)/iso"
        try DebianInstallerTests().makeDirectories("\(stage)/isolinux")
        try DebianInstallerTests().makeDirectories("\(stage)/d-i")
        let copy = DebianInstallerTests().copy
        try copy("/usr/lib/ISOLINUX/isolinux.bin", "\(stage)/isolinux/isolinux.bin")
        try copy("/usr/lib/syslinux/modules/bios/ldlinux.c32", "\(stage)/isolinux/ldlinux.c32")
        try copy("\(images)/linux", "\(stage)/d-i/linux")
        try copy("\(images)/initrd.gz", "\(stage)/d-i/initrd.gz")
        try FileIO.writeAtomically(
            "\(stage)/isolinux/isolinux.cfg",
            """
            serial 0 115200
            prompt 1
            timeout 0
            default install
            label install
              kernel /d-i/linux
              append initrd=/d-i/initrd.gz

            """, mode: [.ownerReadWrite, .groupRead, .otherRead])
        let iso = "\(fx.root)/d-i-isolinux.iso"
        let made = try await fx.run(
            "/usr/bin/xorriso",
            [
                "-as", "mkisofs", "-quiet", "-R", "-J", "-V", "VMI_DI_KEYS", "-o", iso, "-b", "isolinux/isolinux.bin",
                "-c", "isolinux/boot.cat", "-no-emul-boot", "-boot-load-size", "4", "-boot-info-table", stage,
            ])
        try #require(made.code == 0, "\(made.stderr)")
        try FileIO.removeTree(stage)
        return iso
    }

    /// Waits for the job's end (its record, every 100 ms; the deadline is a safety net),
    /// serving `syslogSeen` from `served` once the job's log holds the installer's syslog line.
    static func finish(_ fx: Fixture, _ id: JobID, name: String, served: String) async throws -> String {
        let store = fx.store
        let deadline = Deadline.after(seconds: 2 * Fixture.patience)
        while true {
            if !FileIO.exists("\(served)/\(syslogSeen)"),
                fileContains(store.paths(id).log, "installer: vmi-test: \(syslogMark)")
            {
                try FileIO.writeAtomically(
                    "\(served)/\(syslogSeen)", "seen\n", mode: [.ownerReadWrite, .groupRead, .otherRead])
            }
            let record = try store.read(id)
            if record.state.isTerminal {
                #expect(record.state == .finished, "\(record.error ?? "")")
                break
            }
            try #require(
                !deadline.hasPassed,
                "d-i did not finish; serial log: \(String((try? FileIO.readString(fx.vmFiles(name).serialLog)) ?? "").suffix(2000))"
            )
            try await Task.sleep(for: .milliseconds(100))
        }
        return try FileIO.readString(store.paths(id).log)
    }

    /// What every d-i run here shows: the preseed came from the answer server, d-i's own
    /// syslog lines are in the job's log, the typed text arrived whole and is not logged.
    static func checkRun(_ fx: Fixture, name: String, log: String) throws {
        let serial = (try? FileIO.readString(fx.vmFiles(name).serialLog, limit: 1 << 24)) ?? ""
        #expect(serial.contains(mark), "no preseed mark; serial: \(serial.suffix(3000))")
        #expect(log.contains("answer server: GET /preseed.cfg 200"), "\(log)")
        let server = try #require(log.firstRange(of: "answer server: http://10.0.2.2:"), "\(log)")
        let port = log[server.upperBound...].prefix { $0.isNumber }
        let syslog = try #require(log.firstRange(of: "installer syslog: 10.0.2.2:"), "\(log)")
        let syslogPort = log[syslog.upperBound...].prefix { $0.isNumber }
        let typed =
            "auto=true priority=critical url=http://10.0.2.2:\(port)/preseed.cfg log_host=10.0.2.2 log_port=\(syslogPort) console=ttyS0,115200n8"
        let cmdline = serial.split(whereSeparator: \.isNewline).first { $0.hasPrefix("cmdline: ") } ?? ""
        #expect(cmdline.contains(typed), "the kernel command line lacks what was typed: \(cmdline)")
        #expect(log.contains("installer: vmi-test: \(syslogMark)"), "\(log)")
        #expect(log.contains("installer: main-menu"), "d-i's own lines: \(log)")
        #expect(!log.contains("priority=critical"), "the typed text is not logged")
        #expect(log.contains("boot keys: typed"), "\(log)")
    }

    /// A --boot-keys text that does not parse is a usage error before the job exists, in the
    /// foreground and with --background alike.
    @Test func bootKeysThatDoNotParseAreUsageErrors() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            for (extra, words) in [
                (["--boot-keys", "install<enetr>"], "--boot-keys: unknown key <enetr>"),
                (["--boot-keys", "café"], "--boot-keys: character 'é' at position 4 cannot be typed"),
                (["--boot-keys", "url={{htp}}"], "--boot-keys: unknown placeholder {{htp}}"),
                (["--boot-keys", "<wait5x>"], "--boot-keys: <wait5x>: give a wait as"),
                (["--extra-args", "a={{nope}}"], "--extra-args: unknown placeholder {{nope}}"),
                (["--boot-wait", "3"], "--boot-wait goes with --boot-keys"),
                (["--boot-keys", "x", "--boot-key-interval", "0"], "--boot-key-interval 0.0: give milliseconds"),
            ] {
                let arguments = fx.vmArguments(name: "keys", guest: guest, extra: extra)
                let foreground = try await fx.vmInstall(arguments)
                let background = try await fx.vmInstall(arguments + ["--background"])
                #expect(foreground.code == 2 && foreground.stderr.contains(words), "\(extra): \(foreground.stderr)")
                #expect(background.code == 2 && background.stderr == foreground.stderr, "\(extra)")
                #expect(foreground.stdout.isEmpty && background.stdout.isEmpty)
            }
            #expect(try fx.store.listIDs().isEmpty, "no job")
        }
    }

    /// What the d-i runs from the isolinux ISO serve (--serve), besides the preseed.
    func served(_ fx: Fixture) -> String { "\(fx.root)/served" }

    func arguments(_ fx: Fixture, name: String, iso: String) throws -> [String] {
        try FileIO.writeAtomically("\(fx.root)/preseed.cfg", Self.preseed())
        _ = try FileIO.makeDirectory(served(fx), mode: 0o755)
        return [
            "--name", name, "--source", iso, "--autoinstall", "\(fx.root)/preseed.cfg", "--serve", served(fx),
            "--boot-keys", "install \(Self.typedArguments)<enter>", "--boot-wait-for", "boot:",
            "--disk", "\(fx.root)/\(name).qcow2,size=1G", "--memory", "1024", "--accel", "tcg", "--settle", "1",
            "--install-timeout", String(Int(2 * Fixture.patience)), "--background",
        ]
    }

    @Test func dInstallerFetchesItsPreseedFromTheAnswerServer() async throws {
        try await Fixture.with { fx in
            let iso = try await Self.isolinuxISO(fx)
            let result = try await fx.vmInstall(try arguments(fx, name: "di-keys", iso: iso))
            try #require(result.code == 0, "\(result.stderr)")
            let id = try #require(JobID(parsing: result.stdout.trimmed))
            let log = try await Self.finish(fx, id, name: "di-keys", served: served(fx))
            try Self.checkRun(fx, name: "di-keys", log: log)
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
        }
    }

    @Test func dInstallerUnderLibvirt() async throws {
        try await Fixture.withLibvirt { fx in
            let iso = try await Self.isolinuxISO(fx)
            let name = fx.domainName("di-keys")
            let result = try await fx.vmInstall(
                ["--connect", Fixture.systemURI] + (try arguments(fx, name: name, iso: iso)))
            try #require(result.code == 0, "\(result.stderr)")
            let id = try #require(JobID(parsing: result.stdout.trimmed))
            let log = try await Self.finish(fx, id, name: name, served: served(fx))
            try Self.checkRun(fx, name: name, log: log)
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
        }
    }

    /// A Debian mirror tree on 127.0.0.1: d-i is told the mirror as 10.0.2.2, which it then
    /// reaches (its early command fetches a file from the mirror d-i was told), and its
    /// preseed comes from --serve through {{http}} in --extra-args.
    @Test func aLoopbackMirrorIsToldAsTheGuestReachesIt() async throws {
        try await Fixture.with { fx in
            let mirror = "\(fx.root)/www"
            let installer = "debian/dists/bookworm/main/installer-amd64"
            let netboot = "\(mirror)/\(installer)/current/images/netboot/debian-installer/amd64"
            try DebianInstallerTests().makeDirectories(netboot)
            for file in ["linux", "initrd.gz"] {
                try DebianInstallerTests().copy("\(Self.images)/\(file)", to: "\(netboot)/\(file)")
            }
            let probe = "VMI-MIRROR-PROBE-\(getpid())"
            try FileIO.writeAtomically(
                "\(mirror)/debian/probe.txt", probe + "\n", mode: [.ownerReadWrite, .groupRead, .otherRead])
            let served = "\(fx.root)/answers"
            _ = try FileIO.makeDirectory(served)
            let fetch =
                "wget -q -O - http://$(debconf-get mirror/http/hostname)$(debconf-get mirror/http/directory)/probe.txt > /dev/ttyS0;"
            try FileIO.writeAtomically("\(served)/preseed.cfg", Self.preseed(extra: fetch))
            try await LoopbackServer.with(.http(directory: mirror), in: fx) { port in
                let result = try await fx.vmInstall([
                    "--name", "di-lo", "--source", "http://127.0.0.1:\(port)/\(installer)/", "--serve", served,
                    "--extra-args", "auto=true priority=critical url=http://{{http}}/preseed.cfg",
                    "--disk", "\(fx.root)/di-lo.qcow2,size=1G", "--memory", "1024", "--accel", "tcg", "--settle", "1",
                    "--install-timeout", String(Int(2 * Fixture.patience)), "--background",
                ])
                try #require(result.code == 0, "\(result.stderr)")
                let id = try #require(JobID(parsing: result.stdout.trimmed))
                let log = try await Self.finish(fx, id, name: "di-lo", served: served)
                #expect(log.contains("mirror/http/hostname=10.0.2.2:\(port) mirror/http/directory=/debian"), "\(log)")
                #expect(log.contains("is on this host's loopback"), "\(log)")
                #expect(log.contains("answer server: GET /preseed.cfg 200"), "\(log)")
                #expect(log.contains("installer: vmi-test: \(Self.syslogMark)"), "\(log)")
                #expect(
                    await fx.serialShows("di-lo", probe, seconds: 5),
                    "d-i did not reach the mirror it was told: \(String(((try? FileIO.readString(fx.vmFiles("di-lo").serialLog, limit: 1 << 24)) ?? "").suffix(3000)))"
                )
                #expect(try await fx.jobs(["--delete", id.description]).code == 0)
            }
        }
    }
}
