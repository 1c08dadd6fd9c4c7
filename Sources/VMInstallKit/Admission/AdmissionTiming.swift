/// For Benchmarks/PlacementBenchmark only: one decision of a job, as it makes each time it
/// wakes while waiting (the ledger read, the facts of its hosts when it is first in line,
/// the decision under the ledger's lock), without waiting or placing it.
@_spi(Benchmarks)
public enum AdmissionTiming {
    public static func decideOnce(_ id: JobID, spec: VMSpec, memoryMiB: Int, store: JobStore) throws(VMInstallError)
        -> String
    {
        let drivers = HypervisorDrivers.candidates(for: spec, job: id, stateDirectory: store.root, log: nil)
        let candidates = drivers.map {
            Admission.Candidate(key: Placement.localKey, uri: nil, driver: $0, configured: nil)
        }
        let log = JobLog(path: "/dev/null", echoToStderr: false)
        let admission = Admission(
            store: store, id: id, log: log, cancel: try CancelSignal(), memoryMiB: memoryMiB, spec: spec,
            candidates: candidates)
        let ledger = AdmissionLedger(store: store)
        let snapshot = ledger.read()
        var refused: [String: String] = [:]
        let first = admission.firstInLine(snapshot)
        let shares = first ? admission.shareSnapshot(snapshot) : [:]
        let rooms = first ? admission.rooms(excluding: &refused) : nil
        let decision = try ledger.update { (entries: inout [AdmissionLedger.Entry]) -> Admission.Decision in
            admission.decide(&entries, shares: shares, rooms: rooms)
        }
        return "\(decision)"
    }
}
