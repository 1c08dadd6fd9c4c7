import Glibc

/// A libvirt domain's screen (virDomainScreenshot, streamed from the daemon's host). QEMU
/// hands libvirt a PPM; it is turned into a PNG here.
enum LibvirtScreen {
    /// The screen's image bytes, in whatever format libvirt sent.
    static func capture(_ domain: LibvirtDomain, files: VMPaths) throws(VMInstallError) -> [UInt8] {
        let scratch = "\(files.directory)/.screen-\(getpid())"
        defer { unlink(scratch) }
        _ = try domain.screenshot(to: scratch)
        do { return try FileIO.read(scratch, limit: 256 << 20) } catch {
            throw VMInstallError(.requestFailed, "cannot read the screenshot \(scratch): \(error)")
        }
    }

    /// Writes the screen as a PNG file at `path`, replacing it in one step.
    static func save(_ domain: LibvirtDomain, files: VMPaths, to path: String) throws(VMInstallError) {
        let image = try capture(domain, files: files)
        guard let png = image.starts(with: PNG.signature) ? image : PNG.fromPPM(image) else {
            throw VMInstallError(.requestFailed, "libvirt sent a screenshot that is neither PNG nor PPM")
        }
        do { try FileIO.writeAtomically(path, bytes: png, mode: [.ownerReadWrite]) } catch {
            throw VMInstallError(.requestFailed, "cannot write \(path): \(error)")
        }
    }
}
