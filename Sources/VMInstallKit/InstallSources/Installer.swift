/// The installer an install tree boots, and what it is told on its kernel command line:
/// where its packages are, how it finds the --autoinstall file, where its console is.
/// vm-install(8), UNATTENDED INSTALLS, has these as a table.
public enum Installer: String, Sendable, Equatable {
    /// debian-installer (d-i): Debian, and Ubuntu's legacy installer.
    case debian
    /// Fedora, RHEL and their rebuilds.
    case anaconda
    /// SUSE: openSUSE, SLES.
    case yast
    /// Ubuntu's live-server installer.
    case subiquity
    /// A .treeinfo of a family we do not know: the kernel boots, nothing is added.
    case unknown

    public var name: String {
        switch self {
        case .debian: "debian-installer"
        case .anaconda: "Anaconda"
        case .yast: "YaST"
        case .subiquity: "Subiquity"
        case .unknown: "an unknown installer"
        }
    }

    /// By a .treeinfo family (virt-install's urldetect matches the same names).
    static func forFamily(_ family: String?) -> Installer {
        let f = (family ?? "").lowercased()
        if ["fedora", "red hat", "centos", "rocky", "alma", "oracle", "scientific", "rhel"].contains(where: f.contains)
        {
            return .anaconda
        }
        if ["suse", "sle"].contains(where: f.contains) { return .yast }
        if ["debian"].contains(where: f.contains) { return .debian }
        if ["ubuntu"].contains(where: f.contains) { return .subiquity }
        return .unknown
    }

    /// How an --autoinstall file reaches the installer, under which name, and the arguments
    /// that make the installer use it unattended; nil when we do not know how this installer
    /// takes one.
    var automation: (delivery: AnswerDelivery, fileName: String, arguments: [String])? {
        switch self {
        case .debian: (.initrd, "preseed.cfg", ["auto=true", "priority=critical"])
        case .anaconda: (.initrd, "ks.cfg", ["inst.ks=file:/ks.cfg"])
        case .yast: (.initrd, "autoinst.xml", ["autoyast=file:///autoinst.xml"])
        case .subiquity: (.noCloudSeed, "user-data", ["autoinstall", "ds=nocloud"])
        case .unknown: nil
        }
    }

    /// The arguments that tell the installer where its packages are. A directory on this
    /// host means nothing to the guest, so it gets none; an ISO is attached as a CD-ROM.
    func sourceArguments(location: String, access: InstallTree.Access) -> [String] {
        switch (self, access) {
        case (.anaconda, .url): ["inst.repo=\(location)"]
        case (.anaconda, .iso): ["inst.repo=cdrom"]
        case (.yast, .url): ["install=\(location)"]
        case (.yast, .iso): ["install=cd:/"]
        case (.debian, .url): DebianMirror(treeURL: location)?.arguments ?? []
        default: []
        }
    }

    /// The serial console, for installs with no graphical console.
    static let serialConsoleArgument = "console=ttyS0,115200n8"
}

/// A Debian or Ubuntu mirror's installer tree, `PROTO://HOST/DIR/dists/SUITE/main/installer-ARCH/`:
/// d-i is told to install from the same mirror and suite instead of asking.
struct DebianMirror: Equatable {
    let scheme: String
    let host: String
    let directory: String
    let suite: String

    init?(treeURL: String) {
        guard let schemeEnd = treeURL.firstRange(of: "://") else { return nil }
        scheme = String(treeURL[..<schemeEnd.lowerBound]).lowercased()
        let rest = treeURL[schemeEnd.upperBound...]
        guard let slash = rest.firstIndex(of: "/"), ["http", "https", "ftp"].contains(scheme) else { return nil }
        host = String(rest[..<slash])
        let path = String(rest[slash...])
        guard let dists = path.firstRange(of: "/dists/") else { return nil }
        directory = String(path[..<dists.lowerBound]).isEmpty ? "/" : String(path[..<dists.lowerBound])
        guard let suite = path[dists.upperBound...].split(separator: "/").first, !host.isEmpty else { return nil }
        self.suite = String(suite)
    }

    var arguments: [String] {
        [
            "mirror/country=manual", "mirror/protocol=\(scheme)", "mirror/\(scheme)/hostname=\(host)",
            "mirror/\(scheme)/directory=\(directory)", "mirror/suite=\(suite)",
        ]
    }
}
