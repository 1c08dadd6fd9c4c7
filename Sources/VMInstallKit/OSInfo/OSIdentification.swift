import COSInfo

/// Install media recognised by osinfo-db, the way virt-install recognises them: an ISO image
/// or device by its volume descriptors (`osinfo_db_identify_media`), an install tree by its
/// `.treeinfo` (`osinfo_db_identify_tree`). Holds libosinfo's objects: made, used and
/// released on the libosinfo thread, within one `OSInfoDatabase.with`.
final class OSIdentification {
    enum Source: Sendable {
        case media(String)
        /// A tree's location and its .treeinfo text.
        case tree(location: String, treeinfo: String)
    }

    /// The media or tree object ("transfer full"); nil when it could not be read.
    private(set) var media: OpaquePointer?
    private(set) var tree: OpaquePointer?
    /// The OS it was recognised as ("transfer full"); nil when not recognised.
    private(set) var os: OpaquePointer?
    /// Why it could not be read, for the log.
    private(set) var unreadable: String?

    init(_ source: Source, in database: OSInfoDatabase) {
        var error: UnsafeMutablePointer<CChar>?
        switch source {
        case .media(let path):
            media = vmi_osinfo_media_create_from_location(path, &error)
            if let media, vmi_osinfo_db_identify_media(database.db, media) != 0 { os = vmi_osinfo_media_get_os(media) }
        case .tree(let location, let treeinfo):
            tree = vmi_osinfo_tree_create_from_treeinfo(treeinfo, location, &error)
            if let tree, vmi_osinfo_db_identify_tree(database.db, tree) != 0 { os = vmi_osinfo_tree_get_os(tree) }
        }
        unreadable = OSInfoDatabase.take(error)
    }

    deinit {
        for object in [os, media, tree] {
            if let object { vmi_osinfo_unref(UnsafeMutableRawPointer(object)) }
        }
    }

    var shortID: String? {
        os.flatMap { OSInfoDatabase.string(vmi_osinfo_product_get_short_id(UnsafeMutableRawPointer($0))) }
    }

    /// The media's volume id, for the log.
    var volumeID: String? {
        media.flatMap { OSInfoDatabase.string(vmi_osinfo_media_get_volume_id($0)) }
    }
}
