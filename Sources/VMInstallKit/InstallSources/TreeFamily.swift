/// The installer a .treeinfo's own strings name, without osinfo-db: a distribution known by
/// one of the names the file gives it (the families of osinfo-db's trees, virt-install's
/// urldetect and the Red Hat rebuilds that publish trees), and for Anaconda, the era of
/// its version.
struct TreeFamily: Sendable {
    /// Word sequences, lowercase, any of which in a name makes it this family's: "red hat"
    /// is in "Red Hat Enterprise Linux", "fedora" in "Fedora-Cloud", never "sle" in "Isle".
    let words: [String]
    /// The installer, given the version's first number.
    let installer: @Sendable (_ major: Int?) -> Installer

    /// In the order they are tried; the first family with a word in the most trusted name wins.
    static let all: [TreeFamily] = [
        TreeFamily(words: ["fedora"], installer: anaconda(classicUpTo: 18)),
        TreeFamily(
            words: [
                "red hat", "rhel", "centos", "scientific", "oracle", "rocky", "alma", "almalinux", "eurolinux",
                "navy linux", "circle linux", "miracle linux", "springdale", "puias", "anolis", "opencloudos",
                "virtuozzo", "cloudlinux", "clearos",
            ], installer: anaconda(classicUpTo: 6)),
        TreeFamily(words: ["suse", "opensuse", "sles", "sled", "sle"], installer: { _ in .yast }),
        TreeFamily(words: ["debian"], installer: { _ in .debian }),
        TreeFamily(words: ["ubuntu"], installer: { _ in .subiquity }),
    ]

    /// Fedora counts its own releases; RHEL's rebuilds count as RHEL does.
    static func anaconda(classicUpTo last: Int) -> @Sendable (Int?) -> Installer {
        { major in .anaconda(major.map { $0 <= last } ?? false ? .classic : .prefixed) }
    }

    /// Variants only RHEL 8 and its rebuilds and later publish.
    static let rhelVariants: Set<String> = ["baseos", "appstream"]

    func matches(_ name: String) -> Bool {
        let spaced = " " + Self.words(of: name).joined(separator: " ") + " "
        return words.contains { spaced.contains(" \($0) ") }
    }

    /// "Fedora-Cloud 37" as ["fedora", "cloud", "37"].
    static func words(of name: String) -> [Substring] {
        name.lowercased().split { !($0.isLetter || $0.isNumber) }
    }

    /// The installer of a .treeinfo: by its names; else Anaconda, counted as RHEL, for a tree
    /// with Anaconda's [stage2] image or a BaseOS or AppStream variant; else unknown.
    static func installer(of info: TreeInfo) -> Installer {
        for name in info.names {
            if let family = all.first(where: { $0.matches(name) }) { return family.installer(info.majorVersion) }
        }
        if info.hasStage2 || info.variant.map({ rhelVariants.contains($0.lowercased()) }) ?? false {
            return anaconda(classicUpTo: 6)(info.majorVersion)
        }
        return .unknown
    }
}
