import Glibc

/// The SHA-256 of a file's content, by sha256sum (coreutils), remembered per state directory
/// in STATE/libvirt/hashes by the file's device, inode, size and modification time, so an ISO
/// that many jobs send is read once.
enum ContentHash {
    static func sha256(_ file: String, stateDirectory: String) async throws(VMInstallError) -> String {
        var st = stat()
        guard stat(file, &st) == 0 else {
            throw VMInstallError(.settings, "cannot read \(file): \(String(cString: strerror(errno)))")
        }
        let identity = "\(st.st_dev) \(st.st_ino) \(st.st_size) \(st.st_mtim.tv_sec).\(st.st_mtim.tv_nsec)"
        let cache = "\(stateDirectory)/libvirt/hashes"
        if let text = try? FileIO.readString(cache, limit: 16 << 20),
            let line = text.split(separator: "\n").last(where: { $0.hasPrefix(identity + " ") })
        {
            return String(line.dropFirst(identity.count + 1))
        }
        let result: CommandResult
        do { result = try await CommandResult.run("sha256sum", ["--", file]) } catch {
            throw VMInstallError(.host, "cannot run sha256sum: \(error); install Debian's coreutils package")
        }
        guard result.succeeded, let hash = result.standardOutput.split(separator: " ").first, hash.count == 64 else {
            throw VMInstallError(.settings, "cannot read \(file): \(result.errorSummary)")
        }
        // Appended in one write(2) with O_APPEND: concurrent jobs add whole lines.
        _ = try? FileIO.makeDirectory("\(stateDirectory)/libvirt", mode: 0o700)
        let fd = open(cache, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0o600)
        if fd >= 0 {
            let line = Array("\(identity) \(hash)\n".utf8)
            _ = line.withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
            close(fd)
        }
        return String(hash)
    }
}
