/// What `--os-type` asks for: an osinfo-db short id or a family by name, recognition of the
/// install media made mandatory (`detect`), or, without the option, recognition where it
/// can be had and the generic defaults where not.
public enum OSChoice: Sendable, Equatable {
    case unspecified
    case detect
    case named(String)

    public static let detectKeyword = "detect"
    public static let listKeyword = "list"

    public static func parse(_ text: String?) throws(VMInstallError) -> OSChoice {
        guard let text else { return .unspecified }
        let value = text.lowercased()
        if value == detectKeyword { return .detect }
        let allowed = value.utf8.allSatisfy { c in
            (c >= 0x30 && c <= 0x39) || (c >= 0x61 && c <= 0x7A) || c == UInt8(ascii: ".") || c == UInt8(ascii: "-")
                || c == UInt8(ascii: "_")
        }
        guard (1...64).contains(value.utf8.count), allowed, value != listKeyword else {
            throw VMInstallError(
                .usage, "--os-type '\(text)': give an osinfo-db id such as fedora37 or win10, a family, detect, or list"
            )
        }
        return .named(value)
    }

    /// The OS is to come from recognising the media.
    var isRecognition: Bool { self == .unspecified || self == .detect }

    /// A family given by name: its defaults need no database.
    var family: OSType? {
        if case .named(let name) = self { return OSType.named(name) }
        return nil
    }
}

/// The OS a job installs, as osinfo-db names it: recorded in SETTINGS, shown by
/// `vm-install-jobs --status ID --json` as `os`.
public struct RecordedOS: Sendable, Equatable, Encodable {
    public let id: String
    public let name: String
}
