/// libosinfo 1.10's identification (osinfo/osinfo_db.c, osinfo_media.c, osinfo_tree.c) over the
/// index's `OSMatchData`, without libosinfo: the first OS, in libosinfo's order, with a media
/// (or tree) entry that matches, tried first without the fallback entries (architecture
/// "all", and every medium of a rolling OS); when none matches, the OSes that had such
/// entries, last first (libosinfo prepends them to its list), with all their entries.
struct OSMatcher {
    /// What an ISO image gives (`ISOVolumeFields`): strings not empty, or nil; no architecture.
    struct Media {
        var arch: String? = nil
        var volume: [UInt8]?
        var system: [UInt8]?
        var publisher: [UInt8]?
        var application: [UInt8]?
        var size: Int64
    }

    /// What a .treeinfo gives (`TreeinfoFields`).
    struct Tree {
        /// The treeinfo's arch, or "i386" when it has none.
        var arch: String
        var family: [UInt8]?
        var variant: [UInt8]?
        var version: [UInt8]?
        var treeinfoArch: [UInt8]?
    }

    let data: OSMatchData
    let regex: GLibRegex

    init(_ data: OSMatchData) throws(VMInstallError) {
        self.data = data
        regex = try GLibRegex()
    }

    /// The short id of the OS `media` is identified as; nil when none.
    func identify(_ media: Media) -> String? {
        identify(data.media, fallback: { $0.arch == "all" || $0.rolling }, matches: { matches(media, $0) })
    }

    func identify(_ tree: Tree) -> String? {
        identify(data.trees, fallback: { $0.arch == "all" }, matches: { matches(tree, $0) })
    }

    /// compare_media() and compare_tree(), with onlyFirstMatch, over entries grouped by OS.
    private func identify<E>(_ entries: [E], fallback: (E) -> Bool, matches: (E) -> Bool) -> String?
    where E: OSMatchEntry {
        var fallbacks: [ArraySlice<E>] = []
        for group in groups(entries) {
            var haveFallback = false
            for entry in group {
                if fallback(entry) {
                    haveFallback = true
                    continue
                }
                if matches(entry) { return entry.os }
            }
            if haveFallback { fallbacks.insert(group, at: 0) }
        }
        for group in fallbacks {
            for entry in group where matches(entry) { return entry.os }
        }
        return nil
    }

    /// Consecutive entries of one OS.
    private func groups<E: OSMatchEntry>(_ entries: [E]) -> [ArraySlice<E>] {
        var out: [ArraySlice<E>] = []
        var start = 0
        for i in entries.indices where i + 1 == entries.count || entries[i + 1].os != entries[i].os {
            out.append(entries[start...i])
            start = i + 1
        }
        return out
    }

    /// osinfo_media_matches(): the cheap tests first, then the patterns.
    private func matches(_ media: Media, _ reference: OSMatchData.Medium) -> Bool {
        let r = reference
        if r.volume == nil && r.system == nil && r.publisher == nil && r.application == nil && r.size <= 0 {
            return false
        }
        guard (r.size <= 0 ? media.size : r.size) == media.size else { return false }
        guard media.arch == nil || r.arch == media.arch || r.arch == "all" else { return false }
        return regex.matches(r.volume, media.volume) && regex.matches(r.application, media.application)
            && regex.matches(r.system, media.system) && regex.matches(r.publisher, media.publisher)
    }

    /// osinfo_tree_matches().
    private func matches(_ tree: Tree, _ reference: OSMatchData.Tree) -> Bool {
        let r = reference
        guard r.hasTreeinfo, r.arch == tree.arch || r.arch == "all" else { return false }
        return regex.matches(r.family, tree.family) && regex.matches(r.variant, tree.variant)
            && regex.matches(r.version, tree.version) && regex.matches(r.treeinfoArch, tree.treeinfoArch)
    }
}

protocol OSMatchEntry {
    var os: String { get }
}
extension OSMatchData.Medium: OSMatchEntry {}
extension OSMatchData.Tree: OSMatchEntry {}
