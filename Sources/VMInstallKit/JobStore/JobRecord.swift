/// Everything known about one job: the `job` file in its directory.
public struct JobRecord: Sendable, Equatable {
    public let id: JobID
    public var state: JobState
    public var name: String
    /// Set once all of the VM's settings are gathered.
    public var uuid: String?
    /// Set when the job reaches a terminal state.
    public var exit: Int32?
    /// The process that runs the job (vm-install itself in the foreground).
    public var runnerPID: Int32?
    /// Last known VNC console address.
    public var vnc: String?
    public var created: Int64
    public var updated: Int64
    /// When the job entered its current state.
    public var stateSince: Int64
    /// Why the job failed, for people.
    public var error: String?
    /// The VM directory, recorded once this job has created it (and so may remove it).
    public var vmDirectory: String?
    /// Disks this job created, in creation order.
    public var createdDisks: [CreatedDisk] = []
    /// Storage-pool volumes this job created (libvirt).
    public var createdVolumes: [CreatedVolume] = []
    /// Why the job waits in SETTINGS for room (memory, an install slot); nil otherwise.
    public var waiting: String?
    /// The OS osinfo-db knows the VM by, given or recognised in SETTINGS.
    public var os: RecordedOS?
    /// The libvirt host the job was placed on (a URI of its settings); every request acts
    /// through it from then on.
    public var host: String?
    /// Set by --cancel, so a runner that dies before it records the cancel still ends CANCELED.
    public var cancelRequested = false

    public init(id: JobID, name: String, now: Int64) {
        self.id = id
        self.state = .settings
        self.name = name
        self.created = now
        self.updated = now
        self.stateSince = now
    }

    /// Marks the end of the file so that a truncated record is told apart from a short one.
    static let endMarker = "end"

    public func encoded() -> String {
        var kv = KeyValueFile()
        kv.append("id", id.description)
        kv.append("state", String(state.rawValue))
        kv.append("name", name)
        kv.append("uuid", uuid)
        kv.append("exit", exit.map { String($0) })
        kv.append("pid", runnerPID.map { String($0) })
        kv.append("vnc", vnc)
        kv.append("created", String(created))
        kv.append("updated", String(updated))
        kv.append("state-since", String(stateSince))
        kv.append("error", error)
        kv.append("waiting", waiting)
        kv.append("vm-directory", vmDirectory)
        for disk in createdDisks { kv.append("created-disk", disk.encoded) }
        for volume in createdVolumes { kv.append("created-volume", volume.encoded) }
        kv.append("os-id", os?.id)
        kv.append("os-name", os?.name)
        kv.append("host", host)
        if cancelRequested { kv.append("cancel-requested", "1") }
        kv.append(Self.endMarker, "1")
        return kv.render()
    }

    static let knownKeys: Set<String> = [
        "id", "state", "name", "uuid", "exit", "pid", "vnc", "created", "updated", "state-since", "error", "waiting",
        "vm-directory", "created-disk", "created-volume", "os-id", "os-name", "host", "cancel-requested", endMarker,
    ]

    public static func decode(_ text: String, expected id: JobID) throws(VMInstallError) -> JobRecord {
        func damaged(_ why: String) -> VMInstallError {
            VMInstallError(
                .damagedJob, "job \(id) is damaged: its record \(why); delete its directory by hand if it is not needed"
            )
        }
        let kv: KeyValueFile
        do { kv = try KeyValueFile.parse(text) } catch { throw damaged("has a bad \(error)") }
        guard kv.first(endMarker) == "1" else { throw damaged("is truncated") }
        if let unknown = kv.entries.first(where: { !knownKeys.contains($0.key) }) {
            throw damaged("has an unknown key '\(unknown.key)'")
        }
        guard let idText = kv.first("id"), JobID(parsing: idText) == id else {
            throw damaged("names another id")
        }
        guard let stateText = kv.first("state"), let raw = Int(stateText), let state = JobState(rawValue: raw) else {
            throw damaged("has no valid state")
        }
        let times = 0...253_402_300_799 as ClosedRange<Int64>
        guard let name = kv.first("name"), let created = kv.first("created").flatMap({ Int64($0) }),
            let updated = kv.first("updated").flatMap({ Int64($0) }), times.contains(created), times.contains(updated)
        else { throw damaged("misses name or has bad times") }
        var record = JobRecord(id: id, name: name, now: created)
        record.state = state
        record.updated = updated
        record.stateSince = kv.first("state-since").flatMap { Int64($0) }.map { min(max($0, 0), updated) } ?? updated
        record.uuid = kv.first("uuid")
        if let e = kv.first("exit") {
            guard let code = Int32(e) else { throw damaged("has a bad exit code") }
            record.exit = code
        }
        if let p = kv.first("pid") {
            guard let pid = Int32(p), pid > 0 else { throw damaged("has a bad pid") }
            record.runnerPID = pid
        }
        record.vnc = kv.first("vnc")
        record.error = kv.first("error")
        record.waiting = kv.first("waiting")
        record.vmDirectory = kv.first("vm-directory")
        record.cancelRequested = kv.first("cancel-requested") == "1"
        record.host = kv.first("host")
        if let osID = kv.first("os-id") { record.os = RecordedOS(id: osID, name: kv.first("os-name") ?? osID) }
        for d in kv.all("created-disk") {
            guard let disk = CreatedDisk(encoded: d) else { throw damaged("has a bad created-disk entry") }
            record.createdDisks.append(disk)
        }
        for v in kv.all("created-volume") {
            guard let volume = CreatedVolume(encoded: v) else { throw damaged("has a bad created-volume entry") }
            record.createdVolumes.append(volume)
        }
        return record
    }
}
