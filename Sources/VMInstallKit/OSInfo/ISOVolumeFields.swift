import Glibc

/// An ISO 9660 image's identification fields, read as libosinfo 1.10's
/// `osinfo_media_create_from_location` reads a local image (osinfo/osinfo_media.c): the
/// 2,048 bytes from 0x8000 taken as the primary volume descriptor (its type not checked),
/// each id field up to its first NUL less trailing white space (`g_strchomp`), the volume
/// size its block count times its block size (the little-endian halves); then the next
/// descriptor's boot system id, which must be "EL TORITO SPECIFICATION". What this reader
/// does not follow (a short file, an empty volume id, media without El Torito, which
/// libosinfo searches for /ppc/bootinfo.txt) is left to libosinfo: `read` says why.
enum ISOVolumeFields {
    enum Reading {
        case fields(OSMatcher.Media)
        /// For the log: why libosinfo reads it instead.
        case leftToLibosinfo(String)
    }

    static let offset: Int64 = 0x8000
    /// The primary volume descriptor and the supplementary one's first 39 bytes.
    static let length = 2048 + 39

    static func read(_ path: String) -> Reading {
        guard let read = FileIO.readRegular(path, offset: offset, count: length) else {
            return .leftToLibosinfo("not a regular file that can be read")
        }
        guard read.bytes.count == length else { return .leftToLibosinfo("shorter than its volume descriptors") }
        return parse(read.bytes)
    }

    /// The fields of `bytes`, the `length` bytes from `offset`.
    static func parse(_ bytes: [UInt8]) -> Reading {
        func field(_ start: Int, _ count: Int) -> [UInt8] {
            GLibRegex.chomp(Array(bytes[start..<(start + count)].prefix { $0 != 0 }))
        }
        func little(_ start: Int, _ count: Int) -> Int64 {
            (0..<count).reduce(Int64(0)) { $0 | Int64(bytes[start + $1]) << (8 * Int64($1)) }
        }
        let volume = field(40, 32)
        guard !volume.isEmpty else { return .leftToLibosinfo("no volume id") }
        // The next descriptor's system id: 32 bytes from its 8th, the last made NUL.
        guard field(2048 + 7, 31) == Array("EL TORITO SPECIFICATION".utf8) else {
            return .leftToLibosinfo("no El Torito boot record after the primary volume descriptor")
        }
        func given(_ f: [UInt8]) -> [UInt8]? { f.isEmpty ? nil : f }
        return .fields(
            OSMatcher.Media(
                volume: volume, system: given(field(8, 32)), publisher: given(field(318, 128)),
                application: given(field(574, 128)), size: little(80, 4) * little(128, 2)))
    }
}
