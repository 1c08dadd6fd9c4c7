import Glibc
import Testing
import VMInstallKit

/// `vm-install --stall-timeout`: an install whose VM writes nothing to its disks and whose
/// screen and serial console stay unchanged fails as stalled (exit 12).
@Suite(.serialized) struct StallTests {
    static let kvmOpens: Bool = {
        let fd = open("/dev/kvm", O_RDWR | O_CLOEXEC)
        if fd >= 0 { close(fd) }
        return fd >= 0
    }()

    /// Milliseconds from INSTALL to the job's end, by the stamps of the job's own log, so they
    /// do not depend on when the test looks.
    static func millisecondsFromInstallToEnd(_ fx: Fixture, _ id: JobID) async throws -> (Int64, JobRecord) {
        let record = try await fx.waitFor(id) { $0.state.isTerminal }
        let log = fx.store.paths(id).log
        let installing = try #require(logTime(log, "state 2 (INSTALL)"), "job \(id) logged no INSTALL")
        let ended = try #require(logTime(log, "job \(id) failed"), "job \(id) logged no failure")
        return (ended - installing, record)
    }

    /// The quiet seconds the stall message names.
    static func quietSeconds(_ message: String?) -> Int? {
        guard let message, let range = message.firstRange(of: "serial output for ") else { return nil }
        return Int(message[range.upperBound...].prefix { $0.isNumber })
    }

    /// The endless guest prints START once and idles: no disk writes, a still screen (but for
    /// the blinking text cursor), no more serial output. With a screen and without one, it
    /// fails once the limit has passed, never before, and only the VM with a screen leaves a
    /// last screen. How soon after the limit depends on how fast the runner samples the VM
    /// (every 2 s here, two screen dumps each with a screen), that is on the machine: the test
    /// asks only that the quiet time the message names is at least the limit and not more than
    /// the install lasted.
    @Test func aSilentInstallFailsAsStalled() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let watched = try await fx.startJob(
                name: "watched", guest: guest, extra: ["--vnc", "--stall-timeout", "20"])
            let blind = try await fx.startJob(name: "blind", guest: guest, extra: ["--stall-timeout", "20"])
            async let watchedEnd = Self.millisecondsFromInstallToEnd(fx, watched)
            async let blindEnd = Self.millisecondsFromInstallToEnd(fx, blind)
            let ends = [(watched, try await watchedEnd), (blind, try await blindEnd)]
            for (id, (milliseconds, record)) in ends {
                #expect(record.state == .failed, "job \(id): \(record.error ?? "")")
                #expect(record.exit == JobExitCode.installStalled.rawValue)
                #expect(milliseconds >= 20_000, "job \(id) ended \(milliseconds) ms after INSTALL began")
                let quiet = try #require(Self.quietSeconds(record.error), "\(record.error ?? "")")
                #expect(quiet >= 20 && Int64(quiet) * 1000 <= milliseconds, "quiet \(quiet) s in \(milliseconds) ms")
                let log = fx.store.paths(id).log
                #expect(fileContains(log, "the install stalled: no disk writes, screen changes or serial output for"))
                #expect(fileContains(log, "(--stall-timeout 20)"))
                #expect(!fileContains(log, "--accel tcg"), "a hint for KVM under TCG")
                #expect(fileContains(fx.store.paths(id).settings, "stall-timeout=20"))
                #expect(try await fx.jobs(["--status", id.description]).keys["exit"] == "12")
            }
            _ = try await fx.waitForEnd(watched)
            _ = try await fx.waitForEnd(blind)
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("watched")))
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("blind")))

            let kept = fx.store.paths(watched).lastScreen
            #expect(pngSize(kept) != nil, "no last screen")
            #expect(fileContains(fx.store.paths(watched).log, "kept the installer's last screen: \(kept)"))
            let json = try JSONSerializationFree.object(
                try await fx.jobs(["--status", watched.description, "--json"]).stdout)
            #expect(json["last_screen"] as? String == kept)

            // No screen, no last screen, and not a word about it.
            #expect(!FileIO.exists(fx.store.paths(blind).lastScreen))
            #expect(!fileContains(fx.store.paths(blind).log, "last screen"))
        }
    }

    /// A held install sits silent until its key comes: with a 2 s limit it stalls; with 0 the
    /// same install, held for longer than the checked one took to stall, then finishes.
    @Test func zeroTurnsTheCheckOff() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.held.guest()
            async let checked = fx.vmInstall(fx.vmArguments(name: "checked", guest: guest) + ["--stall-timeout", "2"])
            async let unchecked = fx.vmInstall(
                fx.vmArguments(name: "unchecked", guest: guest) + ["--stall-timeout", "0"])
            let stalled = try await checked
            #expect(stalled.code == JobExitCode.installStalled.rawValue, "\(stalled.stderr)")
            #expect(stalled.stderr.contains("the install stalled"))
            #expect(!stalled.stderr.contains("--accel tcg"))
            let (stalling, _) = try await Self.millisecondsFromInstallToEnd(fx, try await fx.job(named: "checked"))
            let log = fx.store.paths(try await fx.job(named: "unchecked")).log
            try await fx.waitUntil { logTime(log, "state 2 (INSTALL)") != nil }
            let installing = try #require(logTime(log, "state 2 (INSTALL)"))
            try await fx.waitUntil { nowMilliseconds() - installing > stalling + 2000 }
            try await fx.release("unchecked")
            let finished = try await unchecked
            #expect(finished.code == 0, "\(finished.stderr)")
            #expect(finished.stderr.contains("state 6 (FINISHED)"))
        }
    }

    /// Under KVM a stall suggests TCG: nested KVM hangs some guests silently.
    @Test(.enabled(if: StallTests.kvmOpens, "/dev/kvm cannot be opened"))
    func aStallUnderKVMSuggestsTCG() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            var arguments = fx.vmArguments(name: "kvm", guest: guest) + ["--stall-timeout", "3"]
            arguments[try #require(arguments.firstIndex(of: "tcg"))] = "kvm"
            let result = try await fx.vmInstall(arguments)
            #expect(result.code == JobExitCode.installStalled.rawValue, "\(result.stderr)")
            #expect(result.stderr.contains("retry with --accel tcg"), "\(result.stderr)")
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("kvm")))
        }
    }
}
