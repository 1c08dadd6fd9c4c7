import Glibc

/// The files a remote host needs from this machine (install ISOs, kernels, initrds, answer
/// and cloud-init images), uploaded once per host, keyed by their content: one volume
/// `vmi-media-HASH-DIR` in the pool, shared by every job of the state directory that sends the
/// same bytes there, and removed when the last of them no longer needs it. Who uses a volume
/// is kept beside the pool's lock, in STATE/libvirt/HOST/media-NAME (its key, and a `ref JOB
/// ROLE` line per use), and changed only under the pool's lock (`LibvirtPoolLock`), which is
/// also held for the whole upload: a second job wanting the same file waits for the first to
/// finish, then uses its volume.
struct LibvirtSharedMedia {
    let uri: String
    let stateDirectory: String
    let pool: String

    /// What a use is for: `install` uses end with the install, `vm` uses with the VM.
    enum Role: String { case install, vm }

    struct Volume {
        let name: String
        let key: String
        let path: String
        /// False when it was on the host already.
        let uploaded: Bool
        let bytes: UInt64
    }

    private struct Uses {
        var key = ""
        /// A job that was uploading it, if the upload did not finish.
        var pending: JobID?
        var refs: [(job: JobID, role: Role)] = []

        init() {}

        init(text: String) {
            for line in text.split(separator: "\n") {
                let f = line.split(separator: " ", maxSplits: 2).map(String.init)
                switch (f.first, f.count) {
                case ("key", 2): key = f[1]
                case ("pending", 2): pending = JobID(parsing: f[1])
                case ("ref", 3):
                    if let job = JobID(parsing: f[1]), let role = Role(rawValue: f[2]) { refs.append((job, role)) }
                default: continue
                }
            }
        }

        var text: String {
            (["key \(key)"] + (pending.map { ["pending \($0)"] } ?? [])
                + refs.map { "ref \($0.job) \($0.role.rawValue)" })
                .map { $0 + "\n" }.joined()
        }
    }

    private var directory: String { LibvirtPoolLock.directory(stateDirectory: stateDirectory, uri: uri) }
    private func usesFile(_ name: String) -> String { "\(directory)/media-\(name)" }

    /// The volume's name for a file of this content: the hash, and this state directory's.
    static func volumeName(hash: String, stateDirectory: String) -> String {
        var directory = FNV1a()
        directory.add(stateDirectory.utf8)
        return "vmi-media-\(hash.prefix(24))-\(String(UInt32(truncatingIfNeeded: directory.value), radix: 16))"
    }

    /// A use of `file` by `job`: its volume, uploaded first when the host does not have it.
    func acquire(
        _ file: String, hash: String, job: JobID, role: Role, connection: LibvirtConnection, log: JobLog?
    ) throws(VMInstallError) -> Volume {
        let name = Self.volumeName(hash: hash, stateDirectory: stateDirectory)
        return try LibvirtPoolLock.holding(pool, uri: uri, stateDirectory: stateDirectory) {
            () throws(VMInstallError) -> Volume in
            var uses = read(name)
            uses.refs.removeAll { !jobExists($0.job) }
            let pool = try connection.pool(named: self.pool)
            if let volume = try pool.volume(named: name) {
                if !uses.key.isEmpty, uses.pending == nil, volume.key == uses.key {
                    uses.refs.append((job, role))
                    try write(name, uses)
                    return Volume(name: name, key: volume.key, path: volume.path, uploaded: false, bytes: 0)
                }
                // Ours and half uploaded (its uploader held this lock and is gone), or not ours.
                guard uses.pending != nil else {
                    throw VMInstallError(
                        .settings,
                        "pool \(self.pool) at \(uri) has a volume \(name) that this state directory did not upload; remove it or use another pool"
                    )
                }
                try volume.delete()
            }
            var st = stat()
            guard stat(file, &st) == 0 else {
                throw VMInstallError(.settings, "cannot read \(file): \(String(cString: strerror(errno)))")
            }
            // Recorded as pending before the volume exists, so a runner that dies meanwhile
            // leaves nothing that cannot be told as ours.
            uses.key = ""
            uses.pending = job
            try write(name, uses)
            let bytes = UInt64(st.st_size)
            log?.write("uploading \(file) (\(bytes) bytes) to pool \(self.pool) at \(uri) as \(name)")
            let volume = try pool.createVolume(name: name, bytes: max(bytes, 512), format: "raw")
            do throws(VMInstallError) { try volume.upload(file, connection: connection) } catch {
                try? volume.delete()
                FileIO.removeFile(usesFile(name))
                throw error
            }
            uses.key = volume.key
            uses.pending = nil
            uses.refs.append((job, role))
            try write(name, uses)
            return Volume(name: name, key: volume.key, path: volume.path, uploaded: true, bytes: bytes)
        }
    }

    /// Ends `job`'s uses of a volume (of `role`, or all); the last use removes it, if it is
    /// still the volume uploaded (same key).
    func release(_ name: String, job: JobID, role: Role?, connection: LibvirtConnection, log: JobLog?)
        throws(VMInstallError)
    {
        try LibvirtPoolLock.holding(pool, uri: uri, stateDirectory: stateDirectory) { () throws(VMInstallError) in
            var uses = read(name)
            uses.refs.removeAll { ($0.job == job && (role == nil || $0.role == role)) || !jobExists($0.job) }
            guard uses.refs.isEmpty, uses.pending == nil else {
                try write(name, uses)
                return
            }
            if let volume = try connection.pool(named: pool).volume(named: name), !uses.key.isEmpty,
                volume.key == uses.key
            {
                try volume.delete()
                log?.write("removed volume \(name) from pool \(pool) at \(uri): no job uses it any more")
            }
            FileIO.removeFile(usesFile(name))
        }
    }

    private func read(_ name: String) -> Uses {
        (try? FileIO.readString(usesFile(name))).map(Uses.init(text:)) ?? Uses()
    }

    private func write(_ name: String, _ uses: Uses) throws(VMInstallError) {
        do { try FileIO.writeAtomically(usesFile(name), uses.text) } catch {
            throw VMInstallError(.stateDirectory, "cannot write \(usesFile(name)): \(error)")
        }
    }

    /// A job that was deleted or detached uses nothing any more.
    private func jobExists(_ job: JobID) -> Bool {
        FileIO.exists("\(stateDirectory)/jobs/\(job)")
    }
}
