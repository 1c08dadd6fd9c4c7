/// A tree's `.treeinfo` (or `treeinfo`): the INI file Anaconda trees, and some others,
/// publish to name their family, version and boot images.
struct TreeInfo: Sendable, Equatable {
    /// `[general] family` or `[release] name`, e.g. "Fedora".
    var family: String?
    var version: String?
    /// The x86_64 installer kernel and initrd, relative to the tree's top.
    var kernel: String?
    var initrd: String?

    static let fileNames = [".treeinfo", "treeinfo"]

    init(parsing text: String) {
        var section = ""
        var values: [String: String] = [:]
        for raw in text.split(whereSeparator: \.isNewline) {
            let line = raw.trimmingWhitespace()
            if line.isEmpty || line.hasPrefix("#") || line.hasPrefix(";") { continue }
            if line.hasPrefix("["), line.hasSuffix("]") {
                section = line.dropFirst().dropLast().trimmingWhitespace().lowercased()
                continue
            }
            guard let equals = line.firstIndex(of: "=") else { continue }
            let key = line[..<equals].trimmingWhitespace().lowercased()
            let value = line[line.index(after: equals)...].trimmingWhitespace()
            values["\(section).\(key)"] = String(value)
        }
        family = values["general.family"] ?? values["release.name"]
        version = values["general.version"] ?? values["release.version"]
        kernel = values["images-x86_64.kernel"]
        initrd = values["images-x86_64.initrd"]
    }

    /// For the log: "Fedora 37".
    var product: String {
        [family ?? "unknown family", version].compactMap { $0 }.joined(separator: " ")
    }
}
