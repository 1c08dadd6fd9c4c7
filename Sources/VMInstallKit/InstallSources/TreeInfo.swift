/// A tree's `.treeinfo` (or `treeinfo`): the INI file Anaconda trees, and SUSE's since
/// SLE 15 and Leap 15, publish to name their family, version and boot images.
struct TreeInfo: Sendable, Equatable {
    /// `[general] family` or `[release] name`, e.g. "Fedora".
    var family: String?
    /// `[general] version`, else `[release]`'s or `[product]`'s: "37", "6.10", "8.7.0".
    var version: String?
    /// Every name the file gives its distribution, most trusted first: `[general] family`
    /// and `name`, `[release]` (productmd) and `[product]` (RHEL 6's compatibility layout)
    /// `name` and `short`, `[base_product] name`.
    var names: [String]
    /// `[general] variant`: "Server", "BaseOS", "Everything".
    var variant: String?
    /// A `[stage2]` section: the install image (install.img, squashfs.img) only Anaconda loads.
    var hasStage2: Bool
    /// The x86_64 installer kernel and initrd, relative to the tree's top.
    var kernel: String?
    var initrd: String?

    static let fileNames = [".treeinfo", "treeinfo"]

    init(parsing text: String) {
        var section = ""
        var values: [String: String] = [:]
        var sections: Set<String> = []
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingWhitespace().lowercased()
                sections.insert(section)
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingWhitespace().lowercased()
            let value = line[line.index(after: equals)...].trimmingWhitespace()
            if !value.isEmpty { values["\(section).\(key)"] = String(value) }
        }
        family = values["general.family"] ?? values["release.name"]
        version = values["general.version"] ?? values["release.version"] ?? values["product.version"]
        names = [
            "general.family", "general.name", "release.name", "release.short", "product.name", "product.short",
            "base_product.name",
        ].compactMap { values[$0] }
        variant = values["general.variant"]
        hasStage2 = sections.contains("stage2")
        kernel = values["images-x86_64.kernel"]
        initrd = values["images-x86_64.initrd"]
    }

    /// For the log: "Fedora 37".
    var product: String {
        [family ?? "unknown family", version].compactMap { $0 }.joined(separator: " ")
    }

    /// The version's first number: 6 of "6.10", 15 of "15 SP4"; nil for "Rawhide".
    var majorVersion: Int? {
        version.flatMap { Int(Substring($0).trimmingWhitespace().prefix { $0.isASCII && $0.isNumber }) }
    }
}
