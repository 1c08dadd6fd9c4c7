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
            walk(root, into: &hash, depth: 0)
        }
        return hash.hex
    }

    private static func walk(_ path: String, into hash: inout FNV1a, depth: Int) {
        var st = stat()
        guard lstat(path, &st) == 0 else {
            hash.add("-")
            return
        }
        hash.add(
            "\(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec) \(st.st_ctim.tv_sec).\(st.st_ctim.tv_nsec) \(st.st_mode)"
        )
        guard (st.st_mode & S_IFMT) == S_IFDIR, depth < 8, let names = try? FileIO.listDirectory(path) else { return }
        for name in names.sorted() {
            hash.add(name)
            walk("\(path)/\(name)", into: &hash, depth: depth + 1)
        }
    }
}

/// FNV-1a, 64 bits: a cache key, not a checksum anyone could attack.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    mutating func add(_ text: String) {
        add(text.utf8)
        add(CollectionOfOne(UInt8(0)))
    }

    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
