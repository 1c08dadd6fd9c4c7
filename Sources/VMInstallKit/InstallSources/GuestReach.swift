import Glibc

/// How the install VM reaches this host: where a per-job server listens, and the address the
/// guest uses for it. On QEMU's user network (also libvirt's `<interface type='user'>`) the
/// server listens on loopback and the guest reaches it as 10.0.2.2, which QEMU forwards to
/// the host's 127.0.0.1; on a bridge, the host's own IPv4 address on that bridge. A tap
/// device, no network, or a VM on another host has no such address.
struct GuestReach: Sendable, Equatable {
    /// The address this host listens on.
    let listen: String
    /// The same, as the guest addresses it.
    let guest: String

    static let userNetworkHost = "10.0.2.2"

    /// From the VM's first network card; nil, with why, when the guest cannot reach us.
    static func of(_ nics: [NICSpec], onThisMachine: Bool) -> Result<GuestReach, VMInstallError> {
        guard onThisMachine else {
            return .failure(
                VMInstallError(.settings, "the install VM runs on another host, which cannot reach servers on this one")
            )
        }
        switch nics.first?.mode {
        case .user?: return .success(GuestReach(listen: "127.0.0.1", guest: userNetworkHost))
        case .bridge(let bridge)?:
            guard let address = ipv4Address(of: bridge) else {
                return .failure(
                    VMInstallError(.settings, "the bridge \(bridge) has no IPv4 address for the guest to reach"))
            }
            return .success(GuestReach(listen: address, guest: address))
        case .tap(let tap)?:
            return .failure(
                VMInstallError(
                    .settings,
                    "the first network card is the tap device \(tap), whose host address vm-install does not know"))
        case nil:
            return .failure(VMInstallError(.settings, "the VM has no network card"))
        }
    }

    /// The first IPv4 address of interface `name`.
    static func ipv4Address(of name: String) -> String? {
        var list: UnsafeMutablePointer<ifaddrs>?
        guard getifaddrs(&list) == 0 else { return nil }
        defer { freeifaddrs(list) }
        var entry = list
        while let e = entry {
            defer { entry = e.pointee.ifa_next }
            guard let addr = e.pointee.ifa_addr, addr.pointee.sa_family == sa_family_t(AF_INET),
                String(cString: e.pointee.ifa_name) == name
            else { continue }
            var text = [CChar](repeating: 0, count: Int(INET_ADDRSTRLEN))
            var sin = UnsafeRawPointer(addr).load(as: sockaddr_in.self)
            inet_ntop(AF_INET, &sin.sin_addr, &text, socklen_t(text.count))
            return String(decoding: text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
        }
        return nil
    }

    /// A URL on this host's loopback (127.0.0.0/8, localhost), with its host as the guest on
    /// QEMU's user network reaches it (10.0.2.2, port kept); nil for any other URL.
    static func userNetworkURL(for url: String) -> String? {
        guard let schemeEnd = url.firstRange(of: "://") else { return nil }
        let rest = url[schemeEnd.upperBound...]
        let authority = rest.prefix { $0 != "/" }
        let hostPort = authority.split(separator: "@").last ?? authority
        let host = hostPort.hasPrefix("[") ? hostPort.prefix { $0 != "]" } + "]" : hostPort.prefix { $0 != ":" }
        guard isLoopback(String(host)) else { return nil }
        let port = hostPort.dropFirst(host.count)
        let userInfo = authority.count > hostPort.count ? authority.prefix(authority.count - hostPort.count) : ""
        return url[..<schemeEnd.upperBound] + userInfo + userNetworkHost + port + rest.dropFirst(authority.count)
    }

    static func isLoopback(_ host: String) -> Bool {
        let h = host.lowercased()
        if h == "localhost" || h.hasSuffix(".localhost") || h == "[::1]" { return true }
        let parts = h.split(separator: ".", omittingEmptySubsequences: false)
        return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
    }
}

/// The placeholders of --boot-keys and --extra-args: the job's servers as the guest reaches
/// them. `{{http}}` (the answer server, `HOST:PORT`), `{{httpIP}}`, `{{httpPort}}` and
/// Packer's `{{ .HTTPIP }}`, `{{ .HTTPPort }}`; `{{syslog}}`, `{{syslogIP}}`,
/// `{{syslogPort}}` (the installer's syslog receiver). Names ignore case and spaces.
enum InstallTemplate {
    enum Server: Sendable { case http, syslog }

    /// The servers `text` names; throws for an unknown placeholder or a `{{` left open.
    static func servers(in text: String) throws(VMInstallError) -> Set<Server> {
        var found = Set<Server>()
        _ = try expand(text) { server, _ in
            found.insert(server)
            return ""
        }
        return found
    }

    /// `text` with each placeholder replaced by `value(server, part)`, where part is "" for
    /// HOST:PORT, "ip" or "port".
    static func expand(_ text: String, _ value: (Server, String) throws(VMInstallError) -> String)
        throws(VMInstallError) -> String
    {
        var out = ""
        var rest = Substring(text)
        while let open = rest.firstRange(of: "{{") {
            out += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].firstRange(of: "}}") else {
                throw VMInstallError(.usage, "'{{' without '}}'; the placeholders are {{http}} and {{syslog}}")
            }
            let name = rest[open.upperBound..<close.lowerBound].filter { $0 != " " }.lowercased()
            let key = name.hasPrefix(".") ? String(name.dropFirst()) : name
            switch key {
            case "http": out += try value(.http, "")
            case "httpip": out += try value(.http, "ip")
            case "httpport": out += try value(.http, "port")
            case "syslog": out += try value(.syslog, "")
            case "syslogip": out += try value(.syslog, "ip")
            case "syslogport": out += try value(.syslog, "port")
            default:
                throw VMInstallError(
                    .usage,
                    "unknown placeholder {{\(rest[open.upperBound..<close.lowerBound])}}; use {{http}}, {{httpIP}}, {{httpPort}}, {{syslog}}, {{syslogIP}} or {{syslogPort}}"
                )
            }
            rest = rest[close.upperBound...]
        }
        return out + rest
    }
}
