import Glibc

/// The libosinfo metadata virt-install writes into a domain (virtinst/domain/metadata.py),
/// by which virt-manager and Cockpit show the OS and take its defaults:
/// `<libosinfo:os id="http://fedoraproject.org/fedora/37"/>`, the OS's full osinfo-db id.
/// The job knows the OS by its short id; the full id comes from the database's own XML file
/// for it, read here without libosinfo.
enum LibosinfoMetadata {
    static let namespace = "http://libosinfo.org/xmlns/libvirt/domain/1.0"

    /// The element for the domain's <metadata>, indented to sit in it.
    static func element(osID: String) -> String {
        """
            <libosinfo:libosinfo xmlns:libosinfo='\(namespace)'>
              <libosinfo:os id='\(XML.escape(osID))'/>
            </libosinfo:libosinfo>

        """
    }

    /// The copies of osinfo-db libosinfo reads, the one whose entries win first: the user's
    /// ($OSINFO_USER_DIR, else $XDG_CONFIG_HOME or ~/.config, /osinfo), the host's
    /// ($OSINFO_LOCAL_DIR, else /etc/osinfo), the system's ($OSINFO_DATA_DIR or
    /// $OSINFO_SYSTEM_DIR, else /usr/share/osinfo).
    static var databases: [String] {
        func env(_ name: String) -> String? {
            getenv(name).map { String(cString: $0) }.flatMap { $0.isEmpty ? nil : $0 }
        }
        let config = env("XDG_CONFIG_HOME") ?? "\(env("HOME") ?? "/root")/.config"
        return [
            env("OSINFO_USER_DIR") ?? "\(config)/osinfo", env("OSINFO_LOCAL_DIR") ?? "/etc/osinfo",
            env("OSINFO_DATA_DIR") ?? env("OSINFO_SYSTEM_DIR") ?? "/usr/share/osinfo",
        ]
    }

    /// The full id of the OS with `shortID` ("fedora37"), or nil when no copy has it.
    static func fullID(of shortID: String, in databases: [String] = databases) -> String? {
        for root in databases {
            let files = osFiles(in: root)
            // Most files are named as their short id: fedora-37.xml, centos-stream-9.xml.
            let key = letters(shortID)
            let named = files.filter { letters(String($0.split(separator: "/").last ?? "").dropXML) == key }
            for file in named + files.filter({ !named.contains($0) }) {
                guard let text = try? FileIO.readString(file), let id = fullID(of: shortID, inXML: text) else {
                    continue
                }
                return id
            }
        }
        return nil
    }

    /// `<os id="ID">` of the entry that has `<short-id>SHORT</short-id>` in an osinfo-db file.
    static func fullID(of shortID: String, inXML text: String) -> String? {
        guard let mark = text.firstRange(of: "<short-id>\(XML.escape(shortID))</short-id>"),
            let open = text[..<mark.lowerBound].ranges(of: "<os id=").last
        else { return nil }
        let rest = text[open.upperBound...]
        guard let quote = rest.first, quote == "\"" || quote == "'" else { return nil }
        let id = rest.dropFirst().prefix { $0 != quote }
        return id.isEmpty ? nil : String(id)
    }

    /// DIR/os/VENDOR/NAME.xml, as osinfo-db lays them out.
    private static func osFiles(in root: String) -> [String] {
        let vendors = (try? FileIO.listDirectory("\(root)/os")) ?? []
        return vendors.sorted().flatMap { vendor in
            ((try? FileIO.listDirectory("\(root)/os/\(vendor)")) ?? []).sorted().filter { $0.hasSuffix(".xml") }.map {
                "\(root)/os/\(vendor)/\($0)"
            }
        }
    }

    /// "centos-stream9" and "centos-stream-9" alike: "centosstream9".
    private static func letters(_ name: String) -> String {
        String(name.lowercased().filter { $0.isLetter || $0.isNumber })
    }
}

extension String {
    fileprivate var dropXML: String { hasSuffix(".xml") ? String(dropLast(4)) : self }
}
