/// PREP_INSTALL's second half: what the install VM boots. An install tree's kernel and
/// initrd are made local and booted directly, with the arguments its installer expects
/// (`Installer`); the --autoinstall file reaches the installer its own way.
struct InstallPreparation {
    let log: JobLog
    let spec: VMSpec
    let files: VMPaths
    let uuid: String

    func medium(tree: InstallTree?) async throws(VMInstallError) -> InstallMedium? {
        guard var medium = spec.installMedium else { return nil }
        if let tree {
            return try await boot(tree)
        }
        if let file = spec.autoinstall {
            let image = AutoinstallImage.imagePath(in: files)
            log.write("building the autoinstall image \(image) (label \(AutoinstallImage.label))")
            try await AutoinstallImage.build(from: file, at: image, staging: "\(files.directory)/.autoinstall")
            medium.extraCDROM = image
        }
        return medium
    }

    private func boot(_ tree: InstallTree) async throws(VMInstallError) -> InstallMedium {
        var (kernel, initrd) = try await tree.localFiles(in: files.directory, log: log)
        var arguments = tree.sourceArguments
        var extraCDROM: String?
        if let file = spec.autoinstall {
            // SETTINGS refused an installer without a known way.
            guard let automation = tree.layout.installer.automation else {
                throw VMInstallError(.internal, "no way to hand \(file) to \(tree.layout.installer.name)")
            }
            switch automation.delivery {
            case .initrd(let name):
                let copy = "\(files.directory)/install-initrd-\(name)"
                try AutoinstallImage.initrd(initrd, adding: file, as: name, into: copy)
                log.write("added \(file) to the installer's initrd as /\(name)")
                initrd = copy
            case .noCloudSeed:
                let image = "\(files.directory)/autoinstall-seed.iso"
                log.write("building the NoCloud seed \(image) with \(file) as its user-data")
                try await CloudInitSeed(userData: file).build(
                    at: image, staging: "\(files.directory)/.autoinstall", name: spec.name, uuid: uuid)
                extraCDROM = image
            }
            arguments += automation.arguments
        }
        if spec.vnc == nil { arguments.append(Installer.serialConsoleArgument) }
        if let extra = spec.kernelArguments { arguments.append(extra) }
        var medium = InstallMedium(
            iso: tree.access == .iso ? tree.location : nil, kernel: kernel, initrd: initrd,
            kernelArguments: arguments.isEmpty ? nil : arguments.joined(separator: " "))
        medium.extraCDROM = extraCDROM
        return medium
    }
}
