import Glibc

/// What jobs ask of osinfo-db, kept where loading libosinfo (0.3–0.5 s) is not needed to
/// answer it: every OS's short id, name and defaults, built once from the database with
/// libosinfo and kept in STATE/cache/osinfo-index, shared by every job of the state
/// directory. It is keyed by the database's files (`OSInfoFingerprint`): when osinfo-db
/// changes (a package upgrade, osinfo-db-import), the next job builds it again. Jobs take
/// turns building it (a lock), so a batch that meets a changed database builds it once.
/// It also keeps what libosinfo compares to recognise media and trees (`OSMatchData`), so
/// `OSRecognition` answers from it too (`OSMatcher`), read only when a job asks.
struct OSIndex: Sendable {
    struct System: Sendable, Equatable {
        let entry: OSInfoEntry
        let defaults: OSType
        /// Its distribution and those it comes from (`OSLineage`).
        var lineage: [String] = []
    }

    let fingerprint: String
    /// "20221203 (/usr/share/osinfo)" per copy libosinfo reads.
    let versions: [String]
    /// In `OSInfoID.order`.
    let systems: [System]
    private let byID: [String: System]
    /// The `media` and `tree` lines, read into `OSMatchData` when recognition asks.
    private let matchLines: [ArraySlice<UInt8>]
    /// Built with the index (no lines to read).
    private let built: OSMatchData?
    /// For the log: how it was had ("from the index in 3 ms", "built in 0.9 s").
    let how: String

    init(
        fingerprint: String, versions: [String], systems: [System], how: String, matching: OSMatchData? = nil,
        matchLines: [ArraySlice<UInt8>] = []
    ) {
        self.fingerprint = fingerprint
        self.versions = versions
        self.systems = systems
        self.how = how
        self.built = matching
        self.matchLines = matchLines
        byID = Dictionary(systems.map { ($0.entry.id, $0) }, uniquingKeysWith: { a, _ in a })
    }

    subscript(id: String) -> System? { byID[id] }

    /// What media and trees are recognised by; nil when the file's lines are not all read.
    var matching: OSMatchData? {
        if let built { return built }
        var data = OSMatchData()
        for line in matchLines where !data.add(line) { return nil }
        return data
    }

    var entries: [OSInfoEntry] { systems.map(\.entry) }

    /// "osinfo-db 20221203", for messages, as `OSInfoDatabase.name`.
    var name: String { OSInfoDatabase.name(versions: versions) }

    static let fileName = "osinfo-index"
    static let format = "vm-install osinfo index 3"

    /// The index for the database as it is now: read from `cache` (STATE/cache) when it was
    /// built from the same files, else built with libosinfo and kept there. `cache` nil, or
    /// a state directory not made yet: built for this process only.
    static func current(cache: String?) async throws(VMInstallError) -> OSIndex {
        let start = Deadline.now()
        let fingerprint = OSInfoFingerprint.current()
        func took() -> String { String(format3: Double(Deadline.now() - start) / 1e9) }
        guard let cache, prepare(cache) else {
            return try await build(fingerprint: fingerprint, start: start)
        }
        let path = "\(cache)/\(fileName)"
        if let index = read(path, fingerprint: fingerprint, how: { "from the index in \(took()) s" }) { return index }
        let lock = try? FileLock.acquire("\(path).lock")
        defer { lock?.release() }
        // Another job may have built it while this one waited.
        if let index = read(path, fingerprint: fingerprint, how: { "from the index in \(took()) s" }) { return index }
        let index = try await build(fingerprint: fingerprint, start: start)
        try? FileIO.writeAtomically(path, index.text, durable: false)
        return index
    }

    /// The cache directory exists, or is made in a state directory that exists.
    private static func prepare(_ cache: String) -> Bool {
        if FileIO.isDirectory(cache) { return true }
        let root = String(cache[..<(cache.lastIndex(of: "/") ?? cache.endIndex)])
        guard !root.isEmpty, FileIO.isDirectory(root) else { return false }
        _ = try? FileIO.makeDirectory(cache, mode: 0o700)
        return FileIO.isDirectory(cache)
    }

    private static func build(fingerprint: String, start: UInt64) async throws(VMInstallError) -> OSIndex {
        let (systems, matching) = try await OSInfoDatabase.with { db in
            let lineages = OSLineage.all(db)
            let systems = db.entries.compactMap { entry in
                db.systems[entry.id].map {
                    System(
                        entry: entry, defaults: db.defaults(of: $0, id: entry.id), lineage: lineages[entry.id] ?? [])
                }
            }
            return (systems, OSMatchData(db))
        }
        let seconds = Double(Deadline.now() - start) / 1e9
        return OSIndex(
            fingerprint: fingerprint, versions: OSInfoDatabase.versions, systems: systems,
            how: "index built with libosinfo in \(String(format3: seconds)) s", matching: matching)
    }

    // MARK: - The file

    /// Line one the format, then `key FINGERPRINT`, `version V` per copy, and one
    /// `os` line per system: id, memory MiB, vCPUs, disk bytes, disk bus, NIC, machine,
    /// firmware, name and lineage (space-separated), separated by tabs; then `OSMatchData`'s `media` and `tree` lines.
    var text: String {
        var lines = [Self.format, "key \(fingerprint)"] + versions.map { "version \($0)" }
        for system in systems {
            let d = system.defaults
            lines.append(
                [
                    "os", system.entry.id, String(d.memoryMiB), String(d.vcpus), String(d.diskSize), d.diskBus.rawValue,
                    d.nicModel, d.machine.rawValue, d.firmware.rawValue, system.entry.name,
                    system.lineage.joined(separator: " "),
                ]
                .joined(separator: "\t"))
        }
        lines += (matching ?? OSMatchData()).lines
        return lines.joined(separator: "\n") + "\n"
    }

    /// The index at `path` when it is of this format and fingerprint; nil otherwise. Read as
    /// bytes: a job reads some 800 lines in about a millisecond.
    static func read(_ path: String, fingerprint: String, how: () -> String) -> OSIndex? {
        guard let bytes = try? FileIO.read(path, limit: 16 << 20) else { return nil }
        var lines = bytes.split(separator: UInt8(ascii: "\n"))[...]
        func text(_ slice: ArraySlice<UInt8>) -> String { String(decoding: slice, as: UTF8.self) }
        guard let first = lines.popFirst(), text(first) == format, let second = lines.popFirst(),
            text(second) == "key \(fingerprint)"
        else { return nil }
        var versions: [String] = []
        var systems: [System] = []
        var matchLines: [ArraySlice<UInt8>] = []
        systems.reserveCapacity(lines.count)
        for line in lines {
            if line.starts(with: "version ".utf8) {
                versions.append(text(line.dropFirst(8)))
                continue
            }
            if line.starts(with: "media\t".utf8) || line.starts(with: "tree\t".utf8) {
                matchLines.append(line)
                continue
            }
            let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map(text)
            guard f.count == 11, f[0] == "os", let memory = Int(f[2]), let vcpus = Int(f[3]),
                let disk = UInt64(f[4]), let bus = DiskBus(rawValue: f[5]),
                let machine = MachineType(rawValue: f[7]), let firmware = Firmware(rawValue: f[8])
            else { return nil }
            let defaults = OSType(
                name: f[1], memoryMiB: memory, vcpus: vcpus, diskSize: disk, diskBus: bus, nicModel: f[6],
                machine: machine, firmware: firmware)
            systems.append(
                System(
                    entry: OSInfoEntry(id: f[1], name: f[9]), defaults: defaults,
                    lineage: f[10].split(separator: " ").map(String.init)))
        }
        guard !systems.isEmpty else { return nil }
        return OSIndex(
            fingerprint: fingerprint, versions: versions, systems: systems, how: how(), matchLines: matchLines)
    }
}
