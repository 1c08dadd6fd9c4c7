/// The manual's status keys for one job, each present exactly when the manual says.
public struct JobStatus: Sendable, Equatable {
    public var exit: Int32?
    public var id: JobID
    public var inotify: String
    public var log: String
    public var pid: Int32?
    public var state: JobState
    public var uuid: String?
    public var vnc: String?

    /// Reads one job: its record, plus one lock probe for `pid` (only while the runner lives).
    public static func read(_ id: JobID, in store: JobStore) throws(VMInstallError) -> JobStatus {
        let record = try store.read(id)
        let paths = store.paths(id)
        let alive = record.runnerPID != nil && store.runnerIsAlive(id)
        return JobStatus(
            exit: record.state.isTerminal ? record.exit : nil,
            id: id, inotify: paths.inotify, log: paths.log,
            pid: alive ? record.runnerPID : nil,
            state: record.state, uuid: record.uuid, vnc: record.vnc)
    }

    /// `key=value` lines in the manual's order, absent keys left out.
    public var lines: [String] {
        var out: [String] = []
        if let exit { out.append("exit=\(exit)") }
        out.append("id=\(id)")
        out.append("inotify=\(inotify)")
        out.append("log=\(log)")
        if let pid { out.append("pid=\(pid)") }
        out.append("state=\(state.rawValue)")
        if let uuid { out.append("uuid=\(uuid)") }
        if let vnc { out.append("vnc=\(vnc)") }
        return out
    }
}
