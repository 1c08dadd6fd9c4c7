import Glibc

/// Files on this machine that a remote libvirt host needs: the ISO, kernel, initrd and
/// autoinstall image of the install, and the cloud-init seed. Paths on the client mean
/// nothing there, so each is uploaded into a volume of the pool `default` with the storage
/// stream API, and recorded in the VM's directory (`libvirt-uploads`), so that the install's
/// own are removed once it ends and the rest with the VM. Local URIs upload nothing.
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
    ) throws(VMInstallError) -> LibvirtMedia {
        var media = recorded(in: files)
        guard driver.isRemote else { return media }
        let installFiles = [medium.iso, medium.kernel, medium.initrd, medium.extraCDROM].compactMap { $0 }
        // Images vm-install made in the VM's directory (the cloud-init seed) stay with the VM.
        let vmFiles = vm.disks.map(\.path).filter { $0.hasPrefix(files.directory + "/") }
        let pool = try connection.pool(named: Self.pool)
        for (file, installOnly) in installFiles.map({ ($0, true) }) + vmFiles.map({ ($0, false) })
        where media.paths[file] == nil {
            var st = stat()
            guard stat(file, &st) == 0 else {
                throw VMInstallError(.settings, "cannot read \(file): \(String(cString: strerror(errno)))")
            }
            let name = "vmi-\(try driver.assignedJob())-\(vm.name)-\(file.split(separator: "/").last ?? "file")"
            if try pool.volume(named: name) != nil {
                throw VMInstallError(.settings, "pool \(Self.pool) at \(driver.uri) already has a volume \(name)")
            }
            driver.log?.write("uploading \(file) to pool \(Self.pool) at \(driver.uri)")
            // Recorded as pending (no key yet) before it exists, then with its key.
            media.uploads.append(
                Upload(installOnly: installOnly, pool: Self.pool, name: name, key: "", local: file, remote: ""))
            try media.save()
            let volume = try pool.createVolume(name: name, bytes: UInt64(max(st.st_size, 512)), format: "raw")
            media.uploads[media.uploads.count - 1] = Upload(
                installOnly: installOnly, pool: Self.pool, name: name, key: volume.key, local: file, remote: volume.path
            )
            try media.save()
            try volume.upload(file, connection: connection)
        }
        return media
    }

    /// Removes the volumes that only served the install.
    mutating func removeInstallOnly(connection: LibvirtConnection, log: JobLog?) throws(VMInstallError) {
        try remove(uploads.filter(\.installOnly), connection: connection, log: log)
    }

    func removeAll(connection: LibvirtConnection, log: JobLog?) throws(VMInstallError) {
        var copy = self
        try copy.remove(uploads, connection: connection, log: log)
    }

    /// A volume goes only while it is the one uploaded: same pool, name and key.
    private mutating func remove(_ doomed: [Upload], connection: LibvirtConnection, log: JobLog?) throws(VMInstallError)
    {
        guard !doomed.isEmpty else { return }
        for upload in doomed {
            // A pending entry's volume was made under a name that was free and carries the job's
            // id; one with a key must still have it.
            if let volume = try connection.pool(named: upload.pool).volume(named: upload.name),
                upload.key.isEmpty || volume.key == upload.key
            {
                try volume.delete()
                log?.write("removed volume \(upload.name) (\(upload.remote)) from pool \(upload.pool)")
            }
        }
        uploads.removeAll { doomed.contains($0) }
        try save()
    }
}
