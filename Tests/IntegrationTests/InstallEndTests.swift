import Glibc
import Testing
import VMInstallKit

/// How an install phase can end, besides the guest powering off.
@Suite(.serialized) struct InstallEndTests {
    @Test func aRebootEndsTheInstallWithoutRestartingTheInstaller() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.rebooting.guest()
            let result = try await fx.vmInstall(fx.vmArguments(name: "reboots", guest: guest))
            #expect(result.code == 0, "\(result.stderr)")
            #expect(await fx.serialShows("reboots", Guest.runtimeMark))
            let serial = try FileIO.readString(fx.vmFiles("reboots").serialLog)
            #expect(serial.components("VM-INSTALL INSTALLER START") == 1, "\(serial)")
        }
    }

    /// A person at a terminal sees the install's elapsed time; a log or pipe gets plain lines.
    /// Each install is held in INSTALL until the runner has shown (or, off a terminal, would
    /// have shown) its elapsed time.
    @Test func foregroundProgressOnATerminalAndPlainLinesElsewhere() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.held.guest()
            let command =
                ([Fixture.buildDirectory + "/vm-install", "--state-dir", fx.stateDir]
                + fx.vmArguments(name: "shown", guest: guest)).joined(separator: " ")
            // script(1) records the terminal's output in a file as it comes. The first status
            // comes after the runner's first one-second step: 0:01, or later on a busy machine.
            let typescript = "\(fx.root)/typescript"
            let elapsed = try Regex("installing, [0-9]+:[0-9][0-9] elapsed")
            async let terminal = fx.run("/usr/bin/script", ["-qfec", command, typescript])
            try await fx.waitUntil {
                ((try? FileIO.readString(typescript)) ?? "").contains(elapsed)
            }
            try await fx.release("shown")
            let tty = try await terminal
            #expect(tty.code == 0, "\(tty.stdout)")
            #expect(tty.stdout.contains(elapsed), "\(tty.stdout)")
            #expect(tty.stdout.contains("\u{1B}[2K"))

            // Off a terminal: held for more than two of the runner's one-second steps.
            async let piped = fx.vmInstall(fx.vmArguments(name: "plain", guest: guest))
            let id = try await fx.job(named: "plain")
            let log = fx.store.paths(id).log
            try await fx.waitUntil { logTime(log, "state 2 (INSTALL)") != nil }
            let installing = try #require(logTime(log, "state 2 (INSTALL)"))
            try await fx.waitUntil { nowMilliseconds() - installing > 2500 }
            try await fx.release("plain")
            let plain = try await piped
            #expect(plain.code == 0)
            #expect(!plain.stderr.contains("\u{1B}"), "escape codes on a non-terminal")
            #expect(plain.stderr.contains("state 6 (FINISHED)"))
        }
    }

    @Test func anInstallThatTakesTooLongFails() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let result = try await fx.vmInstall(
                fx.vmArguments(name: "slow", guest: guest) + ["--install-timeout", "1"])
            #expect(result.code == JobExitCode.installTimedOut.rawValue, "\(result.stderr)")
            #expect(result.stderr.contains("--install-timeout"))
            #expect(!QEMUDriver().isRunning(files: fx.vmFiles("slow")))
            let status = try await fx.jobs(["--status", "1"]).keys
            #expect(status["state"] == "7")
            #expect(status["exit"] == "7")
        }
    }

    /// With its runner gone, --cancel stops the install VM itself and records the cancel.
    @Test func cancelWithoutARunnerStopsTheVMItself() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let id = try await fx.startJob(name: "orphan", guest: guest)
            let record = try await fx.waitFor(id) { $0.state == .install }
            let files = fx.vmFiles("orphan")
            try await fx.waitFor(id) { _ in QEMUDriver().isRunning(files: files) }
            kill(try #require(record.runnerPID), SIGKILL)
            try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }

            let cancel = try await fx.jobs(["--cancel", id.description])
            #expect(cancel.code == 0, "\(cancel.stderr)")
            #expect(!QEMUDriver().isRunning(files: files))
            let status = try await fx.jobs(["--status", id.description]).keys
            #expect(status["state"] == "8")
            #expect(status["exit"] == "10")
        }
    }
}

/// A runner killed in a phase: the next call reads FAILED with exit 11 and stops its VM.
@Suite(.serialized) struct RunnerDeathTests {
    @Test func aJobWhoseRunnerDiedReadsAsFailed() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.endless.guest()
            let id = try await fx.startJob(name: "dies", guest: guest)
            let record = try await fx.waitFor(id) { $0.state == .install }
            let files = fx.vmFiles("dies")
            try await fx.waitFor(id) { _ in QEMUDriver().isRunning(files: files) }
            kill(try #require(record.runnerPID), SIGKILL)
            try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }

            for _ in 0..<2 {
                let status = try await fx.jobs(["--status", id.description]).keys
                #expect(status["state"] == "7")
                #expect(status["exit"] == String(JobExitCode.runnerDied.rawValue))
                #expect(status["pid"] == nil)
            }
            #expect(!QEMUDriver().isRunning(files: files))
            #expect(fileContains(fx.store.paths(id).log, "ended in state 2 (INSTALL) without recording an end"))
            #expect(try await fx.jobs(["--delete", id.description]).code == 0)
        }
    }
}

extension String {
    func components(_ separator: String) -> Int {
        split(separator: separator, omittingEmptySubsequences: false).count - 1
    }
}
