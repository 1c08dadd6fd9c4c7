import Glibc

/// Install media and trees recognised as libosinfo recognises them (`OSIdentification`): from
/// the osinfo index without libosinfo (`ISOVolumeFields` or `TreeinfoFields`, then
/// `OSMatcher`), or, where the index cannot answer (media its reader leaves to libosinfo, an
/// index without its match data), by libosinfo itself. Each answer is kept in STATE/cache under
/// a key made of the database's fingerprint and what libosinfo reads: an ISO image's path and
/// its volume descriptors (the 32 KiB from sector 16: the primary, supplementary and boot
/// record descriptors), or a tree's .treeinfo text. The jobs of a batch from one image ask once.
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
    /// database and the same bytes, else from `index` (nil: libosinfo is asked). `note` hears
    /// how it was had, for the log.
    static func recognise(
        _ source: OSIdentification.Source, fingerprint: String, cache: String?, index: OSIndex? = nil,
        note: (String) -> Void = { _ in }
    ) async throws(VMInstallError) -> Answer {
        let path = cache.flatMap { cache in key(source, fingerprint: fingerprint).map { "\(cache)/\($0)" } }
        if let path, let text = try? FileIO.readString(path, limit: 64 << 10), let answer = parse(text) {
            return answer
        }
        let start = Deadline.now()
        let answer: Answer
        switch fromIndex(source, index: index) {
        case .success(let (found, compiled)):
            answer = found
            let ms = String(format3: Double(Deadline.now() - start) / 1e6)
            note("recognition from the osinfo index in \(ms) ms (\(compiled) patterns given to glib)")
        case .failure(let why):
            if index != nil { note("recognition by libosinfo: \(why.message)") }
            answer = try await OSInfoDatabase.with { db in
                let identification = OSIdentification(source, in: db)
                return Answer(shortID: identification.shortID, unreadable: identification.unreadable)
            }
        }
        if let path, let cache, FileIO.isDirectory(cache) {
            try? FileIO.writeAtomically(path, "\(answer.shortID ?? "")\t\(answer.unreadable ?? "")\n", durable: false)
        }
        return answer
    }

    struct NotFromIndex: Error {
        let message: String
    }

    /// The answer from the index's match data, and how many patterns glib compiled.
    static func fromIndex(_ source: OSIdentification.Source, index: OSIndex?) -> Result<(Answer, Int), NotFromIndex> {
        guard let index else { return .failure(NotFromIndex(message: "no index")) }
        guard let data = index.matching else { return .failure(NotFromIndex(message: "the index has no match data")) }
        do throws(VMInstallError) {
            let matcher = try OSMatcher(data)
            switch source {
            case .media(let path):
                switch ISOVolumeFields.read(path) {
                case .leftToLibosinfo(let why):
                    return .failure(NotFromIndex(message: "\(path): \(why)"))
                case .fields(let media):
                    let id = matcher.identify(media)
                    return .success((Answer(shortID: id, unreadable: nil), matcher.regex.compiled))
                }
            case .tree(_, let treeinfo):
                switch try TreeinfoFields.read(treeinfo) {
                case .failure(let error):
                    return .success((Answer(shortID: nil, unreadable: error.message), matcher.regex.compiled))
                case .success(let tree):
                    return .success((Answer(shortID: matcher.identify(tree), unreadable: nil), matcher.regex.compiled))
                }
            }
        } catch {
            return .failure(NotFromIndex(message: error.message))
        }
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
        guard let read = FileIO.readRegular(path, offset: offset, count: count) else { return nil }
        // And the file's size: an image rewritten behind the same descriptors is asked again.
        return read.bytes + Array("\(read.size)".utf8)
    }
}
