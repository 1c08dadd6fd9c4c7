import Glibc
import SystemPackage

/// The images that carry answer files (`AnswerPlan`): a copy of an installer's initrd with
/// files added, and small ISOs attached as a second CD-ROM during the install only. An ISO
/// that boots from its own boot loader takes no kernel arguments: there an --autoinstall
/// file goes on an ISO labelled OEMDRV (where Anaconda looks for ks.cfg by itself) under each
/// family's name.
public struct AutoinstallImage: Sendable {
    public static let label = "OEMDRV"
    static let names = ["autoinst.xml", "ks.cfg", "preseed.cfg"]

    /// The answer-file CD-ROM of a VM: autoinstall.iso for OEMDRV (--autoinstall), else
    /// named by its label (unattended.iso).
    public static func imagePath(in vm: VMPaths, label: String = label) -> String {
        "\(vm.directory)/\(label == Self.label ? "autoinstall" : label.lowercased()).iso"
    }

    /// An ISO holding `files` at its top (readable by the owner only until xorriso has read them).
    static func build(files: [(name: String, contents: [UInt8])], label: String, at image: String, staging: String)
        async throws(VMInstallError)
    {
        do {
            try FileIO.removeTree(staging)
            try FileIO.makeDirectory(staging, mode: 0o700)
            for file in files { try FileIO.writeAtomically("\(staging)/\(file.name)", bytes: file.contents) }
        } catch {
            throw VMInstallError(.settings, "cannot prepare the files of \(image): \(error)")
        }
        defer { try? FileIO.removeTree(staging) }
        let result: CommandResult
        do {
            result = try await CommandResult.run(
                "xorriso", ["-as", "mkisofs", "-quiet", "-V", label, "-J", "-R", "-o", image, staging])
        } catch {
            throw VMInstallError(
                .host, "cannot run xorriso to build the autoinstall image: \(error); install Debian's xorriso package")
        }
        guard result.succeeded else {
            throw VMInstallError(.disk, "xorriso could not build \(image): \(result.errorSummary)")
        }
    }

    /// A copy of `initrd` with a newc cpio archive holding `files` at its top appended: the
    /// kernel unpacks concatenated archives in order. The tree's own initrd is not touched.
    static func initrd(_ initrd: String, adding files: [(name: String, contents: [UInt8])], into copy: String)
        throws(VMInstallError)
    {
        do {
            var bytes = try FileIO.read(initrd, limit: 1 << 30)
            while bytes.count % 4 != 0 { bytes.append(0) }
            bytes += NewcArchive.make(files: files)
            let fd = open(copy, O_CREAT | O_WRONLY | O_TRUNC | O_CLOEXEC, 0o600)
            guard fd >= 0 else { throw Errno(rawValue: errno) }
            defer { close(fd) }
            var offset = 0
            while offset < bytes.count {
                let n = bytes[offset...].withUnsafeBytes { write(fd, $0.baseAddress, $0.count) }
                guard n > 0 else { throw Errno(rawValue: errno) }
                offset += n
            }
        } catch {
            throw VMInstallError(
                .disk, "cannot add \(files.map(\.name).joined(separator: ", ")) to the initrd \(initrd): \(error)")
        }
    }
}

/// The "newc" cpio format Linux unpacks into its initramfs.
enum NewcArchive {
    static func make(files: [(name: String, contents: [UInt8])]) -> [UInt8] {
        var out: [UInt8] = []
        var inode = 1
        func entry(_ name: String, mode: Int, _ data: [UInt8]) {
            let fields = [inode, mode, 0, 0, 1, 0, data.count, 0, 0, 0, 0, name.utf8.count + 1, 0]
            inode += 1
            out += Array("070701".utf8)
            for field in fields {
                let hex = String(field, radix: 16, uppercase: true)
                out += Array((String(repeating: "0", count: 8 - hex.count) + hex).utf8)
            }
            out += Array(name.utf8) + [0]
            while out.count % 4 != 0 { out.append(0) }
            out += data
            while out.count % 4 != 0 { out.append(0) }
        }
        for file in files { entry(file.name, mode: 0o100644, file.contents) }
        entry("TRAILER!!!", mode: 0, [])
        return out
    }
}
