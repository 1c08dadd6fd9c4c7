import Glibc
import SystemPackage

/// The state directory: --state-dir, then $VM_INSTALL_STATE_DIR, then /var/lib/vm-install
/// for root and $XDG_STATE_HOME/vm-install (~/.local/state/vm-install) for others; and how
/// it comes to exist.
public struct StateDirectory: Sendable, Equatable {
    /// Where the path came from, which decides what may be created for it.
    public enum Origin: Sendable, Equatable {
        case option
        case environment
        case rootDefault
        case userDefault
    }

    public let path: String
    public let origin: Origin

    public init(path: String, origin: Origin) {
        self.path = path
        self.origin = origin
    }

    public static func locate(option: String?) -> StateDirectory {
        if let option, !option.isEmpty { return StateDirectory(path: canonical(absolute(option)), origin: .option) }
        if let env = environment("VM_INSTALL_STATE_DIR"), !env.isEmpty {
            return StateDirectory(path: canonical(absolute(env)), origin: .environment)
        }
        if geteuid() == 0 { return StateDirectory(path: "/var/lib/vm-install", origin: .rootDefault) }
        // The XDG Base Directory spec ignores a relative XDG_STATE_HOME.
        if let xdg = environment("XDG_STATE_HOME"), xdg.hasPrefix("/") {
            return StateDirectory(path: canonical("\(xdg)/vm-install"), origin: .userDefault)
        }
        return StateDirectory(path: canonical("\(homeDirectory())/.local/state/vm-install"), origin: .userDefault)
    }

    /// Creates the directory (mode 0700) if it is missing. The per-user default comes with
    /// its missing parents, each 0700 as the XDG Base Directory spec asks. A path someone
    /// wrote down (--state-dir, $VM_INSTALL_STATE_DIR, root's /var/lib/vm-install) is taken
    /// as written: only its last directory is made, so a mistyped path fails instead of
    /// growing a tree of directories nobody meant to have.
    public func create() throws(VMInstallError) {
        if FileIO.isDirectory(path) { return }
        try checkCanBeCreated()
        let parent = Self.parent(of: path)
        if !FileIO.isDirectory(parent) { try makeMissingParents(of: parent) }
        try make(path, what: "the state directory \(path)")
    }

    /// The refusal `create` would give for a path written down whose parent is missing,
    /// without creating anything: vm-install's checks before a job exists.
    public func checkCanBeCreated() throws(VMInstallError) {
        guard !FileIO.isDirectory(path) else { return }
        let parent = Self.parent(of: path)
        guard FileIO.isDirectory(parent) || origin == .userDefault else {
            throw VMInstallError(
                .stateDirectory,
                "cannot create the state directory \(path)\(origin.named): its parent directory \(parent) does not exist; create it first, or choose another state directory"
            )
        }
        // The first directory to make, and the existing one it goes in.
        var first = path
        var above = parent
        while !FileIO.exists(above), above != "/" {
            first = above
            above = Self.parent(of: above)
        }
        let what = first == path ? "the state directory \(path)" : "\(first), a parent of the state directory \(path)"
        guard FileIO.isDirectory(above) else {
            throw VMInstallError(
                .stateDirectory,
                "cannot create the state directory \(path): \(above) is in its way and is not a directory; \(remedy)")
        }
        if FileIO.exists(first) {
            throw VMInstallError(
                .stateDirectory, "cannot create \(what): something that is not a directory is in the way; \(remedy)")
        }
        if access(above, W_OK | X_OK) != 0 {
            throw VMInstallError(.stateDirectory, "cannot create \(what): \(Errno(rawValue: errno)); \(remedy)")
        }
    }

    /// The missing directories above the state directory, from the top down.
    private func makeMissingParents(of parent: String) throws(VMInstallError) {
        var missing: [String] = []
        var dir = parent
        while !FileIO.exists(dir), dir != "/" {
            missing.append(dir)
            dir = Self.parent(of: dir)
        }
        if !FileIO.isDirectory(dir) {
            throw VMInstallError(
                .stateDirectory,
                "cannot create the state directory \(path): \(dir) is in its way and is not a directory; \(remedy)")
        }
        for dir in missing.reversed() {
            try make(dir, what: "\(dir), a parent of the state directory \(path)")
        }
    }

    private func make(_ dir: String, what: String) throws(VMInstallError) {
        do {
            // mkdir's mode passes through the umask; ours is exact.
            if try FileIO.makeDirectory(dir, mode: 0o700) { chmod(dir, 0o700) }
        } catch {
            if error == .fileExists {
                throw VMInstallError(
                    .stateDirectory, "cannot create \(what): something that is not a directory is in the way; \(remedy)"
                )
            }
            throw VMInstallError(.stateDirectory, "cannot create \(what): \(error); \(remedy)")
        }
    }

    private var remedy: String {
        origin == .userDefault
            ? "set XDG_STATE_HOME to a directory you can write, or choose another with --state-dir"
            : "choose another with --state-dir"
    }

    static func parent(of path: String) -> String {
        guard let slash = path.lastIndex(of: "/"), slash != path.startIndex else { return "/" }
        return String(path[..<slash])
    }

    /// $HOME, or the home directory of the user's account when HOME is unset or relative.
    static func homeDirectory() -> String {
        if let home = environment("HOME"), home.hasPrefix("/") { return home }
        return HostUser.current.home ?? "/"
    }

    /// One spelling per directory (symlinks, ".", "..", doubled and trailing slashes
    /// resolved), so paths recorded in jobs compare equal however --state-dir was written.
    /// A directory that does not exist yet is spelled through its parent's real path.
    public static func canonical(_ path: String) -> String {
        if let real = realPath(path) { return real }
        let parts = path.split(separator: "/").filter { $0 != "." }
        let lexical = "/" + parts.joined(separator: "/")
        guard let last = parts.last, last != "..", let parent = realPath(Self.parent(of: lexical)) else {
            return lexical
        }
        return parent == "/" ? "/\(last)" : "\(parent)/\(last)"
    }

    private static func realPath(_ path: String) -> String? {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        return realpath(path, &buffer) != nil ? string(fromCBuffer: buffer) : nil
    }

    static func environment(_ name: String) -> String? {
        getenv(name).map { String(cString: $0) }
    }

    /// Makes a path absolute against the current directory; the runner must not depend on
    /// the directory its caller happened to be in.
    public static func absolute(_ path: String) -> String {
        if path.hasPrefix("/") { return path }
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        guard getcwd(&buffer, buffer.count) != nil else { return path }
        let cwd = string(fromCBuffer: buffer)
        return cwd == "/" ? "/\(path)" : "\(cwd)/\(path)"
    }
}

extension StateDirectory.Origin {
    /// " (from …)" for a message about a path someone gave.
    var named: String {
        switch self {
        case .option: " (--state-dir)"
        case .environment: " (from $VM_INSTALL_STATE_DIR)"
        case .rootDefault: " (root's default)"
        case .userDefault: ""
        }
    }
}
