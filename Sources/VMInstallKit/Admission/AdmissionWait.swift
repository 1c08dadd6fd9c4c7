import Glibc

/// The waiting itself. The runner sleeps in poll(2) on inotify: when first in line, on the
/// ledger's renames and the runner locks and records of the jobs that hold shares (a runner
/// that dies closes its lock; a holder's record changes as it leaves INSTALL); behind others,
/// on the job just ahead only, so a long queue does not all wake on every change; with a slow
/// timer for what gives no event (a runtime VM that stops, a remote host's other domains).
/// A runner 32 or more places back in line, or one that finds no inotify instance left,
/// looks every 2 s instead.
extension Admission {
    func waitAndPlace<T>(_ tryHost: (any HypervisorDriver) throws(VMInstallError) -> T) throws(VMInstallError) -> (
        driver: any HypervisorDriver, value: T
    ) {
        let ledger = AdmissionLedger(store: store)
        // Each waiting runner near the head of the line needs an inotify instance of its own,
        // and a user has only fs.inotify.max_user_instances (128 by default). Runners further
        // back, which cannot be admitted before those ahead, look every 2 s instead, so a
        // batch leaves the user's other instances to its tools (--wait, --watch, ...); so do
        // runners that find none left.
        var inotify: Inotify?
        var watches: [String: Int32] = [:]
        var told: String?
        var toldPolling = false
        /// Hosts passed over, with why.
        var refused: [String: String] = [:]
        let canceledWhileWaiting = VMInstallError(.canceled, "the job was canceled while it waited for room")
        while true {
            try cancel.check()
            // The facts of the hosts and the shares of the jobs that hold them are gathered
            // outside the ledger's lock (a hypervisor may take its time to answer); only the
            // job first in line needs them.
            let snapshot = ledger.read()
            let ahead = snapshot.lazy.filter { !$0.admitted && $0.id < id }.count
            if ahead >= Self.watchingPlaces {
                inotify = nil
                watches = [:]
            } else if inotify == nil {
                inotify = try? Inotify()
            }
            var rooms: [Placement.Room]?
            var shares: [JobID: Share] = [:]
            if firstInLine(snapshot) {
                shares = shareSnapshot(snapshot)
                rooms = self.rooms(excluding: &refused)
                if rooms!.isEmpty { throw noHostLeft(refused) }
            }
            let decision = try ledger.update { (entries: inout [AdmissionLedger.Entry]) -> Decision in
                let decision = decide(&entries, shares: shares, rooms: rooms)
                // Logged under the lock, before the ledger that admits it is written: the job
                // behind it can be admitted only after that, so the logs keep the line's order.
                if case .admitted(let key, let inUse, let budget, let reason) = decision {
                    log.write(admittedLine(key: key, inUseMiB: inUse, budgetMiB: budget, reason: reason, rooms: rooms))
                }
                return decision
            }
            switch decision {
            case .again:
                continue
            case .settle(let orphans):
                for orphan in orphans {
                    if let settled = try? JobControl(store: store).settleOrphan(orphan) {
                        log.write(
                            "job \(orphan) (VM \(settled.name)) held memory but had lost its runner: settled as \(settled.state)"
                        )
                    }
                }
            case .never(let reason):
                throw VMInstallError(.host, "no host can ever take the VM: \(reason)")
            case .admitted(let key, _, _, _):
                if told != nil { try store.update(id) { $0.waiting = nil } }
                guard let candidate = candidates.first(where: { $0.key == key }) else {
                    throw VMInstallError(.internal, "placed on an unknown host \(key)")
                }
                do {
                    let value = try tryHost(candidate.driver)
                    if let uri = candidate.uri { try store.update(id) { $0.host = uri } }
                    return (candidate.driver, value)
                } catch
                    where error.kind != .canceled
                    && candidates.contains(where: { refused[$0.key] == nil && $0.key != key })
                {
                    refused[key] = error.message
                    log.write(
                        "host \(key) refused the job before anything was made there (\(error.message)); trying the next host"
                    )
                    _ = try? ledger.update { entries in
                        if let index = entries.firstIndex(where: { $0.id == id }) {
                            entries[index].admitted = false
                            entries[index].host = nil
                        }
                    }
                } catch {
                    if candidates.count > 1 {
                        refused[key] = error.message
                        throw noHostLeft(refused, last: error)
                    }
                    throw error
                }
            case .wait(let reason, let holders, let behind):
                if reason != told {
                    try store.update(id) { $0.waiting = reason }
                    log.write("waiting \(reason)")
                    told = reason
                }
                guard let inotify else {
                    if !toldPolling, ahead < Self.watchingPlaces {
                        log.write(
                            "no inotify instance left (fs.inotify.max_user_instances): looking for room every \(Int(Self.pollSeconds)) s until one is free"
                        )
                        toldPolling = true
                    }
                    if cancel.wait(for: nil, until: .after(seconds: Self.pollSeconds)) == .canceled {
                        throw canceledWhileWaiting
                    }
                    // Runners that end give their instances back; the next look tries again.
                    continue
                }
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
                let remote = behind == nil && (rooms ?? []).contains { $0.key != Placement.localKey }
                let recheck = remote ? Self.remoteRecheckSeconds : Self.recheckSeconds
                if cancel.wait(for: inotify.fd, until: .after(seconds: recheck)) == .canceled {
                    throw canceledWhileWaiting
                }
                _ = inotify.drain()
            }
        }
    }

    /// The log's line for an admission: what the VM takes of which budget, and where it went.
    func admittedLine(key: String, inUseMiB: Int, budgetMiB: Int?, reason: String, rooms: [Placement.Room]?)
        -> String
    {
        let place =
            candidates.count > 1
            ? " on \(Placement.name(rooms?.first { $0.key == key } ?? .init(key: key, budgetMiB: nil, maxInstalls: nil)))"
            : ""
        return
            "admitted: \(memoryMiB) MiB of the memory budget of \(budgetMiB.map(String.init) ?? "(none)") MiB\(place) (\(inUseMiB) MiB in use by other jobs)"
            + (candidates.count > 1 ? "; placed on \(reason)" : "")
    }

    /// Every host of the job refused it or could not be reached.
    func noHostLeft(_ refused: [String: String], last: VMInstallError? = nil) -> VMInstallError {
        if candidates.count == 1, let only = refused.values.first {
            return last ?? VMInstallError(.host, only)
        }
        let reasons = candidates.compactMap { c in refused[c.key].map { "\(c.key): \($0)" } }
        return VMInstallError(
            last?.kind ?? .host, "no host of the job can take it: \(reasons.joined(separator: "; "))")
    }
}
