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

    /// Seconds from INSTALL to the job's end, as the record tells them (each state records
    /// when it began, to the second), so they do not depend on when the test looks.
    static func secondsFromInstallToEnd(_ fx: Fixture, _ id: JobID) async throws -> (seconds: Int64, record: JobRecord)
    {
        let installing = try await fx.waitFor(id) { $0.state.rawValue >= JobState.install.rawValue }
        try #require(installing.state == .install, "job \(id) left INSTALL before the test saw it")
        let record = try await fx.waitFor(id, seconds: 90) { $0.state.isTerminal }
        return (record.stateSince - installing.stateSince, record)
    }

    /// The endless guest prints START once and idles: no disk writes, a still screen (but for
    /// the blinking text cursor), no more serial output. With a screen and without one, it
    /// fails a few seconds after the limit, and only the VM with a screen leaves a last screen.
    @Test func aSilentInstallFailsAsStalled() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let watched = try await fx.startJob(
                name: "watched", guest: guest, extra: ["--vnc", "--stall-timeout", "20"])
            let blind = try await fx.startJob(name: "blind", guest: guest, extra: ["--stall-timeout", "20"])
            async let watchedEnd = Self.secondsFromInstallToEnd(fx, watched)
            async let blindEnd = Self.secondsFromInstallToEnd(fx, blind)
            let ends = [(watched, try await watchedEnd), (blind, try await blindEnd)]
            for (id, (seconds, record)) in ends {
                #expect(record.state == .failed, "job \(id): \(record.error ?? "")")
                #expect(record.exit == JobExitCode.installStalled.rawValue)
                #expect(seconds >= 20 && seconds <= 35, "job \(id) ended \(seconds) s after INSTALL began")
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

    /// The 5 s install of the slower guest sits silent long enough to stall with a 2 s limit;
    /// with 0 the same install finishes.
    @Test func zeroTurnsTheCheckOff() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.slower.guest()
            async let checked = fx.vmInstall(fx.vmArguments(name: "checked", guest: guest) + ["--stall-timeout", "2"])
            async let unchecked = fx.vmInstall(
                fx.vmArguments(name: "unchecked", guest: guest) + ["--stall-timeout", "0"])
            let stalled = try await checked
            #expect(stalled.code == JobExitCode.installStalled.rawValue, "\(stalled.stderr)")
            #expect(stalled.stderr.contains("the install stalled"))
            #expect(!stalled.stderr.contains("--accel tcg"))
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
