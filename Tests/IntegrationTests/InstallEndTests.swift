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
    @Test func foregroundProgressOnATerminalAndPlainLinesElsewhere() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.slow.guest()
            let command =
                ([Fixture.buildDirectory + "/vm-install", "--state-dir", fx.stateDir]
                + fx.vmArguments(name: "shown", guest: guest)).joined(separator: " ")
            let tty = try await fx.run("/usr/bin/script", ["-qfec", command, "/dev/null"])
            #expect(tty.code == 0, "\(tty.stdout)")
            #expect(tty.stdout.contains("installing, 0:01 elapsed"), "\(tty.stdout)")
            #expect(tty.stdout.contains("\u{1B}[2K"))

            let plain = try await fx.vmInstall(fx.vmArguments(name: "plain", guest: guest))
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
            try await fx.waitFor(id, seconds: 10) { _ in !fx.store.runnerIsAlive(id) }

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
            try await fx.waitFor(id, seconds: 10) { _ in !fx.store.runnerIsAlive(id) }

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
