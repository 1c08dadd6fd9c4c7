/// `--cloud-init user-data=FILE[,meta-data=FILE][,network-config=FILE]`: a NoCloud seed, an
/// ISO with the volume label `cidata` that cloud-init finds by its label, attached as a
/// CD-ROM. Built in PREP_INSTALL inside the VM's directory, so it goes with the VM.
public struct CloudInitSeed: Sendable, Equatable {
    public var userData: String
    public var metaData: String?
    public var networkConfig: String?

    public init(userData: String, metaData: String? = nil, networkConfig: String? = nil) {
        self.userData = userData
        self.metaData = metaData
        self.networkConfig = networkConfig
    }

    public static func parse(_ text: String) throws(VMInstallError) -> CloudInitSeed {
        var values: [String: String] = [:]
        for field in splitOptionList(text) {
            let parts = field.split(separator: "=", maxSplits: 1).map(String.init)
            guard parts.count == 2, ["user-data", "meta-data", "network-config"].contains(parts[0]), !parts[1].isEmpty,
                values[parts[0]] == nil
            else {
                throw VMInstallError(
                    .usage, "--cloud-init '\(text)': use user-data=FILE[,meta-data=FILE][,network-config=FILE]")
            }
            values[parts[0]] = parts[1]
        }
        guard let userData = values["user-data"] else {
            throw VMInstallError(.usage, "--cloud-init '\(text)': user-data=FILE is needed")
        }
        return CloudInitSeed(userData: userData, metaData: values["meta-data"], networkConfig: values["network-config"])
    }

    public var rendered: String {
        var parts = ["user-data=\(userData.replacingOccurrences(",", with: ",,"))"]
        if let metaData { parts.append("meta-data=\(metaData.replacingOccurrences(",", with: ",,"))") }
        if let networkConfig { parts.append("network-config=\(networkConfig.replacingOccurrences(",", with: ",,"))") }
        return parts.joined(separator: ",")
    }

    public var files: [String] { [userData, metaData, networkConfig].compactMap { $0 } }

    /// Where the seed goes in a VM's directory.
    public static func imagePath(in vm: VMPaths) -> String { "\(vm.directory)/cidata.iso" }

    /// Builds the ISO with xorriso. Without meta-data, one is written that names the VM.
    func build(at image: String, staging: String, name: String, uuid: String) async throws(VMInstallError) {
        let userData: [UInt8]
        let metaData: [UInt8]?
        let networkConfig: [UInt8]?
        do {
            userData = try FileIO.read(self.userData)
            metaData = try self.metaData.map { try FileIO.read($0) }
            networkConfig = try self.networkConfig.map { try FileIO.read($0) }
        } catch {
            throw VMInstallError(.settings, "cannot prepare the cloud-init seed: \(error)")
        }
        try await Self.build(
            userData: userData, metaData: metaData, networkConfig: networkConfig, at: image, staging: staging,
            name: name, uuid: uuid)
    }

    /// The same from the files' contents.
    static func build(
        userData: [UInt8], metaData: [UInt8]? = nil, networkConfig: [UInt8]? = nil, at image: String, staging: String,
        name: String, uuid: String
    ) async throws(VMInstallError) {
        do {
            try FileIO.removeTree(staging)
            try FileIO.makeDirectory(staging, mode: 0o700)
            try FileIO.writeAtomically("\(staging)/user-data", bytes: userData)
            try FileIO.writeAtomically(
                "\(staging)/meta-data", bytes: metaData ?? Array("instance-id: \(uuid)\nlocal-hostname: \(name)\n".utf8)
            )
            if let networkConfig { try FileIO.writeAtomically("\(staging)/network-config", bytes: networkConfig) }
        } catch {
            throw VMInstallError(.settings, "cannot prepare the cloud-init seed: \(error)")
        }
        defer { try? FileIO.removeTree(staging) }
        let result: CommandResult
        do {
            result = try await CommandResult.run(
                "xorriso", ["-as", "mkisofs", "-quiet", "-V", "cidata", "-J", "-R", "-o", image, staging])
        } catch {
            throw VMInstallError(
                .host, "cannot run xorriso to build the cloud-init seed: \(error); install Debian's xorriso package")
        }
        guard result.succeeded else {
            throw VMInstallError(.disk, "xorriso could not build the cloud-init seed \(image): \(result.errorSummary)")
        }
    }
}
