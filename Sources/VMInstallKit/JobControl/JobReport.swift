import FoundationEssentials

/// The JSON form of a job for `--status --json`, `--list --json` and `--watch`: every key of
/// the manual plus what people and scripts ask for next. Field names are stable and
/// documented in vm-install-jobs(8); absent values are null, so every field is always there.
public struct JobReport: Encodable, Sendable {
    public struct Disk: Encodable, Sendable {
        public let path: String
        public let createdByJob: Bool

        enum CodingKeys: String, CodingKey {
            case path
            case createdByJob = "created_by_job"
        }
    }

    public let id: UInt64
    public let state: Int
    public let stateName: String
    public let exit: Int32?
    public let pid: Int32?
    public let uuid: String?
    public let vnc: String?
    public let inotify: String
    public let log: String
    public let name: String
    public let created: String
    public let updated: String
    public let disks: [Disk]
    public let error: String?
    /// The install VM's last screen, kept when the job failed or was canceled during INSTALL.
    public let lastScreen: String?
    /// Why the job waits in SETTINGS for room (memory, an install slot).
    public let waiting: String?
    /// The OS by osinfo-db's id and name, once SETTINGS has settled it.
    public let os: RecordedOS?
    /// The libvirt host the job was placed on (its URI), once placed.
    public let host: String?

    enum CodingKeys: String, CodingKey {
        case id, state, exit, pid, uuid, vnc, inotify, log, name, created, updated, disks, error, waiting, os, host
        case stateName = "state_name"
        case lastScreen = "last_screen"
    }

    public init(status: JobStatus, record: JobRecord, settings: VMSpec?, lastScreen: String?) {
        id = status.id.value
        state = status.state.rawValue
        stateName = status.state.name
        exit = status.exit
        pid = status.pid
        uuid = status.uuid
        vnc = status.vnc
        inotify = status.inotify
        log = status.log
        name = record.name
        created = Timestamp.iso8601(seconds: record.created)
        updated = Timestamp.iso8601(seconds: record.updated)
        let created = Set(record.createdDisks.map(\.path))
        disks =
            (settings?.disks.map(\.path) ?? record.createdDisks.map(\.path)).filter { !$0.isEmpty }.map {
                Disk(path: $0, createdByJob: created.contains($0))
            } + record.createdVolumes.map { Disk(path: $0.path, createdByJob: true) }
        error = record.error
        waiting = record.waiting
        self.lastScreen = lastScreen
        os = record.os
        host = record.host
    }

    public func encode(to encoder: any Encoder) throws {
        var c = encoder.container(keyedBy: CodingKeys.self)
        try c.encode(id, forKey: .id)
        try c.encode(state, forKey: .state)
        try c.encode(stateName, forKey: .stateName)
        try c.encode(exit, forKey: .exit)
        try c.encode(pid, forKey: .pid)
        try c.encode(uuid, forKey: .uuid)
        try c.encode(vnc, forKey: .vnc)
        try c.encode(inotify, forKey: .inotify)
        try c.encode(log, forKey: .log)
        try c.encode(name, forKey: .name)
        try c.encode(created, forKey: .created)
        try c.encode(updated, forKey: .updated)
        try c.encode(disks, forKey: .disks)
        try c.encode(error, forKey: .error)
        try c.encode(lastScreen, forKey: .lastScreen)
        try c.encode(waiting, forKey: .waiting)
        try c.encode(os, forKey: .os)
        try c.encode(host, forKey: .host)
    }

    /// One JSON document; `pretty` for people, one line for JSON-lines streams.
    public static func json<T: Encodable>(_ value: T, pretty: Bool) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting =
            pretty ? [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes] : [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(value) else { return "{}" }
        return String(decoding: data, as: UTF8.self)
    }
}

extension JobControl {
    /// The full report of one job (reads its settings too, unlike plain --status).
    public func report(_ id: JobID) throws(VMInstallError) -> JobReport {
        try report(for: try status(id))
    }

    /// The full report that goes with a status already read.
    public func report(for status: JobStatus) throws(VMInstallError) -> JobReport {
        let record = try store.read(status.id)
        let lastScreen = store.paths(status.id).lastScreen
        return JobReport(
            status: status, record: record, settings: try? store.readSettings(status.id),
            lastScreen: FileIO.exists(lastScreen) ? lastScreen : nil)
    }
}
