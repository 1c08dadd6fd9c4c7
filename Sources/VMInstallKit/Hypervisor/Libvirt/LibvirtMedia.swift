import Glibc

/// Files on this machine that a remote libvirt host needs: the ISO, kernel, initrd and
/// autoinstall image of the install, and the cloud-init seed. Paths on the client mean
/// nothing there, so each goes into a volume of the pool `default` with the storage stream
/// API, once per host and content (`LibvirtSharedMedia`), and the job's uses are recorded in
/// the VM's directory (`libvirt-uploads`), so that the install's own are given back once it
/// ends and the rest with the VM. Local URIs upload nothing.
struct LibvirtMedia {
    struct Upload: Equatable {
        /// Only the install needs it.
        let installOnly: Bool
        let pool: String
        let name: String
        let key: String
        let local: String
        let remote: String

        var line: String { [installOnly ? "install" : "vm", pool, name, key, remote, local].joined(separator: "\t") }

        init(installOnly: Bool, pool: String, name: String, key: String, local: String, remote: String) {
            self.installOnly = installOnly
            self.pool = pool
            self.name = name
            self.key = key
            self.local = local
            self.remote = remote
        }

        init?(line: Substring) {
            let f = line.split(separator: "\t", maxSplits: 5, omittingEmptySubsequences: false).map(String.init)
            guard f.count == 6 else { return nil }
            self.init(installOnly: f[0] == "install", pool: f[1], name: f[2], key: f[3], local: f[5], remote: f[4])
        }
    }

    static let pool = "default"

    /// Where the uploads are recorded (in the VM's directory).
    let record: String
    var uploads: [Upload] = []

    /// Local path → the path on the daemon's host.
    var paths: [String: String] { Dictionary(uploads.map { ($0.local, $0.remote) }, uniquingKeysWith: { a, _ in a }) }

    static func recorded(in files: VMPaths) -> LibvirtMedia {
        let record = "\(files.directory)/libvirt-uploads"
        guard let text = try? FileIO.readString(record) else { return LibvirtMedia(record: record) }
        return LibvirtMedia(record: record, uploads: text.split(separator: "\n").compactMap(Upload.init(line:)))
    }

    /// Written before each volume is made and again once it has its key.
    private func save() throws(VMInstallError) {
        do { try FileIO.writeAtomically(record, uploads.map { $0.line + "\n" }.joined()) } catch {
            throw VMInstallError(.stateDirectory, "cannot write \(record): \(error)")
        }
    }

    static func upload(
        for vm: VMConfig, medium: InstallMedium, files: VMPaths, driver: LibvirtDriver, connection: LibvirtConnection
    ) async throws(VMInstallError) -> LibvirtMedia {
        var media = recorded(in: files)
        guard driver.isRemote else { return media }
        let job = try driver.assignedJob()
        let installFiles = [medium.iso, medium.kernel, medium.initrd, medium.extraCDROM].compactMap { $0 }
        // Images vm-install made in the VM's directory (the cloud-init seed) stay with the VM.
        let vmFiles = vm.disks.map(\.path).filter { $0.hasPrefix(files.directory + "/") }
        let shared = driver.sharedMedia
        for (file, installOnly) in installFiles.map({ ($0, true) }) + vmFiles.map({ ($0, false) })
        where media.paths[file] == nil {
            let hash = try await ContentHash.sha256(file, stateDirectory: driver.stateDirectory)
            let name = LibvirtSharedMedia.volumeName(hash: hash, stateDirectory: driver.stateDirectory)
            // Recorded before the use is taken, so a runner that dies between leaves one that
            // --delete gives back (a use it does not hold is no use).
            media.uploads.append(
                Upload(installOnly: installOnly, pool: shared.pool, name: name, key: "", local: file, remote: ""))
            try media.save()
            let volume = try shared.acquire(
                file, hash: hash, job: job, role: installOnly ? .install : .vm, connection: connection, log: driver.log)
            if !volume.uploaded { driver.log?.write("\(file) is on \(driver.uri) already, as volume \(name)") }
            media.uploads[media.uploads.count - 1] = Upload(
                installOnly: installOnly, pool: shared.pool, name: name, key: volume.key, local: file,
                remote: volume.path)
            try media.save()
        }
        return media
    }

    /// Gives back the uses that only served the install.
    mutating func removeInstallOnly(driver: LibvirtDriver, connection: LibvirtConnection) throws(VMInstallError) {
        try release(uploads.filter(\.installOnly), driver: driver, connection: connection)
    }

    /// Gives back every use (the VM goes).
    func removeAll(driver: LibvirtDriver, connection: LibvirtConnection) throws(VMInstallError) {
        var copy = self
        try copy.release(uploads, driver: driver, connection: connection)
    }

    /// The last job to give back a volume's use removes it (`LibvirtSharedMedia`).
    private mutating func release(_ doomed: [Upload], driver: LibvirtDriver, connection: LibvirtConnection)
        throws(VMInstallError)
    {
        guard !doomed.isEmpty, let job = driver.job else { return }
        for upload in doomed {
            try driver.sharedMedia.release(
                upload.name, job: job, role: upload.installOnly ? .install : .vm, connection: connection,
                log: driver.log)
        }
        uploads.removeAll { doomed.contains($0) }
        try save()
    }
}
