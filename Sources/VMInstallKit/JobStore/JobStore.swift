import Glibc
import SystemPackage

/// The jobs and VMs of one state directory. Records are replaced atomically, so readers
/// never lock; writers serialise on the job's update lock.
public struct JobStore: Sendable {
    public let location: StateDirectory
    public var root: String { location.path }

    public init(_ location: StateDirectory) {
        self.location = location
    }

    /// A state directory given as a path, as --state-dir gives it.
    public init(root: String) {
        self.init(StateDirectory(path: root, origin: .option))
    }

    public var jobsDirectory: String { "\(root)/jobs" }
    public var vmsDirectory: String { "\(root)/vms" }
    var idLock: String { "\(root)/lock" }
    var lastID: String { "\(root)/last-id" }

    /// Where a job assembles its VM directory before renaming it into place.
    public func vmStagingDirectory(name: String, job: JobID) -> String { "\(vmsDirectory)/.new-\(name)-\(job)" }

    public func paths(_ id: JobID) -> JobPaths { JobPaths(jobsDirectory: jobsDirectory, id: id) }
    public func vmPaths(_ name: String) -> VMPaths { VMPaths(vmsDirectory: vmsDirectory, name: name) }

    /// Creates the directory layout (mode 0700) if it is missing: the state directory as
    /// `StateDirectory.create` says, then its jobs and vms directories.
    public func prepare() throws(VMInstallError) {
        try location.create()
        for dir in [jobsDirectory, vmsDirectory] {
            do {
                try FileIO.makeDirectory(dir, mode: 0o700)
            } catch {
                throw VMInstallError(
                    .stateDirectory,
                    "cannot create the state directory \(dir): \(error); choose another with --state-dir")
            }
        }
    }

    /// Job ids, ascending. Reads the directory only: no job record is opened.
    public func listIDs() throws(VMInstallError) -> [JobID] {
        let names: [String]
        do { names = try FileIO.listDirectory(jobsDirectory) } catch {
            if error == .noSuchFileOrDirectory { return [] }
            throw VMInstallError(.requestFailed, "cannot read \(jobsDirectory): \(error)")
        }
        return names.compactMap { JobID(parsing: $0) }.sorted()
    }

    public func read(_ id: JobID) throws(VMInstallError) -> JobRecord {
        let p = paths(id)
        let text: String
        do { text = try FileIO.readString(p.record, limit: 256 << 10) } catch {
            if error == .noSuchFileOrDirectory {
                if FileIO.isDirectory(p.directory) {
                    throw VMInstallError(
                        .damagedJob,
                        "job \(id) is damaged: \(p.record) is missing; delete its directory by hand if it is not needed"
                    )
                }
                throw VMInstallError(
                    .noSuchJob, "no job \(id) in \(root); 'vm-install-jobs --list' shows the jobs there")
            }
            if error == .permissionDenied {
                throw VMInstallError(
                    .requestFailed,
                    "cannot read job \(id): permission denied; the state directory \(root) belongs to another user")
            }
            throw VMInstallError(.damagedJob, "cannot read job \(id) (\(p.record)): \(error)")
        }
        return try JobRecord.decode(text, expected: id)
    }

    public func readSettings(_ id: JobID) throws(VMInstallError) -> VMSpec {
        do {
            return try VMSpec.decode(try FileIO.readString(paths(id).settings))
        } catch {
            throw VMInstallError(.stateDirectory, "cannot read the settings of job \(id): \(error)")
        }
    }

    /// Records a new job in SETTINGS and returns it with its runner lock already held, so the
    /// job is never visible without a live owner. The job appears whole: it is assembled in
    /// a hidden directory and renamed into place.
    public func create(_ spec: VMSpec, runnerPID: Int32?) throws(VMInstallError) -> (JobID, FileLock) {
        try prepare()
        do {
            let lock = try FileLock.acquire(idLock)
            defer { lock.release() }
            sweepLeftovers()
            let id = try nextID()
            try FileIO.writeAtomically(lastID, "\(id)\n")
            let staging = JobPaths(directory: "\(jobsDirectory)/.new-\(id)")
            try FileIO.removeTree(staging.directory)
            try FileIO.makeDirectory(staging.directory, mode: 0o700)
            let runnerLock = try FileLock.acquire(staging.runnerLock)
            var record = JobRecord(id: id, name: spec.name, now: Int64(time(nil)))
            record.runnerPID = runnerPID
            try FileIO.writeAtomically(staging.settings, spec.encoded())
            try FileIO.writeAtomically(staging.record, record.encoded())
            try FileIO.writeInPlace(staging.inotify, "\(JobState.settings.rawValue)\n")
            try FileIO.writeInPlace(staging.log, "")
            // In line for admission before it exists, still under the id lock.
            try Admission.enqueue(id, spec, in: self)
            if rename(staging.directory, paths(id).directory) != 0 {
                let err = errno
                Admission.leave(id, in: self)
                throw Errno(rawValue: err)
            }
            return (id, runnerLock)
        } catch let error as VMInstallError {
            throw error
        } catch {
            throw VMInstallError(.stateDirectory, "cannot record a new job in \(jobsDirectory): \(error)")
        }
    }

    /// Removes what an interrupted create or delete left: a hidden `.new-ID` directory whose
    /// creator is gone (nobody holds its runner lock) and `.deleted-*` directories. Neither
    /// is a job: --list never shows them. Called under the id lock.
    private func sweepLeftovers() {
        for name in (try? FileIO.listDirectory(jobsDirectory)) ?? [] {
            let path = "\(jobsDirectory)/\(name)"
            if name.hasPrefix(".deleted-") || (name.hasPrefix(".new-") && !FileLock.isHeld("\(path)/runner.lock")) {
                try? FileIO.removeTree(path)
            }
        }
    }

    /// The next id: above the highest ever given and above any job directory present.
    private func nextID() throws -> JobID {
        var highest: UInt64 = 0
        if let text = try? FileIO.readString(lastID), let n = UInt64(text.filter(\.isNumber)) {
            highest = n
        }
        for id in try listIDs() where id.value > highest { highest = id.value }
        // Ids stay within what JobID(parsing:) reads back: 19 digits.
        guard highest < 9_999_999_999_999_999_999, let next = JobID(highest + 1) else {
            throw VMInstallError(
                .stateDirectory, "job ids are exhausted in \(root) (last id \(highest)); use another --state-dir")
        }
        return next
    }

    /// Changes a job under its update lock. A state change is checked against the state
    /// machine, and announced by rewriting the inotify file after the record is in place,
    /// so a watcher woken by it reads the new state.
    @discardableResult
    public func update(_ id: JobID, _ change: (inout JobRecord) throws(VMInstallError) -> Void) throws(VMInstallError)
        -> JobRecord
    {
        try withUpdateLock(id) { () throws(VMInstallError) in try updateHoldingLock(id, change) }
    }

    /// `update` for a caller that already holds the job's update lock (a second flock on the
    /// same file from this process would wait for itself).
    @discardableResult
    public func updateHoldingLock(_ id: JobID, _ change: (inout JobRecord) throws(VMInstallError) -> Void)
        throws(VMInstallError) -> JobRecord
    {
        let p = paths(id)
        let old = try read(id)
        var new = old
        try change(&new)
        guard new != old else { return old }
        if new.state != old.state && !old.state.canMove(to: new.state) {
            throw VMInstallError(.internal, "job \(id) cannot move from \(old.state) to \(new.state)")
        }
        new.updated = Int64(time(nil))
        if new.state != old.state { new.stateSince = new.updated }
        do {
            try FileIO.writeAtomically(p.record, new.encoded(), durable: Self.mustSurviveACrash(old, new))
            if new.state != old.state {
                try FileIO.writeInPlace(p.inotify, "\(new.state.rawValue)\n")
            }
        } catch {
            throw VMInstallError(.stateDirectory, "cannot write job \(id): \(error)")
        }
        return new
    }

    /// What the job owns (its VM directory, disks, volumes, host), how it ended and the cancel
    /// asked for are on the disk before a change is visible. How far a running job got, its
    /// pid, VNC address or why it waits need not be: after a crash every runner is gone and
    /// the job is settled as FAILED whatever state it read, so those changes skip the fsync
    /// (milliseconds each, on every state change of every job of a batch).
    static func mustSurviveACrash(_ old: JobRecord, _ new: JobRecord) -> Bool {
        new.state.isTerminal != old.state.isTerminal || new.exit != old.exit || new.uuid != old.uuid
            || new.vmDirectory != old.vmDirectory || new.createdDisks != old.createdDisks
            || new.createdVolumes != old.createdVolumes || new.host != old.host
            || new.cancelRequested != old.cancelRequested || new.error != old.error
    }

    /// Runs `body` holding the job's update lock, for requests that must not interleave
    /// with each other or with the runner (cancel, delete, detach).
    public func withUpdateLock<T>(_ id: JobID, _ body: () throws(VMInstallError) -> T) throws(VMInstallError) -> T {
        let lock: FileLock
        do { lock = try FileLock.acquire(paths(id).updateLock) } catch {
            if error == .noSuchFileOrDirectory {
                throw VMInstallError(
                    .noSuchJob, "no job \(id) in \(root); 'vm-install-jobs --list' shows the jobs there")
            }
            if error == .permissionDenied {
                throw VMInstallError(
                    .requestFailed,
                    "cannot change job \(id): permission denied; the state directory \(root) belongs to another user")
            }
            throw VMInstallError(.stateDirectory, "cannot lock job \(id): \(error)")
        }
        defer { lock.release() }
        return try body()
    }

    /// Removes the job's directory. It first leaves the listing in one step (a rename), so
    /// no reader ever sees a half-removed job.
    public func removeJobDirectory(_ id: JobID) throws(VMInstallError) {
        let doomed = "\(jobsDirectory)/.deleted-\(id)-\(getpid())"
        guard rename(paths(id).directory, doomed) == 0 else {
            if errno == ENOENT { throw VMInstallError(.noSuchJob, "no job \(id) in \(root)") }
            throw VMInstallError(.requestFailed, "cannot remove job \(id): \(Errno(rawValue: errno))")
        }
        try? FileIO.removeTree(doomed)
    }

    /// True while the job's runner process is alive (it holds the runner lock).
    public func runnerIsAlive(_ id: JobID) -> Bool {
        FileLock.isHeld(paths(id).runnerLock)
    }
}
