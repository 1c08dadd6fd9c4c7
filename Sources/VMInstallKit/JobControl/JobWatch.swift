import Glibc

/// `--watch`: follows the jobs of a state directory (or one job) through inotify: the jobs
/// directory for jobs that appear and go, each job's inotify file for state changes, each
/// runner lock for runners that die, and each job's directory for record changes (a job that
/// starts or stops waiting for room). The caller waits on `fd` and then calls `refresh()`.
public final class JobWatch {
    public struct Job: Equatable, Sendable {
        public let status: JobStatus
        public let name: String
        /// When the job entered its current state (seconds since the epoch).
        public let stateSince: Int64
        /// Why it waits in SETTINGS for room; nil when it does not.
        public let waiting: String?
        /// The libvirt host it was placed on.
        public let host: String?
    }

    public enum Change: Equatable, Sendable {
        /// A job that was there when the watch began.
        case present(Job)
        case created(Job)
        case stateChanged(Job)
        /// It started or stopped waiting for room, or waits for something else now.
        case waitingChanged(Job)
        case removed(JobID)
    }

    let control: JobControl
    let only: JobID?
    let inotify: Inotify
    private var watches: [Int32: JobID] = [:]
    private var directoryWatch: Int32?
    public private(set) var jobs: [JobID: Job] = [:]
    private var started = false

    public var fd: Int32 { inotify.fd }

    public init(control: JobControl, only: JobID?) throws(VMInstallError) {
        self.control = control
        self.only = only
        inotify = Inotify.orPolling()
        if only == nil {
            try control.store.prepare()
            directoryWatch = inotify.watch(
                control.store.jobsDirectory, UInt32(IN_CREATE | IN_MOVED_TO | IN_MOVED_FROM | IN_DELETE | IN_ONLYDIR))
        }
    }

    /// What changed since the last call (the first call reports every job as present).
    public func refresh() throws(VMInstallError) -> [Change] {
        let events = inotify.drain()
        var touched = Set(events.compactMap { watches[$0.watch] })
        let first = !started
        started = true
        // Without events (a polling inotify) every job is looked at again.
        if first || inotify.isPolling || events.contains(where: { $0.watch == directoryWatch }) {
            let listed: [JobID] = if let only { [only] } else { try control.store.listIDs() }
            touched.formUnion(listed)
            touched.formUnion(jobs.keys)
        }
        var changes: [Change] = []
        for id in touched.sorted() {
            guard let job = read(id) else {
                if jobs.removeValue(forKey: id) != nil { changes.append(.removed(id)) }
                unwatch(id)
                continue
            }
            let before = jobs[id]
            jobs[id] = job
            if before == nil {
                watch(id)
                changes.append(first ? .present(job) : .created(job))
            } else if before?.status.state != job.status.state {
                changes.append(.stateChanged(job))
            } else if before?.waiting != job.waiting {
                changes.append(.waitingChanged(job))
            }
        }
        if let only, first, jobs[only] == nil {
            throw VMInstallError(
                .noSuchJob, "no job \(only) in \(control.store.root); 'vm-install-jobs --list' shows the jobs there")
        }
        return changes
    }

    private func read(_ id: JobID) -> Job? {
        guard let status = try? control.status(id), let record = try? control.store.read(id) else { return nil }
        return Job(
            status: status, name: record.name, stateSince: record.stateSince,
            waiting: status.state.isTerminal ? nil : record.waiting, host: record.host)
    }

    private func watch(_ id: JobID) {
        let paths = control.store.paths(id)
        if let wd = inotify.watch(paths.inotify, UInt32(IN_CLOSE_WRITE | IN_DELETE_SELF)) { watches[wd] = id }
        if let wd = inotify.watch(paths.runnerLock, UInt32(IN_CLOSE_WRITE)) { watches[wd] = id }
        if let wd = inotify.watch(paths.directory, UInt32(IN_MOVED_TO)) { watches[wd] = id }
    }

    private func unwatch(_ id: JobID) {
        for (wd, owner) in watches where owner == id {
            inotify.remove(wd)
            watches[wd] = nil
        }
    }
}
