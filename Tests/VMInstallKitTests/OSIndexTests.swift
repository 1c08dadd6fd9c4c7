import Glibc
import Testing

@testable import VMInstallKit

/// The osinfo index answers as libosinfo does: every OS's name and defaults, and the
/// recognition of a set of media and trees, compared with libosinfo asked directly.
@Suite struct OSIndexTests {
    static let samples = TreeFamilyTests.samples

    /// A fresh directory under /tmp, removed after `body`.
    static func withDirectory<T>(_ body: (String) async throws -> T) async throws -> T {
        var template = Array("/tmp/vmi-osindex-XXXXXX".utf8CString)
        let made = template.withUnsafeMutableBufferPointer { mkdtemp($0.baseAddress!) }
        let dir = try #require(made.map { String(cString: $0) })
        defer { try? FileIO.removeTree(dir) }
        return try await body(dir)
    }

    @Test func everyOSHasLibosinfosNameAndDefaults() async throws {
        try await Self.withDirectory { dir in
            let built = try await OSIndex.current(cache: dir)
            #expect(built.how.contains("built"), "\(built.how)")
            let read = try await OSIndex.current(cache: dir)
            #expect(read.how.contains("from the index"), "the second asks the file: \(read.how)")
            let truth = try await OSInfoDatabase.with { db in
                let lineages = OSLineage.all(db)
                return db.entries.map { entry in
                    OSIndex.System(
                        entry: entry, defaults: db.defaults(of: db.systems[entry.id]!, id: entry.id),
                        lineage: lineages[entry.id] ?? [])
                }
            }
            #expect(truth.count > 500, "osinfo-db has its systems")
            #expect(read.systems.count == truth.count)
            for system in truth {
                #expect(read[system.entry.id] == system, "\(system.entry.id)")
            }
            #expect(read.entries == truth.map(\.entry), "the same order")
            // What osinfo-db's <clones> and <derives-from> say of a few systems.
            #expect(read["rocky9"].map { OSLineage.isAnaconda($0.lineage) } == true, "\(read["rocky9"]?.lineage ?? [])")
            #expect(read["almalinux8"]?.lineage == ["almalinux", "rhel"])
            #expect(read["fedora37"]?.lineage.first == "fedora")
            #expect(read["debian11"].map { OSLineage.isAnaconda($0.lineage) } == false)
            #expect(read.versions == OSInfoDatabase.versions)
        }
    }

    /// A changed database (a file added, or one rewritten) has another fingerprint, and an
    /// index of another fingerprint is not used.
    @Test func aChangedDatabaseIsIndexedAgain() async throws {
        try await Self.withDirectory { dir in
            for sub in ["db", "db/os", "db/os/example.org"] { try FileIO.makeDirectory("\(dir)/\(sub)", mode: 0o755) }
            let before = OSInfoFingerprint.current(databases: ["\(dir)/db"])
            #expect(before == OSInfoFingerprint.current(databases: ["\(dir)/db"]), "stable while unchanged")
            try FileIO.writeAtomically("\(dir)/db/os/example.org/example-1.xml", "<libosinfo/>\n")
            let added = OSInfoFingerprint.current(databases: ["\(dir)/db"])
            #expect(added != before)
            try FileIO.writeInPlace("\(dir)/db/os/example.org/example-1.xml", "<libosinfo></libosinfo>\n")
            #expect(OSInfoFingerprint.current(databases: ["\(dir)/db"]) != added, "a file rewritten in place")

            let index = try await OSIndex.current(cache: dir)
            #expect(OSIndex.read("\(dir)/\(OSIndex.fileName)", fingerprint: index.fingerprint, how: { "" }) != nil)
            #expect(OSIndex.read("\(dir)/\(OSIndex.fileName)", fingerprint: before, how: { "" }) == nil)
        }
    }

    /// Media by their volume descriptors, and trees by their .treeinfo: the cached answers,
    /// first and second time, are libosinfo's.
    @Test func mediaAndTreesAreRecognisedAsLibosinfoDoes() async throws {
        try await Self.withDirectory { dir in
            let media: [(volume: String, extra: [String])] = [
                ("Fedora-S-dvd-x86_64-37", []), ("Fedora-WS-Live-37-1-7", []), ("Debian 11.5.0 amd64 n", []),
                ("Ubuntu-Server 22.04.1 LTS amd64", []),
                ("openSUSE-Leap-15.4-DVD-x86_64", ["-publisher", "SUSE LINUX GmbH"]),
                ("AlmaLinux-9-1-x86_64-dvd", []), ("13_1_RELEASE_AMD64_CD", ["-sysid", "FreeBSD"]),
                ("CCCOMA_X64FRE_EN-US_DV9", ["-publisher", "MICROSOFT CORPORATION"]), ("VMINSTALL", []),
                ("Fedora-S-dvd-x86_64-37", ["-sysid", "FreeBSD"]),
            ]
            try FileIO.makeDirectory("\(dir)/stage", mode: 0o755)
            try FileIO.writeAtomically("\(dir)/stage/boot.bin", bytes: [UInt8](repeating: 0, count: 2048))
            var sources: [OSIdentification.Source] = []
            for (n, medium) in media.enumerated() {
                let iso = "\(dir)/medium\(n).iso"
                let made = try await CommandResult.run(
                    "/usr/bin/xorriso",
                    ["-as", "mkisofs", "-quiet", "-V", medium.volume] + medium.extra + [
                        "-b", "boot.bin", "-no-emul-boot", "-o", iso, "\(dir)/stage",
                    ])
                try #require(made.succeeded, "\(made.standardError)")
                sources.append(.media(iso))
            }
            sources.append(.media("\(dir)/stage/boot.bin"))  // not an ISO image
            for name in try FileIO.listDirectory(Self.samples) where name.hasSuffix(".treeinfo") {
                sources.append(
                    .tree(
                        location: "http://127.0.0.1/\(name)", treeinfo: try FileIO.readString("\(Self.samples)/\(name)")
                    ))
            }
            try FileIO.makeDirectory("\(dir)/cache", mode: 0o700)
            let fingerprint = OSInfoFingerprint.current()
            let index = try await OSIndex.current(cache: "\(dir)/cache")
            let reread = try #require(
                OSIndex.read("\(dir)/cache/\(OSIndex.fileName)", fingerprint: fingerprint, how: { "" }))
            #expect(reread.matching == index.matching, "the match data is kept as built")
            #expect((index.matching?.media.count ?? 0) > 1000 && (index.matching?.trees.count ?? 0) > 500)
            var recognised = 0
            var fromIndex = 0
            for source in sources {
                let truth = try await OSInfoDatabase.with { db in
                    let i = OSIdentification(source, in: db)
                    return OSRecognition.Answer(shortID: i.shortID, unreadable: i.unreadable)
                }
                let first = try await OSRecognition.recognise(
                    source, fingerprint: fingerprint, cache: "\(dir)/cache", index: index)
                let key = try #require(OSRecognition.key(source, fingerprint: fingerprint))
                #expect(FileIO.exists("\(dir)/cache/\(key)"), "the answer is kept")
                let second = try await OSRecognition.recognise(source, fingerprint: fingerprint, cache: "\(dir)/cache")
                #expect(first == truth && second == truth, "\(source): \(truth) \(first) \(second)")
                if case .success(let (answer, _)) = OSRecognition.fromIndex(source, index: reread) {
                    #expect(answer == truth, "from the index: \(source)")
                    fromIndex += 1
                }
                if truth.shortID != nil { recognised += 1 }
            }
            #expect(fromIndex >= sources.count - 1, "all but the file that is not an image: \(fromIndex)")
            #expect(recognised >= 12, "most of the set is recognised: \(recognised) of \(sources.count)")
            // What is kept is what is answered: the second time comes from the file.
            let kept = try #require(OSRecognition.key(sources[0], fingerprint: fingerprint))
            try FileIO.writeAtomically("\(dir)/cache/\(kept)", "kept-answer\t\n")
            let cached = try await OSRecognition.recognise(sources[0], fingerprint: fingerprint, cache: "\(dir)/cache")
            #expect(cached.shortID == "kept-answer", "\(cached)")
            // Another fingerprint (a changed database) asks libosinfo again.
            #expect(
                OSRecognition.key(sources[0], fingerprint: "0")
                    != OSRecognition.key(sources[0], fingerprint: fingerprint))
        }
    }
}
