import CShims
import Glibc

/// What proves that the file at a path is still the one we created: device, inode and
/// birth time together. Device and inode alone are not enough, since a file made right
/// after an unlink often gets the same inode number.
public struct FileIdentity: Equatable, Sendable, CustomStringConvertible {
    public let device: UInt64
    public let inode: UInt64
    public let birthSeconds: Int64
    public let birthNanoseconds: UInt32

    /// The identity of a regular file at `path`, not following a final symlink.
    /// `nil` when there is no such file or it is not a regular file.
    public static func of(_ path: String) -> FileIdentity? {
        var raw = vmi_file_identity()
        guard vmi_identity(path, &raw) == 0, raw.is_regular != 0 else {
            return nil
        }
        return FileIdentity(
            device: raw.dev, inode: raw.ino,
            birthSeconds: raw.has_btime != 0 ? raw.btime_sec : -1,
            birthNanoseconds: raw.has_btime != 0 ? raw.btime_nsec : 0)
    }

    public var description: String { "\(device):\(inode):\(birthSeconds):\(birthNanoseconds)" }

    public init(device: UInt64, inode: UInt64, birthSeconds: Int64, birthNanoseconds: UInt32) {
        self.device = device
        self.inode = inode
        self.birthSeconds = birthSeconds
        self.birthNanoseconds = birthNanoseconds
    }

    public init?(parsing text: Substring) {
        let parts = text.split(separator: ":")
        guard parts.count == 4, let d = UInt64(parts[0]), let i = UInt64(parts[1]),
            let s = Int64(parts[2]), let n = UInt32(parts[3])
        else { return nil }
        self.init(device: d, inode: i, birthSeconds: s, birthNanoseconds: n)
    }
}

/// A disk this job created: removed by --delete only while its identity still matches.
public struct CreatedDisk: Equatable, Sendable {
    public let path: String
    public let identity: FileIdentity

    public init(path: String, identity: FileIdentity) {
        self.path = path
        self.identity = identity
    }

    /// Encoded as IDENTITY:PATH; the path comes last so it may hold colons.
    var encoded: String { "\(identity):\(path)" }

    init?(encoded: String) {
        let parts = encoded.split(separator: ":", maxSplits: 4, omittingEmptySubsequences: false)
        guard parts.count == 5, let identity = FileIdentity(parsing: encoded[parts[0].startIndex..<parts[3].endIndex])
        else {
            return nil
        }
        self.init(path: String(parts[4]), identity: identity)
    }
}

/// A storage-pool volume a job created: removed only while the pool still has a volume of
/// that name with that key.
public struct CreatedVolume: Equatable, Sendable {
    public let pool: String
    public let name: String
    public let key: String
    public let path: String

    public init(pool: String, name: String, key: String, path: String) {
        self.pool = pool
        self.name = name
        self.key = key
        self.path = path
    }

    /// POOL/NAME KEY-LENGTH:KEY PATH: pool and volume names are plain (DiskSpec.libvirtName).
    var encoded: String { "\(pool)/\(name) \(key.utf8.count):\(key) \(path)" }

    init?(encoded: String) {
        guard let space = encoded.firstIndex(of: " ") else { return nil }
        let names = encoded[..<space].split(separator: "/", omittingEmptySubsequences: false)
        let rest = encoded[encoded.index(after: space)...]
        guard names.count == 2, let colon = rest.firstIndex(of: ":"), let length = Int(rest[..<colon]) else {
            return nil
        }
        let keyStart = rest.index(after: colon)
        guard let keyEnd = rest.utf8.index(keyStart, offsetBy: length, limitedBy: rest.endIndex),
            keyEnd < rest.endIndex,
            rest[keyEnd] == " "
        else { return nil }
        self.init(
            pool: String(names[0]), name: String(names[1]), key: String(rest[keyStart..<keyEnd]),
            path: String(rest[rest.index(after: keyEnd)...]))
    }
}
