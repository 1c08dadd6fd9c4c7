/// FNV-1a, 64 bits: for cache keys and names, not a checksum anyone could attack.
struct FNV1a {
    private(set) var value: UInt64 = 0xcbf2_9ce4_8422_2325

    /// The text and a NUL after it, so that "ab" then "c" differs from "a" then "bc".
    mutating func add(_ text: String) {
        add(text.utf8)
        add(CollectionOfOne(UInt8(0)))
    }

    mutating func add(_ number: UInt64) {
        withUnsafeBytes(of: number.littleEndian) { add($0) }
    }

    mutating func add<Bytes: Sequence>(_ bytes: Bytes) where Bytes.Element == UInt8 {
        for byte in bytes {
            value ^= UInt64(byte)
            value &*= 0x100_0000_01b3
        }
    }

    var hex: String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: 16 - digits.count) + digits
    }
}
