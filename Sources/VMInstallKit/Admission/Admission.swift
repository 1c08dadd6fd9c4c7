import Glibc

/// SETTINGS' last step: a job whose VM does not fit waits here, in state 0 with its runner's
/// pid recorded, until it does. It fits when the memory of the VMs that the state directory's
/// admitted jobs run or start, plus its own, stays within the budget (and, with
/// --max-installs, fewer jobs are before or in their install). Jobs are admitted in the order
/// they were submitted: only the first waiting job in the ledger can be admitted, so a big VM
/// at the head is never passed by small ones. The runner sleeps in poll(2) on inotify: the
/// ledger's renames and the runner locks of the jobs that hold shares (a runner that dies
/// closes its lock) when first in line, else the job just ahead; with a slow timer for what
/// gives no event (a runtime VM that stops);
/// only where no inotify instance is left does it look every 2 s, until it gets one.
/// Admission owns the ledger: a job enters it once (`enqueue`, when it is created), waits
/// for room (`waitForRoom`, at the end of SETTINGS) and leaves it once it holds no share
/// (`leave`: it ended, or was deleted or detached). Nothing else writes the ledger.
struct Admission {
    let store: JobStore
    let id: JobID
    let log: JobLog
    let cancel: CancelSignal
    let memoryMiB: Int
    let budgetMiB: Int
    let maxInstalls: Int?

    /// A job waits for room when it has a memory budget and its VM runs on this machine
    /// (another host's memory is not this state directory's to share).
    static func applies(to spec: VMSpec, driver: any HypervisorDriver) -> Bool {
        spec.memoryBudgetMiB != nil && driver.runsOnThisMachine
    }

    /// Puts a new job in line, under the store's id lock and before the job is visible, so
    /// jobs are admitted in the order they were submitted. (The memory is settled in
    /// SETTINGS, which may take it from the OS's defaults.)
    static func enqueue(_ id: JobID, _ spec: VMSpec, in store: JobStore) throws(VMInstallError) {
        let driver = HypervisorDrivers.driver(for: spec, job: id, stateDirectory: store.root, log: nil)
        guard applies(to: spec, driver: driver) else { return }
        try AdmissionLedger(store: store).update {
            $0.append(AdmissionLedger.Entry(id: id, memoryMiB: spec.memoryMiB ?? 0, admitted: false))
        }
    }

    /// Takes a job out of line and gives its share back; the ledger's rename wakes the job
    /// first in line.
    static func leave(_ id: JobID, in store: JobStore) {
        _ = try? AdmissionLedger(store: store).update { entries in entries.removeAll { $0.id == id } }
    }

    /// Waits in SETTINGS until the job's VM fits; returns at once for a job not in line.
    static func waitForRoom(
        _ id: JobID, spec: VMSpec, memoryMiB: Int, driver: any HypervisorDriver, store: JobStore, log: JobLog,
        cancel: CancelSignal
    ) throws(VMInstallError) {
        guard applies(to: spec, driver: driver), let budget = spec.memoryBudgetMiB else { return }
        try Admission(
            store: store, id: id, log: log, cancel: cancel, memoryMiB: memoryMiB, budgetMiB: budget,
            maxInstalls: spec.maxInstalls
        ).waitForRoom()
    }

    /// Checked even without events this often, in seconds.
    static let recheckSeconds = 30.0
    /// How often a runner without an inotify instance looks (and tries for an instance again).
    static let pollSeconds = 2.0

    enum Decision: Equatable {
        case admitted(inUseMiB: Int)
        /// Why, for the log and the record; the jobs whose end would make room; and the
        /// waiting job just ahead, when this one is not first in line.
        case wait(reason: String, holders: [JobID], behind: JobID?)
        /// Jobs that held shares lost their runners: settle them (outside the ledger's lock:
        /// stopping a VM takes seconds) and decide again.
        case settle([JobID])
    }

    private func waitForRoom() throws(VMInstallError) {
        let ledger = AdmissionLedger(store: store)
        // Each waiting runner needs an inotify instance of its own, and a user has only
        // fs.inotify.max_user_instances (128 by default): past that, it looks once a second.
        var inotify = try? Inotify()
        var watches: [String: Int32] = [:]
        var told: String?
        var toldPolling = false
        let canceledWhileWaiting = VMInstallError(.canceled, "the job was canceled while it waited for room")
        while true {
            try cancel.check()
            // The shares of the jobs that hold them are asked outside the ledger's lock (a
            // hypervisor may take its time to answer); only the job first in line needs them.
            let shares = firstInLine(ledger.read()) ? shareSnapshot(ledger.read()) : [:]
            switch try ledger.update({ (entries: inout [AdmissionLedger.Entry]) -> Decision in
                decide(&entries, shares: shares)
            }) {
            case .settle(let orphans):
                for orphan in orphans {
                    if let settled = try? JobControl(store: store).settleOrphan(orphan) {
                        log.write(
                            "job \(orphan) (VM \(settled.name)) held memory but had lost its runner: settled as \(settled.state)"
                        )
                    }
                }
            case .admitted(let inUse):
                if told != nil { try store.update(id) { $0.waiting = nil } }
                log.write(
                    "admitted: \(memoryMiB) MiB of the memory budget of \(budgetMiB) MiB (\(inUse) MiB in use by other jobs)"
                )
                return
            case .wait(let reason, let holders, let behind):
                if reason != told {
                    try store.update(id) { $0.waiting = reason }
                    log.write("waiting \(reason)")
                    told = reason
                }
                guard let inotify else {
                    if !toldPolling {
                        log.write(
                            "no inotify instance left (fs.inotify.max_user_instances): looking for room every \(Int(Self.pollSeconds)) s until one is free"
                        )
                        toldPolling = true
                    }
                    if cancel.wait(for: nil, until: .after(seconds: Self.pollSeconds)) == .canceled {
                        throw canceledWhileWaiting
                    }
                    // Runners that end give their instances back.
                    inotify = try? Inotify()
                    watches = [:]
                    continue
                }
                // First in line: the ledger and the runners holding shares. Behind others: only
                // the job just ahead (its record changes when it is admitted or ends, its lock
                // when its runner dies), so a long queue does not all wake on every change.
                // A holder's record changes as it leaves INSTALL (an install slot frees).
                var wanted: [String: UInt32] = [:]
                for job in behind.map({ [$0] }) ?? holders {
                    wanted[store.paths(job).directory] = UInt32(IN_MOVED_TO)
                    wanted[store.paths(job).runnerLock] = UInt32(IN_CLOSE_WRITE)
                }
                if behind == nil { wanted[store.root] = UInt32(IN_MOVED_TO) }
                for (path, wd) in watches where wanted[path] == nil {
                    inotify.remove(wd)
                    watches[path] = nil
                }
                var added = false
                for (path, mask) in wanted where watches[path] == nil {
                    if let wd = inotify.watch(path, mask) {
                        watches[path] = wd
                        added = true
                    }
                }
                // What changed between the decision and a new watch gave no event: decide
                // once more before sleeping.
                if added { continue }
                if cancel.wait(for: inotify.fd, until: .after(seconds: Self.recheckSeconds)) == .canceled {
                    throw canceledWhileWaiting
                }
                _ = inotify.drain()
            }
        }
    }

    /// True when no earlier job whose runner lives waits before this one.
    private func firstInLine(_ entries: [AdmissionLedger.Entry]) -> Bool {
        !entries.contains { !$0.admitted && $0.id < id && store.runnerIsAlive($0.id) }
    }

    /// The share of each admitted job, asked of its driver where needed.
    private func shareSnapshot(_ entries: [AdmissionLedger.Entry]) -> [JobID: Share] {
        var shares: [JobID: Share] = [:]
        for entry in entries where entry.admitted { shares[entry.id] = share(entry.id) }
        return shares
    }

    /// Under the ledger's lock, with no hypervisor call: drops what no longer holds a share
    /// (as `shares` says; a job admitted since the snapshot holds its share), then admits this
    /// job if it is first in line and fits.
    func decide(_ entries: inout [AdmissionLedger.Entry], shares: [JobID: Share]) -> Decision {
        // In line since the job was created; its memory is known only now.
        entries.removeAll { $0.id == id }
        entries.append(AdmissionLedger.Entry(id: id, memoryMiB: memoryMiB, admitted: false))
        entries.sort { $0.id < $1.id }
        // First in line? The nearest earlier waiting job whose runner lives is the one to
        // wait behind; those passed on the way, whose runners are gone, are dropped.
        for ahead in entries.filter({ !$0.admitted && $0.id < id }).map(\.id).reversed() {
            if store.runnerIsAlive(ahead) {
                return .wait(
                    reason: "for memory: \(memoryMiB) MiB, behind jobs submitted earlier", holders: [], behind: ahead)
            }
            entries.removeAll { $0.id == ahead }
        }
        var orphans: [JobID] = []
        entries.removeAll { entry in
            guard entry.admitted else { return false }
            switch shares[entry.id] ?? .held {
            case .held: return false
            case .free: return true
            case .orphaned:
                orphans.append(entry.id)
                return false
            }
        }
        if !orphans.isEmpty { return .settle(orphans) }
        // First in line, it also drops later waiting jobs whose runners are gone, so the
        // ledger keeps no one who will never ask again.
        entries.removeAll { !$0.admitted && $0.id > id && !store.runnerIsAlive($0.id) }
        let admitted = entries.filter(\.admitted)
        let inUse = admitted.reduce(0) { $0 + $1.memoryMiB }
        let holders = admitted.map(\.id)
        if inUse + memoryMiB > budgetMiB {
            let users = holders.map(\.description).joined(separator: ", ")
            return .wait(
                reason:
                    "for memory: needs \(memoryMiB) MiB, \(inUse) MiB of the budget of \(budgetMiB) MiB in use by jobs \(users)",
                holders: holders, behind: nil)
        }
        if let maxInstalls {
            let installing = admitted.filter {
                ((try? store.read($0.id))?.state.rawValue ?? 99) <= JobState.install.rawValue
            }
            if installing.count >= maxInstalls {
                let users = installing.map(\.id.description).joined(separator: ", ")
                return .wait(
                    reason:
                        "for an install slot: \(installing.count) of --max-installs \(maxInstalls) taken by jobs \(users)",
                    holders: holders, behind: nil)
            }
        }
        if let index = entries.firstIndex(where: { $0.id == id }) { entries[index].admitted = true }
        return .admitted(inUseMiB: inUse)
    }

    enum Share { case held, free, orphaned }

    /// An admitted job holds its share while its runner lives, and once FINISHED while its VM
    /// runs (or while that cannot be told: a libvirt that does not answer). A job whose runner
    /// died unfinished must be settled first, so the VM it left is stopped before its share
    /// goes to the next job.
    func share(_ job: JobID) -> Share {
        if store.runnerIsAlive(job) { return .held }
        guard let record = try? store.read(job) else { return .free }
        if !record.state.isTerminal { return .orphaned }
        guard record.state == .finished, let directory = record.vmDirectory else { return .free }
        let state = HypervisorDrivers.driver(forJob: job, in: store, log: nil).runState(
            files: VMPaths(directory: directory))
        return state.mayBeRunning ? .held : .free
    }
}
