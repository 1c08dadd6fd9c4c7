import Glibc

/// Admission and placement: a job enters the line once (`enqueue`, when it is created), waits
/// at the end of SETTINGS until its VM fits on one of its hosts and is placed there (`place`),
/// and leaves the line once it holds no share (`leave`: it ended, or was deleted or detached).
/// Nothing else writes the ledger. Jobs are admitted in the order they were submitted: only
/// the first waiting job can be admitted, so a big VM at the head is never passed by small ones.
///
/// A host's room: this machine has the state directory's memory budget (--memory-budget,
/// $VM_INSTALL_MEMORY_BUDGET, else its memory less a reserve), shared by QEMU's VMs and local
/// libvirt's; a remote libvirt host has its budget from the hosts file, else its memory as
/// libvirt reports it less a reserve, and no more than its free memory less the reserve; what
/// its other domains use counts against it.
/// `Placement` chooses among the hosts that take the VM.
struct Admission {
    let store: JobStore
    let id: JobID
    let log: JobLog
    let cancel: CancelSignal
    let memoryMiB: Int
    let spec: VMSpec
    let candidates: [Candidate]

    /// A host the job may be placed on.
    struct Candidate {
        /// The ledger's name for it: `Placement.localKey` or its URI.
        let key: String
        /// Its libvirt URI; nil for QEMU itself.
        let uri: String?
        let driver: any HypervisorDriver
        let configured: PlacementHost?
    }

    /// Checked even without events this often, in seconds; sooner when a remote host's room
    /// is waited for (its other domains give no events here).
    static let recheckSeconds = 30.0
    static let remoteRecheckSeconds = 5.0
    /// How often a runner without an inotify instance looks (and tries for an instance again).
    static let pollSeconds = 2.0
    /// Waiting runners with fewer jobs than this waiting ahead of them sleep on inotify; the
    /// others look every `pollSeconds`.
    static let watchingPlaces = 32

    /// Every job with libvirt hosts waits in line; a QEMU job when the state directory has a
    /// memory budget (always, unless /proc/meminfo cannot be read).
    static func applies(to spec: VMSpec) -> Bool {
        !spec.hosts.isEmpty || spec.memoryBudgetMiB != nil
    }

    /// Puts a new job in line, under the store's id lock and before the job is visible, so
    /// jobs are admitted in the order they were submitted. (The memory is settled in
    /// SETTINGS, which may take it from the OS's defaults.)
    static func enqueue(_ id: JobID, _ spec: VMSpec, in store: JobStore) throws(VMInstallError) {
        guard applies(to: spec) else { return }
        try AdmissionLedger(store: store).update {
            $0.append(AdmissionLedger.Entry(id: id, memoryMiB: spec.memoryMiB ?? 0, admitted: false))
        }
    }

    /// Takes a job out of line and gives its share back; the ledger's rename wakes the job
    /// first in line.
    static func leave(_ id: JobID, in store: JobStore) {
        _ = try? AdmissionLedger(store: store).update { entries in entries.removeAll { $0.id == id } }
    }

    /// Waits in SETTINGS until the VM fits on one of the job's hosts and places it there.
    /// `tryHost` runs the chosen host's own checks (the hypervisor's answers: its name, its
    /// storage pools); a host that refuses, or cannot be reached, before anything exists there
    /// for the job passes the job to the next host, and the log says why. Returns the chosen
    /// host's driver and what `tryHost` returned.
    static func place<T>(
        _ id: JobID, spec: VMSpec, memoryMiB: Int, store: JobStore, log: JobLog, cancel: CancelSignal,
        tryHost: (any HypervisorDriver) throws(VMInstallError) -> T
    ) throws(VMInstallError) -> (driver: any HypervisorDriver, value: T) {
        let drivers = HypervisorDrivers.candidates(for: spec, job: id, stateDirectory: store.root, log: log)
        let candidates = zip(drivers, spec.hosts.isEmpty ? [nil] : spec.hosts.map { Optional($0) }).map {
            driver, host in
            Candidate(
                key: driver.runsOnThisMachine ? Placement.localKey : host?.uri ?? Placement.localKey, uri: host?.uri,
                driver: driver, configured: host)
        }
        guard applies(to: spec) else { return (drivers[0], try tryHost(drivers[0])) }
        if spec.hosts.count > 1 {
            log.write(
                "placing the VM (\(memoryMiB) MiB) on one of \(spec.hostGroup.map { "host group \($0): " } ?? "")\(spec.hosts.map(\.uri).joined(separator: ", "))"
            )
        }
        let admission = Admission(
            store: store, id: id, log: log, cancel: cancel, memoryMiB: memoryMiB, spec: spec, candidates: candidates)
        return try admission.waitAndPlace(tryHost)
    }

    /// The room of each host that answers, for the job first in line; the hosts that do not
    /// answer go to `refused` with why.
    func rooms(excluding refused: inout [String: String]) -> [Placement.Room] {
        var rooms: [Placement.Room] = []
        for candidate in candidates where refused[candidate.key] == nil {
            let capacity: HostCapacity?
            do { capacity = try candidate.driver.capacity() } catch {
                refused[candidate.key] = error.message
                log.write("host \(candidate.key) cannot be reached (\(error.message)); it is passed over")
                continue
            }
            let slots = candidate.configured?.maxInstalls ?? spec.maxInstalls
            guard let capacity else {
                rooms.append(Placement.Room(key: candidate.key, budgetMiB: spec.memoryBudgetMiB, maxInstalls: slots))
                continue
            }
            // A configured budget wins; else the host's memory less the reserve, and no more
            // than it has free now less the reserve.
            let reserve = MemoryBudget.reserve(totalMiB: capacity.totalMiB)
            let configured = candidate.configured?.memoryBudgetMiB
            rooms.append(
                Placement.Room(
                    key: candidate.key, budgetMiB: configured ?? capacity.totalMiB - reserve,
                    othersMiB: capacity.othersMiB, freeMiB: configured == nil ? capacity.freeMiB - reserve : nil,
                    maxInstalls: slots))
        }
        return rooms
    }

    enum Share { case held, free, orphaned }

    /// An admitted job holds its share while its runner lives, and once FINISHED while its VM
    /// runs (or while that cannot be told: a hypervisor that does not answer). A job whose
    /// runner died unfinished must be settled first, so the VM it left is stopped before its
    /// share goes to the next job.
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
