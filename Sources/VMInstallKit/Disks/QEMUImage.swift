import FoundationEssentials
import Glibc

/// Disk images through qemu-img.
public enum QEMUImage {
    public static let binary = "qemu-img"

    /// The format of an existing image, as qemu-img probes it.
    static func probeFormat(_ path: String) async throws(VMInstallError) -> DiskFormat {
        struct Info: Decodable { let format: String }
        let result: CommandResult
        do {
            result = try await CommandResult.run(binary, ["info", "--output=json", "--force-share", path])
        } catch {
            throw VMInstallError(.host, "cannot run \(binary): \(error)")
        }
        guard result.succeeded else {
            throw VMInstallError(.settings, "disk \(path) cannot be read as a disk image: \(result.errorSummary)")
        }
        guard let info = try? JSONDecoder().decode(Info.self, from: Data(result.standardOutput.utf8)),
            let format = DiskFormat(rawValue: info.format)
        else {
            throw VMInstallError(.settings, "disk \(path) is not a raw or qcow2 image; give format= if it is raw")
        }
        return format
    }

    /// Creates a new image at a path where nothing exists. The file is first made with
    /// O_EXCL, so a file that appeared meanwhile is never overwritten, and its identity is
    /// handed to `record` before qemu-img writes to it, so a crash cannot leave an
    /// unrecorded disk behind.
    static func create(
        _ path: String, format: DiskFormat, size: UInt64?, backing: (path: String, format: DiskFormat)? = nil,
        record: (FileIdentity) throws(VMInstallError) -> Void
    ) async throws(VMInstallError) {
        let fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC | O_NOFOLLOW, 0o600)
        guard fd >= 0 else {
            throw VMInstallError(.disk, "cannot create disk \(path): \(String(cString: strerror(errno)))")
        }
        close(fd)
        guard let identity = FileIdentity.of(path) else {
            throw VMInstallError(.disk, "disk \(path) vanished right after it was created")
        }
        try record(identity)
        let result: CommandResult
        do {
            var arguments = ["create", "-q", "-f", format.rawValue]
            if let backing { arguments += ["-b", backing.path, "-F", backing.format.rawValue] }
            arguments.append(path)
            if let size { arguments.append(String(size)) }
            result = try await CommandResult.run(binary, arguments)
        } catch {
            throw VMInstallError(.host, "cannot run \(binary): \(error)")
        }
        guard result.succeeded else {
            throw VMInstallError(.disk, "qemu-img could not create disk \(path): \(result.errorSummary)")
        }
        guard FileIdentity.of(path) == identity else {
            throw VMInstallError(.disk, "disk \(path) was replaced while it was being created")
        }
    }
}
