import Glibc

/// `--wait`: blocks on the job's inotify file until the job reaches a state or ends. No
/// polling: it sleeps in poll(2) on an inotify descriptor that also watches the runner lock,
/// whose last close tells that the runner has died (the job is then settled as FAILED).
public struct JobWait {
    public enum Outcome: Equatable {
        /// The awaited state (by default FINISHED) was reached.
        case reached(JobStatus)
        /// The job ended without reaching it.
        case ended(JobStatus)
        case timedOut(JobStatus)
    }

    let control: JobControl

    public init(control: JobControl) {
        self.control = control
    }

    /// With `target` nil, waits for any terminal state and counts FINISHED as reached.
    public func wait(for id: JobID, until target: JobState?, deadline: Deadline) throws(VMInstallError) -> Outcome {
        let paths = control.store.paths(id)
        let inotify = Inotify.orPolling()
        // Watches first, then the first look: a change between the two still wakes us.
        guard inotify.watch(paths.inotify, UInt32(IN_CLOSE_WRITE | IN_DELETE_SELF | IN_MOVE_SELF)) != nil else {
            _ = try control.status(id)  // says why: no such job, or a damaged one
            throw VMInstallError(.damagedJob, "job \(id) has no inotify file \(paths.inotify)")
        }
        inotify.watch(paths.runnerLock, UInt32(IN_CLOSE_WRITE))
        while true {
            let status: JobStatus
            do { status = try control.status(id) } catch  where error.kind == .noSuchJob {
                throw VMInstallError(.noSuchJob, "job \(id) was deleted while being waited for")
            }
            if Self.hasReached(status.state, target) { return .reached(status) }
            if status.state.isTerminal { return .ended(status) }
            if deadline.hasPassed { return .timedOut(status) }
            _ = waitReadable([inotify.fd], until: deadline)
            _ = inotify.drain()
        }
    }

    /// A normal-progression state counts as reached once passed (the job never goes back);
    /// FAILED and CANCELED only when the job is in them.
    static func hasReached(_ state: JobState, _ target: JobState?) -> Bool {
        guard let target else { return state == .finished }
        if target == .failed || target == .canceled { return state == target }
        return state.rawValue >= target.rawValue && state.rawValue <= JobState.finished.rawValue
    }
}
