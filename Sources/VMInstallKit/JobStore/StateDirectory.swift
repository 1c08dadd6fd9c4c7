import Glibc

/// Finds the state directory: --state-dir, then $VM_INSTALL_STATE_DIR, then
/// /var/lib/vm-install for root and $XDG_STATE_HOME/vm-install (~/.local/state) for others.
public enum StateDirectory {
    public static func resolve(option: String?) -> String {
        if let option, !option.isEmpty { return canonical(absolute(option)) }
        if let env = environment("VM_INSTALL_STATE_DIR"), !env.isEmpty { return canonical(absolute(env)) }
        if geteuid() == 0 { return "/var/lib/vm-install" }
        if let xdg = environment("XDG_STATE_HOME"), xdg.hasPrefix("/") { return "\(xdg)/vm-install" }
        let home = environment("HOME") ?? "/"
        return "\(home)/.local/state/vm-install"
    }

    /// One spelling per directory (symlinks, ".", doubled and trailing slashes resolved), so
    /// paths recorded in jobs compare equal however --state-dir was written.
    public static func canonical(_ path: String) -> String {
        var buffer = [CChar](repeating: 0, count: Int(PATH_MAX) + 1)
        if realpath(path, &buffer) != nil { return string(fromCBuffer: buffer) }
        let parts = path.split(separator: "/").filter { $0 != "." }
        return "/" + parts.joined(separator: "/")
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
