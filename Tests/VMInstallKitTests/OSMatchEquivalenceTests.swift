import COSInfo
import Testing

@testable import VMInstallKit

/// The index's recognition (`OSMatcher`, glib without libosinfo) gives libosinfo's own answers
/// (`osinfo_db_identify_media`, `osinfo_db_identify_tree`) over many inputs: for every media and
/// tree entry of the database, strings made from its patterns and near misses of them.
@Suite struct OSMatchEquivalenceTests {
    static func data() async throws -> OSMatchData {
        try await OSInfoDatabase.with { db in OSMatchData(db) }
    }

    struct MediaInput: Sendable, CustomStringConvertible {
        var volume, system, publisher, application: String?
        var size: Int64
        var description: String {
            "volume \(volume ?? "-") system \(system ?? "-") publisher \(publisher ?? "-") application \(application ?? "-") size \(size)"
        }
    }

    /// For each media entry: a sample of each of its patterns (two ways through them), and each
    /// sample's fields changed a little, one at a time.
    static func mediaInputs(_ data: OSMatchData) -> [MediaInput] {
        var inputs: [MediaInput] = []
        for (n, m) in data.media.enumerated() {
            let size = m.size > 0 ? m.size : 3_900_000_000
            for choice in [n, n + 1] {
                func make(_ pattern: String?) -> String? { pattern.map { RegexSamples.sample($0, choice: choice) } }
                let base = MediaInput(
                    volume: make(m.volume), system: make(m.system), publisher: make(m.publisher),
                    application: make(m.application), size: size)
                inputs.append(base)
                if choice != n { continue }
                var miss = base
                miss.volume = base.volume.map {
                    let misses = RegexSamples.nearMisses($0)
                    return misses[n % misses.count]
                }
                inputs.append(miss)
                if m.size > 0 {
                    var sized = base
                    sized.size = m.size + 2048
                    inputs.append(sized)
                }
                if base.system != nil || base.publisher != nil {
                    var other = base
                    other.system = base.system.map { $0 + "-X" }
                    other.publisher = base.publisher.map { String($0.dropLast()) }
                    inputs.append(other)
                }
            }
        }
        return inputs
    }

    @Test func mediaAreIdentifiedAsLibosinfoDoes() async throws {
        let data = try await Self.data()
        #expect(data.media.count > 1000)
        let inputs = Self.mediaInputs(data)
        let truth = try await OSInfoDatabase.with { db in
            inputs.map { input -> String? in
                guard let media = vmi_osinfo_media_new("vmi-test", nil) else { return nil }
                let raw = UnsafeMutableRawPointer(media)
                defer { vmi_osinfo_unref(raw) }
                for (key, value) in [
                    ("volume-id", input.volume), ("system-id", input.system), ("publisher-id", input.publisher),
                    ("application-id", input.application),
                ] {
                    if let value, !value.isEmpty { vmi_osinfo_entity_set_param(raw, key, value) }
                }
                vmi_osinfo_entity_set_param_int64(raw, "volume-size", input.size)
                // libosinfo 1.10 crashes filling in a medium whose volume id its l10n-language-regex does
                // not match (a NULL language looked up): for those, its list of matches answers.
                let first = OSInfoDatabase.consume(vmi_osinfo_db_identify_medialist(db.db, media)) { $0.first }
                let listed = first.flatMap { m -> String? in
                    guard let os = vmi_osinfo_media_get_os(m) else { return nil }
                    defer { vmi_osinfo_unref(UnsafeMutableRawPointer(os)) }
                    return OSInfoDatabase.string(vmi_osinfo_product_get_short_id(UnsafeMutableRawPointer(os)))
                }
                let language = first.flatMap {
                    vmi_osinfo_entity_get_param_value(UnsafeMutableRawPointer($0), "l10n-language-regex")
                }
                if language != nil {
                    return listed
                }
                guard vmi_osinfo_db_identify_media(db.db, media) != 0, let os = vmi_osinfo_media_get_os(media) else {
                    return nil
                }
                defer { vmi_osinfo_unref(UnsafeMutableRawPointer(os)) }
                let identified = OSInfoDatabase.string(vmi_osinfo_product_get_short_id(UnsafeMutableRawPointer(os)))
                return identified == listed
                    ? identified : "libosinfo's two answers differ: \(identified ?? "none") \(listed ?? "none")"
            }
        }
        // Thousands of matches: on a thread of their own, not one of the tasks' few.
        let differences = try await OffPool.run {
            let matcher = try OSMatcher(data)
            var differences: [String] = []
            for (input, expected) in zip(inputs, truth) {
                func bytes(_ s: String?) -> [UInt8]? { s.flatMap { $0.isEmpty ? nil : Array($0.utf8) } }
                let found = matcher.identify(
                    OSMatcher.Media(
                        volume: bytes(input.volume), system: bytes(input.system), publisher: bytes(input.publisher),
                        application: bytes(input.application), size: input.size))
                if found != expected {
                    differences.append("\(input): libosinfo \(expected ?? "none"), the index \(found ?? "none")")
                }
            }
            return differences
        }
        for difference in differences.prefix(20) { Issue.record("\(difference)") }
        let differ = differences.count
        let recognised = truth.compactMap { $0 }.count
        #expect(differ == 0, "\(differ) of \(inputs.count) differ")
        #expect(recognised > inputs.count / 3, "the samples are mostly recognised: \(recognised) of \(inputs.count)")
        #expect(Set(truth.compactMap { $0 }).count > 300, "by many OSes")
    }

    /// For each tree entry: a .treeinfo made from its patterns (and its architecture), and near
    /// misses, read by libosinfo and by `TreeinfoFields`.
    @Test func treesAreIdentifiedAsLibosinfoDoes() async throws {
        let data = try await Self.data()
        #expect(data.trees.count > 500)
        var texts: [String] = []
        for (n, t) in data.trees.enumerated() where t.hasTreeinfo {
            for choice in [n, n + 1] {
                func make(_ pattern: String?) -> String? { pattern.map { RegexSamples.sample($0, choice: choice) } }
                let arch = make(t.treeinfoArch) ?? (t.arch == "all" ? "x86_64" : t.arch)
                var fields = [
                    ("family", make(t.family)), ("variant", make(t.variant)), ("version", make(t.version)),
                    ("arch", arch),
                ]
                texts.append(Self.treeinfo(fields))
                if choice != n { continue }
                fields[2].1 = fields[2].1.map { RegexSamples.nearMisses($0).last! }
                texts.append(Self.treeinfo(fields))
                fields[3].1 = nil  // no arch: i386
                texts.append(Self.treeinfo(fields))
            }
        }
        texts.append("[general]\nfamily = Fedora\nversion = \\xff\n")  // an escape GKeyFile refuses
        texts.append("not a key file\n")
        let all = texts
        let truth = try await OSInfoDatabase.with { db in
            all.map { text -> String in
                let i = OSIdentification(.tree(location: "http://127.0.0.1/", treeinfo: text), in: db)
                return i.shortID ?? "none: \(i.unreadable ?? "")"
            }
        }
        let differences = try await OffPool.run {
            let matcher = try OSMatcher(data)
            var differences: [String] = []
            for (text, expected) in zip(all, truth) {
                let found: String
                switch try TreeinfoFields.read(text) {
                case .failure(let error): found = "none: \(error.message)"
                case .success(let tree): found = matcher.identify(tree) ?? "none: "
                }
                if found != expected {
                    differences.append("\(text.debugDescription): libosinfo \(expected), the index \(found)")
                }
            }
            return differences
        }
        for difference in differences.prefix(20) { Issue.record("\(difference)") }
        let differ = differences.count
        #expect(differ == 0, "\(differ) of \(texts.count) differ")
        #expect(truth.filter { !$0.hasPrefix("none") }.count > texts.count / 3, "the samples are mostly recognised")
    }

    static func treeinfo(_ fields: [(String, String?)]) -> String {
        "[general]\n" + fields.compactMap { key, value in value.map { "\(key) = \($0)\n" } }.joined()
    }

    /// What the prefilter requires is in every string glib matches (over the database's patterns
    /// and their samples), and it finds literals in most patterns.
    @Test func thePrefilterNeverRulesOutAMatch() async throws {
        let data = try await Self.data()
        let patterns = Set(
            data.media.flatMap { [$0.volume, $0.system, $0.publisher, $0.application] }.compactMap { $0 })
        try GLibRegex.load()
        let (withLiterals, misses) = try await OffPool.run {
            var withLiterals = 0
            var misses: [String] = []
            for pattern in patterns {
                let literals = RegexLiterals.required(in: pattern)
                if !literals.isEmpty { withLiterals += 1 }
                for choice in 0..<4 {
                    let sample = RegexSamples.sample(pattern, choice: choice)
                    for text in [sample] + RegexSamples.nearMisses(sample)
                    where vmi_glib_regex_match(pattern, text) != 0 {
                        let bytes = Array(text.utf8)
                        for literal in literals {
                            let found =
                                bytes.count >= literal.count
                                && (0...(bytes.count - literal.count)).contains {
                                    bytes[$0..<($0 + literal.count)].elementsEqual(literal)
                                }
                            if !found {
                                misses.append(
                                    "\(pattern) matches \(text), which lacks \(String(decoding: literal, as: UTF8.self))"
                                )
                            }
                        }
                    }
                }
            }
            return (withLiterals, misses)
        }
        #expect(misses.isEmpty, "\(misses.prefix(20))")
        #expect(withLiterals > patterns.count * 3 / 4, "\(withLiterals) of \(patterns.count) patterns have literals")
        #expect(RegexLiterals.required(in: "^Fedora-S-dvd-x86_64-3[0-9]") == [Array("Fedora-S-dvd-x86_64-3".utf8)])
        #expect(RegexLiterals.required(in: "ab?c+d") == [Array("a".utf8), Array("c".utf8), Array("d".utf8)])
        #expect(RegexLiterals.required(in: "(?i)fedora").isEmpty)
        #expect(RegexLiterals.required(in: "a|b").isEmpty)
        #expect(RegexLiterals.required(in: "x\\.y\\d{2}z") == [Array("x.y".utf8), Array("z".utf8)])
    }
}
