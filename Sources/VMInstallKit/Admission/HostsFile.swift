import Glibc

/// A libvirt host a job may be placed on, with what the hosts file configures for it.
public struct PlacementHost: Sendable, Equatable {
    public var uri: String
    /// What this state directory's VMs may use there together, in MiB; nil: the host's
    /// memory as libvirt reports it, less a reserve and less what its other domains use.
    public var memoryBudgetMiB: Int?
    /// At most this many of the state directory's jobs in their install there at once.
    public var maxInstalls: Int?

    public init(uri: String, memoryBudgetMiB: Int? = nil, maxInstalls: Int? = nil) {
        self.uri = uri
        self.memoryBudgetMiB = memoryBudgetMiB
        self.maxInstalls = maxInstalls
    }

    /// `URI [memory-budget=MIB] [max-installs=N]`, as in the hosts file and the settings.
    var rendered: String {
        ([uri]
            + [memoryBudgetMiB.map { "memory-budget=\($0)" }, maxInstalls.map { "max-installs=\($0)" }].compactMap {
                $0
            })
            .joined(separator: " ")
    }

    /// Reads `rendered`; nil for what is not of its form.
    init?(rendered text: Substring) {
        let fields = text.split(separator: " ", omittingEmptySubsequences: true)
        guard let uri = fields.first, uri.contains(":") else { return nil }
        self.uri = String(uri)
        for field in fields.dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1)
            guard parts.count == 2, let value = Int(parts[1]), value >= 1 else { return nil }
            switch parts[0] {
            case "memory-budget": memoryBudgetMiB = value
            case "max-installs": maxInstalls = value
            default: return nil
            }
        }
    }
}

/// The hosts file: named groups of libvirt hosts, one host a line, `GROUP URI [memory-budget=MIB]
/// [max-installs=N]`, `#` comments. `--host-group NAME` places a job on the hosts of NAME;
/// `--connect URI` (repeated) on the hosts given, each with what the file configures for its
/// URI. Found at --hosts-file, else $VM_INSTALL_HOSTS_FILE, else /etc/vm-install/hosts (root)
/// or $XDG_CONFIG_HOME/vm-install/hosts (others).
public struct HostsFile: Sendable {
    public let path: String
    /// (group, host) in file order.
    public let entries: [(group: String, host: PlacementHost)]

    public static func defaultPath() -> String {
        if let env = getenv("VM_INSTALL_HOSTS_FILE").map({ String(cString: $0) }), !env.isEmpty { return env }
        if geteuid() == 0 { return "/etc/vm-install/hosts" }
        if let xdg = getenv("XDG_CONFIG_HOME").map({ String(cString: $0) }), xdg.hasPrefix("/") {
            return "\(xdg)/vm-install/hosts"
        }
        return "\(StateDirectory.homeDirectory())/.config/vm-install/hosts"
    }

    /// The file at `path`; an absent file has no entries unless it was named (`required`).
    public static func load(_ path: String, required: Bool) throws(VMInstallError) -> HostsFile {
        let text: String
        do { text = try FileIO.readString(path, limit: 1 << 20) } catch {
            if error == .noSuchFileOrDirectory, !required { return HostsFile(path: path, entries: []) }
            throw VMInstallError(.usage, "cannot read the hosts file \(path): \(error)")
        }
        var entries: [(group: String, host: PlacementHost)] = []
        for (number, raw) in text.split(separator: "\n", omittingEmptySubsequences: false).enumerated() {
            let line = raw.prefix { $0 != "#" }.trimmingWhitespace()
            if line.isEmpty { continue }
            let fields = line.split(whereSeparator: { $0 == " " || $0 == "\t" })
            guard fields.count >= 2, let host = PlacementHost(rendered: fields.dropFirst().joined(separator: " ")[...])
            else {
                throw VMInstallError(
                    .usage,
                    "\(path):\(number + 1): give GROUP URI [memory-budget=MIB] [max-installs=N], not '\(line)'")
            }
            entries.append((String(fields[0]), host))
        }
        return HostsFile(path: path, entries: entries)
    }

    /// The hosts of a group, in file order.
    public func group(_ name: String) throws(VMInstallError) -> [PlacementHost] {
        let hosts = entries.filter { $0.group == name }.map(\.host)
        guard !hosts.isEmpty else {
            let known = Set(entries.map(\.group)).sorted()
            throw VMInstallError(
                .usage,
                "--host-group \(name): \(path) has no such group"
                    + (known.isEmpty ? "" : " (it has \(known.joined(separator: ", ")))"))
        }
        return hosts
    }

    /// A URI given with --connect, with what the file configures for it, if anything.
    public func host(_ uri: String) -> PlacementHost {
        entries.first { $0.host.uri == uri }?.host ?? PlacementHost(uri: uri)
    }
}
