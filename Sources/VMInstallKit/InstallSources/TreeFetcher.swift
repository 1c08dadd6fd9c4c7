import Glibc

/// Reads the files of an install tree wherever it is: a directory, an http, https or ftp URL
/// (through curl), or an ISO image or CD/DVD device (through xorriso, without mounting it).
/// Paths are relative to the tree's top.
protocol TreeFetcher: Sendable {
    func exists(_ path: String) async -> Bool
    /// A small text file (`.treeinfo`), or nil when it is absent or unreadable.
    func text(_ path: String) async -> String?
    /// Copies the file to `target`, a local path.
    func fetch(_ path: String, to target: String, log: JobLog) async throws(VMInstallError)
}

struct DirectoryTreeFetcher: TreeFetcher {
    let root: String

    func exists(_ path: String) async -> Bool {
        let full = InstallTree.join(root, path)
        return access(full, R_OK) == 0 && !FileIO.isDirectory(full)
    }

    func text(_ path: String) async -> String? {
        try? FileIO.readString(InstallTree.join(root, path), limit: 1 << 16)
    }

    /// Never called for a directory: its files boot where they are.
    func fetch(_ path: String, to target: String, log: JobLog) async throws(VMInstallError) {
        throw VMInstallError(.internal, "a directory tree's files are not copied")
    }
}

struct URLTreeFetcher: TreeFetcher {
    let root: String

    func exists(_ path: String) async -> Bool {
        await Downloader.exists(InstallTree.join(root, path))
    }

    func text(_ path: String) async -> String? {
        await Downloader.text(InstallTree.join(root, path))
    }

    func fetch(_ path: String, to target: String, log: JobLog) async throws(VMInstallError) {
        log.write("downloading \(InstallTree.join(root, path))")
        try await Downloader.fetch(InstallTree.join(root, path), to: target, progress: log.interactive)
    }
}

/// An ISO image or CD/DVD device read with xorriso (`stdio:` makes it read a device as a
/// file instead of driving it as a burner). The files and directories near the top are listed
/// once; a deeper path is looked up alone, and only when the directory it is in at the listed
/// depth exists (most layouts' kernels are deeper than that, and most images lack them).
struct ISOTreeFetcher: TreeFetcher {
    static let binary = "xorriso"
    static let listedDepth = 4

    let image: String
    private let files: Set<String>
    private let directories: Set<String>

    /// `cache`: a directory where the listing of each image is kept by the image's identity
    /// (device, inode, size, modification time), so the jobs of a batch from one ISO read it once.
    init(image: String, cache: String? = nil) async throws(VMInstallError) {
        self.image = image
        var st = stat()
        let key =
            stat(image, &st) == 0 && (st.st_mode & S_IFMT) == S_IFREG
            ? "iso-\(st.st_dev)-\(st.st_ino)-\(st.st_size)-\(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)" : nil
        if let cache, let key, let text = try? FileIO.readString("\(cache)/\(key)", limit: 16 << 20) {
            var files = Set<String>()
            var directories = Set<String>()
            for line in text.split(separator: "\n") where line.count > 2 {
                if line.hasPrefix("f ") {
                    files.insert(String(line.dropFirst(2)))
                } else {
                    directories.insert(String(line.dropFirst(2)))
                }
            }
            (self.files, self.directories) = (files, directories)
            return
        }
        (files, directories) = try await Self.list(image, at: "/", maxDepth: Self.listedDepth)
        if let cache, let key {
            let text = (files.sorted().map { "f \($0)\n" } + directories.sorted().map { "d \($0)\n" }).joined()
            _ = try? FileIO.makeDirectory(cache, mode: 0o700)
            try? FileIO.writeAtomically("\(cache)/\(key)", text, durable: false)
        }
    }

    /// The regular files and the directories at and below `path`, as `ls -l` types them.
    private static func list(_ image: String, at path: String, maxDepth: Int?) async throws(VMInstallError) -> (
        files: Set<String>, directories: Set<String>
    ) {
        let result: CommandResult
        do {
            result = try await CommandResult.run(
                binary,
                ["-indev", "stdio:" + image, "-find", path] + (maxDepth.map { ["-maxdepth", String($0)] } ?? []) + [
                    "-exec", "lsdl",
                ])
        } catch {
            throw VMInstallError(
                .host, "cannot run xorriso to read \(image): \(error); install Debian's xorriso package")
        }
        guard result.succeeded else {
            throw VMInstallError(.settings, "cannot read the ISO image \(image): \(result.errorSummary)")
        }
        var files = Set<String>()
        var directories = Set<String>()
        // "-rw-r--r--    1 0        0    1024 Dec  3 16:22 '/installer.bin'": the type, then the path quoted.
        for line in result.standardOutput.split(separator: "\n") {
            guard let quote = line.firstIndex(of: "'"), let name = unquote(String(line[quote...])) else { continue }
            switch line.first {
            case "-": files.insert(name)
            case "d": directories.insert(name)
            default: break
            }
        }
        return (files, directories)
    }

    /// xorriso prints each path in shell quotes: 'a'"'"'b' is a'b.
    static func unquote(_ line: String) -> String? {
        guard line.count >= 2, line.hasPrefix("'"), line.hasSuffix("'") else { return nil }
        return String(line.dropFirst().dropLast()).replacingOccurrences("'\"'\"'", with: "'")
    }

    private static func absolute(_ path: String) -> String {
        "/" + path.drop(while: { $0 == "/" })
    }

    func exists(_ path: String) async -> Bool {
        let full = Self.absolute(path)
        if files.contains(full) { return true }
        let parts = full.split(separator: "/")
        guard parts.count > Self.listedDepth,
            directories.contains("/" + parts.prefix(Self.listedDepth).joined(separator: "/"))
        else { return false }
        return (try? await Self.list(image, at: full, maxDepth: 0))?.files.contains(full) ?? false
    }

    func text(_ path: String) async -> String? {
        guard await exists(path) else { return nil }
        var template = Array("/tmp/vmi-treeinfo-XXXXXX".utf8CString)
        let fd = mkstemp(&template)
        guard fd >= 0 else { return nil }
        close(fd)
        let scratch = String(decoding: template.dropLast().map { UInt8(bitPattern: $0) }, as: UTF8.self)
        defer { unlink(scratch) }
        guard (try? await extract(path, to: scratch)) != nil else { return nil }
        return try? FileIO.readString(scratch, limit: 1 << 16)
    }

    func fetch(_ path: String, to target: String, log: JobLog) async throws(VMInstallError) {
        log.write("extracting \(Self.absolute(path)) from \(image)")
        try await extract(path, to: target)
    }

    private func extract(_ path: String, to target: String) async throws(VMInstallError) {
        unlink(target)
        let result: CommandResult
        do {
            result = try await CommandResult.run(
                Self.binary, ["-osirrox", "on", "-indev", "stdio:" + image, "-extract", Self.absolute(path), target])
        } catch {
            throw VMInstallError(
                .host, "cannot run xorriso to read \(image): \(error); install Debian's xorriso package")
        }
        guard result.succeeded, FileIO.exists(target) else {
            throw VMInstallError(.settings, "cannot extract \(path) from \(image): \(result.errorSummary)")
        }
        // xorriso keeps the ISO's read-only modes; the copy is ours to replace.
        chmod(target, 0o600)
    }
}
