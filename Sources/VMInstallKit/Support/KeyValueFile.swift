/// The text format of every file this project writes for people and for itself:
/// one `key=value` per line, `#` comments, values escaped so that one value is one line.
/// Keys may repeat (a list is the same key on several lines).
public struct KeyValueFile: Sendable, Equatable {
    public private(set) var entries: [(key: String, value: String)] = []

    public init() {}

    public static func == (a: KeyValueFile, b: KeyValueFile) -> Bool {
        a.entries.elementsEqual(b.entries) { $0.key == $1.key && $0.value == $1.value }
    }

    public mutating func append(_ key: String, _ value: String) {
        entries.append((key, value))
    }

    public mutating func append(_ key: String, _ value: String?) {
        if let value { entries.append((key, value)) }
    }

    public func first(_ key: String) -> String? {
        entries.first { $0.key == key }?.value
    }

    public func all(_ key: String) -> [String] {
        entries.filter { $0.key == key }.map(\.value)
    }

    public func render(header: String? = nil) -> String {
        var out = ""
        if let header {
            for line in header.split(separator: "\n", omittingEmptySubsequences: false) {
                out += "# \(line)\n"
            }
        }
        for (key, value) in entries {
            out += "\(key)=\(Self.escape(value))\n"
        }
        return out
    }

    /// Parses text; throws a readable reason on a line that is not `key=value`.
    public static func parse(_ text: String) throws(ParseError) -> KeyValueFile {
        var file = KeyValueFile()
        var lineNumber = 0
        for line in text.split(separator: "\n", omittingEmptySubsequences: true) {
            lineNumber += 1
            if line.hasPrefix("#") { continue }
            guard let eq = line.firstIndex(of: "="), eq != line.startIndex else {
                throw ParseError(line: lineNumber, reason: "expected key=value")
            }
            let key = String(line[..<eq])
            guard let value = unescape(line[line.index(after: eq)...]) else {
                throw ParseError(line: lineNumber, reason: "bad escape in the value of \(key)")
            }
            file.append(key, value)
        }
        return file
    }

    public struct ParseError: Error, CustomStringConvertible {
        public let line: Int
        public let reason: String
        public var description: String { "line \(line): \(reason)" }
    }

    static func escape(_ value: String) -> String {
        var out = ""
        for ch in value.unicodeScalars {
            switch ch {
            case "\\": out += "\\\\"
            case "\n": out += "\\n"
            case "\t": out += "\\t"
            case "\r": out += "\\r"
            case "\0": out += "\\0"
            default: out.unicodeScalars.append(ch)
            }
        }
        return out
    }

    static func unescape(_ value: Substring) -> String? {
        guard value.contains("\\") else { return String(value) }
        var out = ""
        var iterator = value.unicodeScalars.makeIterator()
        while let ch = iterator.next() {
            guard ch == "\\" else {
                out.unicodeScalars.append(ch)
                continue
            }
            switch iterator.next() {
            case "\\": out += "\\"
            case "n": out += "\n"
            case "t": out += "\t"
            case "r": out += "\r"
            case "0": out += "\0"
            default: return nil
            }
        }
        return out
    }
}
