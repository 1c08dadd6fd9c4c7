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

    public init(record: JobRecord, paths: JobPaths, runnerAlive: Bool) {
        self.init(
            exit: record.state.isTerminal ? record.exit : nil,
            id: record.id, inotify: paths.inotify, log: paths.log,
            pid: runnerAlive ? record.runnerPID : nil,
            state: record.state, uuid: record.uuid, vnc: record.vnc)
    }

    public init(
        exit: Int32?, id: JobID, inotify: String, log: String, pid: Int32?, state: JobState, uuid: String?, vnc: String?
    ) {
        self.exit = exit
        self.id = id
        self.inotify = inotify
        self.log = log
        self.pid = pid
        self.state = state
        self.uuid = uuid
        self.vnc = vnc
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
