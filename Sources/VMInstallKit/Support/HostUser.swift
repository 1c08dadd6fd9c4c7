import Glibc

/// The account this process runs as, and what the host's permissions mean for it: the
/// words of messages that tell an ordinary user what to ask an administrator for.
struct HostUser {
    let uid: uid_t
    let name: String
    let home: String?
    /// The primary group of the account in the user database.
    let primaryGroup: gid_t?

    static var current: HostUser {
        let uid = geteuid()
        return withAccount(uid) {
            HostUser(
                uid: uid, name: String(cString: $0.pw_name), home: String(cString: $0.pw_dir), primaryGroup: $0.pw_gid)
        }
            ?? HostUser(uid: uid, name: "uid \(uid)", home: nil, primaryGroup: nil)
    }

    var isRoot: Bool { uid == 0 }

    /// CAP_NET_ADMIN in the effective set: what the kernel asks of whoever creates a tap
    /// device or takes over one that is not theirs.
    static var hasNetAdmin: Bool {
        guard let status = try? FileIO.readString("/proc/self/status"),
            let line = status.split(separator: "\n").first(where: { $0.hasPrefix("CapEff:") }),
            let mask = UInt64(line.dropFirst("CapEff:".count).trimmingWhitespace(), radix: 16)
        else { return geteuid() == 0 }
        return mask & (1 << 12) != 0
    }

    /// True when this process has the group: effective or supplementary.
    func hasGroupNow(_ gid: gid_t) -> Bool {
        if getegid() == gid { return true }
        let count = getgroups(0, nil)
        guard count > 0 else { return false }
        var groups = [gid_t](repeating: 0, count: Int(count))
        return getgroups(count, &groups) >= 0 && groups.contains(gid)
    }

    /// True when the group database puts the account in the group, whether or not this
    /// login has picked that up yet.
    func isListed(in gid: gid_t) -> Bool {
        if primaryGroup == gid { return true }
        return Self.withGroup(gid) { entry in
            var member = entry.gr_mem
            while let name = member?.pointee {
                if String(cString: name) == self.name { return true }
                member = member.map { $0 + 1 }
            }
            return false
        } ?? false
    }

    static func groupName(_ gid: gid_t) -> String {
        withGroup(gid) { String(cString: $0.gr_name) } ?? "\(gid)"
    }

    static func userName(_ uid: uid_t) -> String {
        withAccount(uid) { String(cString: $0.pw_name) } ?? "\(uid)"
    }

    /// `body` on the user database's entry for `uid`, or nil when there is none.
    private static func withAccount<T>(_ uid: uid_t, _ body: (passwd) -> T) -> T? {
        var entry = passwd()
        var buffer = [CChar](repeating: 0, count: 16384)
        var found: UnsafeMutablePointer<passwd>?
        guard getpwuid_r(uid, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return body(entry)
    }

    /// `body` on the group database's entry for `gid`, or nil when there is none.
    private static func withGroup<T>(_ gid: gid_t, _ body: (group) -> T) -> T? {
        var entry = group()
        var buffer = [CChar](repeating: 0, count: 65536)
        var found: UnsafeMutablePointer<group>?
        guard getgrgid_r(gid, &entry, &buffer, buffer.count, &found) == 0, found != nil else { return nil }
        return body(entry)
    }

    /// nil when this process can open `path` for reading and writing (a device node such as
    /// /dev/kvm), else the errno of trying.
    static func openReadWriteError(_ path: String) -> Int32? {
        let fd = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY)
        guard fd >= 0 else { return errno }
        close(fd)
        return nil
    }

    /// nil when this process may access `path` in `mode` (R_OK, W_OK, X_OK), judged with its
    /// effective ids, else the errno.
    static func accessError(_ path: String, _ mode: Int32) -> Int32? {
        faccessat(AT_FDCWD, path, mode, AT_EACCESS) == 0 ? nil : errno
    }

    /// `crw-rw---- root:kvm`, as ls shows a file's mode and owners.
    static func ownership(of path: String) -> String {
        var st = stat()
        guard stat(path, &st) == 0 else { return "missing" }
        let kind: Character =
            switch st.st_mode & S_IFMT {
            case S_IFCHR: "c"
            case S_IFBLK: "b"
            case S_IFDIR: "d"
            default: "-"
            }
        let bits = "rwxrwxrwx"
        let mode = bits.enumerated().map { index, letter in st.st_mode & (0o400 >> mode_t(index)) != 0 ? letter : "-" }
        return String([kind] + mode) + " \(userName(st.st_uid)):\(groupName(st.st_gid))"
    }

    static func describe(errno code: Int32) -> String {
        String(cString: strerror(code))
    }
}
