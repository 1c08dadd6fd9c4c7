import Glibc

/// What vm-install-jobs does to a job besides listing: status, cancel, delete, detach.
/// Each request is checked against `JobRequest.allowedStates` under the job's update lock,
/// so a refused request changes nothing and two requests never interleave.
public struct JobControl {
    let store: JobStore

    public init(store: JobStore) {
        self.store = store
    }

    /// The job's own driver: the hypervisor its settings name (QEMU, or libvirt at a URI).
    func driver(_ id: JobID) -> any HypervisorDriver {
        HypervisorDrivers.driver(forJob: id, in: store, log: JobLog(path: store.paths(id).log, echoToStderr: false))
    }

    /// The job's status. A job whose runner died before recording an end is settled first,
    /// so every caller sees the truth and later calls agree.
    public func status(_ id: JobID) throws(VMInstallError) -> JobStatus {
        var record = try store.read(id)
        guard access(store.paths(id).inotify, F_OK) == 0 else {
            // Deleted between the two reads: the job left the listing in one rename.
            if !FileIO.exists(store.paths(id).record) {
                throw VMInstallError(
                    .noSuchJob, "no job \(id) in \(store.root); 'vm-install-jobs --list' shows the jobs there")
            }
            throw VMInstallError(
                .damagedJob,
                "job \(id) is damaged: its inotify file \(store.paths(id).inotify) is missing; delete its directory by hand if it is not needed"
            )
        }
        // Liveness from the runner lock alone: the pid is recorded a moment after the job
        // appears, and a pid by itself proves nothing.
        let alive = store.runnerIsAlive(id)
        if !record.state.isTerminal && !alive {
            // If the end cannot be written (a full or read-only state directory), the last
            // good record is still the answer; the next call tries again.
            do { record = try settleOrphan(id) } catch  where error.kind != .noSuchJob && error.kind != .damagedJob {}
        }
        return JobStatus(record: record, paths: store.paths(id), runnerAlive: alive)
    }

    /// Records the end of a job whose runner is gone: CANCELED if a cancel was asked for,
    /// FAILED otherwise; whatever VM it started is stopped.
    @discardableResult
    public func settleOrphan(_ id: JobID) throws(VMInstallError) -> JobRecord {
        try store.withUpdateLock(id) { () throws(VMInstallError) -> JobRecord in
            let record = try store.read(id)
            guard !record.state.isTerminal, !store.runnerIsAlive(id) else { return record }
            let log = JobLog(path: store.paths(id).log, echoToStderr: false)
            // A QEMU the runner was starting is still being launched from the runner's session.
            if let pid = record.runnerPID { ProcessTable.waitForSessionToEnd(pid, deadline: .after(seconds: 10)) }
            if let files = ownedVMFiles(record) {
                do { try driver(id).stopAll(files: files, deadline: .after(seconds: 5)) } catch {
                    log.write("warning: \(error)")
                }
            }
            let canceled = record.cancelRequested
            let reason =
                "the job runner (pid \(record.runnerPID.map { String($0) } ?? "?")) ended in state \(record.state) without recording an end"
            log.write(canceled ? "job \(id) canceled; \(reason)" : "job \(id) failed: \(reason)")
            return try store.updateHoldingLock(id) { r in
                r.state = canceled ? .canceled : .failed
                r.exit = (canceled ? JobExitCode.canceled : JobExitCode.runnerDied).rawValue
                if !canceled { r.error = reason }
            }
        }
    }

    public enum CancelOutcome: Equatable {
        /// The runner was asked to stop; it finishes the cancel itself.
        case askedRunner
        /// No runner was left, so the cancel was carried out here.
        case canceledHere
    }

    @discardableResult
    public func cancel(_ id: JobID) throws(VMInstallError) -> CancelOutcome {
        try perform(.cancel, on: id) { record throws(VMInstallError) -> CancelOutcome in
            if store.runnerIsAlive(id) {
                // Recorded first: the runner checks it at every state change, so the request
                // holds even if the signal finds the runner between two waits, or before it
                // has recorded its pid.
                try store.updateHoldingLock(id) { $0.cancelRequested = true }
                if let pid = record.runnerPID, kill(pid, SIGTERM) != 0, errno != ESRCH {
                    throw VMInstallError(
                        .requestFailed,
                        "cannot signal job \(id)'s runner (pid \(pid)): \(String(cString: strerror(errno)))")
                }
                return .askedRunner
            }
            // The runner is gone: stop what it started and record the cancel here.
            if let pid = record.runnerPID { ProcessTable.waitForSessionToEnd(pid, deadline: .after(seconds: 10)) }
            if let files = ownedVMFiles(record) {
                try discard(id, files: files, record: record)
            }
            try store.updateHoldingLock(id) { r in
                r.cancelRequested = true
                r.state = .canceled
                r.exit = JobExitCode.canceled.rawValue
            }
            JobLog(path: store.paths(id).log, echoToStderr: false).write(
                "job \(id) canceled by vm-install-jobs (its runner had ended)")
            return .canceledHere
        }
    }

    /// Stops the VM if it runs, removes the VM directory and the disks the job created (and
    /// nothing else), then the job. Each step can be repeated, so an interrupted delete is
    /// finished by running it again.
    public func delete(_ id: JobID) throws(VMInstallError) {
        try settleIfOrphaned(id)
        try perform(.delete, on: id) { record throws(VMInstallError) in
            let owned = ownedVMFiles(record)
            if let owned {
                try discard(id, files: owned, record: record)
            }
            let log = JobLog(path: store.paths(id).log, echoToStderr: false)
            for disk in record.createdDisks {
                try removeCreatedDisk(disk, log: log)
            }
            if let owned {
                do { try FileIO.removeTree(owned.directory) } catch {
                    throw VMInstallError(.requestFailed, "cannot remove \(owned.directory): \(error)")
                }
            }
            try? FileIO.removeTree(store.vmStagingDirectory(name: record.name, job: id))
            try store.removeJobDirectory(id)
        }
        // After the job's update lock is let go: admission takes the ledger's lock first.
        Admission.leave(id, in: store)
    }

    /// Forgets the job; the VM, its configuration and its disks stay as they are.
    public func detach(_ id: JobID) throws(VMInstallError) {
        try settleIfOrphaned(id)
        try perform(.detach, on: id) { record throws(VMInstallError) in
            if let owned = ownedVMFiles(record) { FileIO.removeFile(owned.owner) }
            try store.removeJobDirectory(id)
        }
        // A detached VM is no longer this state directory's: its share goes with the job.
        Admission.leave(id, in: store)
    }

    /// Stops the VM and removes what the hypervisor keeps of it (libvirt's domain, uploads)
    /// and the storage volumes the job created.
    private func discard(_ id: JobID, files: VMPaths, record: JobRecord) throws(VMInstallError) {
        let driver = driver(id)
        try driver.discard(files: files)
        let log = JobLog(path: store.paths(id).log, echoToStderr: false)
        for volume in record.createdVolumes { try driver.deleteVolume(volume, log: log) }
    }

    /// Runs a request under the job's update lock, once the state table allows it in the
    /// job's current state; otherwise refuses it and changes nothing.
    private func perform<T>(_ request: JobRequest, on id: JobID, _ body: (JobRecord) throws(VMInstallError) -> T)
        throws(VMInstallError) -> T
    {
        try store.withUpdateLock(id) { () throws(VMInstallError) -> T in
            let record = try store.read(id)
            guard request.isAllowed(in: record.state) else { throw request.refusal(job: id, state: record.state) }
            return try body(record)
        }
    }

    private func settleIfOrphaned(_ id: JobID) throws(VMInstallError) {
        let record = try store.read(id)
        if !record.state.isTerminal && !store.runnerIsAlive(id) { try settleOrphan(id) }
    }

    /// A disk goes only while it is provably the file this job created: same device, inode
    /// and birth time. Where the filesystem keeps no birth time, a new file could reuse the
    /// inode, so nothing proves it and the disk is kept.
    private func removeCreatedDisk(_ disk: CreatedDisk, log: JobLog) throws(VMInstallError) {
        guard let current = FileIdentity.of(disk.path), current == disk.identity else {
            if FileIO.exists(disk.path) { log.write("kept \(disk.path): it is no longer the file this job created") }
            return
        }
        guard disk.identity.birthSeconds >= 0 else {
            log.write(
                "kept \(disk.path): its filesystem records no birth time, so it cannot be proven to be this job's disk")
            return
        }
        if unlink(disk.path) != 0 && errno != ENOENT {
            throw VMInstallError(.requestFailed, "cannot remove disk \(disk.path): \(String(cString: strerror(errno)))")
        }
    }

    /// The VM directory the job recorded, if it is really this job's: inside this state
    /// directory's vms/ and marked with this job's owner file. Nothing else is stopped or removed.
    func ownedVMFiles(_ record: JobRecord) -> VMPaths? {
        guard let dir = record.vmDirectory, dir.hasPrefix(store.vmsDirectory + "/") else { return nil }
        let files = VMPaths(directory: dir)
        guard (try? FileIO.readString(files.owner)) == VMPaths.ownerMark(job: record.id) else { return nil }
        return files
    }

}
