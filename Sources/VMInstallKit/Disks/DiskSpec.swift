/// Disk image formats this project creates and attaches.
public enum DiskFormat: String, Sendable, CaseIterable {
    case raw
    case qcow2
}

/// One `--disk PATH[,size=SIZE][,format=raw|qcow2]` as given on the command line.
/// A comma inside PATH is written twice, as in QEMU's own option syntax.
public struct DiskSpec: Sendable, Equatable {
    public var path: String
    /// Bytes; only for a disk that is to be created.
    public var size: UInt64?
    public var format: DiskFormat?

    public init(path: String, size: UInt64? = nil, format: DiskFormat? = nil) {
        self.path = path
        self.size = size
        self.format = format
    }

    public static func parse(_ text: String) throws(VMInstallError) -> DiskSpec {
        let fields = splitOptionList(text)
        guard let path = fields.first, !path.isEmpty else {
            throw VMInstallError(.usage, "--disk '\(text)': the path is missing; use --disk PATH[,size=SIZE][,format=raw|qcow2]")
        }
        guard !path.contains("\0"), !path.contains("\n") else {
            throw VMInstallError(.usage, "--disk: the path must not contain NUL or newline characters")
        }
        var spec = DiskSpec(path: path)
        for field in fields.dropFirst() {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2 else {
                throw VMInstallError(.usage, "--disk '\(text)': '\(field)' is not key=value; known keys are size and format")
            }
            switch parts[0] {
            case "size":
                guard let bytes = parseSize(parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': size '\(parts[1])' is not a size such as 8G, 512M or 20 (GiB)")
                }
                spec.size = bytes
            case "format":
                guard let format = DiskFormat(rawValue: parts[1]) else {
                    throw VMInstallError(.usage, "--disk '\(text)': format '\(parts[1])' is not raw or qcow2")
                }
                spec.format = format
            default:
                throw VMInstallError(.usage, "--disk '\(text)': unknown key '\(parts[0])'; known keys are size and format")
            }
        }
        return spec
    }

    /// Back to the command-line form, with commas in the path doubled.
    public var rendered: String {
        var out = path.replacingOccurrences(",", with: ",,")
        // In KiB: a bare number would read back as GiB.
        if let size { out += ",size=\(size / 1024)K" }
        if let format { out += ",format=\(format.rawValue)" }
        return out
    }

    /// A size with an optional K, M, G or T suffix (powers of 1024); a bare number is GiB.
    public static func parseSize(_ text: String) -> UInt64? {
        guard let last = text.last else { return nil }
        let units: [Character: UInt64] = ["K": 1 << 10, "M": 1 << 20, "G": 1 << 30, "T": 1 << 40]
        let multiplier: UInt64
        let digits: Substring
        if let unit = units[Character(last.uppercased())] {
            multiplier = unit
            digits = text.dropLast()
        } else {
            multiplier = 1 << 30
            digits = Substring(text)
        }
        guard !digits.isEmpty, digits.allSatisfy(\.isASCII), digits.allSatisfy(\.isNumber),
            let number = UInt64(digits), number > 0
        else { return nil }
        let (bytes, overflow) = number.multipliedReportingOverflow(by: multiplier)
        return overflow ? nil : bytes
    }
}

/// Splits QEMU-style `a,b,c` where `,,` stands for a literal comma.
func splitOptionList(_ text: String) -> [String] {
    var fields: [String] = []
    var current = ""
    var chars = Array(text)[...]
    while let ch = chars.popFirst() {
        if ch == "," {
            if chars.first == "," {
                chars.removeFirst()
                current.append(",")
            } else {
                fields.append(current)
                current = ""
            }
        } else {
            current.append(ch)
        }
    }
    fields.append(current)
    return fields
}

extension String {
    func replacingOccurrences(_ target: String, with replacement: String) -> String {
        split(separator: target, omittingEmptySubsequences: false).joined(separator: replacement)
    }
}
