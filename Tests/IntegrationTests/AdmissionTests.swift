import Glibc
import Testing
import VMInstallKit

/// Batches: jobs wait in SETTINGS until their VM fits the state directory's memory budget,
/// and are admitted in the order they were submitted.
@Suite(.serialized) struct AdmissionTests {
    /// VMs of this fixture that run: those whose QEMU holds its pid file's lock (a pid alone
    /// could be another process's by now).
    func qemuCount(_ fx: Fixture) -> Int {
        ((try? FileIO.listDirectory(fx.store.vmsDirectory)) ?? []).filter {
            QEMUDriver().isRunning(files: fx.vmFiles($0))
        }.count
    }

    /// The fixture's job runners (`vm-install --run-job`) that hold an inotify descriptor.
    func runnersHoldingInotify(_ fx: Fixture) -> [pid_t] {
        ((try? FileIO.listDirectory("/proc")) ?? []).compactMap { pid_t($0) }.filter { pid in
            guard let bytes = try? FileIO.read("/proc/\(pid)/cmdline", limit: 1 << 16) else { return false }
            let cmdline = String(decoding: bytes.map { $0 == 0 ? 32 : $0 }, as: UTF8.self)
            guard cmdline.contains("--run-job"), cmdline.contains(fx.stateDir) else { return false }
            return ((try? FileIO.listDirectory("/proc/\(pid)/fd")) ?? []).contains { fd in
                var target = [CChar](repeating: 0, count: 256)
                let n = readlink("/proc/\(pid)/fd/\(fd)", &target, 255)
                return n > 0
                    && String(decoding: target[0..<n].map { UInt8(bitPattern: $0) }, as: UTF8.self).contains("inotify")
            }
        }
    }

    /// When the job's log says it was admitted, in milliseconds since the epoch.
    func admittedAt(_ fx: Fixture, _ id: JobID) -> Int64? {
        logTime(fx.store.paths(id).log, " admitted: ")
    }

    /// Starts `count` background jobs at once; their ids in submission order.
    func burst(_ fx: Fixture, count: Int, guest: Guest, budget: Int, prefix: String) async throws -> [JobID] {
        try await withThrowingTaskGroup(of: (Int, JobID).self) { group in
            for i in 0..<count {
                group.addTask {
                    let r = try await fx.vmInstall(
                        fx.vmArguments(
                            name: "\(prefix)\(i)", guest: guest,
                            extra: ["--memory-budget", String(budget), "--background"]))
                    return (i, try #require(JobID(parsing: r.stdout.trimmed), "\(r.stderr)"))
                }
            }
            var ids: [JobID] = []
            for try await (_, id) in group { ids.append(id) }
            return ids.sorted()
        }
    }

    @Test func twentyJobsShareABudgetOfFour() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let ids = try await burst(fx, count: 20, guest: guest, budget: 256, prefix: "b")
            var most = 0
            var finished = Set<JobID>()
            var admitted: [(JobID, Int64)] = []
            let deadline = Deadline.after(seconds: 2 * Fixture.patience)
            while finished.count < ids.count {
                try #require(!deadline.hasPassed, "only \(finished.count) of 20 finished")
                most = max(most, qemuCount(fx))
                // The runtime VM holds its share until the job goes: the test deletes the jobs
                // four at a time (the last ones together), once all four have ended, so four
                // VMs run at once however fast each job is.
                let left = ids.filter { !finished.contains($0) }
                let ended = try left.filter { try fx.store.read($0).state.isTerminal }
                if ended.count < min(4, left.count) {
                    try await Task.sleep(for: .milliseconds(20))
                    continue
                }
                most = max(most, qemuCount(fx))
                for id in ended {
                    let record = try fx.store.read(id)
                    #expect(record.state == .finished, "job \(id): \(record.error ?? "")")
                    _ = try await fx.waitForEnd(id)
                    if let at = admittedAt(fx, id) { admitted.append((id, at)) }
                    #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                    finished.insert(id)
                }
            }
            #expect(most <= 4, "\(most) VMs ran at once under a budget of four")
            #expect(most == 4, "the budget was not used: at most \(most) VMs at once")
            let order = admitted.sorted { $0.0 < $1.0 }
            #expect(order.count == ids.count)
            for (a, b) in zip(order, order.dropFirst()) {
                #expect(a.1 <= b.1, "job \(b.0) was admitted before job \(a.0)")
            }
            #expect(AdmissionLedger(store: fx.store).read().isEmpty)
        }
    }

    @Test func aVMLargerThanTheBudgetFailsAtOnce() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let r = try await fx.vmInstall(
                fx.vmArguments(name: "big", guest: guest, extra: ["--memory", "512", "--memory-budget", "256"]))
            #expect(r.code == JobExitCode.host.rawValue)
            #expect(
                r.stderr.contains(
                    "needs 512 MiB, more than the whole memory budget of 256 MiB, so it could never start"),
                "\(r.stderr)")
            #expect(AdmissionLedger(store: fx.store).read().isEmpty)
        }
    }

    /// A waiting job is canceled at once; one whose runner is killed while it holds a share
    /// gives the share back, its VM is stopped, and the queue moves on.
    @Test func cancelWhileWaitingAndARunnerKilledWithAShare() async throws {
        try await Fixture.with { fx in
            let endless = try await Guest.endless.guest()
            let holder = try await fx.startJob(name: "holder", guest: endless, extra: ["--memory-budget", "100"])
            try await fx.waitFor(holder) { $0.state == .install }
            let quick = try await Guest.quick.guest()
            let waiter = try await fx.startJob(name: "waiter", guest: quick, extra: ["--memory-budget", "100"])
            let next = try await fx.startJob(name: "next", guest: quick, extra: ["--memory-budget", "100"])
            let waiting = try await fx.waitFor(waiter) { $0.waiting != nil }
            #expect(waiting.state == .settings && waiting.runnerPID != nil)
            let json = try await fx.jobs(["--status", waiter.description, "--json"])
            #expect(
                json.stdout.contains(
                    "\"waiting\" : \"for memory: needs 64 MiB, 64 MiB of the budget of 100 MiB in use by jobs \(holder)\""
                ), "\(json.stdout)")

            // --watch shows the job as waiting: it prints that line, and is stopped once it has.
            let watch = try await fx.watch([waiter.description])
            try await watch.waitForLine("waiting line") {
                ($0["waiting"] as? String)?.hasPrefix("for memory: needs 64 MiB") == true
            }
            _ = try await watch.stop()

            // The holder keeps its share until the test kills its runner: the waiter can only
            // end while it waits.
            #expect(try await fx.jobs(["--cancel", waiter.description]).code == 0)
            let canceled = try await fx.waitFor(waiter) { $0.state.isTerminal }
            #expect(canceled.state == .canceled)
            #expect(!AdmissionLedger(store: fx.store).read().contains { $0.id == waiter })

            let runner = try #require(try fx.store.read(holder).runnerPID)
            kill(runner, SIGKILL)
            let end = try await fx.waitForEnd(next)
            #expect(end.state == .finished, "\(end.error ?? "")")
            #expect(try fx.store.read(holder).state == .failed)
            #expect(
                !FileIO.exists(fx.vmFiles("holder").installPIDFile) || qemuCount(fx) == 1,
                "the killed runner's VM was stopped")
            #expect(qemuCount(fx) == 1, "only the next job's runtime VM runs")
        }
    }

    /// 200 jobs submitted in one burst under a budget for two: none is lost, a few finish,
    /// the test cancels the rest, and the ledger ends empty.
    @Test func aBurstOfTwoHundred() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.quick.guest()
            let ids = try await burst(fx, count: 200, guest: guest, budget: 128, prefix: "burst")
            #expect(Set(ids).count == 200)
            #expect(try fx.store.listIDs().count == 200, "every job is listed")
            // Once the last job waits, only the runners near the head of the line (32) hold an
            // inotify instance; the user's other instances are left to its tools.
            _ = try await fx.waitFor(ids[199]) { $0.waiting != nil || $0.state.isTerminal }
            let watching = runnersHoldingInotify(fx)
            #expect(watching.count <= 32 + 2, "\(watching.count) runners hold inotify instances")
            var finished = Set<JobID>()
            let deadline = Deadline.after(seconds: 2 * Fixture.patience)
            while finished.count < 6 {
                try #require(!deadline.hasPassed, "only \(finished.count) finished")
                #expect(qemuCount(fx) <= 2)
                for id in ids.prefix(20) where !finished.contains(id) {
                    guard try fx.store.read(id).state == .finished else { continue }
                    _ = try await fx.waitForEnd(id)
                    #expect(try await fx.jobs(["--delete", id.description]).code == 0)
                    finished.insert(id)
                }
                try await Task.sleep(for: .milliseconds(20))
            }
            let rest = ids.filter { !finished.contains($0) }
            for id in rest { _ = try await fx.jobs(["--cancel", id.description]) }
            var ended: [JobID: JobState] = [:]
            var errors: [String] = []
            for id in rest {
                let record = try await fx.waitForEnd(id)
                ended[id] = record.state
                if let error = record.error, errors.count < 3 { errors.append("job \(id): \(error)") }
            }
            let canceled = ended.values.filter { $0 == .canceled }.count
            let done = ended.values.filter { $0 == .finished }.count
            #expect(
                canceled + done == rest.count,
                "\(rest.count - canceled - done) neither canceled nor finished: \(errors)")
            for id in rest { #expect(try await fx.jobs(["--delete", id.description]).code == 0) }
            #expect(try fx.store.listIDs().isEmpty)
            #expect(AdmissionLedger(store: fx.store).read().isEmpty, "\(AdmissionLedger(store: fx.store).read())")
            #expect(qemuCount(fx) == 0)
        }
    }

    /// --max-installs 1: one install at a time, whatever the memory. Each job is held in
    /// INSTALL while the test looks: the others wait for the slot, then it is let go.
    @Test func oneInstallAtATime() async throws {
        try await Fixture.with { fx in
            let guest = try await Guest.held.guest()
            var ids: [JobID] = []
            for i in 0..<3 {
                ids.append(
                    try await fx.startJob(
                        name: "one\(i)", guest: guest, extra: ["--memory-budget", "4096", "--max-installs", "1"]))
            }
            var most = 0
            for (i, id) in ids.enumerated() {
                try await fx.waitFor(id) { $0.state == .install }
                // The next in line waits for the slot, the one after it behind the next.
                for later in ids[(i + 1)...] {
                    try await fx.waitFor(later) {
                        later == ids[i + 1] ? $0.waiting?.hasPrefix("for an install slot") == true : $0.waiting != nil
                    }
                }
                let installing = try ids.filter { [.prepInstall, .install].contains(try fx.store.read($0).state) }.count
                most = max(most, installing)
                try await fx.release("one\(i)")
            }
            #expect(most == 1, "\(most) jobs were in their install at once")
            for id in ids { #expect(try await fx.waitForEnd(id).state == .finished) }
            let log = try FileIO.readString(fx.store.paths(ids[1]).log)
            #expect(
                log.contains("waiting for an install slot: 1 of --max-installs 1 taken by jobs \(ids[0])"), "\(log)")
        }
    }
}
