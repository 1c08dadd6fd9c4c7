/// A job id: a positive decimal integer, never reused within a state directory.
public struct JobID: Hashable, Comparable, Sendable, CustomStringConvertible {
    public let value: UInt64

    public init?(_ value: UInt64) {
        guard value > 0 else { return nil }
        self.value = value
    }

    /// Accepts only canonical ids ("7", not "07", "+7", " 7" or "../7"), so an id can
    /// always be used as a directory name and two spellings never name one job.
    public init?(parsing text: String) {
        let bytes = Array(text.utf8)
        guard (1...19).contains(bytes.count), bytes[0] != UInt8(ascii: "0"),
            bytes.allSatisfy({ (UInt8(ascii: "0")...UInt8(ascii: "9")).contains($0) }),
            let value = UInt64(text)
        else { return nil }
        self.value = value
    }

    public var description: String { String(value) }

    public static func < (a: JobID, b: JobID) -> Bool { a.value < b.value }
}
