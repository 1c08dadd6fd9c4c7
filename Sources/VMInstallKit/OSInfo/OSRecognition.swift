import Glibc

/// Install media and trees recognised as libosinfo recognises them (`OSIdentification`), each
/// answer kept in STATE/cache under a key made of the database's fingerprint and what
/// libosinfo reads: an ISO image's path and its volume descriptors (the 32 KiB from sector
/// 16: the primary, supplementary and boot record descriptors), or a tree's .treeinfo text.
/// The jobs of a batch from one image ask libosinfo once; the answer is libosinfo's own.
enum OSRecognition {
    struct Answer: Sendable, Equatable {
        /// The short id recognised; nil when not recognised.
        let shortID: String?
        /// Why the media could not be read, for the log.
        let unreadable: String?
    }

    static let descriptorsOffset: Int64 = 16 * 2048
    static let descriptorsLength = 16 * 2048

    /// libosinfo's answer for `source`, from `cache` when it was asked before with the same
    /// database and the same bytes.
    static func recognise(_ source: OSIdentification.Source, fingerprint: String, cache: String?)
        async throws(VMInstallError) -> Answer
    {
        let path = cache.flatMap { cache in key(source, fingerprint: fingerprint).map { "\(cache)/\($0)" } }
        if let path, let text = try? FileIO.readString(path, limit: 64 << 10), let answer = parse(text) {
            return answer
        }
        let answer = try await OSInfoDatabase.with { db in
            let identification = OSIdentification(source, in: db)
            return Answer(shortID: identification.shortID, unreadable: identification.unreadable)
        }
        if let path, let cache, FileIO.isDirectory(cache) {
            try? FileIO.writeAtomically(path, "\(answer.shortID ?? "")\t\(answer.unreadable ?? "")\n", durable: false)
        }
        return answer
    }

    /// The cache file's name; nil when the media cannot be read here (libosinfo is asked).
    static func key(_ source: OSIdentification.Source, fingerprint: String) -> String? {
        var hash = FNV1a()
        hash.add(fingerprint)
        switch source {
        case .media(let path):
            guard let bytes = read(path, offset: descriptorsOffset, count: descriptorsLength) else { return nil }
            hash.add("media")
            hash.add(path)
            hash.add(bytes)
        case .tree(_, let treeinfo):
            hash.add("tree")
            hash.add(treeinfo)
        }
        return "osinfo-recognised-\(hash.hex)"
    }

    private static func parse(_ text: String) -> Answer? {
        guard text.hasSuffix("\n") else { return nil }
        let fields = text.dropLast().split(separator: "\t", maxSplits: 1, omittingEmptySubsequences: false)
        guard fields.count == 2 else { return nil }
        return Answer(
            shortID: fields[0].isEmpty ? nil : String(fields[0]),
            unreadable: fields[1].isEmpty ? nil : String(fields[1]))
    }

    /// Up to `count` bytes of a regular file from `offset`; nil when it cannot be opened.
    private static func read(_ path: String, offset: Int64, count: Int) -> [UInt8]? {
        var st = stat()
        guard stat(path, &st) == 0, (st.st_mode & S_IFMT) == S_IFREG else { return nil }
        let fd = open(path, O_RDONLY | O_CLOEXEC)
        guard fd >= 0 else { return nil }
        defer { close(fd) }
        var bytes = [UInt8](repeating: 0, count: count)
        var done = 0
        while done < count {
            let n = bytes.withUnsafeMutableBytes { raw in
                pread(fd, raw.baseAddress! + done, count - done, off_t(offset) + off_t(done))
            }
            if n < 0 && errno == EINTR { continue }
            if n < 0 { return nil }
            if n == 0 { break }
            done += n
        }
        // And the file's size: an image rewritten behind the same descriptors is asked again.
        return Array(bytes.prefix(done)) + Array("\(st.st_size)".utf8)
    }
}
