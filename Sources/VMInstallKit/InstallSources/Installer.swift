/// The installer an install tree boots, and what it is told on its kernel command line:
/// where its packages are, how it finds the --autoinstall file, where its console is.
/// vm-install(8), INSTALL TREES, has these as a table.
public enum Installer: Sendable, Equatable {
    /// debian-installer (d-i): Debian, and Ubuntu's legacy installer.
    case debian
    /// Fedora, RHEL and their rebuilds, in the era of the tree's release.
    case anaconda(AnacondaEra)
    /// SUSE: openSUSE, SLES.
    case yast
    /// Ubuntu's live-server installer.
    case subiquity
    /// A .treeinfo of a family we do not know: the kernel boots, nothing is added.
    case unknown

    /// Which boot options Anaconda takes. The inst. prefix came with Fedora 19 and RHEL 7;
    /// before, Anaconda takes the plain names, and its source as method= (osinfo-db's
    /// kernel-url-argument is method up to fedora18 and rhel6, inst.repo from fedora19 and
    /// rhel7 on, and virt-install names the tree with it).
    public enum AnacondaEra: Sendable, Equatable {
        /// Fedora 19 and later, RHEL 7 and later and their rebuilds: inst.repo=, inst.ks=, inst.syslog=.
        case prefixed
        /// Fedora up to 18, RHEL and its rebuilds up to 6: method=, ks=, syslog=.
        case classic

        var repository: String { self == .classic ? "method" : "inst.repo" }
        var kickstart: String { self == .classic ? "ks" : "inst.ks" }
        var syslog: String { self == .classic ? "syslog" : "inst.syslog" }
    }

    public var name: String {
        switch self {
        case .debian: "debian-installer"
        case .anaconda(.prefixed): "Anaconda"
        case .anaconda(.classic): "Anaconda (method=, ks=)"
        case .yast: "YaST"
        case .subiquity: "Subiquity"
        case .unknown: "an unknown installer"
        }
    }

    /// How an --autoinstall file reaches the installer, under which name, and the arguments
    /// that make the installer use it unattended; nil when we do not know how this installer
    /// takes one.
    var automation: (delivery: AnswerDelivery, fileName: String, arguments: [String])? {
        switch self {
        case .debian: (.initrd, "preseed.cfg", ["auto=true", "priority=critical"])
        case .anaconda(let era): (.initrd, "ks.cfg", ["\(era.kickstart)=file:/ks.cfg"])
        case .yast: (.initrd, "autoinst.xml", ["autoyast=file:///autoinst.xml"])
        case .subiquity: (.noCloudSeed, "user-data", ["autoinstall", "ds=nocloud"])
        case .unknown: nil
        }
    }

    /// The arguments that tell the installer where its packages are. A directory on this
    /// host means nothing to the guest, so it gets none; an ISO is attached as a CD-ROM.
    func sourceArguments(location: String, access: InstallTree.Access) -> [String] {
        switch (self, access) {
        case (.anaconda(let era), .url): ["\(era.repository)=\(location)"]
        case (.anaconda(let era), .iso): ["\(era.repository)=cdrom"]
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
