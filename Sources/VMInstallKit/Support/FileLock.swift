import Glibc
import SystemPackage

/// An flock(2) lock on a file. The lock lives as long as the open file description, so a
/// process that inherits the descriptor keeps holding it; it ends when the last holder exits,
/// which is what makes it a liveness signal that cannot go stale like a pid file.
public final class FileLock {
    public let descriptor: FileDescriptor

    private init(descriptor: FileDescriptor) {
        self.descriptor = descriptor
    }

    /// Takes an exclusive lock, waiting for it.
    public static func acquire(_ path: String) throws(Errno) -> FileLock {
        let fd = try sys {
            try FileDescriptor.open(path, .readWrite, options: [.create, .closeOnExec], permissions: [.ownerReadWrite])
        }
        while flock(fd.rawValue, LOCK_EX) != 0 {
            if errno == EINTR { continue }
            let err = errno
            try? fd.close()
            throw Errno(rawValue: err)
        }
        return FileLock(descriptor: fd)
    }

    /// Adopts a descriptor that already holds a lock (handed over from a parent process).
    public static func adopt(_ raw: Int32) -> FileLock {
        _ = fcntl(raw, F_SETFD, FD_CLOEXEC)
        return FileLock(descriptor: FileDescriptor(rawValue: raw))
    }

    /// True when some process holds a lock on `path`. Missing file: nobody does.
    public static func isHeld(_ path: String) -> Bool {
        guard let fd = try? FileDescriptor.open(path, .readOnly, options: [.closeOnExec]) else {
            return false
        }
        defer { try? fd.close() }
        if flock(fd.rawValue, LOCK_SH | LOCK_NB) == 0 {
            return false  // closing the descriptor drops the probe's own lock
        }
        return errno == EWOULDBLOCK
    }

    private var isOpen = true

    public func release() {
        if isOpen {
            isOpen = false
            try? descriptor.close()
        }
    }

    deinit { release() }
}
