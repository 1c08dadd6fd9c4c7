import COSInfo
import Glibc

/// osinfo-db, the operating-system database virt-install and GNOME Boxes use, read with
/// libosinfo (loaded with dlopen on first use: see Sources/COSInfo). Loaded once per process,
/// on the libosinfo thread, and kept for the life of the process, as virt-install keeps its
/// loader: the systems it holds are borrowed from it. Use it only inside `with(_:)`.
final class OSInfoDatabase {
    let db: OpaquePointer
    /// Each OS by its short id ("fedora37"), borrowed from the database.
    let systems: [String: OpaquePointer]
    /// The short ids with their names, in `OSInfoID.order`.
    let entries: [OSInfoEntry]
    private init(db: OpaquePointer, systems: [String: OpaquePointer]) {
        self.db = db
        self.systems = systems
        entries = systems.map {
            OSInfoEntry(
                id: $0.key,
                name: OSInfoDatabase.string(vmi_osinfo_product_get_name(UnsafeMutableRawPointer($0.value))) ?? $0.key)
        }
        .sorted { OSInfoID.order($0.id, $1.id) }
    }

    /// Only ever touched on the libosinfo thread.
    nonisolated(unsafe) private static var loaded: Result<OSInfoDatabase, VMInstallError>?

    /// Runs `body` with the database, on the libosinfo thread.
    static func with<T: Sendable>(_ body: @escaping @Sendable (OSInfoDatabase) throws(VMInstallError) -> T)
        async throws(VMInstallError) -> T
    {
        try await OSInfoThread.shared.run { () throws(VMInstallError) -> T in
            try body(try shared())
        }
    }

    private static func shared() throws(VMInstallError) -> OSInfoDatabase {
        if loaded == nil { loaded = Result { () throws(VMInstallError) -> OSInfoDatabase in try load() } }
        return try loaded!.get()
    }

    private static func load() throws(VMInstallError) -> OSInfoDatabase {
        if let why = vmi_osinfo_load() {
            throw VMInstallError(
                .host,
                "libosinfo cannot be used (\(String(cString: why))); install Debian's libosinfo-1.0-0 and osinfo-db packages"
            )
        }
        // The loader owns the database and lives as long as the process.
        guard let loader = vmi_osinfo_loader_new() else {
            throw VMInstallError(.host, "libosinfo cannot create its loader")
        }
        var error: UnsafeMutablePointer<CChar>?
        vmi_osinfo_loader_process_default_path(loader, &error)
        if let message = take(error) {
            throw VMInstallError(.host, "osinfo-db cannot be read: \(message); reinstall Debian's osinfo-db package")
        }
        guard let db = vmi_osinfo_loader_get_db(loader), let list = vmi_osinfo_db_get_os_list(db) else {
            throw VMInstallError(.host, "libosinfo gave no database")
        }
        defer { vmi_osinfo_unref(UnsafeMutableRawPointer(list)) }
        var systems: [String: OpaquePointer] = [:]
        for os in elements(list) {
            if let id = string(vmi_osinfo_product_get_short_id(UnsafeMutableRawPointer(os))) { systems[id] = os }
        }
        guard !systems.isEmpty else {
            throw VMInstallError(.host, "osinfo-db holds no operating systems; install Debian's osinfo-db package")
        }
        return OSInfoDatabase(db: db, systems: systems)
    }

    /// The elements of any libosinfo list, borrowed from it.
    static func elements(_ list: OpaquePointer?) -> [OpaquePointer] {
        guard let list else { return [] }
        let raw = UnsafeMutableRawPointer(list)
        return (0..<max(vmi_osinfo_list_get_length(raw), 0)).compactMap {
            OpaquePointer(vmi_osinfo_list_get_nth(raw, $0))
        }
    }

    /// A libosinfo list ("transfer full") read and released.
    static func consume<T>(_ list: OpaquePointer?, _ body: ([OpaquePointer]) -> T) -> T {
        defer { if let list { vmi_osinfo_unref(UnsafeMutableRawPointer(list)) } }
        return body(elements(list))
    }

    static func string(_ text: UnsafePointer<CChar>?) -> String? {
        text.map { String(cString: $0) }
    }

    /// A string libosinfo handed over ("transfer full"), copied and released.
    static func take(_ text: UnsafeMutablePointer<CChar>?) -> String? {
        guard let text else { return nil }
        defer { vmi_osinfo_free(text) }
        return String(cString: text)
    }

    /// "osinfo-db 20221203", the newest copy libosinfo reads, for messages.
    static var name: String { name(versions: versions) }

    /// The same, of `versions` as `versions` gives them.
    static func name(versions: [String]) -> String {
        "osinfo-db"
            + (versions.compactMap { $0.split(separator: " ").first.map(String.init) }.max().map { " \($0)" } ?? "")
    }

    /// The versions of the osinfo-db copies libosinfo reads (system, /etc, the user's), as
    /// osinfo-db-import installs them: "20221203 (/usr/share/osinfo)".
    static var versions: [String] {
        LibosinfoMetadata.databases.reversed().compactMap { dir in
            (try? FileIO.readString("\(dir)/VERSION", limit: 64)).map {
                "\(Substring($0).trimmingWhitespace()) (\(dir))"
            }
        }
    }
}

/// One OS of the database, as `--os-type list` shows it.
public struct OSInfoEntry: Sendable, Equatable, Encodable {
    public let id: String
    public let name: String
}

/// osinfo short ids: a distribution's name, then its version ("fedora37", "opensuse15.4").
enum OSInfoID {
    /// Names in order, numbers by value: fedora9 before fedora10.
    static func order(_ a: String, _ b: String) -> Bool {
        let (x, y) = (chunks(a), chunks(b))
        for (p, q) in zip(x, y) where p != q {
            if let m = Int(p), let n = Int(q) { return m < n }
            return p < q
        }
        return x.count < y.count
    }

    private static func chunks(_ id: String) -> [String] {
        var out: [String] = []
        for c in id {
            if let last = out.last, last.last?.isNumber == c.isNumber {
                out[out.count - 1].append(c)
            } else {
                out.append(String(c))
            }
        }
        return out
    }

    /// The family a short id belongs to by its name: "debian12" is Debian's, "win12" Windows'.
    static func family(of id: String) -> OSType? {
        var name = String(id.lowercased().prefix { !$0.isNumber })
        if name.hasSuffix("-") { name.removeLast() }
        return OSType.named(aliases[name] ?? name)
    }

    private static let aliases = [
        "win": "windows", "sle": "sles", "sled": "sles", "centos": "rhel", "rocky": "rhel",
        "almalinux": "rhel", "silverblue": "fedora", "kinoite": "fedora",
    ]
}
