import Glibc

/// libvirt refuses to refresh a storage pool while a volume of it is being created or uploaded
/// ("pool has asynchronous jobs running", virt-manager issues #104 and #498), and refreshes
/// happen on every volume lookup. So every job of a state directory changes and reads a host's
/// pool under one lock file, STATE/libvirt/HOST/pool-NAME.lock: its volume lookups, creations,
/// uploads and deletions are serialised per host and pool.
struct LibvirtPoolLock {
    /// STATE/libvirt/HOST, HOST being the URI with what is not a letter or digit as '_'.
    static func directory(stateDirectory: String, uri: String) -> String {
        let host = String(uri.map { $0.isLetter || $0.isNumber ? $0 : "_" })
        return "\(stateDirectory)/libvirt/\(host)"
    }

    /// Runs `body` holding the lock of `pool` at `uri`.
    static func holding<T>(
        _ pool: String, uri: String, stateDirectory: String, _ body: () throws(VMInstallError) -> T
    ) throws(VMInstallError) -> T {
        let dir = directory(stateDirectory: stateDirectory, uri: uri)
        let lock: FileLock
        do {
            try FileIO.makeDirectory("\(stateDirectory)/libvirt", mode: 0o700)
            try FileIO.makeDirectory(dir, mode: 0o700)
            lock = try FileLock.acquire("\(dir)/pool-\(pool).lock")
        } catch {
            throw VMInstallError(.stateDirectory, "cannot lock pool \(pool) of \(uri) in \(dir): \(error)")
        }
        defer { lock.release() }
        return try body()
    }
}
