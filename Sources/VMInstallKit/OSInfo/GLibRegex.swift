import COSInfo

/// GLib's regular expressions as libosinfo 1.10 matches osinfo-db's patterns against media and
/// trees (`g_regex_match_simple(pattern, string, 0, 0)`: PCRE2, UTF-8, unanchored), called in
/// glib itself, loaded alone with dlopen (Sources/COSInfo/cglib.h), not libosinfo. Each pattern
/// is compiled when it is asked, so a prefilter (`RegexLiterals`) first rules out the patterns
/// whose required literal text the string lacks: a job compiles a few of osinfo-db's ~2,000.
/// Results are remembered for the matcher's life. Not thread-safe: one per recognition.
final class GLibRegex {
    private var results: [String: [[UInt8]: Bool]] = [:]
    private var literals: [String: [[UInt8]]] = [:]
    /// How many patterns were given to glib, for the log and the tests.
    private(set) var compiled = 0

    /// glib loaded, or why not.
    static func load() throws(VMInstallError) {
        if let why = vmi_glib_load() {
            throw VMInstallError(.host, "glib cannot be used (\(String(cString: why))); install Debian's libglib2.0-0")
        }
    }

    init() throws(VMInstallError) { try Self.load() }

    /// libosinfo's `match_regex(pattern, string)`: no pattern matches anything; a pattern
    /// matches no string; else glib's answer.
    func matches(_ pattern: String?, _ string: [UInt8]?) -> Bool {
        guard let pattern else { return true }
        guard let string else { return false }
        if let known = results[pattern]?[string] { return known }
        let required = literals[pattern] ?? RegexLiterals.required(in: pattern)
        literals[pattern] = required
        var answer = false
        if required.allSatisfy({ string.contains($0) }) {
            compiled += 1
            answer = (string + [0]).withUnsafeBufferPointer { text in
                text.withMemoryRebound(to: CChar.self) { vmi_glib_regex_match(pattern, $0.baseAddress!) != 0 }
            }
        }
        results[pattern, default: [:]][string] = answer
        return answer
    }

    /// `g_strchomp`: the string less its trailing ASCII white space, as glib trims.
    static func chomp(_ bytes: [UInt8]) -> [UInt8] {
        var text = bytes.map { CChar(bitPattern: $0) } + [0]
        text.withUnsafeMutableBufferPointer { vmi_glib_chomp($0.baseAddress!) }
        return text.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }
    }
}

extension Array where Element == UInt8 {
    /// Whether `needle` occurs in these bytes.
    fileprivate func contains(_ needle: [UInt8]) -> Bool {
        guard !needle.isEmpty else { return true }
        guard needle.count <= count else { return false }
        let first = needle[0]
        for start in 0...(count - needle.count) where self[start] == first {
            if self[start..<(start + needle.count)].elementsEqual(needle) { return true }
        }
        return false
    }
}
