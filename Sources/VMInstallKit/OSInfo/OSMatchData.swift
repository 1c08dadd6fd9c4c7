import COSInfo

/// What libosinfo 1.10's `osinfo_db_identify_media` and `osinfo_db_identify_tree` compare, kept
/// in the osinfo index (`OSIndex`) in the order libosinfo tries it: the database's systems in
/// its hash table's order, each OS's media sorted by its `media_volume_compare`, its trees in
/// their list's order. Patterns are osinfo-db's regular expressions; nil is a field not given.
struct OSMatchData: Sendable, Equatable {
    struct Medium: Sendable, Equatable {
        let os: String
        /// The OS's release status is rolling: its media are tried only as a fallback.
        let rolling: Bool
        let arch: String?
        let volume: String?
        let system: String?
        let publisher: String?
        let application: String?
        /// -1 when not given.
        let size: Int64
    }

    struct Tree: Sendable, Equatable {
        let os: String
        let arch: String?
        let hasTreeinfo: Bool
        let family: String?
        let variant: String?
        let version: String?
        let treeinfoArch: String?
    }

    var media: [Medium] = []
    var trees: [Tree] = []

    /// Read from libosinfo's database, on the libosinfo thread.
    init(_ database: OSInfoDatabase) {
        let s = OSInfoDatabase.string
        let systems = vmi_osinfo_db_get_os_list_in_match_order(database.db)
        OSInfoDatabase.consume(systems) { systems in
            for os in systems {
                let id = s(vmi_osinfo_product_get_short_id(UnsafeMutableRawPointer(os))) ?? ""
                let rolling = vmi_osinfo_os_is_rolling(os) != 0
                OSInfoDatabase.consume(vmi_osinfo_os_get_media_in_match_order(os)) { list in
                    for m in list {
                        media.append(
                            Medium(
                                os: id, rolling: rolling, arch: s(vmi_osinfo_media_get_architecture(m)),
                                volume: s(vmi_osinfo_media_get_volume_id(m)),
                                system: s(vmi_osinfo_media_get_system_id(m)),
                                publisher: s(vmi_osinfo_media_get_publisher_id(m)),
                                application: s(vmi_osinfo_media_get_application_id(m)),
                                size: vmi_osinfo_media_get_volume_size(m)))
                    }
                }
                OSInfoDatabase.consume(vmi_osinfo_os_get_trees_in_match_order(os)) { list in
                    for t in list {
                        trees.append(
                            Tree(
                                os: id, arch: s(vmi_osinfo_tree_get_architecture(t)),
                                hasTreeinfo: vmi_osinfo_tree_has_treeinfo(t) != 0,
                                family: s(vmi_osinfo_tree_get_treeinfo_family(t)),
                                variant: s(vmi_osinfo_tree_get_treeinfo_variant(t)),
                                version: s(vmi_osinfo_tree_get_treeinfo_version(t)),
                                treeinfoArch: s(vmi_osinfo_tree_get_treeinfo_arch(t))))
                    }
                }
            }
        }
    }

    init() {}

    // MARK: - Lines of the index

    /// `media` and `tree` lines, tab-separated; a string field is empty when not given, else
    /// "=" and the text with backslash, tab and newline escaped.
    var lines: [String] {
        media.map {
            (["media", $0.os, $0.rolling ? "1" : "0"]
                + [$0.arch, $0.volume, $0.system, $0.publisher, $0.application].map(Self.field) + [String($0.size)])
                .joined(separator: "\t")
        }
            + trees.map {
                (["tree", $0.os, $0.hasTreeinfo ? "1" : "0"]
                    + [$0.arch, $0.family, $0.variant, $0.version, $0.treeinfoArch].map(Self.field))
                    .joined(separator: "\t")
            }
    }

    /// Adds the entry of one `media` or `tree` line; false when it is not one.
    mutating func add(_ line: ArraySlice<UInt8>) -> Bool {
        let f = line.split(separator: UInt8(ascii: "\t"), omittingEmptySubsequences: false).map {
            String(decoding: $0, as: UTF8.self)
        }
        guard f.count >= 3, let flag = f[2] == "1" ? true : f[2] == "0" ? false : nil else { return false }
        let text = f[3...].map(Self.unfield)
        if f[0] == "media", f.count == 9, let size = Int64(f[8]) {
            media.append(
                Medium(
                    os: f[1], rolling: flag, arch: text[0], volume: text[1], system: text[2], publisher: text[3],
                    application: text[4], size: size))
            return true
        }
        if f[0] == "tree", f.count == 8 {
            trees.append(
                Tree(
                    os: f[1], arch: text[0], hasTreeinfo: flag, family: text[1], variant: text[2], version: text[3],
                    treeinfoArch: text[4]))
            return true
        }
        return false
    }

    /// A field: "" for none, else "=" and the value escaped as the job records escape theirs
    /// (tabs too, which separate the fields).
    private static func field(_ value: String?) -> String {
        value.map { "=" + KeyValueFile.escape($0) } ?? ""
    }

    private static func unfield(_ text: String) -> String? {
        guard text.hasPrefix("=") else { return nil }
        return KeyValueFile.unescape(text.dropFirst())
    }
}
