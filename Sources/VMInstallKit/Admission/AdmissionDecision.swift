/// One decision of the job first in line, made under the ledger's lock from what was gathered
/// outside it (no hypervisor call here).
extension Admission {
    enum Decision: Equatable {
        case admitted(key: String, inUseMiB: Int, budgetMiB: Int?, reason: String)
        /// Why, for the log and the record; the jobs whose end would make room; and the
        /// waiting job just ahead, when this one is not first in line.
        case wait(reason: String, holders: [JobID], behind: JobID?)
        /// Jobs that held shares lost their runners: settle them (outside the ledger's lock:
        /// stopping a VM takes seconds) and decide again.
        case settle([JobID])
        /// No host could ever take the VM.
        case never(reason: String)
        /// The job came first in line after its facts were gathered: gather them and decide again.
        case again
    }

    /// True when no earlier job whose runner lives waits before this one.
    func firstInLine(_ entries: [AdmissionLedger.Entry]) -> Bool {
        !entries.contains { !$0.admitted && $0.id < id && store.runnerIsAlive($0.id) }
    }

    /// The share of each admitted job, asked of its driver where needed.
    func shareSnapshot(_ entries: [AdmissionLedger.Entry]) -> [JobID: Share] {
        var shares: [JobID: Share] = [:]
        for entry in entries where entry.admitted { shares[entry.id] = share(entry.id) }
        return shares
    }

    /// Drops what no longer holds a share (as `shares` says; a job admitted since the snapshot
    /// holds its share), then admits this job if it is first in line and `Placement` finds it
    /// a host among `rooms` (nil: the facts were not gathered, since it was not first).
    func decide(_ entries: inout [AdmissionLedger.Entry], shares: [JobID: Share], rooms: [Placement.Room]?)
        -> Decision
    {
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
        guard let rooms else { return .again }
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
        var loads: [String: Placement.Load] = [:]
        for entry in entries where entry.admitted {
            loads[entry.hostKey, default: Placement.Load()].sharesMiB += entry.memoryMiB
            loads[entry.hostKey, default: Placement.Load()].holders.append(entry.id)
            if ((try? store.read(entry.id))?.state.rawValue ?? 99) <= JobState.install.rawValue {
                loads[entry.hostKey, default: Placement.Load()].installs += 1
                loads[entry.hostKey, default: Placement.Load()].installing.append(entry.id)
            }
        }
        switch Placement.choose(memoryMiB: memoryMiB, rooms: rooms, loads: loads) {
        case .placed(let key, let inUse, let reason):
            if let index = entries.firstIndex(where: { $0.id == id }) {
                entries[index].admitted = true
                entries[index].host = key == Placement.localKey ? nil : key
            }
            return .admitted(
                key: key, inUseMiB: inUse, budgetMiB: rooms.first { $0.key == key }?.budgetMiB, reason: reason)
        case .wait(let reason, let holders):
            return .wait(reason: reason, holders: holders, behind: nil)
        case .never(let reason):
            return .never(reason: reason)
        }
    }
}
