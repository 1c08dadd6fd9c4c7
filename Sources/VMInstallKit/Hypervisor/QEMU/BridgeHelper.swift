import CShims
import Glibc

/// qemu-bridge-helper, which QEMU runs for `-netdev bridge`: it makes a tap device, puts it
/// into the bridge and hands it to QEMU. It is how a VM of an ordinary user joins a bridge:
/// installed setuid root, it drops to the calling user with CAP_NET_ADMIN alone, so it then
/// reads its ACL file and opens /dev/net/tun as that user. It attaches only bridges its ACL
/// file allows, for root too.
struct BridgeHelper {
    let path: String

    /// Where QEMU looks for it (its helper directory, by distribution).
    static let candidates = [
        "/usr/lib/qemu/qemu-bridge-helper", "/usr/libexec/qemu-bridge-helper", "/usr/local/libexec/qemu-bridge-helper",
    ]
    static let aclFile = "/etc/qemu/bridge.conf"

    static func locate() -> BridgeHelper? {
        candidates.first { access($0, X_OK) == 0 }.map(BridgeHelper.init)
    }

    /// Setuid root, or given file capabilities: it can act for a user who has neither.
    var isPrivileged: Bool {
        var st = stat()
        if stat(path, &st) == 0, st.st_uid == 0, st.st_mode & S_ISUID != 0 { return true }
        return vmi_has_file_capabilities(path) == 1
    }

    enum Verdict: Equatable {
        case allowed
        case denied
        case missing
        case unreadable(Int32)
        /// The helper refuses the whole file over this line.
        case invalid(String)
    }

    /// The helper's own rule: a bridge is allowed by an `allow NAME` or `allow all` line and
    /// no `deny NAME` or `deny all` line, in the file or the files it includes.
    static func verdict(for bridge: String, file: String = aclFile) -> Verdict {
        var rules: [(allow: Bool, name: String)] = []
        if let failure = readRules(file, into: &rules, depth: 0) { return failure }
        let matching = rules.filter { $0.name == "all" || $0.name == bridge }
        if matching.contains(where: { !$0.allow }) { return .denied }
        return matching.contains(where: \.allow) ? .allowed : .denied
    }

    /// Adds the rules of `file`; a verdict when the helper would refuse the file.
    private static func readRules(_ file: String, into rules: inout [(allow: Bool, name: String)], depth: Int)
        -> Verdict?
    {
        let text: String
        do { text = try FileIO.readString(file) } catch {
            return error == .noSuchFileOrDirectory ? .missing : .unreadable(error.rawValue)
        }
        for raw in text.split(separator: "\n", omittingEmptySubsequences: false) {
            let line = raw.drop { $0 == " " || $0 == "\t" }
            if line.isEmpty || line.hasPrefix("#") { continue }
            guard let gap = line.firstIndex(of: " ") ?? line.firstIndex(of: "\t") else {
                return .invalid("\(file): '\(line)' has no argument")
            }
            let command = line[..<gap]
            let argument = String(line[line.index(after: gap)...].trimmingWhitespace())
            switch command {
            case "allow", "deny": rules.append((command == "allow", argument))
            // The helper ignores an include it cannot read.
            case "include" where depth < 8: _ = readRules(argument, into: &rules, depth: depth + 1)
            case "include": continue
            default: return .invalid("\(file): unknown command '\(command)'")
            }
        }
        return nil
    }
}
