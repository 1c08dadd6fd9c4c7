import Glibc
import Testing
import VMInstallKit

/// Runners and vm-install-jobs killed at awkward moments, and a simulated host reboot.
@Suite struct CrashTests {
    /// A runner killed with SIGKILL in each unfinished state: the next call reads FAILED with
    /// exit 11 and no pid, the reason is in the log, and later calls agree.
    @Test(arguments: 0...5)
    func runnerKilledInEveryUnfinishedState(_ raw: Int) async throws {
        try await Fixture.with { fx in
            let state = JobState(rawValue: raw)!
            let id = try fx.recordJob(in: state)
            kill(try #require(try fx.store.read(id).runnerPID), SIGKILL)
            try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }
            for _ in 0..<2 {
                let status = try await fx.jobs(["--status", id.description])
                #expect(status.code == 0)
                #expect(status.keys["state"] == "7")
                #expect(status.keys["exit"] == "11")
                #expect(status.keys["pid"] == nil)
            }
            #expect(fileContains(fx.store.paths(id).log, "ended in state \(state) without recording an end"))
        }
    }

    /// A cancel right after the job appears, before its runner has even recorded its pid,
    /// must still end the job CANCELED, never FINISHED.
    @Test func aCancelRightAfterTheStartIsNeverLost() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            for round in 0..<5 {
                let id = try await fx.startJob(name: "early\(round)", guest: guest)
                let cancel = try await fx.jobs(["--cancel", id.description])
                let record = try await fx.waitForEnd(id)
                if cancel.code == 0 {
                    #expect(record.state == .canceled, "round \(round): canceled, yet \(record.state)")
                } else {
                    #expect(cancel.code == 4 && record.state == .finished)
                }
                #expect(!QEMUDriver().isRunning(files: fx.vmFiles("early\(round)")) || record.state == .finished)
            }
        }
    }

    /// The real thing in RUNTIME: the runner dies during the settle period; its VM is stopped.
    /// The settle period is the test's time to see RUNTIME and kill the runner.
    @Test func runnerKilledWhileTheVMSettles() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let id = try await fx.startJob(
                name: "settling", guest: guest, extra: ["--settle", "\(Int(Fixture.patience))"])
            let record = try await fx.waitFor(id) { $0.state == .runtime }
            let files = fx.vmFiles("settling")
            try await fx.waitFor(id) { _ in QEMUDriver().isRunning(files: files) }
            kill(try #require(record.runnerPID), SIGKILL)
            try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }
            let status = try await fx.jobs(["--status", id.description]).keys
            #expect(status["state"] == "7")
            #expect(status["exit"] == "11")
            #expect(!QEMUDriver().isRunning(files: files))
        }
    }

    /// A pid recorded for a runner that died and was reused by another process must not
    /// make the job look alive, and nothing may signal that process.
    @Test func aReusedPidDoesNotLookAlive() async throws {
        try await Fixture.with { fx in
            let stranger = try startUnrelatedProcess()
            defer {
                kill(stranger, SIGKILL)
                var s: Int32 = 0
                waitpid(stranger, &s, 0)
            }
            let statusJob = try fx.recordJob(in: .install, name: "a")
            let cancelJob = try fx.recordJob(in: .install, name: "b")
            for id in [statusJob, cancelJob] {
                let runner = try #require(try fx.store.read(id).runnerPID)
                kill(runner, SIGKILL)
                try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) }
                try fx.store.update(id) { $0.runnerPID = stranger }
            }
            let status = try await fx.jobs(["--status", statusJob.description]).keys
            #expect(status["state"] == "7")
            #expect(status["pid"] == nil)
            #expect(try await fx.jobs(["--cancel", cancelJob.description]).code == 0)
            #expect(try await fx.jobs(["--status", cancelJob.description]).keys["state"] == "8")
            #expect(isAlive(stranger), "a process that merely reuses the pid was signaled")
        }
    }

    /// Every process gone, the state directory intact: unfinished jobs read FAILED, finished
    /// ones are untouched.
    @Test func hostRebootLeavesTheTruth() async throws {
        try await Fixture.with { fx in
            var ids: [JobState: JobID] = [:]
            for state in JobState.allCases { ids[state] = try fx.recordJob(in: state, name: "s\(state.rawValue)") }
            let before = try ids.mapValues { try FileIO.readString(fx.store.paths($0).record) }
            for (_, id) in ids { if let pid = try fx.store.read(id).runnerPID { kill(pid, SIGKILL) } }
            for (_, id) in ids { try await fx.waitFor(id) { _ in !fx.store.runnerIsAlive(id) } }
            #expect(try await fx.jobs(["--list"]).stdout.split(separator: "\n").count == JobState.allCases.count)
            for (state, id) in ids {
                let status = try await fx.jobs(["--status", id.description]).keys
                if state.isTerminal {
                    #expect(status["state"] == String(state.rawValue))
                    #expect(try FileIO.readString(fx.store.paths(id).record) == before[state])
                } else {
                    #expect(status["state"] == "7", "\(state)")
                    #expect(status["exit"] == "11")
                }
            }
        }
    }

    /// vm-install-jobs killed part-way through --delete or --cancel: the same request again
    /// completes it, and nothing is left half-deleted.
    @Test func interruptedRequestsCompleteWhenRepeated() async throws {
        try await Fixture.with { fx in
            // --delete killed after removing the disk, before removing the job.
            let disk = "\(fx.root)/made.qcow2"
            close(open(disk, O_CREAT | O_WRONLY, 0o600))
            let finished = try fx.recordJob(in: .finished, name: "deleted")
            try fx.store.update(finished) {
                $0.createdDisks = [CreatedDisk(path: disk, identity: FileIdentity.of(disk)!)]
            }
            unlink(disk)
            #expect(try await fx.jobs(["--delete", finished.description]).code == 0)
            #expect(try await fx.jobs(["--status", finished.description]).code == 3)

            // --delete killed after the job left the listing; --cancel killed after asking.
            let hidden = try fx.recordJob(in: .failed, name: "hidden")
            #expect(rename(fx.store.paths(hidden).directory, "\(fx.store.jobsDirectory)/.deleted-\(hidden)-1") == 0)
            let asked = try fx.recordJob(in: .install, name: "asked")
            try fx.store.update(asked) { $0.cancelRequested = true }
            kill(try #require(try fx.store.read(asked).runnerPID), SIGKILL)
            try await fx.waitFor(asked) { _ in !fx.store.runnerIsAlive(asked) }
            #expect(try await fx.jobs(["--list"]).stdout == "\(asked)\n")
            #expect(try await fx.jobs(["--cancel", asked.description]).code == 0)
            #expect(try await fx.jobs(["--status", asked.description]).keys["state"] == "8")

            // The next job sweeps what the interrupted delete left.
            _ = try await fx.vmInstall(["--name", "next", "--source", "/missing.iso", "--disk", "/tmp/x,size=1M"])
            #expect(!(try FileIO.listDirectory(fx.store.jobsDirectory)).contains { $0.hasPrefix(".") })
        }
    }
}
