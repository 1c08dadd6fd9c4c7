import Glibc

/// The memory shares of one state directory's jobs: STATE/admission, one line per job that
/// waits for room or holds a share (`ID MIB waiting|admitted [HOST]`), changed only under
/// STATE/admission.lock and replaced in one rename, so every runner sees a whole ledger and
/// waiting runners wake on the rename (inotify on STATE). There is no daemon: whoever reads
/// it first drops the entries of jobs that no longer hold their share.
public struct AdmissionLedger: Sendable {
    public struct Entry: Equatable, Sendable {
        public let id: JobID
        public let memoryMiB: Int
        public var admitted: Bool
        /// Where an admitted job's share is: `Placement.localKey` or a libvirt URI.
        public var host: String?

        public init(id: JobID, memoryMiB: Int, admitted: Bool, host: String? = nil) {
            self.id = id
            self.memoryMiB = memoryMiB
            self.admitted = admitted
            self.host = host
        }

        /// The host of an admitted entry, this machine for entries written before hosts.
        public var hostKey: String { host ?? Placement.localKey }
    }

    public static let fileName = "admission"
    let store: JobStore
    var path: String { "\(store.root)/\(Self.fileName)" }
    var lockPath: String { "\(store.root)/\(Self.fileName).lock" }

    public init(store: JobStore) { self.store = store }

    /// Runs `body` on the ledger under its lock and writes it back if it changed. Only
    /// `Admission` changes the ledger.
    @discardableResult
    func update<T>(_ body: (inout [Entry]) throws(VMInstallError) -> T) throws(VMInstallError) -> T {
        try store.prepare()
        let lock: FileLock
        do { lock = try FileLock.acquire(lockPath) } catch {
            throw VMInstallError(.stateDirectory, "cannot lock \(lockPath): \(error)")
        }
        defer { lock.release() }
        let before = read()
        var entries = before
        let result = try body(&entries)
        if entries != before {
            let text = entries.map {
                "\($0.id) \($0.memoryMiB) \($0.admitted ? "admitted" : "waiting")\($0.host.map { " \($0)" } ?? "")\n"
            }.joined()
            // Coordination between live runners only: after a crash none is left, and the entries
            // of jobs whose runners are gone are dropped by whoever reads next. No fsync.
            do { try FileIO.writeAtomically(path, text, durable: false) } catch {
                throw VMInstallError(.stateDirectory, "cannot write \(path): \(error)")
            }
        }
        return result
    }

    /// The entries, in job id order; lines that cannot be read are dropped.
    public func read() -> [Entry] {
        guard let text = try? FileIO.readString(path) else { return [] }
        return text.split(separator: "\n").compactMap { line in
            let f = line.split(separator: " ")
            guard f.count == 3 || f.count == 4, let id = JobID(parsing: String(f[0])), let mib = Int(f[1]),
                ["waiting", "admitted"].contains(f[2])
            else {
                return nil
            }
            return Entry(id: id, memoryMiB: mib, admitted: f[2] == "admitted", host: f.count == 4 ? String(f[3]) : nil)
        }.sorted { $0.id < $1.id }
    }

}
