/// One `--nic`: how the VM's network card reaches the host.
///   user[,hostfwd=tcp::2222-:22]...  QEMU's user-mode network (the default; needs nothing)
///   bridge=BR                        a host bridge, through qemu-bridge-helper
///   tap=IFNAME                       an existing tap device
/// each with optional model= (virtio-net-pci, e1000, rtl8139) and mac=; and `none`.
public struct NICSpec: Sendable, Equatable {
    public enum Mode: Sendable, Equatable {
        case user
        case bridge(String)
        case tap(String)
    }

    public static let models = ["virtio-net-pci", "e1000", "rtl8139"]

    public var mode: Mode
    /// nil: the --os-type's model, else virtio-net-pci; always set in a VM's configuration.
    public var model: String?
    /// Given on the command line; otherwise generated from the VM's UUID in SETTINGS.
    public var mac: String?
    public var hostForwards: [String] = []

    public init(mode: Mode) {
        self.mode = mode
    }

    /// Parses one --nic value; `none` yields nil.
    public static func parse(_ text: String) throws(VMInstallError) -> NICSpec? {
        func bad(_ why: String) -> VMInstallError {
            VMInstallError(
                .usage,
                "--nic '\(text)': \(why); use user[,hostfwd=tcp::HOSTPORT-:GUESTPORT], bridge=BR or tap=IFNAME, with model= and mac="
            )
        }
        if text == "none" { return nil }
        let fields = splitOptionList(text)
        var nic: NICSpec
        switch fields[0] {
        case "user": nic = NICSpec(mode: .user)
        case let f where f.hasPrefix("bridge="):
            nic = NICSpec(mode: .bridge(try interfaceName(String(f.dropFirst(7)), bad)))
        case let f where f.hasPrefix("tap="): nic = NICSpec(mode: .tap(try interfaceName(String(f.dropFirst(4)), bad)))
        default: throw bad("it must start with user, bridge= or tap=")
        }
        for field in fields.dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else { throw bad("'\(field)' is not key=value") }
            switch parts[0] {
            case "model":
                guard models.contains(parts[1]) else {
                    throw bad("model must be one of \(models.joined(separator: ", "))")
                }
                nic.model = parts[1]
            case "mac":
                guard let mac = MACAddress.normalized(parts[1]) else {
                    throw bad("mac must look like 52:54:00:12:34:56 (unicast)")
                }
                nic.mac = mac
            case "hostfwd":
                guard nic.mode == .user else { throw bad("hostfwd= needs user-mode networking") }
                guard HostForward.isValid(parts[1]) else {
                    throw bad("hostfwd must look like tcp::2222-:22 or udp:127.0.0.1:5353-:53")
                }
                nic.hostForwards.append(parts[1])
            default:
                throw bad("unknown key '\(parts[0])'")
            }
        }
        return nic
    }

    private static func interfaceName(_ name: String, _ bad: (String) -> VMInstallError) throws(VMInstallError)
        -> String
    {
        let ok = name.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5A) || (c >= 0x61 && c <= 0x7A) || c == 0x2D || c == 0x5F
                || c == 0x2E
        }
        guard (1...15).contains(name.utf8.count), ok else { throw bad("'\(name)' is not an interface name") }
        return name
    }

    /// Back to the --nic form.
    public var rendered: String {
        var parts: [String]
        switch mode {
        case .user: parts = ["user"]
        case .bridge(let br): parts = ["bridge=\(br)"]
        case .tap(let tap): parts = ["tap=\(tap)"]
        }
        if let model { parts.append("model=\(model)") }
        if let mac { parts.append("mac=\(mac)") }
        parts += hostForwards.map { "hostfwd=\($0)" }
        return parts.joined(separator: ",")
    }
}

enum MACAddress {
    /// Lower-case colon form, or nil for anything but a unicast MAC.
    static func normalized(_ text: String) -> String? {
        let parts = text.lowercased().split(separator: ":", omittingEmptySubsequences: false)
        guard parts.count == 6, parts.allSatisfy({ $0.count == 2 && $0.allSatisfy(\.isHexDigit) }),
            let first = UInt8(parts[0], radix: 16), first & 1 == 0
        else { return nil }
        return parts.joined(separator: ":")
    }

    /// In QEMU's 52:54:00 range, derived from the VM's UUID and the card's index, so a VM's
    /// MACs are the same every time it is defined from the same UUID.
    static func generated(uuid: String, index: Int) -> String {
        var hash: UInt32 = 2_166_136_261
        for byte in "\(uuid)#\(index)".utf8 { hash = (hash ^ UInt32(byte)) &* 16_777_619 }
        let bytes = [
            UInt8(truncatingIfNeeded: hash >> 16), UInt8(truncatingIfNeeded: hash >> 8),
            UInt8(truncatingIfNeeded: hash),
        ]
        return "52:54:00:" + bytes.map { ($0 < 16 ? "0" : "") + String($0, radix: 16) }.joined(separator: ":")
    }
}

enum HostForward {
    /// `tcp|udp:[hostaddr]:hostport-[guestaddr]:guestport`, as QEMU's hostfwd= takes it.
    static func isValid(_ text: String) -> Bool {
        let halves = text.split(separator: "-", omittingEmptySubsequences: false)
        guard halves.count == 2 else { return false }
        let host = halves[0].split(separator: ":", omittingEmptySubsequences: false)
        let guest = halves[1].split(separator: ":", omittingEmptySubsequences: false)
        guard host.count == 3, ["tcp", "udp"].contains(host[0]), guest.count == 2 else { return false }
        func port(_ s: Substring) -> Bool { UInt16(s).map { $0 > 0 } ?? false }
        func address(_ s: Substring) -> Bool {
            s.isEmpty || s.split(separator: ".").count == 4 && s.split(separator: ".").allSatisfy { UInt8($0) != nil }
        }
        return address(host[1]) && port(host[2]) && address(guest[0]) && port(guest[1])
    }
}
