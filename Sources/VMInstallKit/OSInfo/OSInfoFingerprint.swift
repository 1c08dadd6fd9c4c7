import Glibc

/// What tells one state of osinfo-db from another without reading it: every file and
/// directory of the copies libosinfo reads (`LibosinfoMetadata.databases`: the user's, the
/// host's, the system's), by path, inode, size, modification and change time, hashed.
/// A package upgrade or osinfo-db-import replaces or rewrites files, which changes their
/// times; a copy made or removed changes the set. About 1,000 files: a few milliseconds.
enum OSInfoFingerprint {
    static func current(databases: [String] = LibosinfoMetadata.databases) -> String {
        var hash = FNV1a()
        for root in databases {
            hash.add(root)
            var st = stat()
            guard lstat(root, &st) == 0 else {
                hash.add("-")
                continue
            }
            add(st, to: &hash)
            if (st.st_mode & S_IFMT) == S_IFDIR {
                walk(open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC), into: &hash, depth: 0)
            }
        }
        return hash.hex
    }

    private static func add(_ st: stat, to hash: inout FNV1a) {
        for value in [
            UInt64(st.st_ino), UInt64(st.st_size), UInt64(st.st_mode), UInt64(bitPattern: Int64(st.st_mtim.tv_sec)),
            UInt64(st.st_mtim.tv_nsec), UInt64(bitPattern: Int64(st.st_ctim.tv_sec)), UInt64(st.st_ctim.tv_nsec),
        ] {
            hash.add(value)
        }
    }

    /// The entries of the directory open at `fd` (closed here), in name order, each by
    /// fstatat relative to it: no path is looked up from the root again.
    private static func walk(_ fd: Int32, into hash: inout FNV1a, depth: Int) {
        guard fd >= 0 else { return }
        guard let dir = fdopendir(fd) else {
            close(fd)
            return
        }
        defer { closedir(dir) }
        var names: [[CChar]] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                Array(raw.bindMemory(to: CChar.self).prefix { $0 != 0 })
            }
            if name != [46] && name != [46, 46] { names.append(name) }
        }
        names.sort { $0.lexicographicallyPrecedes($1) }
        for var name in names {
            hash.add(name.lazy.map { UInt8(bitPattern: $0) })
            name.append(0)
            var st = stat()
            guard fstatat(dirfd(dir), name, &st, AT_SYMLINK_NOFOLLOW) == 0 else { continue }
            add(st, to: &hash)
            if (st.st_mode & S_IFMT) == S_IFDIR, depth < 8 {
                walk(openat(dirfd(dir), name, O_RDONLY | O_DIRECTORY | O_CLOEXEC), into: &hash, depth: depth + 1)
            }
        }
    }
}
