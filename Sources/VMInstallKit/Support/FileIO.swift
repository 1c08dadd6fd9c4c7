import Glibc
import SystemPackage

/// Small file operations with the guarantees the job store relies on.
public enum FileIO {
    /// Reads a whole (small) file. Refuses anything larger than `limit` bytes.
    public static func read(_ path: String, limit: Int = 1 << 20) throws(Errno) -> [UInt8] {
        let fd = try sys { try FileDescriptor.open(path, .readOnly, options: [.closeOnExec]) }
        defer { try? fd.close() }
        var result: [UInt8] = []
        var chunk = [UInt8](repeating: 0, count: 4096)
        while true {
            let n = try sys { try chunk.withUnsafeMutableBytes { try fd.read(into: $0) } }
            if n == 0 { break }
            result.append(contentsOf: chunk[0..<n])
            if result.count > limit { throw Errno.fileTooLarge }
        }
        return result
    }

    /// Up to `count` bytes of a regular file from `offset` (fewer at its end), with the file's
    /// size; nil when it is not a regular file or cannot be read.
    static func readRegular(_ path: String, offset: Int64, count: Int) -> (bytes: [UInt8], size: Int64)? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            done += n
        }
        return (Array(bytes.prefix(done)), Int64(st.st_size))
    }

    public static func readString(_ path: String, limit: Int = 1 << 20) throws(Errno) -> String {
        String(decoding: try read(path, limit: limit), as: UTF8.self)
    }

    /// Replaces `path` with `contents` so that readers see the old or the new file, never a part.
    /// `durable`: on the disk before the rename (fsync), so a crash leaves the old or the new
    /// file; else a crash may lose the change (readers never see a part either way).
    public static func writeAtomically(
        _ path: String, _ contents: String, mode: FilePermissions = [.ownerReadWrite], durable: Bool = true
    ) throws(Errno) {
        try writeAtomically(path, bytes: Array(contents.utf8), mode: mode, durable: durable)
    }

    public static func writeAtomically(
        _ path: String, bytes: [UInt8], mode: FilePermissions = [.ownerReadWrite], durable: Bool = true
    ) throws(Errno) {
        let tmp = "\(path).tmp-\(getpid())"
        do throws(Errno) {
            let fd = try sys {
                try FileDescriptor.open(
                    tmp, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: mode)
            }
            do throws(Errno) {
                _ = try sys { try fd.writeAll(bytes) }
                if durable, fsync(fd.rawValue) != 0 { throw Errno(rawValue: errno) }
                try sys { try fd.close() }
            } catch {
                try? fd.close()
                throw error
            }
            if rename(tmp, path) != 0 { throw Errno(rawValue: errno) }
        } catch {
            unlink(tmp)
            throw error
        }
    }

    /// Rewrites `path` in place: one open, one write, one close, so an inotify watcher
    /// sees exactly one IN_CLOSE_WRITE. Never replaced by rename: the watch must survive.
    public static func writeInPlace(_ path: String, _ contents: String, mode: FilePermissions = [.ownerReadWrite])
        throws(Errno)
    {
        let fd = try sys {
            try FileDescriptor.open(path, .writeOnly, options: [.create, .truncate, .closeOnExec], permissions: mode)
        }
        do throws(Errno) {
            _ = try sys { try fd.writeAll(Array(contents.utf8)) }
        } catch {
            try? fd.close()
            throw error
        }
        try sys { try fd.close() }
    }

    public static func exists(_ path: String) -> Bool {
        var st = stat()
        return lstat(path, &st) == 0
    }

    public static func isDirectory(_ path: String) -> Bool {
        var st = stat()
        return stat(path, &st) == 0 && (st.st_mode & S_IFMT) == S_IFDIR
    }

    /// Creates a directory; `true` if this call created it, `false` if it already existed.
    @discardableResult
    public static func makeDirectory(_ path: String, mode: mode_t = 0o700) throws(Errno) -> Bool {
        if mkdir(path, mode) == 0 { return true }
        let err = errno
        if err == EEXIST && isDirectory(path) { return false }
        throw Errno(rawValue: err)
    }

    /// Names in a directory, without "." and "..".
    public static func listDirectory(_ path: String) throws(Errno) -> [String] {
        guard let dir = opendir(path) else { throw Errno(rawValue: errno) }
        defer { closedir(dir) }
        var names: [String] = []
        while let entry = readdir(dir) {
            let name = withUnsafeBytes(of: entry.pointee.d_name) { raw in
                String(decoding: raw.prefix(while: { $0 != 0 }), as: UTF8.self)
            }
            if name != "." && name != ".." { names.append(name) }
        }
        return names
    }

    /// Removes a directory tree without following symlinks out of it.
    public static func removeTree(_ path: String) throws(Errno) {
        var st = stat()
        if lstat(path, &st) != 0 {
            if errno == ENOENT { return }
            throw Errno(rawValue: errno)
        }
        if (st.st_mode & S_IFMT) == S_IFDIR {
            for name in try listDirectory(path) {
                try removeTree("\(path)/\(name)")
            }
            if rmdir(path) != 0 && errno != ENOENT { throw Errno(rawValue: errno) }
        } else if unlink(path) != 0 && errno != ENOENT {
            throw Errno(rawValue: errno)
        }
    }

    public static func removeFile(_ path: String) {
        unlink(path)
    }
}

/// swift-system throws untyped errors that are always `Errno`; this keeps the type.
func sys<T>(_ body: () throws -> T) throws(Errno) -> T {
    do {
        return try body()
    } catch let error as Errno {
        throw error
    } catch {
        throw Errno.ioError
    }
}
